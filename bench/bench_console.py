"""The agent console under load, on a store of 10,000 tickets and 100,000 messages.

1. Pages: each console page requested one at a time by a signed-in agent (time measured by
   the client on loopback, so it includes the HTTP round trip: an upper bound of the server's
   own time).
2. Live queue: N agents keep the queue open (server-sent events; on each `tickets` event the
   page fetches the queue's rows, as console.js does) while M customers talk to the hub over
   REST; each customer then asks for a person (the assistant is away here, so the hub opens
   the ticket itself). Measured per (ticket, agent): from the customer's request that opens
   the ticket to the ticket's first appearance in that agent's rows. The agents filter the
   queue on the hub's handoff reason, so the new tickets are among the rows a page shows.

    .venv/bin/opsdesk bench --only console -- --agents 20 --customers 100
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api import stack  # noqa: E402
from bench.common import machine, percentile  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ROW = re.compile(r'data-ticket="(\d+)"')
REASONS = ["delayed_order", "lost_parcel", "return_question", "damaged_item", "customer_request"]
PRIORITIES = ["low", "normal", "normal", "normal", "high", "urgent"]
PASSWORD = "bench-password-" + secrets.token_hex(4)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fill(url: str, tickets: int, messages_per: int, agents: int) -> None:
    """Bulk rows for the benchmark (not a user's path: a store's history, loaded fast)."""
    from sqlalchemy.orm import Session

    from api.console import accounts
    from api.db import make_engine
    from api.ops.conversations.models import Conversation, Message
    from api.ops.tickets.models import Ticket

    engine = make_engine(url)
    now = datetime.now(UTC)
    rng = random.Random(7)
    with engine.begin() as conn:
        for start in range(0, tickets, 1000):
            conversations, msgs, rows = [], [], []
            for i in range(start, min(start + 1000, tickets)):
                created = now - timedelta(minutes=rng.randint(10, 60 * 24 * 60))
                cid = f"c-bench-{i:06d}"
                conversations.append(
                    {
                        "id": cid,
                        "channel": "rest",
                        "channel_key": f"bench-{i}",
                        "mode": "bot",
                        "status": "open",
                        "bot_reset_pending": False,
                        "created_at": created,
                        "updated_at": created,
                        "last_message_at": created,
                    }
                )
                for j in range(messages_per):
                    inbound = j % 2 == 0
                    msgs.append(
                        {
                            "conversation_id": cid,
                            "direction": "inbound" if inbound else "outbound",
                            "author": "customer" if inbound else "bot",
                            "text": f"message {j} of conversation {i}",
                            "state": "answered" if inbound else "sent",
                            "created_at": created + timedelta(seconds=j),
                        }
                    )
                priority = rng.choice(PRIORITIES)
                status = rng.choices(["resolved", "open", "assigned", "pending"], [70, 15, 10, 5])[
                    0
                ]
                rows.append(
                    {
                        "conversation_id": cid,
                        "channel": "rest",
                        "reason": rng.choice(REASONS),
                        "priority": priority,
                        "status": status,
                        "summary": "Customer asked for a person.",
                        "sla_due_at": created + timedelta(hours=24),
                        "created_at": created,
                        "updated_at": created,
                        "first_response_at": created + timedelta(minutes=rng.randint(1, 240)),
                        "resolved_at": created + timedelta(hours=rng.randint(1, 72))
                        if status == "resolved"
                        else None,
                    }
                )
            conn.execute(sa.insert(Conversation), conversations)
            conn.execute(sa.insert(Message), msgs)
            conn.execute(sa.insert(Ticket), rows)
    with Session(engine) as db:
        for n in range(agents):
            accounts.create_agent(
                db_session=db,
                email=f"agent{n}@bench.example",
                name=f"Bench Agent {n}",
                role="agent",
                password=PASSWORD,
            )
        db.commit()
    engine.dispose()


def sign_in(base: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    token = CSRF.search(client.get("/console/login").text)
    assert token
    answer = client.post(
        "/console/login",
        data={"csrf_token": token.group(1), "email": email, "password": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def time_pages(client: httpx.Client, conversation_id: str, repeat: int) -> None:
    pages = [
        ("queue (all open)", "/console"),
        ("queue, filtered (pending)", "/console?status=pending"),
        ("queue rows (live refresh)", "/console/queue/live"),
        ("conversation (10 turns, context)", f"/console/conversations/{conversation_id}"),
        ("KPIs, 30 days", "/console/kpis?days=30"),
        ("KPIs, 90 days", "/console/kpis?days=90"),
    ]
    print(f"{'page':38} {'first ms':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, path in pages:
        started = time.perf_counter()
        assert client.get(path).status_code == 200, path
        first = (time.perf_counter() - started) * 1000
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            answer = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200
        print(
            f"{name:38} {first:8.1f} {percentile(times, 0.5):8.1f} "
            f"{percentile(times, 0.95):8.1f} {max(times):8.1f}"
        )


async def agent_page(
    base: str,
    cookies: httpx.Cookies,
    seen: dict[int, float],
    ready: asyncio.Event,
) -> None:
    """One open queue: on every `tickets` event, fetch the rows, note the new ticket ids."""
    rows_url = "/console/queue/live?reason=system_unavailable"
    async with httpx.AsyncClient(base_url=base, cookies=cookies, timeout=60) as client:

        async def refresh() -> None:
            answer = await client.get(rows_url, headers={"x-console-fetch": "1"})
            at = time.monotonic()
            for ticket_id in ROW.findall(answer.text):
                seen.setdefault(int(ticket_id), at)

        await refresh()
        # As console.js does: one fetch at a time; events during it ask for one more.
        state = {"running": False, "again": False}

        async def refresh_coalesced() -> None:
            if state["running"]:
                state["again"] = True
                return
            state["running"] = True
            try:
                while True:
                    state["again"] = False
                    await refresh()
                    if not state["again"]:
                        break
            finally:
                state["running"] = False

        pending: set[asyncio.Task[None]] = set()
        async with client.stream("GET", "/console/events") as stream:
            ready.set()
            async for line in stream.aiter_lines():
                if line == "event: tickets":
                    task = asyncio.create_task(refresh_coalesced())
                    pending.add(task)
                    task.add_done_callback(pending.discard)


async def customer(
    base: str,
    n: int,
    opened: dict[str, float],
    answered: dict[str, float],
    rng: random.Random,
    spread: float,
) -> None:
    sender = f"live-{n}-{secrets.token_hex(3)}"
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": "hello"})
        await asyncio.sleep(rng.uniform(0, spread))
        opened[sender] = time.monotonic()
        for attempt in (1, 2):
            try:
                answer = await client.post(
                    "/webhooks/rest/webhook", json={"sender": sender, "message": "/human_handoff"}
                )
                break
            except httpx.TransportError:
                # A dropped connection; the hub stores a replay once, so sending again is safe.
                if attempt == 2:
                    raise
        assert answer.status_code == 200
        answered[sender] = time.monotonic()


async def live_queue(
    base: str, agents: list[httpx.Client], customers: int, spread: float, admin_key: str
) -> None:
    seen: list[dict[int, float]] = [{} for _ in agents]
    readies = [asyncio.Event() for _ in agents]
    pages = [
        asyncio.create_task(agent_page(base, a.cookies, seen[i], readies[i]))
        for i, a in enumerate(agents)
    ]
    await asyncio.gather(*(r.wait() for r in readies))
    opened: dict[str, float] = {}
    answered: dict[str, float] = {}
    rng = random.Random(11)
    started = time.monotonic()
    await asyncio.gather(
        *(customer(base, n, opened, answered, rng, spread) for n in range(customers))
    )
    await asyncio.sleep(3)
    for task in pages:
        task.cancel()
    await asyncio.gather(*pages, return_exceptions=True)
    elapsed = time.monotonic() - started
    # Which ticket each customer's handoff opened, through the ops API.
    ticket_of: dict[str, int] = {}
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {admin_key}"}, timeout=60
    ) as api:
        params: dict[str, str | int] = {"channel": "rest", "limit": 200}
        keys: dict[str, str] = {}
        while True:
            page = (await api.get("/api/v1/conversations", params=params)).json()
            for item in page["items"]:
                if item["channel_key"] in opened:
                    keys[item["id"]] = item["channel_key"]
            if len(keys) == len(opened) or not page["next_cursor"]:
                break
            params["cursor"] = page["next_cursor"]
        tickets = (await api.get("/api/v1/tickets", params={"status": "open", "limit": 200})).json()
        for t in tickets["items"]:
            if t["conversation_id"] in keys:
                ticket_of[keys[t["conversation_id"]]] = t["id"]
    latencies, after_answer, hub_turns, missed = [], [], [], 0
    for sender, at in opened.items():
        ticket_id = ticket_of.get(sender)
        hub_turns.append((answered[sender] - at) * 1000)
        for agent_seen in seen:
            if ticket_id is None or ticket_id not in agent_seen:
                missed += 1
            else:
                latencies.append((agent_seen[ticket_id] - at) * 1000)
                after_answer.append((agent_seen[ticket_id] - answered[sender]) * 1000)
    print(
        f"{len(agents)} agents with the queue open, {customers} customers over {elapsed:.1f} s; "
        f"{len(ticket_of)} handoff tickets; {len(latencies)} (ticket, agent) sightings, "
        f"{missed} missed"
    )
    for name, values in (
        ("handoff request -> its answer (the ticket is stored before it)", hub_turns),
        ("handoff request -> ticket in an open queue", latencies),
        ("handoff answer -> ticket in an open queue", after_answer),
    ):
        if values:
            print(
                f"{name}: p50 {percentile(values, 0.5):.0f} ms, "
                f"p95 {percentile(values, 0.95):.0f} ms, max {max(values):.0f} ms"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--messages-per-ticket", type=int, default=10)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--spread", type=float, default=10.0, help="handoffs over this many s")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    print(machine())
    tmp = Path(tempfile.mkdtemp(prefix="opsdesk-bench-console-"))
    url = f"sqlite:///{tmp / 'ops.db'}"
    admin_key = secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "OPSDESK_DATABASE_URL": url,
        "OPSDESK_VAR_DIR": str(tmp / "var"),
        "OPSDESK_ADMIN_KEY": admin_key,
        "OPSDESK_RASA_URL": f"http://127.0.0.1:{free_port()}",  # the assistant is away
        "OPSDESK_LOG_LEVEL": "warning",
    }
    proc = None
    try:
        subprocess.run(
            [sys.executable, "-m", "api.cli", "seed"],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
        )
        started = time.perf_counter()
        os.environ.update({k: v for k, v in env.items() if k.startswith("OPSDESK_")})
        fill(url, args.tickets, args.messages_per_ticket, args.agents)
        print(
            f"store: demo + {args.tickets:,} tickets, {args.tickets * args.messages_per_ticket:,} "
            f"messages, {args.agents} agents (loaded in {time.perf_counter() - started:.0f} s); "
            "SQLite"
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = stack.start(
            [sys.executable, "-m", "api.cli", "api", "--port", str(port)],
            cwd=REPO,
            env=env,
            log_path=tmp / "api.log",
            health_url=f"{base}/healthz",
            timeout=60,
            name="api",
        )
        agents = [sign_in(base, f"agent{n}@bench.example") for n in range(args.agents)]
        time_pages(agents[0], "c-bench-000042", args.repeat)
        asyncio.run(live_queue(base, agents, args.customers, args.spread, admin_key))
        for client in agents:
            client.close()
    except BaseException:
        log = tmp / "api.log"
        if log.exists():
            print("api log (last lines):", *log.read_text().splitlines()[-30:], sep="\n")
        raise
    finally:
        if proc is not None:
            proc.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
