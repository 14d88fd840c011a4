#!/usr/bin/env bash
# NLU cross-validation (5 folds) of the assistant's training data; writes reports/nlu/
# (Rasa's JSON reports and confusion matrix) and reports/nlu-cross-validation.md (F1 per
# intent and entity). Takes a while: it trains the NLU pipeline five times.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-rasa-venv.sh
source scripts/rasa-env.sh
out=reports/nlu
rm -rf "$out" && mkdir -p "$out"
start=$(date +%s)
.venv-rasa/bin/rasa test nlu --nlu data/nlu --config bot/config.yml --domain bot/domain \
  --cross-validation --folds 5 --out "$out" --quiet
echo "cross-validation took $(( $(date +%s) - start )) s"
.venv/bin/python scripts/nlu_report_summary.py "$out" > reports/nlu-cross-validation.md
cat reports/nlu-cross-validation.md
