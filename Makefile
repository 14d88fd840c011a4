# The two commands a newcomer needs:
#   make up     set everything up and start OpsDesk on its embedded defaults (SQLite)
#   make test   run every test (lint, types, API, actions, assistant, end to end, browsers)
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.opsdesk-installed
# The browser files the storefront serves (package.json: socket.io-client, rasa-webchat).
NODE_STAMP := node_modules/.opsdesk-installed

.PHONY: up test setup bench browser

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e ".[dev]"
	@touch $(STAMP)

# Only the two dist files are served; nothing from npm is built or run (--ignore-scripts).
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for the chat widget's browser files (Node.js 18 or newer)" >&2; exit 1; }
	npm ci --omit=peer --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

setup: $(STAMP) $(NODE_STAMP)
	bash scripts/setup-rasa-venv.sh

# Debian's chromium for the browser tests and dovecot for the email tests (no-ops when
# installed).
browser:
	bash scripts/setup-browser.sh
	bash scripts/setup-mail-server.sh

up: setup
	$(VENV)/bin/opsdesk up

test: setup browser
	bash scripts/test.sh

bench: $(STAMP)
	$(VENV)/bin/opsdesk bench
