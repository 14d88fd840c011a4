"""The returns report in chromium: the operations lead (admin) opens it from the console's
navigation on a store seeded with the returns history, sees the flagged patterns, opens a
product's sizes, chooses a period and downloads the CSV; an agent has no link and is refused."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import save_screenshot
from tests.browser.test_console import ADMIN_EMAIL, AGENT_EMAIL, sign_in_as
from tests.conftest import REPO, Store, drop_store, free_port, new_store, start_api, stop_api

LAPTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = new_store("sqlite", tmp_path_factory.mktemp("returns-report"))
    subprocess.run(
        [sys.executable, "-m", "api.cli", "seed", "--returns-history"],
        cwd=REPO,
        env=store.env,
        check=True,
        capture_output=True,
    )
    store.settings = {"OPSDESK_RASA_URL": f"http://127.0.0.1:{free_port()}"}
    start_api(store)
    yield store
    stop_api(store)
    drop_store(store)


def test_the_lead_reads_what_returns_teach_and_exports_it(browser: Browser, history: Store) -> None:
    context = browser.new_context(base_url=history.base_url, viewport=LAPTOP, accept_downloads=True)
    try:
        page = context.new_page()
        sign_in_as(page, history, ADMIN_EMAIL, "admin_password")
        page.get_by_role("navigation", name="Console").get_by_role("link", name="Returns").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("What returns teach")
        flags = page.locator(".flag-list li")
        expect(flags).to_have_count(5)
        expect(flags.filter(has_text="Slim Selvedge Jeans, size 30")).to_contain_text("too small")
        expect(flags.filter(has_text="Recycled Puffer Jacket")).to_contain_text("defective")
        dress = page.locator("tbody[data-style='WMD']")
        dress.get_by_text("Sizes and colours of the Wrap Midi Dress").click()
        rust = dress.get_by_role("row", name="rust")
        expect(rust).to_contain_text("not as described 5")
        save_screenshot(page, "returns-report.png", full_page=False)

        with page.expect_download() as download_info:
            page.get_by_role("link", name="Export CSV").click()
        rows = list(csv.DictReader(io.StringIO(download_info.value.path().read_text())))
        trainers = next(
            r for r in rows if (r["level"], r["style"], r["size"]) == ("size", "TRS", "12")
        )
        assert (trainers["size_too_large"], trainers["flags"]) == ("4", "size_runs_large")

        # A period before the history: nothing to flag.
        page.get_by_label("From").fill("2020-01-01")
        page.get_by_label("To").fill("2020-01-31")
        page.get_by_role("button", name="Show").click()
        expect(page.get_by_text("No orders were placed in this period.")).to_be_visible()
        expect(page.get_by_text("Nothing stands out in this period.")).to_be_visible()
    finally:
        context.close()


def test_an_agent_has_no_returns_report(browser: Browser, history: Store) -> None:
    context = browser.new_context(base_url=history.base_url, viewport=LAPTOP)
    try:
        page = context.new_page()
        sign_in_as(page, history, AGENT_EMAIL, "agent_password")
        nav = page.get_by_role("navigation", name="Console")
        expect(nav.get_by_role("link", name="KPIs")).to_be_visible()
        expect(nav.get_by_role("link", name="Returns")).to_have_count(0)
        answer = page.goto("/console/returns")
        assert answer is not None and answer.status == 403
        expect(
            page.get_by_text(
                "Only the operations lead or an admin of the console can open this page."
            )
        ).to_be_visible()
    finally:
        context.close()
