"""Helpers shared by the benchmarks: machine facts, latency statistics, a closed-loop load
generator over keep-alive HTTP connections."""

from __future__ import annotations

import http.client
import json
import os
import platform
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def machine() -> str:
    cpu, mem = "unknown cpu", ""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(ln for ln in cpuinfo if ln.startswith("model name")).split(":", 1)[1].strip()
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        kb = int(next(ln for ln in meminfo if ln.startswith("MemTotal")).split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{mem}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}"
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


@dataclass
class Result:
    name: str
    clients: int
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def row(self) -> str:
        lat = self.latencies_ms
        return (
            f"| {self.name} | {self.clients} | {self.throughput:,.0f} | "
            f"{percentile(lat, 0.5):.2f} | {percentile(lat, 0.95):.2f} | "
            f"{percentile(lat, 0.99):.2f} | {self.errors} |"
        )


HEADER = (
    "| endpoint | clients | req/s | p50 ms | p95 ms | p99 ms | errors |\n"
    "|---|---:|---:|---:|---:|---:|---:|"
)

Request = tuple[str, str, bytes | None]  # method, path, body


def run_load(
    host: str,
    port: int,
    headers: dict[str, str],
    make_request: Callable[[int], Request],
    *,
    clients: int,
    requests_per_client: int,
    name: str,
    expect: int = 200,
) -> Result:
    """Each client sends its requests back to back on one keep-alive connection."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    barrier = threading.Barrier(clients + 1)

    def client(idx: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        barrier.wait()
        for i in range(requests_per_client):
            method, path, body = make_request(idx * requests_per_client + i)
            started = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            latencies[idx].append((time.perf_counter() - started) * 1000)
            if response.status != expect:
                errors[idx] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    flat = [x for per in latencies for x in per]
    return Result(name, clients, len(flat), sum(errors), elapsed, flat)


def json_body(payload: dict) -> bytes:
    return json.dumps(payload).encode()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
