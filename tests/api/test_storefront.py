"""The demo storefront's routes on a running api: the front page from the catalog, the files
it may serve and no others, and the widget's transcript of a socket.io session."""

from __future__ import annotations

from decimal import Decimal

import httpx
from sqlalchemy.orm import Session

from api.ops.conversations import service as conversations
from tests.conftest import Store


def test_front_page_shows_catalog_products_and_the_chat(live: Store) -> None:
    r = httpx.get(f"{live.base_url}/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    name = live.scalar("SELECT name FROM products ORDER BY id LIMIT 1")
    price = Decimal(str(live.scalar("SELECT price FROM products ORDER BY id LIMIT 1")))
    assert f">{name}</h3>" in r.text.replace("&amp;", "&")
    assert f"${price:,.2f}" in r.text
    assert 'id="odw-launcher"' in r.text and 'data-socket-path="/socket.io/"' in r.text
    policy = r.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self';" in policy
    assert "https:" not in policy and "http:" not in policy


def test_only_the_listed_browser_files_are_served(live: Store) -> None:
    base = live.base_url
    widget = httpx.get(f"{base}/storefront/static/chat-widget.js")
    assert widget.status_code == 200 and widget.headers["content-type"].startswith(
        "text/javascript"
    )
    client = httpx.get(f"{base}/storefront/vendor/socket.io.min.js")
    assert client.status_code == 200, "run `make setup` (npm ci) first"
    assert "socket.io" in client.text[:400].lower()
    assert httpx.get(f"{base}/storefront/vendor/rasa-webchat.js").status_code == 200
    for path in (
        "/storefront/vendor/package.json",
        "/storefront/vendor/..%2F..%2Fpackage.json",
        "/storefront/static/..%2Fviews.py",
        "/storefront/static/..%2F..%2Fsettings.py",
    ):
        assert httpx.get(f"{base}{path}").status_code == 404, path
    assert httpx.get(f"{base}/storefront/webchat").status_code == 200


def _chat(live: Store, session_id: str) -> str:
    """A socket.io conversation as the hub stores it: greeting, a button, a person's reply."""
    engine = live.engine()
    try:
        with Session(engine) as db:
            conversation = conversations.get_or_create_by_channel_key(
                db_session=db, channel="socketio", channel_key=session_id
            )
            add = conversations.add_message
            add(
                db_session=db,
                conversation=conversation,
                direction="inbound",
                author="customer",
                text="/greet",
                state="answered",
            )
            add(
                db_session=db,
                conversation=conversation,
                direction="outbound",
                author="bot",
                text="Hi! What can I do for you?",
                state="sent",
                payload={"buttons": [{"title": "Track my order", "payload": "/order_status"}]},
            )
            add(
                db_session=db,
                conversation=conversation,
                direction="inbound",
                author="customer",
                text="/order_status",
                state="answered",
                payload={"button_title": "Track my order"},
            )
            add(
                db_session=db,
                conversation=conversation,
                direction="outbound",
                author="agent",
                agent_name="Alex",
                text="Hi, Alex here. Which order is it?",
                state="sent",
            )
            conversations.set_mode(db_session=db, conversation_id=conversation.id, mode="human")
            db.commit()
            return conversation.id
    finally:
        engine.dispose()


def test_transcript_shows_what_the_customer_saw(live: Store) -> None:
    _chat(live, "sess-transcript-1")
    r = httpx.get(f"{live.base_url}/storefront/chat/sess-transcript-1/transcript")
    assert r.status_code == 200
    body = r.json()
    assert body["mode"] == "human"
    shown = [(m["author"], m["text"]) for m in body["messages"]]
    # The opening command was never typed by the customer; a button shows as its title.
    assert shown == [
        ("bot", "Hi! What can I do for you?"),
        ("customer", "Track my order"),
        ("agent", "Hi, Alex here. Which order is it?"),
    ]
    assert body["messages"][0]["buttons"] == [
        {"title": "Track my order", "payload": "/order_status"}
    ]
    assert body["messages"][2]["agent_name"] == "Alex"

    after = body["messages"][1]["id"]
    later = httpx.get(
        f"{live.base_url}/storefront/chat/sess-transcript-1/transcript", params={"after": after}
    ).json()
    assert [m["author"] for m in later["messages"]] == ["agent"]


def test_transcript_of_an_unknown_session_is_empty(live: Store) -> None:
    for session_id in ("never-seen", "x" * 300):
        r = httpx.get(f"{live.base_url}/storefront/chat/{session_id}/transcript")
        assert r.status_code == 200
        assert r.json()["messages"] == [] and r.json()["mode"] == "bot"
    bad = httpx.get(f"{live.base_url}/storefront/chat/s/transcript", params={"after": -1})
    assert bad.status_code == 422
