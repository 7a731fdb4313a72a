# The README's two commands: `make run` and `make test`. Both install what they need first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: help install run test lint bench browser clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with its dev tools

run: install ## start Redis (if none answers), worker, beat, API and Flower; Ctrl-C stops all
	$(VENV)/bin/trustagency up

browser: ## install Debian's Chromium for the page tests (skipped when it cannot be had)
	@bash scripts/ensure_chromium.sh || echo "note: no Chromium; the browser tests will skip"

lint: install ## ruff, mypy and the import layers (.importlinter, docs/architecture.md)
	$(VENV)/bin/ruff check app tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

test: install browser lint ## the whole suite: real Redis, real workers, SQLite (+PostgreSQL with TEST_POSTGRES_URL)
	$(PY) -m pytest

bench: install ## benchmarks; writes bench/RESULTS.md
	$(PY) -m bench.run

clean: ## remove var/ (local database, embedded Redis data, logs)
	rm -rf var
