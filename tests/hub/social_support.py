"""What the social channel tests share: the channel settings pointing at the fake platforms,
an api process started with them, signed webhook calls, and reading conversations through
the ops API (as an admin would)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from api.hub.channels.social.signatures import meta_signature
from tests.conftest import Store, start_api
from tests.fakes.platforms import FakePlatforms

APP_SECRET = "meta-app-secret-for-tests-7f3a"
VERIFY_TOKEN = "verify-token-for-tests-51c2"
PAGE_TOKEN = "meta-page-token-for-tests-9d1e"
WHATSAPP_TOKEN = "whatsapp-token-for-tests-2b8c"
PHONE_NUMBER_ID = "109876543210"
TELEGRAM_TOKEN = "123456:telegram-bot-token-for-tests"
TELEGRAM_SECRET = "telegram-secret-for-tests-4e6f"
SECRETS = (APP_SECRET, VERIFY_TOKEN, PAGE_TOKEN, WHATSAPP_TOKEN, TELEGRAM_TOKEN, TELEGRAM_SECRET)


def new_fake() -> FakePlatforms:
    return FakePlatforms(
        page_token=PAGE_TOKEN,
        whatsapp_token=WHATSAPP_TOKEN,
        phone_number_id=PHONE_NUMBER_ID,
        telegram_token=TELEGRAM_TOKEN,
    ).start()


def channel_env(platform_url: str) -> dict[str, str]:
    """Every social channel on, sending to `platform_url` instead of the platforms."""
    return {
        "OPSDESK_META_APP_SECRET": APP_SECRET,
        "OPSDESK_META_VERIFY_TOKEN": VERIFY_TOKEN,
        "OPSDESK_META_PAGE_TOKEN": PAGE_TOKEN,
        "OPSDESK_META_GRAPH_URL": platform_url,
        "OPSDESK_WHATSAPP_TOKEN": WHATSAPP_TOKEN,
        "OPSDESK_WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "OPSDESK_TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "OPSDESK_TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
        "OPSDESK_TELEGRAM_API_URL": platform_url,
    }


def start_api_with(store: Store, extra_env: dict[str, str]) -> None:
    """tests.conftest.start_api, with more settings in the api's environment."""
    start_api(store, extra_env, timeout=30)


def raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass
class Webhooks:
    """Calls the api's webhooks the way the platforms do."""

    base_url: str

    def meta(
        self, channel: str, body: dict[str, Any] | bytes, signature: str | None = "valid"
    ) -> httpx.Response:
        content = body if isinstance(body, bytes) else raw(body)
        headers = {"Content-Type": "application/json"}
        if signature == "valid":
            headers["X-Hub-Signature-256"] = meta_signature(content, APP_SECRET)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        return httpx.post(
            f"{self.base_url}/webhooks/{channel}", content=content, headers=headers, timeout=10
        )

    def telegram(
        self, update: dict[str, Any], secret: str | None = TELEGRAM_SECRET
    ) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        return httpx.post(
            f"{self.base_url}/webhooks/telegram", content=raw(update), headers=headers, timeout=10
        )


# -- the platforms' documented webhook bodies ---------------------------------------------


def messenger_text(psid: str, mid: str, text: str, object_: str = "page") -> dict[str, Any]:
    return {
        "object": object_,
        "entry": [
            {
                "id": "PAGE-ID",
                "time": 1700000000000,
                "messaging": [
                    {
                        "sender": {"id": psid},
                        "recipient": {"id": "PAGE-ID"},
                        "timestamp": 1700000000000,
                        "message": {"mid": mid, "text": text},
                    }
                ],
            }
        ],
    }


def messenger_quick_reply(
    psid: str, mid: str, title: str, payload: str, object_: str = "page"
) -> dict[str, Any]:
    body = messenger_text(psid, mid, title, object_)
    body["entry"][0]["messaging"][0]["message"]["quick_reply"] = {"payload": payload}
    return body


def whatsapp_message(wa_id: str, message: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA-ID",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550001111",
                                "phone_number_id": PHONE_NUMBER_ID,
                            },
                            "contacts": [{"profile": {"name": "Jane Doe"}, "wa_id": wa_id}],
                            "messages": [{"from": wa_id, "timestamp": "1700000000", **message}],
                        },
                    }
                ],
            }
        ],
    }


def whatsapp_text(wa_id: str, wamid: str, text: str) -> dict[str, Any]:
    return whatsapp_message(wa_id, {"id": wamid, "type": "text", "text": {"body": text}})


def whatsapp_button_reply(wa_id: str, wamid: str, reply_id: str, title: str) -> dict[str, Any]:
    interactive = {"type": "button_reply", "button_reply": {"id": reply_id, "title": title}}
    return whatsapp_message(wa_id, {"id": wamid, "type": "interactive", "interactive": interactive})


def telegram_text(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id % 100000,
            "from": {"id": chat_id, "is_bot": False, "first_name": "Jane", "language_code": "en"},
            "chat": {"id": chat_id, "first_name": "Jane", "type": "private"},
            "date": 1700000000,
            "text": text,
        },
    }


def telegram_button(update_id: int, chat_id: int, title: str, data: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cbq-{update_id}",
            "from": {"id": chat_id, "is_bot": False, "first_name": "Jane"},
            "chat_instance": "-1",
            "data": data,
            "message": {
                "message_id": 77,
                "from": {"id": 1, "is_bot": True, "first_name": "Fernhill"},
                "chat": {"id": chat_id, "type": "private"},
                "date": 1700000000,
                "text": "Choose:",
                "reply_markup": {"inline_keyboard": [[{"text": title, "callback_data": data}]]},
            },
        },
    }


# -- reading what the hub stored, through the ops API -------------------------------------


def wait_until(what: str, check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


def conversations(client: httpx.Client, channel: str) -> list[dict[str, Any]]:
    r = client.get("/api/v1/conversations", params={"channel": channel, "limit": 200})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def conversation_of(client: httpx.Client, channel: str, key: str) -> dict[str, Any] | None:
    found = [c for c in conversations(client, channel) if c["channel_key"] == key]
    return found[0] if found else None


def transcript(client: httpx.Client, conversation_id: str) -> list[dict[str, Any]]:
    r = client.get(f"/api/v1/conversations/{conversation_id}/messages", params={"limit": 500})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])
