# Fulfillmen Privacy Portal. `make run` to try it, `make test` to prove it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1:8000

# Quick-start defaults for `make run` (SQLite, tasks in-process, email to the console).
RUN_ENV := DEBUG=true

# The test suite runs on PostgreSQL and Redis over real connections.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/fulfillmen
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: install run test check bench bench-history screenshots services migrate lock clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

migrate: install
	@# The public consent log's development signing key, written on first start unless LOG_SIGNING_KEY is set.
	$(RUN_ENV) $(PY) manage.py log_signing_key --dev
	$(RUN_ENV) $(PY) manage.py migrate --no-input

run: migrate
	$(RUN_ENV) $(PY) manage.py seed_demo $(if $(DEMO_PASSWORD),--password $(DEMO_PASSWORD))
	@# A checkpoint of what the seed wrote; with no worker here, `manage.py publish_checkpoint` publishes later ones.
	$(RUN_ENV) $(PY) manage.py publish_checkpoint
	@echo "Serving the portal at http://$(HOST)/  (admin: http://$(HOST)/admin/)"
	$(RUN_ENV) $(PY) manage.py runserver $(HOST)

services:
	@scripts/services.sh

test: install services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest $(PYTEST_ARGS)

# Static checks (issue #10): ruff, bandit on the apps, pip-audit on requirements.lock (see scripts/check-code.sh).
check: install
	scripts/check-code.sh

# The screenshots of docs/design.md (docs/screenshots), taken by the browser test that checks them.
screenshots: install services
	SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(PY) -m pytest -p no:cacheprovider tests/browser/test_screenshots.py

# Benchmarks (issue #9): each builds its own database on the PostgreSQL and Redis above, prints a table and writes
# bench/results.json. BENCH_ARGS="--quick" for small N, "--only affiliate_sync" for one of them.
bench: install services
	$(PY) -m bench.run $(BENCH_ARGS)

# The long-history benchmark alone (issue #20): 1M clients, 20M sharing records, 5M ledger events built by COPY, then
# pages, export, verify_ledger, affiliate sync and bytes on disk. BENCH_HISTORY_SCALE=0.01 for 1 % of that.
bench-history: install services
	$(if $(BENCH_HISTORY_SCALE),BENCH_HISTORY_SCALE=$(BENCH_HISTORY_SCALE)) $(PY) -m bench.run --only history $(BENCH_ARGS)

# Re-resolve the pinned versions after changing pyproject.toml.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv && .lockenv/bin/pip install --quiet -e '.[dev]'
	.lockenv/bin/pip freeze --exclude-editable | grep -v '^fulfillmen-privacy-portal' > requirements.lock
	rm -rf .lockenv

clean:
	rm -rf $(VENV) var/*.sqlite3 .pytest_cache
