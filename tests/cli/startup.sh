#!/usr/bin/env bash
# The matchmaker's first minute, as an operator meets it: a port in use and unusable TLS files
# are named with the setting and the real cause, the fatal line is the last one, a store that
# is not up yet is waited for (store-connect-timeout), and /metrics is true before anything
# probed readiness (store_connected, build_info, process_*, outcomes at 0), and an open-file
# limit too low for --max-connections is reported.
# Usage: startup.sh MATCHMAKER SIM VERSION
set -uo pipefail
mm=$1; sim=$2; version=$3
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
key=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
api=startup-test-api-key-0123
free_port() { "$(dirname "$0")/../../scripts/free-port" "$@"; }
wait_file() { for _ in $(seq 1 ${2:-200}); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }

"$sim" --listen-address 127.0.0.1 --listen-port 0 --ready-file "$tmp/sim.url" --api-key "$api" \
  2>"$tmp/sim.log" >/dev/null &
pids+=($!)
wait_file "$tmp/sim.url" || { echo "the simulator did not start"; cat "$tmp/sim.log"; exit 1; }
common=(--edgegap-url "$(cat "$tmp/sim.url")" --edgegap-api-key "$api" --edgegap-app demo
        --edgegap-version v1 --netcode-key "$key" --listen-address 127.0.0.1)

# A password inside a URL setting never reaches a log line or message, even at debug level
# and even when the URL is refused.
"$mm" "${common[@]}" --listen-port 0 --log-level debug \
  --store-url "nats://mm:hunter2pw@127.0.0.1:4222" 2>"$tmp/mm0.log" >/dev/null
rc=$?
[ "$rc" = 2 ] || fail "a store URL with credentials: exit $rc, expected 2"
grep -q 'hunter2pw' "$tmp/mm0.log" && fail "the store URL's password is in the output: $(grep hunter2pw "$tmp/mm0.log" | head -n 2)"
grep -q 'name=store-url value=nats://\[redacted\]@127.0.0.1:4222' "$tmp/mm0.log" ||
  fail "the debug dump does not show the store URL redacted"
tail -n 1 "$tmp/mm0.log" | grep -q '^seatgate-matchmaker: error: --store-url: credentials in the URL are not accepted' ||
  fail "a store URL with credentials: last line is $(tail -n 1 "$tmp/mm0.log")"

# A first matchmaker; /metrics is read before anything asked /readyz.
"$mm" "${common[@]}" --listen-port 0 --ready-file "$tmp/mm1.url" --store-url "sqlite://$tmp/a.db" \
  --log-level debug 2>"$tmp/mm1.log" >/dev/null &
