# VisionHub — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-test
DEMO_STAMP := $(VENV)/.installed-demo
PG_ADMIN_URL ?= postgres://postgres@127.0.0.1:5432/postgres
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/visionhub
PYTEST_ARGS ?=
XDIST ?= -n 2

.PHONY: help install test test-fast test-sqlite test-postgres lint fmt serve demo bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[test,demo]'
	@touch $(STAMP) $(DEMO_STAMP)

$(DEMO_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	@touch $(DEMO_STAMP)

install: $(STAMP) ## Create .venv and install VisionHub with its test and demo extras

test: $(STAMP) ## Run the whole suite on SQLite, then on PostgreSQL if it answers on 127.0.0.1:5432
	$(MAKE) --no-print-directory test-sqlite
	@if $(BIN)/python -c "import psycopg; psycopg.connect('$(PG_ADMIN_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		$(MAKE) --no-print-directory test-postgres; \
	else \
		echo "PostgreSQL is not answering on 127.0.0.1:5432: PostgreSQL pass NOT run"; \
		if [ -n "$$CI" ]; then exit 1; fi; \
	fi

test-fast: $(STAMP) ## Run the in-process ring on SQLite (no server, worker or browser processes)
	env -u VISIONHUB_TEST_DATABASE_URL $(BIN)/pytest $(XDIST) -m "not process" $(PYTEST_ARGS)

test-sqlite: $(STAMP) ## Run the suite on SQLite
	@echo "=== test pass: sqlite ==="
	env -u VISIONHUB_TEST_DATABASE_URL $(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

test-postgres: $(STAMP) ## Run the suite on PostgreSQL (VISIONHUB_TEST_DATABASE_URL)
	@echo "=== test pass: postgresql ==="
	VISIONHUB_TEST_DATABASE_URL=$${VISIONHUB_TEST_DATABASE_URL:-$(PG_TEST_URL)} $(BIN)/pytest $(XDIST) $(PYTEST_ARGS)

lint: $(STAMP) ## ruff and strict mypy
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

fmt: $(STAMP) ## Format and autofix
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

serve: $(STAMP) ## Run the server on 127.0.0.1:8000 with the embedded default (VISIONHUB_HOME)
	$(BIN)/visionhub serve

demo: $(DEMO_STAMP) ## The whole product end to end on the embedded default (a fresh temporary home)
	$(BIN)/visionhub demo $(DEMO_ARGS)

bench: $(STAMP) ## Run the benchmark scripts (needs PostgreSQL)
	@for script in benchmarks/bench_*.py; do echo "=== $$script"; $(BIN)/python $$script || exit 1; done

screenshots: $(STAMP) ## Photograph the main pages of the demo's data into docs/screenshots/ (a browser test)
	VISIONHUB_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest tests/web/test_screenshots.py -p no:xdist -q

clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache build src/*.egg-info
