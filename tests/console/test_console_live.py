"""The conversation view's live parts and its fixed cost, on SQLite and PostgreSQL: the newest
turns with earlier ones a page at a time, the header that follows the ticket whoever changes
it, and the customer typing, leaving and coming back (told, never stored); and, without a
server, the hub's throttle and the live feed's bookkeeping."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from api.console import conversation as view
from api.console.live import Change, Event, LiveFeed, stream
from api.hub.hub import TYPING_EVERY_SECONDS, Hub
from tests.console.conftest import ConsoleClient, ConsoleStore
from tests.hub.chat_customer import ChatCustomer


@pytest.fixture()
def anyio_backend() -> str:
    return "asyncio"


class LiveView:
    """A conversation page's server-sent events, read in the background as console.js does."""

    def __init__(self, agent: ConsoleClient, conversation_id: str) -> None:
        self.client = httpx.AsyncClient(
            base_url=str(agent.http.base_url), cookies=agent.http.cookies, timeout=None
        )
        self.path = f"/console/conversations/{conversation_id}/events"
        self.events: list[tuple[float, str, dict[str, Any]]] = []
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LiveView:
        self._task = asyncio.create_task(self._read())
        await asyncio.wait_for(self._ready.wait(), 10)
        await asyncio.sleep(0.5)  # the watcher's first look at the tickets
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self.client.aclose()

    async def _read(self) -> None:
        async with self.client.stream("GET", self.path) as response:
            assert response.status_code == 200
            kind = None
            async for line in response.aiter_lines():
                if line.startswith("retry:"):
                    self._ready.set()
                elif line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: ") and kind:
                    self.events.append((time.monotonic(), kind, json.loads(line[6:])))
                    kind = None

    def kinds(self) -> list[str]:
        return [kind for _at, kind, _data in self.events]

    async def wait_for(self, kind: str, since: float = 0.0, timeout: float = 5.0) -> float:
        """When the first `kind` event after `since` arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, seen, _data in self.events:
                if seen == kind and at >= since:
                    return at
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {kind} event within {timeout} s: {self.kinds()}")


def add_turns(console: ConsoleStore, conversation_id: str, texts: list[str]) -> None:
    """Older history of a conversation, written straight into the store."""
    engine = console.store.engine()
    start = datetime.now(UTC) - timedelta(days=1)
    with engine.begin() as conn:
        for n, text in enumerate(texts):
            conn.execute(
                sa.text(
                    "INSERT INTO messages (conversation_id, direction, author, text, state, "
                    "created_at) VALUES (:c, 'inbound', 'customer', :t, 'answered', :at)"
                ),
                {"c": conversation_id, "t": text, "at": start + timedelta(seconds=n)},
            )
    engine.dispose()


def test_the_view_shows_the_newest_turns_and_pages_back_through_earlier_ones(
    console: ConsoleStore,
) -> None:
    _sender, conversation_id = console.customer_asks_for_a_person()
    # 120 turns after the handoff's: a SKU named in the 2nd, far above the first page.
    add_turns(
        console,
        conversation_id,
        [f"turn {n}" if n != 1 else "is TEE-NAVY-M back?" for n in range(120)],
    )
    agent = console.agent()
    page = agent.http.get(f"/console/conversations/{conversation_id}").text
    assert page.count("data-message=") == view.TRANSCRIPT_PAGE
    assert "turn 119" in page and "turn 70" in page and "turn 69" not in page
    assert "TEE-NAVY-M" in page  # the stock card reads past the page
    first = int(page.split('data-message="', 1)[1].split('"', 1)[0])
    assert f"?before={first}" in page and "Earlier messages" in page

    older = agent.http.get(f"/console/conversations/{conversation_id}/messages?before={first}")
    assert older.status_code == 200
    assert older.text.count("data-message=") == view.TRANSCRIPT_PAGE
    assert "turn 69" in older.text and "turn 20" in older.text and "turn 19" not in older.text
    second = int(older.text.split('data-message="', 1)[1].split('"', 1)[0])
    assert f"before={second}" in older.text  # more before these

    oldest = agent.http.get(f"/console/conversations/{conversation_id}/messages?before={second}")
    assert "turn 0" in oldest.text and "Earlier messages" not in oldest.text
    # Without the script: the older window as a page, with the way back to the latest.
    window = agent.http.get(f"/console/conversations/{conversation_id}?before={first}").text
    assert "turn 69" in window and "turn 119" not in window
    assert "data-older-window" in window and "Latest messages" in window
    assert agent.http.get(f"/console/conversations/{conversation_id}?before=0").status_code == 422


def test_the_header_fragment_shows_the_ticket_as_it_is_now(console: ConsoleStore) -> None:
    _sender, conversation_id = console.customer_asks_for_a_person()
    ticket = console.ticket_of(conversation_id)
    alex, morgan = console.agent(), console.admin()
    head = alex.http.get(f"/console/conversations/{conversation_id}/head")
    assert head.status_code == 200 and head.headers["cache-control"] == "no-store"
    assert 'data-status="open"' in head.text and "unassigned" in head.text
    assert "Claim" in head.text and 'name="csrf_token"' in head.text
    morgan.post(f"/console/tickets/{ticket['id']}/claim")
    morgan.post(f"/console/tickets/{ticket['id']}/priority", priority="urgent")
    head = alex.http.get(f"/console/conversations/{conversation_id}/head").text
    assert 'data-status="assigned"' in head and 'data-priority="urgent"' in head
    assert "Morgan Lee" in head and "Claim" not in head
    assert alex.csrf in head  # the forms carry the reader's own token
    assert alex.http.get("/console/conversations/c-unknown/head").status_code == 404
    visitor = console.client().http.get(f"/console/conversations/{conversation_id}/head")
    assert visitor.status_code == 303  # to the sign-in form


@pytest.mark.anyio
async def test_a_ticket_change_by_anyone_reaches_the_open_conversation_and_no_other(
    console: ConsoleStore,
) -> None:
    _s1, conversation_id = console.customer_asks_for_a_person()
    _s2, other_id = console.customer_asks_for_a_person()
    ticket, other = console.ticket_of(conversation_id), console.ticket_of(other_id)
    alex, morgan = console.agent(), console.admin()
    async with LiveView(alex, conversation_id) as page:
        # Another agent in the console.
        changed = time.monotonic()
        assert morgan.post(f"/console/tickets/{ticket['id']}/pending").status_code == 303
        arrived = await page.wait_for("ticket", since=changed)
        assert arrived - changed < 1.5
        assert page.events[-1][2] == {"conversation_id": conversation_id, "ticket_id": ticket["id"]}
        # Another process through the ops API (as the action server does).
        changed = time.monotonic()
        with console.api("agent") as api:
            patched = api.patch(f"/api/v1/tickets/{ticket['id']}", json={"priority": "high"})
            assert patched.status_code == 200, patched.text
            other_patched = api.patch(f"/api/v1/tickets/{other['id']}", json={"priority": "low"})
            assert other_patched.status_code == 200, other_patched.text
        await page.wait_for("ticket", since=changed)
        await asyncio.sleep(0.6)
        tickets_told = {d.get("ticket_id") for _at, kind, d in page.events if kind == "ticket"}
        assert tickets_told == {ticket["id"]}  # not the other conversation's
        assert "tickets" not in page.kinds()  # the queue's event stays on the queue


@pytest.mark.anyio
async def test_the_customer_typing_leaving_and_coming_back_is_told_and_never_stored(
    console: ConsoleStore,
) -> None:
    customer = ChatCustomer(console.base_url)
    session_id = await customer.connect()
    await customer.say_and_get_id("hello")
    await customer.next()  # the assistant is away: the hub says so and offers a person
    await customer.say_and_get_id("/human_handoff")
    await customer.next()
    with console.api("agent") as api:
        listed = api.get("/api/v1/conversations", params={"channel": "socketio"}).json()
    conversation_id = next(c["id"] for c in listed["items"] if c["channel_key"] == session_id)
    count = console.store.scalar(
        "SELECT count(*) FROM messages WHERE conversation_id = :c", c=conversation_id
    )
    agent = console.agent()
    async with LiveView(agent, conversation_id) as page:
        typed = time.monotonic()
        for _ in range(5):  # a burst of keystrokes' signals: told once
            await customer.sio.emit("user_typing", {"session_id": session_id})
        await page.wait_for("typing", since=typed)
        await asyncio.sleep(0.5)
        assert page.kinds().count("typing") == 1
        await asyncio.sleep(TYPING_EVERY_SECONDS)
        again = time.monotonic()
        await customer.sio.emit("user_typing", {"session_id": session_id})
        await page.wait_for("typing", since=again)

        # The tab closes: the customer has left once no socket of the session is back.
        closed = time.monotonic()
        await customer.close()
        left = await page.wait_for("left", since=closed, timeout=12)
        assert left - closed >= 4.0  # a reload's reconnect is not leaving
        shown = agent.http.get(f"/console/conversations/{conversation_id}").text
        assert "Customer left the chat" in shown

        returning = ChatCustomer(console.base_url)
        await returning.connect(session_id)
        await page.wait_for("back", since=left)
        await returning.close()
    shown = agent.http.get(f"/console/conversations/{conversation_id}").text
    assert "Customer left the chat" not in shown
    stored = console.store.scalar(
        "SELECT count(*) FROM messages WHERE conversation_id = :c", c=conversation_id
    )
    assert stored == count  # typing and presence are never messages


# -- without a server ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_hub_tells_typing_once_per_interval_and_back_only_after_left() -> None:
    hub = Hub()
    heard: list[tuple[str, str]] = []

    async def listener(event: str, conversation_id: str, _message_id: int | None) -> None:
        heard.append((event, conversation_id))

    hub.add_listener(listener)
    assert await hub.customer_activity("c-1", "typing")
    assert not await hub.customer_activity("c-1", "typing")  # within the interval
    assert await hub.customer_activity("c-2", "typing")  # another conversation
    assert not await hub.customer_activity("c-1", "back")  # never left
    assert await hub.customer_activity("c-1", "left")
    assert hub.customer_gone("c-1")
    assert await hub.customer_activity("c-1", "typing")  # typing again means back
    assert not hub.customer_gone("c-1")
    assert heard == [
        ("typing", "c-1"),
        ("typing", "c-2"),
        ("left", "c-1"),
        ("back", "c-1"),
        ("typing", "c-1"),
    ]
    with pytest.raises(ValueError):
        await hub.customer_activity("c-1", "dancing")


def test_the_feed_tells_each_change_of_a_ticket_once() -> None:
    feed = LiveFeed()
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    first = [Change(1, "c-1", t0), Change(2, None, t0 + timedelta(seconds=1))]
    assert feed.note(first) == first
    assert feed.note(first) == []  # read again within the look-back: nothing new
    moved = Change(1, "c-1", t0 + timedelta(seconds=2))
    assert feed.note([*first[1:], moved]) == [moved]
    late = Change(3, "c-3", t0 + timedelta(seconds=1, microseconds=5))  # committed late
    assert feed.note([late, moved]) == [late]


@pytest.mark.anyio
async def test_a_page_hears_only_its_own_conversation_and_the_queue_only_tickets() -> None:
    events = [
        Event("tickets"),
        Event("ticket", "c-1", None, 7),
        Event("ticket", "c-2", None, 8),
        Event("message", "c-1", 11),
        Event("typing", "c-2"),
        Event("left", "c-1"),
    ]

    async def heard(conversation_id: str | None) -> list[str]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        for event in events:
            queue.put_nowait(event)

        async def connected() -> bool:
            return False

        told = []
        chunks = stream(queue, conversation_id, connected)
        while True:
            try:
                chunk = await asyncio.wait_for(chunks.__anext__(), 0.3)
            except TimeoutError:
                return told
            if chunk.startswith("event: "):
                told.append(chunk.split("\n", 1)[0].removeprefix("event: "))

    assert await heard(None) == ["tickets"]
    assert await heard("c-1") == ["ticket", "message", "left"]
    assert await heard(f"c-{uuid.uuid4().hex}") == []
