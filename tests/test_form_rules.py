"""The form rules are generated from one table (scripts/form_rules.py): the committed file is
the table's, and every form of the domain has its row."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import form_rules  # noqa: E402


def test_the_committed_rules_are_what_the_table_generates() -> None:
    assert form_rules.RULES_FILE.read_text() == form_rules.render()
    check = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "form_rules.py"), "--check"], capture_output=True
    )
    assert check.returncode == 0, check.stderr


def test_every_form_of_the_domain_has_a_row_and_its_actions_exist() -> None:
    forms: set[str] = set()
    actions: set[str] = set()
    for path in (REPO / "bot" / "domain").glob("*.yml"):
        part = yaml.safe_load(path.read_text())
        forms |= set(part.get("forms") or {})
        actions |= set(part.get("actions") or []) | set(part.get("responses") or {})
    assert {f.name for f in form_rules.FORMS} == forms
    used = {f.then for f in form_rules.FORMS}
    used |= {i.action for i in form_rules.RESUMES + form_rules.LEAVES}
    assert used <= actions, used - actions


def test_each_form_gets_every_interruption_and_a_switch_to_every_other_form() -> None:
    rules = yaml.safe_load(form_rules.render())["rules"]
    per_form = len(form_rules.RESUMES) + len(form_rules.LEAVES) + 3
    switches = 2 * len(form_rules.FORMS) * (len(form_rules.FORMS) - 1)
    assert len(rules) == len(form_rules.FORMS) * per_form + switches
    assert len({r["rule"] for r in rules}) == len(rules)  # names are unique
