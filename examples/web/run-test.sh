#!/usr/bin/env bash
# make example-test: build the example site against a throwaway API, serve both on loopback on
# two origins, drive the site in Chromium (tests/site.test.mjs), run the Python client's usage
# file against the same API, and stop both servers whatever happens.
set -euo pipefail
cd "$(dirname "$0")/../.."

PY=.venv/bin/python
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  echo "No Chromium at $CHROMIUM: apt-get install -y --no-install-recommends chromium" >&2
  exit 1
fi
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
API_PORT="${API_PORT:-$(free_port)}"
SITE_PORT="${SITE_PORT:-$(free_port)}"
API_URL="http://127.0.0.1:$API_PORT"
SITE_URL="http://127.0.0.1:$SITE_PORT"
WORK="$(mktemp -d)"
RESULTS="$PWD/examples/web/test-results"
PIDS=()

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
    echo "--- API log (last 40 lines)"; tail -n 40 "$WORK/api.log" 2>/dev/null || true
    echo "--- site log (last 20 lines)"; tail -n 20 "$WORK/site.log" 2>/dev/null || true
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

echo "Building the site for the API at $API_URL"
node_modules/.bin/tsc -p examples/web
VITE_API_BASE_URL="$API_URL" node_modules/.bin/vite build examples/web --logLevel warn

echo "API on $API_URL (CORS for $SITE_URL), site on $SITE_URL"
CLINIC_DATABASE_URL="sqlite:///$WORK/api.db" \
CLINIC_DATA_KEY="$("$PY" -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')" \
CLINIC_CORS_ORIGINS="[\"$SITE_URL\"]" \
  setsid "$PY" -m cli serve --host 127.0.0.1 --port "$API_PORT" > "$WORK/api.log" 2>&1 &
PIDS+=("$!")
setsid node node_modules/vite/bin/vite.js preview examples/web \
  --host 127.0.0.1 --port "$SITE_PORT" --strictPort > "$WORK/site.log" 2>&1 &
PIDS+=("$!")
wait_for "$API_URL/readyz" "${PIDS[0]}" "The API"
wait_for "$SITE_URL/" "${PIDS[1]}" "vite preview"

SITE_URL="$SITE_URL" API_URL="$API_URL" RESULTS_DIR="$RESULTS" CHROMIUM="$CHROMIUM" \
  node --test --test-concurrency=1 examples/web/tests/ tests/browser/
PYTHONPATH=clients/python "$PY" clients/usage/usage.py "$API_URL"
echo "Screenshots: $RESULTS/article.png, form-errors.png, form-sent.png"
