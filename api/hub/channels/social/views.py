"""The platforms' webhooks (`/webhooks/messenger|instagram|whatsapp|telegram`) and, at start,
the senders of the channels that are on.

Every POST is checked against the platform's signature or secret on the raw bytes before the
body is parsed or anything is stored. The hub stores each message and answers in the
background, so the platform gets its 200 at once (they retry slow webhooks, and the hub
processes a replayed message id once)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from api.errors import ApiError, problem
from api.hub import get_hub
from api.hub.channels.social import instagram, messenger, telegram, whatsapp
from api.hub.channels.social.meta import OBJECT_CHANNELS, parse_messaging
from api.hub.channels.social.signatures import meta_signature_valid, secret_token_valid
from api.hub.channels.social.switches import CHANNELS, is_on, status_line
from api.hub.messages import InboundMessage
from api.settings import get_settings

log = logging.getLogger("opsdesk.hub.social")

SEND_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class SocialRuntime:
    """What the webhooks need besides the hub: the Telegram sender (to answer button presses)
    and the background tasks doing that."""

    def __init__(self) -> None:
        self.client: httpx.AsyncClient | None = None
        self.telegram: telegram.TelegramSender | None = None
        self.tasks: set[asyncio.Task[Any]] = set()


runtime = SocialRuntime()


@asynccontextmanager
async def social_channels(_app: FastAPI) -> AsyncIterator[None]:
    """Say which channels are on, and register the senders of those that are."""
    settings = get_settings()
    client = httpx.AsyncClient(timeout=SEND_TIMEOUT)
    runtime.client = client
    hub = get_hub()
    for channel in CHANNELS:
        log.info(status_line(settings, channel))
        if not is_on(settings, channel):
            continue
        if channel == "messenger":
            hub.register_sender(channel, messenger.sender(settings, client))
        elif channel == "instagram":
            hub.register_sender(channel, instagram.sender(settings, client))
        elif channel == "whatsapp":
            hub.register_sender(channel, whatsapp.sender(settings, client))
        else:
            runtime.telegram = telegram.sender(settings, client)
            hub.register_sender(channel, runtime.telegram)
    try:
        yield
    finally:
        for task in list(runtime.tasks):
            task.cancel()
        await asyncio.gather(*runtime.tasks, return_exceptions=True)
        runtime.telegram = None
        runtime.client = None
        await client.aclose()


router = APIRouter(tags=["social webhooks"], lifespan=social_channels)


def _require_on(channel: str) -> None:
    if not is_on(get_settings(), channel):
        raise ApiError(
            404,
            "channel_disabled",
            f"The {channel} channel is off",
            "Its secrets are not configured on this server.",
        )


def _forbidden(reason: str) -> JSONResponse:
    return problem(403, "invalid_signature", reason)


async def _hand_to_hub(messages: list[InboundMessage]) -> None:
    hub = get_hub()
    for message in messages:
        await hub.receive(message)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, "malformed_json", "The request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "malformed_json", "The request body is not a JSON object")
    return body


# -- Meta: Messenger, Instagram, WhatsApp --------------------------------------------------


def _verification(channel: str, request: Request) -> Response:
    """Meta's subscription handshake: echo hub.challenge when hub.verify_token is ours."""
    _require_on(channel)
    query = request.query_params
    if query.get("hub.mode") == "subscribe" and secret_token_valid(
        query.get("hub.verify_token"), get_settings().meta_verify_token
    ):
        return PlainTextResponse(query.get("hub.challenge", ""))
    return _forbidden("The verify token does not match")


async def _meta_event(channel: str, request: Request) -> Response:
    _require_on(channel)
    raw = await request.body()
    if not meta_signature_valid(
        raw, request.headers.get("x-hub-signature-256"), get_settings().meta_app_secret
    ):
        log.warning("%s webhook refused: missing or wrong X-Hub-Signature-256", channel)
        return _forbidden("The X-Hub-Signature-256 header does not match the body")
    body = _json_object(raw)
    if channel == "whatsapp":
        messages = whatsapp.parse_webhook(body, get_settings().whatsapp_phone_number_id)
    else:
        # One Meta app may send both products' events to either URL: `object` says which.
        messages = parse_messaging(body, OBJECT_CHANNELS.get(str(body.get("object")), channel))
    await _hand_to_hub(messages)
    return JSONResponse({"received": len(messages)})


@router.get("/webhooks/messenger", response_class=PlainTextResponse)
def messenger_verification(request: Request) -> Response:
    return _verification("messenger", request)


@router.post("/webhooks/messenger")
async def messenger_webhook(request: Request) -> Response:
    return await _meta_event("messenger", request)


@router.get("/webhooks/instagram", response_class=PlainTextResponse)
def instagram_verification(request: Request) -> Response:
    return _verification("instagram", request)


@router.post("/webhooks/instagram")
async def instagram_webhook(request: Request) -> Response:
    return await _meta_event("instagram", request)


@router.get("/webhooks/whatsapp", response_class=PlainTextResponse)
def whatsapp_verification(request: Request) -> Response:
    return _verification("whatsapp", request)


@router.post("/webhooks/whatsapp")
async def whatsapp_webhook(request: Request) -> Response:
    return await _meta_event("whatsapp", request)


# -- Telegram ------------------------------------------------------------------------------


@router.post("/webhooks/telegram")
async def telegram_webhook(request: Request) -> Response:
    _require_on("telegram")
    if not secret_token_valid(
        request.headers.get("x-telegram-bot-api-secret-token"),
        get_settings().telegram_secret_token,
    ):
        log.warning("telegram webhook refused: missing or wrong secret token")
        return _forbidden("The X-Telegram-Bot-Api-Secret-Token header does not match")
    update = telegram.parse_update(_json_object(await request.body()))
    if update.message is not None:
        await _hand_to_hub([update.message])
    if update.callback_query_id and runtime.telegram is not None:
        task = asyncio.ensure_future(_answer(runtime.telegram, update.callback_query_id))
        runtime.tasks.add(task)
        task.add_done_callback(runtime.tasks.discard)
    return JSONResponse({"received": 1 if update.message else 0})


async def _answer(sender: telegram.TelegramSender, callback_query_id: str) -> None:
    try:
        await sender.answer_callback_query(callback_query_id)
    except Exception as exc:  # noqa: BLE001 - only the spinner on the customer's button
        log.info("telegram: answerCallbackQuery failed: %s", exc)
