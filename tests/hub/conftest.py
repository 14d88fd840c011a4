"""The hub's test fixtures: a seeded database (SQLite and PostgreSQL) behind a real api
process whose Rasa is the recording stand-in of `standin_rasa.py`, and a socket.io customer."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.conftest import Store, drop_store, new_store, start_api, stop_api
from tests.hub.chat_customer import ChatCustomer
from tests.hub.standin_rasa import StandInRasa

# The api gives up on the assistant after this long (the "Rasa is slow" tests wait it out).
RASA_TIMEOUT = 1.5


@contextmanager
def environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class HubStore:
    """The api (store) and its stand-in Rasa."""

    def __init__(self, store: Store, rasa: StandInRasa) -> None:
        self.store = store
        self.rasa = rasa

    def rest(self, sender: str, message: str, **extra: Any) -> list[dict[str, Any]]:
        r = httpx.post(
            f"{self.store.base_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": message, **extra},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        return r.json()

    def conversation_of(self, channel: str, key: str) -> dict[str, Any]:
        """The conversation listed for a channel key, as the console finds it."""
        with self.store.client("agent") as api:
            params: dict[str, Any] = {"channel": channel, "limit": 200}
            while True:
                page = api.get("/api/v1/conversations", params=params).json()
                for item in page["items"]:
                    if item["channel_key"] == key:
                        return item
                if not page["next_cursor"]:
                    raise AssertionError(f"no {channel} conversation with key {key}")
                params["cursor"] = page["next_cursor"]

    def transcript(self, conversation_id: str) -> list[dict[str, Any]]:
        with self.store.client("agent") as api:
            r = api.get(f"/api/v1/conversations/{conversation_id}/messages", params={"limit": 500})
            assert r.status_code == 200, r.text
            return r.json()["items"]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HubStore]:
    rasa = StandInRasa().start()
    store = new_store(request.param, tmp_path_factory.mktemp(f"hub-{request.param}"))
    with environment(OPSDESK_RASA_URL=rasa.url, OPSDESK_RASA_TIMEOUT_SECONDS=str(RASA_TIMEOUT)):
        start_api(store)
    rasa.api_url, rasa.service_key = store.base_url, store.keys["service"]
    yield HubStore(store, rasa)
    stop_api(store)
    rasa.stop()
    drop_store(store)


@pytest.fixture(autouse=False)
def rasa_up(hub: HubStore) -> Iterator[StandInRasa]:
    hub.rasa.down, hub.rasa.delay = False, 0.0
    yield hub.rasa
    hub.rasa.down, hub.rasa.delay = False, 0.0


__all__ = ["ChatCustomer", "HubStore"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
