#!/usr/bin/env bash
# How well the assistant understands customers, on two sets:
#   1. the outside-voice sets (tests/nlu/outside_voice*.yml: messages written apart from
#      the training data, never trained on), scored on a model trained on all of data/nlu;
#   2. 5-fold cross-validation of data/nlu (held-out folds of the training data).
# Writes reports/nlu-outside/ and reports/nlu/ (Rasa's JSON reports and confusion matrices)
# and reports/nlu-report.md (F1 per intent and entity, out-of-scope recall, timings).
# Takes a while: it trains the NLU pipeline six times. `--outside-only` skips step 2.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-rasa-venv.sh
source scripts/rasa-env.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

outside=reports/nlu-outside
rm -rf "$outside" && mkdir -p "$outside"
start=$(date +%s)
.venv-rasa/bin/rasa train nlu --nlu data/nlu --config bot/config.yml --domain bot/domain \
  --out "$work" --fixed-model-name nlu-only --quiet
train_seconds=$(( $(date +%s) - start ))
mkdir "$work/outside" && cp tests/nlu/outside_voice*.yml "$work/outside/"
.venv-rasa/bin/rasa test nlu --model "$work/nlu-only.tar.gz" --nlu "$work/outside" \
  --domain bot/domain --out "$outside" --quiet
echo "NLU training took $train_seconds s"

cv_seconds=""
if [ "${1:-}" != "--outside-only" ]; then
  out=reports/nlu
  rm -rf "$out" && mkdir -p "$out"
  start=$(date +%s)
  .venv-rasa/bin/rasa test nlu --nlu data/nlu --config bot/config.yml --domain bot/domain \
    --cross-validation --folds 5 --out "$out" --quiet
  cv_seconds=$(( $(date +%s) - start ))
  echo "cross-validation took $cv_seconds s"
fi
.venv/bin/python scripts/nlu_report_summary.py --outside "$outside" \
  --train-seconds "$train_seconds" ${cv_seconds:+--cv reports/nlu --cv-seconds "$cv_seconds"} \
  > reports/nlu-report.md
cat reports/nlu-report.md
