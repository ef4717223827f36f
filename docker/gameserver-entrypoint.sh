#!/bin/sh
# Starts the example game server as its platform runs it.
#  - Agones (AGONES_SDK_HTTP_PORT set, as Agones sets it in the game container): reads the
#    GameServer from the SDK sidecar (retried while the sidecar starts) and listens on its
#    first port, the host port Agones picked (portPolicy Passthrough), announcing the
#    GameServer's address; the hook inside does the rest (Ready, Health, seats).
#  - Edgegap: with the ARBITRIUM_* environment Edgegap injects. Locally that environment comes
#    from the simulator (GET /_sim/deployments/<request id>/env), so the container asks for
#    it first. Needs: SEATGATE_SIM_URL, GAMESERVER_REQUEST_ID.
# Arguments go to seatgate-example-server.
set -eu
server=${SEATGATE_EXAMPLE_SERVER:-/usr/local/bin/seatgate-example-server}

if [ -n "${AGONES_SDK_HTTP_PORT:-}" ]; then
  i=0
  until gs=$(curl -fsS "http://127.0.0.1:$AGONES_SDK_HTTP_PORT/gameserver"); do
    i=$((i + 1))
    [ "$i" -lt 60 ] || { echo "gameserver: no answer from the Agones SDK sidecar" >&2; exit 1; }
    sleep 1
  done
  # The SDK answers compact JSON: status.address, and the first of status.ports.
  status=${gs#*\"status\":}
  address=$(printf '%s' "$status" | sed -n 's/^{"state":"[^"]*","address":"\([^"]*\)".*/\1/p')
  port=$(printf '%s' "$status" | sed -n 's/.*"ports":\[{"name":"[^"]*","port":\([0-9]*\)}.*/\1/p')
  [ -n "$port" ] && [ -n "$address" ] ||
    { echo "gameserver: the GameServer has no address or port yet: $status" >&2; exit 1; }
  exec "$server" --listen "${SEATGATE_BIND_ADDRESS:-0.0.0.0}:$port" --public-address "$address:$port" "$@"
fi

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
exec "$server" "$@"
