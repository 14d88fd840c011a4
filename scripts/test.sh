#!/usr/bin/env bash
# Every test of OpsDesk. Called by `make test` (which sets up both environments first).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONDONTWRITEBYTECODE=1

echo "== lint and types"
.venv/bin/ruff check api tests bench actions
.venv/bin/mypy

echo "== ops API (SQLite and PostgreSQL)"
.venv/bin/python -m pytest -q -p no:cacheprovider tests/api
