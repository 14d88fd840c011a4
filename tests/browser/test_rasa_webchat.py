"""The stock rasa-webchat 1.0.1 bundle, unmodified, against the hub's /socket.io/: the same
order-status question as in OpsDesk's own widget, and the conversation after a reload."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.browser.conftest import REPLY_TIMEOUT_MS, OffsiteWatch
from tests.browser.test_storefront_chat import QUESTION, conversation_of, tracking_number
from tests.e2e.conftest import Stack


def test_order_status_through_rasa_webchat(page: Page, offsite: OffsiteWatch, stack: Stack) -> None:
    # rasa-webchat asks a font host for a stylesheet; the page's policy refuses it.
    offsite.allow_refused = True
    page.goto("/storefront/webchat")
    page.locator(".rw-launcher").click()
    # initPayload "/greet": the assistant's greeting with its buttons as quick replies.
    expect(page.locator(".rw-response").first).to_contain_text("Fernhill", timeout=REPLY_TIMEOUT_MS)
    expect(page.locator(".rw-reply").filter(has_text="Track my order")).to_be_visible()

    page.locator(".rw-new-message").fill(QUESTION)
    page.locator(".rw-new-message").press("Enter")
    expect(page.locator(".rw-client").last).to_contain_text(QUESTION)
    tracking = tracking_number(stack)
    answer = page.locator(".rw-response").filter(has_text=tracking)
    expect(answer).to_contain_text("UPS", timeout=REPLY_TIMEOUT_MS)

    # rasa-webchat keeps its session in localStorage and sends it back in session_request.
    session = json.loads(page.evaluate("localStorage.getItem('chat_session')"))
    session_id = session["session_id"]
    _id, mode, stored = conversation_of(stack, session_id)
    assert mode == "bot" and stored >= 4

    page.reload()
    # After a reload rasa-webchat mounts its launcher first and then restores its own state,
    # open or closed: wait for that before deciding whether to open it (a click while it is
    # still restoring an open chat would close it again).
    expect(page.locator(".rw-launcher")).to_be_attached(timeout=REPLY_TIMEOUT_MS)
    try:
        page.locator(".rw-new-message").wait_for(state="visible", timeout=5_000)
    except PlaywrightTimeoutError:
        page.locator(".rw-launcher").click()
    expect(page.locator(".rw-response").filter(has_text=tracking)).to_have_count(1)
    answers_before = page.locator(".rw-response").count()
    page.locator(".rw-new-message").fill("thanks!")
    page.locator(".rw-new-message").press("Enter")
    expect(page.locator(".rw-client").last).to_contain_text("thanks!")
    page.wait_for_function(
        "n => document.querySelectorAll('.rw-response').length > n",
        arg=answers_before,
        timeout=REPLY_TIMEOUT_MS,
    )
    # Still the same conversation on the hub, one more turn each way in it.
    again = json.loads(page.evaluate("localStorage.getItem('chat_session')"))
    assert again["session_id"] == session_id
    assert conversation_of(stack, session_id)[2] >= stored + 2
    assert all("fonts.googleapis.com" in url for url in offsite.refused_by_policy)
