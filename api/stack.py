"""Start a process (the api, the action server, rasa, ...) and wait until its health URL answers.

    with stack.start(cmd, env=env, cwd=REPO, health_url=f"{base}/healthz", timeout=90,
                     log_path=var / "api.log") as api:
        ...  # api answered 200; it is stopped (terminate, then kill) when the block ends

`start()` returns a `Process`: its Popen, its log file, `wait_healthy()` and `stop()`. Waiting
fails fast, with the last lines of the log, when the process exits before it answers.
For several processes: `wait_all_healthy()` waits for all of them (started with `wait=False`)
at once, `stop_all()` asks all of them to end before waiting for any, and `supervise()` keeps
them in the foreground until one exits or a stop is asked for (`opsdesk up`).

Only the standard library: the action tests use this module from the Rasa venv, which has no
httpx. Health checks go straight to the URL, never through a proxy from the environment.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

TAIL_LINES = 40
# Loopback health checks: no proxy, whatever http_proxy says.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class NotReady(RuntimeError):
    """A process exited, or did not answer its health URL in time."""

    def __init__(self, what: str, *, names: list[str], returncode: int | None, log: str) -> None:
        super().__init__(f"{what}\n{log}" if log else what)
        self.names = names  # the one that exited, or every one that had not answered
        self.returncode = returncode  # None: the time was up
        self.log = log  # the last lines of their logs


class Process:
    """A started process: its Popen, where its output goes, and how to tell it is ready."""

    def __init__(
        self,
        popen: subprocess.Popen,
        *,
        name: str | None = None,
        health_url: str | None = None,
        timeout: float = 60.0,
        log_path: Path | None = None,
        group: bool | None = None,
    ) -> None:
        self.popen = popen
        self.name = name or _short(popen.args)
        self.health_url = health_url
        self.timeout = timeout
        self.log_path = log_path
        # Whether the process leads its own process group (start_new_session): then stop()
        # signals the whole group, so the children it started go too.
        self.group = _leads_group(popen.pid) if group is None else group

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    def poll(self) -> int | None:
        """None while the process runs, else its exit status (as Popen.poll)."""
        return self.popen.poll()

    def log_tail(self, lines: int = TAIL_LINES) -> str:
        """The last `lines` lines of the log ('' when the output is not kept or is empty)."""
        if self.log_path is None:
            return ""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, f.seek(0, os.SEEK_END) - 64 * 1024))
                text = f.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_healthy(self, timeout: float | None = None, interval: float = 0.2) -> Process:
        """Return once the health URL answers 200; raise NotReady (the process keeps running)
        when the process exits first or `timeout` (default: the one given to start) passes."""
        wait_all_healthy([self], self.timeout if timeout is None else timeout, interval)
        return self

    def send_signal(self, sig: int) -> None:
        """Signal the process, or its whole group when it leads one; a no-op once it ended."""
        if self.popen.poll() is not None:
            return
        if self.group:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
        else:
            self.popen.send_signal(sig)

    def stop(self, grace: float = 10.0) -> int:
        """SIGTERM, and SIGKILL if the process is still there after `grace` seconds. Returns
        the exit status."""
        stop_all([self], grace)
        return self.popen.wait()

    def __enter__(self) -> Process:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Process {self.name} pid={self.pid} returncode={self.returncode}>"


def start(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    health_url: str | None = None,
    timeout: float = 60.0,
    log_path: Path | None = None,
    append: bool = False,
    new_session: bool = False,
    name: str | None = None,
    wait: bool = True,
    interval: float = 0.2,
) -> Process:
    """Start `cmd` with stdout and stderr in `log_path` (truncated, or appended to with
    `append`; discarded without a log_path). With a `health_url` and `wait`, return only once
    it answers 200; if it does not, the process is stopped and NotReady raised, with the last
    lines of the log. `new_session` gives the process its own session and process group, which
    stop() then ends as a whole (and Ctrl-C in the terminal does not reach)."""
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab" if append else "wb") as log:
            popen = subprocess.Popen(
                list(cmd),
                cwd=cwd,
                env=None if env is None else dict(env),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=new_session,
            )
    else:
        popen = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=None if env is None else dict(env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=new_session,
        )
    process = Process(
        popen,
        name=name,
        health_url=health_url,
        timeout=timeout,
        log_path=log_path,
        group=new_session,
    )
    if health_url is not None and wait:
        try:
            process.wait_healthy(interval=interval)
        except BaseException:
            process.stop()
            raise
    return process


def probe(url: str, timeout: float = 1.0) -> int | None:
    """The HTTP status `url` answers with, or None when nothing answers."""
    try:
        with _OPENER.open(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, http.client.HTTPException):
        return None


def wait_healthy(
    url: str, timeout: float, process: Process | None = None, interval: float = 0.2
) -> None:
    """Return once `url` answers 200; raise NotReady when `timeout` seconds pass or, given
    the `process` that should answer, as soon as it exits (with the last lines of its log)."""
    _wait([(url if process is None else process.name, url, process)], timeout, interval)


def wait_all_healthy(processes: Iterable[Process], timeout: float, interval: float = 0.2) -> None:
    """Wait for every process's health URL at once, within one `timeout`; NotReady names the
    first that exited or, when the time is up, the ones that have not answered."""
    pending: list[tuple[str, str, Process | None]] = []
    for process in processes:
        if process.health_url is None:
            raise ValueError(f"{process.name} has no health URL to wait for")
        pending.append((process.name, process.health_url, process))
    _wait(pending, timeout, interval)


def _wait(pending: list[tuple[str, str, Process | None]], timeout: float, interval: float) -> None:
    """Probe each (name, url, process) until all answer 200, failing fast on an exit."""
    deadline = time.monotonic() + timeout
    while pending:
        for name, url, process in pending:
            if process is not None and process.poll() is not None:
                raise NotReady(
                    f"{name} exited with status {process.returncode} before {url} answered",
                    names=[name],
                    returncode=process.returncode,
                    log=_log_section(process),
                )
        pending = [entry for entry in pending if probe(entry[1]) != 200]
        if not pending:
            return
        if time.monotonic() > deadline:
            names = ", ".join(name for name, _u, _p in pending)
            urls = ", ".join(url for _n, url, _p in pending)
            raise NotReady(
                f"not ready after {timeout:g} s: {names} (no 200 from {urls})",
                names=[name for name, _u, _p in pending],
                returncode=None,
                log="\n".join(_log_section(p) for _n, _u, p in pending if p is not None),
            )
        time.sleep(interval)


def stop_all(processes: Iterable[Process | subprocess.Popen], grace: float = 10.0) -> None:
    """Ask every process to end (SIGTERM, to its group when it leads one), give them `grace`
    seconds together, then SIGKILL whichever is left."""
    procs = [p if isinstance(p, Process) else Process(p) for p in processes]
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.popen.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.popen.wait()


def supervise(
    procs: Mapping[str, Process | subprocess.Popen],
    on_ready: Callable[[], None] | None = None,
    grace: float = 10.0,
) -> int:
    """Wait while all of `procs` run; stop them all on Ctrl-C, on SIGTERM (a service manager,
    `kill`) or when one of them exits. 0 after a stop request, 1 when a process died.
    `on_ready` runs once the signal handling is in place. Call it from the main thread."""

    def _terminate(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        if on_ready:
            on_ready()
        while all(p.poll() is None for p in procs.values()):
            time.sleep(0.5)
        dead = [n for n, p in procs.items() if p.poll() is not None]
        print(f"stopped: {', '.join(dead)} exited; see the logs", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    finally:
        stop_all(procs.values(), grace)
        signal.signal(signal.SIGTERM, previous)


def _log_section(process: Process) -> str:
    if process.log_path is None:
        return f"({process.name}'s output was not kept)"
    tail = process.log_tail()
    if not tail:
        return f"({process.log_path} is empty)"
    return f"--- last lines of {process.log_path} ---\n{tail}"


def _leads_group(pid: int) -> bool:
    try:
        return os.getpgid(pid) == pid
    except ProcessLookupError:
        return False


def _short(args: object) -> str:
    text = shlex.join(str(a) for a in args) if isinstance(args, list | tuple) else str(args)
    return text if len(text) <= 60 else text[:57] + "..."
