# Sourced by the browser and SDK test scripts (examples/web/run-test.sh,
# clients/run-sdk-test.sh): a throwaway API on a free loopback port over its own SQLite file,
# other servers beside it, and every one stopped whatever happens. Expects PY and WORK set, and
# the caller's `set -euo pipefail`.
PIDS=()

# require_chromium: Debian's Chromium, which the browser tests drive (CHROMIUM chooses another).
require_chromium() {
  CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
  if [ ! -x "$CHROMIUM" ]; then
    echo "No Chromium at $CHROMIUM: apt-get install -y --no-install-recommends chromium" >&2
    exit 1
  fi
}

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

stop_servers() {
  # Each server runs in its own process group (setsid): end the group, then reap it.
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}

on_exit() {
  status=$?
  stop_servers
  if [ "$status" -ne 0 ]; then
    for log in "$WORK"/*.log; do
      [ -f "$log" ] && { echo "--- $(basename "$log") (last 40 lines)"; tail -n 40 "$log"; }
    done
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT TERM HUP

wait_for() {
  for _ in $(seq 1 120); do
    if curl -sf -o /dev/null "$1"; then return 0; fi
    if ! kill -0 "$2" 2>/dev/null; then echo "$3 exited before answering" >&2; return 1; fi
    sleep 0.25
  done
  echo "$3 did not answer at $1 within 30 s" >&2
  return 1
}

# start_api PORT [VAR=value ...]: `cli serve` (migrate, import the demo content, uvicorn) over
# $WORK/api.db with a fresh data key and the settings given, logging to $WORK/api.log.
start_api() {
  local port="$1"; shift
  env CLINIC_DATABASE_URL="sqlite:///$WORK/api.db" \
    CLINIC_DATA_KEY="$("$PY" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')" \
    "$@" setsid "$PY" -m cli serve --host 127.0.0.1 --port "$port" > "$WORK/api.log" 2>&1 &
  PIDS+=("$!")
  wait_for "http://127.0.0.1:$port/readyz" "$!" "The API"
}

# api_key SCOPES: a new API key with these scopes, in the throwaway API's database.
api_key() {
  CLINIC_DATABASE_URL="sqlite:///$WORK/api.db" "$PY" -m cli create-api-key \
    --name "test" --scopes "$1" 2>/dev/null | tail -n 1
}
