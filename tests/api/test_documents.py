"""Every order and RMA document the API writes itself (`json_response`, which skips FastAPI's
response-model check on the hot paths) has exactly the shape its response model documents:
it validates, and no key is missing from the model or left out of the document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from api.ops.orders.schemas import FullOrder, VerifiedOrder
from api.ops.returns.schemas import RmaStatusView, RmaView
from tests.conftest import Store


def key_paths(value: Any, at: str = "") -> set[str]:
    """Every key of a JSON value as a path (list items share their list's path)."""
    if isinstance(value, dict):
        found = set()
        for key, inner in value.items():
            found |= {f"{at}.{key}"} | key_paths(inner, f"{at}.{key}")
        return found
    if isinstance(value, list):
        return set().union(*(key_paths(item, f"{at}[]") for item in value)) if value else set()
    return set()


def assert_matches(document: dict[str, Any], model: type[BaseModel]) -> None:
    validated = model.model_validate(document)  # raises on a missing or mistyped field
    assert key_paths(document) == key_paths(validated.model_dump(mode="json")), model.__name__


def every_order_number(live: Store) -> list[str]:
    numbers: list[str] = []
    cursor = None
    with live.client("admin") as c:
        while True:
            page = c.get(
                "/api/v1/orders", params={"limit": 100, **({"cursor": cursor} if cursor else {})}
            )
            assert page.status_code == 200, page.text
            numbers += [o["order_number"] for o in page.json()["items"]]
            cursor = page.json()["next_cursor"]
            if not cursor:
                return numbers


def test_every_demo_order_document_matches_its_response_models(live: Store) -> None:
    numbers = every_order_number(live)
    assert len(numbers) >= 20
    rma_numbers: set[str] = set()
    with live.client("admin") as admin, live.client("service") as service:
        for number in numbers:
            full = admin.get(f"/api/v1/orders/{number}")
            assert full.status_code == 200, full.text
            assert_matches(full.json(), FullOrder)
            email = full.json()["customer"]["email"]
            verified = service.post(
                "/api/v1/orders/lookup",
                json={"order_number": number, "email": email, "conversation_id": f"doc-{number}"},
            )
            assert verified.status_code == 200, verified.text
            assert_matches(verified.json(), VerifiedOrder)
            rma_numbers |= {r["rma_number"] for r in full.json()["returns"]}
        assert len(rma_numbers) >= 10
        for rma_number in sorted(rma_numbers):
            staff = admin.get(f"/api/v1/returns/{rma_number}")
            assert staff.status_code == 200, staff.text
            assert_matches(staff.json(), RmaView)
            public = service.get(f"/api/v1/returns/{rma_number}")
            assert public.status_code == 200, public.text
            assert_matches(public.json(), RmaStatusView)


def test_a_cancelled_order_and_a_refused_cancellation_match_the_documented_shapes(
    live: Store,
) -> None:
    with live.client("service") as c:
        done = c.post(
            "/api/v1/orders/10007/cancel",
            json={"email": "mia.chen@example.com", "conversation_id": "doc-cancel"},
        )
        assert done.status_code == 200, done.text
        assert_matches(done.json(), VerifiedOrder)
        assert done.json()["can_cancel"] is False
        assert done.json()["cancel_refusal"]["code"] == "already_cancelled"
        again = c.post(
            "/api/v1/orders/10007/cancel",
            json={"email": "mia.chen@example.com", "conversation_id": "doc-cancel"},
        )
        assert again.status_code == 200  # a retry, not an error
        assert_matches(again.json(), VerifiedOrder)
        shipped = c.post(
            "/api/v1/orders/10001/cancel",
            json={"email": "jane.doe@example.com", "conversation_id": "doc-cancel"},
        )
    assert shipped.status_code == 409
    problem = shipped.json()
    assert (problem["code"], problem["reason_code"], problem["next_step"]) == (
        "order_not_cancellable",
        "already_shipped",
        "return_on_arrival",
    )
    assert problem["reason"] == "it has already shipped"
    assert problem["detail"] == (
        "Order #10001 can't be cancelled: it has already shipped; you can return it once it "
        "arrives."
    )
