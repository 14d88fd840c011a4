"""The console's returns report (/console/returns) on a store seeded with the returns history
(`opsdesk seed --returns-history`): admins only, the flagged patterns and the products' sizes
and colours on the page, the CSV export, and a bad period refused with the reason."""

from __future__ import annotations

import csv
import html
import io
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import REPO, drop_store, new_store, start_api, stop_api
from tests.console.conftest import ConsoleStore


@pytest.fixture(scope="module")
def lead(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleStore]:
    store = new_store("sqlite", tmp_path_factory.mktemp("returns-page"))
    subprocess.run(
        [sys.executable, "-m", "api.cli", "seed", "--returns-history"],
        cwd=REPO,
        env=store.env,
        check=True,
        capture_output=True,
    )
    start_api(store)
    console = ConsoleStore(store)
    yield console
    console.close()
    stop_api(store)
    drop_store(store)


def test_an_agent_is_refused_and_nobody_signed_out_sees_it(lead: ConsoleStore) -> None:
    agent = lead.agent()
    page = agent.http.get("/console/returns")
    assert page.status_code == 403 and "Only an admin" in page.text
    assert 'href="/console/returns"' not in agent.http.get("/console").text
    assert agent.http.get("/console/returns.csv").status_code == 403
    anonymous = lead.client()
    r = anonymous.http.get("/console/returns")
    assert r.status_code == 303 and r.headers["location"].startswith("/console/login")


def test_the_lead_sees_the_flagged_patterns_and_each_products_sizes(lead: ConsoleStore) -> None:
    admin = lead.admin()
    assert 'href="/console/returns"' in admin.http.get("/console").text
    page = admin.http.get("/console/returns", params={"days": "30"})
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    for line in (
        "Slim Selvedge Jeans, size 30: 5 of 8 returned as too small",
        "Trail Runner Sneakers, size 12: 4 of 6 returned as too large",
        "Recycled Puffer Jacket: 4 of 16 sold returned as defective",
        "Wrap Midi Dress: 5 of 16 sold not as described",
    ):
        assert line in text
    assert text.count('<li class="flag flag--') == 5
    assert "Hemp Shorts" in text and "Sizes and colours of the Wrap Midi Dress" in text
    assert '<option value="30" selected>' in text


def test_the_csv_export_has_a_row_per_product_size_colour_and_sku(lead: ConsoleStore) -> None:
    admin = lead.admin()
    r = admin.http.get("/console/returns.csv", params={"days": "90"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    jeans_30 = next(
        row for row in rows if (row["level"], row["style"], row["size"]) == ("size", "SSJ", "30")
    )
    assert (jeans_30["units_sold"], jeans_30["size_too_small"]) == ("8", "5")
    assert jeans_30["flags"] == "size_runs_small"
    puffer = next(row for row in rows if row["level"] == "product" and row["style"] == "PUF")
    assert (puffer["defective"], puffer["flags"], puffer["return_rate"]) == (
        "4", "defect_rate", "0.25",
    )  # fmt: skip
    assert {row["level"] for row in rows} == {"product", "size", "colour", "sku"}


def test_a_chosen_period_and_a_bad_one(lead: ConsoleStore) -> None:
    admin = lead.admin()
    january = {"since": "2020-01-01", "until": "2020-01-31"}
    empty = admin.http.get("/console/returns", params=january)
    assert empty.status_code == 200 and "No orders were placed in this period." in empty.text
    assert "Jan 1, 2020 – Jan 31, 2020" in html.unescape(empty.text)
    for params, reason in (
        ({"since": "2026-31-01"}, "Dates are written YYYY-MM-DD"),
        ({"since": "2026-11-02", "until": "2026-11-01"}, "The period ends before it starts."),
        ({"until": "2026-11-01"}, "Choose the first day of the period."),
    ):
        r = admin.http.get("/console/returns", params=params)
        assert r.status_code == 422 and reason in html.unescape(r.text), params
        assert 'class="flag ' not in r.text
        assert admin.http.get("/console/returns.csv", params=params).status_code == 422
