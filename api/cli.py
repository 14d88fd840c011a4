"""The `opsdesk` command: set up, seed, serve, train, benchmark."""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from api import stack
from api.launch import (
    MODEL_NAME,
    MODELS,
    QUIET_RASA_ENV,
    RASA_BIN,
    RASA_VENV,
    model_path,
    process_specs,
    start_processes,
    stop_processes,
)
from api.ops.auth.roles import CONSOLE_ROLES, KEY_ROLES
from api.rasa_profile import ProfileError
from api.rasa_profile import check as check_profile
from api.settings import REPO_ROOT, get_settings

__all__ = [
    "MODELS",
    "MODEL_NAME",
    "QUIET_RASA_ENV",
    "RASA_BIN",
    "RASA_VENV",
    "model_path",
    "process_specs",
    "start_processes",
    "stop_processes",
]

# What the model is trained from (endpoints and credentials are not: they are read at run time).
TRAINING_INPUTS = (
    "bot/config.yml",
    "bot/nlu_ensemble.py",  # a pipeline component: a change retrains
    "bot/domain",
    "data/nlu",
    "data/rules",
    "data/stories",
)


KEEP_ALIVE_SECONDS = 75


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app
    from api.observability import configure_logging

    settings = get_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    uvicorn.run(
        create_app(),
        host=args.host,
        port=args.port,
        access_log=False,  # the api writes its own access line (api/middleware.py)
        log_config=None,  # uvicorn's loggers go through the handler configured above
        log_level=settings.log_level,
        timeout_graceful_shutdown=2,
        # Longer than any client's or balancer's idle keep-alive (httpx 5 s, nginx 60 s):
        # with uvicorn's 5 s a client could send on a connection the api was closing that
        # very moment and get a reset instead of an answer.
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    return 0


def cmd_migrate(_args: argparse.Namespace) -> int:
    from api.db import get_engine
    from api.migrate import upgrade

    upgrade(get_engine())
    print("database is at the newest schema")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from api.db import get_engine
    from api.seed import seed

    seed(
        get_engine(),
        get_settings(),
        orders=args.orders,
        with_returns_history=args.returns_history,
    )
    return 0


def parse_duration(text: str) -> timedelta:
    """'90s', '15m', '24h', '7d'; a bare number is hours."""
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    value, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "h")
    try:
        duration = timedelta(**{units[unit]: float(value)})
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(
            f"not a duration: {text!r} (e.g. 90s, 15m, 24h, 7d)"
        ) from None
    if duration < timedelta(0):
        raise argparse.ArgumentTypeError("a duration cannot be negative")
    return duration


def cmd_prune(args: argparse.Namespace) -> int:
    from api.db import get_engine
    from api.retention import prune_expired

    counts = prune_expired(get_engine(), get_settings(), idempotency_older_than=args.older_than)
    print(
        f"pruned {counts['idempotency_records']} idempotency records and "
        f"{counts['verification_buckets']} expired verification buckets"
    )
    return 0


def cmd_agent_create(args: argparse.Namespace) -> int:
    """Create a console account; a password is generated (and shown once) unless given."""
    import secrets

    from sqlalchemy.orm import Session

    from api.console import accounts
    from api.db import get_engine
    from api.migrate import upgrade

    engine = get_engine()
    upgrade(engine)
    password = args.password or secrets.token_urlsafe(12)
    with Session(engine) as db:
        try:
            agent = accounts.create_agent(
                db_session=db, email=args.email, name=args.name, role=args.role, password=password
            )
        except ValueError as exc:
            print(f"not created: {exc}", file=sys.stderr)
            return 1
        db.commit()
        print(f"created {agent.role} {agent.email} ({agent.name})")
    if not args.password:
        print(f"password (shown once): {password}")
    return 0


