"""Signature checks and the platforms' documented webhook payloads turned into hub messages."""

from __future__ import annotations

from api.hub.channels.social import telegram, whatsapp
from api.hub.channels.social.limits import payload_tokens
from api.hub.channels.social.meta import parse_messaging
from api.hub.channels.social.signatures import (
    meta_signature,
    meta_signature_valid,
    secret_token_valid,
)

SECRET = "app-secret-for-tests"


def test_meta_signature_is_the_hmac_of_the_exact_bytes() -> None:
    raw = b'{"object":"page","entry":[]}'
    header = meta_signature(raw, SECRET)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert meta_signature_valid(raw, header, SECRET)
    assert meta_signature_valid(raw, header.upper().replace("SHA256=", "sha256="), SECRET)
    # The same JSON serialized differently is a different body.
    assert not meta_signature_valid(b'{"object": "page", "entry": []}', header, SECRET)
    assert not meta_signature_valid(raw, header, "another-secret")
    assert not meta_signature_valid(raw, None, SECRET)
    assert not meta_signature_valid(raw, "", SECRET)
    assert not meta_signature_valid(raw, header.replace("sha256=", "sha1="), SECRET)
    assert not meta_signature_valid(raw, "sha256=" + "0" * 64, SECRET)
    assert not meta_signature_valid(raw, header, "")  # no secret configured: nothing passes


def test_secret_token_must_match_and_must_be_configured() -> None:
    assert secret_token_valid("s3cret_Token-1", "s3cret_Token-1")
    assert not secret_token_valid("s3cret_Token-2", "s3cret_Token-1")
    assert not secret_token_valid(None, "s3cret_Token-1")
    assert not secret_token_valid("", "")
    assert not secret_token_valid("ünïcode", "s3cret")


def messaging(*events: dict, object_: str = "page") -> dict:
    return {"object": object_, "entry": [{"id": "PAGE1", "time": 1, "messaging": list(events)}]}


def event(**extra: object) -> dict:
    return {"sender": {"id": "PSID1"}, "recipient": {"id": "PAGE1"}, "timestamp": 1700, **extra}


def test_messenger_text_quick_reply_and_postback_become_hub_messages() -> None:
    body = messaging(
        event(message={"mid": "m_1", "text": "where is my order?"}),
        event(message={"mid": "m_2", "text": "Track it", "quick_reply": {"payload": "/track"}}),
        event(postback={"mid": "m_3", "title": "Get started", "payload": "/greet"}),
    )
    first, second, third = parse_messaging(body, "messenger")
    assert (first.channel, first.channel_key, first.text, first.external_id) == (
        "messenger",
        "PSID1",
        "where is my order?",
        "m_1",
    )
    assert first.button_title is None and first.metadata["recipient_id"] == "PAGE1"
    assert (second.text, second.button_title, second.external_id) == ("/track", "Track it", "m_2")
    assert (third.text, third.button_title, third.external_id) == ("/greet", "Get started", "m_3")


def test_messenger_echoes_deliveries_reads_and_attachments_are_left_out() -> None:
    body = messaging(
        event(message={"mid": "m_echo", "is_echo": True, "text": "our own reply"}),
        event(delivery={"mids": ["m_9"], "watermark": 1700}),
        event(read={"watermark": 1700}),
        event(reaction={"mid": "m_9", "action": "react", "emoji": "x"}),
        event(message={"mid": "m_img", "attachments": [{"type": "image", "payload": {}}]}),
        event(message={"mid": "m_ok", "text": "hi"}),
    )
    assert [m.external_id for m in parse_messaging(body, "messenger")] == ["m_ok"]


def test_instagram_events_use_the_same_shape() -> None:
    body = messaging(
        {
            "sender": {"id": "IGSID"},
            "recipient": {"id": "IGID"},
            "timestamp": 1,
            "message": {"mid": "ig_1", "text": "hello"},
        },
        object_="instagram",
    )
    (msg,) = parse_messaging(body, "instagram")
    assert (msg.channel, msg.channel_key, msg.text, msg.external_id) == (
        "instagram",
        "IGSID",
        "hello",
        "ig_1",
    )


def test_a_long_payload_sent_as_a_token_comes_back_as_the_payload() -> None:
    payload = (
        '/inform{"order_number": "10001", "email": "jane.doe@example.com", "x": "' + "y" * 60 + '"}'
    )
    token = payload_tokens.encode(payload, 64)
    assert token != payload and len(token.encode()) <= 64
    body = messaging(
        event(message={"mid": "m_5", "text": "Yes", "quick_reply": {"payload": token}})
    )
    (msg,) = parse_messaging(body, "messenger")
    assert msg.text == payload
    # A token this process does not know (sent before a restart): the title stands in.
    unknown = messaging(
        event(message={"mid": "m_6", "text": "Yes", "quick_reply": {"payload": "btn:" + "0" * 24}})
    )
    (msg,) = parse_messaging(unknown, "messenger")
    assert msg.text == "Yes"


