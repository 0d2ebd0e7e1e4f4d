#!/usr/bin/env bash
# bash examples/next/run-test.sh: the Next.js example against a real API. Starts the API on a
# free loopback port over a throwaway SQLite database (demo content), creates the keys the test
# needs and the webhook endpoint for the site's /api/revalidate (before Next starts, so that its
# secret is in Next's environment), runs `next build` (static pages are read from the API then),
# `next start` on another free port, and the browser tests (tests/site.test.mjs: node --test,
# playwright-core driving Debian's Chromium); both servers are stopped however it ends.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE/../.."

PY=.venv/bin/python
WORK="$(mktemp -d)"
# shellcheck source=../../scripts/throwaway_servers.sh
source scripts/throwaway_servers.sh
require_chromium
API_PORT="${API_PORT:-$(free_port)}"
SITE_PORT="${SITE_PORT:-$(free_port)}"
API_URL="http://127.0.0.1:$API_PORT"
SITE_URL="http://127.0.0.1:$SITE_PORT"
RESULTS="$HERE/test-results"
export NEXT_TELEMETRY_DISABLED=1 # nothing leaves this machine

now() { date +%s.%N; }
took() { "$PY" -c 'import sys; print(f"{sys.argv[1]}: {float(sys.argv[3]) - float(sys.argv[2]):.1f} s")' "$1" "$2" "$(now)"; }

# Dependencies exactly as locked, again only when the lock file changed.
if [ ! -f "$HERE/node_modules/.installed" ] || [ "$HERE/package-lock.json" -nt "$HERE/node_modules/.installed" ]; then
  t=$(now)
  (cd "$HERE" && npm ci --no-audit --no-fund)
  touch "$HERE/node_modules/.installed"
  took "npm ci" "$t"
fi

# The API, plus what the Next server needs: webhooks to a loopback URL, and X-Forwarded-For
# believed from the Next server (127.0.0.1).
echo "API on $API_URL, site on $SITE_URL"
start_api "$API_PORT" CLINIC_CORS_ORIGINS="[\"$SITE_URL\"]" CLINIC_WEBHOOK_ALLOW_PRIVATE_URLS=true \
  CLINIC_TRUSTED_PROXIES='["127.0.0.1/32"]'
export CLINIC_DATABASE_URL="sqlite:///$WORK/api.db" # the CLI below works on the API's database

# Keys (each printed alone on the CLI's last line): an editor who also manages webhooks, a
# reviewer bound to a (placeholder) clinician for the approval, and a reader of leads.
cli() { "$PY" -m cli "$@" 2>>"$WORK/cli.log" | tail -n 1; }
EDITOR_KEY=$(cli create-api-key --name "next example: editor" --scopes content:write,webhooks:manage)
REVIEWER_ID=$(cli add-reviewer --name "Dr. Next Example" --credentials MD --specialty Psychiatry --placeholder)
REVIEWER_KEY=$(cli create-api-key --name "next example: reviewer" --scopes content:review --reviewer "$REVIEWER_ID")
LEADS_KEY=$(cli create-api-key --name "next example: leads" --scopes leads:read)

# The site's webhook endpoint: article events, thin payloads (slug and locale are all it needs).
curl -sf "$API_URL/v1/admin/webhook-endpoints" -H "Authorization: Bearer $EDITOR_KEY" \
  -H 'Content-Type: application/json' \
  -d "{\"url\": \"$SITE_URL/api/revalidate\", \"description\": \"Next.js example: revalidate pages\",
       \"event_types\": [\"article.published\", \"article.updated\", \"article.unpublished\"],
       \"payload_mode\": \"thin\"}" > "$WORK/endpoint.json"
ENDPOINT_ID=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$WORK/endpoint.json")
WEBHOOK_SECRET=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["secret"])' "$WORK/endpoint.json")

# `next build` with the API up: the list and every published article are prerendered from it.
# From scratch: .next/cache keeps fetched API answers from one build to the next.
t=$(now)
rm -rf "$HERE/.next"
(cd "$HERE" && CLINIC_API_URL="$API_URL" node_modules/.bin/next build)
took "next build" "$t"

(cd "$HERE" && CLINIC_API_URL="$API_URL" CLINIC_WEBHOOK_SECRET="$WEBHOOK_SECRET" \
  exec setsid node node_modules/next/dist/bin/next start --hostname 127.0.0.1 --port "$SITE_PORT") \
  > "$WORK/site.log" 2>&1 &
PIDS+=("$!")
wait_for "$SITE_URL/" "$!" "next start"

t=$(now)
SITE_URL="$SITE_URL" API_URL="$API_URL" RESULTS_DIR="$RESULTS" CHROMIUM="$CHROMIUM" \
EDITOR_KEY="$EDITOR_KEY" REVIEWER_KEY="$REVIEWER_KEY" LEADS_KEY="$LEADS_KEY" ENDPOINT_ID="$ENDPOINT_ID" \
  node --test --test-concurrency=1 "$HERE/tests/"
took "tests" "$t"
echo "Screenshots: $RESULTS/article.png, form-errors.png, form-sent.png, revalidated.png, draft.png"
