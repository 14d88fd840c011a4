"""The demo store seed, generated orders, and what the logs may carry."""

from __future__ import annotations

import subprocess
import sys
import time

from api.seed import bulk
from tests.conftest import REPO, Store


def test_generated_orders_are_complete_and_verifiable(live: Store) -> None:
    engine = live.engine()
    before = live.scalar("SELECT count(*) FROM orders")
    figures = bulk.generate(engine, 3000, progress=False)
    assert figures["orders"] == 3000
    assert live.scalar("SELECT count(*) FROM orders") == before + 3000  # type: ignore[operator]
    assert (
        live.scalar(
            "SELECT count(*) FROM orders o WHERE NOT EXISTS "
            "(SELECT 1 FROM order_lines l WHERE l.order_id = o.id)"
        )
        == 0
    )
    assert (
        live.scalar(
            "SELECT count(*) FROM orders o WHERE o.status = 'delivered' AND NOT EXISTS "
            "(SELECT 1 FROM shipments s WHERE s.order_id = o.id)"
        )
        == 0
    )
    bulk_rma = live.scalar("SELECT max(rma_number) FROM rmas")
    assert live.scalar("SELECT count(*) FROM rmas") > 20  # type: ignore[operator]
    assert (
        live.scalar(
            "SELECT count(*) FROM rmas r WHERE NOT EXISTS "
            "(SELECT 1 FROM rma_lines l WHERE l.rma_id = r.id)"
        )
        == 0
    )
    with live.client("agent") as c:
        rma = c.get(f"/api/v1/returns/{bulk_rma}")
        assert rma.status_code == 200 and rma.json()["status"] == "closed", rma.text
    pairs = bulk.sample_lookups(engine, 20)
    engine.dispose()
    assert len(pairs) >= 15
    with live.client("service") as c:
        for number, email in pairs[:10]:
            r = c.post(
                "/api/v1/orders/lookup",
                json={"order_number": number, "email": email, "conversation_id": "bulk"},
            )
            assert r.status_code == 200, r.text
            assert r.json()["lines"]
    # A second run appends after the highest number and ids stay unique.
    bulk.generate(live.engine(), 500, progress=False)
    assert live.scalar("SELECT count(DISTINCT number) FROM orders") == live.scalar(
        "SELECT count(*) FROM orders"
    )


def test_seed_is_idempotent(live: Store) -> None:
    products = live.scalar("SELECT count(*) FROM products")
    demo = live.scalar("SELECT count(*) FROM orders WHERE number < 200000")
    out = subprocess.run(
        [sys.executable, "-m", "api.cli", "seed"],
        cwd=REPO,
        env=live.env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "already loaded" in out.stdout
    assert live.scalar("SELECT count(*) FROM products") == products == 41
    assert live.scalar("SELECT count(*) FROM orders WHERE number < 200000") == demo


def test_logs_carry_no_email_address_street_query_string_or_key(live: Store) -> None:
    with live.client("service") as c:
        c.post(
            "/api/v1/orders/lookup",
            json={
                "order_number": "10001",
                "email": "jane.doe@example.com",
                "conversation_id": "logs",
            },
        )
        c.post(
            "/api/v1/orders/lookup",
            json={
                "order_number": "10001",
                "email": "leaky.person@example.com",
                "conversation_id": "logs",
            },
        )
    with live.client("admin") as c:
        c.get("/api/v1/orders", params={"customer_email": "leaky.person@example.com"})
        c.get("/api/v1/orders/10001")
        last = c.get("/api/v1/ping").headers["x-request-id"]
    log = live.log_path.read_text() if live.log_path else ""
    deadline = time.monotonic() + 5  # the access line is written just after the answer
    while last not in log and time.monotonic() < deadline:
        time.sleep(0.05)
        log = live.log_path.read_text() if live.log_path else ""
    assert "/api/v1/orders/lookup" in log and last in log  # the access log is on
    assert "@example.com" not in log and "Market Street" not in log
    assert "customer_email" not in log and "/api/v1/orders?" not in log
    for key in live.keys.values():
        assert key not in log