def cmd_key_create(args: argparse.Namespace) -> int:
    """Create an API key for a role (e.g. the operations lead's reporting tools); printed once,
    only its hash is kept."""
    from sqlalchemy.orm import Session

    from api.db import get_engine
    from api.migrate import upgrade
    from api.ops.auth.service import create_key

    engine = get_engine()
    upgrade(engine)
    with Session(engine) as db:
        try:
            key = create_key(db_session=db, name=args.name, role=args.role)
        except ValueError as exc:
            print(f"not created: {exc}", file=sys.stderr)
            return 1
        db.commit()
    print(f"created a {args.role} key named {args.name}")
    print(f"key (shown once): {key}")
    return 0


def cmd_agent_unlock(args: argparse.Namespace) -> int:
    """Lift a sign-in lock-out before it ends by itself."""
    from sqlalchemy.orm import Session

    from api.console import accounts
    from api.db import get_engine

    with Session(get_engine()) as db:
        try:
            forgotten = accounts.clear_failures(
                db_session=db, email=args.email, address=args.address
            )
        except ValueError as exc:
            print(f"not unlocked: {exc}", file=sys.stderr)
            return 2
        db.commit()
    print(f"unlocked: {forgotten} failed sign-in{'s' if forgotten != 1 else ''} forgotten")
    return 0


def ensure_rasa_env() -> None:
    """Create or update .venv-rasa from the pinned list (a no-op when it is current)."""
    subprocess.run(["bash", str(REPO_ROOT / "scripts" / "setup-rasa-venv.sh")], check=True)


