"""Actions that end the bot's turn (`ends_turn`) tell Rasa to listen next, so Rasa skips the
round of policy predictions that would only choose action_listen. That is right only while
the training data agrees: after each such action, every story, rule and test story goes on
with a customer message (or ends, which in a rule means listening)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from action_testing import REPO, make_tracker, run_action
from rasa_sdk import Action
from rasa_sdk.executor import ActionExecutor

from actions.handoff import ActionDeclineHandoff, ActionFallback

# Steps that record what the action itself did; the step after them is what comes next.
RECORDS = ("slot_was_set", "active_loop")


def turn_enders() -> dict[str, type[Action]]:
    """Every action the action server serves that ends the turn, by name."""
    executor = ActionExecutor()
    executor.register_package("actions")
    served = {run.__self__: name for name, run in executor.actions.items()}  # bound runs
    return {
        name: type(action) for action, name in served.items() if getattr(action, "ends_turn", False)
    }


def data_files() -> list[Path]:
    return sorted(
        [
            *REPO.glob("data/stories/*.yml"),
            *REPO.glob("data/rules/*.yml"),
            *REPO.glob("tests/bot/*.yml"),
        ]
    )


def what_follows(steps: list[dict[str, Any]], index: int) -> dict[str, Any] | None:
    for step in steps[index + 1 :]:
        if not any(key in step for key in RECORDS):
            return step
    return None


def test_every_turn_ending_action_is_followed_by_the_customer_in_all_the_data() -> None:
    enders = turn_enders()
    assert {"action_order_status", "action_handoff", "action_submit_return"} <= set(enders)
    seen: dict[str, int] = dict.fromkeys(enders, 0)
    wrong = []
    for path in data_files():
        data = yaml.safe_load(path.read_text()) or {}
        for kind in ("stories", "rules"):
            for flow in data.get(kind) or []:
                steps = flow.get("steps") or []
                for i, step in enumerate(steps):
                    name = step.get("action")
                    if name not in enders:
                        continue
                    seen[name] += 1
                    after = what_follows(steps, i)
                    if after is None:
                        if flow.get("wait_for_user_input") is False:
                            wrong.append(
                                f"{path.name}: {flow.get(kind[:-1])}: ends without listening"
                            )
                    elif "intent" not in after and "user" not in after and "or" not in after:
                        wrong.append(f"{path.name}: {flow.get(kind[:-1])}: {name} -> {after}")
    assert wrong == []
    assert all(seen.values()), seen  # each is in the data, so the check above means something


def test_what_follows_sees_an_action_after_the_records() -> None:
    steps = [
        {"action": "action_order_status"},
        {"slot_was_set": [{"handoff_offered": True}]},
        {"action": "utter_anything_else"},
    ]
    assert what_follows(steps, 0) == {"action": "utter_anything_else"}


@pytest.mark.asyncio
async def test_a_turn_ending_action_asks_rasa_to_listen_last() -> None:
    tracker = make_tracker(text="no thanks", intent="deny", slots={"handoff_offered": True})
    _, events = await run_action(ActionDeclineHandoff(), tracker)
    assert events[-1] == {"event": "followup", "timestamp": None, "name": "action_listen"}
    assert [e for e in events if e["event"] == "slot"]  # what it did is still there

    # An action that does not end the turn leaves the next step to the policies.
    tracker = make_tracker(text="zzz qq", intent="nlu_fallback")
    _, events = await run_action(ActionFallback(), tracker)
    assert all(e["event"] != "followup" for e in events)
