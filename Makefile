# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# Tests always run on PostgreSQL and Redis (the local services at 127.0.0.1 by default).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/dailies
TEST_BROKER_URL ?= redis://127.0.0.1:6379/15
# pytest-xdist processes: each gets its own test database, Celery queues, cache prefix, live
# server and browser (tests/conftest.py). TEST_WORKERS=0 runs in this process (pdb, -s).
TEST_WORKERS ?= 2

.PHONY: demo install test lint bench

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when the dependencies change.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

demo: install
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	DEBUG=1 $(PY) manage.py runserver 127.0.0.1:$(PORT)

test: install
	SECRET_KEY=test-only-secret \
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)} \
	$(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

bench: install
	$(PY) -m bench $(BENCH_ARGS)
