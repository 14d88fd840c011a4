"""Rasa's socket.io channel, served by the api: `session_request` -> `session_confirm`,
`user_uttered` -> `bot_uttered`, so a standard Rasa web widget works unchanged.

A session id is the channel key of one conversation: a browser that sends its stored
session id back in `session_request` (after a reload or a reconnect) resumes that
conversation, and every socket of the session joins a room named after it, where the
assistant's and a person's replies are emitted live. Messages that found nobody in the room
stay pending and are emitted when the session comes back.

Beyond Rasa's protocol, the OpsDesk widget sends `user_typing` while the customer writes; when
the last socket of a session is gone for LEFT_AFTER_SECONDS the customer has left, and a
session that comes back after that is back. The hub passes these to the console; the one
thing kept is whether the customer left (`conversations.customer_left_at`), so that a restart
of the api does not forget it: a person's reply to a customer who left goes by email (when
email is on), before and after a restart alike."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable
from typing import Any

import socketio
from starlette.concurrency import run_in_threadpool

from api.db import begin_write, session_scope
from api.hub import get_hub
from api.hub.messages import CustomerOffline, InboundMessage, OutboundMessage
from api.hub.redis_client import RedisManager
from api.ops.conversations import service as conversations

log = logging.getLogger("opsdesk.hub.socketio")

CHANNEL = "socketio"
NAMESPACE = "/"
MAX_SESSION_ID = 200
MAX_TEXT = 4000
# One socket's `user_typing` is looked at once per this many seconds at most (the hub then
# passes on one per conversation per TYPING_EVERY_SECONDS).
TYPING_EVERY_SECONDS = 2.0
# A reload or a move to another page of the shop reconnects well within this: only a session
# with no socket for this long has left.
LEFT_AFTER_SECONDS = 5.0
_left_checks: set[asyncio.Task[None]] = set()

# No origin check, as Rasa's own channel: the widget is embedded in the store's pages,
# wherever they are served from.
sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins=[], logger=False)


def asgi_app() -> socketio.ASGIApp:
    """Mount with `app.mount("/socket.io", asgi_app())`."""
    return socketio.ASGIApp(sio, socketio_path="socket.io")


def bot_uttered(message: OutboundMessage) -> list[dict[str, Any]]:
    """The events of one stored message, in Rasa's shapes (`text` + `quick_replies`, an image
    as `attachment`). What the hub adds goes under `metadata`, which stock widgets ignore
    (rasa-webchat paints nothing when other keys sit beside `text`): `message_id`,
    `author`, the conversation's `mode`, for a person `agent_name`, and for an answer
    `in_reply_to` (the id `user_uttered` acknowledged)."""
    extra: dict[str, Any] = {"message_id": message.message_id, "author": message.author}
    if message.in_reply_to is not None:
        extra["in_reply_to"] = message.in_reply_to
    if message.mode:
        extra["mode"] = message.mode
    if message.agent_name:
        extra["agent_name"] = message.agent_name
    events: list[dict[str, Any]] = []
    if message.text or message.buttons:
        event: dict[str, Any] = {"text": message.text}
        if message.buttons:
            event["quick_replies"] = [
                {"content_type": "text", "title": b["title"], "payload": b["payload"]}
                for b in message.buttons
            ]
        event["metadata"] = extra
        events.append(event)
    if message.image:
        events.append(
            {
                "attachment": {"type": "image", "payload": {"src": message.image}},
                "metadata": extra,
            }
        )
    return events


def share_rooms(redis_url: str) -> None:
    """Several api processes: emits go through Redis to every process (socket.io's Redis
    manager), so a reply written on one reaches a customer connected to another."""
    if isinstance(sio.manager, RedisManager):
        return
    sio.manager = RedisManager(redis_url)
    sio.manager.set_server(sio)
    sio.manager_initialized = False


async def _listening(room: str) -> bool:
    """Whether a socket of the session is connected, to this process or (Redis) another."""
    if any(True for _ in sio.manager.get_participants(NAMESPACE, room)):
        return True
    cluster = get_hub().cluster
    return cluster is not None and await cluster.listening(room)


class SocketIOSender:
    """Emits to the session's room; nobody there -> CustomerOffline (kept pending)."""

    async def deliver(self, message: OutboundMessage) -> None:
        room = message.channel_key
        if not await _listening(room):
            raise CustomerOffline(room)
        for event in bot_uttered(message):
            await sio.emit("bot_uttered", event, room=room, namespace=NAMESPACE)


