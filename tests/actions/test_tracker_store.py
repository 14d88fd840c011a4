"""bot/tracker_store.py against Rasa's own SQLTrackerStore, on SQLite and on the machine's
PostgreSQL: the same turns saved through both store the same rows, publish the same events to
a real Rasa event broker (Rasa's SQLEventBroker), and read back as the same trackers; each
store reads what the other wrote. And bot/rasa_server.py's cache of event classes by name
answers what Rasa's own lookup answers."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from action_testing import REPO
from rasa.core.brokers.sql import SQLEventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.common import all_subclasses
from test_rasa_server import load_rasa_server

from bot.tracker_store import OpsDeskTrackerStore

PG_SERVER = os.environ.get(
    "OPSDESK_TEST_PG_SERVER_RASA", "postgresql://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PREFIX = "opsdesk_test_tracker_"

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(REPO / "bot" / "domain"))


def _pg_admin() -> sa.Engine:
    return sa.create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")


@pytest.fixture(params=["sqlite", "postgres"])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[dict[str, Any]]]:
    """Three empty databases: one for each tracker store, one for the event brokers."""
    if request.param == "sqlite":
        yield [{"dialect": "sqlite", "db": str(tmp_path / f"{n}.db")} for n in ("a", "b", "c")]
        return
    try:
        with _pg_admin().connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError:
        if IN_CI:
            pytest.fail(f"PostgreSQL is not reachable at {PG_SERVER}; CI machines must have it")
        pytest.skip(f"PostgreSQL is not reachable at {PG_SERVER}")
    names = [f"{PREFIX}{secrets.token_hex(5)}" for _ in range(3)]
    url = sa.engine.make_url(PG_SERVER)
    engine = _pg_admin()
    try:
        with engine.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield [
            {
                "dialect": "postgresql",
                "host": url.host,
                "port": url.port,
                "username": url.username,
                "db": name,
            }
            for name in names
        ]
    finally:
        with engine.connect() as conn:
            for name in names:
                assert name.startswith(PREFIX)  # only what this fixture created
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def _broker(args: dict[str, Any]) -> SQLEventBroker:
    return SQLEventBroker(**args)


def _published(broker: SQLEventBroker) -> list[tuple[str, dict[str, Any]]]:
    with broker.session_scope() as session:
        rows = session.query(broker.SQLBrokerEvent).order_by(broker.SQLBrokerEvent.id).all()
        return [(row.sender_id, json.loads(row.data)) for row in rows]


def _stored(store: SQLTrackerStore) -> list[tuple[Any, ...]]:
    with store.session_scope() as session:
        rows = session.query(store.SQLEvent).order_by(store.SQLEvent.id).all()
        return [
            (r.sender_id, r.type_name, r.timestamp, r.intent_name, r.action_name, r.data)
            for r in rows
        ]


def _turns(sender: str, domain: Domain) -> list[list[Event]]:
    """What a conversation adds to its tracker save by save: a session start, a turn with a
    form and slots, a save with nothing new, then a second session."""
    t = 1_700_000_000.0
    return [
        [
            ActionExecuted("action_session_start", timestamp=t),
            SessionStarted(timestamp=t + 0.1),
            ActionExecuted("action_listen", timestamp=t + 0.2),
        ],
        [
            UserUttered(
                "where is my order 10001",
                {"name": "order_status", "confidence": 0.97},
                [{"entity": "order_number", "value": "10001", "start": 18, "end": 23}],
                timestamp=t + 1,
                metadata={"hub_message_id": 7},
            ),
            SlotSet("order_number", "10001", timestamp=t + 1.1),
            ActionExecuted("order_verification_form", timestamp=t + 1.2),
            ActiveLoop("order_verification_form", timestamp=t + 1.3),
            BotUttered("What email did you order with?", {"buttons": None}, timestamp=t + 1.4),
            ActionExecuted("action_listen", timestamp=t + 1.5),
        ],
        [],
        [
            ActionExecuted("action_session_start", timestamp=t + 5000),
            SessionStarted(timestamp=t + 5000.1),
            ActionExecuted("action_listen", timestamp=t + 5000.2),
            UserUttered("hi", {"name": "greet", "confidence": 0.99}, timestamp=t + 5001),
        ],
    ]


@pytest.mark.asyncio
async def test_the_same_turns_store_publish_and_read_back_as_rasas_own(
    domain: Domain, databases: list[dict[str, Any]]
) -> None:
    a, b, c = databases
    broker_rasa, broker_ours = _broker(c), _broker(c)
    rasa_store = SQLTrackerStore(domain=domain, event_broker=broker_rasa, **a)
    ours = OpsDeskTrackerStore(domain=domain, event_broker=broker_ours, **b)
    rasa_published: list[tuple[str, dict[str, Any]]] = []
    ours_published: list[tuple[str, dict[str, Any]]] = []
    for store, published in ((rasa_store, rasa_published), (ours, ours_published)):
        before = len(_published(broker_rasa))
        for sender in ("customer-1", "customer-2"):
            tracker = DialogueStateTracker(sender, domain.slots)
            for events in _turns(sender, domain):
                for event in events:
                    tracker.update(event, domain)
                await store.save(tracker)
                # a turn reads the tracker back before it adds to it
                read = await store.retrieve(sender)
                assert read is not None
                tracker = read
        published.extend(_published(broker_rasa)[before:])

    assert [row[1:] for row in _stored(ours)] == [row[1:] for row in _stored(rasa_store)]
    assert len(_stored(ours)) == 2 * 13
    # every new event once, in order, none for the save that added nothing
    assert ours_published == rasa_published
    assert len(ours_published) == 2 * 13
    assert [e["event"] for _, e in ours_published[:4]] == [
        "action",
        "session_started",
        "action",
        "user",
    ]

    for sender in ("customer-1", "customer-2"):
        # the latest session, and every session, as Rasa reads them; and each store reads
        # the other's rows the same way
        for reader, other in ((ours, rasa_store), (rasa_store, ours)):
            latest, theirs = await reader.retrieve(sender), await other.retrieve(sender)
            assert latest is not None and theirs is not None
            assert latest.current_state() == theirs.current_state()
            assert [e.as_dict() for e in latest.events] == [e.as_dict() for e in theirs.events]
            # the second session only, from its session_started on (Rasa's own query)
            assert [e.type_name for e in latest.events] == ["session_started", "action", "user"]
            full, full_theirs = (
                await reader.retrieve_full_tracker(sender),
                await other.retrieve_full_tracker(sender),
            )
            assert full is not None and full_theirs is not None
            assert [e.as_dict() for e in full.events] == [e.as_dict() for e in full_theirs.events]
            assert len(full.events) == 13
            assert SlotSet("order_number", "10001") in full.events
            assert full.latest_message and full.latest_message.text == "hi"

    assert await ours.retrieve("nobody") is None
    assert await rasa_store.retrieve("nobody") is None


@pytest.mark.asyncio
async def test_a_tracker_without_a_broker_is_stored_once(
    domain: Domain, databases: list[dict[str, Any]]
) -> None:
    ours = OpsDeskTrackerStore(domain=domain, **databases[0])
    tracker = DialogueStateTracker("customer-3", domain.slots)
    for events in _turns("customer-3", domain)[:2]:
        for event in events:
            tracker.update(event, domain)
        await ours.save(tracker)
        read = await ours.retrieve("customer-3")
        assert read is not None
        await ours.save(read)  # read back and saved again: nothing doubled
        tracker = read
    assert len(_stored(ours)) == 9
    read = await ours.retrieve("customer-3")
    assert read is not None and read.active_loop_name == "order_verification_form"
    assert read.get_slot("order_number") == "10001"


def test_the_event_class_cache_answers_as_rasa_does() -> None:
    rasa_lookup = Event.resolve_by_type
    names = sorted({cls.type_name for cls in all_subclasses(Event)})
    expected = {name: rasa_lookup(name) for name in names}
    server = load_rasa_server()
    server.install_event_type_cache()
    try:
        for _ in range(2):  # the second time from the cache
            for name in names:
                assert Event.resolve_by_type(name) is expected[name]
        assert Event.resolve_by_type("slot") is SlotSet
        assert Event.resolve_by_type("topic") is None
        assert Event.resolve_by_type("no_such_event", default=UserUttered) is UserUttered
        with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
            Event.resolve_by_type("no_such_event")
        # an event read back from its dict goes through the cache to the right class
        event = Event.from_parameters({"event": "slot", "name": "email", "value": "a@b.c"})
        assert isinstance(event, SlotSet) and event.value == "a@b.c"
    finally:
        Event.resolve_by_type = staticmethod(rasa_lookup)
