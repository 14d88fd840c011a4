"""The agent console in a real browser beside a customer in the storefront widget.

Against the real assistant: the customer asks for a person, the ticket appears live in the
agent's open queue, the agent opens it (transcript, the bot's summary, the order panel),
replies, the reply shows in the customer's widget, the agent resolves and the assistant
answers again.

With the assistant away (the api alone, so no trained model is needed): two agents have the
customer's conversation open; the first sees the customer typing in the widget, the second
agent's status and priority changes in its header without a reload, the customer's message
live, and the customer leaving the chat."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import REPLY_TIMEOUT_MS, ChatWidget, save_screenshot
from tests.browser.test_storefront_chat import QUESTION, tracking_number
from tests.conftest import Store, drop_store, free_port, new_store, start_api, stop_api
from tests.e2e.conftest import Stack

AGENT_EMAIL = "alex@fernhill.example"
LAPTOP = {"width": 1366, "height": 800}


def agent_password(stack: Stack) -> str:
    secrets = json.loads((Path(stack.log_dir).parent / "secrets.json").read_text())
    return str(secrets["agent_password"])


# Handoffs already waiting, opened as the action server opens them (POST /api/v1/tickets
# naming the customer's conversation): the queue orders them by priority, then SLA due time.
WAITING = [
    ("ella.rossi@example.com", "10009", "lost_parcel", "urgent", "Order #10009 lost in transit."),
    ("sam.lee@example.com", "10002", "delayed_order", "high", "Order #10002 delayed, 4 days."),
    ("omar.haddad@example.com", "10004", "return_outside_window", "low", "Return at 45 days."),
]


def waiting_handoffs(stack: Stack) -> None:
    for email, order, reason, priority, summary in WAITING:
        sender = f"queue-{order}-{time.monotonic_ns()}"
        said = httpx.post(
            f"{stack.api_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": "hello"},
            timeout=60,
        )
        assert said.status_code == 200, said.text
        with httpx.Client(
            base_url=stack.api_url, headers={"Authorization": f"Bearer {stack.admin_key}"}
        ) as api:
            conversation_id = next(
                c["id"]
                for c in api.get("/api/v1/conversations", params={"channel": "rest"}).json()[
                    "items"
                ]
                if c["channel_key"] == sender
            )
        made = httpx.post(
            f"{stack.api_url}/api/v1/tickets",
            json={
                "conversation_id": conversation_id,
                "channel": "rest",
                "customer_email": email,
                "order_number": order,
                "reason": reason,
                "priority": priority,
                "summary": summary,
            },
            headers={"Authorization": f"Bearer {stack.admin_key}"},
            timeout=10,
        )
        assert made.status_code == 201, made.text


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
    waiting_handoffs(stack)
    agent_context = browser.new_context(base_url=base_url, viewport=LAPTOP)
    console = agent_context.new_page()
    try:
        sign_in(console, stack)
        rows = console.locator("tbody tr[data-ticket]")
        rows_before = rows.count()
        assert rows_before >= len(WAITING)
        expect(rows.first).to_contain_text("Ella")  # urgent first

        # The customer, in the shop's widget: the order first, then a person.
        widget.open()
        widget.wait_for_greeting()
        widget.say(QUESTION)
        widget.wait_for_reply("UPS", tracking_number(stack))
        widget.say("I'd like to talk to a person please")
        widget.wait_for_reply("person")
        handed_off = time.monotonic()

        # The agent's open queue shows the ticket without a reload.
        expect(rows).to_have_count(rows_before + 1, timeout=5_000)
        seen_after = time.monotonic() - handed_off
        new_row = rows.filter(has_text="Jane Doe")
        expect(new_row).to_contain_text("order 10001")
        expect(new_row).to_have_class(re.compile("is-new"))
        expect(console.locator("[data-count='open']")).not_to_have_text("0")
        assert seen_after < 3.0, f"the ticket took {seen_after:.1f} s to show"
        save_screenshot(console, "console-queue.png")

        # Open it from the keyboard: j moves down the rows, Enter opens the selected one.
        position = [r.get_attribute("data-ticket") for r in rows.all()].index(
            new_row.get_attribute("data-ticket")
        )
        for _ in range(position + 1):
            console.keyboard.press("j")
        expect(new_row).to_have_class(re.compile("is-selected"))
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


# -- with the assistant away ----------------------------------------------------------------

ADMIN_EMAIL = "admin@fernhill.example"


@pytest.fixture(scope="module")
def quiet_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The api alone on a fresh SQLite store; nothing answers for the assistant, so the hub
    offers a person and opens the ticket itself."""
    store = new_store("sqlite", tmp_path_factory.mktemp("console-live"))
    store.settings = {
        "OPSDESK_RASA_URL": f"http://127.0.0.1:{free_port()}",
        "OPSDESK_RASA_TIMEOUT_SECONDS": "2",
    }
    start_api(store)
    yield store
    stop_api(store)
    drop_store(store)


