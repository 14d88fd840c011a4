"""A customer on the demo storefront, using OpsDesk's chat widget in a real browser against the
real assistant: the order-status question, a reload, the keyboard alone, a phone, a person
taking over."""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session

from api.ops.auth.service import create_key
from tests.browser.conftest import (
    REPLY_TIMEOUT_MS,
    ChatWidget,
    OffsiteWatch,
    new_phone_context,
    save_screenshot,
)
from tests.e2e.conftest import Stack

QUESTION = "Where is my order 10001? My email is jane.doe@example.com"


def tracking_number(stack: Stack) -> str:
    return str(
        stack.scalar(
            "SELECT s.tracking_number FROM shipments s JOIN orders o ON o.id = s.order_id "
            "WHERE o.number = 10001"
        )
    )


def conversation_of(stack: Stack, session_id: str) -> tuple[str, str, int]:
    """(id, mode, message count) of the socket.io conversation of this session."""
    engine = sa.create_engine(stack.db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT c.id, c.mode, (SELECT count(*) FROM messages m "
                    "WHERE m.conversation_id = c.id) FROM conversations c "
                    "WHERE c.channel = 'socketio' AND c.channel_key = :key"
                ),
                {"key": session_id},
            ).all()
    finally:
        engine.dispose()
    assert len(rows) == 1, f"expected one conversation for session {session_id}: {rows}"
    return rows[0][0], rows[0][1], rows[0][2]


def test_storefront_shows_products_from_the_catalog(widget: ChatWidget, stack: Stack) -> None:
    page = widget.page
    name = stack.scalar("SELECT name FROM products ORDER BY id LIMIT 1")
    price = stack.scalar("SELECT price FROM products ORDER BY id LIMIT 1")
    expect(page).to_have_title("Fernhill & Co.")
    expect(page.locator(".product-name").first).to_have_text(str(name))
    expect(page.locator(".product-price").first).to_have_text(f"${float(price):,.2f}")  # type: ignore[arg-type]
    assert page.locator(".product").count() >= 4
    expect(widget.launcher).to_have_attribute("aria-expanded", "false")
    expect(widget.panel).to_be_hidden()


def test_order_status_in_the_widget_survives_a_reload(widget: ChatWidget, stack: Stack) -> None:
    page = widget.page
    widget.open()
    widget.wait_for_greeting()
    expect(widget.replies.filter(has_text="Track my order")).to_be_visible()

    widget.say(QUESTION)
    tracking = tracking_number(stack)
    answer = widget.wait_for_reply("UPS", tracking)
    assert "10001" in answer
    expect(widget.typing).to_be_hidden()
    expect(widget.log.locator(".odw-msg--bot .odw-author").first).to_have_text("Fernhill assistant")
    session_id = widget.session_id()
    conversation_id, mode, stored = conversation_of(stack, session_id)
    assert mode == "bot" and stored >= 4  # greeting and its command, question, answer
    save_screenshot(page, "widget.png")

    page.reload()
    # The panel reopens with the same conversation, painted once, on the same session.
    expect(widget.panel).to_be_visible()
    expect(widget.messages("customer").filter(has_text=QUESTION)).to_have_count(1)
    expect(widget.messages("bot").filter(has_text=tracking)).to_have_count(1)
    assert widget.session_id() == session_id
    expect(widget.status).to_have_attribute("data-state", "online")

    # The conversation goes on after the reload, still the same one.
    widget.say("and when will it arrive?")
    widget.wait_for_reply("10001")
    again_id, _mode, stored_after = conversation_of(stack, session_id)
    assert again_id == conversation_id and stored_after >= stored + 2
    shown = page.eval_on_selector_all(".odw-msg[data-id]", "els => els.map(e => e.dataset.id)")
    assert len(shown) == len(set(shown)), f"a message is shown twice: {shown}"


def test_keyboard_alone(widget: ChatWidget, stack: Stack) -> None:
    page = widget.page
    for _ in range(40):
        if page.evaluate("document.activeElement.id") == "odw-launcher":
            break
        page.keyboard.press("Tab")
    expect(widget.launcher).to_be_focused()
    page.keyboard.press("Enter")
    expect(widget.panel).to_be_visible()
    expect(widget.launcher).to_have_attribute("aria-expanded", "true")
    expect(widget.input).to_be_focused()
    widget.wait_for_greeting()

    # Back from the message box to the suggested replies, and choose one with Enter.
    for _ in range(6):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.textContent") == "Track my order":
            break
    expect(widget.replies.filter(has_text="Track my order")).to_be_focused()
    page.keyboard.press("Enter")
    expect(widget.messages("customer").last).to_have_text("Track my order")
    widget.wait_for_reply("order number")
    expect(widget.input).to_be_focused()

    page.keyboard.type("10001")
    page.keyboard.press("Enter")
    expect(widget.messages("customer").last).to_have_text("10001")
    reply = widget.wait_for_reply("email")
    assert "UPS" not in reply  # nothing shown before the customer is verified
    page.keyboard.type("jane.doe@example.com")
    page.keyboard.press("Enter")
    widget.wait_for_reply("UPS", tracking_number(stack))

    page.keyboard.press("Escape")
    expect(widget.panel).to_be_hidden()
    expect(widget.launcher).to_be_focused()
    expect(widget.launcher).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(widget.input).to_be_focused()
    expect(widget.messages("bot").filter(has_text="UPS")).to_have_count(1)


