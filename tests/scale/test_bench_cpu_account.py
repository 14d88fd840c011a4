"""The scale benchmark's CPU account (bench/bench_scale.py) against real processes: a process
group that burns CPU is counted by its kind, one that sleeps is not, and the machine's busy
time covers what they used."""

from __future__ import annotations

import subprocess
import sys
import time
from types import SimpleNamespace

from bench.bench_scale import CpuAccount, group_cpu, machine_cpu

# Waits for a line, burns 0.6 s of CPU, says so, then idles until it is killed.
BURN = (
    "import sys, time\nsys.stdin.readline()\nend = time.process_time() + 0.6\n"
    "while time.process_time() < end: pass\nprint('burnt', flush=True)\ntime.sleep(30)\n"
)


def start(code: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", code],
        start_new_session=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_the_cpu_account_counts_each_kind_of_process_by_its_group() -> None:
    burner, sleeper = start(BURN), start("import time; time.sleep(30)")
    try:
        procs = {
            "rasa-1": SimpleNamespace(pid=burner.pid, group=True),
            "api-1": SimpleNamespace(pid=sleeper.pid, group=True),
        }
        time.sleep(0.5)  # both have started (their start-up CPU is before the account)
        account = CpuAccount(procs)
        account.start()
        busy_before, _ = machine_cpu()
        burner.stdin.write("go\n")
        burner.stdin.flush()
        assert burner.stdout.readline().strip() == "burnt"
        account.stop()
        busy_after, _ = machine_cpu()
    finally:
        for proc in (burner, sleeper):
            proc.kill()
            proc.wait()

    assert 0.55 <= account.by_kind["rasa"] < 1.0  # its 0.6 s, counted in clock ticks
    assert account.by_kind["api"] < 0.05
    assert busy_after - busy_before >= account.by_kind["rasa"] * 0.9
    row = account.row("1", 10)
    assert row.startswith("| 1 | ") and row.count("|") == 10
    assert account.row("1", 0).startswith("| 1 |") and "no turns" in account.row("1", 0)


def test_a_group_that_has_ended_counts_nothing() -> None:
    done = start("pass")
    done.wait()
    assert group_cpu({done.pid}) == {done.pid: 0.0}
