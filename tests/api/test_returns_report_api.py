"""GET /api/v1/metrics/returns on a store seeded with a returns history whose patterns are
known (`opsdesk seed --returns-history`, made through the returns service), on SQLite and
PostgreSQL: the flags it must raise and those it must not, the figures behind them, a return
made through POST /returns moving them, who may read it (an admin and the operations lead's
key from `opsdesk key create --role lead`, not an agent's), and bad periods refused."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from api.seed import returns_history
from tests.conftest import REPO, Store, drop_store, new_store, start_api, stop_api

EXPECTED_FLAGS = {
    ("size_runs_small", "TEE", "L"),  # the demo store's own RMA lifecycle orders
    ("size_runs_small", "SSJ", "30"),
    ("size_runs_large", "TRS", "12"),
    ("defect_rate", "PUF", None),
    ("not_as_described_rate", "WMD", None),
}


def seed_history(store: Store) -> None:
    subprocess.run(
        [sys.executable, "-m", "api.cli", "seed", "--returns-history"],
        cwd=REPO,
        env=store.env,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def history(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    store = new_store(request.param, tmp_path_factory.mktemp(f"returns-{request.param}"))
    seed_history(store)
    store.keys["lead"] = lead_key(store)
    start_api(store)
    yield store
    stop_api(store)
    drop_store(store)


def lead_key(store: Store) -> str:
    """The operations lead's key, as an operator makes it: `opsdesk key create`."""
    made = subprocess.run(
        [sys.executable, "-m", "api.cli", "key", "create", "--name", "lee", "--role", "lead"],
        cwd=REPO,
        env=store.env,
        check=True,
        capture_output=True,
        text=True,
    )
    return made.stdout.split("key (shown once): ")[1].strip()


def report(store: Store, role: str = "lead", **params: str) -> dict[str, Any]:
    with store.client(role) as api:
        r = api.get("/api/v1/metrics/returns", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def product(found: dict[str, Any], style: str) -> dict[str, Any]:
    return next(p for p in found["products"] if p["style"] == style)


def first_order_of(style: str, size: str) -> int:
    """The number of the history's first order of that product and size."""
    number = returns_history.FIRST_ORDER_NUMBER
    for sale in returns_history._sales():
        if (sale.style, sale.size) == (style, size):
            return number
        number += sale.sold
    raise AssertionError(f"no {style} {size} in the history")


def test_the_known_patterns_are_flagged_and_no_others(history: Store) -> None:
    found = report(history)
    assert {(f["kind"], f["style"], f["size"]) for f in found["flags"]} == EXPECTED_FLAGS
    jeans = next(f for f in found["flags"] if f["style"] == "SSJ")
    assert (jeans["units"], jeans["units_sold"], jeans["rate"]) == (5, 8, 0.625)
    assert jeans["compared_rate"] is not None and jeans["compared_rate"] < 0.05
    assert "size 30" in jeans["message"] and "too small" in jeans["message"]
    # The first products are the flagged ones.
    assert {p["style"] for p in found["products"][:5]} == {s for _, s, _ in EXPECTED_FLAGS}


def test_the_figures_behind_a_flag_per_product_size_and_colour(history: Store) -> None:
    found = report(history)
    puffer = product(found, "PUF")
    assert (puffer["units_sold"], puffer["units_returned"]) == (16, 4)
    assert puffer["by_reason"] == {"defective": 4} and puffer["return_rate"] == 0.25
    assert [s["label"] for s in puffer["sizes"]] == ["S", "M", "L", "XL"]
    assert {s["label"]: s["units_returned"] for s in puffer["sizes"]} == {
        "S": 0, "M": 2, "L": 2, "XL": 0,
    }  # fmt: skip
    dress = product(found, "WMD")
    by_colour = {c["label"]: (c["units_sold"], c["units_returned"]) for c in dress["colours"]}
    assert by_colour == {"rust": (8, 5), "navy floral": (8, 0)}
    assert {v["label"] for v in dress["variants"]} >= {"WMD-RUST-XS", "WMD-NAVYFLORAL-L"}
    shorts = product(found, "HSH")
    assert shorts["by_reason"] == {"defective": 2} and shorts["flags"] == []
    tee = product(found, "TEE")
    assert tee["by_reason"]["defective"] == 1 and [f["kind"] for f in tee["flags"]] == [
        "size_runs_small"
    ]
    totals = found["totals"]
    assert totals["units_returned"] == sum(p["units_returned"] for p in found["products"])
    assert found["thresholds"] == {
        "defect_rate": 0.05, "not_as_described_rate": 0.05, "size_skew": 3.0,
        "size_min_rate": 0.15, "min_units": 3,
    }  # fmt: skip


def test_a_return_made_through_the_api_moves_the_figures(history: Store) -> None:
    number = first_order_of("HSH", "S")
    with history.client("admin") as admin:
        order = admin.get(f"/api/v1/orders/{number}").json()
        assert order["lines"][0]["sku"] == "HSH-SAND-S"
        created = admin.post(
            "/api/v1/returns",
            json={
                "order_number": str(number),
                "lines": [{"sku": "HSH-SAND-S", "quantity": 1, "reason": "defective"}],
                "resolution": "refund",
            },
        )
        assert created.status_code == 201, created.text
    shorts = product(report(history), "HSH")
    # The third defect of eight reaches the minimum: now a pattern.
    assert shorts["by_reason"] == {"defective": 3}
    assert [f["kind"] for f in shorts["flags"]] == ["defect_rate"]


def test_a_period_without_orders_has_no_figures(history: Store) -> None:
    found = report(history, since="2020-01-01", until="2020-02-01T00:00:00Z")
    assert found["products"] == [] and found["flags"] == []
    assert found["totals"]["units_sold"] == 0 and found["totals"]["return_rate"] is None
    assert found["since"].startswith("2020-01-01T00:00:00")


def test_who_may_read_it_and_bad_periods(history: Store) -> None:
    assert report(history, "admin")["flags"] == report(history, "lead")["flags"]
    for role in ("service", "agent"):  # the report is the operations lead's, as in the console
        with history.client(role) as other:
            refused = other.get("/api/v1/metrics/returns")
            assert refused.status_code == 403 and refused.json()["code"] == "forbidden", role
    with history.client("lead") as lead:  # a lead also works the queue like an agent
        assert lead.get("/api/v1/tickets").status_code == 200
        assert lead.get("/api/v1/metrics/kpis").status_code == 200
    with history.client("admin") as api:
        for params, code in (
            ({"since": "last week"}, "invalid_since"),
            ({"until": "2026-13-01"}, "invalid_until"),
            ({"since": "2026-11-02", "until": "2026-11-01"}, "invalid_period"),
            ({"until": "0001-01-02"}, "invalid_until"),
        ):
            r = api.get("/api/v1/metrics/returns", params=params)
            assert r.status_code == 422, (params, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.json()["code"] == code
        spec = api.get("/openapi.json").json()
    operation = spec["paths"]["/api/v1/metrics/returns"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"since", "until"}
    assert "422" in operation["responses"] and "401" in operation["responses"]
