#!/usr/bin/env bash
# Every test of OpsDesk. Called by `make test`, which sets up both environments first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONDONTWRITEBYTECODE=1
source scripts/rasa-env.sh

echo "== lint and types"
.venv/bin/ruff check api actions opsdesk_ids bot tests bench scripts
.venv/bin/mypy

# Two workers: most of these tests wait on an api process or a database, not on the CPU.
echo "== ops API, conversation hub, social and email channels and agent console, on SQLite and PostgreSQL"
.venv/bin/python -m pytest -q -p no:cacheprovider -n 2 tests/api tests/hub/test_hub_*.py \
  tests/test_ids.py tests/test_nlu_sets.py tests/test_form_rules.py tests/test_setup_scripts.py \
  tests/hub/test_known_customer.py tests/hub/test_social_parsing.py tests/hub/test_social_limits.py \
  tests/hub/test_social_senders.py tests/hub/test_social_webhooks.py \
  tests/hub/test_social_disabled.py tests/hub/test_email_*.py tests/console

echo "== assistant: training data"
.venv/bin/python scripts/form_rules.py --check
.venv-rasa/bin/pip install -q -r requirements/rasa-test.txt 2> >(grep -v "is ignored" >&2)
.venv-rasa/bin/rasa data validate --domain bot/domain --config bot/config.yml \
  --data data/nlu data/rules data/stories --fail-on-warnings

echo "== actions against the real ops API"
.venv-rasa/bin/python -m pytest -q -p no:cacheprovider tests/actions

echo "== assistant: train (when the data changed) and the test conversations"
.venv/bin/opsdesk train
mkdir -p var/results
.venv-rasa/bin/rasa test core --model models/opsdesk.tar.gz --stories tests/bot \
  --fail-on-prediction-errors --out var/results/core --quiet

echo "== end to end: api, actions and rasa with the trained model"
.venv/bin/python -m pytest -q -p no:cacheprovider tests/e2e
.venv/bin/python -m pytest -q -p no:cacheprovider tests/hub/test_social_rasa.py

echo "== past one process: two replicas on PostgreSQL, Redis and RabbitMQ, then one killed"
.venv/bin/python -m pytest -q -p no:cacheprovider tests/scale

echo "== browsers: the storefront chat widget, rasa-webchat and the agent console in Debian's chromium"
.venv/bin/python -m pytest -q -p no:cacheprovider tests/browser
