#!/usr/bin/env bash
# `npm test`: installs what is missing, checks contracts and generated code, then runs every suite against real
# services started (or reused) by the project's own scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash server/dev/bootstrap.sh
npm run --silent check:proto
npm run --silent check:generated
npm run --silent typecheck
npm run --silent build
npx vitest run --config test/vitest.config.ts
