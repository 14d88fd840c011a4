"""What Messenger and Instagram share: the Graph API's `entry[].messaging[]` webhook events and
the Send API (`POST /v{version}/me/messages?access_token=...`).

Webhook events: https://developers.facebook.com/docs/messenger-platform/webhooks and
https://developers.facebook.com/docs/messenger-platform/instagram/features/webhook
Send API and quick replies:
https://developers.facebook.com/docs/messenger-platform/reference/send-api/ and
https://developers.facebook.com/docs/messenger-platform/send-messages/quick-replies/"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from api.hub.channels.social.limits import Measure, fit_title, payload_tokens, split_text
from api.hub.channels.social.sending import PlatformApi
from api.hub.messages import InboundMessage, OutboundMessage

log = logging.getLogger("opsdesk.hub.social")

# Graph API error codes that mean "slow down" whatever the HTTP status (application, user,
# page and per-call rate limits): https://developers.facebook.com/docs/graph-api/overview/rate-limiting
GRAPH_THROTTLE_CODES = frozenset({4, 17, 32, 613, 80001, 80006, 130429, 131048, 131056})

QUICK_REPLY_MAX = 13
QUICK_REPLY_TITLE_MAX = 20
QUICK_REPLY_PAYLOAD_MAX = 1000
# Sent as the text of a message that only offers buttons: the Send API needs a text.
CHOOSE_PROMPT = "Please choose:"

# The webhook's `object` names the product the events are for.
OBJECT_CHANNELS = {"page": "messenger", "instagram": "instagram"}


def graph_throttled(response: httpx.Response) -> tuple[bool, float | None]:
    try:
        error = response.json().get("error") or {}
        return int(error.get("code", 0)) in GRAPH_THROTTLE_CODES, None
    except (ValueError, AttributeError, TypeError):
        return False, None


def parse_messaging(body: dict[str, Any], channel: str) -> list[InboundMessage]:
    """The customer's messages and button presses in one webhook delivery, in order. Echoes
    of our own messages, deliveries, reads, reactions and attachment-only messages are left
    out."""
    messages: list[InboundMessage] = []
    for entry in body.get("entry") or []:
        for event in entry.get("messaging") or []:
            parsed = _parse_event(event, channel)
            if parsed is not None:
                messages.append(parsed)
    return messages


def _parse_event(event: dict[str, Any], channel: str) -> InboundMessage | None:
    sender = str((event.get("sender") or {}).get("id") or "")
    if not sender:
        return None
    metadata: dict[str, Any] = {
        "recipient_id": str((event.get("recipient") or {}).get("id") or ""),
        "timestamp": event.get("timestamp"),
    }
    message = event.get("message")
    if isinstance(message, dict):
        if message.get("is_echo") or message.get("is_deleted") or message.get("is_unsupported"):
            return None
        mid = message.get("mid")
        quick_reply = message.get("quick_reply")
        if isinstance(quick_reply, dict) and quick_reply.get("payload"):
            title = message.get("text") or None
            text = payload_tokens.decode(str(quick_reply["payload"])) or title or ""
            return InboundMessage(channel, sender, text, mid, title, metadata)
        text = message.get("text")
        if not text:
            log.info(
                "%s: a message without text (attachment or sticker) was not passed on", channel
            )
            return None
        return InboundMessage(channel, sender, str(text), mid, None, metadata)
    postback = event.get("postback")
    if isinstance(postback, dict) and postback.get("payload"):
        title = postback.get("title") or None
        text = payload_tokens.decode(str(postback["payload"])) or title or ""
        # Postbacks carry a mid on current API versions; older ones are keyed by their time.
        external_id = postback.get("mid") or f"postback:{sender}:{event.get('timestamp')}"
        return InboundMessage(channel, sender, text, external_id, title, metadata)
    return None  # delivery, read, reaction, referral, optin, ...


@dataclass(frozen=True)
class MetaTextLimits:
    text_max: int
    measure: Measure


class MetaMessagesSender:
    """Delivers to Messenger or Instagram through the Send API, with quick replies for buttons."""

    def __init__(
        self,
        channel: str,
        api: PlatformApi,
        *,
        graph_url: str,
        graph_version: str,
        page_token: str,
        limits: MetaTextLimits,
    ) -> None:
        self.channel = channel
        self.api = api
        self.url = f"{graph_url.rstrip('/')}/v{graph_version.lstrip('v')}/me/messages"
        self._page_token = page_token
        self.limits = limits

    def quick_replies(self, buttons: list[dict[str, str]]) -> list[dict[str, str]]:
        if len(buttons) > QUICK_REPLY_MAX:
            log.warning(
                "%s: %d buttons offered, the first %d sent as quick replies",
                self.channel,
                len(buttons),
                QUICK_REPLY_MAX,
            )
        return [
            {
                "content_type": "text",
                "title": fit_title(b.get("title") or b["payload"], QUICK_REPLY_TITLE_MAX),
                "payload": payload_tokens.encode(
                    b.get("payload") or b.get("title") or "", QUICK_REPLY_PAYLOAD_MAX
                ),
            }
            for b in buttons[:QUICK_REPLY_MAX]
        ]

    def requests(self, message: OutboundMessage) -> list[dict[str, Any]]:
        """The Send API bodies for one outbound message, in sending order."""
        quick_replies = self.quick_replies(message.buttons) if message.buttons else []
        texts = split_text(message.text, self.limits.text_max, self.limits.measure)
        if quick_replies and not texts and not message.image:
            texts = [CHOOSE_PROMPT]
        bodies: list[dict[str, Any]] = [{"text": text} for text in texts]
        if message.image:
            bodies.append({"attachment": {"type": "image", "payload": {"url": message.image}}})
        if quick_replies and bodies:
            bodies[-1]["quick_replies"] = quick_replies
        return [
            {
                "recipient": {"id": message.channel_key},
                "messaging_type": "RESPONSE",
                "message": body,
            }
            for body in bodies
        ]

    async def deliver(self, message: OutboundMessage) -> None:
        for body in self.requests(message):
            await self.api.post(self.url, body, params={"access_token": self._page_token})
