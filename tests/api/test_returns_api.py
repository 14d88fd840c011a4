"""Returns through HTTP: eligibility, RMA creation, idempotency, lifecycle, inventory."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from tests.conftest import Store

JANE = "jane.doe@example.com"


def create(store: Store, body: dict, key: str | None = None, role: str = "service") -> object:
    headers = {"Idempotency-Key": key} if key else {}
    with store.client(role) as c:
        return c.post("/api/v1/returns", json=body, headers=headers)


def test_eligibility_explains_each_line_in_customer_words(live: Store) -> None:
    with live.client("service") as c:
        r = c.post(
            "/api/v1/returns/eligibility",
            json={
                "order_number": "10003",
                "email": JANE,
                "lines": [
                    {"sku": "LBS-WHITE-M", "quantity": 1},
                    {"sku": "SLD-BLACK-S", "quantity": 1},
                    {"sku": "NOPE-1", "quantity": 1},
                ],
            },
        )
    assert r.status_code == 200, r.text
    lines = {ln["sku"]: ln for ln in r.json()["lines"]}
    assert (
        lines["LBS-WHITE-M"]["eligible"]
        and "can be returned until" in lines["LBS-WHITE-M"]["reason"]
    )
    assert not lines["SLD-BLACK-S"]["eligible"] and "final-sale" in lines["SLD-BLACK-S"]["reason"]
    assert not lines["NOPE-1"]["eligible"] and "not on order #10003" in lines["NOPE-1"]["reason"]
    assert r.json()["fees"]["return_shipping"] == "6.95"
    # Booked now, the label would be valid for the policy's 14 days: the date to tell.
    valid_until = date.fromisoformat(r.json()["label_valid_until"])
    assert valid_until == (datetime.now(UTC) + timedelta(days=14)).date()


def test_eligibility_says_which_resolutions_are_open_and_what_to_exchange_for(
    live: Store,
) -> None:
    def eligibility(lines: list[dict]) -> dict:
        with live.client("service") as c:
            r = c.post(
                "/api/v1/returns/eligibility",
                json={"order_number": "10003", "email": JANE, "lines": lines},
            )
        assert r.status_code == 200, r.text
        return r.json()

    one = eligibility([{"sku": "LBS-WHITE-M", "quantity": 1}])
    options = {o["code"]: o for o in one["resolution_options"]}
    assert [o["code"] for o in one["resolution_options"]] == ["refund", "exchange", "store_credit"]
    assert all(o["available"] for o in options.values())
    assert options["store_credit"]["title"] == "Store credit (10% bonus)"
    assert (options["refund"]["amount"], options["store_credit"]["amount"]) == ("71.05", "85.80")
    assert options["exchange"]["amount"] == "0.00"
    targets = one["lines"][0]["exchange_for"]
    assert targets and all(t["sku"].startswith("LBS-") and t["available"] >= 1 for t in targets)
    assert "LBS-WHITE-M" not in {t["sku"] for t in targets}
    # An exchange is one item for another: with two items it is offered no more, and why.
    two = eligibility(
        [{"sku": "LBS-WHITE-M", "quantity": 1}, {"sku": "SSJ-INDIGO-32", "quantity": 1}]
    )
    exchange = next(o for o in two["resolution_options"] if o["code"] == "exchange")
    assert exchange["available"] is False and "one item at a time" in exchange["why_not"]


def test_an_exchange_of_two_items_is_refused_and_books_nothing(live: Store) -> None:
    before = live.scalar("SELECT count(*) FROM rmas")
    r = create(
        live,
        {
            "order_number": "10003",
            "email": JANE,
            "lines": [
                {
                    "sku": "LBS-WHITE-M",
                    "quantity": 1,
                    "reason": "size_too_small",
                    "exchange_sku": "LBS-WHITE-L",
                },
                {
                    "sku": "SSJ-INDIGO-32",
                    "quantity": 1,
                    "reason": "size_too_small",
                    "exchange_sku": "SSJ-INDIGO-34",
                },
            ],
            "resolution": "exchange",
        },
    )
    assert r.status_code == 422 and r.json()["code"] == "exchange_one_item", r.text
    assert live.scalar("SELECT count(*) FROM rmas") == before


def test_old_order_is_refused_with_days_since_delivery(live: Store) -> None:
    r = create(
        live,
        {
            "order_number": "10004",
            "email": "omar.haddad@example.com",
            "lines": [{"sku": "MCS-NAVY-L", "quantity": 1, "reason": "changed_mind"}],
            "resolution": "refund",
        },
    )
    assert r.status_code == 422
    assert r.json()["code"] == "return_not_eligible"
    assert "delivered 45 days ago; returns are accepted within 30 days" in r.json()["detail"]
    assert (
        live.scalar(
            "SELECT count(*) FROM rmas r JOIN orders o ON o.id=r.order_id WHERE o.number=10004"
        )
        == 0
    )


def test_create_rma_with_label_and_a_retry_creates_nothing_new(live: Store) -> None:
    body = {
        "order_number": "10003",
        "email": JANE,
        "conversation_id": "conv-r1",
        "lines": [{"sku": "SSJ-INDIGO-32", "quantity": 1, "reason": "size_too_large"}],
        "resolution": "refund",
    }
    key = f"conv-r1:{uuid.uuid4()}"
    first = create(live, body, key)
    assert first.status_code == 201, first.text
    rma = first.json()
    assert rma["rma_number"].startswith("RMA-") and rma["status"] == "label_issued"
    assert rma["label"]["carrier"] == "UPS" and rma["label"]["label_number"]
    assert rma["refund_amount"] == "91.05" or float(rma["refund_amount"]) > 0
    retry = create(live, body, key)
    assert retry.status_code == 201 and retry.json() == rma
    assert live.scalar("SELECT count(*) FROM rma_lines WHERE sku='SSJ-INDIGO-32'") == 1
    assert (
        live.scalar(
            "SELECT returned_quantity FROM order_lines ol JOIN orders o ON o.id=ol.order_id "
            "WHERE o.number=10003 AND ol.sku='SSJ-INDIGO-32'"
        )
        == 1
    )
    # Same key, different body: refused, nothing created.
    other = create(live, {**body, "resolution": "store_credit"}, key)
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    # The line is now fully in a return: a second return of it is refused.
    again = create(live, body, f"conv-r1:{uuid.uuid4()}")
    assert again.status_code == 422 and "already been returned" in again.json()["detail"]


def test_service_must_prove_the_customer_for_returns(live: Store) -> None:
    r = create(
        live,
        {
            "order_number": "10003",
            "email": "mallory@example.com",
            "lines": [{"sku": "LBS-WHITE-M", "quantity": 1, "reason": "other"}],
            "resolution": "refund",
        },
    )
    assert r.status_code == 404


def test_exchange_reserves_the_new_size_and_refuses_when_out_of_stock(live: Store) -> None:
    before = live.scalar("SELECT sum(reserved) FROM inventory_levels WHERE sku='FZH-GREY-XL'")
    ok = create(
        live,
        {
            "order_number": "10011",
            "email": "ava.nguyen@example.com",
            "lines": [
                {
                    "sku": "FZH-GREY-L",
                    "quantity": 1,
                    "reason": "size_too_small",
                    "exchange_sku": "FZH-GREY-XL",
                }
            ],
            "resolution": "exchange",
        },
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["refund_amount"] == "0.00"
    assert (
        live.scalar("SELECT sum(reserved) FROM inventory_levels WHERE sku='FZH-GREY-XL'")
        == before + 1
    )  # type: ignore[operator]
    # Cancelling the RMA gives the reserved unit and the returnable unit back.
    with live.client("admin") as c:
        r = c.post(
            f"/api/v1/returns/{ok.json()['rma_number']}/transition", json={"to": "cancelled"}
        )
        assert r.status_code == 200, r.text
    assert (
        live.scalar("SELECT sum(reserved) FROM inventory_levels WHERE sku='FZH-GREY-XL'") == before
    )
    out = create(
        live,
        {
            "order_number": "10003",
            "email": JANE,
            "lines": [
                {
                    "sku": "LBS-WHITE-M",
                    "quantity": 1,
                    "reason": "size_too_small",
                    "exchange_sku": "LBS-SKYBLUE-M",
                }
            ],
            "resolution": "exchange",
        },
    )
    assert out.status_code == 409 and out.json()["code"] == "insufficient_stock"
    assert (
        live.scalar(
            "SELECT returned_quantity FROM order_lines ol JOIN orders o ON o.id=ol.order_id "
            "WHERE o.number=10003 AND ol.sku='LBS-WHITE-M'"
        )
        == 0
    )


def test_lifecycle_to_refund_with_restock_updates_inventory(live: Store) -> None:
    r = create(
        live,
        {
            "order_number": "10003",
            "email": JANE,
            "lines": [{"sku": "LBS-WHITE-M", "quantity": 1, "reason": "defective"}],
            "resolution": "refund",
        },
    )
    assert r.status_code == 201, r.text
    rma = r.json()["rma_number"]
    assert r.json()["fees"]["total"] == "0.00"  # store's fault: no fee
    on_hand = live.scalar(
        "SELECT on_hand FROM inventory_levels WHERE sku='LBS-WHITE-M' AND location_code='EAST'"
    )
    with live.client("admin") as c:
        assert (
            c.post(f"/api/v1/returns/{rma}/transition", json={"to": "refunded"}).status_code == 409
        )
        for step in ("in_transit", "received"):
            assert c.post(f"/api/v1/returns/{rma}/transition", json={"to": step}).status_code == 200
        missing = c.post(f"/api/v1/returns/{rma}/transition", json={"to": "inspected"})
        assert missing.status_code == 422 and missing.json()["code"] == "disposition_required"
        inspected = c.post(
            f"/api/v1/returns/{rma}/transition",
            json={"to": "inspected", "dispositions": {"LBS-WHITE-M": "restock"}},
        )
        assert (
            inspected.status_code == 200
            and inspected.json()["lines"][0]["disposition"] == "restock"
        )
        assert (
            c.post(f"/api/v1/returns/{rma}/transition", json={"to": "credited"}).status_code == 409
        )
        done = c.post(f"/api/v1/returns/{rma}/transition", json={"to": "refunded"})
        assert done.status_code == 200 and done.json()["status"] == "refunded"
        listed = c.get("/api/v1/returns", params={"order_number": "10003"}).json()["items"]
    assert rma in {x["rma_number"] for x in listed}
    assert (
        live.scalar(
            "SELECT on_hand FROM inventory_levels WHERE sku='LBS-WHITE-M' AND location_code='EAST'"
        )
        == on_hand + 1
    )  # type: ignore[operator]
    history = live.scalar(
        "SELECT count(*) FROM audit_log WHERE entity_type='rma' AND entity_id=:n", n=rma
    )
    assert (
        history == 7
    )  # created, approved, label_issued, in_transit, received, inspected, refunded


def test_seeded_rmas_cover_every_lifecycle_state(live: Store) -> None:
    with live.client("agent") as c:
        states = {
            x["status"] for x in c.get("/api/v1/returns", params={"limit": 200}).json()["items"]
        }
        one = c.get("/api/v1/returns/rma 2")
    assert {
        "requested",
        "approved",
        "label_issued",
        "in_transit",
        "received",
        "inspected",
        "refunded",
        "exchanged",
        "credited",
        "closed",
        "rejected",
        "cancelled",
        "expired",
    } <= states
    assert one.status_code == 200 and one.json()["rma_number"] == "RMA-000002"


@pytest.mark.parametrize(
    ("typed", "status"),
    [
        ("RMA-000002", 200),
        ("rma2", 200),
        ("RMA%232", 200),  # "RMA#2"
        ("RMA-0000002", 200),
        ("rma ２", 200),  # a full-width digit
        ("RMA-000002 for order 10021", 200),  # the number after "RMA", not every digit
        ("RMA-000000", 404),
        ("RMA-2147483648", 404),
        ("RMA-9999999999999", 404),
    ],
)
def test_a_return_is_found_however_its_number_is_written(
    live: Store, typed: str, status: int
) -> None:
    with live.client("agent") as c:
        r = c.get(f"/api/v1/returns/{typed}")
    assert r.status_code == status, r.text
    if status == 200:
        assert r.json()["rma_number"] == "RMA-000002"
    else:
        assert r.json()["code"] == "rma_not_found"


def test_the_assistant_sees_an_rma_in_full_only_with_the_customer_proof(live: Store) -> None:
    with live.client("service") as c:
        bare = c.get("/api/v1/returns/RMA-000002")
        wrong = c.get("/api/v1/returns/RMA-000002", params={"email": "eve@example.com"})
        right = c.get("/api/v1/returns/RMA-000002", params={"email": "rma.tester@example.com"})
    assert bare.status_code == 200 and bare.json()["status"]
    assert "order_number" not in bare.json() and "lines" not in bare.json()
    assert "refund_amount" not in bare.json()
    assert wrong.status_code == 404
    assert right.status_code == 200 and right.json()["order_number"] == "10020"
    assert right.json()["lines"][0]["sku"] == "TEE-BLACK-L"


def test_the_label_link_opens_a_pdf_without_a_key_but_only_with_its_token(live: Store) -> None:
    with live.client("admin") as staff:
        issued = staff.get("/api/v1/returns", params={"status": "label_issued"}).json()["items"]
        moving = staff.get("/api/v1/returns", params={"status": "in_transit"}).json()["items"]
        expired = staff.get("/api/v1/returns", params={"status": "expired"}).json()["items"]
        order = staff.get(f"/api/v1/orders/{issued[0]['order_number']}").json()
    rma, other = issued[0], moving[0]
    url = rma["label"]["url"]
    assert url.startswith(f"/labels/{rma['rma_number']}.pdf?token=")

    r = httpx.get(live.base_url + url)  # as a customer's browser: no API key
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["cache-control"] == "private, no-store"
    assert r.content.startswith(b"%PDF-") and r.content.rstrip().endswith(b"%%EOF")
    for text in (
        rma["label"]["label_number"],
        rma["rma_number"],
        order["shipping_address"]["name"],
        "Doremus Avenue",  # the returns address of data/store/return_policy.yml
    ):
        assert text.encode() in r.content, text

    token = url.split("token=", 1)[1]
    other_token = other["label"]["url"].split("token=", 1)[1]
    for bad in (
        f"/labels/{rma['rma_number']}.pdf",
        f"/labels/{rma['rma_number']}.pdf?token={token[:-2]}xx",
        f"/labels/{rma['rma_number']}.pdf?token={other_token}",
        f"/labels/RMA-999999.pdf?token={token}",
    ):
        r = httpx.get(live.base_url + bad)
        assert r.status_code == 404 and r.json()["code"] == "label_not_found", bad

    # A label past its date (the RMA expired) is gone, not missing.
    r = httpx.get(live.base_url + expired[0]["label"]["url"])
    assert r.status_code == 410 and r.json()["code"] == "label_no_longer_valid"
