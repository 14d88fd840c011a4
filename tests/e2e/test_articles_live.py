"""An article edited by an admin through the ops API is, from the next request on, what the
help centre's page shows and what the trained assistant answers (its action asks the API's
KB search): no retraining, no restart. (Named to run before test_conversations.py, whose
last test stops the api.)"""

from __future__ import annotations

import html

import httpx

from tests.e2e.conftest import Conversation, Stack

ARTICLE = "/api/v1/kb/articles/shipping-times"


def test_an_edited_article_is_live_for_the_help_centre_and_the_assistant(
    stack: Stack, chat: Conversation
) -> None:
    admin = httpx.Client(
        base_url=stack.api_url,
        headers={"Authorization": f"Bearer {stack.admin_key}"},
        timeout=30,
    )
    original = admin.get(ARTICLE).json()
    edited = (
        "Standard shipping takes 2-4 business days and express arrives the next business day, "
        "now from our new Columbus, OH warehouse too."
    )
    try:
        before = chat.say("how long does shipping take?")
        assert "Columbus" not in before, chat.transcript
        r = admin.patch(ARTICLE, json={"answer": edited})
        assert r.status_code == 200, r.text

        page = httpx.get(f"{stack.api_url}/help/articles/shipping-times", timeout=30)
        assert edited in html.unescape(page.text)
        assert edited[:40] not in html.unescape(
            httpx.get(f"{stack.api_url}/help/articles/same-day-dispatch", timeout=30).text
        )

        after = chat.say("how long does delivery take?")
        assert "Columbus, OH warehouse" in after, chat.transcript
        assert "2-4 business days" in after, chat.transcript
    finally:
        restored = admin.patch(ARTICLE, json={"answer": original["answer"]})
        admin.close()
    assert restored.status_code == 200 and restored.json()["answer"] == original["answer"]
