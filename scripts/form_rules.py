"""Writes data/rules/forms.yml, the dialogue rules every form shares, from the two tables
below: what starts and ends each form, and what may interrupt any form. A new form is one
row in FORMS; a new interruption is one row in RESUMES or LEAVES.

    .venv/bin/python scripts/form_rules.py          # rewrite data/rules/forms.yml
    .venv/bin/python scripts/form_rules.py --check  # exit 1 if the file is not the tables'

Rasa's rules name the active form in their conditions, so one generic rule per
interruption is not possible; generating them keeps one definition of each behaviour.
`tests/test_form_rules.py` checks that the committed file matches the tables and that every
form of the domain has a row; `rasa data validate` (scripts/test.sh) checks the result.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple

RULES_FILE = Path(__file__).resolve().parent.parent / "data" / "rules" / "forms.yml"


class Form(NamedTuple):
    name: str
    intent: str  # the request that starts the form
    then: str  # the action that answers once the form is done


FORMS = [
    Form("order_verification_form", "order_status", "action_order_status"),
    Form("cancel_order_form", "cancel_order", "action_cancel_order"),
    Form("return_form", "initiate_return", "action_submit_return"),
    Form("return_status_form", "return_status", "action_return_status"),
]


class Interruption(NamedTuple):
    intent: str
    action: str
    words: str  # how the rule's name says it


# Answered, then the form asks its question again.
RESUMES = [
    Interruption("product_faq", "action_answer_product_question", "a product question"),
    Interruption("stock_availability", "action_check_stock", "a stock question"),
    Interruption("bot_challenge", "utter_iamabot", "are you a bot"),
    Interruption("nlu_fallback", "action_fallback", "a message not understood"),
]
# The form ends, then the action answers (a handoff settles its own offer slot).
LEAVES = [
    Interruption("stop", "action_stop_form", "stop"),
    Interruption("human_handoff", "action_handoff", "asking for a person"),
    Interruption("complaint", "action_handoff", "a complaint"),
    Interruption("goodbye", "utter_goodbye", "goodbye"),
]
HANDOFF_ACTIONS = {"action_handoff"}


def _rule(name: str, steps: list[str], condition: str | None = None) -> str:
    lines = [f"- rule: {name}"]
    if condition:
        lines += ["  condition:", f"  - active_loop: {condition}"]
    lines += ["  steps:"] + [f"  - {step}" for step in steps]
    return "\n".join(lines) + "\n"


def _starts(form: Form, after: list[str]) -> list[str]:
    return after + [f"action: {form.name}"]


def form_rules(form: Form) -> list[str]:
    rules = [
        _rule(
            f"{form.intent} starts {form.name}",
            [f"intent: {form.intent}", f"action: {form.name}", f"active_loop: {form.name}"],
        ),
        _rule(
            f"{form.name} done",
            [
                f"action: {form.name}",
                "active_loop: null",
                "slot_was_set:\n    - requested_slot: null",
                f"action: {form.then}",
            ],
            condition=form.name,
        ),
        "# Everything already known (e.g. verified earlier), or stopped at once.\n"
        + _rule(
            f"{form.name} done right away",
            [
                f"intent: {form.intent}",
                f"action: {form.name}",
                "active_loop: null",
                f"action: {form.then}",
            ],
        ),
    ]
    for it in RESUMES:
        rules.append(
            _rule(
                f"{it.words} during {form.name}, then back to it",
                [
                    f"intent: {it.intent}",
                    f"action: {it.action}",
                    f"action: {form.name}",
                    f"active_loop: {form.name}",
                ],
                condition=form.name,
            )
        )
    for it in LEAVES:
        steps = [f"intent: {it.intent}", "action: action_deactivate_loop", "active_loop: null"]
        steps.append(f"action: {it.action}")
        if it.action in HANDOFF_ACTIONS:
            steps.append("slot_was_set:\n    - handoff_offered: null")
        rules.append(_rule(f"{it.words} leaves {form.name}", steps, condition=form.name))
    return rules


def switch_rules(current: Form, new: Form) -> list[str]:
    """Another request in the middle of a form: leave it and start the new one."""
    leave = [f"intent: {new.intent}", "action: action_deactivate_loop", "active_loop: null"]
    name = f"{new.intent} during {current.name} switches to {new.name}"
    return [
        _rule(name, leave + [f"action: {new.name}", f"active_loop: {new.name}"], current.name),
        _rule(
            f"{name}, done right away",
            leave + [f"action: {new.name}", "active_loop: null", f"action: {new.then}"],
            current.name,
        ),
    ]


def render() -> str:
    rules: list[str] = []
    for form in FORMS:
        rules += form_rules(form)
    rules.append("# Another request in the middle of a form: leave it and start the new one.\n")
    for current in FORMS:
        for new in FORMS:
            if new != current:
                rules += switch_rules(current, new)
    header = (
        "# Generated by scripts/form_rules.py from its tables: edit them there and run it.\n"
        "# The rules every form shares: start, done, interruptions, switching forms.\n"
        'version: "3.1"\n\nrules:\n'
    )
    body = ""
    for rule in rules:
        # A comment line belongs to the rule that follows it.
        body += rule if rule.startswith("#") and rule.count("\n") == 1 else rule + "\n"
    return header + body.rstrip("\n") + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        if not RULES_FILE.exists() or RULES_FILE.read_text() != text:
            print(f"{RULES_FILE} does not match scripts/form_rules.py: run it", file=sys.stderr)
            return 1
        return 0
    RULES_FILE.write_text(text)
    print(f"wrote {RULES_FILE} ({text.count('- rule:')} rules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
