#!/usr/bin/env bash
# ctest entry: validates the answers the HTTP tests recorded (EXAMPLES_DIR/*.jsonl, one
# {"schema","origin":"http","value"} per line) against schemas/http/, with the same ajv
# checks as the store's schema test (tests/schemas/validate.mjs --origins http).
# Usage: validate-responses.sh EXAMPLES_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
schemas_test=$root/tests/schemas
dir=$1

command -v node >/dev/null || { echo "node is not installed (scripts/deps test)" >&2; exit 1; }
if [ ! -f "$schemas_test/node_modules/ajv/package.json" ] ||
   [ "$schemas_test/package-lock.json" -nt "$schemas_test/node_modules/.package-lock.json" ]; then
  (cd "$schemas_test" && npm ci --no-audit --no-fund --loglevel=error) ||
    { echo "npm ci failed: the schema tests need ajv from the npm registry" >&2; exit 1; }
fi
all=$(mktemp)
trap 'rm -f "$all"' EXIT
cat "$dir"/*.jsonl > "$all"
[ -s "$all" ] || { echo "no recorded answers in $dir" >&2; exit 1; }
node "$schemas_test/validate.mjs" "$root/schemas" "$all" --origins http
