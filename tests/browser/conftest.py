"""Browser tests: Playwright driving Debian's chromium (/usr/bin/chromium) against the whole
system that the end-to-end fixture starts (the api with the hub and the storefront, the
action server, `rasa run` with the trained model, on a fresh seeded database)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.conftest import REPO
from tests.e2e.conftest import Stack, stack  # noqa: F401 (the session's running system)

CHROMIUM = Path("/usr/bin/chromium")
# The assistant answers in about a second here; a cold first turn (model warm-up) is slower.
REPLY_TIMEOUT_MS = 30_000
# Any expectation without its own timeout waits this long: CI machines are small and busy.
expect.set_options(timeout=15_000)
# Screenshots land here on every run; with OPSDESK_UPDATE_SCREENSHOTS=1 they also replace
# the ones the README shows (docs/).
RESULTS = REPO / "var" / "results" / "browser"
DOCS = REPO / "docs"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install -y chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": browser_type_launch_args.get("headless", True),
        # Without the background-networking switches chromium keeps calling hosts that this
        # network refuses.
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def base_url(stack: Stack) -> str:  # noqa: F811
    return stack.api_url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 860}}


class OffsiteWatch:
    """Every request a page tries to make to another host. OpsDesk's pages make none; a
    stock widget's may be tried and refused by the page's Content-Security-Policy."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.attempted: list[str] = []
        self.refused_by_policy: list[str] = []
        self.allow_refused = False

    def attach(self, context: BrowserContext) -> None:
        context.on("request", self._seen)
        context.on("requestfailed", self._failed)

    def _offsite(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme not in ("data", "blob") and (
            f"{parts.scheme}://{parts.netloc}" != self.origin
        )

    def _seen(self, request: Any) -> None:
        if self._offsite(request.url):
            self.attempted.append(request.url)

    def _failed(self, request: Any) -> None:
        if self._offsite(request.url) and request.failure in ("csp", "net::ERR_BLOCKED_BY_CSP"):
            self.refused_by_policy.append(request.url)

    def check(self) -> None:
        reached = list(self.attempted)
        if self.allow_refused:
            for url in self.refused_by_policy:
                reached.remove(url)
        assert reached == [], f"the page reached other hosts: {reached}"


@pytest.fixture()
def offsite(context: BrowserContext, stack: Stack) -> Iterator[OffsiteWatch]:  # noqa: F811
    watch = OffsiteWatch(stack.api_url)
    watch.attach(context)
    yield watch
    watch.check()


BOT_CLASS = "contains(@class, 'odw-msg--bot')"


class ChatWidget:
    """OpsDesk's widget on a storefront page, driven as a customer would."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.launcher = page.locator("#odw-launcher")
        self.panel = page.locator("#odw-panel")
        self.log = page.locator("#odw-log")
        self.input = page.locator("#odw-input")
        self.replies = page.locator("#odw-replies button")
        self.typing = page.locator("#odw-typing")
        self.status = page.locator("#odw-status")

    def messages(self, author: str) -> Locator:
        return self.log.locator(f".odw-msg--{author} .odw-bubble")

    def open(self) -> None:
        self.launcher.click()
        expect(self.panel).to_be_visible()
        expect(self.input).to_be_focused()

    def wait_for_greeting(self) -> None:
        expect(self.replies.first).to_be_visible(timeout=REPLY_TIMEOUT_MS)
        expect(self.status).to_have_attribute("data-state", "online")

    def say(self, text: str) -> None:
        """Type into the box and press Enter; wait until the message shows as sent."""
        self.input.fill(text)
        self.input.press("Enter")
        expect(self.messages("customer").last).to_have_text(text)

    def wait_for_reply(self, *needles: str) -> str:
        """The first bot message after the last customer turn that contains every needle."""
        last_customer = self.log.locator(".odw-msg--customer").last
        replies = last_customer.locator(f"xpath=following-sibling::div[{BOT_CLASS}]")
        for needle in needles:
            expect(replies.filter(has_text=needle).first).to_be_visible(timeout=REPLY_TIMEOUT_MS)
        return "\n".join(replies.all_inner_texts())

    def session_id(self) -> str:
        value = self.page.evaluate("localStorage.getItem('opsdesk.chat.session_id')")
        assert isinstance(value, str) and value, "no session id kept in localStorage"
        return value


@pytest.fixture()
def widget(page: Page, offsite: OffsiteWatch) -> ChatWidget:
    page.goto("/")
    return ChatWidget(page)


def save_screenshot(page: Page, name: str, **kwargs: Any) -> Path:
    """Screenshot into var/results/browser/ (and docs/ when asked to update them)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    page.screenshot(path=str(path), **kwargs)
    assert path.stat().st_size > 10_000, "the screenshot is blank"
    if os.environ.get("OPSDESK_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(path, DOCS / name)
    return path


def new_phone_context(browser: Browser, base_url: str, **options: Any) -> BrowserContext:
    return browser.new_context(
        base_url=base_url,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        **options,
    )
