"""axe-core's accessibility rules on the storefront with the chat closed, open and in the
middle of a conversation, on a desktop and on a phone-sized screen."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, Page

from tests.browser.conftest import ChatWidget, new_phone_context
from tests.browser.test_storefront_chat import QUESTION
from tests.conftest import REPO

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"


def violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (WCAG 2.x A and AA, best practices)."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async () => {
          const result = await axe.run(document, {resultTypes: ["violations"]});
          return result.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
        }"""
    )


def check_conversation(page: Page) -> None:
    page.goto("/")
    assert violations(page) == []
    widget = ChatWidget(page)
    widget.open()
    widget.wait_for_greeting()
    assert violations(page) == []
    widget.say(QUESTION)
    widget.wait_for_reply("UPS")
    assert violations(page) == []


def test_storefront_and_chat_pass_axe(browser: Browser, base_url: str) -> None:
    assert AXE.exists(), "run `make setup` (npm ci installs axe-core)"
    # axe is injected as a script of the test's own; the page's policy would refuse it.
    context = browser.new_context(
        base_url=base_url, viewport={"width": 1280, "height": 860}, bypass_csp=True
    )
    check_conversation(context.new_page())
    context.close()


def test_phone_sized_chat_passes_axe(browser: Browser, base_url: str) -> None:
    context = new_phone_context(browser, base_url, bypass_csp=True)
    check_conversation(context.new_page())
    context.close()
