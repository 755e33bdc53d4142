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
npx vitest run --config test/vitest.config.ts --reporter=default --reporter=json --outputFile.json=.dev/vitest-results.json
# One plain closing line, for readers that do not know vitest's summary.
node -e 'const r = JSON.parse(require("fs").readFileSync(".dev/vitest-results.json", "utf8")); console.log(`typescript: ${r.numPassedTests} passed, ${r.numFailedTests} failed`)'