def _valid_session_id(value: Any) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= MAX_SESSION_ID and value.isprintable():
        return value
    return None


def _conversation_of(session_id: str) -> str | None:
    with session_scope() as db:
        conversation = conversations.get_by_channel_key(
            db_session=db, channel=CHANNEL, channel_key=session_id
        )
        return conversation.id if conversation else None


def _note_left(conversation_id: str, left: bool) -> None:
    with session_scope() as db:
        begin_write(db)
        conversations.note_customer_left(db_session=db, conversation_id=conversation_id, left=left)


async def _remember_presence(conversation_id: str, left: bool) -> None:
    try:
        await run_in_threadpool(_note_left, conversation_id, left)
    except Exception:  # noqa: BLE001 - the live signal still goes to the console
        log.exception("conversation %s: could not record the customer's presence", conversation_id)


def _has_left(conversation_id: str) -> bool:
    with session_scope() as db:
        return conversations.customer_has_left(db_session=db, conversation_id=conversation_id)


async def customer_left(conversation_id: str) -> bool:
    """Whether the chat customer left and has not come back (as recorded in the database,
    so on every api process and across restarts)."""
    return await run_in_threadpool(_has_left, conversation_id)


def _waiting_for_the_customer() -> list[tuple[str, str]]:
    with session_scope() as db:
        return conversations.waiting_for_the_customer(db_session=db, channel=CHANNEL)


async def declare_left_after_start() -> int:
    """At the api's start: a chat customer with a person's reply waiting and no socket back
    within LEFT_AFTER_SECONDS has left (the process that watched them go took its timers
    with it), so the reply does not wait for them forever. Returns how many were declared."""
    await asyncio.sleep(LEFT_AFTER_SECONDS)
    declared = 0
    for conversation_id, session_id in await run_in_threadpool(_waiting_for_the_customer):
        if not await _listening(session_id):
            await _remember_presence(conversation_id, True)
            await get_hub().customer_activity(conversation_id, "left")
            declared += 1
    return declared


async def _join(sid: str, session_id: str) -> None:
    """The socket hears its session's room, and no longer the room of an earlier session."""
    earlier = (await sio.get_session(sid, namespace=NAMESPACE)).get("session_id")
    cluster = get_hub().cluster
    if earlier and earlier != session_id:
        await sio.leave_room(sid, earlier, namespace=NAMESPACE)
        if cluster is not None:
            await _tell_cluster(cluster.left(earlier, sid), earlier)
    await sio.enter_room(sid, session_id, namespace=NAMESPACE)
    if cluster is not None:
        await _tell_cluster(cluster.joined(session_id, sid), session_id)
    await sio.save_session(sid, {"session_id": session_id}, namespace=NAMESPACE)


async def _tell_cluster(change: Awaitable[None], session_id: str) -> None:
    """Record a socket joining or leaving a session's room in Redis. Redis away does not stop
    the customer's chat: replies written on this process still reach them; one written on
    another process waits, pending, until the session comes back."""
    try:
        await change
    except Exception:  # noqa: BLE001 - the room here is still right
        log.warning("session %s: its room could not be shared through Redis", session_id)


async def _conversation_for(sid: str) -> str | None:
    """The conversation of the socket's session (read once, then kept in the socket's session;
    none before the customer's first message)."""
    session = await sio.get_session(sid, namespace=NAMESPACE)
    conversation_id = session.get("conversation_id")
    session_id = session.get("session_id")
    if conversation_id or not session_id:
        return conversation_id
    conversation_id = await run_in_threadpool(_conversation_of, session_id)
    if conversation_id:
        await _remember_conversation(sid, session_id, conversation_id)
    return conversation_id


