"""OpsDesk past one process: the same simulated customers through the hub with one replica
and with two (each a Rasa server with its action server, and an api process), in one run,
in the production profile (PostgreSQL ops data and tracker store, Redis lock store and
socket.io rooms, RabbitMQ event broker); then two replicas again with one Rasa server
killed (SIGKILL) a third of the way into the phase.

Customers are closed loops of mixed turns (bench_hub.py's flows: order status with
verification, stock, shipping question, greeting, thanks, on socket.io also two messages
back to back), half on REST and half on socket.io, spread over the api processes, for a
bounded time. A turn is the time from sending a message to its first answer; a socket.io
customer waits 60 s for it, and an answer that did not come by then is `late`. Afterwards,
once the hub has finished the turns still queued (up to 300 s), every conversation is read
back through the ops API: `lost` (sent and not stored, stored and never processed, an
answer not delivered), `doubled` (a message stored twice, or the same
answer stored twice for one message) and `reordered` (stored or answered out of order).
The load generator's own CPU (user + system, as a share of one core) is reported: it runs
on the same machine and takes from what the replicas get.

A second table accounts for the machine's CPU in each phase: how busy all its cores were
(/proc/stat), the CPU time spent per answered turn by the whole machine and by each kind of
OpsDesk process (their process groups' user + system time, /proc/<pid>/stat), and the turns
per second the cores would allow at that cost. It spans the phase from the first customer's
start to the last answer (or its timeout), so "cores busy" also averages in that tail. When
one replica already needs all the cores, a second on the same machine cannot add turns; only
more cores can.

    .venv/bin/opsdesk bench --only scale -- --customers 200 --seconds 60 --think 1

`--phases one` (or `two`, `killed`, comma separated) runs only those phases.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import secrets
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api import cli  # noqa: E402
from api.settings import Settings  # noqa: E402
from bench.bench_hub import (  # noqa: E402
    SETTLE_SECONDS,
    TURN_TIMEOUT,
    Tally,
    drop_database,
    free_port,
    fresh_database,
    rest_customer,
    seed,
    socket_customer,
)
from bench.common import machine, percentile  # noqa: E402
from bench.transcripts import _pages, audit_transcripts, settle  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("OPSDESK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("OPSDESK_BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
HEADER = (
    "| replicas | customers | turns/s | p50 ms | p95 ms | p99 ms | errors | unanswered | late "
    "| lost | doubled | reordered | load generator CPU |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)
CPU_HEADER = (
    "| replicas | cores busy | CPU ms per turn | of which Rasa | actions | api | load generator "
    "| the rest (databases, brokers, system) | turns/s the cores allow |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# --phases: key -> (the name in the tables, Rasa replicas, one of them killed a third in)
PHASES = {
    "one": ("1", 1, False),
    "two": ("2", 2, False),
    "killed": ("2, one killed", 2, True),
}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_cpu() -> tuple[float, float]:
    """(busy, all) CPU seconds of every core together since boot (/proc/stat)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return (sum(ticks) - idle) / CLOCK_TICKS, sum(ticks) / CLOCK_TICKS


def group_cpu(groups: set[int]) -> dict[int, float]:
    """User + system CPU seconds of the live processes in each process group."""
    used = dict.fromkeys(groups, 0.0)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        group = int(fields[2])  # fields from the state on: pgrp is the third
        if group in used:
            used[group] += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return used


class CpuAccount:
    """The CPU the machine and each kind of OpsDesk process (rasa, actions, api) used between
    start() and stop(). A process killed meanwhile takes its count with it (it is missed)."""

    def __init__(self, procs: dict[str, Any]) -> None:
        self.kinds = {p.pid: name.split("-")[0] for name, p in procs.items() if p.group}

    def start(self) -> None:
        self.machine, self.me, self.started = machine_cpu(), cpu_seconds(), time.monotonic()
        self.groups = group_cpu(set(self.kinds))

    def stop(self) -> None:
        machine, groups, me = machine_cpu(), group_cpu(set(self.kinds)), cpu_seconds()
        self.busy, self.all = machine[0] - self.machine[0], machine[1] - self.machine[1]
        self.generator = me - self.me  # the load generator (this process)
        self.seconds = time.monotonic() - self.started
        self.by_kind = dict.fromkeys(("rasa", "actions", "api"), 0.0)
        for pid, kind in self.kinds.items():
            self.by_kind[kind] = self.by_kind.get(kind, 0.0) + groups[pid] - self.groups[pid]

    def row(self, replicas: str, turns: int) -> str:
        if not turns:
            return f"| {replicas} | {self.busy / self.all:.0%} | no turns | | | | | | |"
        ms = 1000.0 / turns
        rest = self.busy - sum(self.by_kind.values()) - self.generator
        cores = os.cpu_count() or 1
        return (
            f"| {replicas} | {self.busy / self.all:.0%} of {cores} | {self.busy * ms:.1f} | "
            f"{self.by_kind['rasa'] * ms:.1f} | {self.by_kind['actions'] * ms:.1f} | "
            f"{self.by_kind['api'] * ms:.1f} | {self.generator * ms:.1f} | {rest * ms:.1f} | "
            f"{cores / (self.busy / turns):,.1f} |"
        )


