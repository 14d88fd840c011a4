"""The senders against a local server that answers like the platforms' send APIs: request
shapes, long answers split, buttons mapped, retries with backoff, failures raised."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from api.hub.channels.social import instagram, messenger, telegram, whatsapp
from api.hub.channels.social.limits import payload_tokens, utf8_bytes
from api.hub.channels.social.sending import DeliveryFailed, RetryPolicy
from api.hub.messages import OutboundMessage
from api.settings import Settings
from tests.fakes.platforms import Answer, FakePlatforms, bot_api_error, graph_error

FAST = RetryPolicy(attempts=4, base_delay=0.05, max_delay=0.2, max_retry_after=5)
BUTTONS = [
    {"title": "Track my order", "payload": "/order_status"},
    {"title": "Start a return for an item", "payload": "/start_return"},
    {"title": "Talk to a person", "payload": "/human_handoff"},
]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakePlatforms]:
    server = FakePlatforms(
        page_token="PAGE-TOKEN",
        whatsapp_token="WA-TOKEN",
        phone_number_id="1234567890",
        telegram_token="123:TG-TOKEN",
    ).start()
    yield server
    server.stop()


def settings_for(fake: FakePlatforms) -> Settings:
    return Settings(
        meta_graph_url=fake.url,
        meta_page_token="PAGE-TOKEN",
        meta_app_secret="x",
        meta_verify_token="x",
        whatsapp_token="WA-TOKEN",
        whatsapp_phone_number_id="1234567890",
        telegram_api_url=fake.url,
        telegram_bot_token="123:TG-TOKEN",
        telegram_secret_token="x",
    )


def outbound(channel: str, key: str, text: str, **extra: Any) -> OutboundMessage:
    return OutboundMessage(
        conversation_id="c1",
        channel=channel,
        channel_key=key,
        message_id=1,
        author="bot",
        text=text,
        **extra,
    )


def run(make: Callable[[httpx.AsyncClient], Awaitable[None]]) -> None:
    async def main() -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            await make(client)

    asyncio.run(main())


def to(key: str) -> Callable[[Any], bool]:
    return lambda c: (
        (c.body.get("recipient") or {}).get("id") == key
        or c.body.get("to") == key
        or str(c.body.get("chat_id")) == key
    )


def test_messenger_text_with_quick_replies(fake: FakePlatforms) -> None:
    settings = settings_for(fake)
    message = outbound("messenger", "PSID-qr", "What can I do for you?", buttons=BUTTONS)
    run(lambda client: messenger.sender(settings, client, FAST).deliver(message))
    (call,) = fake.wait_for("meta", where=to("PSID-qr"))
    assert call.path == "/v21.0/me/messages"
    assert call.query == {"access_token": "PAGE-TOKEN"}
    assert call.body == {
        "recipient": {"id": "PSID-qr"},
        "messaging_type": "RESPONSE",
        "message": {
            "text": "What can I do for you?",
            "quick_replies": [
                {"content_type": "text", "title": "Track my order", "payload": "/order_status"},
                {
                    "content_type": "text",
                    "title": "Start a return for…",
                    "payload": "/start_return",
                },
                {"content_type": "text", "title": "Talk to a person", "payload": "/human_handoff"},
            ],
        },
    }


def test_messenger_long_text_is_split_and_quick_replies_ride_on_the_last_piece(
    fake: FakePlatforms,
) -> None:
    settings = settings_for(fake)
    text = " ".join(f"Line {i} of the shipping policy applies here." for i in range(120))
    many = [{"title": f"Option {i}", "payload": f"/option_{i}"} for i in range(16)]
    message = outbound("messenger", "PSID-long", text, buttons=many)
    run(lambda client: messenger.sender(settings, client, FAST).deliver(message))
    calls = fake.wait_for("meta", 3, where=to("PSID-long"))
    texts = [c.body["message"]["text"] for c in calls]
    assert len(calls) == 3 and all(len(t) <= 2000 for t in texts)
    assert " ".join(texts) == text
    assert [("quick_replies" in c.body["message"]) for c in calls] == [False, False, True]
    assert len(calls[-1].body["message"]["quick_replies"]) == 13  # the platform's maximum


def test_instagram_text_is_split_by_bytes(fake: FakePlatforms) -> None:
    settings = settings_for(fake)
    fake.instagram_recipients.add("IGSID-bytes")
    text = "Rücksendungen sind kostenlos für Bestellungen über 50 €. " * 40
    message = outbound("instagram", "IGSID-bytes", text)
    run(lambda client: instagram.sender(settings, client, FAST).deliver(message))
    calls = fake.wait_for("meta", 3, where=to("IGSID-bytes"))
    assert all(utf8_bytes(c.body["message"]["text"]) <= 1000 for c in calls)
    assert " ".join(c.body["message"]["text"] for c in calls) == text.strip()


def test_whatsapp_text_and_reply_buttons(fake: FakePlatforms) -> None:
    settings = settings_for(fake)
    message = outbound("whatsapp", "15550000001", "Is this about order 10001?", buttons=BUTTONS)
    run(lambda client: whatsapp.sender(settings, client, FAST).deliver(message))
    (call,) = fake.wait_for("whatsapp", where=to("15550000001"))
    assert call.path == "/v21.0/1234567890/messages"
    assert call.headers["authorization"] == "Bearer WA-TOKEN"
    assert call.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "15550000001",
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Is this about order 10001?"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "/order_status", "title": "Track my order"}},
                    {
                        "type": "reply",
                        "reply": {"id": "/start_return", "title": "Start a return for…"},
                    },
                    {
                        "type": "reply",
                        "reply": {"id": "/human_handoff", "title": "Talk to a person"},
                    },
                ]
            },
        },
    }


def test_whatsapp_more_than_three_buttons_become_a_list_and_long_text_is_split(
    fake: FakePlatforms,
) -> None:
    settings = settings_for(fake)
    text = "Here are the sizes we have in stock for the Fernhill Rain Jacket. " * 80  # ~5.3k
    sizes = [{"title": f"Size {s} in Forest Green", "payload": f"/size_{s}"} for s in "SMLX"]
    message = outbound("whatsapp", "15550000002", text, buttons=sizes)
    run(lambda client: whatsapp.sender(settings, client, FAST).deliver(message))
    calls = fake.wait_for("whatsapp", 2, where=to("15550000002"))
    kinds = [c.body["type"] for c in calls]
    assert kinds[-1] == "interactive" and set(kinds[:-1]) == {"text"}
    assert all(len(c.body["text"]["body"]) <= 4096 for c in calls[:-1])
    last = calls[-1].body["interactive"]
    assert last["type"] == "list" and len(last["body"]["text"]) <= 1024
    rows = last["action"]["sections"][0]["rows"]
    assert [r["id"] for r in rows] == ["/size_S", "/size_M", "/size_L", "/size_X"]
    assert rows[0]["title"] == "Size S in Forest Green"  # 22 characters: a row allows 24
    sent = " ".join([c.body["text"]["body"] for c in calls[:-1]] + [last["body"]["text"]])
    assert sent == text.strip()


def test_telegram_text_with_inline_keyboard_and_long_payload(fake: FakePlatforms) -> None:
    settings = settings_for(fake)
    long_payload = '/inform{"order_number": "10001", "email": "jane.doe@example.com", "more": "x"}'
    buttons = [*BUTTONS[:1], {"title": "That's my order", "payload": long_payload}]
    message = outbound("telegram", "4242", "Which one?", buttons=buttons)
    run(lambda client: telegram.sender(settings, client, FAST).deliver(message))
    (call,) = fake.wait_for("telegram", method="sendMessage", where=to("4242"))
    assert call.path == "/bot123:TG-TOKEN/sendMessage"
    keyboard = call.body["reply_markup"]["inline_keyboard"]
    assert call.body["text"] == "Which one?" and call.body["chat_id"] == "4242"
    assert keyboard[0] == [{"text": "Track my order", "callback_data": "/order_status"}]
    data = keyboard[1][0]["callback_data"]
    assert len(data.encode()) <= 64 and payload_tokens.decode(data) == long_payload


def test_telegram_long_text_is_split_within_4096(fake: FakePlatforms) -> None:
    settings = settings_for(fake)
    text = "Your parcel is on its way 📦. " * 400  # 12,000 characters
    run(
        lambda client: telegram.sender(settings, client, FAST).deliver(
            outbound("telegram", "4343", text)
        )
    )
    calls = fake.wait_for("telegram", 3, method="sendMessage", where=to("4343"))
    assert len(calls) == 3
    assert all(len(c.body["text"].encode("utf-16-le")) // 2 <= 4096 for c in calls)
    assert " ".join(c.body["text"] for c in calls) == text.strip()


def test_429_with_retry_after_is_honoured_then_sent(fake: FakePlatforms) -> None:
    settings = settings_for(fake)
    fake.queue(
        "meta",
        Answer(
            429,
            graph_error(429, 613, "Calls to this api have exceeded the rate limit.").body,
            {"Retry-After": "1"},
        ),
    )
    started = time.monotonic()
    run(
        lambda client: messenger.sender(settings, client, FAST).deliver(
            outbound("messenger", "PSID-429", "hello")
        )
    )
    elapsed = time.monotonic() - started
    calls = fake.received("meta", where=to("PSID-429"))
    assert [c.status for c in calls] == [429, 200]
    assert elapsed >= 1.0  # waited as asked, not the 0.05 s backoff
    assert calls[1].at - calls[0].at >= 1.0


def test_telegram_retry_after_in_the_body_is_honoured(fake: FakePlatforms) -> None:
    settings = settings_for(fake)
    fake.queue("telegram", bot_api_error(429, "Too Many Requests: retry after 1", retry_after=1))
    run(
        lambda client: telegram.sender(settings, client, FAST).deliver(
            outbound("telegram", "4444", "hello")
        )
    )
    calls = fake.received("telegram", where=to("4444"))
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 1.0


def test_5xx_is_retried_with_backoff_then_sent(fake: FakePlatforms) -> None:
    settings = settings_for(fake)
    error = graph_error(
        500, 2, "An unexpected error has occurred. Please retry your request later."
    )
    fake.queue("whatsapp", error, Answer(503, {"error": "unavailable"}))
    run(
        lambda client: whatsapp.sender(settings, client, FAST).deliver(
            outbound("whatsapp", "15550000003", "hello")
        )
    )
    calls = fake.received("whatsapp", where=to("15550000003"))
    assert [c.status for c in calls] == [500, 503, 200]
    gaps = [b.at - a.at for a, b in zip(calls, calls[1:], strict=False)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1  # doubled


def test_a_meta_rate_limit_code_under_400_is_retried(fake: FakePlatforms) -> None:
    settings = settings_for(fake)
    fake.queue("meta", graph_error(400, 613, "Calls to this api have exceeded the rate limit."))
    run(
        lambda client: messenger.sender(settings, client, FAST).deliver(
            outbound("messenger", "PSID-613", "hello")
        )
    )
    assert [c.status for c in fake.received("meta", where=to("PSID-613"))] == [400, 200]


def test_other_4xx_is_not_retried_and_raises(fake: FakePlatforms) -> None:
    settings = settings_for(fake).model_copy(update={"meta_page_token": "WRONG"})
    with pytest.raises(DeliveryFailed) as failed:
        run(
            lambda client: messenger.sender(settings, client, FAST).deliver(
                outbound("messenger", "PSID-400", "hello")
            )
        )
    assert failed.value.status == 400 and not failed.value.retryable
    assert "190" in str(failed.value) and "WRONG" not in str(failed.value)
    assert len(fake.received("meta", where=to("PSID-400"))) == 1


def test_persistent_5xx_raises_after_the_last_attempt(fake: FakePlatforms) -> None:
    settings = settings_for(fake)
    fake.queue("telegram", *[bot_api_error(502, "Bad Gateway")] * FAST.attempts)
    with pytest.raises(DeliveryFailed) as failed:
        run(
            lambda client: telegram.sender(settings, client, FAST).deliver(
                outbound("telegram", "4545", "hello")
            )
        )
    assert failed.value.status == 502
    assert "TG-TOKEN" not in str(failed.value)
    assert [c.status for c in fake.received("telegram", where=to("4545"))] == [502] * 4


def test_connection_errors_are_retried_then_raise() -> None:
    closed = Settings(telegram_api_url="http://127.0.0.1:9", telegram_bot_token="123:TG-TOKEN")
    started = time.monotonic()
    with pytest.raises(DeliveryFailed) as failed:
        run(
            lambda client: telegram.sender(closed, client, FAST).deliver(
                outbound("telegram", "1", "hello")
            )
        )
    assert failed.value.status is None and failed.value.retryable
    assert "TG-TOKEN" not in str(failed.value) and "127.0.0.1" not in str(failed.value)
    assert time.monotonic() - started >= 0.05 + 0.1 + 0.2  # three waits between four tries


def test_a_retry_after_longer_than_allowed_fails_at_once(fake: FakePlatforms) -> None:
    settings = settings_for(fake)
    fake.queue("meta", Answer(429, {"error": {"code": 613}}, {"Retry-After": "3600"}))
    with pytest.raises(DeliveryFailed):
        run(
            lambda client: messenger.sender(settings, client, FAST).deliver(
                outbound("messenger", "PSID-3600", "hello")
            )
        )
    assert len(fake.received("meta", where=to("PSID-3600"))) == 1


def test_an_image_goes_out_as_each_platforms_image_message(fake: FakePlatforms) -> None:
    settings = settings_for(fake)
    image = "https://shop.example/labels/RMA-000123.png"

    async def send_all(client: httpx.AsyncClient) -> None:
        await messenger.sender(settings, client, FAST).deliver(
            outbound("messenger", "PSID-img", "Your label:", image=image, buttons=BUTTONS[:1])
        )
        await whatsapp.sender(settings, client, FAST).deliver(
            outbound("whatsapp", "15550000009", "Your label:", image=image)
        )
        await telegram.sender(settings, client, FAST).deliver(
            outbound("telegram", "4646", "Your label:", image=image)
        )

    run(send_all)
    text, picture = fake.wait_for("meta", 2, where=to("PSID-img"))
    assert text.body["message"] == {"text": "Your label:"}
    assert picture.body["message"]["attachment"] == {"type": "image", "payload": {"url": image}}
    assert [q["payload"] for q in picture.body["message"]["quick_replies"]] == ["/order_status"]
    _, wa_picture = fake.wait_for("whatsapp", 2, where=to("15550000009"))
    assert wa_picture.body["type"] == "image" and wa_picture.body["image"] == {"link": image}
    (photo,) = fake.wait_for("telegram", method="sendPhoto", where=to("4646"))
    assert photo.body == {"chat_id": "4646", "photo": image}


def test_buttons_without_text_get_a_prompt(fake: FakePlatforms) -> None:
    settings = settings_for(fake)
    run(
        lambda client: telegram.sender(settings, client, FAST).deliver(
            outbound("telegram", "4747", "", buttons=BUTTONS[:2])
        )
    )
    (call,) = fake.wait_for("telegram", method="sendMessage", where=to("4747"))
    assert (
        call.body["text"] == "Please choose:"
        and len(call.body["reply_markup"]["inline_keyboard"]) == 2
    )
