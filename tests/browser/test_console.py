"""The agent console in a real browser beside a customer in the storefront widget, against the
real assistant: the customer asks for a person, the ticket appears live in the agent's open
queue, the agent opens it (transcript, the bot's summary, the order panel), replies, the
reply shows in the customer's widget, the agent resolves and the assistant answers again."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import REPLY_TIMEOUT_MS, ChatWidget, save_screenshot
from tests.browser.test_storefront_chat import QUESTION, tracking_number
from tests.e2e.conftest import Stack

AGENT_EMAIL = "alex@fernhill.example"
LAPTOP = {"width": 1366, "height": 800}


def agent_password(stack: Stack) -> str:
    secrets = json.loads((Path(stack.log_dir).parent / "secrets.json").read_text())
    return str(secrets["agent_password"])


def sign_in(page: Page, stack: Stack) -> None:
    page.goto("/console")
    expect(page).to_have_url(f"{stack.api_url}/console/login?next=%2Fconsole")
    page.get_by_label("Email").fill(AGENT_EMAIL)
    page.get_by_label("Password").fill(agent_password(stack))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{stack.api_url}/console")
    expect(page.locator("[data-live-state]")).to_have_text("Live")


def test_a_handoff_from_the_widget_is_answered_and_resolved_in_the_console(
    widget: ChatWidget, browser: Browser, base_url: str, stack: Stack
) -> None:
    agent_context = browser.new_context(base_url=base_url, viewport=LAPTOP)
    console = agent_context.new_page()
    try:
        sign_in(console, stack)
        rows_before = console.locator("tbody tr[data-ticket]").count()

        # The customer, in the shop's widget: the order first, then a person.
        widget.open()
        widget.wait_for_greeting()
        widget.say(QUESTION)
        widget.wait_for_reply("UPS", tracking_number(stack))
        widget.say("I'd like to talk to a person please")
        widget.wait_for_reply("person")
        handed_off = time.monotonic()

        # The agent's open queue shows the ticket without a reload.
        new_row = console.locator("tbody tr[data-ticket]").first
        expect(console.locator("tbody tr[data-ticket]")).to_have_count(
            rows_before + 1, timeout=5_000
        )
        seen_after = time.monotonic() - handed_off
        expect(new_row).to_contain_text("Jane")
        expect(new_row).to_contain_text("order 10001")
        expect(console.locator("[data-count='open']")).not_to_have_text("0")
        assert seen_after < 3.0, f"the ticket took {seen_after:.1f} s to show"
        save_screenshot(console, "console-queue.png")

        # Open it from the keyboard: j selects the first row, Enter opens it.
        console.keyboard.press("j")
        console.keyboard.press("Enter")
        expect(console).to_have_url(re.compile(r"/console/conversations/c-[\w-]+$"))
        expect(console.locator("#transcript")).to_contain_text("Where is my order 10001?")
        expect(console.locator("#transcript")).to_contain_text("talk to a person")
        expect(console.locator(".context")).to_contain_text("Order #10001")
        expect(console.locator(".context")).to_contain_text(tracking_number(stack))
        expect(console.locator(".context")).to_contain_text("jane.doe@example.com")

        # A saved reply, filled from the context, then sent with Ctrl+Enter.
        console.keyboard.press("r")
        reply = console.locator("#reply")
        expect(reply).to_be_focused()
        console.keyboard.press("Alt+2")
        expect(reply).to_have_value(
            f"Hi Jane, here is the live tracking for order #10001: "
            f"https://www.ups.com/track?tracknum={tracking_number(stack)}"
        )
        reply.fill("Hi Jane, this is Alex. I've asked UPS to trace your parcel.")
        reply.press("Control+Enter")
        expect(reply).to_have_value("")
        sent = console.locator(".msg--agent .msg-text")
        expect(sent.last).to_have_text(
            "Hi Jane, this is Alex. I've asked UPS to trace your parcel."
        )
        save_screenshot(console, "console-conversation.png")

        # The reply reaches the customer's widget, from a named person.
        agent_turn = widget.log.locator(".odw-msg--agent")
        expect(agent_turn.locator(".odw-bubble")).to_have_text(
            "Hi Jane, this is Alex. I've asked UPS to trace your parcel.", timeout=10_000
        )
        expect(agent_turn.locator(".odw-author")).to_have_text("Alex · Fernhill team")

        # The customer answers; the agent sees it live.
        widget.say("Thank you Alex!")
        expect(console.locator("#transcript .msg--customer .msg-text").last).to_have_text(
            "Thank you Alex!", timeout=5_000
        )

        # Resolve: the assistant has the conversation again and answers the next message.
        console.get_by_role("button", name="Resolve").click()
        expect(console.locator(".flash--ok")).to_contain_text("resolved")
        expect(widget.status).to_have_attribute("data-state", "online", timeout=REPLY_TIMEOUT_MS)
        bots_before = widget.messages("bot").count()
        widget.say("Do you have the Everyday Organic Tee in navy, size M?")
        expect(widget.messages("bot")).not_to_have_count(bots_before, timeout=REPLY_TIMEOUT_MS)
        expect(widget.messages("bot").last).to_be_visible()

        console.goto("/console/kpis")
        expect(console.locator(".tile").first).to_be_visible()
        save_screenshot(console, "console-kpis.png", full_page=True)
    finally:
        agent_context.close()
