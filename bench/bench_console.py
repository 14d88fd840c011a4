"""The agent console under load, on a store of 10,000 tickets and 100,000 messages.

1. Pages: each console page requested one at a time by a signed-in agent: the time measured
   by the client on loopback (with the HTTP round trip) and the api's own time of each
   request (its access log). Two conversations: a short one without context, and a long one
   (2,000 turns) of a verified customer with 13 orders, returns in every state and a ticket
   history, the view at its heaviest.
2. Live queue: N agents keep the queue open (server-sent events; on each `tickets` event the
   page fetches the queue's rows, as console.js does) while M customers talk to the hub over
   REST; each customer then asks for a person (the assistant is away here, so the hub opens
   the ticket itself). Measured per (ticket, agent): from the customer's request that opens
   the ticket to the ticket's first appearance in that agent's rows. The agents filter the
   queue on the hub's handoff reason, so the new tickets are among the rows a page shows.

    .venv/bin/opsdesk bench --only console -- --agents 20 --customers 100
    .venv/bin/opsdesk bench --only console -- --backend postgres --explain

On PostgreSQL (`--backend postgres` or `both`) it makes a database opsdesk_bench_console_<random>
on `--pg-server` and drops it at the end. `--explain` prints each statement that the
conversation view runs, with its time and the database's plan for it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api import stack  # noqa: E402
from bench import console_store  # noqa: E402
from bench.common import machine, percentile  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ROW = re.compile(r'data-ticket="(\d+)"')
PASSWORD = "bench-password-" + secrets.token_hex(4)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def server_times(log: Path, offset: int, path: str) -> list[float]:
    """The api's own durations (its JSON access lines) of `path` written after `offset`."""
    times = []
    with log.open("rb") as fh:
        fh.seek(offset)
        for line in fh:
            if b'"duration_ms"' not in line:
                continue
            entry = json.loads(line)
            if entry.get("path") == path:
                times.append(float(entry["duration_ms"]))
    return times


def time_pages(
    client: httpx.Client, log: Path, conversations: list[tuple[str, str]], repeat: int
) -> None:
    pages = [
        ("queue (all open)", "/console"),
        ("queue, filtered (pending)", "/console?status=pending"),
        ("queue rows (live refresh)", "/console/queue/live"),
        *[(name, f"/console/conversations/{cid}") for name, cid in conversations],
        ("KPIs, 30 days", "/console/kpis?days=30"),
        ("KPIs, 90 days", "/console/kpis?days=90"),
    ]
    print(
        f"{'page':46} {'first ms':>8} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}"
        f" | server {'p50':>6} {'p95':>6} {'max':>6} | {'KiB':>5}"
    )
    for name, path in pages:
        started = time.perf_counter()
        assert client.get(path).status_code == 200, path
        first = (time.perf_counter() - started) * 1000
        offset = log.stat().st_size
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            answer = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200
        time.sleep(0.2)  # the last access lines reach the file
        server = server_times(log, offset, path.split("?")[0]) or [float("nan")]
        print(
            f"{name:46} {first:8.1f} {percentile(times, 0.5):7.1f} "
            f"{percentile(times, 0.95):7.1f} {max(times):7.1f} | server "
            f"{percentile(server, 0.5):6.1f} {percentile(server, 0.95):6.1f} "
            f"{max(server):6.1f} | {len(answer.content) / 1024:5.0f}"
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


def bench_backend(backend: str, args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="opsdesk-bench-console-"))
    url = console_store.fresh_database(backend, tmp, args.pg_server)
    admin_key = secrets.token_urlsafe(24)
    env = {
        **os.environ,
        "OPSDESK_DATABASE_URL": url,
        "OPSDESK_VAR_DIR": str(tmp / "var"),
        "OPSDESK_ADMIN_KEY": admin_key,
        "OPSDESK_RASA_URL": f"http://127.0.0.1:{free_port()}",  # the assistant is away
        # The access lines carry the api's own time of each request.
        "OPSDESK_LOG_LEVEL": "info",
    }
    proc = None
    log = tmp / "api.log"
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
        console_store.fill(url, args.tickets, args.messages_per_ticket, args.agents, PASSWORD)
        context = console_store.add_context_conversation(url, args.context_turns)
        print(
            f"store: demo + {args.tickets:,} tickets, {args.tickets * args.messages_per_ticket:,} "
            f"messages, {args.agents} agents, one conversation of {args.context_turns:,} turns "
            f"(loaded in {time.perf_counter() - started:.0f} s); {server_version(url)}"
        )
        if args.explain:
            console_store.explain_conversation(url, context)
            console_store.explain_conversation(url, "c-bench-000042")
            print()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = stack.start(
            [sys.executable, "-m", "api.cli", "api", "--port", str(port)],
            cwd=REPO,
            env=env,
            log_path=log,
            health_url=f"{base}/healthz",
            timeout=60,
            name="api",
        )
        agents = [sign_in(base, f"agent{n}@bench.example") for n in range(args.agents)]
        conversations = [
            (f"conversation, {args.messages_per_ticket} turns, no context", "c-bench-000042"),
            (f"conversation, {args.context_turns:,} turns, 13 orders", context),
        ]
        time_pages(agents[0], log, conversations, args.repeat)
        if args.customers:
            asyncio.run(live_queue(base, agents, args.customers, args.spread, admin_key))
        for client in agents:
            client.close()
    except BaseException:
        if log.exists():
            print("api log (last lines):", *log.read_text().splitlines()[-30:], sep="\n")
        raise
    finally:
        if proc is not None:
            proc.stop()
        for name in ("get_sessionmaker", "get_engine", "get_settings"):
            _clear_cache(name)
        console_store.drop_database(url, args.pg_server)
        shutil.rmtree(tmp, ignore_errors=True)


def _clear_cache(name: str) -> None:
    """Forget the engine and settings of this process's previous backend."""
    import api.db
    import api.settings

    for module in (api.db, api.settings):
        cached = getattr(module, name, None)
        if cached is not None and hasattr(cached, "cache_clear"):
            cached.cache_clear()


def server_version(url: str) -> str:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            version = "SQLite " + conn.execute(sa.text("select sqlite_version()")).scalar_one()
        else:
            version = "PostgreSQL " + conn.execute(sa.text("show server_version")).scalar_one()
    engine.dispose()
    return version


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--messages-per-ticket", type=int, default=10)
    parser.add_argument(
        "--context-turns", type=int, default=2_000, help="turns of the long conversation"
    )
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument(
        "--customers", type=int, default=100, help="customers of the live phase (0: none)"
    )
    parser.add_argument("--spread", type=float, default=10.0, help="handoffs over this many s")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument(
        "--pg-server",
        default=console_store.PG_SERVER,
        help="PostgreSQL server on which a database opsdesk_bench_console_<random> is made "
        "and dropped afterwards",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print each statement of the conversation view with its plan before timing",
    )
    args = parser.parse_args()
    print(machine())
    for backend in ["sqlite", "postgres"] if args.backend == "both" else [args.backend]:
        print(f"-- {backend}", flush=True)
        bench_backend(backend, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
