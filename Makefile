# `make run` serves the demo; `make test` runs the whole suite. Both create .venv when needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test lint check bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

run: $(VENV)/.installed
	$(PY) -m cli serve

# One pytest worker per core: each worker prepares its own template databases.
test: $(VENV)/.installed-dev
	$(PY) -m pytest -n auto

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/hadolint Dockerfile

check: lint test

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
