"""Is this webhook call really from the platform? Checked on the raw body, before parsing."""

from __future__ import annotations

import hashlib
import hmac

META_SIGNATURE_PREFIX = "sha256="


def meta_signature_valid(raw_body: bytes, header: str | None, app_secret: str) -> bool:
    """`X-Hub-Signature-256: sha256=<hex>`: the HMAC-SHA256 of the exact bytes received under the
    app secret (Meta signs the body as sent, so it must not be re-serialized first)."""
    if not header or not app_secret or not header.startswith(META_SIGNATURE_PREFIX):
        return False
    expected = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    given = header[len(META_SIGNATURE_PREFIX) :].strip().lower()
    return hmac.compare_digest(expected.encode(), given.encode("ascii", "replace"))


def meta_signature(raw_body: bytes, app_secret: str) -> str:
    """The header value Meta would send for this body (for tests and local tools)."""
    return (
        META_SIGNATURE_PREFIX + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    )


def secret_token_valid(header: str | None, expected: str) -> bool:
    """Telegram's `X-Telegram-Bot-Api-Secret-Token` (and Meta's verify token): equal, in constant
    time; an unset expected value never matches."""
    if not header or not expected:
        return False
    return hmac.compare_digest(header.encode("utf-8", "replace"), expected.encode())
