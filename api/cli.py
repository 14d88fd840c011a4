"""The `opsdesk` command: set up, seed, serve, train, benchmark."""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

from api import stack
from api.settings import REPO_ROOT, get_settings

RASA_VENV = REPO_ROOT / ".venv-rasa"
RASA_BIN = RASA_VENV / "bin"
MODELS = REPO_ROOT / "models"
MODEL_NAME = "opsdesk"
# What the model is trained from (endpoints and credentials are not: they are read at run time).
TRAINING_INPUTS = ("bot/config.yml", "bot/domain", "data/nlu", "data/rules", "data/stories")
# Rasa 3.6's old stack is noisy at start-up; none of it is for the user.
QUIET_RASA_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "PYTHONWARNINGS": "ignore",
    "RASA_TELEMETRY_ENABLED": "false",
    "LOG_LEVEL_LIBRARIES": "ERROR",
}


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
            if path.is_file() and path.suffix in {".yml", ".yaml"}:
                digest.update(str(path.relative_to(REPO_ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def model_path() -> Path:
    return MODELS / f"{MODEL_NAME}.tar.gz"


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
    print("training the assistant (about 2 minutes) ...", flush=True)
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


def process_specs(
    api_port: int, rasa_port: int, actions_port: int
) -> dict[str, tuple[list[str], str]]:
    """name -> (command, readiness URL) for the three processes of OpsDesk."""
    return {
        "api": (
            [sys.executable, "-m", "api.cli", "api", "--port", str(api_port)],
            f"http://127.0.0.1:{api_port}/healthz",
        ),
        "actions": (
            [str(RASA_BIN / "python"), "-m", "rasa_sdk", "--actions", "actions",
             "--port", str(actions_port)],
            f"http://127.0.0.1:{actions_port}/health",
        ),
        "rasa": (
            [str(RASA_BIN / "rasa"), "run", "--enable-api", "--interface", "127.0.0.1",
             "--port", str(rasa_port), "--model", str(model_path()),
             "--endpoints", "bot/endpoints.yml", "--credentials", "bot/credentials.yml"],
            f"http://127.0.0.1:{rasa_port}/status",
        ),
    }  # fmt: skip


def start_processes(
    api_port: int = 8000,
    rasa_port: int = 5005,
    actions_port: int = 5055,
    *,
    env_overrides: dict[str, str] | None = None,
    log_dir: Path | None = None,
    timeout: float = 120.0,
) -> dict[str, stack.Process]:
    """Start api, actions and rasa; return once each answers (or raise, stopping them).
    `env_overrides` (OPSDESK_* variables) point all three at another database or var/."""
    settings = get_settings()
    env = {
        **os.environ,
        **QUIET_RASA_ENV,
        "OPSDESK_SERVICE_KEY": settings.service_key,
        "OPSDESK_VAR_DIR": str(settings.var_dir),
        "PYTHONPATH": str(REPO_ROOT),
        **(env_overrides or {}),
    }
    var_dir = Path(env["OPSDESK_VAR_DIR"])
    env.update(
        OPSDESK_API_URL=f"http://127.0.0.1:{api_port}",
        OPSDESK_ACTIONS_URL=f"http://127.0.0.1:{actions_port}/webhook",
        OPSDESK_RASA_URL=f"http://127.0.0.1:{rasa_port}",
        OPSDESK_RASA_TRACKER_DB=str(var_dir / "rasa" / "tracker.db"),
        # The action server listens on loopback only (rasa_sdk reads SANIC_HOST).
        SANIC_HOST="127.0.0.1",
    )
    (var_dir / "rasa").mkdir(parents=True, exist_ok=True)
    log_dir = log_dir or var_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    procs: dict[str, stack.Process] = {}
    specs = process_specs(api_port, rasa_port, actions_port)
    try:
        # All three start at once (rasa takes longest, loading its model); each has its own
        # process group, which stop_processes() ends as a whole, and which Ctrl-C in the
        # terminal does not reach: supervise() stops them.
        for name, (command, url) in specs.items():
            procs[name] = stack.start(
                command,
                cwd=REPO_ROOT,
                env=env,
                health_url=url,
                timeout=timeout,
                log_path=log_dir / f"{name}.log",
                append=True,
                new_session=True,
                name=name,
                wait=False,
            )
        try:
            stack.wait_all_healthy(procs.values(), timeout, interval=0.5)
        except stack.NotReady as exc:  # in the words `opsdesk up` has always used
            if exc.returncode is None:
                message = f"not ready after {timeout:.0f} s: {', '.join(exc.names)}"
            else:
                message = f"{exc.names[0]} exited at start; see {log_dir / exc.names[0]}.log"
            raise RuntimeError(message) from None
    except BaseException:
        stop_processes(procs)
        raise
    return procs


def stop_processes(procs: Mapping[str, stack.Process | subprocess.Popen]) -> None:
    """SIGTERM to each process's group, SIGKILL to those still there 10 s later."""
    stack.stop_all(procs.values(), grace=10)


def cmd_up(args: argparse.Namespace) -> int:
    from api.db import get_engine
    from api.seed import seed

    settings = get_settings()
    ensure_rasa_env()
    seed(get_engine(), settings)
    train()
    print("starting api, actions and rasa ...", flush=True)
    procs = start_processes(args.port, args.rasa_port, args.actions_port)
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
Ctrl-C stops all three."""
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
    p = agent_sub.add_parser("create", help="create a console account (agent or admin)")
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--role", choices=("agent", "admin"), default="agent")
    p.add_argument("--password", help="default: a generated one, printed once")
    p.set_defaults(func=cmd_agent_create)
    p = agent_sub.add_parser("unlock", help="lift a sign-in lock-out on an account or address")
    p.add_argument("--email", help="the account's email")
    p.add_argument("--address", help="the client address (as the audit log shows it)")
    p.set_defaults(func=cmd_agent_unlock)
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
