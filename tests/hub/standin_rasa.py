"""A stand-in for the Rasa server's REST channel, for the hub's tests: it answers in Rasa's
shape, records what it was sent and in which order, and can be slow or down on purpose.

It plays the assistant's part of a handoff the way the action server does (`POST
/api/v1/tickets` with the service key, naming the sender as the conversation), so the hub's
mode switch is exercised through the ops API's own route."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

GREETING = "Hi! I'm the stand-in assistant. What can I do for you?"
GREETING_BUTTONS = [
    {"title": "Track my order", "payload": "/order_status"},
    {"title": "Talk to a person", "payload": "/human_handoff"},
]


@dataclass
class Call:
    sender: str
    message: str
    metadata: dict[str, Any]
    started: float
    ended: float = 0.0


@dataclass
class StandInRasa:
    api_url: str = ""  # set once the api runs: the handoff creates a ticket there
    service_key: str = ""
    down: bool = False  # answer 503
    delay: float = 0.0  # seconds before answering every message
    drops: bool = False  # close the connection without an answer, as a server killed mid-turn
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    active: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    max_active_per_sender: int = 0
    max_active: int = 0
    _active_total: int = 0
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def messages_of_all(self) -> list[str]:
        with self.lock:
            return [c.message for c in self.calls]

    def messages_of(self, sender: str) -> list[str]:
        with self.lock:
            return [c.message for c in self.calls if c.sender == sender]

    def reply(self, sender: str, message: str) -> list[dict[str, Any]]:
        """What the assistant answers, by message."""
        if message == "/restart":
            return []
        if message == "/greet":
            return [{"recipient_id": sender, "text": GREETING, "buttons": GREETING_BUTTONS}]
        if message in ("/human_handoff", "a person please"):
            ticket = httpx.post(
                f"{self.api_url}/api/v1/tickets",
                headers={"Authorization": f"Bearer {self.service_key}"},
                json={
                    "conversation_id": sender,
                    "reason": "customer_request",
                    "summary": "Customer asked for a person.",
                },
                timeout=10,
            )
            ticket.raise_for_status()
            return [
                {"recipient_id": sender, "text": "Sure, I'm bringing in a person from our team."},
                {"recipient_id": sender, "text": ticket.json()["customer_message"]},
            ]
        if message.startswith("slow "):
            time.sleep(float(message.split()[1]))
        if message == "buttons":
            return [{"recipient_id": sender, "text": "Pick one", "buttons": GREETING_BUTTONS}]
        return [{"recipient_id": sender, "text": f"echo: {message}"}]

    def start(self) -> StandInRasa:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                sender, message = body["sender"], body.get("message") or ""
                call = Call(sender, message, body.get("metadata") or {}, time.monotonic())
                with stand_in.lock:
                    stand_in.calls.append(call)
                    stand_in.active[sender] += 1
                    stand_in._active_total += 1
                    stand_in.max_active_per_sender = max(
                        stand_in.max_active_per_sender, stand_in.active[sender]
                    )
                    stand_in.max_active = max(stand_in.max_active, stand_in._active_total)
                if stand_in.drops:
                    with stand_in.lock:
                        stand_in.active[sender] -= 1
                        stand_in._active_total -= 1
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                try:
                    if stand_in.delay:
                        time.sleep(stand_in.delay)
                    if stand_in.down:
                        status, answer = 503, {"error": "down"}
                    else:
                        status, answer = 200, stand_in.reply(sender, message)
                finally:
                    with stand_in.lock:
                        stand_in.active[sender] -= 1
                        stand_in._active_total -= 1
                        call.ended = time.monotonic()
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                """Rasa's tracker, as the hub reads it after a server dropped a turn:
                one user event per message this server received."""
                sender = self.path.split("?")[0].split("/")[2]
                events = [
                    {"event": "user", "text": c.message, "metadata": c.metadata}
                    for c in stand_in.calls
                    if c.sender == sender
                ]
                data = json.dumps({"sender_id": sender, "events": events}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
