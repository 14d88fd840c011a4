"""Faults on the way to the database: the api recovers without a restart."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.conftest import Store, new_store, start_api, stop_api


@pytest.fixture(scope="module")
def pg_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """Only a server database can close the api's connections under it."""
    store = new_store("postgres", tmp_path_factory.mktemp("postgres"))
    start_api(store)
    yield store
    stop_api(store)


def lookup(store: Store, conversation: str) -> int:
    with store.client("service") as c:
        r = c.post(
            "/api/v1/orders/lookup",
            json={
                "order_number": "10001",
                "email": "jane.doe@example.com",
                "conversation_id": conversation,
            },
        )
    assert r.status_code in (200, 404, 500, 503), r.text
    if r.status_code == 200:
        assert r.json()["order_number"] == "10001"
    return r.status_code


def test_lookup_survives_postgres_closing_its_connections(pg_live: Store) -> None:
    live = pg_live
    # Open several pooled connections (concurrent lookups), then have the server end them all,
    # as a restart or an idle timeout would.
    for i in range(6):
        assert lookup(live, f"fault-{i}") == 200
    engine = live.engine()
    try:
        with engine.connect() as conn:
            ended = conn.execute(
                sa.text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    assert ended >= 1
    assert [lookup(live, f"after-{i}") for i in range(4)] == [200] * 4
    # A wrong proof still counts as a failure (a write, through the session's own pool).
    with live.client("service") as c:
        r = c.post(
            "/api/v1/orders/lookup",
            json={"order_number": "10001", "email": "x@example.com", "conversation_id": "f"},
        )
    assert r.status_code == 404
    assert (
        live.scalar("SELECT count(*) FROM verification_failures WHERE conversation_id = 'f'") == 1
    )
