"""Reading the conversation's history (tracker.events): the customer's messages and what
the bot did between them. The one place that walks the events for this."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    from rasa_sdk import Tracker


def _is_user(event: dict[str, Any]) -> bool:
    return event.get("event") == "user"


def user_events(tracker: Tracker) -> list[dict[str, Any]]:
    """The customer's messages in the tracker, oldest first."""
    return [e for e in tracker.events if _is_user(e)]


def latest_user_event(tracker: Tracker) -> dict[str, Any]:
    """The customer's latest message event, or {} when there is none."""
    return next((e for e in reversed(tracker.events) if _is_user(e)), {})


@overload
def last_user_index(tracker: Tracker) -> int | None: ...
@overload
def last_user_index(tracker: Tracker, default: int) -> int: ...
def last_user_index(tracker: Tracker, default: int | None = None) -> int | None:
    """Index in tracker.events of the customer's latest message; `default` when there is
    none (callers differ: 0 = "nothing before it", -1 = "every event is after it")."""
    return max((i for i, e in enumerate(tracker.events) if _is_user(e)), default=default)


def previous_turn_ran(tracker: Tracker, action: str) -> bool:
    """Did the bot run `action` in answer to the customer's previous message, i.e. between
    the message before the latest one (or the start) and the latest one?"""
    users_seen = 0
    for event in reversed(tracker.events):
        if _is_user(event):
            users_seen += 1
            if users_seen == 2:
                return False
        elif users_seen == 1 and event.get("event") == "action" and event.get("name") == action:
            return True
    return False


def set_this_turn(tracker: Tracker, slot: str) -> bool:
    """Did the customer's latest message set the slot? (Rasa's slot extraction right after
    the message, not the form's re-sent candidates, which come after the form's action.)"""
    last_user = last_user_index(tracker, default=-1)
    for event in tracker.events[last_user + 1 :]:
        if event.get("event") == "action":
            return False
        if event.get("event") == "slot" and event.get("name") == slot:
            return True
    return False


def value_before_latest_message(tracker: Tracker, slot: str) -> Any | None:
    """The slot's value before the customer's latest message changed it."""
    last_user = last_user_index(tracker)
    if last_user is None:
        return tracker.get_slot(slot)
    value = None
    for event in tracker.events[:last_user]:
        if event.get("event") == "slot" and event.get("name") == slot:
            value = event.get("value")
    return value
