#!/usr/bin/env bash
# make sdk-test: install each built SDK artifact (the npm tarball, the Python wheel) into an
# empty project of its own, as a user would, and run its tests against a throwaway API:
# page iteration, change-feed sync, previews, image srcsets, and a real webhook delivery
# verified with the Standard Webhooks library.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
UV=.venv/bin/uv
WORK="$(mktemp -d)"
# shellcheck source=../scripts/throwaway_servers.sh
source scripts/throwaway_servers.sh
API_PORT="$(free_port)"
API_URL="http://127.0.0.1:$API_PORT"

TARBALL="$(ls clients/typescript/clinic-api-client-*.tgz)"
WHEEL="$(ls clients/python/dist/clinic_api_client-*.whl)"

echo "Installing $TARBALL into an empty npm project"
mkdir "$WORK/ts"
cp clients/typescript/test/sdk.test.mjs "$WORK/ts/"
(cd "$WORK/ts" && echo '{"private": true, "type": "module"}' > package.json \
  && npm install --no-audit --no-fund --loglevel=error "$OLDPWD/$TARBALL" > /dev/null)

echo "Installing $WHEEL into an empty virtual environment"
"$UV" venv -q --python "$PY" "$WORK/py"
"$UV" pip install -q --python "$WORK/py/bin/python" "$WHEEL" "pytest>=8,<10"

echo "API on $API_URL (webhooks may go to this machine's receivers)"
start_api "$API_PORT" CLINIC_WEBHOOK_ALLOW_PRIVATE_URLS=true CLINIC_WEBHOOK_POLL_SECONDS=0.2
KEY="$(api_key content:write,webhooks:manage,leads:read)"

echo "TypeScript SDK:"
(cd "$WORK/ts" && API_URL="$API_URL" KEY="$KEY" node --test --test-concurrency=1 sdk.test.mjs)
echo "Python SDK:"
mkdir "$WORK/py-tests"
cp clients/python/tests/test_sdk.py "$WORK/py-tests/"
printf '[pytest]\n' > "$WORK/py-tests/pytest.ini"  # not this repository's settings
(cd "$WORK/py-tests" && API_URL="$API_URL" KEY="$KEY" "$WORK/py/bin/python" -m pytest -v \
  -p no:cacheprovider test_sdk.py)
