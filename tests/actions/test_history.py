"""Reading the conversation's history (actions/history.py), with each caller's default."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from actions.history import (
    last_user_index,
    latest_user_event,
    previous_turn_ran,
    set_this_turn,
    user_events,
)
from actions.history import (
    value_before_latest_message as before,
)


def user(text: str) -> dict[str, Any]:
    return {"event": "user", "text": text}


def action(name: str) -> dict[str, Any]:
    return {"event": "action", "name": name}


def slot(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


def tracker(events: list[dict[str, Any]], slots: dict[str, Any] | None = None) -> Tracker:
    return Tracker("history-test", slots or {}, {}, events, False, None, None, None)


NO_MESSAGE = [action("action_session_start"), slot("order_number", "10001"), action("a")]
TWO_MESSAGES = [
    action("action_session_start"),  # 0
    user("hi"),  # 1
    action("action_fallback"),  # 2
    slot("order_number", "10001"),  # 3
    action("action_listen"),  # 4
    user("order 10002"),  # 5
    slot("order_number", "10002"),  # 6
    action("validate_order_form"),  # 7
    slot("order_contact", "94110"),  # 8
]


def test_user_events_and_the_latest_one() -> None:
    assert [e["text"] for e in user_events(tracker(TWO_MESSAGES))] == ["hi", "order 10002"]
    assert latest_user_event(tracker(TWO_MESSAGES))["text"] == "order 10002"
    assert user_events(tracker(NO_MESSAGE)) == []
    assert latest_user_event(tracker(NO_MESSAGE)) == {}  # handoff reads .get() on it


def test_index_of_the_latest_message_with_each_callers_default() -> None:
    assert last_user_index(tracker(TWO_MESSAGES)) == 5
    assert last_user_index(tracker(TWO_MESSAGES), default=0) == 5
    assert last_user_index(tracker(TWO_MESSAGES), default=-1) == 5
    # No message yet: None (the slot's value before it is its value now), 0 (the form
    # was not running before it) or -1 (every event came after it).
    assert last_user_index(tracker(NO_MESSAGE)) is None
    assert last_user_index(tracker(NO_MESSAGE), default=0) == 0
    assert last_user_index(tracker(NO_MESSAGE), default=-1) == -1
    assert last_user_index(tracker([])) is None


def test_previous_turn_is_what_the_bot_did_between_the_last_two_messages() -> None:
    assert previous_turn_ran(tracker(TWO_MESSAGES), "action_fallback")
    assert not previous_turn_ran(tracker(TWO_MESSAGES), "validate_order_form")  # this turn
    assert not previous_turn_ran(tracker(TWO_MESSAGES), "action_session_start")  # before
    three = [*TWO_MESSAGES, action("action_listen"), user("what?")]
    assert previous_turn_ran(tracker(three), "validate_order_form")
    assert not previous_turn_ran(tracker(three), "action_fallback")  # two turns ago
    # One message only: what came before it counts as the previous turn.
    assert previous_turn_ran(tracker([action("action_fallback"), user("hi")]), "action_fallback")
    assert not previous_turn_ran(tracker(NO_MESSAGE), "a")
    assert not previous_turn_ran(tracker([]), "action_fallback")


def test_set_this_turn_is_the_slot_set_right_after_the_latest_message() -> None:
    assert set_this_turn(tracker(TWO_MESSAGES), "order_number")
    # Set after the form's action (a re-sent candidate), or only in an earlier turn: no.
    assert not set_this_turn(tracker(TWO_MESSAGES), "order_contact")
    earlier = [*TWO_MESSAGES, action("action_listen"), user("thanks")]
    assert not set_this_turn(tracker(earlier), "order_number")
    # No message at all: every event is after it, up to the first action.
    assert not set_this_turn(tracker(NO_MESSAGE), "order_number")
    assert set_this_turn(tracker([slot("order_number", "1"), action("a")]), "order_number")


def test_value_before_the_latest_message() -> None:
    assert before(tracker(TWO_MESSAGES), "order_number") == "10001"
    assert before(tracker(TWO_MESSAGES), "order_contact") is None
    # No message at all: the slot's current value.
    assert before(tracker(NO_MESSAGE, {"order_number": "10009"}), "order_number") == "10009"