def whatsapp_body(*messages: dict, statuses: list | None = None) -> dict:
    value: dict = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": "PNID"},
        "contacts": [{"profile": {"name": "Jane Doe"}, "wa_id": "15551234567"}],
        "messages": list(messages),
    }
    if statuses is not None:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}],
    }


def test_whatsapp_text_button_and_list_replies_become_hub_messages() -> None:
    base = {"from": "15551234567", "timestamp": "1700000000"}
    body = whatsapp_body(
        {**base, "id": "wamid.1", "type": "text", "text": {"body": "order 10001"}},
        {
            **base,
            "id": "wamid.2",
            "type": "interactive",
            "interactive": {
                "type": "button_reply",
                "button_reply": {"id": "/affirm", "title": "Yes"},
            },
        },
        {
            **base,
            "id": "wamid.3",
            "type": "interactive",
            "interactive": {
                "type": "list_reply",
                "list_reply": {"id": '/choose{"n":4}', "title": "Fourth"},
            },
        },
        {**base, "id": "wamid.4", "type": "image", "image": {"id": "MEDIA"}},
    )
    text, button, listed = whatsapp.parse_webhook(body)
    assert (text.channel, text.channel_key, text.text, text.external_id) == (
        "whatsapp",
        "15551234567",
        "order 10001",
        "wamid.1",
    )
    assert text.metadata["name"] == "Jane Doe"
    assert (button.text, button.button_title) == ("/affirm", "Yes")
    assert (listed.text, listed.button_title, listed.external_id) == (
        '/choose{"n":4}',
        "Fourth",
        "wamid.3",
    )


def test_whatsapp_messages_to_another_number_are_left_out() -> None:
    body = whatsapp_body(
        {"from": "1555", "id": "wamid.7", "timestamp": "1", "type": "text", "text": {"body": "hi"}}
    )
    assert [m.external_id for m in whatsapp.parse_webhook(body, "PNID")] == ["wamid.7"]
    assert whatsapp.parse_webhook(body, "ANOTHER") == []


def test_whatsapp_statuses_are_left_out() -> None:
    body = whatsapp_body(
        statuses=[{"id": "wamid.9", "status": "delivered", "recipient_id": "15551234567"}]
    )
    assert whatsapp.parse_webhook(body) == []


def test_telegram_message_and_callback_query() -> None:
    update = telegram.parse_update(
        {
            "update_id": 900001,
            "message": {
                "message_id": 5,
                "from": {"id": 42, "is_bot": False, "first_name": "Jane"},
                "chat": {"id": 42, "type": "private"},
                "date": 1700000000,
                "text": "where is my order?",
            },
        }
    )
    assert update.message is not None and update.callback_query_id is None
    assert (update.message.channel, update.message.channel_key, update.message.text) == (
        "telegram",
        "42",
        "where is my order?",
    )
    assert update.message.external_id == "900001" and update.message.metadata == {"name": "Jane"}
    pressed = telegram.parse_update(
        {
            "update_id": 900002,
            "callback_query": {
                "id": "CBQ1",
                "from": {"id": 42, "is_bot": False, "first_name": "Jane"},
                "chat_instance": "1",
                "data": "/affirm",
                "message": {
                    "message_id": 6,
                    "chat": {"id": 42, "type": "private"},
                    "date": 1700000001,
                    "text": "Shall I?",
                    "reply_markup": {
                        "inline_keyboard": [[{"text": "Yes please", "callback_data": "/affirm"}]]
                    },
                },
            },
        }
    )
    assert pressed.callback_query_id == "CBQ1" and pressed.message is not None
    assert (pressed.message.text, pressed.message.button_title) == ("/affirm", "Yes please")
    assert pressed.message.external_id == "900002"


def test_telegram_updates_without_text_are_left_out() -> None:
    sticker = {"update_id": 3, "message": {"message_id": 1, "chat": {"id": 1}, "sticker": {}}}
    edited = {"update_id": 4, "edited_message": {"message_id": 1, "chat": {"id": 1}, "text": "x"}}
    assert telegram.parse_update(sticker).message is None
    assert telegram.parse_update(edited).message is None
    assert telegram.parse_update({"update_id": 5}).message is None