def sign_in_as(page: Page, store: Store, email: str, password_key: str) -> None:
    password = json.loads((store.var_dir / "secrets.json").read_text())[password_key]
    page.goto("/console/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{store.base_url}/console")


def test_the_agent_sees_the_customer_typing_a_colleagues_changes_and_the_customer_leaving(
    browser: Browser, quiet_api: Store
) -> None:
    base = quiet_api.base_url
    shopper = browser.new_context(base_url=base)
    alex_context = browser.new_context(base_url=base, viewport=LAPTOP)
    morgan_context = browser.new_context(base_url=base, viewport=LAPTOP)
    try:
        # The customer asks for a person; the assistant is away, so the hub opens the ticket.
        widget = ChatWidget(shopper.new_page())
        widget.page.goto("/")
        widget.open()
        person = widget.replies.filter(has_text="Talk to a person")
        expect(person).to_be_visible(timeout=REPLY_TIMEOUT_MS)
        person.click()
        expect(widget.log).to_contain_text("support team", timeout=REPLY_TIMEOUT_MS)
        with quiet_api.client("agent") as api:
            listed = api.get("/api/v1/conversations", params={"channel": "socketio"}).json()
        conversation_id = next(
            c["id"] for c in listed["items"] if c["channel_key"] == widget.session_id()
        )
        path = f"/console/conversations/{conversation_id}"

        alex = alex_context.new_page()
        sign_in_as(alex, quiet_api, AGENT_EMAIL, "agent_password")
        alex.goto(path)
        expect(alex.locator("[data-live-state]")).to_have_text("Live")
        expect(alex.locator("[data-head-status]")).to_have_text("open")
        alex.evaluate("window.__sameDocument = true")  # gone if the page reloads
        morgan = morgan_context.new_page()
        sign_in_as(morgan, quiet_api, ADMIN_EMAIL, "admin_password")
        morgan.goto(path)

        # The customer writes (not sent yet): Alex sees it, and nothing is stored for it.
        presence = alex.locator("#customer-presence")
        widget.input.press_sequentially("Is anyone th", delay=60)
        expect(presence).to_have_text("Customer is typing…", timeout=5_000)

        # Morgan sets the ticket pending, then urgent: Alex's header follows without a reload.
        morgan.locator("form[action$='/pending'] button").click()
        expect(morgan.locator(".flash--ok")).to_contain_text("Pending")
        expect(alex.locator("[data-head-status]")).to_have_text("pending", timeout=5_000)
        morgan.locator("form[action$='/priority'] select").select_option("urgent")
        morgan.locator("form[action$='/priority'] button").click()
        expect(alex.locator("[data-head-priority]")).to_have_text("urgent", timeout=5_000)
        expect(alex.locator("form[action$='/priority'] select")).to_have_value("urgent")
        expect(alex.locator("[data-head-announce]")).to_contain_text("urgent priority")
        assert alex.evaluate("window.__sameDocument") is True

        # The message arrives live and the typing line gives way to it.
        widget.input.press_sequentially("ere?", delay=60)
        widget.input.press("Enter")
        expect(alex.locator("#transcript .msg--customer .msg-text").last).to_have_text(
            "Is anyone there?"
        )
        expect(presence).to_have_text("")
        stored = quiet_api.scalar(
            "SELECT count(*) FROM messages WHERE conversation_id = :c AND text LIKE 'Is any%'",
            c=conversation_id,
        )
        assert stored == 1  # the message once; the typing never

        # The customer closes the tab: after a reload's grace, Alex is told they left.
        widget.page.close()
        expect(presence).to_have_text("Customer left the chat", timeout=15_000)
        assert alex.evaluate("window.__sameDocument") is True
    finally:
        for context in (shopper, alex_context, morgan_context):
            context.close()
