# The two set-up commands of the README, and what they stand on.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: demo test install lint docs translations bench

# Install the project and its test tools into .venv (again when the metadata changes).
$(VENV)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

# Serve the example shop on SQLite with demo data at http://127.0.0.1:5000
demo: install
	$(BIN)/flask --app example_shop demo
	$(BIN)/flask --app example_shop run --host $(HOST) --port $(PORT)

# The whole suite: SQLite always; PostgreSQL and MariaDB when their URLs are set.
test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict flask_partialpay
	$(BIN)/lint-imports
	$(BIN)/vulture

# The documentation site, in docs/_build/html. Every page is read afresh (-E): a warning in a
# page that did not change since the last build still fails it (-W), all of them listed.
$(VENV)/.docs-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test,docs]"
	touch $@

docs: $(VENV)/.docs-installed
	$(BIN)/sphinx-build -E -W --keep-going -b html docs docs/_build/html

# Refresh the message template after changing user-facing strings.
translations: install
	$(BIN)/pybabel extract -F translations/babel.cfg -k _l -k lazy_gettext -k _pp \
		--add-comments=TRANSLATORS: --project=flask-partialpay \
		-o translations/flask_partialpay.pot flask_partialpay

# The benchmark suite (bench/, bench/RESULTS.md): never part of `make test`. PostgreSQL and
# MariaDB come from PARTIALPAY_BENCH_POSTGRES_URL and PARTIALPAY_BENCH_MARIADB_URL, databases
# of their own (their tables are dropped); options in BENCH_ARGS, e.g. BENCH_ARGS=--quick.
# The bench extra adds gunicorn; pgbench (the PostgreSQL baseline) comes with the PostgreSQL
# client, not from pip.
BENCH_ARGS ?=
$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	touch $@

bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench $(BENCH_ARGS)