async def load(api_urls: list[str], customers: int, seconds: float, pause: float) -> Tally:
    """Half the customers on REST, half on socket.io, spread over the api processes."""
    until = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=customers + 10)
    async with httpx.AsyncClient(timeout=TURN_TIMEOUT * 3, limits=limits) as client:
        runs = []
        for i in range(customers):
            api = api_urls[i % len(api_urls)]
            if i % 2:
                runs.append(socket_customer(api, i, until, pause))
            else:
                key = f"scale-{i}-{secrets.token_hex(4)}"
                url = f"{api}/webhooks/rest/webhook"
                runs.append(rest_customer(client, url, key, i, until, pause))
        results = await asyncio.gather(*runs)
    total = Tally()
    for tally in results:
        total.merge(tally)
    return total


def audit(api_url: str, agent_key: str, tally: Tally) -> tuple[tuple[int, int, int], list[str]]:
    """(lost, doubled, reordered) as the stored transcripts show them, and what each lost
    message is."""
    found = audit_transcripts(api_url, agent_key, ("rest", "socketio"), tally.sent)
    return (found.lost, found.doubled, found.reordered), found.lost_details


def explain_late(api_url: str, agent_key: str, tally: Tally) -> list[str]:
    """What the stored transcript says of each socket.io message whose answer did not reach
    the customer in time (`late`): still unprocessed, or answered (and when)."""
    lines = []
    with httpx.Client(
        base_url=api_url, headers={"Authorization": f"Bearer {agent_key}"}, timeout=60
    ) as api:
        for key, message_id in tally.late:
            listed = _pages(api, "/api/v1/conversations", {"channel": "socketio", "limit": 200})
            conversation = next((c for c in listed if c["channel_key"] == key), None)
            if conversation is None:
                lines.append(f"message {message_id}: its conversation is not found")
                continue
            path = f"/api/v1/conversations/{conversation['id']}/messages"
            messages = _pages(api, path, {"limit": 500})
            inbound = next((m for m in messages if m["id"] == message_id), None)
            replies = [m for m in messages if m.get("in_reply_to") == message_id]
            stored = f"{inbound['state']} at {inbound.get('created_at')}" if inbound else "nowhere"
            lines.append(
                f"message {message_id} not answered within {TURN_TIMEOUT:.0f} s: stored "
                f"{stored}; replies {[(m['state'], m.get('created_at')) for m in replies]}"
            )
    return lines


def row(
    replicas: str,
    customers: int,
    seconds: float,
    tally: Tally,
    found: tuple[int, int, int],
    cpu: float,
) -> str:
    lat = tally.latencies_ms
    lost, doubled, reordered = found
    return (
        f"| {replicas} | {customers} | {len(lat) / seconds:,.1f} | {percentile(lat, 0.5):.0f} | "
        f"{percentile(lat, 0.95):.0f} | {percentile(lat, 0.99):.0f} | {tally.errors} | "
        f"{tally.unanswered} | {len(tally.late)} | {lost} | {doubled} | "
        f"{reordered + tally.reordered} | {cpu:.0%} |"
    )


