"""The email channel in the api process: at start it says which halves are on, registers the
email sender (and the chat's fallback to email for customers who left), and runs two
background tasks, the outbox's sending loop and the mailbox poll."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import anyio
from fastapi import APIRouter, FastAPI

from api.db import utcnow
from api.hub import get_hub
from api.hub.channels import socketio
from api.hub.channels.email import config, mailbox, outbox, relay
from api.hub.hub import Hub
from api.hub.messages import ChannelSender, CustomerOffline, DeliveryQueued, OutboundMessage
from api.settings import Settings, get_settings

log = logging.getLogger("opsdesk.hub.email")
TICK_SECONDS = 1.0  # how often the outbox looks for due mails when nothing woke it


class EmailSender:
    """The hub's sender for email: the message goes into the outbox (DeliveryQueued), and the
    sending loop mails it and records `sent` or `failed` on it."""

    def __init__(self, wake: asyncio.Event) -> None:
        self._wake = wake

    async def deliver(self, message: OutboundMessage) -> None:
        taken = await anyio.to_thread.run_sync(
            outbox.enqueue, message.message_id, message.conversation_id
        )
        if not taken:
            raise CustomerOffline(message.conversation_id)  # no address: nobody to write to
        self._wake.set()
        raise DeliveryQueued(message.conversation_id)


class ByEmailWhenGone:
    """The chat's sender, with a fallback: a person's reply to a customer who left the chat
    (and whom we can write to) goes by email instead of waiting for them to come back."""

    def __init__(self, live: ChannelSender, email: EmailSender) -> None:
        self._live, self._email = live, email

    async def deliver(self, message: OutboundMessage) -> None:
        try:
            await self._live.deliver(message)
        except CustomerOffline:
            if message.author != "agent":
                raise
            if not await socketio.customer_left(message.conversation_id):
                raise
            await self._email.deliver(message)


class SendingLoop:
    def __init__(self, settings: Settings, wake: asyncio.Event) -> None:
        self.settings = settings
        self.relay = config.smtp_relay(settings)
        self.envelope_from = config.support_address(settings)
        self.wake = wake

    async def run(self) -> None:
        while True:
            try:
                await self.round()
            except Exception:  # noqa: BLE001 - the database is away: the next round retries
                log.exception("email outbox: round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), TICK_SECONDS)
            if self.wake.is_set():
                self.wake.clear()
                # Let the rest of a turn's replies arrive, so they go out as one mail.
                await asyncio.sleep(self.settings.email_batch_seconds)

    async def round(self) -> None:
        await anyio.to_thread.run_sync(
            outbox.compose_due, self.settings.support_email, self.settings.email_batch_seconds
        )
        due = await anyio.to_thread.run_sync(outbox.claim)
        if not due:
            return
        connection = relay.RelayConnection(self.relay, self.envelope_from)
        try:
            for mail in due:
                await self.send(connection, mail)
        finally:
            await anyio.to_thread.run_sync(connection.close)

    async def send(self, connection: relay.RelayConnection, mail: outbox.DueMail) -> None:
        try:
            await anyio.to_thread.run_sync(connection.send, mail.to_address, mail.raw)
        except relay.RelayRefused as exc:
            attempt = mail.attempts + 1
            retry_at = None
            if not exc.final and attempt < self.settings.email_max_attempts:
                delay = min(
                    self.settings.email_retry_max_seconds,
                    self.settings.email_retry_base_seconds * 2 ** (attempt - 1),
                )
                retry_at = utcnow() + timedelta(seconds=delay)
            log.warning(
                "email outbox: mail %s attempt %d failed (%s); %s",
                mail.id,
                attempt,
                exc,
                f"retrying at {retry_at:%H:%M:%S}" if retry_at else "given up",
            )
            await anyio.to_thread.run_sync(
                outbox.record_failure, mail.id, str(exc), exc.final, retry_at
            )
            return
        # Recorded at once, mail by mail: a crash can resend at most the one mail in flight.
        await anyio.to_thread.run_sync(outbox.record_sent, mail.id)
        log.info("email outbox: mail %s sent", mail.id)


async def poll_mailbox(settings: Settings) -> None:
    box = config.imap_mailbox(settings)
    while True:
        try:
            await mailbox.poll_once(box, settings)
        except Exception as exc:  # noqa: BLE001 - the server is away: the next round retries
            log.warning("email: mailbox poll failed: %s: %s", type(exc).__name__, exc)
        await asyncio.sleep(settings.imap_poll_seconds)


@asynccontextmanager
async def email_channel(_app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    for line in config.status_lines(settings):
        log.info(line)
    tasks: list[asyncio.Task[Any]] = []
    if not config.missing_outbound(settings):
        wake = asyncio.Event()
        email = EmailSender(wake)
        hub = get_hub()
        hub.register_sender(config.CHANNEL, email)
        hub.register_sender(socketio.CHANNEL, ByEmailWhenGone(socketio.SocketIOSender(), email))
        hub.add_listener(_redeliver_when_left(hub))
        tasks.append(asyncio.create_task(SendingLoop(settings, wake).run()))
        # Replies left waiting by customers who went while the api was down.
        tasks.append(asyncio.create_task(socketio.declare_left_after_start()))
        if not config.missing_inbound(settings):
            tasks.append(asyncio.create_task(poll_mailbox(settings)))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _redeliver_when_left(hub: Hub) -> Any:
    """When a chat customer leaves, a person's reply still waiting for them goes by email."""
    pending: set[asyncio.Task[None]] = set()

    async def listener(event: str, conversation_id: str, _message_id: int | None) -> None:
        if event == "left":
            task = asyncio.ensure_future(hub.redeliver(conversation_id))
            pending.add(task)
            task.add_done_callback(pending.discard)

    return listener


router = APIRouter(lifespan=email_channel)
