"""The hub's entry point as the social channels call it, in this process: a platform's
redelivery of a message is stored and processed once, a burst is processed in stored order
and delivered through the channel's registered sender, and messages stored before a restart
are processed when the hub starts again."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from api import db
from api.hub.hub import Hub, _store_inbound
from api.hub.messages import InboundMessage, OutboundMessage
from api.ops.conversations import service as conversations
from api.settings import get_settings
from tests.conftest import Store
from tests.hub.standin_rasa import StandInRasa

pytestmark = pytest.mark.anyio


class CollectingSender:
    def __init__(self) -> None:
        self.delivered: list[OutboundMessage] = []

    async def deliver(self, message: OutboundMessage) -> None:
        self.delivered.append(message)


def _reset_caches() -> None:
    get_settings.cache_clear()
    if db.get_engine.cache_info().currsize:
        db.get_engine().dispose()
    db.get_engine.cache_clear()
    db.get_sessionmaker.cache_clear()


@pytest.fixture
def in_process(seeded: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[StandInRasa]:
    """This process's settings point at the seeded database and a stand-in Rasa."""
    rasa = StandInRasa().start()
    for name, value in seeded.env.items():
        if name.startswith("OPSDESK_"):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("OPSDESK_RASA_URL", rasa.url)
    monkeypatch.setenv("OPSDESK_RASA_TIMEOUT_SECONDS", "5")
    _reset_caches()
    yield rasa
    _reset_caches()
    rasa.stop()


def transcript_of(channel: str, key: str) -> list[tuple[str, str, str]]:
    with db.session_scope() as session:
        conversation = conversations.get_by_channel_key(
            db_session=session, channel=channel, channel_key=key
        )
        assert conversation is not None
        return [
            (m.direction, m.text, m.state)
            for m in conversations.messages_after(
                db_session=session, conversation_id=conversation.id, after_id=None, limit=500
            )
        ]


async def test_a_redelivered_platform_message_is_stored_and_processed_once(
    in_process: StandInRasa,
) -> None:
    hub, sender = Hub(), CollectingSender()
    hub.register_sender("telegram", sender)
    await hub.start()
    message = InboundMessage("telegram", "chat-1", "where is my order?", external_id="update-7")
    await asyncio.gather(hub.receive(message), hub.receive(message), hub.receive(message))
    await hub.idle()
    await hub.receive(message)  # a late redelivery, after the answer went out
    await hub.idle()
    await hub.stop()
    assert transcript_of("telegram", "chat-1") == [
        ("inbound", "where is my order?", "answered"),
        ("outbound", "echo: where is my order?", "sent"),
    ]
    assert [c.message for c in in_process.calls] == ["where is my order?"]
    assert [m.text for m in sender.delivered] == ["echo: where is my order?"]
    assert sender.delivered[0].channel_key == "chat-1"


async def test_a_burst_is_processed_and_delivered_in_stored_order(
    in_process: StandInRasa,
) -> None:
    hub, sender = Hub(), CollectingSender()
    hub.register_sender("messenger", sender)
    await hub.start()
    texts = [f"line {i}" for i in range(20)]
    await asyncio.gather(
        *(hub.receive(InboundMessage("messenger", "psid-9", t, external_id=t)) for t in texts)
    )
    await hub.idle()
    await hub.stop()
    stored = [
        text
        for direction, text, _ in transcript_of("messenger", "psid-9")
        if direction == "inbound"
    ]
    assert sorted(stored) == sorted(texts)
    assert [c.message for c in in_process.calls] == stored
    assert [m.text for m in sender.delivered] == [f"echo: {t}" for t in stored]
    assert in_process.max_active_per_sender == 1


async def test_messages_stored_before_a_restart_are_processed_at_start(
    in_process: StandInRasa,
) -> None:
    # Stored by a process that stopped before processing them.
    for text in ("first", "second"):
        _store_inbound(InboundMessage("whatsapp", "+15550100", text))
    assert [s for _, _, s in transcript_of("whatsapp", "+15550100")] == ["received"] * 2
    hub, sender = Hub(), CollectingSender()
    hub.register_sender("whatsapp", sender)
    await hub.start()
    await hub.idle()
    await hub.stop()
    assert [m.text for m in sender.delivered] == ["echo: first", "echo: second"]
    assert [s for _, _, s in transcript_of("whatsapp", "+15550100")] == [
        "answered",
        "answered",
        "sent",
        "sent",
    ]
