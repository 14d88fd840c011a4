"""The assistant's speed: training from scratch, `rasa run` start-up, NLU parse latency, and a
full conversation turn that calls an action and the ops API, beside a turn that calls no
action, in the same run.

    .venv/bin/opsdesk bench --only bot
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api import cli  # noqa: E402
from bench.common import HEADER, Result, machine, percentile  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
NO_ACTION = "hello there"  # answered by a response template, no action server call
# Answered by the stock action, which calls GET /products and GET /inventory on the ops API.
WITH_ACTION = "do you have the linen button-down shirt in M?"
PARSE_TEXTS = [
    "where is my order #10001",
    "i want to return the jeans they are too small",
    "do you have the puffer in olive size M",
    "how long does shipping to canada take",
    "can i cancel order 10007",
    "let me talk to a real person",
    "thanks bye",
]


def timed_training(out: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        cli.rasa_train_command(out, "bench"),
        cwd=REPO,
        # An empty training cache: otherwise Rasa reuses earlier components (not from scratch).
        env={**os.environ, **cli.QUIET_RASA_ENV, "RASA_CACHE_DIRECTORY": str(out / "cache")},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def measure(client: httpx.Client, name: str, n: int, send) -> Result:  # noqa: ANN001
    latencies, errors = [], 0
    started = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        response = send(client, i)
        latencies.append((time.perf_counter() - t) * 1000)
        if response.status_code != 200 or not response.json():
            errors += 1
    return Result(name, 1, n, errors, time.perf_counter() - started, latencies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--skip-training", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    cli.ensure_rasa_env()
    work = Path(tempfile.mkdtemp(prefix="opsdesk-bench-bot-"))
    if not args.skip_training:
        seconds = timed_training(work / "models")
        print(f"training from scratch (`rasa train`, NLU + dialogue): {seconds:.0f} s")
    model = cli.train()
    var = work / "var"
    token = secrets.token_urlsafe(24)  # Rasa's HTTP API (/model/parse) wants it
    overrides = {
        "OPSDESK_VAR_DIR": str(var),
        "OPSDESK_DATABASE_URL": f"sqlite:///{var / 'ops.db'}",
        "OPSDESK_RASA_TOKEN": token,
    }
    env = {**os.environ, **overrides}
    subprocess.run(
        [sys.executable, "-m", "api.cli", "seed"],
        cwd=REPO,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    started = time.perf_counter()
    procs = cli.start_processes(
        18100, 18105, 18155, env_overrides=overrides, log_dir=var / "logs", timeout=180
    )
    print(
        f"api + actions + rasa ready (`rasa run` with the model loaded) in "
        f"{time.perf_counter() - started:.1f} s; model {model.stat().st_size / 1e6:.0f} MB"
    )
    try:
        with httpx.Client(
            base_url="http://127.0.0.1:18105", params={"token": token}, timeout=30
        ) as c:
            for text in PARSE_TEXTS:  # warm up
                c.post("/model/parse", json={"text": text})
            parse = measure(
                c,
                "NLU parse (POST /model/parse)",
                args.turns,
                lambda cl, i: cl.post(
                    "/model/parse", json={"text": PARSE_TEXTS[i % len(PARSE_TEXTS)]}
                ),
            )

            def turn(text: str):  # noqa: ANN202
                return lambda cl, i: cl.post(
                    "/webhooks/rest/webhook",
                    json={"sender": f"bench-{uuid.uuid4().hex}", "message": text},
                )

            measure(c, "warm", 10, turn(WITH_ACTION))
            plain = measure(c, f'turn, no action: "{NO_ACTION}"', args.turns, turn(NO_ACTION))
            action = measure(
                c, f'turn, stock action + API: "{WITH_ACTION}"', args.turns, turn(WITH_ACTION)
            )
        print(HEADER)
        for result in (parse, plain, action):
            print(result.row())
        print(
            f"action turn minus plain turn at p50: "
            f"{percentile(action.latencies_ms, 0.5) - percentile(plain.latencies_ms, 0.5):.1f} ms"
        )
    finally:
        cli.stop_processes(procs)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
