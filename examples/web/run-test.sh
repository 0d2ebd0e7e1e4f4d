#!/usr/bin/env bash
# make example-test: build the example site against a throwaway API, serve both on loopback on
# two origins, drive the site in Chromium (tests/site.test.mjs), run the Python client's usage
# file against the same API, and stop both servers whatever happens.
set -euo pipefail
cd "$(dirname "$0")/../.."

PY=.venv/bin/python
WORK="$(mktemp -d)"
# shellcheck source=../../scripts/throwaway_servers.sh
source scripts/throwaway_servers.sh
require_chromium
API_PORT="${API_PORT:-$(free_port)}"
SITE_PORT="${SITE_PORT:-$(free_port)}"
API_URL="http://127.0.0.1:$API_PORT"
SITE_URL="http://127.0.0.1:$SITE_PORT"
RESULTS="$PWD/examples/web/test-results"

echo "Building the site for the API at $API_URL"
node_modules/.bin/tsc -p examples/web
VITE_API_BASE_URL="$API_URL" node_modules/.bin/vite build examples/web --logLevel warn

echo "API on $API_URL (CORS for $SITE_URL), site on $SITE_URL"
start_api "$API_PORT" CLINIC_CORS_ORIGINS="[\"$SITE_URL\"]"
setsid node node_modules/vite/bin/vite.js preview examples/web \
  --host 127.0.0.1 --port "$SITE_PORT" --strictPort > "$WORK/site.log" 2>&1 &
PIDS+=("$!")
wait_for "$SITE_URL/" "${PIDS[1]}" "vite preview"

SITE_URL="$SITE_URL" API_URL="$API_URL" RESULTS_DIR="$RESULTS" CHROMIUM="$CHROMIUM" \
  node --test --test-concurrency=1 examples/web/tests/ tests/browser/
PYTHONPATH=clients/python "$PY" clients/usage/usage.py "$API_URL"
echo "Screenshots: $RESULTS/article.png, form-errors.png, form-sent.png"
