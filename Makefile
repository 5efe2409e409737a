# The one entry point a newcomer needs: make run, make test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/paydesk

.PHONY: help install run test lint format typecheck messages lock clean bench

help:
	@echo "make run        start the portal, a Celery worker, beat and the sandbox acquirer at http://localhost:8000"
	@echo "make test       run the whole suite on PostgreSQL"
	@echo "make lint       ruff and mypy"
	@echo "make bench      benchmark POST /api/v1/payments under gunicorn (docs/benchmarks.md)"
	@echo "make messages   extract and compile the English and Chinese catalogues"

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: $(BIN)/uv pyproject.toml uv.lock
	$(BIN)/uv sync --frozen --inexact --quiet
	touch $@

install: $(VENV)/.installed

# config.run migrates, loads the demo data, then runs runserver, a Celery worker and beat;
# Ctrl-C stops all of them. DATABASE_URL / CELERY_BROKER_URL switch to PostgreSQL / Redis.
run: install
	DJANGO_SETTINGS_MODULE="$${DJANGO_SETTINGS_MODULE:-config.settings.local}" $(BIN)/python -m config.run

test: install
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" $(BIN)/python -m tests.check_database
	DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" $(BIN)/pytest --create-db

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

messages: install
	$(BIN)/python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=var --ignore=test-artifacts --ignore=tests --ignore=bench --no-obsolete
	$(BIN)/python manage.py compilemessages -l zh_Hans --ignore=.venv

# Prints figures, asserts nothing; needs PostgreSQL, Redis and wrk (apt-get install wrk).
# BENCH_ARGS passes options, e.g. make bench BENCH_ARGS="--rounds 3 --markdown".
bench: install
	$(BIN)/python -m bench.payments_create $(BENCH_ARGS)

lock: $(BIN)/uv
	$(BIN)/uv lock

clean:
	rm -rf $(VENV) var
