"""Whole conversations on the social channels with the real assistant: api, action server and
`rasa run` with the trained model, the api's channels sending to a local server that answers
like the platforms. A customer greets, presses "Track my order", gives order 10001 and its
email, and the order's status arrives through the platform's send API."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import full_system
from tests.fakes.platforms import Call, FakePlatforms
from tests.hub.social_support import (
    Webhooks,
    channel_env,
    messenger_quick_reply,
    messenger_text,
    new_fake,
    telegram_button,
    telegram_text,
    whatsapp_button_reply,
    whatsapp_text,
)


@dataclass
class FullStack:
    api_url: str
    admin_key: str
    fake: FakePlatforms
    hooks: Webhooks
    log_dir: Path

    def tracking_number(self, order_number: str) -> str:
        r = httpx.get(
            f"{self.api_url}/api/v1/orders/{order_number}",
            headers={"Authorization": f"Bearer {self.admin_key}"},
        )
        assert r.status_code == 200, r.text
        return str(r.json()["shipments"][0]["tracking_number"])


@pytest.fixture(scope="module")
def full_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FullStack]:
    fake = new_fake()
    var = tmp_path_factory.mktemp("social-rasa") / "var"
    try:
        with full_system(var, channel_env(fake.url)) as system:
            yield FullStack(
                system.api_url, system.admin_key, fake, Webhooks(system.api_url), system.log_dir
            )
    finally:
        fake.stop()


class Customer:
    """One customer on one platform: says things through the webhook and reads what the
    platform was asked to show them."""

    def __init__(self, stack: FullStack, channel: str) -> None:
        self.stack = stack
        self.channel = channel
        self.key = str(uuid.uuid4().int % 10**12 + 10**12)
        self.seen = 0
        self.transcript: list[tuple[str, str]] = []

    @property
    def platform(self) -> str:
        return "meta" if self.channel == "messenger" else self.channel

    def _mine(self, call: Call) -> bool:
        body = call.body or {}
        return self.key in (
            (body.get("recipient") or {}).get("id"),
            body.get("to"),
            str(body.get("chat_id")),
        )

    def _calls(self) -> list[Call]:
        method = "sendMessage" if self.channel == "telegram" else None
        return [
            c
            for c in self.stack.fake.received(self.platform, method, self._mine)
            if c.status == 200
        ]

    def _webhook(self, body: dict[str, Any]) -> None:
        if self.channel == "telegram":
            r = self.stack.hooks.telegram(body)
        else:
            r = self.stack.hooks.meta(self.channel, body)
        assert r.status_code == 200, r.text

    def say(self, text: str) -> list[Call]:
        uid = uuid.uuid4().int % 10**9
        if self.channel == "messenger":
            self._webhook(messenger_text(self.key, f"m_{uid}", text))
        elif self.channel == "whatsapp":
            self._webhook(whatsapp_text(self.key, f"wamid.{uid}", text))
        else:
            self._webhook(telegram_text(uid, int(self.key), text))
        return self._replies(text)

    def press(self, title: str) -> list[Call]:
        """Press the button titled `title` on the last reply, as the platform reports it."""
        last = self._calls()[-1].body
        uid = uuid.uuid4().int % 10**9
        if self.channel == "messenger":
            (reply,) = [q for q in last["message"]["quick_replies"] if q["title"] == title]
            self._webhook(messenger_quick_reply(self.key, f"m_{uid}", title, reply["payload"]))
        elif self.channel == "whatsapp":
            buttons = last["interactive"]["action"]["buttons"]
            (button,) = [b["reply"] for b in buttons if b["reply"]["title"] == title]
            self._webhook(whatsapp_button_reply(self.key, f"wamid.{uid}", button["id"], title))
        else:
            keyboard = last["reply_markup"]["inline_keyboard"]
            (button,) = [b for row in keyboard for b in row if b["text"] == title]
            self._webhook(telegram_button(uid, int(self.key), title, button["callback_data"]))
        return self._replies(f"[{title}]")

    def _replies(self, said: str, settle: float = 1.0, timeout: float = 60.0) -> list[Call]:
        """The messages sent to this customer since the last turn, once they stop coming."""
        deadline = time.monotonic() + timeout
        count, quiet_since = len(self._calls()), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = len(self._calls())
            if now != count:
                count, quiet_since = now, time.monotonic()
            elif now > self.seen and time.monotonic() - quiet_since >= settle:
                break
        new = self._calls()[self.seen :]
        self.seen += len(new)
        self.transcript.append((said, " | ".join(text_of(c) for c in new)))
        assert new, f"no reply on {self.channel} to {said!r}: {self.transcript}"
        return new


def text_of(call: Call) -> str:
    body = call.body
    if "message" in body:
        return str(body["message"].get("text", ""))
    if body.get("type") == "interactive":
        return str(body["interactive"]["body"]["text"])
    if body.get("type") == "text":
        return str(body["text"]["body"])
    return str(body.get("text", ""))


def joined(calls: list[Call]) -> str:
    return "\n".join(text_of(c) for c in calls)


def until(customer: Customer, done: Callable[[str], bool], answers: list[str], first: str) -> str:
    """Keep answering the assistant's questions from `answers` until `done(reply)`."""
    reply = first
    for answer in answers:
        if done(reply):
            break
        reply = joined(customer.say(answer))
    return reply


