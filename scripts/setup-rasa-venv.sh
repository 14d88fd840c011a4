#!/usr/bin/env bash
# Create or update the Rasa assistant's venv (.venv-rasa at the repo root) from
# requirements/rasa.lock, then add rasa 3.6.21 and rasa-sdk 3.6.2 with --no-deps
# (both declare Requires-Python <3.11 but run on 3.11; see requirements/rasa.in).
#
# Idempotent: a stamp file in the venv holds the sha256 of rasa.lock + this script; when
# it matches, the script prints one line and exits 0 at once. Runs from any cwd, needs
# no terminal (CI=true is fine).
set -euo pipefail

RASA_VERSION=3.6.21
RASA_SDK_VERSION=3.6.2

SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
ROOT="$(cd "$(dirname "$SELF")/.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv-rasa"
LOCK="$ROOT/requirements/rasa.lock"
STAMP="$VENV/.opsdesk-lock-sha256"
PY="$VENV/bin/python"

want="$(cat "$LOCK" "$SELF" | sha256sum | cut -d' ' -f1)"

venv_ok() { [ -x "$PY" ] && "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; }

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && venv_ok; then
    echo "setup-rasa-venv: .venv-rasa is up to date (rasa $RASA_VERSION, lock ${want:0:12})"
    exit 0
fi

# One install at a time (two shells or a CI step racing a developer).
if command -v flock >/dev/null 2>&1; then
    exec 9<"$SELF"
    flock 9
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_PROGRESS_BAR=off

pip_q() {
    # -q keeps pip quiet; the grep drops pip's warnings about optional local index
    # folders (named in some machines' pip config) that do not exist. Errors still show,
    # and pipefail still fails the script when pip fails.
    "$PY" -m pip -q "$@" 2>&1 \
        | { grep -v -e 'is ignored: it is neither a file nor a directory' || true; }
}

if ! venv_ok; then
    base=""
    for cand in python3.11 python3; do
        if command -v "$cand" >/dev/null 2>&1 \
            && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            base="$cand"
            break
        fi
    done
    if [ -z "$base" ]; then
        echo "setup-rasa-venv: need Python 3.11 (python3.11 or python3); rasa.lock is pinned for it" >&2
        exit 1
    fi
    echo "setup-rasa-venv: creating .venv-rasa with $base ($("$base" --version 2>&1))"
    # --clear also repairs a half-made or broken venv left at the same path.
    "$base" -m venv --clear "$VENV"
else
    echo "setup-rasa-venv: lock or script changed, updating existing .venv-rasa"
fi

rm -f "$STAMP"   # an interrupted install must not look finished
start=$SECONDS
echo "setup-rasa-venv: installing requirements/rasa.lock (first time: a few minutes, ~2.7 GB)"
pip_q install -r "$LOCK"
echo "setup-rasa-venv: installing rasa==$RASA_VERSION rasa-sdk==$RASA_SDK_VERSION (--no-deps)"
pip_q install --no-deps --ignore-requires-python \
    "rasa==$RASA_VERSION" "rasa-sdk==$RASA_SDK_VERSION"

"$PY" - "$RASA_VERSION" "$RASA_SDK_VERSION" <<'EOF'
import sys
from importlib.metadata import version
got = (version("rasa"), version("rasa-sdk"))
if got != tuple(sys.argv[1:3]):
    sys.exit(f"setup-rasa-venv: expected rasa/rasa-sdk {sys.argv[1:3]}, got {got}")
EOF

echo "$want" > "$STAMP"
echo "setup-rasa-venv: done in $((SECONDS - start)) s"
