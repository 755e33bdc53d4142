#!/usr/bin/env bash
# buf breaking (FILE rules) against the previous commit, when there is one with contracts in it.
set -euo pipefail
cd "$(dirname "$0")/.."
if git rev-parse -q --verify HEAD~1 >/dev/null && git cat-file -e HEAD~1:buf.yaml 2>/dev/null; then
  npx buf breaking --against '.git#ref=HEAD~1'
  echo "buf breaking: no breaking change against HEAD~1"
else
  echo "buf breaking: no earlier commit with contracts to compare against"
fi
