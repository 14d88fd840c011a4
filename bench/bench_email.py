"""The email channel end to end on loopback: a real api process (SQLite or PostgreSQL) whose
mailbox is a local dovecot and whose relay is a local aiosmtpd server (tests/fakes/mail.py);
the assistant is the stand-in, unable to parse, so every first mail goes to the queue.

  1. inbound: N customers' mails are put in the INBOX at once; measured until every one is
     a conversation with its ticket (the poll interval is part of the figure);
  2. outbound: an agent's reply to each of them through the ops API; measured from each
     POST to the relay receiving that mail (composing, the batch window and SMTP included);
  3. relay away: N more replies while the relay is stopped, then it starts again; measured
     from the restart until the last is received, and every reply counted at the relay:
     `lost` (never arrived) and `twice` (arrived more than once) must both be 0.

    .venv/bin/opsdesk bench --only email -- --mails 200 --backend sqlite
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine, percentile  # noqa: E402
from tests.conftest import drop_store, new_store, stop_api  # noqa: E402
from tests.fakes.mail import Dovecot, SmtpRelay  # noqa: E402
from tests.hub.email_support import customer_mail, start_email_api, text_part  # noqa: E402
from tests.hub.standin_rasa import StandInRasa  # noqa: E402


def wait_for(what: str, check, timeout: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise SystemExit(f"bench: not within {timeout} s: {what}")


def run(backend: str, mails: int) -> None:
    relay, mailbox, rasa = SmtpRelay().start(), Dovecot().start(), StandInRasa().start()
    store = new_store(backend, Path(tempfile.mkdtemp(prefix="bench-email-")))
    try:
        start_email_api(store, relay, mailbox, rasa)
        api = store.client("agent")
        addresses = [f"customer{n}@bench.example" for n in range(mails)]
        for n, address in enumerate(addresses):
            mailbox.deliver(customer_mail(address, f"Question {n}", f"bench question {n}"))
        started = time.monotonic()
        count_sql = "SELECT count(*) FROM tickets WHERE channel = 'email'"
        wait_for("every mail a ticket", lambda: store.scalar(count_sql) == mails, 600)
        inbound_s = time.monotonic() - started

        conversations: dict[str, str] = {}
        cursor = None
        while True:
            params = {"channel": "email", "limit": 200, **({"cursor": cursor} if cursor else {})}
            page = api.get("/api/v1/conversations", params=params).json()
            for c in page["items"]:
                conversations[c["id"]] = c["id"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        ids = list(conversations)

        def reply_all(label: str) -> dict[str, float]:
            posted: dict[str, float] = {}
            for cid in ids:
                posted[f"{label} {cid}"] = time.monotonic()
                r = api.post(
                    f"/api/v1/conversations/{cid}/messages", json={"text": f"{label} {cid}"}
                )
                assert r.status_code == 201, r.text
            return posted

        started = time.monotonic()
        posted = reply_all("reply")
        print(f"posting {mails} replies took {time.monotonic() - started:.1f} s")
        wait_for("every reply at the relay", lambda: len(relay.received) >= mails, 600)
        outbound_s = time.monotonic() - started
        latencies = []
        for received in relay.received:
            body = text_part(received["message"])
            key = next(k for k in posted if k in body)
            latencies.append((received["at"] - posted[key]) * 1000)

        relay.stop()
        before = len(relay.received)
        posted_down = reply_all("while away")
        time.sleep(3)  # attempts meet a closed port and back off
        relay.start()
        restarted = time.monotonic()
        wait_for(
            "every reply after the restart", lambda: len(relay.received) >= before + mails, 600
        )
        recovery_s = time.monotonic() - restarted
        time.sleep(3)
        lines = [
            line.strip()
            for r in relay.received[before:]
            for line in text_part(r["message"]).splitlines()
        ]
        arrived = {k: lines.count(k) for k in posted_down}
        lost = sum(1 for v in arrived.values() if v == 0)
        twice = sum(1 for v in arrived.values() if v > 1)

        print(f"machine: {machine()}")
        print(f"store: {backend}, {mails} mails; poll every 0.5 s, batch window 0.3 s")
        print("| phase | mails | seconds | mails/s | p50 ms | p95 ms | lost | twice |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        rate = mails / inbound_s
        print(f"| inbound: INBOX to ticket | {mails} | {inbound_s:.1f} | {rate:.1f} | | | | |")
        print(
            f"| outbound: first POST to last at relay | {mails} | {outbound_s:.1f} | "
            f"{mails / outbound_s:.1f} | "
            f"{percentile(latencies, 0.5):.0f} | {percentile(latencies, 0.95):.0f} | | |"
        )
        print(
            f"| relay away, then back | {mails} | {recovery_s:.1f} | {mails / recovery_s:.1f} | "
            f"| | {lost} | {twice} |"
        )
    finally:
        stop_api(store)
        drop_store(store)
        rasa.stop()
        mailbox.stop()
        relay.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mails", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    args, _others = parser.parse_known_args()  # `opsdesk bench` passes every benchmark's args
    for backend in ["sqlite", "postgres"] if args.backend == "both" else [args.backend]:
        run(backend, args.mails)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
