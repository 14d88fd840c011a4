"""The conversation hub under load: N simulated customers in parallel conversations, each a
closed loop of mixed turns (order status with verification, stock with the ops API, shipping
question, greeting, thanks; on socket.io also two messages sent back to back), for a bounded
time, against api + actions + `rasa run` with the trained model on loopback.

Three phases in the same run, with the same customers and flows:
  1. direct: every customer talks to Rasa's own REST channel (the floor);
  2. hub: half the customers over the hub's REST channel, half over its socket.io channel;
  3. the hub's own cost: the same again against a second api process whose "Rasa" is a
     stand-in that answers at once (tests/hub/standin_rasa.py), so what is measured is the
     hub alone (storing, ordering, forwarding, storing the answers, delivering).
A turn is the time from sending a message to its (first) answer; turns/s and the latencies
count answered turns. `unanswered`: Rasa answered nothing (direct) or did not answer within
the hub's timeout, so the hub told the customer it is briefly unavailable. `late`: a
socket.io answer that did not come within the customer's 60 s wait. Afterwards, once the hub
has finished the turns still queued (up to 300 s), every hub conversation's transcript is
read back through the ops API: a message sent but not stored, stored but never processed, or
an answer stored but not delivered is `lost`; messages
stored, or answers delivered, in another order than sent are `reordered`.

    .venv/bin/opsdesk bench --only hub -- --customers 100 --seconds 60 --think 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import socketio
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api import cli, stack  # noqa: E402
from api.hub.hub import UNAVAILABLE_TEXT  # noqa: E402
from api.rasa_profile import TRACKER_SUFFIX  # noqa: E402
from bench.common import machine, percentile  # noqa: E402
from bench.transcripts import TranscriptAudit, audit_transcripts, settle  # noqa: E402
from tests.hub.standin_rasa import StandInRasa  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# Each entry is one turn; every one of them gets an answer from the assistant, and none of
# them opens a form that the next would confuse (a fallback twice would hand off).
FLOWS: list[list[str]] = [
    ["where is my order #10001? my email is jane.doe@example.com"],
    ["do you have the linen button-down shirt in M?"],
    ["how long does shipping take?"],
    ["hello there"],
    ["thanks"],
]
# socket.io customers sometimes send two messages without waiting (answers must keep order).
BURST = ["hello there", "how long does shipping take?"]
TURN_TIMEOUT = 60.0
# After the load, how long the hub may take to finish the turns still queued (`settle`)
# before the transcripts are read: a turn that got no answer within TURN_TIMEOUT is `late`,
# and `lost` only if it is still unprocessed after this. Overloaded, one conversation can
# hold several: a REST customer whose request ended unanswered (the hub waits 3 x its Rasa
# timeout + 20 s) writes again while the first is still queued, and each may take the hub's
# Rasa timeout or more.
SETTLE_SECONDS = 300.0
CONNECT_TIMEOUT = 20.0  # seconds a socket.io customer waits to be connected
SESSION_TIMEOUT = 30.0  # and then for its session to be confirmed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    unanswered: int = 0  # nothing from Rasa, or the hub's "briefly unavailable"
    lost: int = 0  # sent and never stored, processed or answered (from the transcripts)
    reordered: int = 0  # an answer that arrived before the answer to an earlier message
    sent: dict[str, list[str]] = field(default_factory=dict)  # channel key -> texts in order
    # socket.io messages whose answer did not come within TURN_TIMEOUT: (channel key, id)
    late: list[tuple[str, int]] = field(default_factory=list)
    error_kinds: Counter[str] = field(default_factory=Counter)  # what each error was

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] += 1

    def merge(self, other: Tally) -> None:
        self.latencies_ms += other.latencies_ms
        self.errors += other.errors
        self.error_kinds += other.error_kinds
        self.unanswered += other.unanswered
        self.lost += other.lost
        self.reordered += other.reordered
        self.sent.update(other.sent)
        self.late += other.late


def row(name: str, customers: int, seconds: float, tally: Tally) -> str:
    lat = tally.latencies_ms
    return (
        f"| {name} | {customers} | {len(lat) / seconds:,.1f} | {percentile(lat, 0.5):.1f} | "
        f"{percentile(lat, 0.95):.1f} | {percentile(lat, 0.99):.1f} | {tally.errors} | "
        f"{tally.unanswered} | {len(tally.late)} | {tally.lost} | {tally.reordered} |"
    )


HEADER = (
    "| path | customers | turns/s | p50 ms | p95 ms | p99 ms | errors | unanswered | late "
    "| lost | reordered |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


async def think(seconds: float) -> None:
    """A customer reads the answer before writing again (0.5 to 1.5 times `seconds`)."""
    if seconds:
        await asyncio.sleep(seconds * random.uniform(0.5, 1.5))


async def rest_customer(
    client: httpx.AsyncClient, url: str, key: str, index: int, until: float, pause: float
) -> Tally:
    tally = Tally(sent={key: []})
    turn = index
    while time.monotonic() < until:
        for text in FLOWS[turn % len(FLOWS)]:
            started = time.perf_counter()
            try:
                r = await client.post(url, json={"sender": key, "message": text})
            except httpx.HTTPError as e:
                tally.error(f"REST request failed: {type(e).__name__}")
                continue
            tally.sent[key].append(text)
            if r.status_code != 200:
                tally.error(f"REST answered HTTP {r.status_code}")
                continue
            elapsed = (time.perf_counter() - started) * 1000
            replies = r.json()
            texts = [x.get("text") for x in replies if x.get("text")]
            if not texts or texts == [UNAVAILABLE_TEXT]:
                tally.unanswered += 1
            else:
                tally.latencies_ms.append(elapsed)
            if any(x.get("recipient_id") != key for x in replies):
                tally.error("REST reply addressed to another customer")
            await think(pause)
        turn += 1
    return tally


class SocketCustomer:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.answers: dict[int, asyncio.Future[tuple[float, str]]] = {}
        self.answered_order: list[int] = []
        self.session_id = ""

        @self.sio.on("bot_uttered")
        async def _uttered(event: dict[str, Any]) -> None:
            reply_to = (event.get("metadata") or {}).get("in_reply_to")
            if reply_to is None:
                return
            if not self.answered_order or self.answered_order[-1] != reply_to:
                self.answered_order.append(reply_to)
            future = self.answers.get(reply_to)
            if future is not None and not future.done():
                future.set_result((time.perf_counter(), event.get("text") or ""))

    async def connect(self) -> None:
        confirmed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.sio.on("session_confirm", lambda sid: confirmed.set_result(sid))
        # 20 s, the socket.io browser client's own connect timeout (python-socketio waits 1 s,
        # which a busy api process misses when hundreds of customers connect at once).
        await self.sio.connect(
            self.base_url,
            transports=["websocket"],
            socketio_path="socket.io",
            wait_timeout=CONNECT_TIMEOUT,
        )
        await self.sio.emit("session_request", {"session_id": None})
        try:
            self.session_id = await asyncio.wait_for(confirmed, SESSION_TIMEOUT)
        except TimeoutError:
            raise TimeoutError(f"no session_confirm within {SESSION_TIMEOUT:.0f} s") from None

    async def send(self, text: str) -> tuple[int, float, asyncio.Future[tuple[float, str]]]:
        started = time.perf_counter()
        ack = await self.sio.call(
            "user_uttered", {"message": text, "session_id": self.session_id}, timeout=30
        )
        message_id = int(ack["message_id"])
        future = self.answers.setdefault(message_id, asyncio.get_running_loop().create_future())
        return message_id, started, future


async def socket_customer(base_url: str, index: int, until: float, pause: float) -> Tally:
    customer = SocketCustomer(base_url)
    tally = Tally()
    try:
        await customer.connect()
    except Exception as e:  # noqa: BLE001 - counted
        tally.error(f"socket.io connect failed: {type(e).__name__} {e}"[:120])
        await customer.sio.disconnect()  # closes its HTTP session too
        return tally
    tally.sent[customer.session_id] = []
    turn = index
    ids: list[int] = []
    try:
        while time.monotonic() < until:
            texts = BURST if turn % 7 == 3 else FLOWS[turn % len(FLOWS)]
            pending = []
            for text in texts:
                try:
                    pending.append(await customer.send(text))
                except Exception as e:  # noqa: BLE001 - counted
                    tally.error(f"socket.io send not acknowledged: {type(e).__name__} {e}"[:120])
                    continue
                tally.sent[customer.session_id].append(text)
            for message_id, started, future in pending:
                ids.append(message_id)
                try:
                    answered, text = await asyncio.wait_for(future, TURN_TIMEOUT)
                except TimeoutError:  # late; lost only if the transcript says so
                    tally.late.append((customer.session_id, message_id))
                    continue
                if text == UNAVAILABLE_TEXT:
                    tally.unanswered += 1
                else:
                    tally.latencies_ms.append((answered - started) * 1000)
            await think(pause)
            turn += 1
    finally:
        await customer.sio.disconnect()
    # Answers must arrive in the order the messages were sent.
    position = {message_id: i for i, message_id in enumerate(ids)}
    seen = [position[m] for m in customer.answered_order if m in position]
    tally.reordered += sum(1 for a, b in zip(seen, seen[1:], strict=False) if b < a)
    return tally


async def phase_direct(rasa_url: str, customers: int, seconds: float, pause: float) -> Tally:
    until = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=customers + 10)
    async with httpx.AsyncClient(timeout=TURN_TIMEOUT, limits=limits) as client:
        url = f"{rasa_url}/webhooks/rest/webhook"
        results = await asyncio.gather(
            *(
                rest_customer(client, url, f"direct-{i}-{secrets.token_hex(4)}", i, until, pause)
                for i in range(customers)
            )
        )
    total = Tally()
    for tally in results:
        total.merge(tally)
    return total


async def phase_hub(
    api_url: str, customers: int, seconds: float, pause: float
) -> tuple[Tally, Tally]:
    rest_n = customers // 2
    until = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=customers + 10)
    async with httpx.AsyncClient(timeout=TURN_TIMEOUT, limits=limits) as client:
        url = f"{api_url}/webhooks/rest/webhook"
        rest = [
            rest_customer(client, url, f"hub-{i}-{secrets.token_hex(4)}", i, until, pause)
            for i in range(rest_n)
        ]
        sockets = [socket_customer(api_url, i, until, pause) for i in range(customers - rest_n)]
        results = await asyncio.gather(*rest, *sockets)
    rest_total, socket_total = Tally(), Tally()
    for tally in results[:rest_n]:
        rest_total.merge(tally)
    for tally in results[rest_n:]:
        socket_total.merge(tally)
    return rest_total, socket_total


def audit(api_url: str, agent_key: str, channel: str, tally: Tally) -> TranscriptAudit:
    """Read every conversation of `channel` back and add what it lost and reordered to
    `tally` (a message stored or answered twice counts as reordered)."""
    found = audit_transcripts(api_url, agent_key, (channel,), tally.sent)
    tally.lost += found.lost
    tally.reordered += found.reordered + found.doubled
    return found


def start_api_over_standin(
    overrides: dict[str, str], rasa_url: str, work: Path
) -> tuple[stack.Process, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = stack.start(
        [sys.executable, "-m", "api.cli", "api", "--port", str(port)],
        cwd=REPO,
        env={**os.environ, **overrides, "OPSDESK_RASA_URL": rasa_url},
        log_path=work / "api-standin.log",
        health_url=f"{url}/healthz",
        timeout=60,
        name="the api over the stand-in",
    )
    return process, url


def fresh_database(
    backend: str, work: Path, prefix: str = "opsdesk_bench_hub"
) -> tuple[str, str | None]:
    """(url, name of the PostgreSQL database this run created, to drop afterwards)."""
    if backend == "sqlite":
        return f"sqlite:///{work / 'ops.db'}", None
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False), name


def seed(overrides: dict[str, str]) -> None:
    """`opsdesk seed` (migrations and the demo store) into the store `overrides` point at."""
    subprocess.run(
        [sys.executable, "-m", "api.cli", "seed"],
        cwd=REPO,
        env={**os.environ, **overrides},
        check=True,
        stdout=subprocess.DEVNULL,
    )


def drop_database(name: str) -> None:
    """Drop this run's database and the Rasa tracker database the stack made beside it
    (`<name>_tracker`, api/rasa_profile.py) when the run started Rasa on it."""
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for db in (f"{name}{TRACKER_SUFFIX}", name):
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each phase")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--think", type=float, default=0.0, help="seconds a customer waits between turns"
    )
    parser.add_argument(
        "--rasa-timeout", type=float, default=20.0, help="OPSDESK_RASA_TIMEOUT_SECONDS of the api"
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    model = cli.train()
    work = Path(tempfile.mkdtemp(prefix="opsdesk-bench-hub-"))
    url, created = fresh_database(args.backend, work)
    keys = {f"OPSDESK_{r}_KEY": secrets.token_urlsafe(24) for r in ("ADMIN", "SERVICE", "AGENT")}
    overrides = {
        "OPSDESK_VAR_DIR": str(work / "var"),
        "OPSDESK_DATABASE_URL": url,
        "OPSDESK_RASA_TIMEOUT_SECONDS": str(args.rasa_timeout),
        **keys,
    }
    procs: dict[str, stack.Process] = {}
    try:
        seed(overrides)
        ports = free_port(), free_port(), free_port()
        procs = cli.start_processes(
            *ports, env_overrides=overrides, log_dir=work / "var" / "logs", timeout=240
        )
        api_url, rasa_url = f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"
        print(
            f"{args.backend} ops database; model {model.name}; api, actions and rasa on loopback "
            f"(one process each); {args.customers} customers, {args.seconds:.0f} s per phase, "
            f"{args.think:g} s between turns; hub timeout {args.rasa_timeout:g} s; "
            "the load generator runs on the same machine"
        )
        asyncio.run(phase_direct(rasa_url, 10, 5, 0))  # warm the model and the action server
        direct = asyncio.run(phase_direct(rasa_url, args.customers, args.seconds, args.think))
        hub_rest, hub_socket = asyncio.run(
            phase_hub(api_url, args.customers, args.seconds, args.think)
        )
        sent = {**hub_rest.sent, **hub_socket.sent}
        settle(api_url, keys["OPSDESK_AGENT_KEY"], ("rest", "socketio"), sent, SETTLE_SECONDS)
        for channel, tally in (("rest", hub_rest), ("socketio", hub_socket)):
            waiting = audit(api_url, keys["OPSDESK_AGENT_KEY"], channel, tally).waiting
            if waiting:
                print(f"{channel}: {waiting} answers kept pending for customers who had left")
        hub = Tally()
        hub.merge(hub_rest)
        hub.merge(hub_socket)
        cli.stop_processes(procs)  # the third phase needs no Rasa: it would only take CPU
        procs = {}
        standin = StandInRasa().start()
        floor_api, floor_url = start_api_over_standin(overrides, standin.url, work)
        try:
            floor_rest, floor_socket = asyncio.run(
                phase_hub(floor_url, args.customers, args.seconds, args.think)
            )
            for channel, tally in (("rest", floor_rest), ("socketio", floor_socket)):
                audit(floor_url, keys["OPSDESK_AGENT_KEY"], channel, tally)
        finally:
            floor_api.stop()
            standin.stop()
        floor = Tally()
        floor.merge(floor_rest)
        floor.merge(floor_socket)
        half = args.customers // 2
        print(HEADER)
        print(row("Rasa REST directly", args.customers, args.seconds, direct))
        print(row("hub, REST channel", half, args.seconds, hub_rest))
        print(row("hub, socket.io", args.customers - half, args.seconds, hub_socket))
        print(row("hub, both channels", args.customers, args.seconds, hub))
        print(row("hub alone (instant stand-in), REST", half, args.seconds, floor_rest))
        print(
            row(
                "hub alone (instant stand-in), socket.io",
                args.customers - half,
                args.seconds,
                floor_socket,
            )
        )
        print(row("hub alone (instant stand-in), both", args.customers, args.seconds, floor))
        p95_direct = percentile(direct.latencies_ms, 0.95)
        p95_hub = percentile(hub.latencies_ms, 0.95)
        print(
            f"hub p95 / direct p95 = {p95_hub:.1f} / {p95_direct:.1f} ms "
            f"({(p95_hub / p95_direct - 1) * 100:+.0f} %)"
        )
    finally:
        cli.stop_processes(procs)
        if created:
            drop_database(created)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