pids+=($!)
wait_file "$tmp/mm1.url" || { echo "the matchmaker did not start"; cat "$tmp/mm1.log"; exit 1; }
url=$(cat "$tmp/mm1.url")
port=${url##*:}
metrics=$(curl -s "$url/metrics")
for want in '^seatgate_store_connected 1$' \
            "^seatgate_build_info\\{version=\"$version\",platform=\"edgegap\",store=\"sqlite\"\\} 1$" \
            '^process_cpu_seconds_total [0-9.e+-]+$' '^process_resident_memory_bytes [1-9][0-9]*$' \
            '^process_open_fds [1-9][0-9]*$' '^process_max_fds [1-9][0-9]*$' \
            '^process_start_time_seconds [1-9][0-9.]*$' \
            '^seatgate_connect_outcomes_total\{outcome="ok"\} 0$' \
            '^seatgate_connect_outcomes_total\{outcome="rate_limited"\} 0$' \
            '^seatgate_connect_outcomes_total\{outcome="server_timeout"\} 0$'; do
  grep -qE -- "$want" <<<"$metrics" || fail "/metrics before /readyz lacks /$want/"
done
grep -q '^# TYPE process_cpu_seconds_total counter$' <<<"$metrics" || fail "process_cpu_seconds_total is not a counter"
start=$(sed -n 's/^process_start_time_seconds //p' <<<"$metrics")
now=$(date +%s)
awk -v s="$start" -v n="$now" 'BEGIN { exit !(s > n - 600 && s <= n + 1) }' ||
  fail "process_start_time_seconds $start is not this process's start (now $now)"

# What a client sends is quoted in logs: a client_version cannot add fields to a line.
curl -s -X POST -H 'Content-Type: application/json' \
  -d '{"client_version":"1.0 level=error admin=true"}' "$url/connect-me" >/dev/null
for _ in $(seq 1 50); do grep -q 'event=client_version' "$tmp/mm1.log" && break; sleep 0.05; done
grep -q 'event=client_version ip=127.0.0.1 version="1.0 level=error admin=true"$' "$tmp/mm1.log" ||
  fail "client_version is not quoted: $(grep 'event=client_version' "$tmp/mm1.log")"

# A second one on the same port: the setting and the cause, as the last line, exit 1.
"$mm" "${common[@]}" --listen-port "$port" --store-url "sqlite://$tmp/b.db" 2>"$tmp/mm2.log" >/dev/null
rc=$?
last=$(tail -n 1 "$tmp/mm2.log")
[ "$rc" = 1 ] || fail "port in use: exit $rc, expected 1"
grep -qE "^seatgate-matchmaker: error: --listen-address 127\.0\.0\.1 --listen-port $port \(SEATGATE_LISTEN_ADDRESS, SEATGATE_LISTEN_PORT\): cannot listen: .*Address already in use" <<<"$last" ||
  fail "port in use: last line is: $last"

# Files that are not a certificate and key.
echo "not a certificate" > "$tmp/bad.pem"
"$mm" "${common[@]}" --listen-port 0 --store-url "sqlite://$tmp/c.db" --tls-cert-file "$tmp/bad.pem" \
  --tls-key-file "$tmp/bad.pem" 2>"$tmp/mm3.log" >/dev/null
rc=$?
last=$(tail -n 1 "$tmp/mm3.log")
[ "$rc" = 1 ] || fail "bad TLS files: exit $rc, expected 1"
grep -qE '^seatgate-matchmaker: error: --tls-cert-file / --tls-key-file: HTTPS could not start with them \(a PEM certificate chain and its matching private key\?\): .+' <<<"$last" ||
  fail "bad TLS files: last line is: $last"

# NATS not up: with store-connect-timeout 0 it fails at once; with a wait, it gives up saying
# so; and when the server comes up within the wait, the matchmaker starts.
# This NATS listens on an address of its own (127.0.0.63), which no other test uses, so its
# port stays free between the choice and the start.
na=127.0.0.63
np=$(free_port $na)
"$mm" "${common[@]}" --listen-port 0 --store-url "nats://$na:$np" --store-connect-timeout 0 \
  2>"$tmp/mm4.log" >/dev/null
rc=$?
last=$(tail -n 1 "$tmp/mm4.log")
[ "$rc" = 1 ] || fail "no NATS, no wait: exit $rc, expected 1 ($last)"
grep -q '^seatgate-matchmaker: error: ' <<<"$last" || fail "no NATS, no wait: last line is: $last"
grep -q 'store_connect_retry' "$tmp/mm4.log" && fail "no NATS, no wait: it retried"
"$mm" "${common[@]}" --listen-port 0 --store-url "nats://$na:$np" --store-connect-timeout 1s \
  2>"$tmp/mm5.log" >/dev/null
rc=$?
last=$(tail -n 1 "$tmp/mm5.log")
[ "$rc" = 1 ] || fail "no NATS, 1 s wait: exit $rc, expected 1"
grep -qE '^seatgate-matchmaker: error: .*\(gave up after [0-9]+ ms, store-connect-timeout\)$' <<<"$last" ||
  fail "no NATS, 1 s wait: last line is: $last"
grep -q 'event=store_connect_retry backend=nats attempt=1 ' "$tmp/mm5.log" || fail "no NATS, 1 s wait: no retry was logged"
"$mm" "${common[@]}" --listen-port 0 --store-url "nats://$na:$np" --store-connect-timeout 30s \
  --ready-file "$tmp/mm6.url" 2>"$tmp/mm6.log" >/dev/null &
pids+=($!)
for _ in $(seq 1 100); do grep -q store_connect_retry "$tmp/mm6.log" && break; sleep 0.05; done
grep -q store_connect_retry "$tmp/mm6.log" || fail "waiting for NATS: no retry was logged"
mkdir -p "$tmp/js"
nats-server -js -a "$na" -p "$np" -sd "$tmp/js" >"$tmp/nats.log" 2>&1 &
pids+=($!)
if wait_file "$tmp/mm6.url" 400; then
  # Read whole, then searched: grep -q would close the pipe on a match and, with pipefail,
  # curl's SIGPIPE on the rest would fail the test.
  metrics=$(curl -s --max-time 10 "$(cat "$tmp/mm6.url")/metrics")
  grep -q '^seatgate_build_info{.*store="nats"} 1$' <<<"$metrics" ||
    fail "the matchmaker that waited for NATS does not report the nats store"
  # NATS: the flow's store calls go to the pool; asking for the loop is refused, naming it
  grep -q 'event=listening .* store=nats store_calls=pool ' "$tmp/mm6.log" ||
    fail "the NATS matchmaker does not say its store calls use the pool"
  rc=0
  "$mm" "${common[@]}" --listen-port 0 --store-url "nats://$na:$np" --store-calls loop \
    2>"$tmp/mm6b.log" >/dev/null || rc=$?
  [ "$rc" = 2 ] || fail "--store-calls loop on NATS exited $rc, not 2"
  grep -q -- '--store-calls: loop needs a store with batches (SQLite)' "$tmp/mm6b.log" ||
    fail "--store-calls loop on NATS: no clear reason: $(tail -n 1 "$tmp/mm6b.log")"
else
  fail "the matchmaker did not start once NATS came up: $(tail -n 2 "$tmp/mm6.log"); nats-server: $(tail -n 3 "$tmp/nats.log")"
fi

# More connections allowed than descriptors: said at start, with how many fit. (A lower hard
# limit in a subshell: lowering needs no privilege.)
(ulimit -n 1024 && exec "$mm" "${common[@]}" --listen-port 0 --store-url "sqlite://$tmp/f.db" \
  --max-connections 4096 --ready-file "$tmp/mm7.url") 2>"$tmp/mm7.log" >/dev/null &
pids+=($!)
if wait_file "$tmp/mm7.url"; then
  grep -q 'event=open_file_limit_low max_connections=4096 open_file_limit=1024 hint="about 768 connections fit' \
    "$tmp/mm7.log" || fail "a low open-file limit is not reported: $(grep -c . "$tmp/mm7.log") lines"
else
  fail "the matchmaker with a low open-file limit did not start: $(tail -n 2 "$tmp/mm7.log")"
fi
grep -q open_file_limit_low "$tmp/mm1.log" && fail "the default settings warn of the open-file limit"
grep -q 'event=listening .* store=sqlite store_calls=loop ' "$tmp/mm1.log" ||
  fail "the SQLite matchmaker does not say its store calls run on the loop"

[ "$fails" -eq 0 ] && echo "matchmaker startup: ok" || { echo "matchmaker startup: $fails failure(s)"; exit 1; }
