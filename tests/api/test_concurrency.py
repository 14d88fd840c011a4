"""Races: two returns of the same line at once, and many reservations of the last units."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session

from api.db import begin_write
from api.errors import ApiError
from api.ops.inventory import service as inventory
from tests.conftest import Store


def test_simultaneous_returns_of_one_line_create_exactly_one_rma(live: Store) -> None:
    body = {
        "order_number": "10003",
        "email": "jane.doe@example.com",
        "lines": [{"sku": "LBS-WHITE-M", "quantity": 1, "reason": "size_too_small"}],
        "resolution": "refund",
    }
    start = threading.Barrier(8)

    def attempt(_: int) -> int:
        with live.client("service") as c:
            start.wait(timeout=30)
            return c.post(
                "/api/v1/returns", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
            ).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(attempt, range(8)))
    assert sorted(codes) == [201] + [422] * 7, codes
    assert live.scalar("SELECT count(*) FROM rma_lines WHERE sku='LBS-WHITE-M'") == 1
    assert (
        live.scalar(
            "SELECT returned_quantity FROM order_lines ol JOIN orders o ON o.id=ol.order_id "
            "WHERE o.number=10003 AND ol.sku='LBS-WHITE-M'"
        )
        == 1
    )


def test_the_same_idempotency_key_sent_at_once_creates_one_rma(live: Store) -> None:
    body = {
        "order_number": "10006",
        "email": "lucas.martin@example.com",
        "lines": [{"sku": "PHO-BLACK-L", "quantity": 1, "reason": "changed_mind"}],
        "resolution": "store_credit",
    }
    key = str(uuid.uuid4())
    start = threading.Barrier(6)

    def attempt(_: int) -> tuple[int, str]:
        with live.client("service") as c:
            start.wait(timeout=30)
            r = c.post("/api/v1/returns", json=body, headers={"Idempotency-Key": key})
            return r.status_code, r.json().get("rma_number", "")

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(attempt, range(6)))
    assert {code for code, _ in results} == {201}, results
    assert len({rma for _, rma in results}) == 1
    assert (
        live.scalar("SELECT count(*) FROM rma_lines WHERE sku='PHO-BLACK-L'") == 2
    )  # seeded one + this


def test_reservation_race_never_oversells(seeded: Store) -> None:
    engine = seeded.engine()
    # WOC-CAMEL-S has 1 unit in each warehouse.
    start = threading.Barrier(10)

    def reserve(_: int) -> bool:
        start.wait(timeout=30)
        with Session(engine) as db:
            begin_write(db)
            try:
                inventory.reserve(db_session=db, sku="WOC-CAMEL-S", quantity=1)
                db.commit()
                return True
            except ApiError:
                db.rollback()
                return False

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(reserve, range(10)))
    engine.dispose()
    assert results.count(True) == 2
    assert (
        seeded.scalar(
            "SELECT sum(on_hand - reserved) FROM inventory_levels WHERE sku='WOC-CAMEL-S'"
        )
        == 0
    )
    assert seeded.scalar("SELECT min(on_hand - reserved) FROM inventory_levels") >= 0  # type: ignore[operator]
