#!/usr/bin/env bash
# ctest entry for the Rust binding (gameserver-hook/rust): installs the hook from the build
# tree into a prefix of its own, checks that the Rust declarations lay the structs out as the
# C header does, runs `cargo test --offline` (linked to the shared library), builds the
# lightyear_server example linked statically, and runs it against the local stack
# (live.mjs). Usage: run.sh BUILD_DIR MATCHMAKER_BIN SIM_BIN OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ $# -eq 4 ] || { echo "usage: run.sh BUILD_DIR MATCHMAKER_BIN SIM_BIN OUT_DIR" >&2; exit 2; }
build=$(realpath "$1") mm=$(realpath "$2") sim=$(realpath "$3") out=$(realpath -m "$4")
command -v cargo >/dev/null || { echo "cargo is not installed (scripts/deps test installs it)" >&2; exit 1; }
command -v node >/dev/null || { echo "node is not installed (scripts/deps test)" >&2; exit 1; }
mkdir -p "$out"
prefix="$out/prefix"
rm -rf "$prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
export SEATGATE_HOOK_PREFIX="$prefix"
export CARGO_TARGET_DIR="$out/target"
cd "$root/gameserver-hook/rust"

echo "== struct layout: Rust declarations against the C header"
cc -std=c11 -Wall -Wextra -Werror -I"$prefix/include" "$here/layout.c" -o "$out/layout-c"
"$out/layout-c" >"$out/layout-c.txt"
cargo run --offline --quiet -p seatgate-hook-sys --example layout >"$out/layout-rust.txt"
diff -u "$out/layout-c.txt" "$out/layout-rust.txt"
echo "   $(wc -l <"$out/layout-c.txt") sizes, offsets and constants agree"

echo "== cargo test --offline (shared library)"
cargo test --offline --quiet 2>&1 | tail -n 40

echo "== lightyear_server example, linked statically"
SEATGATE_HOOK_STATIC=1 CARGO_TARGET_DIR="$out/target-static" \
  cargo build --offline --quiet -p seatgate-hook --example lightyear_server
bin="$out/target-static/debug/examples/lightyear_server"
needed=$(readelf -d "$bin")
if grep -q 'NEEDED.*seatgate' <<<"$needed"; then
  echo "the static example still needs a seatgate shared library" >&2; exit 1
fi

echo "== lightyear_server against the local stack"
exec node --test-reporter=spec "$here/live.mjs" --matchmaker-bin "$mm" --sim-bin "$sim" \
  --server-bin "$bin" --out "$out/live"
