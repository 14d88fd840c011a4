"""api/stack.py on tiny real processes: readiness, failing fast, and stopping without leftovers."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from api import stack
from tests.conftest import alive, free_port

# Not listening for a moment, then 503 for a moment, then 200 on /healthz (404 elsewhere).
SLOW_SERVER = """
import http.server, sys, time
port, delay = int(sys.argv[1]), float(sys.argv[2])
print("starting", flush=True)
time.sleep(delay / 2)
ready_at = time.monotonic() + delay / 2

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/healthz":
            self.send_response(404)
        else:
            self.send_response(200 if time.monotonic() >= ready_at else 503)
        self.end_headers()

    def log_message(self, *args):
        pass

print("listening", flush=True)
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""
# A process that starts a child in its own process group and waits.
FAMILY = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(child.pid, flush=True)
time.sleep(120)
"""
STUBBORN = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ignoring SIGTERM", flush=True)
time.sleep(120)
"""


def gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def wait_for_line(path: Path, seconds: float = 20) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if lines:
            return lines[0]
        time.sleep(0.05)
    raise AssertionError(f"nothing in {path} after {seconds} s")


def python(code: str, *args: object) -> list[str]:
    return [sys.executable, "-c", code, *(str(a) for a in args)]


def test_start_returns_once_the_health_url_answers_200(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/healthz"
    with stack.start(
        python(SLOW_SERVER, port, 1.0),
        health_url=url,
        timeout=30,
        log_path=tmp_path / "server.log",
        name="server",
    ) as server:
        assert server.poll() is None
        assert stack.probe(url) == 200
        assert stack.probe(f"http://127.0.0.1:{port}/other") == 404
        assert "listening" in server.log_tail()
        pid = server.pid
    assert server.returncode is not None
    assert gone(pid)
    assert stack.probe(url) is None


def test_wait_all_healthy_waits_for_every_process(tmp_path: Path) -> None:
    ports = free_port(), free_port()
    servers = [
        stack.start(
            python(SLOW_SERVER, port, delay),
            health_url=f"http://127.0.0.1:{port}/healthz",
            log_path=tmp_path / f"{port}.log",
            name=f"server {port}",
            wait=False,
        )
        for port, delay in zip(ports, (0.2, 1.5), strict=True)
    ]
    try:
        stack.wait_all_healthy(servers, timeout=30)
        assert all(stack.probe(s.health_url or "") == 200 for s in servers)
    finally:
        stack.stop_all(servers)
    assert all(s.poll() is not None for s in servers)


def test_an_early_exit_fails_fast_with_the_end_of_its_log(tmp_path: Path) -> None:
    log = tmp_path / "api.log"
    log.write_text("a line from an earlier run\n")
    crash = "import sys; print('loading settings'); sys.exit('config error: no database url')"
    started = time.monotonic()
    with pytest.raises(stack.NotReady) as failure:
        stack.start(
            python(crash),
            health_url=f"http://127.0.0.1:{free_port()}/healthz",
            timeout=60,
            log_path=log,
            append=True,
            name="api",
        )
    assert time.monotonic() - started < 20  # not the 60 s timeout
    assert failure.value.names == ["api"] and failure.value.returncode == 1
    message = str(failure.value)
    assert message.startswith("api exited with status 1 before http://127.0.0.1:")
    assert "config error: no database url" in message and "loading settings" in message
    assert "a line from an earlier run" in log.read_text()  # appended to, not truncated


def test_wait_healthy_fails_fast_when_the_given_process_exits(tmp_path: Path) -> None:
    process = stack.start(python("print('bye')"), log_path=tmp_path / "out.log")
    url = f"http://127.0.0.1:{free_port()}/healthz"
    with pytest.raises(stack.NotReady, match="bye"):
        stack.wait_healthy(url, timeout=60, process=process)
    with pytest.raises(stack.NotReady, match=r"not ready after 0\.3 s"):
        stack.wait_healthy(url, timeout=0.3)  # no process: only the time limit


def test_no_answer_in_time_stops_the_process_and_shows_its_log(tmp_path: Path) -> None:
    silent = "import os, time; print(os.getpid(), flush=True); time.sleep(120)"
    with pytest.raises(stack.NotReady) as failure:
        stack.start(
            python(silent),
            health_url=f"http://127.0.0.1:{free_port()}/healthz",
            timeout=1,
            log_path=tmp_path / "silent.log",
            name="silent",
        )
    assert failure.value.returncode is None and failure.value.names == ["silent"]
    assert str(failure.value).startswith("not ready after 1 s: silent")
    pid = int(wait_for_line(tmp_path / "silent.log"))
    assert str(pid) in failure.value.log
    assert gone(pid)


def test_stop_ends_the_whole_process_group(tmp_path: Path) -> None:
    log = tmp_path / "family.log"
    family = stack.start(python(FAMILY), log_path=log, new_session=True)
    child = int(wait_for_line(log))
    assert family.group and alive(family.pid) and alive(child)
    assert family.stop() == -signal.SIGTERM
    assert gone(family.pid) and gone(child)


def test_stop_kills_what_ignores_sigterm_after_the_grace_period(tmp_path: Path) -> None:
    log = tmp_path / "stubborn.log"
    stubborn = stack.start(python(STUBBORN), log_path=log)
    wait_for_line(log)
    started = time.monotonic()
    assert stubborn.stop(grace=0.5) == -signal.SIGKILL
    assert 0.4 < time.monotonic() - started < 10
    assert gone(stubborn.pid)
    assert stubborn.stop() == -signal.SIGKILL  # stopping again is harmless


def test_stop_all_accepts_a_plain_popen_in_its_own_session(tmp_path: Path) -> None:
    log = tmp_path / "family.log"
    family = stack.start(python(FAMILY), log_path=log, new_session=True)
    child = int(wait_for_line(log))
    stack.stop_all([family.popen])  # its group is found from the pid
    assert gone(family.pid) and gone(child)
