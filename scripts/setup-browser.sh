#!/usr/bin/env bash
# Debian's chromium for the browser tests (tests/browser/, Playwright pointed at
# /usr/bin/chromium). Does nothing when it is already installed; never downloads a browser
# build of its own (`playwright install` is not used).
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    echo "setup-browser: $CHROMIUM is installed"
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "setup-browser: the browser tests need Debian's chromium: sudo apt-get install -y chromium" >&2
    exit 1
fi
echo "setup-browser: installing chromium from Debian's packages ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
"$CHROMIUM" --version 2>/dev/null | grep -v "unexpected operator" || true
