"""A returning customer is known: on a channel that identifies the person, the customer who
proved who they are (through the same lookup the assistant uses) is recognised later, with
their latest order; never on the website chat or REST, never for another channel identity,
never after the proof's lifetime. A running api on SQLite and PostgreSQL, conversations
created by the channels' own webhooks (the assistant is not running: its URL is a closed
port)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import Store, drop_store, free_port, new_store, stop_api
from tests.fakes.platforms import FakePlatforms
from tests.hub.social_support import (
    Webhooks,
    channel_env,
    conversation_of,
    messenger_text,
    new_fake,
    start_api_with,
    telegram_text,
    wait_until,
    whatsapp_text,
)

JANE = "jane.doe@example.com"


@dataclass
class Desk:
    store: Store
    fake: FakePlatforms
    hooks: Webhooks
    env: dict[str, str]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def desk(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Desk]:
    fake = new_fake()
    store = new_store(request.param, tmp_path_factory.mktemp(f"known-{request.param}"))
    env = {**channel_env(fake.url), "OPSDESK_RASA_URL": f"http://127.0.0.1:{free_port()}"}
    start_api_with(store, env)
    try:
        yield Desk(store, fake, Webhooks(store.base_url), env)
    finally:
        stop_api(store)
        fake.stop()
        drop_store(store)


def new_key() -> str:
    return str(uuid.uuid4().int % 10**9 + 10**9)


def open_conversation(desk: Desk, channel: str, key: str) -> str:
    """The customer writes on `channel`; the hub's conversation id for them."""
    uid = uuid.uuid4().int % 10**9
    if channel == "telegram":
        r = desk.hooks.telegram(telegram_text(uid, int(key), "hi, where is my order?"))
    elif channel == "whatsapp":
        r = desk.hooks.meta(channel, whatsapp_text(key, f"wamid.{uid}", "hi"))
    elif channel == "messenger":
        r = desk.hooks.meta(channel, messenger_text(key, f"m_{uid}", "hi"))
    else:  # REST: the caller names the sender
        r = httpx.post(
            f"{desk.store.base_url}/webhooks/rest/webhook",
            json={"sender": key, "message": "hi"},
            timeout=30,
        )
    assert r.status_code == 200, r.text
    with desk.store.client("admin") as admin:
        found = wait_until("the conversation exists", lambda: conversation_of(admin, channel, key))
    return str(found["id"])


def prove(desk: Desk, conversation_id: str, order: str, email: str) -> int:
    """The assistant's lookup: the customer gives an order number and its email."""
    with desk.store.client("service") as service:
        r = service.post(
            "/api/v1/orders/lookup",
            json={"order_number": order, "email": email, "conversation_id": conversation_id},
        )
    return r.status_code


def known(
    desk: Desk, conversation_id: str, role: str = "service", channel: str | None = None
) -> httpx.Response:
    """What the assistant asks at a session's start (`channel`: the one in its metadata)."""
    with desk.store.client(role) as client:
        return client.get(
            f"/api/v1/conversations/{conversation_id}/known-customer",
            params={"channel": channel} if channel is not None else None,
        )


def latest_order_of(desk: Desk, email: str) -> dict:
    with desk.store.client("admin") as admin:
        r = admin.get("/api/v1/orders", params={"customer_email": email, "limit": 200})
    assert r.status_code == 200, r.text
    return max(r.json()["items"], key=lambda o: (o["placed_at"], int(o["order_number"])))


@pytest.mark.parametrize("channel", ["telegram", "messenger", "whatsapp"])
def test_a_customer_who_proved_who_they_are_is_known_with_their_latest_order(
    desk: Desk, channel: str
) -> None:
    conversation = open_conversation(desk, channel, new_key())
    assert known(desk, conversation).status_code == 404
    assert prove(desk, conversation, "10001", JANE) == 200
    r = known(desk, conversation)
    assert r.status_code == 200, r.text
    body = r.json()
    latest = latest_order_of(desk, JANE)
    assert body["first_name"] == "Jane" and body["email"] == JANE
    assert body["latest_order_number"] == str(latest["order_number"])
    assert body["latest_order_status"] == latest["status"]
    # The channel the assistant saw changes nothing for a channel that identifies the person.
    assert known(desk, conversation, channel=channel).json() == body


def test_which_channels_identify_a_person_is_the_apis_answer_to_the_channel_it_is_told(
    desk: Desk,
) -> None:
    """The assistant asks at every session's start with the channel of its metadata; the API
    alone says that the website chat and REST identify no one (it answers 404 at once)."""
    conversation = open_conversation(desk, "telegram", new_key())
    assert prove(desk, conversation, "10001", JANE) == 200
    assert known(desk, conversation, channel="telegram").status_code == 200
    for channel in ("socketio", "rest", "web", "TELEGRAM"):
        r = known(desk, conversation, channel=channel)
        assert r.status_code == 404 and r.json()["code"] == "customer_not_known", channel
    too_long = known(desk, conversation, channel="t" * 41)
    assert too_long.status_code == 422
    assert known(desk, conversation).status_code == 200  # nothing changed


def test_a_wrong_proof_makes_no_one_known(desk: Desk) -> None:
    conversation = open_conversation(desk, "telegram", new_key())
    assert prove(desk, conversation, "10001", "someone.else@example.com") == 404
    r = known(desk, conversation)
    assert r.status_code == 404 and r.json()["code"] == "customer_not_known"


def test_the_proof_never_travels_to_another_channel_identity(desk: Desk) -> None:
    chat = new_key()
    proven = open_conversation(desk, "telegram", chat)
    assert prove(desk, proven, "10001", JANE) == 200
    assert known(desk, proven).status_code == 200
    # The same customer on another Telegram chat and on WhatsApp: not known there.
    for channel, key in (("telegram", new_key()), ("whatsapp", chat)):
        other = open_conversation(desk, channel, key)
        assert other != proven
        assert known(desk, other).status_code == 404


def test_the_website_chat_and_rest_senders_are_never_known(desk: Desk) -> None:
    # A REST sender id is whatever the caller chose, and a browser can be shared.
    conversation = open_conversation(desk, "rest", f"visitor-{uuid.uuid4().hex[:8]}")
    assert prove(desk, conversation, "10001", JANE) == 200
    assert known(desk, conversation).status_code == 404


def test_only_the_assistant_and_admins_may_ask(desk: Desk) -> None:
    conversation = open_conversation(desk, "telegram", new_key())
    assert prove(desk, conversation, "10001", JANE) == 200
    assert known(desk, conversation, role="agent").status_code == 403
    r = httpx.get(f"{desk.store.base_url}/api/v1/conversations/{conversation}/known-customer")
    assert r.status_code == 401
    assert known(desk, "no-such-conversation").status_code == 404


def test_the_proof_has_a_lifetime_and_zero_turns_it_off(desk: Desk) -> None:
    conversation = open_conversation(desk, "telegram", new_key())
    assert prove(desk, conversation, "10001", JANE) == 200
    assert known(desk, conversation).status_code == 200
    try:
        for hours in ("0.0003", "0"):  # about one second, then off
            stop_api(desk.store)
            start_api_with(desk.store, {**desk.env, "OPSDESK_KNOWN_CUSTOMER_HOURS": hours})
            time.sleep(1.2)
            assert known(desk, conversation).status_code == 404, hours
    finally:
        stop_api(desk.store)
        start_api_with(desk.store, desk.env)
    assert known(desk, conversation).status_code == 200
