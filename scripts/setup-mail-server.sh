#!/usr/bin/env bash
# Debian's dovecot IMAP server for the email channel's tests (tests/hub/test_email_*.py start
# their own dovecot on a free port with a temporary config and mail directory; the system's
# dovecot service is never used). Does nothing when it is already installed.
set -euo pipefail
source "$(dirname "$0")/debian-package.sh"

ensure_debian_package setup-mail-server /usr/sbin/dovecot dovecot-imapd "the email tests" \
    no-services
/usr/sbin/dovecot --version
