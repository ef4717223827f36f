#!/usr/bin/env bash
# ctest entry: installs ajv from the committed lock file when needed, emits every record and
# event through the real code and both store backends, and validates them against schemas/.
# Usage: run.sh EMIT_EXAMPLES_BINARY WORK_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
emitter=$1
work=$2
mkdir -p "$work"

command -v node >/dev/null || { echo "node is not installed (scripts/deps test)" >&2; exit 1; }
if [ ! -f "$here/node_modules/ajv/package.json" ] ||
   [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) ||
    { echo "npm ci failed: the schema tests need ajv from the npm registry" >&2; exit 1; }
fi

"$emitter" "$work/examples.jsonl"
node "$here/validate.mjs" "$root/schemas" "$work/examples.jsonl"
