"""bot/rasa_server.py: Rasa's check of the action server's answers, on a validator built once,
accepts and refuses exactly what Rasa's own check does, with the same message."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
from action_testing import REPO
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

VALID: list[dict[str, Any]] = [
    {},
    {"events": [], "responses": []},
    {
        "events": [
            {"event": "slot", "name": "verified_order", "value": "10001", "timestamp": None},
            {"event": "active_loop", "name": None},
        ],
        "responses": [{"text": "Order #10001 is on its way.", "buttons": []}],
    },
]
INVALID: list[dict[str, Any]] = [
    {"events": {"event": "slot"}},  # not a list
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": "slot", "value": 1}]},  # a slot event without its name
    {"responses": ["plain text, not an object"]},
]


def load_rasa_server():
    spec = importlib.util.spec_from_file_location("rasa_server", REPO / "bot" / "rasa_server.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def checks(monkeypatch) -> tuple[Any, Any]:
    """(Rasa's own check, the installed one); Rasa's is put back after the test."""
    original = RemoteAction._validate_action_result
    monkeypatch.setattr(RemoteAction, "_validate_action_result", original)
    load_rasa_server().install_response_check()
    installed = RemoteAction._validate_action_result
    assert installed is not original
    return original, installed


def outcome(check, result: dict[str, Any]) -> str:
    action = RemoteAction("action_order_status", None)
    try:
        return str(check(action, result))
    except ValidationError as error:
        return f"refused: {error.message}"


@pytest.mark.parametrize("result", VALID)
def test_valid_answers_pass_both_checks(checks, result):
    original, installed = checks
    assert outcome(installed, result) == outcome(original, result) == "True"


@pytest.mark.parametrize("result", INVALID)
def test_invalid_answers_are_refused_with_rasas_own_message(checks, result):
    original, installed = checks
    refused = outcome(installed, result)
    assert refused.startswith("refused: ")
    assert "Failed to validate Action server response" in refused
    assert refused == outcome(original, result)


def test_a_rasa_server_without_the_tracker_store_at_hand_does_not_start(tmp_path) -> None:
    """Rasa would fall back to an in-memory tracker store with a warning when the endpoints
    file's store cannot be imported; bot/rasa_server.py stops at once instead. With the
    repository on PYTHONPATH (as api/launch.py starts it) it runs Rasa's command line."""
    import os
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    command = [sys.executable, str(REPO / "bot" / "rasa_server.py"), "--version"]
    without = subprocess.run(
        command, cwd=tmp_path, env=base, capture_output=True, text=True, timeout=120
    )
    assert without.returncode != 0
    assert "No module named 'bot'" in without.stderr
    with_repo = subprocess.run(
        command,
        cwd=tmp_path,
        env={**base, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert with_repo.returncode == 0, with_repo.stderr[-2000:]
    assert "Rasa Version" in with_repo.stdout and "3.6" in with_repo.stdout
