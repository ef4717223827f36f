#!/bin/sh
# Starts the end-to-end runner in its container. As root (with NET_ADMIN): adds the players'
# source addresses (SEATGATE_E2E_PLAYER_IPS, A.B.C.D-E) to the interface on the compose
# network, so each player has an address of its own as on loopback, and hands the output and
# control folders to the runner's user. Then runs seatgate-e2e as seatgate (uid 10001), with
# no capability left. Arguments go to seatgate-e2e.
set -eu
pool=${SEATGATE_E2E_PLAYER_IPS:-}
if [ -n "$pool" ] && [ "$(id -u)" -eq 0 ]; then
  prefix=${pool%.*}
  range=${pool##*.}
  first=${range%-*}
  last=${range#*-}
  # The interface and prefix length of the container's own address.
  set -- $(ip -o -4 addr show scope global | awk '{print $2, $4; exit}') "$@"
  dev=$1
  len=${2#*/}
  shift 2
  i=$first
  while [ "$i" -le "$last" ]; do
    ip addr add "$prefix.$i/$len" dev "$dev" 2>/dev/null ||
      ip -o addr show dev "$dev" | grep -q " $prefix.$i/" ||
      { echo "e2e: cannot add $prefix.$i to $dev (NET_ADMIN?)" >&2; exit 1; }
    i=$((i + 1))
  done
fi
for d in "${SEATGATE_E2E_OUTPUT_DIR:-}" "${SEATGATE_E2E_CONTROL_DIR:-}"; do
  [ -n "$d" ] && mkdir -p "$d" && [ "$(id -u)" -eq 0 ] && chown 10001:10001 "$d"
done
if [ "$(id -u)" -eq 0 ]; then
  exec setpriv --reuid=10001 --regid=10001 --clear-groups --inh-caps=-all \
    /usr/local/bin/seatgate-e2e "$@"
fi
exec /usr/local/bin/seatgate-e2e "$@"
