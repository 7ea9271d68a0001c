# Two commands on a fresh machine: `make run` (portal with demo data) and `make test` (all tests).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install browser messages migration bench clean

$(BIN)/portal: pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $(BIN)/portal

install: $(BIN)/portal

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

## Run the whole test suite (SQLite and in-process stores unless PORTAL_TEST_* are set)
test: install browser
	$(BIN)/pytest

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
