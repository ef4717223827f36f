#!/usr/bin/env bash
# ctest entry: installs ajv and yaml from the committed lock file when needed, then validates
# deploy/kubernetes/ (validate.mjs).
# Usage: run.sh MATCHMAKER HOOK_TOOL EXAMPLE_SERVER
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
command -v node >/dev/null || { echo "node is not installed (scripts/deps test)" >&2; exit 1; }
if [ ! -f "$here/node_modules/yaml/package.json" ] ||
   [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) ||
    { echo "npm ci failed: the manifest tests need ajv and yaml from the npm registry" >&2; exit 1; }
fi
node "$here/validate.mjs" --manifests "$root/deploy/kubernetes" --matchmaker "$1" --hook-tool "$2" \
  --server "$3"
