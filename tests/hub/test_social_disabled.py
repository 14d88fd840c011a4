"""A channel whose secrets are not all set is off: its webhook answers 404 channel_disabled
and stores nothing, and the api says at start which settings are missing (names only)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Store, drop_store, new_store, stop_api
from tests.hub.social_support import (
    APP_SECRET,
    PAGE_TOKEN,
    TELEGRAM_TOKEN,
    WHATSAPP_TOKEN,
    Webhooks,
    conversations,
    messenger_text,
    start_api_with,
    telegram_text,
    whatsapp_text,
)

# Some secrets of every channel are set, none completely.
PARTIAL = {
    "OPSDESK_META_APP_SECRET": APP_SECRET,
    "OPSDESK_META_PAGE_TOKEN": PAGE_TOKEN,
    "OPSDESK_WHATSAPP_TOKEN": WHATSAPP_TOKEN,
    "OPSDESK_TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
}


@pytest.fixture(scope="module")
def partly_configured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = new_store("sqlite", tmp_path_factory.mktemp("social-off"))
    start_api_with(store, PARTIAL)
    yield store
    stop_api(store)
    drop_store(store)


def assert_disabled(response: httpx.Response, channel: str) -> None:
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "channel_disabled" and channel in problem["title"]


def test_every_webhook_of_a_channel_that_is_off_answers_404_and_stores_nothing(
    partly_configured: Store,
) -> None:
    hooks = Webhooks(partly_configured.base_url)
    # Correctly signed with the secret that is set: still off, since the others are missing.
    assert_disabled(hooks.meta("messenger", messenger_text("PSID-off", "m_off", "hi")), "messenger")
    assert_disabled(
        hooks.meta("instagram", messenger_text("IG-off", "m_off", "hi", "instagram")), "instagram"
    )
    assert_disabled(hooks.meta("whatsapp", whatsapp_text("1555000", "wamid.off", "hi")), "whatsapp")
    assert_disabled(hooks.telegram(telegram_text(1, 42, "hi")), "telegram")
    for channel in ("messenger", "instagram", "whatsapp"):
        handshake = httpx.get(
            f"{partly_configured.base_url}/webhooks/{channel}",
            params={"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "7"},
        )
        assert_disabled(handshake, channel)
    with partly_configured.client("admin") as client:
        for channel in ("messenger", "instagram", "whatsapp", "telegram"):
            assert conversations(client, channel) == []


def test_the_start_log_names_the_missing_settings_and_no_secret(partly_configured: Store) -> None:
    assert isinstance(partly_configured.log_path, Path)
    log = partly_configured.log_path.read_text()
    assert "channel messenger: off, set OPSDESK_META_VERIFY_TOKEN to turn it on" in log
    assert "channel instagram: off, set OPSDESK_META_VERIFY_TOKEN to turn it on" in log
    assert (
        "channel whatsapp: off, set OPSDESK_META_VERIFY_TOKEN, "
        "OPSDESK_WHATSAPP_PHONE_NUMBER_ID to turn it on" in log
    )
    assert "channel telegram: off, set OPSDESK_TELEGRAM_SECRET_TOKEN to turn it on" in log
    assert log.count("channel messenger:") == 1
    for secret in PARTIAL.values():
        assert secret not in log
