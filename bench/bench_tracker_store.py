"""What Rasa's tracker store costs a turn, in process: Rasa's own SQLTrackerStore against
OpsDesk's (bot/tracker_store.py), alone and with the event classes looked up once
(bot/rasa_server.py), each on PostgreSQL with a RabbitMQ event broker, as in the production
profile.

The trained model is loaded once, with an action server for the session start (its API
unreachable, so it adds nothing about a returning customer); the same conversations
(no-action turns: greetings and thanks, answered from the domain's responses) are then
handled through each store in turn,
round after round, and the CPU time of each turn (the process's user + system time, so what
the store's driver and the broker's client do counts too) is printed: mean and median over
all turns, and over the first and the last five turns of each conversation (a longer
conversation is more to read back). Every turn's answer is checked. Its own database and
queue are created here and dropped afterwards.

    .venv/bin/opsdesk bench --only tracker_store -- --conversations 12 --turns 20

It runs in the Rasa environment (.venv-rasa); started from another Python it trains the model
when the training data changed (without `--model`) and starts itself again there.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import os
import secrets
import socket
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RASA_PYTHON = REPO / ".venv-rasa" / "bin" / "python"
PG_SERVER = os.environ.get(
    "OPSDESK_BENCH_PG_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres"
)
RABBITMQ_URL = os.environ.get("OPSDESK_BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
TURNS = ["hi there", "thanks", "hello", "thank you", "hey", "thanks a lot"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def in_rasa_env() -> bool:
    return importlib.util.find_spec("rasa") is not None


def rerun_in_rasa_env() -> None:
    sys.path.insert(0, str(REPO))
    from api import cli

    argv = sys.argv[1:]
    if "--model" not in argv:  # the current model, trained first when the data changed
        argv += ["--model", str(cli.train())]
    env = {**os.environ, **cli.QUIET_RASA_ENV, "PYTHONPATH": str(REPO)}
    os.execve(str(RASA_PYTHON), [str(RASA_PYTHON), __file__, *argv], env)


async def run(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(REPO))
    import aio_pika
    import sqlalchemy as sa
    from rasa.core.agent import Agent
    from rasa.core.brokers.pika import PikaEventBroker
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.core.lock_store import InMemoryLockStore
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.events import ActionExecuted, Event
    from rasa.utils.endpoints import EndpointConfig
    from rasa.utils.log_utils import configure_structlog

    from api import stack
    from bench.common import machine
    from bot import rasa_server
    from bot.tracker_store import OpsDeskTrackerStore

    logging.disable(logging.WARNING)
    configure_structlog(logging.WARNING)
    print(f"machine: {machine()}")
    model = Path(args.model)
    if not model.exists():
        raise SystemExit(f"{model} not found: train first (.venv/bin/opsdesk train)")
    url = sa.engine.make_url(PG_SERVER)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"opsdesk_bench_tracker_{secrets.token_hex(4)}"
    queue = f"opsdesk_bench_tracker_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    rasa_lookup = Event.resolve_by_type
    actions_port, closed_port = free_port(), free_port()
    actions = stack.start(
        [str(RASA_PYTHON), "-m", "rasa_sdk", "--actions", "actions", "--port", str(actions_port)],
        env={
            **os.environ,
            "OPSDESK_API_URL": f"http://127.0.0.1:{closed_port}",
            "OPSDESK_SERVICE_KEY": secrets.token_urlsafe(16),
        },
        cwd=REPO,
        health_url=f"http://127.0.0.1:{actions_port}/health",
        timeout=120,
        name="actions",
    )
    try:
        started = time.perf_counter()
        agent = Agent.load(
            str(model),
            lock_store=InMemoryLockStore(),
            action_endpoint=EndpointConfig(f"http://127.0.0.1:{actions_port}/webhook"),
        )
        print(f"model {model.name} loaded in {time.perf_counter() - started:.0f} s")
        broker = PikaEventBroker(
            host=url.host or "127.0.0.1", username="guest", password="guest", queues=[queue]
        )
        await broker.connect()
        variants: list[tuple[str, Any, bool]] = [
            ("Rasa's SQLTrackerStore", SQLTrackerStore, False),
            ("OpsDesk's store", OpsDeskTrackerStore, False),
            ("OpsDesk's store + event classes kept", OpsDeskTrackerStore, True),
        ]
        cpu: dict[str, list[tuple[int, float]]] = {label: [] for label, _, _ in variants}
        fallbacks = 0
        for round_ in range(args.rounds):
            for label, store_class, keep_classes in variants:
                Event.resolve_by_type = staticmethod(rasa_lookup)  # type: ignore[method-assign]
                if keep_classes:
                    rasa_server.install_event_type_cache()
                store = store_class(
                    domain=agent.domain,
                    dialect="postgresql",
                    host=url.host,
                    port=url.port,
                    username=url.username,
                    db=name,
                    event_broker=broker,
                )
                agent.tracker_store = store
                agent.processor.tracker_store = store
                for conversation in range(args.conversations):
                    sender = f"bench-{round_}-{label[:6]}-{conversation}-{secrets.token_hex(3)}"
                    for turn in range(args.turns):
                        text = TURNS[(turn + conversation) % len(TURNS)]
                        before = time.process_time()
                        answer = await agent.handle_message(
                            UserMessage(text, CollectingOutputChannel(), sender)
                        )
                        cpu[label].append((turn, (time.process_time() - before) * 1000))
                        if not answer or not answer[0].get("text"):
                            raise SystemExit(f"no answer to {text!r} ({label}): {answer}")
                    tracker = await store.retrieve_full_tracker(sender)
                    fallbacks += sum(
                        1
                        for e in (tracker.events if tracker else [])
                        if isinstance(e, ActionExecuted) and e.action_name == "action_fallback"
                    )
        await broker.close()
        print(
            f"PostgreSQL tracker store, RabbitMQ event broker; {args.rounds} rounds of "
            f"{args.conversations} conversations of {args.turns} turns through each store"
        )
        last = f"turns {args.turns - 4}-{args.turns}"
        print(f"| store | turns | CPU ms mean | median | turns 1-5 | {last} |")
        print("|---|---:|---:|---:|---:|---:|")
        for label, per in cpu.items():
            values = [ms for _, ms in per]
            first = [ms for turn, ms in per if turn < 5]
            tail = [ms for turn, ms in per if turn >= args.turns - 5]
            print(
                f"| {label} | {len(values)} | {statistics.fmean(values):.1f} | "
                f"{statistics.median(values):.1f} | {statistics.fmean(first):.1f} | "
                f"{statistics.fmean(tail):.1f} |"
            )
        print(f"turns the assistant was unsure of (asked again): {fallbacks}")
    finally:
        Event.resolve_by_type = staticmethod(rasa_lookup)  # type: ignore[method-assign]
        actions.stop()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        connection = await aio_pika.connect(RABBITMQ_URL)
        channel = await connection.channel()
        await channel.queue_delete(queue)
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=str(REPO / "models" / "opsdesk.tar.gz"))
    parser.add_argument("--conversations", type=int, default=12)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if not in_rasa_env():
        rerun_in_rasa_env()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
