# The two commands a newcomer needs:
#   make up     set everything up and start OpsDesk on its embedded defaults (SQLite)
#   make test   run every test (lint, types, API, actions, assistant, end to end)
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.opsdesk-installed

.PHONY: up test setup bench

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)
	bash scripts/setup-rasa-venv.sh

up: setup
	$(VENV)/bin/opsdesk up

test: setup
	bash scripts/test.sh

bench: $(STAMP)
	$(VENV)/bin/opsdesk bench
