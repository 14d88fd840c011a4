"""A local HTTP server that answers like the platforms' send APIs and records every call.

It follows the documented request and answer shapes, errors included:
- Messenger / Instagram Send API, `POST /v{version}/me/messages?access_token=...`
  (https://developers.facebook.com/docs/messenger-platform/reference/send-api/): answers
  `{"recipient_id", "message_id"}`; Graph errors are `{"error": {"message", "type", "code",
  "fbtrace_id"}}` (190 bad token, 100 invalid parameter).
- WhatsApp Cloud API, `POST /v{version}/{phone-number-id}/messages` with a Bearer token
  (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages): answers
  `{"messaging_product": "whatsapp", "contacts": [...], "messages": [{"id": "wamid..."}]}`.
- Telegram Bot API, `POST /bot{token}/{method}` (https://core.telegram.org/bots/api#making-requests):
  answers `{"ok": true, "result": ...}` or `{"ok": false, "error_code", "description",
  "parameters"?: {"retry_after"}}`.

Tests can queue answers (a 429 with Retry-After, a 500) that are given before the normal one.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MESSENGER_TEXT_MAX = 2000
INSTAGRAM_TEXT_MAX_BYTES = 1000
QUICK_REPLIES_MAX = 13
QUICK_REPLY_TITLE_MAX = 20
WHATSAPP_TEXT_MAX = 4096
WHATSAPP_INTERACTIVE_BODY_MAX = 1024
WHATSAPP_BUTTONS_MAX = 3
WHATSAPP_BUTTON_TITLE_MAX = 20
WHATSAPP_ROWS_MAX = 10
WHATSAPP_ROW_TITLE_MAX = 24
TELEGRAM_TEXT_MAX = 4096
TELEGRAM_CALLBACK_DATA_MAX = 64


@dataclass
class Call:
    """One request the fake received."""

    platform: str  # meta | whatsapp | telegram
    method: str  # the Bot API method for telegram, else "messages"
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int = 0  # what the fake answered
    at: float = field(default_factory=time.monotonic)


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class GraphError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class BotApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


def graph_error(status: int, code: int, message: str) -> Answer:
    return Answer(
        status,
        {
            "error": {
                "message": message,
                "type": "OAuthException",
                "code": code,
                "fbtrace_id": secrets.token_urlsafe(8),
            }
        },
    )


def bot_api_error(status: int, description: str, retry_after: int | None = None) -> Answer:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return Answer(status, body)


class FakePlatforms:
    def __init__(
        self,
        *,
        page_token: str,
        whatsapp_token: str,
        phone_number_id: str,
        telegram_token: str,
    ) -> None:
        self.page_token = page_token
        self.whatsapp_token = whatsapp_token
        self.phone_number_id = phone_number_id
        self.telegram_token = telegram_token
        self.instagram_recipients: set[str] = set()  # Instagram's text limit is in bytes
        self.calls: list[Call] = []
        self._queued: dict[str, list[Answer]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    # -- test side ----------------------------------------------------------------------

    def start(self) -> FakePlatforms:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                answer = fake._handle(self.path, dict(self.headers.items()), raw)
                payload = json.dumps(answer.body).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def queue(self, platform: str, *answers: Answer) -> None:
        """Give these answers, in order, to the next calls to `platform` before normal ones."""
        with self._lock:
            self._queued.setdefault(platform, []).extend(answers)

    def received(
        self, platform: str, method: str | None = None, where: Callable[[Call], bool] | None = None
    ) -> list[Call]:
        with self._lock:
            return [
                c
                for c in self.calls
                if c.platform == platform
                and (method is None or c.method == method)
                and (where is None or where(c))
            ]

    def wait_for(
        self,
        platform: str,
        count: int = 1,
        *,
        method: str | None = None,
        where: Callable[[Call], bool] | None = None,
        accepted_only: bool = True,
        timeout: float = 20.0,
    ) -> list[Call]:
        """Wait until `count` calls matching were received (and, by default, answered 200)."""
        deadline = time.monotonic() + timeout
        while True:
            calls = [
                c
                for c in self.received(platform, method, where)
                if not accepted_only or c.status == 200
            ]
            if len(calls) >= count:
                return calls
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{platform}: {len(calls)} of {count} calls after {timeout} s; "
                    f"all calls: {[(c.platform, c.method, c.status, c.body) for c in self.calls]}"
                )
            time.sleep(0.05)

    # -- platform side ----------------------------------------------------------------------

    def _handle(self, path: str, headers: dict[str, str], raw: bytes) -> Answer:
        parts = urlsplit(path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        headers = {k.lower(): v for k, v in headers.items()}
        try:
            body: Any = json.loads(raw or b"null")
        except ValueError:
            body = None
        platform, method = self._route(parts.path)
        call = Call(platform, method, parts.path, query, headers, body)
        with self._lock:
            self.calls.append(call)
            queued = self._queued.get(platform)
            answer = queued.pop(0) if queued else None
        if answer is None:
            answer = self._answer(call)
        call.status = answer.status
        return answer

    def _route(self, path: str) -> tuple[str, str]:
        if re.fullmatch(r"/v[\d.]+/me/messages", path):
            return "meta", "messages"
        if re.fullmatch(r"/v[\d.]+/[^/]+/messages", path):
            return "whatsapp", "messages"
        match = re.fullmatch(r"/bot([^/]+)/(\w+)", path)
        if match:
            return "telegram", match.group(2)
        return "unknown", path

    def _answer(self, call: Call) -> Answer:
        try:
            if call.platform == "meta":
                return self._messenger(call)
            if call.platform == "whatsapp":
                return self._whatsapp(call)
            if call.platform == "telegram":
                return self._telegram(call)
        except GraphError as exc:
            return graph_error(exc.status, exc.code, exc.message)
        except BotApiError as exc:
            return bot_api_error(exc.status, exc.description)
        return Answer(404, {"error": "no such route"})

    def _messenger(self, call: Call) -> Answer:
        if call.query.get("access_token") != self.page_token:
            raise GraphError(400, 190, "Invalid OAuth access token - Cannot parse access token")
        body = call.body if isinstance(call.body, dict) else {}
        recipient = str((body.get("recipient") or {}).get("id") or "")
        message = body.get("message") or {}
        if not recipient:
            raise GraphError(400, 100, "(#100) The parameter recipient is required")
        text = message.get("text")
        if text is None and "attachment" not in message:
            raise GraphError(400, 100, "(#100) Must send either text or attachment")
        if text is not None:
            if recipient in self.instagram_recipients:
                too_long = len(text.encode()) > INSTAGRAM_TEXT_MAX_BYTES
            else:
                too_long = len(text) > MESSENGER_TEXT_MAX
            if not text or too_long:
                raise GraphError(400, 100, "(#100) Length of param message[text] is invalid")
        quick_replies = message.get("quick_replies") or []
        if len(quick_replies) > QUICK_REPLIES_MAX:
            raise GraphError(400, 100, "(#100) param message[quick_replies] has too many elements")
        for reply in quick_replies:
            title = reply.get("title") or ""
            if reply.get("content_type") != "text" or not title or not reply.get("payload"):
                raise GraphError(400, 100, "(#100) Invalid quick reply")
            if len(title) > QUICK_REPLY_TITLE_MAX:
                raise GraphError(400, 100, "(#100) Quick reply title is too long")
        return Answer(200, {"recipient_id": recipient, "message_id": "m_" + secrets.token_hex(12)})

    def _whatsapp(self, call: Call) -> Answer:
        if call.headers.get("authorization") != f"Bearer {self.whatsapp_token}":
            raise GraphError(401, 190, "Invalid OAuth access token - Cannot parse access token")
        if call.path.split("/")[2] != self.phone_number_id:
            raise GraphError(400, 100, "Unsupported post request. Object does not exist")
        body = call.body if isinstance(call.body, dict) else {}
        if body.get("messaging_product") != "whatsapp":
            raise GraphError(400, 100, "(#100) The parameter messaging_product is required.")
        to = str(body.get("to") or "")
        if not to:
            raise GraphError(400, 100, "(#100) The parameter to is required.")
        kind = body.get("type", "text")
        if kind == "text":
            text = (body.get("text") or {}).get("body") or ""
            if not text or len(text) > WHATSAPP_TEXT_MAX:
                raise GraphError(400, 100, "(#100) Param text['body'] is invalid")
        elif kind == "interactive":
            self._whatsapp_interactive(body.get("interactive") or {})
        elif kind != "image":
            raise GraphError(400, 100, f"(#100) Unsupported message type {kind}")
        return Answer(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": "wamid." + secrets.token_hex(16)}],
            },
        )

    def _whatsapp_interactive(self, interactive: dict[str, Any]) -> None:
        invalid = GraphError(400, 131009, "(#131009) Parameter value is not valid")
        text = (interactive.get("body") or {}).get("text") or ""
        if not text or len(text) > WHATSAPP_INTERACTIVE_BODY_MAX:
            raise invalid
        action = interactive.get("action") or {}
        if interactive.get("type") == "button":
            buttons = action.get("buttons") or []
            if not 1 <= len(buttons) <= WHATSAPP_BUTTONS_MAX:
                raise invalid
            for button in buttons:
                reply = button.get("reply") or {}
                title = reply.get("title") or ""
                if button.get("type") != "reply" or not reply.get("id") or not title:
                    raise invalid
                if len(title) > WHATSAPP_BUTTON_TITLE_MAX:
                    raise invalid
        elif interactive.get("type") == "list":
            rows = [r for s in action.get("sections") or [] for r in s.get("rows") or []]
            if not action.get("button") or not 1 <= len(rows) <= WHATSAPP_ROWS_MAX:
                raise invalid
            for row in rows:
                if not row.get("id") or not 0 < len(row.get("title") or "") <= 24:
                    raise invalid
        else:
            raise invalid

    def _telegram(self, call: Call) -> Answer:
        token = call.path.split("/")[1][len("bot") :]
        if token != self.telegram_token:
            raise BotApiError(401, "Unauthorized")
        body = call.body if isinstance(call.body, dict) else {}
        if call.method == "sendMessage":
            text = body.get("text") or ""
            if body.get("chat_id") in (None, ""):
                raise BotApiError(400, "Bad Request: chat_id is empty")
            if not text:
                raise BotApiError(400, "Bad Request: message text is empty")
            if len(text.encode("utf-16-le")) // 2 > TELEGRAM_TEXT_MAX:
                raise BotApiError(400, "Bad Request: message is too long")
            keyboard = (body.get("reply_markup") or {}).get("inline_keyboard")
            for row in keyboard or []:
                for button in row:
                    data = button.get("callback_data") or ""
                    if not button.get("text"):
                        raise BotApiError(400, "Bad Request: text buttons are unallowed")
                    if not data or len(data.encode()) > TELEGRAM_CALLBACK_DATA_MAX:
                        raise BotApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            result = {
                "message_id": len(self.calls),
                "chat": {"id": body["chat_id"], "type": "private"},
                "date": int(time.time()),
                "text": text,
            }
            return Answer(200, {"ok": True, "result": result})
        if call.method == "answerCallbackQuery":
            if not body.get("callback_query_id"):
                raise BotApiError(400, "Bad Request: query is too old or query ID is invalid")
            return Answer(200, {"ok": True, "result": True})
        if call.method == "sendPhoto":
            return Answer(200, {"ok": True, "result": {"message_id": len(self.calls)}})
        raise BotApiError(404, "Not Found")
