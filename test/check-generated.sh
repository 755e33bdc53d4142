#!/usr/bin/env bash
# Fails when the committed generated code differs from what a fresh `buf generate` produces.
set -euo pipefail
cd "$(dirname "$0")/.."
npx buf generate
stale=$(git status --porcelain -- server/src/gen clients/ts/src/gen clients/python clients/go)
if [[ -n $stale ]]; then
  echo "generated code is stale; run 'npm run generate' and commit:" >&2
  echo "$stale" >&2
  exit 1
fi
echo "generated code is up to date"
