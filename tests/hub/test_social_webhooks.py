"""The social webhooks on a running api, on SQLite and PostgreSQL, with every channel sending
to a local server that answers like the platforms. The assistant is not running here (its
URL is a closed port), so the hub answers each customer message with its "assistant
unavailable" text and a "Talk to a person" button: that is the bot reply these tests see
delivered; tests/hub/test_social_rasa.py has the real assistant."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest

from api.hub.channels.social.signatures import meta_signature
from tests.conftest import Store, drop_store, free_port, new_store, stop_api
from tests.fakes.platforms import Answer, FakePlatforms, bot_api_error, graph_error
from tests.hub.social_support import (
    APP_SECRET,
    PAGE_TOKEN,
    SECRETS,
    TELEGRAM_TOKEN,
    VERIFY_TOKEN,
    Webhooks,
    channel_env,
    conversation_of,
    messenger_quick_reply,
    messenger_text,
    new_fake,
    raw,
    start_api_with,
    telegram_button,
    telegram_text,
    transcript,
    wait_until,
    whatsapp_button_reply,
    whatsapp_text,
)

UNAVAILABLE = "assistant is unavailable"
META_CHANNELS = ("messenger", "instagram", "whatsapp")


@dataclass
class Social:
    store: Store
    fake: FakePlatforms
    hooks: Webhooks

    def admin(self) -> httpx.Client:
        return self.store.client("admin")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def social(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Social]:
    fake = new_fake()
    store = new_store(request.param, tmp_path_factory.mktemp(f"social-{request.param}"))
    env = {**channel_env(fake.url), "OPSDESK_RASA_URL": f"http://127.0.0.1:{free_port()}"}
    start_api_with(store, env)
    try:
        yield Social(store, fake, Webhooks(store.base_url))
    finally:
        stop_api(store)
        fake.stop()
        drop_store(store)


def key() -> str:
    return uuid.uuid4().hex[:12]


def numeric_key() -> int:
    return int(uuid.uuid4().int % 10**9) + 10**9


def inbound(client: httpx.Client, channel: str, channel_key: str) -> list[dict]:
    conversation = conversation_of(client, channel, channel_key)
    if conversation is None:
        return []
    return [m for m in transcript(client, conversation["id"]) if m["direction"] == "inbound"]


def send(social: Social, channel: str, channel_key: str, text: str, mid: str) -> httpx.Response:
    if channel == "whatsapp":
        return social.hooks.meta(channel, whatsapp_text(channel_key, mid, text))
    if channel == "telegram":
        return social.hooks.telegram(telegram_text(int(mid), int(channel_key), text))
    object_ = "page" if channel == "messenger" else "instagram"
    return social.hooks.meta(channel, messenger_text(channel_key, mid, text, object_))


def to(channel_key: str):  # noqa: ANN201 - a predicate for FakePlatforms.wait_for
    def match(call) -> bool:  # noqa: ANN001
        body = call.body or {}
        return (
            (body.get("recipient") or {}).get("id") == channel_key
            or body.get("to") == channel_key
            or str(body.get("chat_id")) == channel_key
        )

    return match


# -- the platform proves who it is before anything is stored -------------------------------


@pytest.mark.parametrize("channel", META_CHANNELS)
def test_a_meta_webhook_without_the_right_signature_is_refused_and_nothing_is_stored(
    social: Social, channel: str
) -> None:
    sender = "1555" + str(numeric_key()) if channel == "whatsapp" else key()
    body = (
        whatsapp_text(sender, f"wamid.{key()}", "where is my order?")
        if channel == "whatsapp"
        else messenger_text(sender, f"m_{key()}", "where is my order?")
    )
    wrong_secret = meta_signature(raw(body), "not-the-app-secret")
    signed_other = meta_signature(raw({**body, "object": "tampered"}), APP_SECRET)
    for signature in (None, "", wrong_secret, signed_other, "sha1=" + "0" * 40):
        r = social.hooks.meta(channel, body, signature=signature)
        assert r.status_code == 403, (signature, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "invalid_signature"
    time.sleep(0.5)
    with social.admin() as client:
        assert conversation_of(client, channel, sender) is None
    assert social.fake.received("meta", where=to(sender)) == []
    assert social.fake.received("whatsapp", where=to(sender)) == []


def test_a_telegram_webhook_without_the_secret_token_is_refused_and_nothing_is_stored(
    social: Social,
) -> None:
    chat_id = numeric_key()
    update = telegram_text(numeric_key(), chat_id, "where is my order?")
    for secret in (None, "", "wrong-secret", TELEGRAM_TOKEN):
        r = social.hooks.telegram(update, secret=secret)
        assert r.status_code == 403, (secret, r.text)
        assert r.json()["code"] == "invalid_signature"
    time.sleep(0.5)
    with social.admin() as client:
        assert conversation_of(client, "telegram", str(chat_id)) is None
    assert social.fake.received("telegram", where=to(str(chat_id))) == []


def test_a_signed_body_that_is_not_json_is_refused_and_nothing_is_stored(social: Social) -> None:
    r = social.hooks.meta("messenger", b"entry=not-json")
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"
    r = social.hooks.meta("messenger", b"[1, 2]")
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"


@pytest.mark.parametrize("channel", META_CHANNELS)
def test_meta_verification_handshake_echoes_the_challenge_only_for_our_token(
    social: Social, channel: str
) -> None:
    url = f"{social.store.base_url}/webhooks/{channel}"
    ok = httpx.get(
        url,
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        },
    )
    assert ok.status_code == 200 and ok.text == "1158201444"
    assert ok.headers["content-type"].startswith("text/plain")
    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": "not-ours", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ):
        refused = httpx.get(url, params=params)
        assert refused.status_code == 403 and refused.text != "1"


# -- customers' messages reach the hub and the answer goes back --------------------------


@pytest.mark.parametrize("channel", [*META_CHANNELS, "telegram"])
def test_a_text_reaches_the_hub_and_the_reply_goes_out_in_the_platforms_shape(
    social: Social, channel: str
) -> None:
    sender = str(numeric_key()) if channel in ("telegram", "whatsapp") else key()
    mid = str(numeric_key()) if channel == "telegram" else f"mid.{key()}"
    started = time.monotonic()
    r = send(social, channel, sender, "where is my order 10001?", mid)
    assert r.status_code == 200, r.text
    assert time.monotonic() - started < 2.0  # acknowledged at once
    with social.admin() as client:
        stored = wait_until("the message is stored", lambda: inbound(client, channel, sender))
        assert [m["text"] for m in stored] == ["where is my order 10001?"]
        conversation = conversation_of(client, channel, sender)
        assert conversation is not None and conversation["channel"] == channel
    platform = {"messenger": "meta", "instagram": "meta"}.get(channel, channel)
    method = "sendMessage" if channel == "telegram" else None
    (reply,) = social.fake.wait_for(platform, method=method, where=to(sender))
    body = reply.body
    if platform == "meta":
        assert reply.query["access_token"] == PAGE_TOKEN
        assert UNAVAILABLE in body["message"]["text"]
        assert body["message"]["quick_replies"] == [
            {"content_type": "text", "title": "Talk to a person", "payload": "/human_handoff"}
        ]
    elif platform == "whatsapp":
        assert body["type"] == "interactive" and UNAVAILABLE in body["interactive"]["body"]["text"]
        assert body["interactive"]["action"]["buttons"] == [
            {"type": "reply", "reply": {"id": "/human_handoff", "title": "Talk to a person"}}
        ]
    else:
        assert reply.path == f"/bot{TELEGRAM_TOKEN}/sendMessage"
        assert UNAVAILABLE in body["text"] and body["chat_id"] == sender
        assert body["reply_markup"] == {
            "inline_keyboard": [[{"text": "Talk to a person", "callback_data": "/human_handoff"}]]
        }


@pytest.mark.parametrize("channel", [*META_CHANNELS, "telegram"])
def test_a_button_press_reaches_the_hub_as_its_payload_with_its_title(
    social: Social, channel: str
) -> None:
    sender = str(numeric_key()) if channel in ("telegram", "whatsapp") else key()
    if channel == "whatsapp":
        r = social.hooks.meta(
            channel, whatsapp_button_reply(sender, f"wamid.{key()}", "/order_status", "Track it")
        )
    elif channel == "telegram":
        update_id = numeric_key()
        r = social.hooks.telegram(
            telegram_button(update_id, int(sender), "Track it", "/order_status")
        )
    else:
        object_ = "page" if channel == "messenger" else "instagram"
        r = social.hooks.meta(
            channel,
            messenger_quick_reply(sender, f"m_{key()}", "Track it", "/order_status", object_),
        )
    assert r.status_code == 200, r.text
    with social.admin() as client:
        (message,) = wait_until("the press is stored", lambda: inbound(client, channel, sender))
    assert message["text"] == "/order_status"
    assert (message["payload"] or {}).get("button_title") == "Track it"
    if channel == "telegram":  # the customer's button stops spinning
        social.fake.wait_for(
            "telegram",
            method="answerCallbackQuery",
            where=lambda c: c.body == {"callback_query_id": f"cbq-{update_id}"},
        )


@pytest.mark.parametrize("channel", [*META_CHANNELS, "telegram"])
def test_a_replayed_delivery_is_processed_once(social: Social, channel: str) -> None:
    sender = str(numeric_key()) if channel in ("telegram", "whatsapp") else key()
    mid = str(numeric_key()) if channel == "telegram" else f"mid.{key()}"
    for _ in range(3):  # the platform retries the same delivery
        assert send(social, channel, sender, "hello there", mid).status_code == 200
    platform = {"messenger": "meta", "instagram": "meta"}.get(channel, channel)
    method = "sendMessage" if channel == "telegram" else None
    social.fake.wait_for(platform, method=method, where=to(sender))
    time.sleep(1.5)  # room for a second processing to show up, if there were one
    with social.admin() as client:
        assert [m["text"] for m in inbound(client, channel, sender)] == ["hello there"]
    assert len(social.fake.received(platform, method=method, where=to(sender))) == 1
    # A new message id from the same customer is a new message.
    new_mid = str(numeric_key()) if channel == "telegram" else f"mid.{key()}"
    assert send(social, channel, sender, "hello again", new_mid).status_code == 200
    with social.admin() as client:
        wait_until("the second message", lambda: len(inbound(client, channel, sender)) == 2)


def test_simultaneous_replays_are_stored_once(social: Social) -> None:
    sender = key()
    body = messenger_text(sender, f"mid.{key()}", "is anyone there?")
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(
            pool.map(lambda _: social.hooks.meta("messenger", body).status_code, range(4))
        )
    assert statuses == [200] * 4
    social.fake.wait_for("meta", where=to(sender))
    time.sleep(1.5)
    with social.admin() as client:
        assert [m["text"] for m in inbound(client, "messenger", sender)] == ["is anyone there?"]
    assert len(social.fake.received("meta", where=to(sender))) == 1


def test_several_messages_in_one_delivery_are_stored_in_order(social: Social) -> None:
    sender = key()
    body = messenger_text(sender, f"mid.{key()}", "first")
    events = body["entry"][0]["messaging"]
    for n, text in enumerate(["second", "third"], start=1):
        events.append(
            {
                **events[0],
                "timestamp": events[0]["timestamp"] + n,
                "message": {"mid": f"mid.{key()}", "text": text},
            }
        )
    r = social.hooks.meta("messenger", body)
    assert r.status_code == 200 and r.json() == {"received": 3}
    with social.admin() as client:
        stored = wait_until(
            "three stored",
            lambda: (
                len(inbound(client, "messenger", sender)) == 3
                and inbound(client, "messenger", sender)
            ),
        )
    assert [m["text"] for m in stored] == ["first", "second", "third"]


# -- an agent's reply reaches the customer on their platform ------------------------------


def start_conversation(social: Social, channel: str, sender: str) -> str:
    mid = str(numeric_key()) if channel == "telegram" else f"mid.{key()}"
    assert send(social, channel, sender, "I need a person please", mid).status_code == 200
    with social.admin() as client:
        found = wait_until("conversation", lambda: conversation_of(client, channel, sender))
    platform = {"messenger": "meta", "instagram": "meta"}.get(channel, channel)
    method = "sendMessage" if channel == "telegram" else None
    social.fake.wait_for(platform, method=method, where=to(sender))  # the bot's answer first
    return str(found["id"])


def agent_reply(social: Social, conversation_id: str, text: str) -> dict:
    with social.store.client("agent") as agent:
        r = agent.post(f"/api/v1/conversations/{conversation_id}/messages", json={"text": text})
    assert r.status_code == 201, r.text
    return dict(r.json())


def delivery_state(social: Social, conversation_id: str, message_id: int) -> str:
    with social.admin() as client:
        (message,) = [m for m in transcript(client, conversation_id) if m["id"] == message_id]
    return str(message["state"])


@pytest.mark.parametrize("channel", [*META_CHANNELS, "telegram"])
def test_an_agents_reply_is_delivered_through_the_send_api(social: Social, channel: str) -> None:
    sender = str(numeric_key()) if channel in ("telegram", "whatsapp") else key()
    conversation_id = start_conversation(social, channel, sender)
    reply = agent_reply(
        social, conversation_id, "Hi Jane, this is Alex. Let me check that for you."
    )
    platform = {"messenger": "meta", "instagram": "meta"}.get(channel, channel)
    method = "sendMessage" if channel == "telegram" else None
    calls = social.fake.wait_for(platform, 2, method=method, where=to(sender))
    body = calls[-1].body
    text = "Hi Jane, this is Alex. Let me check that for you."
    if platform == "meta":
        assert body == {
            "recipient": {"id": sender},
            "messaging_type": "RESPONSE",
            "message": {"text": text},
        }
    elif platform == "whatsapp":
        assert body == {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": sender,
            "type": "text",
            "text": {"preview_url": False, "body": text},
        }
    else:
        assert body == {"chat_id": sender, "text": text}
    wait_until(
        "marked sent", lambda: delivery_state(social, conversation_id, reply["id"]) == "sent"
    )


def test_a_long_agent_reply_is_split_within_the_platforms_limit(social: Social) -> None:
    sender = key()
    social.fake.instagram_recipients.add(sender)
    conversation_id = start_conversation(social, "instagram", sender)
    text = " ".join(f"Step {i}: pack the item in its original bag." for i in range(85))  # ~3.8k
    agent_reply(social, conversation_id, text)
    calls = social.fake.wait_for("meta", 5, where=to(sender))
    pieces = [c.body["message"]["text"] for c in calls[1:]]
    assert len(pieces) == 4 and all(len(p.encode()) <= 1000 for p in pieces)
    assert all(p.endswith(".") for p in pieces)
    assert " ".join(pieces) == text


def test_a_reply_is_retried_on_429_and_5xx_then_delivered(social: Social) -> None:
    chat_id = str(numeric_key())
    conversation_id = start_conversation(social, "telegram", chat_id)
    social.fake.queue(
        "telegram",
        Answer(
            429,
            bot_api_error(429, "Too Many Requests: retry after 1", 1).body,
            {"Retry-After": "1"},
        ),
        bot_api_error(500, "Internal Server Error"),
    )
    reply = agent_reply(social, conversation_id, "Thanks for waiting.")
    wait_until("delivered", lambda: delivery_state(social, conversation_id, reply["id"]) == "sent")
    calls = social.fake.received("telegram", method="sendMessage", where=to(chat_id))
    assert [c.status for c in calls[1:]] == [429, 500, 200]
    assert calls[2].at - calls[1].at >= 1.0  # Retry-After honoured


def test_a_refused_reply_is_not_retried_and_is_marked_failed(social: Social) -> None:
    wa_id = str(numeric_key())
    conversation_id = start_conversation(social, "whatsapp", wa_id)
    social.fake.queue(
        "whatsapp", graph_error(400, 131047, "Re-engagement message: more than 24 hours passed")
    )
    reply = agent_reply(social, conversation_id, "Are you still there?")
    wait_until("failed", lambda: delivery_state(social, conversation_id, reply["id"]) == "failed")
    calls = social.fake.received("whatsapp", where=to(wa_id))
    assert [c.status for c in calls[1:]] == [400]


def test_the_api_says_at_start_which_channels_are_on_and_never_logs_a_secret(
    social: Social,
) -> None:
    assert social.store.log_path is not None
    log = social.store.log_path.read_text()
    for channel in ("messenger", "instagram", "whatsapp", "telegram"):
        assert f"channel {channel}: on" in log
    assert all(secret not in log for secret in SECRETS)


def test_while_a_person_owns_the_conversation_the_bot_is_silent_on_the_platform(
    social: Social,
) -> None:
    chat_id = str(numeric_key())
    conversation_id = start_conversation(social, "telegram", chat_id)
    agent_reply(social, conversation_id, "Hi, Alex here. What happened?")
    social.fake.wait_for("telegram", 2, method="sendMessage", where=to(chat_id))
    assert (
        send(social, "telegram", chat_id, "my parcel is wet", str(numeric_key())).status_code == 200
    )
    with social.admin() as client:
        wait_until("stored", lambda: len(inbound(client, "telegram", chat_id)) == 2)
        conversation = conversation_of(client, "telegram", chat_id)
    assert conversation is not None and conversation["mode"] == "human"
    time.sleep(1.5)  # room for a bot answer to show up, if there were one
    assert len(social.fake.received("telegram", "sendMessage", to(chat_id))) == 2
