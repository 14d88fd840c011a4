"""The console's fixtures: a seeded database (SQLite and PostgreSQL) behind a real api process
whose assistant cannot be reached, so a customer who asks for a person gets the ticket the hub
opens itself; and a signed-in browser-like client of the console."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import Store, drop_store, free_port, new_store, start_api, stop_api
from tests.hub.conftest import environment

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
MAX_FAILURES_PER_ACCOUNT = 3
MAX_FAILURES_PER_ADDRESS = 12


class ConsoleClient:
    """A person using the console through its forms, cookies and redirects."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)
        self.csrf = ""

    def close(self) -> None:
        self.http.close()

    def login_form(self) -> str:
        page = self.http.get("/console/login")
        assert page.status_code == 200, page.text
        found = CSRF_FIELD.search(page.text)
        assert found, "the sign-in form has no CSRF field"
        return found.group(1)

    def sign_in(self, email: str, password: str) -> httpx.Response:
        token = self.login_form()
        answer = self.http.post(
            "/console/login",
            data={"csrf_token": token, "email": email, "password": password, "next": "/console"},
        )
        if answer.status_code == 303:
            self.refresh_csrf()
        return answer

    def refresh_csrf(self) -> None:
        page = self.http.get("/console")
        assert page.status_code == 200, page.text
        found = CSRF_FIELD.search(page.text)
        assert found
        self.csrf = found.group(1)

    def post(self, path: str, **fields: Any) -> httpx.Response:
        return self.http.post(path, data={"csrf_token": self.csrf, **fields})


class ConsoleStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        secrets = json.loads((store.var_dir / "secrets.json").read_text())
        self.agent_password = secrets["agent_password"]
        self.admin_password = secrets["admin_password"]
        self._clients: list[ConsoleClient] = []

    @property
    def base_url(self) -> str:
        return self.store.base_url

    def client(self) -> ConsoleClient:
        client = ConsoleClient(self.base_url)
        self._clients.append(client)
        return client

    def agent(self) -> ConsoleClient:
        client = self.client()
        assert client.sign_in("alex@fernhill.example", self.agent_password).status_code == 303
        return client

    def admin(self) -> ConsoleClient:
        client = self.client()
        assert client.sign_in("admin@fernhill.example", self.admin_password).status_code == 303
        return client

    def api(self, role: str = "admin") -> httpx.Client:
        return self.store.client(role)

    def rest(self, sender: str, message: str) -> list[dict[str, Any]]:
        r = httpx.post(
            f"{self.base_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": message},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        return r.json()

    def customer_asks_for_a_person(self, first: str = "where is my parcel?") -> tuple[str, str]:
        """A REST customer whose message finds the assistant away chooses "Talk to a person";
        returns (sender, conversation id)."""
        sender = f"cust-{uuid.uuid4().hex[:8]}"
        answer = self.rest(sender, first)
        assert answer[0]["buttons"][0]["payload"] == "/human_handoff"
        self.rest(sender, "/human_handoff")
        with self.api("agent") as api:
            for item in api.get("/api/v1/conversations", params={"channel": "rest"}).json()[
                "items"
            ]:
                if item["channel_key"] == sender:
                    return sender, item["id"]
        raise AssertionError(f"no conversation for {sender}")

    def ticket_of(self, conversation_id: str) -> dict[str, Any]:
        with self.api("agent") as api:
            items = api.get("/api/v1/tickets", params={"conversation_id": conversation_id}).json()[
                "items"
            ]
        assert items, f"no ticket for {conversation_id}"
        return items[0]

    def close(self) -> None:
        for client in self._clients:
            client.close()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def console(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConsoleStore]:
    store = new_store(request.param, tmp_path_factory.mktemp(f"console-{request.param}"))
    with environment(
        # Nothing listens there: the assistant is away, the hub opens handoff tickets itself.
        OPSDESK_RASA_URL=f"http://127.0.0.1:{free_port()}",
        OPSDESK_RASA_TIMEOUT_SECONDS="2",
        OPSDESK_CONSOLE_MAX_FAILURES_PER_ACCOUNT=str(MAX_FAILURES_PER_ACCOUNT),
        OPSDESK_CONSOLE_MAX_FAILURES_PER_ADDRESS=str(MAX_FAILURES_PER_ADDRESS),
    ):
        start_api(store)
    console = ConsoleStore(store)
    yield console
    console.close()
    stop_api(store)
    drop_store(store)
