"""Orders through HTTP against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from api.ops.orders.status import RETURN_REFUSALS
from api.settings import Settings
from tests.conftest import Store

# The API's one limit of failed proofs per conversation (the assistant follows it).
PER_CONVERSATION = Settings.model_fields["lookup_max_failures"].default


def lookup(store: Store, conversation: str = "conv-ok", **body: object) -> object:
    with store.client("service") as c:
        return c.post("/api/v1/orders/lookup", json={"conversation_id": conversation, **body})


@pytest.mark.parametrize(
    "number",
    [
        "10001",
        "#10001",
        "A-10001",
        "order 10001",
        " 10 001 ",
        "no. 10001",
        "010001",
        "#１０００１",  # full-width digits
    ],
)
def test_lookup_accepts_order_numbers_as_customers_write_them(live: Store, number: str) -> None:
    r = lookup(live, order_number=number, email="Jane.Doe@Example.com")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["order_number"] == "10001"
    assert body["status"] == "shipped"
    assert body["customer"]["email"] == "jane.doe@example.com"
    ups = body["shipments"][0]
    assert ups["carrier"] == "UPS" and ups["tracking_url"].endswith(ups["tracking_number"])
    assert [e["status"] for e in ups["events"]][-1] == "in_transit"
    assert {ln["sku"]: ln["quantity"] for ln in body["lines"]} == {
        "TEE-NAVY-M": 2,
        "RCH-KHAKI-32": 1,
    }


def test_lookup_agrees_with_the_staff_view_of_every_demo_order(live: Store) -> None:
    """The lookup reads on the driver directly (api/reads.py) and the staff view through a
    session; both must show the same order, down to money, times and tracking events."""
    with live.client("admin") as staff:
        orders = staff.get("/api/v1/orders", params={"limit": 200}).json()["items"]
        assert len(orders) >= 26
        for summary in orders:
            full = staff.get(f"/api/v1/orders/{summary['order_number']}").json()
            verified = lookup(
                live,
                order_number=summary["order_number"],
                email=summary["customer_email"],
            )
            assert verified.status_code == 200, verified.text
            customer_view = verified.json()
            hidden = {"shipping_address", "subtotal", "shipping_fee", "tax", "history"}
            assert set(full) - set(customer_view) == hidden
            for key, value in customer_view.items():
                if key == "customer":
                    assert value == {k: full["customer"][k] for k in ("first_name", "email")}
                else:
                    assert value == full[key], key
            for line in customer_view["lines"]:
                assert re.fullmatch(r"\d+\.\d\d", line["unit_price"]), line
            for shipment in customer_view["shipments"]:
                times = [e["occurred_at"] for e in shipment["events"]]
                assert all(t.endswith("Z") for t in times)
                parsed = [datetime.fromisoformat(t) for t in times]
                assert parsed == sorted(parsed)


def test_lookup_by_postal_code_works_and_zip_plus_four_matches(live: Store) -> None:
    assert lookup(live, order_number="10002", postal_code="10001").status_code == 200
    assert lookup(live, order_number="10002", postal_code="10001-2345").status_code == 200


def test_verified_view_carries_no_address_or_card_beyond_last_four(live: Store) -> None:
    body = lookup(live, order_number="10001", email="jane.doe@example.com").json()
    assert "shipping_address" not in body
    assert set(body["ship_to"]) == {"city", "region", "country"}
    assert "Market Street" not in str(body)
    assert set(body["payments"][0]) == {"method", "card_brand", "card_last4", "amount", "status"}
    assert len(body["payments"][0]["card_last4"]) == 4


def test_wrong_email_and_unknown_order_give_the_same_404(live: Store) -> None:
    wrong = lookup(live, "conv-404", order_number="10001", email="someone@example.com")
    unknown = lookup(live, "conv-404", order_number="99999999", email="jane.doe@example.com")
    assert wrong.status_code == unknown.status_code == 404
    # Both cost one of the conversation's tries; nothing else tells them apart.
    assert wrong.json()["tries_left"] == PER_CONVERSATION - 1
    assert unknown.json()["tries_left"] == PER_CONVERSATION - 2
    assert {**wrong.json(), "tries_left": 0} == {**unknown.json(), "tries_left": 0}
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json()["code"] == "order_not_found"


def test_failed_verifications_are_rate_limited_per_conversation(live: Store) -> None:
    left = []
    for _ in range(PER_CONVERSATION):
        r = lookup(live, "conv-rl", order_number="10001", email="x@example.com")
        assert r.status_code == 404
        left.append((r.json()["tries_left"], r.json()["blocked"]))
    assert left == [(n, n == 0) for n in range(PER_CONVERSATION - 1, -1, -1)]
    limited = lookup(live, "conv-rl", order_number="10001", email="jane.doe@example.com")
    assert limited.status_code == 429
    assert limited.json()["code"] == "too_many_attempts"
    assert limited.json()["tries_left"] == 0 and limited.json()["blocked"] is True
    assert int(limited.headers["retry-after"]) > 0
    # Another conversation is not affected.
    assert (
        lookup(live, "conv-other", order_number="10001", email="jane.doe@example.com").status_code
        == 200
    )


def test_failed_verifications_are_rate_limited_per_order_number_across_conversations(
    live: Store,
) -> None:
    """A new conversation per guess (a REST client changing its sender) buys nothing."""
    for i in range(10):
        r = lookup(live, f"conv-guess-{i}", order_number="10005", email=f"g{i}@example.com")
        assert r.status_code == 404
    limited = lookup(live, "conv-guess-new", order_number="10005", email="priya.patel@example.com")
    assert limited.status_code == 429 and limited.json()["code"] == "too_many_attempts"
    # Another order is not affected.
    other = lookup(live, "conv-guess-new", order_number="10002", postal_code="10001")
    assert other.status_code == 200


def test_failed_verifications_of_one_order_count_together_however_it_is_written(
    live: Store,
) -> None:
    """Leading zeros and other writings of the number buy no more guesses."""
    writings = ["10013", "010013", "#0010013", "10 013", "A-00010013"]
    for i in range(10):
        number = writings[i % len(writings)]
        r = lookup(live, f"conv-zeros-{i}", order_number=number, email=f"z{i}@example.com")
        assert r.status_code == 404
    limited = lookup(live, "conv-zeros-new", order_number="10013", email="zoe.brown@example.com")
    assert limited.status_code == 429 and limited.json()["code"] == "too_many_attempts"
    failures = live.scalar(
        "SELECT coalesce(sum(failures), 0) FROM verification_buckets WHERE key = 'order:10013'"
    )
    assert failures == 10


def test_cancel_an_unshipped_order_releases_its_stock(live: Store) -> None:
    reserved_before = live.scalar(
        "SELECT reserved FROM inventory_levels WHERE sku='CKC-CREAM-S' AND location_code='EAST'"
    )
    with live.client("service") as c:
        r = c.post(
            "/api/v1/orders/10007/cancel",
            json={"reason": "changed my mind", "email": "mia.chen@example.com"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "cancelled"
        again = c.post("/api/v1/orders/10007/cancel", json={"email": "mia.chen@example.com"})
        assert again.status_code == 200  # a retry, not an error
    reserved_after = live.scalar(
        "SELECT reserved FROM inventory_levels WHERE sku='CKC-CREAM-S' AND location_code='EAST'"
    )
    assert reserved_after == reserved_before - 1  # type: ignore[operator]
    with live.client("admin") as c:
        history = c.get("/api/v1/orders/10007").json()["history"]
    assert history[-1]["to_state"] == "cancelled" and history[-1]["actor"] == "service-key"


def test_cancel_after_shipping_is_409_with_the_reason(live: Store) -> None:
    with live.client("service") as c:
        r = c.post("/api/v1/orders/10001/cancel", json={"email": "jane.doe@example.com"})
    assert r.status_code == 409
    assert r.json()["code"] == "order_not_cancellable"
    assert "already shipped" in r.json()["detail"]
    assert live.scalar("SELECT status FROM orders WHERE number=10001") == "shipped"


def test_the_assistant_must_prove_the_customer_to_cancel(live: Store) -> None:
    with live.client("service") as c:
        r = c.post("/api/v1/orders/10012/cancel", json={"email": "wrong@example.com"})
    assert r.status_code == 404
    assert live.scalar("SELECT status FROM orders WHERE number=10012") == "processing"


def test_staff_view_has_address_and_history_and_lists_page_with_cursor(live: Store) -> None:
    with live.client("agent") as c:
        full = c.get("/api/v1/orders/%2310003").json()
        assert full["shipping_address"]["postal_code"] == "94110"
        assert full["customer"]["last_name"] == "Doe"
        first = c.get("/api/v1/orders", params={"limit": 5}).json()
        second = c.get("/api/v1/orders", params={"limit": 5, "cursor": first["next_cursor"]}).json()
        jane = c.get("/api/v1/orders", params={"customer_email": "JANE.DOE@example.com"}).json()
        delayed = c.get("/api/v1/orders", params={"status": "delayed"}).json()
    assert len(first["items"]) == 5 and first["next_cursor"]
    assert not {o["order_number"] for o in first["items"]} & {
        o["order_number"] for o in second["items"]
    }
    assert {o["order_number"] for o in jane["items"]} == {"10001", "10003", "10010"}
    assert [o["order_number"] for o in delayed["items"]] == ["10002"]


def test_order_routes_need_the_right_role(live: Store) -> None:
    with live.client("service") as c:
        assert c.get("/api/v1/orders").status_code == 403
        assert c.get("/api/v1/orders/10001").status_code == 403
    with live.client("agent") as c:
        assert c.get("/api/v1/orders/10001").status_code == 200
    import httpx

    assert httpx.get(f"{live.base_url}/api/v1/orders").status_code == 401
    bad = httpx.get(f"{live.base_url}/api/v1/orders", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["code"] == "unauthorized"


def test_status_transitions_follow_the_machine_and_move_stock(live: Store) -> None:
    on_hand = live.scalar(
        "SELECT on_hand FROM inventory_levels WHERE sku='OXS-BLUE-L' AND location_code='EAST'"
    )
    with live.client("admin") as c:
        assert (
            c.post("/api/v1/orders/10012/transition", json={"to": "delivered"}).status_code == 409
        )
        for step in ("packed", "shipped"):
            r = c.post("/api/v1/orders/10012/transition", json={"to": step})
            assert r.status_code == 200, r.text
    assert (
        live.scalar(
            "SELECT on_hand FROM inventory_levels WHERE sku='OXS-BLUE-L' AND location_code='EAST'"
        )
        == on_hand - 1
    )  # type: ignore[operator]


def test_keys_created_in_the_database_work_until_revoked(live: Store) -> None:
    import httpx
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from api.ops.auth.service import create_key

    engine = live.engine()
    with Session(engine) as db:
        key = create_key(db_session=db, name="warehouse-bot", role="agent")
        db.commit()
    headers = {"Authorization": f"Bearer {key}"}
    assert httpx.get(f"{live.base_url}/api/v1/orders/10001", headers=headers).status_code == 200
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE api_keys SET revoked_at = created_at WHERE name = 'warehouse-bot'")
        )
    engine.dispose()
    assert httpx.get(f"{live.base_url}/api/v1/orders/10001", headers=headers).status_code == 401


def test_an_orders_return_refusal_is_the_eligibility_answer_for_each_of_its_lines(
    live: Store,
) -> None:
    """The order document says whether anything on it can be returned; eligibility, asked
    line by line, refuses with the same reason exactly when the document does."""
    seen = set()
    # Staff keys need no proof: the other tests' failed proofs do not block these reads.
    with live.client("admin") as admin:
        for number in [str(n) for n in range(10001, 10014)]:
            order = admin.get(f"/api/v1/orders/{number}").json()
            refusal = order["return_refusal"]
            answer = admin.post(
                "/api/v1/returns/eligibility",
                json={
                    "order_number": number,
                    "lines": [{"sku": ln["sku"], "quantity": 1} for ln in order["lines"]],
                },
            )
            assert answer.status_code == 200, answer.text
            names = {ln["sku"]: ln["product_name"] for ln in order["lines"]}
            for line in answer.json()["lines"]:
                if refusal:
                    assert not line["eligible"], (number, line)
                    assert line["reason"].startswith(
                        f"the {names[line['sku']]} {refusal['reason']}"
                    ), (number, line)
                else:
                    assert not any(r.reason in line["reason"] for r in RETURN_REFUSALS.values())
            seen.add(refusal and refusal["code"])
    assert seen == {None, "not_delivered", "lost_in_transit", "order_cancelled"}
