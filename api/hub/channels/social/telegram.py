"""Telegram Bot API.

Webhook: an Update (https://core.telegram.org/bots/api#update) with `update_id` and either a
`message` (chat.id, text) or a `callback_query` (an inline keyboard button pressed: id, data,
and the message it was attached to). `update_id` identifies an update across Telegram's
retries, so it is the external id the hub dedupes on.
Send: `POST {api}/bot{token}/sendMessage` with chat_id, text (1-4096 characters after
entity parsing, counted in UTF-16 code units) and reply_markup.inline_keyboard, whose
callback_data is 1-64 bytes (https://core.telegram.org/bots/api#sendmessage,
https://core.telegram.org/bots/api#inlinekeyboardbutton); a pressed button is answered with
answerCallbackQuery so the customer's spinner stops."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from api.hub.channels.social.limits import payload_tokens, split_text, utf16_units
from api.hub.channels.social.meta import CHOOSE_PROMPT
from api.hub.channels.social.sending import PlatformApi, RetryPolicy
from api.hub.messages import InboundMessage, OutboundMessage
from api.settings import Settings

log = logging.getLogger("opsdesk.hub.social")

CHANNEL = "telegram"
TEXT_MAX = 4096
CALLBACK_DATA_MAX = 64


def telegram_throttle_wait(response: httpx.Response) -> tuple[bool, float | None]:
    """Bot API errors carry `parameters.retry_after` on 429 (ResponseParameters)."""
    try:
        retry_after = (response.json().get("parameters") or {}).get("retry_after")
        return False, float(retry_after) if retry_after is not None else None
    except (ValueError, AttributeError, TypeError):
        return False, None


@dataclass(frozen=True)
class TelegramUpdate:
    message: InboundMessage | None
    callback_query_id: str | None = None


def parse_update(update: dict[str, Any]) -> TelegramUpdate:
    update_id = update.get("update_id")
    external_id = str(update_id) if update_id is not None else None
    message = update.get("message")
    if isinstance(message, dict):
        chat_id = (message.get("chat") or {}).get("id")
        text = message.get("text")
        if chat_id is None or not text:
            log.info("telegram: a message without text was not passed on")
            return TelegramUpdate(None)
        return TelegramUpdate(
            InboundMessage(CHANNEL, str(chat_id), str(text), external_id, None, _who(message))
        )
    query = update.get("callback_query")
    if isinstance(query, dict):
        attached = query.get("message") or {}
        chat_id = (attached.get("chat") or {}).get("id") or (query.get("from") or {}).get("id")
        data = query.get("data")
        if chat_id is None or not data:
            return TelegramUpdate(None, query.get("id"))
        title = _button_title(attached, str(data))
        text = payload_tokens.decode(str(data)) or title or ""
        inbound = InboundMessage(CHANNEL, str(chat_id), text, external_id, title, _who(query))
        return TelegramUpdate(inbound, query.get("id"))
    return TelegramUpdate(None)  # edited messages, channel posts, member updates, ...


def _who(message: dict[str, Any]) -> dict[str, Any]:
    person = message.get("from") or {}
    name = " ".join(p for p in (person.get("first_name"), person.get("last_name")) if p)
    return {"name": name} if name else {}


def _button_title(attached: dict[str, Any], data: str) -> str | None:
    keyboard = (attached.get("reply_markup") or {}).get("inline_keyboard") or []
    for row in keyboard:
        for button in row:
            if button.get("callback_data") == data:
                return str(button.get("text") or "") or None
    return None


class TelegramSender:
    def __init__(self, api: PlatformApi, *, api_url: str, bot_token: str) -> None:
        self.api = api
        self._base = f"{api_url.rstrip('/')}/bot{bot_token}"

    def requests(self, message: OutboundMessage) -> list[tuple[str, dict[str, Any]]]:
        """(method, body) pairs for one outbound message, in sending order."""
        texts = split_text(message.text, TEXT_MAX, utf16_units)
        if message.buttons and not texts and not message.image:
            texts = [CHOOSE_PROMPT]
        calls: list[tuple[str, dict[str, Any]]] = [
            ("sendMessage", {"chat_id": message.channel_key, "text": text}) for text in texts
        ]
        if message.image:
            calls.append(("sendPhoto", {"chat_id": message.channel_key, "photo": message.image}))
        if message.buttons and calls:
            calls[-1][1]["reply_markup"] = {
                "inline_keyboard": [
                    [
                        {
                            "text": b.get("title") or b.get("payload") or "",
                            "callback_data": payload_tokens.encode(
                                b.get("payload") or b.get("title") or "", CALLBACK_DATA_MAX
                            ),
                        }
                    ]
                    for b in message.buttons
                ]
            }
        return calls

    async def deliver(self, message: OutboundMessage) -> None:
        for method, body in self.requests(message):
            await self.api.post(f"{self._base}/{method}", body)

    async def answer_callback_query(self, callback_query_id: str) -> None:
        await self.api.post(
            f"{self._base}/answerCallbackQuery", {"callback_query_id": callback_query_id}
        )


def sender(
    settings: Settings, client: httpx.AsyncClient, policy: RetryPolicy | None = None
) -> TelegramSender:
    return TelegramSender(
        PlatformApi(CHANNEL, client, policy=policy, throttled=telegram_throttle_wait),
        api_url=settings.telegram_api_url,
        bot_token=settings.telegram_bot_token,
    )