def training_fingerprint() -> str:
    digest = hashlib.sha256()
    for top in TRAINING_INPUTS:
        root = REPO_ROOT / top
        for path in [root] if root.is_file() else sorted(root.rglob("*")):
            if path.is_file() and path.suffix in {".yml", ".yaml", ".py"}:
                digest.update(str(path.relative_to(REPO_ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def rasa_train_command(out: Path, name: str) -> list[str]:
    """`rasa train` on the project's domain, config and training data."""
    return [
        str(RASA_BIN / "rasa"), "train", "--domain", "bot/domain", "--config", "bot/config.yml",
        "--data", "data/nlu", "data/rules", "data/stories",
        "--out", str(out), "--fixed-model-name", name, "--quiet",
    ]  # fmt: skip


def train(force: bool = False) -> Path:
    """Train the Rasa model unless the newest one was trained from the same data and config."""
    fingerprint = training_fingerprint()
    stamp = MODELS / f"{MODEL_NAME}.fingerprint"
    if not force and model_path().exists() and stamp.exists() and stamp.read_text() == fingerprint:
        print(f"model is current: {model_path().relative_to(REPO_ROOT)}")
        return model_path()
    ensure_rasa_env()
    print("training the assistant (about 3 minutes) ...", flush=True)
    started = time.perf_counter()
    subprocess.run(
        rasa_train_command(MODELS, MODEL_NAME),
        cwd=REPO_ROOT,
        env={**os.environ, **QUIET_RASA_ENV},
        check=True,
    )
    stamp.write_text(fingerprint)
    print(
        f"trained in {time.perf_counter() - started:.0f} s: {model_path().relative_to(REPO_ROOT)}"
    )
    return model_path()


def cmd_train(args: argparse.Namespace) -> int:
    train(force=args.force)
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from api.db import get_engine
    from api.seed import seed

    settings = get_settings()
    replicas = args.replicas or settings.replicas
    try:  # before anything is installed, seeded or trained
        check_profile(settings.model_copy(update={"replicas": replicas}))
    except ProfileError as exc:
        print(f"not started: {exc}", file=sys.stderr)
        return 2
    ensure_rasa_env()
    seed(get_engine(), settings)
    train()
    print(f"starting api, actions and rasa ({replicas} of each) ...", flush=True)
    try:
        procs = start_processes(args.port, args.rasa_port, args.actions_port, replicas=replicas)
    except ProfileError as exc:
        print(f"not started: {exc}", file=sys.stderr)
        return 2
    base = f"http://127.0.0.1:{args.port}"
    banner = f"""
OpsDesk is running.
  storefront     {base}/   (the demo shop: open the chat and ask "where is my order 10001?")
  ops API        {base}/docs   (admin key in {settings.var_dir / "secrets.json"})
  REST channel   {base}/webhooks/rest/webhook   (Rasa's REST shape, through the hub)
  website chat   {base}/socket.io/   (Rasa's socket.io protocol)
  agent console  {base}/console   (alex@fernhill.example; passwords in secrets.json)
  conversations  {base}/api/v1/conversations   (agent replies: POST .../{{id}}/messages)
  logs           {settings.var_dir / "logs"}
Try: curl -s -XPOST {base}/webhooks/rest/webhook \\
       -d '{{"sender": "me", "message": "where is my order #10001? jane.doe@example.com"}}'
Ctrl-C stops them all."""
    return stack.supervise(procs, on_ready=lambda: print(banner, flush=True))


def cmd_bench(args: argparse.Namespace) -> int:
    bench_dir = REPO_ROOT / "bench"
    scripts = sorted(bench_dir.glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if args.only in s.name]
    status = 0
    for script in scripts:
        print(f"== {script.name}", flush=True)
        result = subprocess.run([sys.executable, str(script), *args.extra], cwd=REPO_ROOT)
        status = status or result.returncode
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opsdesk", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("up", help="set up and start api, actions and rasa")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--rasa-port", type=int, default=5005)
    p.add_argument("--actions-port", type=int, default=5055)
    p.add_argument(
        "--replicas",
        type=int,
        choices=range(1, 17),
        metavar="N",
        help="Rasa servers (each with its action server) and api processes, on consecutive "
        "ports (default: OPSDESK_REPLICAS, 1); more than one needs PostgreSQL and Redis",
    )
    p.set_defaults(func=cmd_up)
    p = sub.add_parser("api", help="serve the api process only")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=cmd_api)
    p = sub.add_parser("seed", help="migrate and load the demo store")
    p.add_argument("--orders", type=int, default=0, help="also generate N more orders")
    p.add_argument(
        "--returns-history",
        action="store_true",
        help="also load a month of orders and returns with known patterns (returns report)",
    )
    p.set_defaults(func=cmd_seed)
    p = sub.add_parser(
        "prune", help="delete idempotency records and verification buckets past their window"
    )
    p.add_argument(
        "--older-than",
        type=parse_duration,
        help="idempotency records older than this (90s, 15m, 24h, 7d; default: "
        "OPSDESK_IDEMPOTENCY_RETENTION_HOURS); verification buckets always after their window",
    )
    p.set_defaults(func=cmd_prune)
    p = sub.add_parser("migrate", help="bring the database to the newest schema")
    p.set_defaults(func=cmd_migrate)
    p = sub.add_parser("agent", help="console accounts")
    agent_sub = p.add_subparsers(dest="agent_command", required=True)
    p = agent_sub.add_parser("create", help="create a console account (agent, lead or admin)")
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--role", choices=CONSOLE_ROLES, default="agent")
    p.add_argument("--password", help="default: a generated one, printed once")
    p.set_defaults(func=cmd_agent_create)
    p = agent_sub.add_parser("unlock", help="lift a sign-in lock-out on an account or address")
    p.add_argument("--email", help="the account's email")
    p.add_argument("--address", help="the client address (as the audit log shows it)")
    p.set_defaults(func=cmd_agent_unlock)
    p = sub.add_parser("key", help="API keys")
    key_sub = p.add_subparsers(dest="key_command", required=True)
    p = key_sub.add_parser("create", help="create an API key (printed once)")
    p.add_argument("--name", required=True, help="whose key, as the audit log shows it")
    p.add_argument("--role", choices=KEY_ROLES, required=True)
    p.set_defaults(func=cmd_key_create)
    p = sub.add_parser("train", help="train the Rasa model into models/")
    p.add_argument("--force", action="store_true", help="train even when nothing changed")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("bench", help="run the benchmarks in bench/")
    p.add_argument("--only", help="run only scripts whose name contains this")
    p.add_argument("extra", nargs="*", help="arguments passed to every benchmark")
    p.set_defaults(func=cmd_bench)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
