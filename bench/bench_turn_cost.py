"""The cost of one turn, side by side with RasaHQ/retail-demo on the same Rasa install.

In one run: OpsDesk's api + action server + Rasa on the production profile (PostgreSQL ops
data and tracker store in a database of its own, created and dropped here; Redis lock store)
and, with `--peer PATH`, the peer's Rasa server and action server on other ports. Four turns,
each in a conversation of its own whose session has already started, timed from sending the
message to Rasa's REST channel to its answer, interleaved round by round (in a shuffled
order) so every kind sees the same machine load:

- OpsDesk, no action: a greeting, answered from the domain's responses;
- OpsDesk, order status: the answer to the email after "where is my order" and the order
  number: the verification form checks the order (POST /orders/lookup) and
  action_order_status answers its status;
- the peer, no action: its greeting;
- the peer, order status: the answer to the email after "where is my order?": its form
  fills the email, action_order_status reads its SQLite file and its survey form asks.

Only the last message of each conversation is timed. The actions each timed turn ran, read
back from Rasa's tracker, are printed once. Last, where each kind of turn goes: the steps of
its timed message in fresh conversations, from the event timestamps of Rasa's tracker (each
step is one prediction round of every policy plus running the action it chose; the message's
parse before and the tracker's save after are outside them).

    .venv/bin/opsdesk bench --only turn_cost -- --model models/opsdesk.tar.gz \\
        --peer /path/to/retail-demo

The peer is not part of this repository. To get it: clone github.com/RasaHQ/retail-demo
(outside the repository), then for Rasa 3.6: migrate its 2.x domain (`rasa data migrate -d
domain.yml`, then drop the `requested_slot` slot, which Rasa 3 defines itself), remove the
DucklingEntityExtractor from config.yml (it needs a Duckling server), replace
`utter_message(template=` with `utter_message(response=` in actions/actions.py (rasa_sdk 3
has no `template`), build its database (`cd actions && python ../initialize_db.py`) and
train it with the same Rasa: `.venv-rasa/bin/rasa train --out models`. The newest
models/*.tar.gz under PATH is used (or --peer-model). Its tracker store is in memory, as the
peer ships (`--peer-profile production` gives it the same PostgreSQL + Redis stores).
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api import cli, stack  # noqa: E402
from bench.bench_hub import (  # noqa: E402
    PG_ADMIN,
    drop_database,
    free_port,
    fresh_database,
    seed,
)
from bench.common import machine, percentile  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("OPSDESK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PLAIN_TARGET, PEER_TARGET = 1.6, 1.0  # the targets on p95


@dataclass(frozen=True)
class Flow:
    """A conversation: `setup` messages (not timed), then the `timed` one, whose answer must
    contain `expect`."""

    name: str
    setup: tuple[str, ...]
    timed: str
    expect: str


@dataclass
class Bot:
    name: str
    url: str
    token: str | None
    plain: Flow
    action: Flow
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    wrong: dict[str, str] = field(default_factory=dict)  # flow -> first unexpected answer


OPSDESK_PLAIN = Flow("OpsDesk, no action (greeting)", ("hello",), "hello there", "")
OPSDESK_ACTION = Flow(
    "OpsDesk, order status (verify + status)",
    ("where is my order", "10001"),
    "jane.doe@example.com",
    "Order #10001 is",
)
PEER_PLAIN = Flow("retail-demo, no action (greeting)", ("hello",), "hey there", "")
PEER_ACTION = Flow(
    "retail-demo, order status", ("where is my order?",), "example@rasa.com", "currently shipped"
)


def send(client: httpx.Client, bot: Bot, sender: str, text: str) -> tuple[float, str]:
    """(milliseconds, the answer's texts joined) for one message to Rasa's REST channel."""
    started = time.perf_counter()
    response = client.post(
        f"{bot.url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
    )
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        return elapsed, f"HTTP {response.status_code}"
    return elapsed, " ".join(str(m.get("text") or "") for m in response.json())


def converse(client: httpx.Client, bot: Bot, flow: Flow, record: bool) -> str:
    sender = f"turn-cost-{uuid.uuid4().hex[:16]}"
    for text in flow.setup:
        send(client, bot, sender, text)
    elapsed, answer = send(client, bot, sender, flow.timed)
    if record:
        bot.latencies.setdefault(flow.name, []).append(elapsed)
        if not answer.strip() or flow.expect not in answer:
            bot.errors[flow.name] = bot.errors.get(flow.name, 0) + 1
            bot.wrong.setdefault(flow.name, answer[:200])
    return sender


def timed_turn_actions(client: httpx.Client, bot: Bot, sender: str) -> list[str]:
    """The actions Rasa ran for the conversation's last message, each with the policy that
    chose it (from its tracker)."""
    params = {"token": bot.token} if bot.token else None
    tracker = client.get(f"{bot.url}/conversations/{sender}/tracker", params=params).json()
    events = tracker.get("events", [])
    last_user = max(i for i, e in enumerate(events) if e.get("event") == "user")
    return [
        f"{e['name']} ({e.get('policy') or 'no policy'})"
        for e in events[last_user:]
        if e.get("event") == "action" and e.get("name") != "action_listen"
    ]


def turn_steps(client: httpx.Client, bot: Bot, sender: str) -> list[tuple[str, float]]:
    """The timed turn's steps from its tracker: each action Rasa ran (action_listen last),
    with the milliseconds since the step before, the first counted from the user event (so
    each step is one prediction round of every policy, plus running that action)."""
    params = {"token": bot.token} if bot.token else None
    tracker = client.get(f"{bot.url}/conversations/{sender}/tracker", params=params).json()
    events = tracker.get("events", [])
    last_user = max(i for i, e in enumerate(events) if e.get("event") == "user")
    steps, before = [], events[last_user]["timestamp"]
    for event in events[last_user + 1 :]:
        if event.get("event") == "action":
            steps.append((event["name"], (event["timestamp"] - before) * 1000))
            before = event["timestamp"]
    return steps


def step_report(client: httpx.Client, bots: list[Bot], conversations: int) -> None:
    """Median milliseconds of each step of each timed turn, over fresh conversations."""
    print(f"\nwhere each timed turn goes (median ms over {conversations} conversations):")
    for bot in bots:
        for flow in (bot.plain, bot.action):
            runs = [
                turn_steps(client, bot, converse(client, bot, flow, False))
                for _ in range(conversations)
            ]
            names = [name for name, _ in runs[0]]
            runs = [r for r in runs if [n for n, _ in r] == names]
            cells = [
                f"{name} {percentile([r[i][1] for r in runs], 0.5):.1f}"
                for i, name in enumerate(names)
            ]
            total = percentile([sum(ms for _, ms in r) for r in runs], 0.5)
            print(f"- {flow.name}: {', '.join(cells)} (all steps {total:.1f})")


def run_rounds(client: httpx.Client, bots: list[Bot], rounds: int, record: bool) -> None:
    kinds = [(bot, flow) for bot in bots for flow in (bot.plain, bot.action)]
    for _ in range(rounds):
        random.shuffle(kinds)
        for bot, flow in kinds:
            converse(client, bot, flow, record)


def start_peer(args: argparse.Namespace, work: Path, tracker_db: str | None) -> list[Any]:
    """The peer's action server and Rasa server (API enabled, no token), ready."""
    peer = Path(args.peer).resolve()
    model = Path(args.peer_model) if args.peer_model else newest_model(peer / "models")
    actions_port, rasa_port = free_port(), free_port()
    endpoints: dict[str, Any] = {
        "action_endpoint": {"url": f"http://127.0.0.1:{actions_port}/webhook"}
    }
    if tracker_db:
        endpoints["tracker_store"] = {
            "type": "SQL", "dialect": "postgresql", "url": "127.0.0.1", "port": 5432,
            "db": tracker_db, "username": "postgres",
        }  # fmt: skip
        endpoints["lock_store"] = {
            "type": "redis",
            "url": "127.0.0.1",
            "port": 6379,
            "key_prefix": "retaildemo",
        }
    path = work / "peer-endpoints.yml"
    path.write_text(yaml.safe_dump(endpoints))
    env = {**os.environ, **cli.QUIET_RASA_ENV, "SANIC_HOST": "127.0.0.1"}
    rasa_bin = cli.RASA_BIN
    procs = [
        stack.start(
            [str(rasa_bin / "python"), "-m", "rasa_sdk", "--actions", "actions",
             "--port", str(actions_port)],
            cwd=peer, env=env, health_url=f"http://127.0.0.1:{actions_port}/health",
            timeout=120, log_path=work / "logs" / "peer-actions.log", new_session=True,
            name="peer-actions", wait=False,
        ),
        stack.start(
            [str(rasa_bin / "rasa"), "run", "--enable-api", "--interface", "127.0.0.1",
             "--port", str(rasa_port), "--model", str(model), "--endpoints", str(path)],
            cwd=peer, env=env, health_url=f"http://127.0.0.1:{rasa_port}/",
            timeout=300, log_path=work / "logs" / "peer-rasa.log", new_session=True,
            name="peer-rasa", wait=False,
        ),
    ]  # fmt: skip
    try:
        stack.wait_all_healthy(procs, 300, interval=0.5)
    except BaseException:
        stack.stop_all(procs)
        raise
    args.peer_url = f"http://127.0.0.1:{rasa_port}"
    args.peer_model_name = model.name
    return procs


def newest_model(folder: Path) -> Path:
    models = sorted(folder.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit(f"no trained model in {folder}: train the peer first (see --help)")
    return models[-1]


def create_database(name: str) -> None:
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def report(bots: list[Bot], samples: dict[str, list[str]]) -> None:
    print("| turn | turns | p50 ms | p95 ms | p99 ms | wrong answers |")
    print("|---|---:|---:|---:|---:|---:|")
    for bot in bots:
        for flow in (bot.plain, bot.action):
            lat = bot.latencies.get(flow.name, [])
            print(
                f"| {flow.name} | {len(lat)} | {percentile(lat, 0.5):.1f} | "
                f"{percentile(lat, 0.95):.1f} | {percentile(lat, 0.99):.1f} | "
                f"{bot.errors.get(flow.name, 0)} |"
            )
    for name, actions in samples.items():
        print(f"actions of the timed turn, {name}: {', '.join(actions) or '(none)'}")
    for bot in bots:
        for name, answer in bot.wrong.items():
            print(f"first wrong answer, {name}: {answer!r}")

    def p(bot: Bot, flow: Flow, q: float) -> float:
        return percentile(bot.latencies.get(flow.name, []), q)

    for bot in bots:
        print(
            f"{bot.name}: order-status turn / no-action turn: "
            f"p95 {p(bot, bot.action, 0.95) / p(bot, bot.plain, 0.95):.2f}x, "
            f"p50 {p(bot, bot.action, 0.5) / p(bot, bot.plain, 0.5):.2f}x"
            + (f" (target p95 <= {PLAIN_TARGET}x)" if bot is bots[0] else "")
        )
    if len(bots) == 2:
        ours, peer = bots
        print(
            f"OpsDesk order-status turn / the peer's: p95 "
            f"{p(ours, ours.action, 0.95) / p(peer, peer.action, 0.95):.2f}x, p50 "
            f"{p(ours, ours.action, 0.5) / p(peer, peer.action, 0.5):.2f}x "
            f"(target p95 <= {PEER_TARGET}x)"
        )


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=100, help="timed turns of each kind")
    parser.add_argument("--warmup", type=int, default=10, help="untimed rounds first")
    parser.add_argument("--model", help="OpsDesk's trained model (default: train if needed)")
    parser.add_argument("--peer", help="a trained RasaHQ/retail-demo checkout")
    parser.add_argument("--peer-model", help="the peer's model (default: newest in PATH/models)")
    parser.add_argument(
        "--peer-profile",
        choices=["default", "production"],
        default="default",
        help="the peer's stores: in memory as it ships, or PostgreSQL + Redis as OpsDesk's",
    )
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument(
        "--step-conversations",
        type=int,
        default=30,
        help="fresh conversations read back for the steps of each timed turn",
    )
    args = parser.parse_args()
    random.seed(args.seed)
    print(f"machine: {machine()}")
    model = Path(args.model).resolve() if args.model else cli.train()
    work = Path(tempfile.mkdtemp(prefix="opsdesk-bench-turn-cost-"))
    url, created = fresh_database("postgres", work, prefix="opsdesk_bench")
    peer_db = f"{created}_peer" if args.peer and args.peer_profile == "production" else None
    token = secrets.token_urlsafe(24)
    overrides = {
        "OPSDESK_VAR_DIR": str(work / "var"),
        "OPSDESK_DATABASE_URL": url,
        "OPSDESK_REDIS_URL": REDIS_URL,
        "OPSDESK_RASA_TOKEN": token,
        "OPSDESK_LOG_LEVEL": "warning",
        **{f"OPSDESK_{r}_KEY": secrets.token_urlsafe(24) for r in ("ADMIN", "SERVICE", "AGENT")},
    }
    procs: dict[str, Any] = {}
    peer_procs: list[Any] = []
    try:
        seed(overrides)
        ports = [free_port() for _ in range(3)]
        procs = cli.start_processes(
            *ports, env_overrides=overrides, log_dir=work / "logs", timeout=300, model=model
        )
        bots = [
            Bot("OpsDesk", f"http://127.0.0.1:{ports[1]}", token, OPSDESK_PLAIN, OPSDESK_ACTION)
        ]
        if args.peer:
            if peer_db:
                create_database(peer_db)
            peer_procs = start_peer(args, work, peer_db)
            bots.append(Bot("retail-demo", args.peer_url, None, PEER_PLAIN, PEER_ACTION))
        print(
            f"OpsDesk: model {model.name}, PostgreSQL ops data and tracker store, Redis lock "
            "store, REST channel straight to Rasa"
        )
        if args.peer:
            stores = "PostgreSQL + Redis" if peer_db else "in memory (as it ships)"
            print(f"retail-demo: model {args.peer_model_name}, tracker and lock store {stores}")
        print(f"{args.rounds} rounds after {args.warmup} warm-up rounds; load before: {load()}")
        with httpx.Client(timeout=60, trust_env=False) as client:
            run_rounds(client, bots, args.warmup, record=False)
            samples = {
                flow.name: timed_turn_actions(client, bot, converse(client, bot, flow, False))
                for bot in bots
                for flow in (bot.plain, bot.action)
            }
            run_rounds(client, bots, args.rounds, record=True)
            print(f"load after (1, 5, 15 min): {load()}")
            report(bots, samples)
            step_report(client, bots, args.step_conversations)
    finally:
        stack.stop_all(peer_procs)
        cli.stop_processes(procs)
        if created:
            drop_database(created)
        if peer_db:
            drop_database(peer_db)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
