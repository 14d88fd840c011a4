"""Building trackers as Rasa sends them, running actions, reading what they did."""

from __future__ import annotations

import copy
import json
import time
import uuid
from pathlib import Path
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

REPO = Path(__file__).resolve().parents[2]
FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "trackers.json").read_text())


def make_tracker(
    state: str = "new_conversation",
    *,
    text: str = "",
    intent: str = "inform",
    entities: dict[str, Any] | None = None,
    slots: dict[str, Any] | None = None,
    form: str | None = None,
    requested_slot: str | None = None,
    candidates: dict[str, Any] | None = None,
    activating: bool = False,
    sender_id: str | None = None,
    ranking: dict[str, float] | None = None,
    earlier_text: str | None = None,
) -> Tracker:
    """A tracker as Rasa sends it to the action server.

    For a form's validation action, `candidates` are the slot values Rasa extracted this
    turn; they come last in the events, as Rasa's FormAction sends them.
    """
    base = copy.deepcopy(FIXTURES[state])
    all_slots: dict[str, Any] = {**base.get("slots", {}), **(slots or {})}
    if requested_slot:
        all_slots["requested_slot"] = requested_slot
    entity_list = [
        {"entity": name, "value": value, "start": 0, "end": 0, "extractor": "test"}
        for name, value in (entities or {}).items()
    ]
    latest: dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.95},
        "entities": entity_list,
    }
    if ranking:
        latest["intent_ranking"] = [
            {"name": name, "confidence": confidence} for name, confidence in ranking.items()
        ]
    events: list[dict[str, Any]] = list(base.get("events", []))
    if earlier_text:
        # The customer's previous message in words (a button answered it).
        events.append({"event": "user", "text": earlier_text, "timestamp": time.time()})
        events.append({"event": "action", "name": "action_fallback"})
    if form and not activating:
        events.append({"event": "active_loop", "name": form})
    events.append({"event": "user", "text": text, "timestamp": time.time(), "parse_data": latest})
    if form:
        events.append({"event": "action", "name": form})
    for name, value in (candidates or {}).items():
        all_slots[name] = value
        events.append({"event": "slot", "name": name, "value": value})
    return Tracker(
        sender_id or f"test-{uuid.uuid4().hex[:12]}",
        all_slots,
        latest,
        events,
        False,
        None,
        {"name": form} if form else {},  # Rasa marks the form active even when activating
        form or "action_listen",
    )


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The last value each slot was set to by the events."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def texts(dispatcher: CollectingDispatcher) -> str:
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def buttons(dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
    return [b for m in dispatcher.messages for b in (m.get("buttons") or [])]


DOMAIN: dict[str, Any] = {}


def load_domain() -> dict[str, Any]:
    """The merged domain dict the action server receives (forms and slots)."""
    if not DOMAIN:
        import yaml

        for path in sorted((REPO / "bot" / "domain").glob("*.yml")):
            part = yaml.safe_load(path.read_text())
            for key in ("slots", "forms"):
                DOMAIN.setdefault(key, {}).update(part.get(key) or {})
    return DOMAIN


async def run_action(action, tracker: Tracker):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, load_domain())
    return dispatcher, events