async def _remember_conversation(sid: str, session_id: str, conversation_id: str) -> None:
    async with sio.session(sid, namespace=NAMESPACE) as session:
        if session.get("session_id") == session_id:
            session["conversation_id"] = conversation_id


@sio.on("session_request")
async def session_request(sid: str, data: Any) -> None:
    requested = _valid_session_id(data.get("session_id")) if isinstance(data, dict) else None
    session_id = requested or uuid.uuid4().hex
    await _join(sid, session_id)
    await sio.emit("session_confirm", session_id, room=sid, namespace=NAMESPACE)
    if requested:
        conversation_id = await _conversation_for(sid)
        if conversation_id:
            await _remember_presence(conversation_id, False)
            await get_hub().customer_activity(conversation_id, "back")
            await get_hub().redeliver(conversation_id)


@sio.on("user_uttered")
async def user_uttered(sid: str, data: Any) -> dict[str, Any] | None:
    """Store the customer's message; a client that asks for an acknowledgement gets
    `{"message_id"}`, which the answers to it carry as `in_reply_to`."""
    if not isinstance(data, dict):
        return None
    text = data.get("message")
    if not isinstance(text, str) or not text.strip():
        return None
    session = await sio.get_session(sid, namespace=NAMESPACE)
    session_id = _valid_session_id(data.get("session_id")) or session.get("session_id") or sid
    if session.get("session_id") != session_id:
        await _join(sid, session_id)
    title = data.get("button_title")
    custom = data.get("customData")
    name = custom.get("customer_name") if isinstance(custom, dict) else None
    stored = await get_hub().store(
        InboundMessage(
            channel=CHANNEL,
            channel_key=session_id,
            text=text[:MAX_TEXT],
            button_title=str(title)[:200] if title else None,
            metadata={"customer_name": str(name)[:120]} if name else {},
        )
    )
    if (await sio.get_session(sid, namespace=NAMESPACE)).get("conversation_id") is None:
        await _remember_conversation(sid, session_id, stored.conversation_id)
    return {"message_id": stored.message_id}


@sio.on("user_typing")
async def user_typing(sid: str, data: Any = None) -> None:
    """The customer is writing in the widget's box (the OpsDesk widget sends this at most
    every 2 s while the text changes; stock widgets send nothing). Passed to the console
    through the hub, never stored."""
    async with sio.session(sid, namespace=NAMESPACE) as session:
        now = time.monotonic()
        if now - float(session.get("typing_at", float("-inf"))) < TYPING_EVERY_SECONDS:
            return
        session["typing_at"] = now
    conversation_id = await _conversation_for(sid)
    if conversation_id:
        await get_hub().customer_activity(conversation_id, "typing")


@sio.on("disconnect")
async def disconnect(sid: str, reason: Any = None) -> None:
    """A socket went away: if its session has no other socket LEFT_AFTER_SECONDS later, the
    customer left the chat."""
    session = await sio.get_session(sid, namespace=NAMESPACE)
    session_id = session.get("session_id")
    conversation_id = session.get("conversation_id")
    cluster = get_hub().cluster
    if session_id and cluster is not None:
        await cluster.left(session_id, sid)
    if not session_id or not conversation_id:
        return  # nothing written yet: nobody follows this conversation
    task = asyncio.ensure_future(_left_if_still_away(session_id, conversation_id))
    _left_checks.add(task)
    task.add_done_callback(_left_checks.discard)


async def _left_if_still_away(session_id: str, conversation_id: str) -> None:
    await asyncio.sleep(LEFT_AFTER_SECONDS)
    if not await _listening(session_id):
        # Recorded before the listeners hear it: a reply sent on `left` finds it.
        await _remember_presence(conversation_id, True)
        await get_hub().customer_activity(conversation_id, "left")
