#!/usr/bin/env bash
# The generated Python and Go client code builds, vets and imports; test/clients/run.ts runs the suites.
set -euo pipefail
cd "$(dirname "$0")/.."
(cd clients/go && go vet ./... && go build ./...)
PYTHONPATH=clients/python/gen .venv-protogen/bin/python - <<'PY'
import importlib
for name in ["admin_service", "catalog_service", "ingest_service", "records", "resources", "errors"]:
    importlib.import_module(f"sightline.v1.{name}_pb2")
    importlib.import_module(f"sightline.v1.{name}_pb2_grpc")
PY
echo "generated Go and Python client code builds and imports"
