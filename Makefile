# Two commands: `make run` and `make test`. Everything else is a step they share.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NPM_STAMP := frontend/node_modules/.installed
# Newest first; the first interpreter that really runs and is >= 3.11 wins.
PYTHON_CANDIDATES := python3.13 python3.12 python3.11 python3
PYTHON ?= $(shell for p in $(PYTHON_CANDIDATES); do \
	if $$p -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1; then command -v $$p; break; fi; done)

.PHONY: help run test install assets translations messages lint typecheck migrations-check pytest clean

help:
	@echo "make run    - install, start embedded PostgreSQL/Valkey if needed, migrate, seed, serve"
	@echo "make test   - install, then ruff, import layers, mypy, makemigrations --check and the whole pytest suite"

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
		echo "ERROR: Python 3.11 or newer is required (looked for: $(PYTHON_CANDIDATES))."; \
		echo "Install Python 3.11+ and make sure 'python3.11' (or newer) is on PATH, or run: make PYTHON=/path/to/python3.12 ..."; \
		exit 1; fi
	@echo "Using $(PYTHON) ($$($(PYTHON) --version))"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,test]"
	@touch $(STAMP)

$(NPM_STAMP): frontend/package.json frontend/package-lock.json
	@command -v npm >/dev/null || { echo "ERROR: Node.js 20+ with npm is required to build the front-end assets."; exit 1; }
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@touch $(NPM_STAMP)

install: $(STAMP) $(NPM_STAMP)

assets: $(NPM_STAMP)
	cd frontend && npm run --silent build

translations: $(STAMP)
	$(PY) -m frontend.i18n compile

messages: $(STAMP)
	$(PY) -m infra.dev run --ephemeral-redis -- $(PY) -m frontend.i18n extract

run: install assets translations
	$(PY) -m infra.dev run -- $(PY) -m infra.dev serve

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(PY) -m infra.dev run --ephemeral-redis -- $(VENV)/bin/mypy .

migrations-check: $(STAMP)
	$(PY) -m infra.dev run --ephemeral-redis -- $(PY) manage.py makemigrations --check --dry-run

pytest: install assets translations
	$(PY) -m infra.dev run --ephemeral-redis -- $(PY) -m pytest -n 2 $(PYTEST_ARGS)

test: install assets translations lint typecheck migrations-check pytest

clean:
	rm -rf $(VENV) frontend/node_modules frontend/build
	@echo "Kept .data/ (your local database); remove it yourself to start from scratch."

.PHONY: bench-access
# The access-control benchmark of issue 4 (on bench-crm's tenant; loads its data first when missing).
bench-access: install assets translations
	$(PY) -m infra.dev run -- $(PY) -m tests.perf.bench_access $(BENCH_ARGS)

.PHONY: bench-crm
# The CRM benchmark of issue 3 (1,000,000 contacts; about 4 minutes to load the first time, ~2.6 GB).
bench-crm: install assets translations
	$(PY) -m infra.dev run -- $(PY) -m bench.crm $(BENCH_ARGS)

.PHONY: bench-vtiger
# The vtiger-compatible API benchmark of issue 17 (VTQL query p95, creates/s; on bench-crm's tenant).
bench-vtiger: install assets translations
	$(PY) -m infra.dev run -- $(PY) -m bench.vtiger $(BENCH_ARGS)

.PHONY: bench-import
# The import benchmark of issue 17: 100,000 contacts from a CSV with e-mail dedupe against 100,000 existing
# ones through the API, end to end, then its undo, against a per-row baseline (bench/imports.py).
bench-import: install assets translations
	$(PY) -m infra.dev run -- $(PY) -m bench.imports $(BENCH_ARGS)

.PHONY: bench-reports
# Issue 21: a deals summary (stage x close month, sum and count) as the non-admin member under private sharing
# and as the admin, and the default dashboard's full refresh, on bench-crm's tenant (BENCH_ARGS=--quick: 1/20).
bench-reports: install assets translations
	$(PY) -m infra.dev run -- $(PY) -m bench.reports $(BENCH_ARGS)

.PHONY: bench-load
# Issue 26: locust over 200 workspaces for 30 minutes (BENCH_ARGS=--quick: 3 minutes; LOAD_MINUTES=N).
bench-load: install assets translations
	$(PY) -m infra.dev run -- $(PY) -m bench.load $(BENCH_ARGS)

.PHONY: bench-inventory
# Issue 19: an invoice with 50 lines through the API, its PDF, the invoices list at 200,000 invoices
# (loads its own tenant the first time; BENCH_ARGS=--quick: 20,000 invoices).
bench-inventory: install assets translations
	$(PY) -m infra.dev run -- $(PY) -m bench.inventory $(BENCH_ARGS)

.PHONY: bench-http
# Issue 25: the main pages through gunicorn (production settings) under locust, 4 clients x 20 s per page, as
# the non-admin member (private sharing) and the admin, on bench-crm's tenant (loaded first when missing).
# BENCH_ARGS=--quick: 3 s per page; --seconds/--clients/--page/--who/--worker-class/--workers/--threads.
bench-http: install assets translations
	$(PY) -m infra.dev run -- $(PY) -m bench.http $(BENCH_ARGS)

.PHONY: bench-catalog
# Many tenants in one database (issue 7 part 4): catalog size, pg_dump of one tenant, query time.
bench-catalog: install assets translations
	$(PY) -m infra.dev run -- $(PY) -m tests.perf.bench_catalog $(BENCH_ARGS)

.PHONY: bench-tenancy
# Issue 7: provisioning (warm pool vs stock django-tenants, 10 and 2,000 tenants), routing (gunicorn,
# 1,000 tenants vs single-tenant Django, worker RSS) and migrations (1,000 schemas, stock migrate_schemas vs
# migrate_tenants). BENCH_ARGS=--quick: 10/200 tenants, routing and migrations with 100. Runs in a
# database of its own, dropped at the end.
bench-tenancy: install assets translations
	$(PY) -m infra.dev run -- $(PY) -m tests.perf.bench_tenancy $(BENCH_ARGS)
