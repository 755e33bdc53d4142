#!/usr/bin/env bash
# `npm test`: installs what is missing, checks contracts and generated code, then runs every suite against real
# services started (or reused) by the project's own scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash server/dev/bootstrap.sh
npm run --silent check:proto
npm run --silent check:generated
bash test/check-clients.sh
npm run --silent typecheck
npm run --silent build
mkdir -p .dev
status=0
npx vitest run --config test/vitest.config.ts --reporter=default --reporter=json --outputFile.json=.dev/vitest-results.json || status=$?
# The Python and Go client suites, against their own server processes on the same services.
set +e
npx tsx test/clients/run.ts | tee .dev/clients-summary.log
clients_status=${PIPESTATUS[0]}
set -e
# Plain closing lines, for readers that know neither vitest's nor pytest's nor go test's summaries.
node -e 'const r = JSON.parse(require("fs").readFileSync(".dev/vitest-results.json", "utf8")); console.log(`typescript: ${r.numPassedTests} passed, ${r.numFailedTests} failed`)'
grep -E '^(python|go): ' .dev/clients-summary.log || echo "clients: no summary (the client suites did not run)"
if [[ $status -ne 0 || $clients_status -ne 0 ]]; then exit 1; fi
