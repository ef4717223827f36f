#!/usr/bin/env bash
# ctest entry for the browser test: installs playwright-core from the committed lock file when
# needed, then runs browser.mjs with node's test runner (Chromium from /usr/bin/chromium).
# Usage: run.sh MATCHMAKER_BIN SIM_BIN OUT_DIR LEADERBOARD_BIN FEED_BIN
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/../.." && pwd)
command -v node >/dev/null || { echo "node is not installed (scripts/deps test)" >&2; exit 1; }
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "chromium is not installed (scripts/deps test)" >&2; exit 1; }
if [ ! -f "$here/node_modules/playwright-core/package.json" ] ||
   [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) ||
    { echo "npm ci failed: the browser test needs playwright-core from the npm registry" >&2; exit 1; }
fi
exec node --test-reporter=spec "$here/web/browser.mjs" --matchmaker-bin "$1" --sim-bin "$2" \
  --page "$root/examples/web/index.html" --out "$3" --leaderboard-bin "$4" --feed-bin "$5"
