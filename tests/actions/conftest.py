"""Action tests run the real actions against the real operations API.

A session fixture seeds a temporary SQLite database with the demo store (`opsdesk seed`),
starts `opsdesk api` on a free port with the project's API venv, and stops it at the end.
Trackers are built from tests/actions/fixtures/trackers.json plus what each test adds.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from api import stack  # the standard library only: importable from the Rasa venv

try:  # these tests need the Rasa venv; under the API venv this folder is not collected
    import pytest_asyncio
    import requests

    from actions import api_client
except ImportError:
    collect_ignore_glob = ["*"]
    pytest_asyncio = SimpleNamespace(fixture=pytest.fixture)

REPO = Path(__file__).resolve().parents[2]
OPSDESK = Path(os.environ.get("OPSDESK_BIN") or REPO / ".venv" / "bin" / "opsdesk")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def ops_api(tmp_path_factory):
    """The operations API on a fresh demo database, for the whole test session."""
    if not OPSDESK.exists():
        pytest.fail(f"{OPSDESK} not found: set up the API venv (.venv) first")
    tmp = tmp_path_factory.mktemp("ops")
    service_key, admin_key = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "OPSDESK_DATABASE_URL": f"sqlite:///{tmp / 'ops.db'}",
        "OPSDESK_VAR_DIR": str(tmp / "var"),
        "OPSDESK_SERVICE_KEY": service_key,
        "OPSDESK_ADMIN_KEY": admin_key,
    }
    seeded = subprocess.run(
        [str(OPSDESK), "seed"], env=env, cwd=REPO, capture_output=True, text=True, timeout=600
    )
    if seeded.returncode != 0:
        pytest.fail(f"opsdesk seed failed:\n{seeded.stdout}\n{seeded.stderr}")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    try:
        api = stack.start(
            [str(OPSDESK), "api", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=REPO,
            log_path=tmp / "api.log",
            health_url=f"{url}/healthz",
            timeout=60,
            name="opsdesk api",
        )
    except stack.NotReady as exc:
        pytest.fail(str(exc))
    with api:
        yield SimpleNamespace(
            url=url, service_key=service_key, admin_key=admin_key, log=api.log_path
        )


@pytest_asyncio.fixture(autouse=True)
async def api_env(request, monkeypatch):
    """Point the actions' client at the test API (tests marked `api_down` get a closed port)."""
    if request.node.get_closest_marker("api_down"):
        monkeypatch.setenv("OPSDESK_API_URL", f"http://127.0.0.1:{_free_port()}")
        monkeypatch.setenv("OPSDESK_SERVICE_KEY", "unused")
    else:
        ops = request.getfixturevalue("ops_api")
        monkeypatch.setenv("OPSDESK_API_URL", ops.url)
        monkeypatch.setenv("OPSDESK_SERVICE_KEY", ops.service_key)
    client = api_client.OpsApiClient()
    api_client.set_client(client)
    yield
    await client.aclose()


class Staff:
    """Direct, admin-keyed access to the API, to check what the actions changed."""

    def __init__(self, ops) -> None:
        self.url, self.key = ops.url, ops.admin_key

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(
            f"{self.url}/api/v1{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.key}"},
            timeout=5,
        )


@pytest.fixture
def staff(ops_api) -> Staff:
    return Staff(ops_api)
