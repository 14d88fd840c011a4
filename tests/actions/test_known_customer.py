"""action_session_start against the real API: who is not known starts plainly; the path where
the API knows the customer runs in tests/hub/test_social_rasa.py (a Telegram customer who
proved who they are, a new session, the greeting by name)."""

from __future__ import annotations

import pytest
from action_testing import make_tracker, run_action, slot_events

from actions.api_client import get_client
from actions.known_customer import ActionSessionStart, known_customer_slots

pytestmark = pytest.mark.asyncio


def with_channel(channel: str | None):
    tracker = make_tracker()
    tracker.slots["session_started_metadata"] = {"channel": channel} if channel else None
    return tracker


def event_names(events) -> list[str]:
    return [e["event"] for e in events]


@pytest.mark.parametrize("channel", ["socketio", "rest", "telegram", None])
async def test_a_customer_the_api_does_not_know_starts_a_plain_session(channel):
    dispatcher, events = await run_action(ActionSessionStart(), with_channel(channel))
    assert event_names(events) == ["session_started", "action"]
    assert events[-1]["name"] == "action_listen"
    assert dispatcher.messages == []


@pytest.mark.parametrize("channel", ["socketio", "rest", "telegram", "email", None])
async def test_every_session_start_asks_the_api_with_the_channel_it_started_on(
    channel, monkeypatch
):
    """Which channels identify a person is the API's list alone: the action filters none."""
    client, asked = get_client(), []
    ask_api = client.known_customer

    async def recorded(conversation_id, channel=None):
        asked.append(channel)
        return await ask_api(conversation_id, channel=channel)

    monkeypatch.setattr(client, "known_customer", recorded)
    _, events = await run_action(ActionSessionStart(), with_channel(channel))
    assert asked == [channel]
    assert event_names(events) == ["session_started", "action"]  # the API: not known


async def test_slots_of_a_known_customer_verify_their_latest_order():
    slots = slot_events(
        known_customer_slots(
            {"first_name": "Jane", "email": "jane.doe@example.com", "latest_order_number": "10003"}
        )
    )
    assert slots == {
        "known_customer": True,
        "customer_name": "Jane",
        "order_number": "10003",
        "order_contact": "jane.doe@example.com",
        "email": "jane.doe@example.com",
        "verified_order": "10003",
    }


@pytest.mark.api_down
async def test_with_the_api_down_the_session_still_starts():
    dispatcher, events = await run_action(ActionSessionStart(), with_channel("telegram"))
    assert event_names(events) == ["session_started", "action"]
