"""The help centre in chromium: from the shop's header to a search with a typo, the article
page, and the chat widget suggesting an article while the customer types (reached with the
keyboard); the pages pass axe-core. The api alone serves it: no assistant is needed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, expect

from tests.browser.conftest import save_screenshot
from tests.browser.test_accessibility import AXE, violations
from tests.conftest import Store, drop_store, free_port, new_store, start_api, stop_api

LAPTOP = {"width": 1280, "height": 860}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = new_store("sqlite", tmp_path_factory.mktemp("help-centre"))
    store.settings = {
        "OPSDESK_RASA_URL": f"http://127.0.0.1:{free_port()}",
        "OPSDESK_RASA_TIMEOUT_SECONDS": "2",
    }
    start_api(store)
    yield store
    stop_api(store)
    drop_store(store)


def test_a_customer_finds_an_answer_despite_a_typo(browser: Browser, shop: Store) -> None:
    context = browser.new_context(base_url=shop.base_url, viewport=LAPTOP)
    refused: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            refused.append(message.text)

    try:
        page = context.new_page()
        page.on("console", on_console)
        page.goto("/")
        page.get_by_role("navigation", name="Shop").get_by_role("link", name="Help centre").click()
        expect(page).to_have_url(f"{shop.base_url}/help")
        expect(page.get_by_role("heading", name="How can we help?")).to_be_visible()
        expect(page.get_by_role("heading", name="Returns and refunds")).to_be_visible()

        page.get_by_label("Search the help centre").fill("retrun polcy")
        page.get_by_label("Search the help centre").press("Enter")
        expect(page).to_have_url(re.compile(r"/help/search\?q=retrun\+polcy$"))
        expect(page.get_by_role("status")).to_contain_text("Showing results for")
        first = page.locator(".help-results li h2 a").first
        expect(first).to_have_text("What is your return policy?")
        first.click()
        expect(page).to_have_url(f"{shop.base_url}/help/articles/return-window")
        expect(page.get_by_role("heading", level=1)).to_have_text("What is your return policy?")
        expect(page.locator(".help-article-body")).to_contain_text("within 30 days of delivery")
        breadcrumb = page.get_by_role("navigation", name="Breadcrumb")
        expect(breadcrumb.get_by_role("link", name="Returns and refunds")).to_be_visible()
        page.goto("/help")
        save_screenshot(page, "help-centre.png", full_page=False)
        assert refused == [], refused
    finally:
        context.close()


def test_the_widget_suggests_articles_while_the_customer_types(
    browser: Browser, shop: Store
) -> None:
    context = browser.new_context(base_url=shop.base_url, viewport=LAPTOP)
    try:
        page = context.new_page()
        page.goto("/")
        page.locator("#odw-launcher").click()
        box = page.locator("#odw-input")
        expect(box).to_be_focused()
        suggestions = page.locator("#odw-articles")
        requests: list[str] = []
        page.on(
            "request", lambda r: requests.append(r.url) if "/help/search.json" in r.url else None
        )
        box.press_sequentially("how long does shiping take", delay=40)
        expect(suggestions).to_be_visible()
        links = suggestions.get_by_role("link")
        expect(links.first).to_have_text("How long does shipping take?")
        assert 1 <= links.count() <= 3
        # Debounced: one question for the whole phrase, not one per key.
        assert len(requests) <= 3, requests
        page.screenshot(path=str(shop.var_dir / "widget-suggestions.png"))

        box.press("ArrowDown")
        expect(links.first).to_be_focused()
        page.keyboard.press("Escape")  # back to the box, the chat stays open
        expect(box).to_be_focused()
        expect(page.locator("#odw-panel")).to_be_visible()
        box.press("ArrowDown")
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{shop.base_url}/help/articles/shipping-times")

        # Back in the shop the chat is still open (the widget keeps that per tab). A command,
        # an email address or an order number asks nothing and shows no list.
        page.goto("/")
        expect(page.locator("#odw-panel")).to_be_visible()
        requests.clear()
        page.on(
            "request", lambda r: requests.append(r.url) if "/help/search.json" in r.url else None
        )
        for text in ("/greet", "jane.doe@example.com", "order 10001 please"):
            page.locator("#odw-input").fill(text)  # one input event with the whole text
            page.wait_for_timeout(700)
            expect(page.locator("#odw-articles")).to_be_hidden()
        assert requests == [], requests
    finally:
        context.close()


def test_the_help_pages_pass_axe(browser: Browser, shop: Store) -> None:
    assert AXE.exists(), "run `make setup` (npm ci installs axe-core)"
    context = browser.new_context(base_url=shop.base_url, viewport=LAPTOP, bypass_csp=True)
    try:
        page = context.new_page()
        for path in (
            "/help",
            "/help/topics/returns",
            "/help/articles/exchanges",
            "/help/search?q=refnd",
        ):
            page.goto(path)
            assert violations(page) == [], path
    finally:
        context.close()
