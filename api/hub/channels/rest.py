"""Rasa's REST channel on the api: the same request and answer as Rasa's
`/webhooks/rest/webhook`, so any Rasa REST client works against the hub.

The client's `sender` is the channel key of the conversation; the assistant sees the hub's
own conversation id instead. The answer holds every message waiting for this customer: the
assistant's replies to this message and a person's replies written since the last request
(REST cannot push, so they ride along with the next answer)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.errors import json_response
from api.hub import get_hub
from api.hub.messages import InboundMessage
from api.ops.conversations.models import Message
from api.rasa_profile import LOCK_LIFETIME_SECONDS
from api.settings import get_settings

CHANNEL = "rest"
router = APIRouter(tags=["channels"])


class RestMessage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"sender": "me", "message": "where is my order #10001? jane.doe@example.com"}
            ]
        }
    )
    sender: str = Field(default="default", min_length=1, max_length=200)
    message: str = Field(default="", max_length=4000)
    metadata: dict[str, Any] | None = None


class RestReply(BaseModel):
    recipient_id: str
    text: str | None = None
    buttons: list[dict[str, str]] | None = None
    image: str | None = None
    custom: dict[str, Any] | None = None


def rest_reply(recipient_id: str, message: Message) -> dict[str, Any]:
    """One stored outbound message in the shape of Rasa's REST channel."""
    reply: dict[str, Any] = {"recipient_id": recipient_id}
    payload = message.payload or {}
    if message.text:
        reply["text"] = message.text
    if payload.get("buttons"):
        reply["buttons"] = payload["buttons"]
    if payload.get("image"):
        reply["image"] = payload["image"]
    if payload.get("custom"):
        reply["custom"] = payload["custom"]
    return reply


@router.post("/webhooks/rest/webhook", response_model=list[RestReply])
async def rest_webhook(body: RestMessage) -> Any:
    """Send the customer's message; the answer is the list of messages for them."""
    metadata = body.metadata or {}
    name = metadata.get("customer_name")
    _conversation_id, replies = await get_hub().converse(
        InboundMessage(
            channel=CHANNEL,
            channel_key=body.sender,
            text=body.message,
            metadata={"customer_name": str(name)[:120]} if name else {},
        ),
        # a wait for a free slot to Rasa, a first server that dies mid-turn, then the next
        # after the dead one's lock lapses
        timeout=get_settings().rasa_timeout_seconds * 3 + LOCK_LIFETIME_SECONDS + 5,
    )
    return json_response([rest_reply(body.sender, m) for m in replies])
