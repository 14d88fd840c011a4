#!/usr/bin/env bash
# Debian's dovecot IMAP server for the email channel's tests (tests/hub/test_email_*.py start
# their own dovecot on a free port with a temporary config and mail directory; the system's
# dovecot service is never used). Does nothing when it is already installed.
set -euo pipefail

DOVECOT=/usr/sbin/dovecot

if [ -x "$DOVECOT" ]; then
    echo "setup-mail-server: $DOVECOT is installed"
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "setup-mail-server: the email tests need Debian's dovecot: sudo apt-get install -y dovecot-imapd" >&2
    exit 1
fi
echo "setup-mail-server: installing dovecot-imapd from Debian's packages ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# policy-rc.d keeps the package from starting a system-wide dovecot: the tests start their own.
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$POLICY" && chmod +x "$POLICY"
    trap 'rm -f "$POLICY"' EXIT
fi
apt-get install -y -qq dovecot-imapd >/dev/null
"$DOVECOT" --version
