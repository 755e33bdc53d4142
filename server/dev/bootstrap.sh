#!/usr/bin/env bash
# Installs what `npm start`, `npm test` and CI need to run the dev services.
# It runs before every start and test, so when everything is present it must only stat a few files.
# Everything it builds goes under .dev/ at the repo root (gitignored).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
dev="$root/.dev"
bin="$dev/bin"
mkdir -p "$bin" "$dev/logs"

# Pinned so CI builds the same tools every time; both build with Go 1.26.
GRPCURL_VERSION=v1.9.4
HEALTH_PROBE_VERSION=v0.4.62

say() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }
trap 'die "failed at line $LINENO (exit $?)"' ERR

# npm start and npm test may run this at the same time; one of them does the work, the other waits.
exec 9>"$dev/bootstrap.lock"
flock -w 900 9 || die "timed out waiting for $dev/bootstrap.lock"

have_pg() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x $d/initdb && -x $d/postgres && -x $d/pg_ctl ]] && return 0
  done
  return 1
}

# Installs Debian packages with apt-get, as root or through sudo. $1 says what is missing, $2 names the log under
# .dev/logs; the rest are the packages.
apt_install() {
  local missing=$1 log="$dev/logs/$2"
  shift 2
  local sudo=()
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null 2>&1 || die "$missing is missing; install the Debian packages $* as root"
    sudo=(sudo)
  fi
  command -v apt-get >/dev/null 2>&1 || die "$missing is missing and apt-get is not available; install $* by hand"
  say "installing $* with apt-get"
  { "${sudo[@]}" apt-get update &&
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
  } >"$log" 2>&1 || { tail -n 20 "$log" >&2; die "apt-get failed (full log: $log)"; }
}

# --- Debian packages: redis-server, postgresql ------------------------------------------------------
if ! command -v redis-server >/dev/null 2>&1 || ! have_pg; then
  # The package's own cluster on 5432 may get created and started; the dev services never use it.
  apt_install "redis-server or PostgreSQL" apt.log redis-server postgresql
  command -v redis-server >/dev/null 2>&1 || die "redis-server still missing after apt-get install"
  have_pg || die "PostgreSQL binaries still missing under /usr/lib/postgresql/*/bin after apt-get install"
fi

# --- Debian package: chromium, for the console's browser tests (playwright-core never downloads browsers) --------
if [[ ! -x /usr/bin/chromium ]]; then
  apt_install chromium apt-chromium.log chromium
  [[ -x /usr/bin/chromium ]] || die "/usr/bin/chromium still missing after apt-get install"
fi

# --- node_modules ------------------------------------------------------------------------------------
# npm writes node_modules/.package-lock.json on every install, so it is older than the lock file
# exactly when someone changed dependencies since the last install.
if [[ ! -d node_modules || ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "npm ci"
  # onnxruntime-node bundles its CPU library; its install script would only fetch optional GPU builds from a host
  # outside the package registries, so it is told to skip that.
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund >&2 || die "npm ci failed"
fi

# --- Go tools ------------------------------------------------------------------------------------------
need_go() {
  command -v go >/dev/null 2>&1 || die "go is not on PATH; it is needed to build $1"
}

ferret_src="server/dev/ferretdb"
ferret_bin="$bin/sl-ferretdb"
if [[ ! -x $ferret_bin ]] || [[ -n $(find "$ferret_src" -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -newer "$ferret_bin" -print -quit) ]]; then
  need_go sl-ferretdb
  say "building .dev/bin/sl-ferretdb (about a minute when the Go cache is cold)"
  # Build next to the target and rename, so a running FerretDB or a concurrent reader never sees half a file.
  # -buildvcs=false: the module sits inside this git repo and VCS stamping fails in some CI checkouts.
  (cd "$ferret_src" && go build -buildvcs=false -tags ferretdb_no_sqlite -o "$ferret_bin.tmp" .) >&2 ||
    die "go build of $ferret_src failed"
  mv -f "$ferret_bin.tmp" "$ferret_bin"
fi

go_install() { # name module version
  [[ -x $bin/$1 ]] && return 0
  need_go "$1"
  say "go install $2@$3"
  GOBIN="$bin" go install "$2@$3" >&2 || die "go install $2@$3 failed"
}
go_install grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl "$GRPCURL_VERSION"
go_install grpc-health-probe github.com/grpc-ecosystem/grpc-health-probe "$HEALTH_PROBE_VERSION"

# --- Code generation plugins for the Python and Go clients (pinned in clients/protogen) -----------------
venv=".venv-protogen"
requirements="clients/protogen/requirements.txt"
if [[ ! -x $venv/bin/python || $requirements -nt $venv/.installed ]]; then
  say "installing the Python code generators into $venv"
  { python3 -m venv "$venv" && "$venv/bin/pip" install --quiet -r "$requirements"; } >&2 || die "pip install -r $requirements failed"
  touch "$venv/.installed"
fi
# The Python client's tests, type checks and benchmark run in their own pinned environment.
clients_venv=".venv-clients"
clients_requirements="clients/python/requirements-dev.txt"
if [[ ! -x $clients_venv/bin/python || $clients_requirements -nt $clients_venv/.installed ]]; then
  say "installing the Python client's test environment into $clients_venv"
  { python3 -m venv "$clients_venv" && "$clients_venv/bin/pip" install --quiet -r "$clients_requirements"; } >&2 ||
    die "pip install -r $clients_requirements failed"
  touch "$clients_venv/.installed"
fi
# `go tool` builds the pinned plugins on first use and caches them; building them here keeps that out of buf's run.
need_go protoc-gen-go
(cd clients/protogen && go build -o /dev/null google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/grpc/cmd/protoc-gen-go-grpc) >&2 ||
  die "building the Go code generators in clients/protogen failed"

trap - ERR