@pytest.mark.parametrize("channel", ["messenger", "whatsapp", "telegram"])
def test_order_status_conversation_over_the_platform(full_stack: FullStack, channel: str) -> None:
    tracking = full_stack.tracking_number("10001")
    customer = Customer(full_stack, channel)
    greeting = customer.say("hi")
    # The greeting's buttons, in the platform's own shape.
    last = greeting[-1].body
    if channel == "messenger":
        titles = [q["title"] for q in last["message"]["quick_replies"]]
    elif channel == "whatsapp":
        titles = [b["reply"]["title"] for b in last["interactive"]["action"]["buttons"]]
    else:
        titles = [b["text"] for row in last["reply_markup"]["inline_keyboard"] for b in row]
    assert "Track my order" in titles, customer.transcript
    reply = joined(customer.press("Track my order"))
    reply = until(
        customer,
        lambda r: tracking in r,
        ["10001", "jane.doe@example.com", "my order is 10001, email jane.doe@example.com"],
        reply,
    )
    assert "UPS" in reply and tracking in reply, customer.transcript
    if channel == "telegram":  # each button press was answered
        answered = full_stack.fake.received("telegram", "answerCallbackQuery")
        assert answered and all(c.status == 200 for c in answered)


def latest_order(stack: FullStack, email: str) -> str:
    r = httpx.get(
        f"{stack.api_url}/api/v1/orders",
        params={"customer_email": email, "limit": 200},
        headers={"Authorization": f"Bearer {stack.admin_key}"},
    )
    assert r.status_code == 200, r.text
    newest = max(r.json()["items"], key=lambda o: (o["placed_at"], int(o["order_number"])))
    return str(newest["order_number"])


def new_session(customer: Customer) -> None:
    """What an hour of silence does: Rasa's `/session_start` starts a new session now. It
    answers nothing, so wait until the hub has passed it to the assistant."""
    uid = uuid.uuid4().int % 10**9
    customer._webhook(telegram_text(uid, int(customer.key), "/session_start"))
    r = httpx.get(
        f"{customer.stack.api_url}/api/v1/conversations",
        params={"channel": customer.channel, "limit": 200},
        headers={"Authorization": f"Bearer {customer.stack.admin_key}"},
    )
    (conversation,) = [c for c in r.json()["items"] if c["channel_key"] == customer.key]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = httpx.get(
            f"{customer.stack.api_url}/api/v1/conversations/{conversation['id']}/messages",
            params={"limit": 500},
            headers={"Authorization": f"Bearer {customer.stack.admin_key}"},
        )
        last = [m for m in r.json()["items"] if m["direction"] == "inbound"][-1]
        if last["text"] == "/session_start" and last["state"] == "answered":
            return
        time.sleep(0.2)
    raise AssertionError("the new session was not started")


def test_a_returning_customer_is_greeted_by_name_with_their_latest_order(
    full_stack: FullStack,
) -> None:
    jane = Customer(full_stack, "telegram")
    jane.say("hi")
    reply = joined(jane.press("Track my order"))
    tracking = full_stack.tracking_number("10001")
    reply = until(
        jane,
        lambda r: tracking in r,
        ["10001", "jane.doe@example.com", "my order is 10001, email jane.doe@example.com"],
        reply,
    )
    assert tracking in reply, jane.transcript
    # A later session: known by name, the latest order offered and answered without proof.
    new_session(jane)
    latest = latest_order(full_stack, "jane.doe@example.com")
    greeting = joined(jane.say("hello again"))
    assert "Jane" in greeting and "welcome back" in greeting and latest in greeting, jane.transcript
    status = joined(jane.press(f"Track order {latest}"))
    assert latest in status and "email" not in status.lower(), jane.transcript
    # Someone who never proved who they are gets the plain greeting in a new session.
    stranger = Customer(full_stack, "telegram")
    stranger.say("hi")
    new_session(stranger)
    plain = joined(stranger.say("hello"))
    assert "welcome back" not in plain and "I'm the Fernhill" in plain, stranger.transcript
