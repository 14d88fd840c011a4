#!/usr/bin/env bash
# Debian's chromium for the browser tests (tests/browser/, Playwright pointed at
# /usr/bin/chromium). Does nothing when it is already installed; never downloads a browser
# build of its own (`playwright install` is not used).
set -euo pipefail
source "$(dirname "$0")/debian-package.sh"

ensure_debian_package setup-browser /usr/bin/chromium chromium "the browser tests"
/usr/bin/chromium --version 2>/dev/null | grep -v "unexpected operator" || true
