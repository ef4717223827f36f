#!/bin/sh
# Starts the example game server as an Edgegap deployment would run it: with the
# ARBITRIUM_* environment Edgegap injects. Locally that environment comes from the
# simulator (GET /_sim/deployments/<request id>/env), so the container asks for it first.
# Needs: SEATGATE_SIM_URL, GAMESERVER_REQUEST_ID. Arguments go to seatgate-example-server.
set -eu
: "${SEATGATE_SIM_URL:?}" "${GAMESERVER_REQUEST_ID:?}"
env_file=$(mktemp)
i=0
until curl -fsS "$SEATGATE_SIM_URL/_sim/deployments/$GAMESERVER_REQUEST_ID/env" -o "$env_file"; do
  i=$((i + 1))
  [ "$i" -lt 60 ] || { echo "gameserver: no environment from $SEATGATE_SIM_URL" >&2; exit 1; }
  sleep 1
done
# KEY=VALUE lines, values unquoted (JSON inside): export each line whole.
while IFS= read -r line; do
  case "$line" in ARBITRIUM_*=*) export "$line" ;; esac
done < "$env_file"
rm -f "$env_file"
exec "${SEATGATE_EXAMPLE_SERVER:-/usr/local/bin/seatgate-example-server}" "$@"
