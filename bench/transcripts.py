"""The hub's stored transcripts read back after a load, to count what the benchmark's
customers lost, got twice or got out of order (bench_hub.py, bench_scale.py)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class TranscriptAudit:
    lost: int = 0  # sent and never stored, processed or answered; an answer that failed
    doubled: int = 0  # a message stored twice, or one answer sent twice
    reordered: int = 0  # messages stored out of the order sent, or answers out of order
    waiting: int = 0  # answers kept pending for a socket.io customer who left
    # what each lost message is, as the transcript shows it (at most LOST_DETAILS of them)
    lost_details: list[str] = field(default_factory=list)

    def note_lost(self, detail: str, count: int = 1) -> None:
        self.lost += count
        if len(self.lost_details) < LOST_DETAILS:
            self.lost_details.append(detail)


LOST_DETAILS = 20


def _pages(api: httpx.Client, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item of a paged list: conversations by cursor, messages `after` the last id."""
    items: list[dict[str, Any]] = []
    params = dict(params)
    while True:
        page = api.get(path, params=params).json()
        items += page["items"]
        if not page["next_cursor"]:
            return items
        if path.endswith("/messages"):
            params["after"] = page["items"][-1]["id"]
        else:
            params["cursor"] = page["next_cursor"]


def settle(
    api_url: str,
    agent_key: str,
    channels: Iterable[str],
    sent: dict[str, list[str]],
    seconds: float,
) -> float:
    """Wait (at most `seconds`) until no message of the customers in `sent` is still waiting
    to be processed: a turn queued behind a slow one may still be on its way when a customer
    stops waiting for it. Returns the seconds waited."""
    started = time.monotonic()
    with httpx.Client(
        base_url=api_url, headers={"Authorization": f"Bearer {agent_key}"}, timeout=60
    ) as api:
        while time.monotonic() - started < seconds:
            ids = {}
            for channel in channels:
                listed = _pages(api, "/api/v1/conversations", {"channel": channel, "limit": 200})
                ids.update({c["channel_key"]: c["id"] for c in listed})
            if not any(
                m["direction"] == "inbound" and m["state"] == "received"
                for key in sent
                if key in ids
                for m in _pages(api, f"/api/v1/conversations/{ids[key]}/messages", {"limit": 500})
            ):
                break
            time.sleep(min(1.0, max(0.0, seconds - (time.monotonic() - started))))
    return time.monotonic() - started


def audit_transcripts(
    api_url: str, agent_key: str, channels: Iterable[str], sent: dict[str, list[str]]
) -> TranscriptAudit:
    """Read every conversation of `channels` back and hold it to what was `sent` (channel key
    -> texts in order)."""
    found = TranscriptAudit()
    with httpx.Client(
        base_url=api_url, headers={"Authorization": f"Bearer {agent_key}"}, timeout=60
    ) as api:
        ids: dict[str, str] = {}
        for channel in channels:
            listed = _pages(api, "/api/v1/conversations", {"channel": channel, "limit": 200})
            ids.update({c["channel_key"]: c["id"] for c in listed})
        for key, texts in sent.items():
            if key not in ids:
                found.note_lost(f"{key}: no conversation stored for {len(texts)} sent", len(texts))
                continue
            messages = _pages(api, f"/api/v1/conversations/{ids[key]}/messages", {"limit": 500})
            inbound = [m for m in messages if m["direction"] == "inbound"]
            outbound = [m for m in messages if m["direction"] == "outbound"]
            stored = [m["text"] for m in inbound]
            found.doubled += max(0, len(stored) - len(texts))
            if len(stored) < len(texts):
                missing = len(texts) - len(stored)
                found.note_lost(f"{key}: {missing} of {len(texts)} sent not stored", missing)
            if stored[: len(texts)] != texts:
                found.reordered += 1
            for m in inbound:
                if m["state"] not in ("answered", "unanswered"):
                    found.note_lost(f"{key}: message {m['id']} stored, left {m['state']}")
            for m in outbound:
                if m["state"] == "failed":
                    found.note_lost(f"{key}: the reply {m['id']} to {m['in_reply_to']} failed")
            found.waiting += sum(1 for m in outbound if m["state"] == "pending")
            same = Counter((m["in_reply_to"], m["text"]) for m in outbound)
            found.doubled += sum(n - 1 for n in same.values())
            answered = [m["in_reply_to"] for m in outbound]
            found.reordered += sum(1 for a, b in zip(answered, answered[1:], strict=False) if b < a)
    return found
