"""Which social channels are on: a channel is off until every secret it needs is set."""

from __future__ import annotations

from api.settings import Settings

CHANNELS = ("messenger", "instagram", "whatsapp", "telegram")

REQUIRED_SETTINGS: dict[str, tuple[str, ...]] = {
    "messenger": ("meta_app_secret", "meta_verify_token", "meta_page_token"),
    "instagram": ("meta_app_secret", "meta_verify_token", "meta_page_token"),
    "whatsapp": (
        "meta_app_secret",
        "meta_verify_token",
        "whatsapp_token",
        "whatsapp_phone_number_id",
    ),
    "telegram": ("telegram_bot_token", "telegram_secret_token"),
}


def missing_settings(settings: Settings, channel: str) -> list[str]:
    """The environment variables still to set before `channel` is on (names, never values)."""
    return [
        f"OPSDESK_{name.upper()}"
        for name in REQUIRED_SETTINGS[channel]
        if not str(getattr(settings, name) or "").strip()
    ]


def is_on(settings: Settings, channel: str) -> bool:
    return not missing_settings(settings, channel)


def status_line(settings: Settings, channel: str) -> str:
    missing = missing_settings(settings, channel)
    if not missing:
        return f"channel {channel}: on (webhook /webhooks/{channel})"
    return f"channel {channel}: off, set {', '.join(missing)} to turn it on"
