"""The benchmarks' reading of the stored transcripts (bench/transcripts.py, shared by
bench_hub.py and bench_scale.py), held against a real api over the stand-in Rasa: what was
sent and answered counts nothing; a customer whose messages were never stored, or one message
missing from a stored conversation, counts lost, and a transcript that differs from the order
sent counts reordered."""

from __future__ import annotations

import threading
import time
import uuid

from bench.transcripts import audit_transcripts, settle
from tests.hub.conftest import HubStore
from tests.hub.standin_rasa import StandInRasa


def test_the_benchmarks_count_lost_and_reordered_messages_from_the_transcripts(
    hub: HubStore, rasa_up: StandInRasa
) -> None:
    sent = {f"bench-{uuid.uuid4().hex[:8]}": ["hello", "where is my order?"] for _ in range(3)}
    for sender, texts in sent.items():
        for text in texts:
            hub.rest(sender, text)
    agent_key = hub.store.keys["agent"]

    clean = audit_transcripts(hub.store.base_url, agent_key, ("rest",), sent)
    assert (clean.lost, clean.doubled, clean.reordered, clean.waiting) == (0, 0, 0, 0)

    never_stored = {f"bench-{uuid.uuid4().hex[:8]}": ["one", "two"]}
    lost = audit_transcripts(hub.store.base_url, agent_key, ("rest",), never_stored)
    assert (lost.lost, lost.reordered) == (2, 0)
    assert lost.lost_details == [f"{next(iter(never_stored))}: no conversation stored for 2 sent"]
    assert clean.lost_details == []

    first = next(iter(sent))
    swapped = {first: list(reversed(sent[first]))}
    reordered = audit_transcripts(hub.store.base_url, agent_key, ("rest",), swapped)
    assert (reordered.lost, reordered.reordered) == (0, 1)

    # A conversation that was stored without one of the messages sent to it.
    one_more = {first: [*sent[first], "and one more"]}
    short = audit_transcripts(hub.store.base_url, agent_key, ("rest",), one_more)
    assert (short.lost, short.doubled) == (1, 0)
    assert short.lost_details == [f"{first}: 1 of 3 sent not stored"]

    # Another channel's conversations are not read: the same keys are not found there.
    elsewhere = audit_transcripts(hub.store.base_url, agent_key, ("socketio",), sent)
    assert elsewhere.lost == 6


def test_the_benchmarks_wait_for_queued_turns_before_reading_the_transcripts(
    hub: HubStore, rasa_up: StandInRasa
) -> None:
    """A message still being processed when the customer stopped waiting is not counted
    lost: `settle` waits until the hub has processed it (and no longer than it is told)."""
    agent_key = hub.store.keys["agent"]
    sender = f"bench-{uuid.uuid4().hex[:8]}"
    sent = {sender: ["slow one"]}
    rasa_up.delay = 1.2  # under the hub's timeout (RASA_TIMEOUT): answered, slowly
    request = threading.Thread(target=hub.rest, args=(sender, "slow one"))
    request.start()
    try:
        time.sleep(0.2)  # stored, its turn with the assistant under way
        assert settle(hub.store.base_url, agent_key, ("rest",), sent, 0.3) < 0.8  # bounded
        assert audit_transcripts(hub.store.base_url, agent_key, ("rest",), sent).lost == 1

        assert settle(hub.store.base_url, agent_key, ("rest",), sent, 30) < 15
        assert audit_transcripts(hub.store.base_url, agent_key, ("rest",), sent).lost == 0
    finally:
        request.join(timeout=30)
