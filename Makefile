# `make run` serves the demo; `make test` runs the whole suite. Both create .venv when needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test fuzz lint lock lock-check openapi openapi-check check bench clean

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
	$(LOCK) -o requirements.lock
	$(LOCK) --extra dev -o requirements-dev.lock

# Fails when pyproject.toml asks for something the lock files do not hold.
lock-check: $(VENV)/.uv
	@tmp=$$(mktemp -d) && cp requirements.lock requirements-dev.lock $$tmp/ && \
	$(LOCK) -o $$tmp/requirements.lock && $(LOCK) --extra dev -o $$tmp/requirements-dev.lock && \
	diff -u requirements.lock $$tmp/requirements.lock && \
	diff -u requirements-dev.lock $$tmp/requirements-dev.lock && rm -rf $$tmp || \
	{ echo "The lock files are out of date with pyproject.toml: run make lock"; exit 1; }

run: $(VENV)/.installed
	$(PY) -m cli serve

# One pytest worker per core: each worker prepares its own template databases.
test: $(VENV)/.installed-dev
	$(PY) -m pytest -n auto

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

lint: $(VENV)/.installed-dev lock-check openapi-check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/hadolint Dockerfile

check: lint test

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
