"""The processes of OpsDesk and how they are started together (`opsdesk up`, the tests,
the benchmarks): per replica one Rasa server with its own action server, and one api process.

Replica i (counting from 0) listens on api_port + i, rasa_port + i and actions_port + i
(or on the ports given as lists). The first replica's processes are named `api`, `rasa`,
`actions`; the others `api-2`, `rasa-2`, `actions-2`, ...
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from api import rasa_profile, stack
from api.settings import REPO_ROOT, Settings, _load_or_create_secrets, get_settings

RASA_VENV = REPO_ROOT / ".venv-rasa"
RASA_BIN = RASA_VENV / "bin"
MODELS = REPO_ROOT / "models"
MODEL_NAME = "opsdesk"
RASA_SERVER = REPO_ROOT / "bot" / "rasa_server.py"
# Rasa 3.6's old stack is noisy at start-up; none of it is for the user.
QUIET_RASA_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "PYTHONWARNINGS": "ignore",
    "RASA_TELEMETRY_ENABLED": "false",
    "LOG_LEVEL_LIBRARIES": "ERROR",
}
Ports = int | Sequence[int]


def model_path() -> Path:
    return MODELS / f"{MODEL_NAME}.tar.gz"


def replica_name(kind: str, index: int) -> str:
    return kind if index == 0 else f"{kind}-{index + 1}"


def _ports(ports: Ports, replicas: int) -> list[int]:
    if isinstance(ports, int):
        return [ports + i for i in range(replicas)]
    if len(ports) != replicas:
        raise ValueError(f"{replicas} replicas need {replicas} ports, not {list(ports)}")
    return list(ports)


def process_specs(
    api_port: int,
    rasa_port: int,
    actions_port: int,
    endpoints: Path | None = None,
    index: int = 0,
    model: Path | None = None,
) -> dict[str, tuple[list[str], str]]:
    """name -> (command, readiness URL) for the three processes of one replica (Rasa with
    `model`, default models/opsdesk.tar.gz). Rasa's token is passed by start_processes (in
    the command, as `rasa run` takes it)."""
    endpoints_file = str(endpoints or "bot/endpoints.yml")
    return {
        replica_name("api", index): (
            [sys.executable, "-m", "api.cli", "api", "--port", str(api_port)],
            f"http://127.0.0.1:{api_port}/healthz",
        ),
        replica_name("actions", index): (
            [str(RASA_BIN / "python"), "-m", "rasa_sdk", "--actions", "actions",
             "--port", str(actions_port)],
            f"http://127.0.0.1:{actions_port}/health",
        ),
        replica_name("rasa", index): (
            # bot/rasa_server.py: Rasa's command line, action answers checked faster.
            [str(RASA_BIN / "python"), str(RASA_SERVER), "run", "--enable-api",
             "--interface", "127.0.0.1",
             "--port", str(rasa_port), "--model", str(model or model_path()),
             "--endpoints", endpoints_file, "--credentials", "bot/credentials.yml"],
            # `/`: /status wants Rasa's token; the model is loaded before the server answers.
            f"http://127.0.0.1:{rasa_port}/",
        ),
    }  # fmt: skip


def settings_for(env: Mapping[str, str]) -> Settings:
    """The settings the started processes will read from `env` (which may point at another
    database or var/ than this process's own)."""
    given = {k[len("OPSDESK_") :].lower(): v for k, v in env.items() if k.startswith("OPSDESK_")}
    return Settings.model_validate(given)


def start_processes(
    api_port: Ports = 8000,
    rasa_port: Ports = 5005,
    actions_port: Ports = 5055,
    *,
    env_overrides: dict[str, str] | None = None,
    log_dir: Path | None = None,
    timeout: float = 120.0,
    replicas: int | None = None,
    model: Path | None = None,
) -> dict[str, stack.Process]:
    """Start every replica's api, actions and rasa; return once each answers (or raise,
    stopping them). `env_overrides` (OPSDESK_* variables) point them at another database or
    var/; `replicas` defaults to OPSDESK_REPLICAS; `model` to models/opsdesk.tar.gz."""
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
    if not env.get("OPSDESK_RASA_TOKEN"):
        # Kept in that var/ (as every generated key) so the api and Rasa agree after a restart.
        env["OPSDESK_RASA_TOKEN"] = _load_or_create_secrets(var_dir)["rasa_token"]
    profile = settings_for(env)
    count = replicas or profile.replicas
    env["OPSDESK_REPLICAS"] = str(count)
    profile = settings_for(env)
    rasa_profile.check(profile)
    apis, rasas, actions = (_ports(p, count) for p in (api_port, rasa_port, actions_port))
    rasa_profile.ensure_tracker_database(profile)
    endpoints = rasa_profile.write_endpoints(profile, var_dir)
    env.update(rasa_profile.rasa_env(profile))
    env.update(
        OPSDESK_RASA_URL=f"http://127.0.0.1:{rasas[0]}",
        OPSDESK_RASA_URLS=",".join(f"http://127.0.0.1:{port}" for port in rasas),
        # The action server listens on loopback only (rasa_sdk reads SANIC_HOST).
        SANIC_HOST="127.0.0.1",
    )
    log_dir = log_dir or var_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    procs: dict[str, stack.Process] = {}
    try:
        # Everything starts at once, except that the other Rasa servers wait for the first:
        # it creates the tracker tables, which servers starting together would race for.
        later: list[tuple[str, list[str], str, dict[str, str]]] = []
        for i in range(count):
            own = {
                **env,
                "OPSDESK_API_URL": f"http://127.0.0.1:{apis[i]}",
                "OPSDESK_ACTIONS_URL": f"http://127.0.0.1:{actions[i]}/webhook",
            }
            for name, (command, url) in process_specs(
                apis[i], rasas[i], actions[i], endpoints, i, model
            ).items():
                if name.startswith("rasa"):
                    # One argument with "=": a token may begin with "-" (token_urlsafe).
                    command = [*command, f"--auth-token={env['OPSDESK_RASA_TOKEN']}"]
                    if i > 0:
                        later.append((name, command, url, own))
                        continue
                procs[name] = _start(name, command, url, own, log_dir, timeout)
        _wait(procs, timeout, log_dir, only=["rasa"] if later else None)
        for name, command, url, own in later:
            procs[name] = _start(name, command, url, own, log_dir, timeout)
        _wait(procs, timeout, log_dir)
    except BaseException:
        stop_processes(procs)
        raise
    return procs


def _start(
    name: str, command: list[str], url: str, env: dict[str, str], log_dir: Path, timeout: float
) -> stack.Process:
    # Each has its own process group, which stop_processes() ends as a whole, and which
    # Ctrl-C in the terminal does not reach: supervise() stops them.
    return stack.start(
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


def _wait(
    procs: dict[str, stack.Process], timeout: float, log_dir: Path, only: list[str] | None = None
) -> None:
    chosen = [p for n, p in procs.items() if only is None or n in only]
    try:
        stack.wait_all_healthy(chosen, timeout, interval=0.5)
    except stack.NotReady as exc:  # in the words `opsdesk up` has always used
        if exc.returncode is None:
            message = f"not ready after {timeout:.0f} s: {', '.join(exc.names)}"
        else:
            message = f"{exc.names[0]} exited at start; see {log_dir / exc.names[0]}.log"
        raise RuntimeError(message) from None


def stop_processes(procs: Mapping[str, stack.Process | subprocess.Popen]) -> None:
    """SIGTERM to each process's group, SIGKILL to those still there 10 s later."""
    stack.stop_all(procs.values(), grace=10)
