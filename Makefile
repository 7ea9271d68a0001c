# Two commands on a fresh machine: `make run` (portal with demo data) and `make test` (all tests).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The lock files (see README "Dependencies"): what the venv holds, and what the image holds.
LOCK := requirements-dev.lock
IMAGE_LOCK := requirements.lock
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
	--custom-compile-command "make lock" --quiet $(LOCK_FLAGS)
# Test processes (pytest-xdist): the fastest on the 2-core machines (README "Tests").
TEST_WORKERS ?= 2

.PHONY: run test test-fast install lock browser messages migration bench clean

# Rebuilt when pyproject.toml or the lock file changes: the venv then holds exactly the locked
# versions (hashes checked; anything else is removed) and the portal itself, editable.
$(BIN)/portal: pyproject.toml $(LOCK)
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found)."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/uv || $(BIN)/pip install --quiet "$$(grep -m1 '^uv==' $(LOCK) | cut -d' ' -f1)"
	$(BIN)/uv pip sync --quiet --python $(BIN)/python $(LOCK)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $(BIN)/portal

install: $(BIN)/portal

## Regenerate the lock files from pyproject.toml, keeping the locked versions that still fit
## (make lock LOCK_FLAGS=--upgrade: the newest versions allowed)
lock: install
	$(UV_COMPILE) --output-file $(IMAGE_LOCK)
	$(UV_COMPILE) --extra test --extra dev --constraint $(IMAGE_LOCK) --output-file $(LOCK)

## Run the portal with demo data on http://127.0.0.1:8000 (another port: make run PORT=8500);
## links in the demo's emails point at the same host and port.
run: export PORTAL_HOST = $(HOST)
run: export PORTAL_PORT = $(PORT)
run: install
	$(BIN)/portal demo
	$(BIN)/portal serve --host $(HOST) --port $(PORT)

## Debian's Chromium for the browser tests (Playwright drives /usr/bin/chromium)
browser:
	@test -x /usr/bin/chromium || { \
		echo "Installing Debian's chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

## Run the whole test suite in parallel (SQLite and in-process stores unless PORTAL_TEST_* are set)
test: install browser
	$(BIN)/pytest -n $(TEST_WORKERS)

## The same without the browser tests (marked `browser`)
test-fast: install
	$(BIN)/pytest -n $(TEST_WORKERS) -m "not browser"

## Extract messages and update the catalogues in portal/translations
messages: install
	mkdir -p portal/translations
	$(BIN)/pybabel extract -F babel.cfg -k N_ -o portal/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations --no-fuzzy-matching --ignore-obsolete

## Create a migration after changing tables: make migration NAME="what changed"
migration: install
	PICCOLO_CONF=portal.piccolo_conf $(BIN)/piccolo migrations new portal --auto --desc "$(NAME)"

## Benchmarks (see bench/README.md)
bench: install
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) var .pytest_cache
