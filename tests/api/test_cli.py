"""The process supervisor behind `opsdesk up`: it never leaves its processes behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.conftest import REPO, alive

SUPERVISOR = """
import subprocess, sys
from api.stack import supervise
children = {
    name: subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True
    )
    for name in ("api", "actions")
}
pids = " ".join(str(p.pid) for p in children.values())
sys.exit(supervise(children, on_ready=lambda: print(pids, flush=True)))
"""


def start_supervisor() -> tuple[subprocess.Popen, list[int]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert len(pids) == 2 and all(alive(p) for p in pids)
    return proc, pids


def wait_gone(pids: list[int], seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids):
            return True
        time.sleep(0.1)
    return False


def test_sigterm_stops_every_process() -> None:
    proc, pids = start_supervisor()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    assert wait_gone(pids)


def test_one_process_dying_stops_the_others() -> None:
    proc, pids = start_supervisor()
    os.kill(pids[0], signal.SIGKILL)
    assert proc.wait(20) == 1
    assert wait_gone(pids)
