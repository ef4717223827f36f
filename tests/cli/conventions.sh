#!/usr/bin/env bash
# Every program follows the same command-line conventions: --help and -h print to stdout and
# exit 0, --version prints "<program> <version>", an unknown option or a bad value exits 2 with
# "<program>: error: ..." as its last line, --name=value works as well as --name value, and the
# netcode key has one name everywhere (--netcode-key / SEATGATE_NETCODE_KEY, older names kept).
# Usage: conventions.sh VERSION MATCHMAKER HOOK_TOOL TOKEN_TOOL EXAMPLE_SERVER EXAMPLE_CLIENT SIM
set -uo pipefail
version=$1; mm=$2; hook=$3; token=$4; server=$5; client=$6; sim=$7
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
run() { # command...: sets rc, out, err
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; rc=$?
  out=$(cat "$tmp/out"); err=$(cat "$tmp/err")
}
expect() { # description, wanted rc, grep pattern for stdout (or ""), pattern for the last stderr line (or "")
  local what=$1 want=$2 opat=$3 epat=$4
  [ "$rc" = "$want" ] || fail "$what: exit $rc, expected $want (stderr: ${err:0:200})"
  if [ -n "$opat" ] && ! grep -qE -- "$opat" <<<"$out"; then fail "$what: stdout lacks /$opat/: ${out:0:200}"; fi
  if [ -n "$epat" ] && ! tail -n 1 <<<"$err" | grep -qE -- "$epat"; then fail "$what: last stderr line lacks /$epat/: $(tail -n 1 <<<"$err")"; fi
}

for bin in "$mm" "$hook" "$token" "$server" "$client" "$sim"; do
  name=$(basename "$bin")
  for h in --help -h; do
    run "$bin" "$h"
    expect "$name $h" 0 '^Usage: ' ''
    [ -z "$err" ] || fail "$name $h wrote to stderr: ${err:0:200}"
  done
  run "$bin" --version
  expect "$name --version" 0 "^$name $version\$" ''
  run "$bin" --no-such-option
  expect "$name --no-such-option" 2 '' "^$name: error: unknown (option|command or option) '?--no-such-option"
done

# Settings with a value: --name=value is the same as --name value; a bad value is a usage error.
key=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
loud="invalid value loud for --log-level \(SEATGATE_LOG_LEVEL, from flag\): expected one of debug, info, warn, error, off"
run "$mm" --log-level=loud --edgegap-app a --edgegap-version v --netcode-key "$key"
expect "seatgate-matchmaker --log-level=loud" 2 '' "^seatgate-matchmaker: error: $loud\$"
run "$server" --log-level=loud --netcode-key "$key"
expect "seatgate-example-server --log-level=loud" 2 '' "^seatgate-example-server: error: invalid value loud for --log-level"
run "$client" --log-level=loud
expect "seatgate-example-client --log-level=loud" 2 '' "^seatgate-example-client: error: invalid value loud for --log-level"
run "$sim" --log-level=loud
expect "seatgate-edgegap-sim --log-level=loud" 2 '' "^seatgate-edgegap-sim: error: .*log-level"
run "$hook" --log-level=loud context
expect "seatgate-hook --log-level=loud" 2 '' '^seatgate-hook: error: --log-level'
run "$hook" --queue-size=lots context
expect "seatgate-hook --queue-size=lots" 2 '' '^seatgate-hook: error: --queue-size: .*SEATGATE_QUEUE_SIZE'
run "$token" inspect --token-dialect=sideways --netcode-key=00
expect "seatgate-token inspect --token-dialect=sideways" 2 '' '^seatgate-token: error: invalid value sideways for --token-dialect .*expected one of netcode-1.02, lightyear, lightyear-0.19, groups-le, octets$'

# seatgate-hook's help shows each setting's type and the file form of secrets.
run "$hook" --help
grep -qE -- '--heartbeat DURATION' <<<"$out" || fail "seatgate-hook --help shows no types"
grep -qE -- 'env SEATGATE_EDGEGAP_API_KEY \(secret; or SEATGATE_EDGEGAP_API_KEY_FILE' <<<"$out" ||
  fail "seatgate-hook --help does not show the _FILE form of secrets"

# One name for the netcode key; the older --private-key still works where it was used.
for bin in "$mm" "$server" "$token"; do
  name=$(basename "$bin")
  if [ "$bin" = "$token" ]; then run "$bin" inspect --help; else run "$bin" --help; fi
  grep -qE -- '--netcode-key VALUE' <<<"$out" || fail "$name has no --netcode-key"
  grep -qE -- 'SEATGATE_NETCODE_KEY' <<<"$out" || fail "$name does not read SEATGATE_NETCODE_KEY"
done
for k in --netcode-key --private-key; do
  run "$token" inspect "$k" abcd --token AAAA
  expect "seatgate-token inspect $k abcd" 2 '' '^seatgate-token: error: --netcode-key: private key: expected 32 bytes \(64 hex digits\), got 4 hex digits$'
done
SEATGATE_NETCODE_KEY=$key run "$token" inspect --token AAAA
expect "seatgate-token inspect with SEATGATE_NETCODE_KEY" 1 '' '^seatgate-token: error: cannot open the token \(truncated\)'

# The garbled messages of old: exact text, the whole path.
long=/nonexistent/a/rather/long/folder/name/to/check/that/nothing/is/cut/netcode.key
run "$mm" --netcode-key abcd --edgegap-app a --edgegap-version v --store-url "sqlite://$tmp/db"
expect "seatgate-matchmaker --netcode-key abcd" 2 '' '^seatgate-matchmaker: error: --netcode-key: private key: expected 32 bytes \(64 hex digits\), got 4 hex digits$'
run "$mm" --netcode-key-file "$long" --edgegap-app a --edgegap-version v
expect "seatgate-matchmaker --netcode-key-file missing" 2 '' "^seatgate-matchmaker: error: --netcode-key-file: cannot open $long: No such file or directory\$"
SEATGATE_NETCODE_KEY_FILE=$long run "$mm" --edgegap-app a --edgegap-version v
expect "SEATGATE_NETCODE_KEY_FILE missing" 2 '' "^seatgate-matchmaker: error: SEATGATE_NETCODE_KEY_FILE: cannot open $long: No such file or directory\$"

[ "$fails" -eq 0 ] && echo "cli conventions: ok" || { echo "cli conventions: $fails failure(s)"; exit 1; }
