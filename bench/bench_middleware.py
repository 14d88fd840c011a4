"""What the api's middleware costs per request: the constant `GET /api/v1/ping` served by this
checkout, and optionally by another one (`--baseline DIR`, e.g. an older commit unpacked with
`git archive`), in interleaved short runs so that load from other work on the machine falls
on both alike. Prints the median over the runs of each run's p50, p95 and req/s, and of the
api process's own CPU time per request (from /proc: what other processes on a busy machine
do to wall-clock figures, they do much less to it).

    .venv/bin/python bench/bench_middleware.py --runs 15 --requests 2000
    git archive 688e265 | tar -x -C /tmp/before
    .venv/bin/python bench/bench_middleware.py --baseline /tmp/before
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api import stack  # noqa: E402
from bench.common import machine, median, percentile, run_load  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_api(checkout: Path, workdir: Path) -> tuple[stack.Process, int]:
    """One api process of `checkout` on its own empty SQLite file (ping reads nothing)."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "OPSDESK_DATABASE_URL": f"sqlite:///{workdir / 'ops.db'}",
        "OPSDESK_VAR_DIR": str(workdir / "var"),
        "OPSDESK_ADMIN_KEY": secrets.token_urlsafe(24),
        "OPSDESK_SERVICE_KEY": secrets.token_urlsafe(24),
        "OPSDESK_AGENT_KEY": secrets.token_urlsafe(24),
        "OPSDESK_LOG_LEVEL": "info",
        "PYTHONPATH": str(checkout),
    }
    subprocess.run(
        [sys.executable, "-m", "api.cli", "migrate"],
        cwd=checkout,
        env=env,
        check=True,
        capture_output=True,
    )
    port = free_port()
    api = stack.start(
        [sys.executable, "-m", "api.cli", "api", "--port", str(port)],
        cwd=checkout,
        env=env,
        log_path=workdir / "api.log",
        health_url=f"http://127.0.0.1:{port}/api/v1/ping",
        timeout=60,
        name=f"api of {checkout}",
    )
    return api, port


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--requests", type=int, default=2000, help="per run")
    parser.add_argument("--clients", type=int, default=1)
    args = parser.parse_args()

    checkouts = {"this checkout": REPO}
    if args.baseline:
        checkouts = {"baseline": args.baseline.resolve(), **checkouts}
    print(f"machine: {machine()}")
    print(
        f"GET /api/v1/ping, {args.clients} client(s), {args.runs} interleaved runs of "
        f"{args.requests} requests each, one uvicorn worker per checkout"
    )
    with tempfile.TemporaryDirectory(prefix="opsdesk-bench-mw-") as tmp:
        servers = {
            name: start_api(path, Path(tmp) / name.replace(" ", "-"))
            for name, path in checkouts.items()
        }
        try:
            figures: dict[str, dict[str, list[float]]] = {
                name: {"p50": [], "p95": [], "rps": [], "cpu": []} for name in servers
            }
            for name, (_proc, port) in servers.items():  # warm up
                run_load("127.0.0.1", port, {}, _ping, clients=args.clients,
                         requests_per_client=300, name=name)  # fmt: skip
            for _ in range(args.runs):
                for name, (proc, port) in servers.items():
                    cpu_before = cpu_seconds(proc.pid)
                    result = run_load(
                        "127.0.0.1",
                        port,
                        {},
                        _ping,
                        clients=args.clients,
                        requests_per_client=args.requests // args.clients,
                        name=name,
                    )
                    if result.errors:
                        raise RuntimeError(f"{name}: {result.errors} requests failed")
                    figures[name]["p50"].append(percentile(result.latencies_ms, 0.5))
                    figures[name]["p95"].append(percentile(result.latencies_ms, 0.95))
                    figures[name]["rps"].append(result.throughput)
                    cpu = cpu_seconds(proc.pid) - cpu_before
                    figures[name]["cpu"].append(cpu / result.requests * 1e6)
        finally:
            stack.stop_all(proc for proc, _port in servers.values())
    print("| checkout | p50 ms | p95 ms | req/s | api CPU µs per request |")
    print("|---|---:|---:|---:|---:|")
    for name, f in figures.items():
        print(f"| {name} | {median(f['p50']):.3f} | {median(f['p95']):.3f} | "
              f"{median(f['rps']):,.0f} | {median(f['cpu']):.0f} |")  # fmt: skip


def _ping(_i: int) -> tuple[str, str, None]:
    return "GET", "/api/v1/ping", None


if __name__ == "__main__":
    main()
