"""`opsdesk agent create` makes an account that signs in to the console with its role."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO, Store
from tests.console.conftest import ConsoleClient


def agent_create(store: Store, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "agent", "create", *args],
        cwd=REPO,
        env=store.env,
        capture_output=True,
        text=True,
    )


def test_agent_create_gives_a_console_account_with_its_role(live: Store) -> None:
    made = agent_create(
        live, "--email", "Riley@Fernhill.example", "--name", "Riley Moss", "--role", "admin"
    )
    assert made.returncode == 0, made.stderr
    assert "created admin riley@fernhill.example (Riley Moss)" in made.stdout
    password = made.stdout.split("password (shown once): ")[1].strip()
    assert len(password) >= 10

    again = agent_create(live, "--email", "riley@fernhill.example", "--name", "Riley")
    assert again.returncode == 1 and "already has an account" in again.stderr
    weak = agent_create(live, "--email", "x@fernhill.example", "--name", "X", "--password", "short")
    assert weak.returncode == 1 and "at least 10 characters" in weak.stderr

    riley = ConsoleClient(live.base_url)
    try:
        assert riley.sign_in("riley@fernhill.example", password).status_code == 303
        assert riley.http.get("/console/admin/agents").status_code == 200
    finally:
        riley.close()