def test_phone_sized_screen(browser: Browser, base_url: str, stack: Stack) -> None:
    context = new_phone_context(browser, base_url)
    watch = OffsiteWatch(stack.api_url)
    watch.attach(context)
    page = context.new_page()
    page.goto("/")
    widget = ChatWidget(page)
    launcher = widget.launcher.bounding_box()
    assert launcher is not None and launcher["width"] <= 80  # the round bubble, no label
    widget.launcher.tap()
    expect(widget.panel).to_be_visible()
    box = widget.panel.bounding_box()
    assert box == {"x": 0, "y": 0, "width": 390, "height": 844}, box  # the whole screen
    widget.wait_for_greeting()
    widget.replies.filter(has_text="Track my order").tap()
    widget.wait_for_reply("order number")
    widget.say("10001 jane.doe@example.com")
    widget.wait_for_reply("UPS")
    # The newest message is scrolled into view above the message box.
    newest = widget.log.locator(".odw-msg").last.bounding_box()
    form = page.locator("#odw-form").bounding_box()
    assert newest is not None and form is not None
    assert newest["y"] >= 0 and newest["y"] + newest["height"] <= form["y"] + 1
    assert widget.input.evaluate("e => getComputedStyle(e).fontSize") == "16px"  # no zoom-in
    save_screenshot(page, "widget-phone.png")
    # Full screen, Tab cycles within the chat instead of wandering into the hidden page.
    page.locator("#odw-send").focus()
    page.keyboard.press("Tab")
    expect(page.locator("#odw-close")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.locator("#odw-send")).to_be_focused()
    widget.page.locator("#odw-close").tap()
    expect(widget.panel).to_be_hidden()
    context.close()
    watch.check()


def test_person_takes_over_and_replies_live(widget: ChatWidget, stack: Stack) -> None:
    widget.open()
    widget.wait_for_greeting()
    widget.say("I'd like to talk to a person please")
    widget.wait_for_reply("person")
    conversation_id, _mode, _count = conversation_of(stack, widget.session_id())
    # The customer closes the chat and goes on browsing; the reply finds them anyway.
    widget.page.keyboard.press("Escape")
    expect(widget.panel).to_be_hidden()

    engine = sa.create_engine(stack.db_url)
    try:
        with Session(engine) as db:
            key = create_key(db_session=db, name="Alex", role="agent")
            db.commit()
    finally:
        engine.dispose()
    r = httpx.post(
        f"{stack.api_url}/api/v1/conversations/{conversation_id}/messages",
        json={"text": "Hi, I'm Alex from the Fernhill team. How can I help?"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert r.status_code == 201, r.text

    badge = widget.page.locator("#odw-unread")
    expect(badge).to_have_text("1", timeout=10_000)
    expect(widget.launcher).to_have_attribute("aria-label", "Chat with us, 1 new")
    widget.launcher.click()
    expect(badge).to_be_hidden()
    agent = widget.log.locator(".odw-msg--agent")
    expect(agent.locator(".odw-bubble")).to_have_text(
        "Hi, I'm Alex from the Fernhill team. How can I help?", timeout=10_000
    )
    expect(agent.locator(".odw-author")).to_have_text("Alex · Fernhill team")
    expect(widget.status).to_have_attribute("data-state", "human")

    # While a person owns the conversation the assistant stays silent and nobody "types".
    bots_before = widget.messages("bot").count()
    widget.say("Thanks Alex, it's about order 10001")
    expect(widget.typing).to_be_hidden()
    widget.page.wait_for_timeout(3000)
    expect(widget.messages("bot")).to_have_count(bots_before)

    widget.page.reload()
    expect(widget.log.locator(".odw-msg--agent .odw-author")).to_have_text("Alex · Fernhill team")
    expect(widget.messages("customer").last).to_have_text("Thanks Alex, it's about order 10001")
    expect(widget.status).to_have_attribute("data-state", "human", timeout=REPLY_TIMEOUT_MS)


def test_a_message_written_offline_is_sent_on_reconnect(widget: ChatWidget, stack: Stack) -> None:
    page = widget.page
    widget.open()
    widget.wait_for_greeting()

    page.context.set_offline(True)
    expect(widget.status).to_have_attribute("data-state", "offline")
    widget.say(QUESTION)
    pending = widget.log.locator(".odw-msg--customer").last
    expect(pending).to_have_class("odw-msg odw-msg--customer odw-msg--pending")
    expect(pending.locator(".odw-note")).to_be_visible()

    page.context.set_offline(False)
    expect(widget.status).to_have_attribute("data-state", "online", timeout=REPLY_TIMEOUT_MS)
    expect(pending).to_have_class("odw-msg odw-msg--customer")
    widget.wait_for_reply("UPS", tracking_number(stack))
    # Sent once, after the same session was confirmed again.
    session_id = widget.session_id()
    conversation_id, _mode, _count = conversation_of(stack, session_id)
    assert (
        stack.scalar(
            "SELECT count(*) FROM messages WHERE conversation_id = :c AND text = :t",
            c=conversation_id,
            t=QUESTION,
        )
        == 1
    )