def phase(
    name: str,
    replicas: int,
    args: argparse.Namespace,
    overrides: dict[str, str],
    work: Path,
    kill_after: float | None = None,
) -> tuple[str, str]:
    apis, rasas, actions = ([free_port() for _ in range(replicas)] for _ in range(3))
    procs = cli.start_processes(
        apis,
        rasas,
        actions,
        env_overrides=overrides,
        log_dir=work / "logs" / name,
        timeout=400,
        replicas=replicas,
    )
    try:
        api_urls = [f"http://127.0.0.1:{p}" for p in apis]
        asyncio.run(load(api_urls, 10, 5, 0))  # warm the models and the action servers
        killer = None
        if kill_after is not None:
            victim = procs[f"rasa-{replicas}"]
            killer = _after(kill_after, lambda: victim.send_signal(signal.SIGKILL))
        account = CpuAccount(procs)
        account.start()
        tally = asyncio.run(load(api_urls, args.customers, args.seconds, args.think))
        account.stop()
        cpu = account.generator / account.seconds
        if killer is not None:
            killer.join()
        key = overrides["OPSDESK_AGENT_KEY"]
        waited = settle(api_urls[0], key, ("rest", "socketio"), tally.sent, SETTLE_SECONDS)
        found, lost = audit(api_urls[0], key, tally)
        turns = row(name, args.customers, args.seconds, tally, found, cpu)
        turns += (
            f"\n  (phase {name}) waited {waited:.0f} s after the load for the hub's queued "
            f"turns (at most {SETTLE_SECONDS:.0f})"
        )
        turns += "".join(f"\n  (phase {name}, lost) {line}" for line in lost)
        late = explain_late(api_urls[0], key, tally)
        turns += "".join(f"\n  (phase {name}, late) {line}" for line in late)
        turns += "".join(
            f"\n  (phase {name}, errors) {n} x {kind}" for kind, n in tally.error_kinds.items()
        )
        return turns, account.row(name, len(tally.latencies_ms))
    finally:
        cli.stop_processes(procs)


def _after(seconds: float, action: Any) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each phase")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between turns")
    parser.add_argument("--rasa-timeout", type=float, default=30.0)
    parser.add_argument(
        "--rasa-concurrency",
        type=int,
        default=Settings.model_fields["rasa_concurrency"].default,
        help="turns each api process has in flight at each Rasa server",
    )
    parser.add_argument(
        "--phases",
        default=",".join(PHASES),
        help=f"which phases to run, comma separated, of {', '.join(PHASES)} (default: all)",
    )
    args = parser.parse_args()
    chosen = [p.strip() for p in args.phases.split(",") if p.strip()]
    if not chosen or set(chosen) - set(PHASES):
        parser.error(f"--phases: choose from {', '.join(PHASES)}")
    print(f"machine: {machine()}")
    model = cli.train()
    work = Path(tempfile.mkdtemp(prefix="opsdesk-bench-scale-"))
    url, created = fresh_database("postgres", work)
    keys = {f"OPSDESK_{r}_KEY": secrets.token_urlsafe(24) for r in ("ADMIN", "SERVICE", "AGENT")}
    queue = f"opsdesk_bench_{secrets.token_hex(4)}"
    overrides = {
        "OPSDESK_VAR_DIR": str(work / "var"),
        "OPSDESK_DATABASE_URL": url,
        "OPSDESK_REDIS_URL": REDIS_URL,
        "OPSDESK_RABBITMQ_URL": RABBITMQ_URL,
        "OPSDESK_RABBITMQ_QUEUE": queue,
        "OPSDESK_RASA_TIMEOUT_SECONDS": str(args.rasa_timeout),
        "OPSDESK_RASA_CONCURRENCY": str(args.rasa_concurrency),
        "OPSDESK_LOG_LEVEL": "warning",
        **keys,
    }
    try:
        seed(overrides)
        print(
            f"model {model.name}; PostgreSQL, Redis, RabbitMQ on loopback; {args.customers} "
            f"customers (half REST, half socket.io), {args.seconds:.0f} s per phase, "
            f"{args.think:g} s between turns; at most {args.rasa_concurrency} turns in flight "
            "from each api process to each Rasa server; the load generator runs on the same "
            "machine"
        )
        print(HEADER, flush=True)  # each row as its phase ends
        accounts = []
        for key in chosen:
            name, replicas, killed = PHASES[key]
            kill_after = args.seconds / 3 if killed else None
            turns, account = phase(name, replicas, args, overrides, work, kill_after)
            print(turns, flush=True)
            accounts.append(account)
        print("\nWhere the CPU went (per answered turn; the killed Rasa's own use is missed):")
        print(CPU_HEADER)
        print("\n".join(accounts), flush=True)
    finally:
        if created:
            drop_database(created)
        _drop_queue(queue)


def _drop_queue(queue: str) -> None:
    import pika

    try:
        connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    except Exception:  # noqa: BLE001 - RabbitMQ away: nothing to clean
        return
    try:
        connection.channel().queue_delete(queue=queue)
    finally:
        connection.close()


if __name__ == "__main__":
    main()
