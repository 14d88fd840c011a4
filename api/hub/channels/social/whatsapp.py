"""WhatsApp Cloud API.

Webhook: `entry[].changes[].value.messages[]` (text, interactive button_reply / list_reply,
template quick-reply `button`); `statuses[]` are delivery receipts and are left out.
https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples
Send: `POST /v{version}/{phone-number-id}/messages` with a Bearer token; text bodies up to
4,096 characters; reply buttons (at most 3, titles up to 20 characters, body up to 1,024) and
list messages (at most 10 rows, row titles up to 24 characters) for more choices.
https://developers.facebook.com/docs/whatsapp/cloud-api/messages/text-messages
https://developers.facebook.com/docs/whatsapp/cloud-api/messages/interactive-reply-buttons-messages
https://developers.facebook.com/docs/whatsapp/cloud-api/messages/interactive-list-messages"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from api.hub.channels.social.limits import fit_title, payload_tokens, split_text
from api.hub.channels.social.meta import CHOOSE_PROMPT, graph_throttled
from api.hub.channels.social.sending import PlatformApi, RetryPolicy
from api.hub.messages import InboundMessage, OutboundMessage
from api.settings import Settings

log = logging.getLogger("opsdesk.hub.social")

CHANNEL = "whatsapp"
TEXT_MAX = 4096
INTERACTIVE_BODY_MAX = 1024
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
LIST_ROWS_MAX = 10
LIST_ROW_TITLE_MAX = 24
LIST_ROW_ID_MAX = 200
LIST_BUTTON_LABEL = "Choose"
LIST_MORE_PROMPT = "More options:"


def parse_webhook(body: dict[str, Any], our_number_id: str | None = None) -> list[InboundMessage]:
    """The customers' messages and button presses in one webhook delivery, in order. With
    `our_number_id`, messages to another number of the same business account are left out:
    the replies would come from ours."""
    messages: list[InboundMessage] = []
    for entry in body.get("entry") or []:
        for change in entry.get("changes") or []:
            if change.get("field", "messages") != "messages":
                continue
            value = change.get("value") or {}
            names = {
                str(c.get("wa_id")): (c.get("profile") or {}).get("name")
                for c in value.get("contacts") or []
            }
            phone_number_id = (value.get("metadata") or {}).get("phone_number_id")
            if our_number_id and phone_number_id and str(phone_number_id) != our_number_id:
                log.info("whatsapp: messages to another phone number id were left out")
                continue
            for message in value.get("messages") or []:
                parsed = _parse_message(message, names, phone_number_id)
                if parsed is not None:
                    messages.append(parsed)
    return messages


def _parse_message(
    message: dict[str, Any], names: dict[str, Any], phone_number_id: str | None
) -> InboundMessage | None:
    sender = str(message.get("from") or "")
    wamid = message.get("id")
    if not sender or not wamid:
        return None
    metadata: dict[str, Any] = {"timestamp": message.get("timestamp")}
    if names.get(sender):
        metadata["name"] = names[sender]
    if phone_number_id:
        metadata["phone_number_id"] = phone_number_id
    kind = message.get("type")
    if kind == "text":
        text = (message.get("text") or {}).get("body")
        return InboundMessage(CHANNEL, sender, str(text), wamid, None, metadata) if text else None
    if kind == "interactive":
        interactive = message.get("interactive") or {}
        reply = interactive.get(interactive.get("type") or "") or {}
        if interactive.get("type") in ("button_reply", "list_reply") and reply.get("id"):
            title = reply.get("title") or None
            text = payload_tokens.decode(str(reply["id"])) or title or ""
            return InboundMessage(CHANNEL, sender, text, wamid, title, metadata)
        return None
    if kind == "button":  # a quick-reply button of a template message
        button = message.get("button") or {}
        title = button.get("text") or None
        text = button.get("payload") or title
        return InboundMessage(CHANNEL, sender, str(text), wamid, title, metadata) if text else None
    log.info("whatsapp: a %s message was not passed on", kind)
    return None


class WhatsAppSender:
    def __init__(
        self,
        api: PlatformApi,
        *,
        graph_url: str,
        graph_version: str,
        phone_number_id: str,
        token: str,
    ) -> None:
        self.api = api
        base = graph_url.rstrip("/")
        self.url = f"{base}/v{graph_version.lstrip('v')}/{phone_number_id}/messages"
        self._token = token

    def requests(self, message: OutboundMessage) -> list[dict[str, Any]]:
        """The Cloud API bodies for one outbound message, in sending order."""
        texts = split_text(message.text, TEXT_MAX)
        bodies: list[dict[str, Any]] = []
        interactive: list[dict[str, Any]] = []
        if message.buttons:
            # The buttons ride on the last text, whose room is the interactive body's.
            last = texts.pop() if texts else CHOOSE_PROMPT
            pieces = split_text(last, INTERACTIVE_BODY_MAX)
            texts.extend(pieces[:-1])
            interactive = self._interactive(pieces[-1], message.buttons)
        bodies.extend(
            {"type": "text", "text": {"preview_url": "http" in text, "body": text}}
            for text in texts
        )
        if message.image:
            bodies.append({"type": "image", "image": {"link": message.image}})
        bodies.extend({"type": "interactive", "interactive": i} for i in interactive)
        return [
            {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": message.channel_key,
                **body,
            }
            for body in bodies
        ]

    @staticmethod
    def _interactive(body_text: str, buttons: list[dict[str, str]]) -> list[dict[str, Any]]:
        def payload(button: dict[str, str]) -> str:
            return button.get("payload") or button.get("title") or ""

        def title(button: dict[str, str], limit: int) -> str:
            return fit_title(button.get("title") or payload(button), limit)

        if len(buttons) <= BUTTONS_MAX:
            return [
                {
                    "type": "button",
                    "body": {"text": body_text},
                    "action": {
                        "buttons": [
                            {
                                "type": "reply",
                                "reply": {
                                    "id": payload_tokens.encode(payload(b), BUTTON_ID_MAX),
                                    "title": title(b, BUTTON_TITLE_MAX),
                                },
                            }
                            for b in buttons
                        ]
                    },
                }
            ]
        lists = []
        for start in range(0, len(buttons), LIST_ROWS_MAX):
            rows = [
                {
                    "id": payload_tokens.encode(payload(b), LIST_ROW_ID_MAX),
                    "title": title(b, LIST_ROW_TITLE_MAX),
                }
                for b in buttons[start : start + LIST_ROWS_MAX]
            ]
            lists.append(
                {
                    "type": "list",
                    "body": {"text": body_text if start == 0 else LIST_MORE_PROMPT},
                    "action": {
                        "button": LIST_BUTTON_LABEL,
                        "sections": [{"title": "Options", "rows": rows}],
                    },
                }
            )
        return lists

    async def deliver(self, message: OutboundMessage) -> None:
        headers = {"Authorization": f"Bearer {self._token}"}
        for body in self.requests(message):
            await self.api.post(self.url, body, headers=headers)


def sender(
    settings: Settings, client: httpx.AsyncClient, policy: RetryPolicy | None = None
) -> WhatsAppSender:
    return WhatsAppSender(
        PlatformApi(CHANNEL, client, policy=policy, throttled=graph_throttled),
        graph_url=settings.meta_graph_url,
        graph_version=settings.meta_graph_version,
        phone_number_id=settings.whatsapp_phone_number_id,
        token=settings.whatsapp_token,
    )
