# bizenv — every target installs what it needs first (uv, then the locked .venv).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV = $(PYTHON) -m uv

.PHONY: install test test-quick lint format demo bench clean

$(VENV)/.installed: pyproject.toml uv.lock
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv \
		|| $(PYTHON) -m pip install --quiet --user uv \
		|| $(PYTHON) -m pip install --quiet --user --break-system-packages uv
	$(UV) sync --frozen
	@touch $@

install: $(VENV)/.installed

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest -n 2 --dist loadfile --durations=25

# The inner loop: everything but the slow, Airflow and PostgreSQL tests (make test runs them all).
test-quick: install
	$(BIN)/ruff check .
	$(BIN)/pytest -q -m "not slow and not airflow and not pg"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

demo: install
	@scripts/demo.sh

bench: install
	$(BIN)/python -m bizenv.bench

clean:
	rm -rf var/demo var/airflow .pytest_cache
