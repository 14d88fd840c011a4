"""The console's actions on orders and returns when the order or return does not exist: the
agent is told and nothing changes (api/console/order_return_views.py)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.console.conftest import ConsoleStore


def test_cancelling_an_order_that_does_not_exist_goes_back_with_the_error(
    console: ConsoleStore,
) -> None:
    _sender, conversation_id = console.customer_asks_for_a_person()
    agent = console.agent()
    r = agent.post("/console/orders/99999/cancel", reason="x", conversation_id=conversation_id)
    assert r.status_code == 303
    target = urlsplit(r.headers["location"])
    assert target.path == f"/console/conversations/{conversation_id}"
    assert parse_qs(target.query)["error"] == ["Order not found"]
    with console.api("agent") as api:
        history = api.get(f"/api/v1/conversations/{conversation_id}/messages").json()["items"]
    assert not [m for m in history if m["author"] == "agent"]


def test_acting_on_a_return_that_does_not_exist_is_a_404_and_changes_nothing(
    console: ConsoleStore,
) -> None:
    agent = console.agent()
    with console.api("agent") as api:
        before = api.get("/api/v1/returns", params={"limit": 100}).json()["items"]
    for action in ("approve", "label", "reject"):
        r = agent.post(f"/console/returns/RMA-999999/{action}", reason="no")
        assert r.status_code == 404, (action, r.text)
    with console.api("agent") as api:
        assert api.get("/api/v1/returns", params={"limit": 100}).json()["items"] == before
