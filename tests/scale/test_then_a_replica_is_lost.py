"""A Rasa replica is killed (SIGKILL) while customers are in the middle of a form, some of
their turns in flight on it. Every message sent is answered once, in order, and the forms
go on from the state the shared tracker store kept. Runs last in the package (the file
names sort it there): the cluster has one Rasa server less afterwards."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from api.hub.hub import UNAVAILABLE_TEXT
from api.hub.replicas import RasaReplicas
from tests.scale.conftest import Cluster, texts

CUSTOMERS = 10
TURNS = ["hi", "where is my order?", "10001", "jane.doe@example.com"]
# Each answer must show that the form is where it should be.
EXPECTED = ["", "order number", "email", "UPS"]
KILL_DURING_TURN = 2  # the order number: the form is open, its first slot being filled


def test_killing_a_replica_mid_conversation_loses_and_doubles_nothing(cluster: Cluster) -> None:
    senders = [f"survivor-{i}-{uuid.uuid4().hex[:6]}" for i in range(CUSTOMERS)]
    ready = threading.Barrier(CUSTOMERS + 1)
    answers: dict[str, list[str]] = {s: [] for s in senders}

    def customer(index: int, sender: str) -> None:
        for turn, text in enumerate(TURNS):
            if turn == KILL_DURING_TURN:
                ready.wait(timeout=300)  # everyone sends this turn together with the kill
            replies = cluster.rest((index + turn) % 2, sender, text)
            answers[sender].append(texts(replies))

    with ThreadPoolExecutor(CUSTOMERS) as pool:
        futures = [pool.submit(customer, i, s) for i, s in enumerate(senders)]
        ready.wait(timeout=300)
        time.sleep(0.3)  # the turns are on their way into both replicas
        cluster.procs["rasa-2"].send_signal(signal.SIGKILL)
        for future in futures:
            future.result(timeout=600)
    assert cluster.procs["rasa-2"].popen.wait(timeout=10) == -signal.SIGKILL
    replicas = RasaReplicas(cluster.rasa_urls, timeout=5)
    homes = [replicas.order_for(cluster.conversation_of(s))[0].base_url for s in senders]
    assert cluster.rasa_urls[1] in homes  # some conversations had to move to the survivor

    for sender in senders:
        said = answers[sender]
        assert len(said) == len(TURNS), (sender, said)
        for answer, expected in zip(said, EXPECTED, strict=True):
            assert UNAVAILABLE_TEXT not in answer, (sender, said)
            assert expected.lower() in answer.lower() and answer.strip(), (sender, said)

        conversation_id = cluster.conversation_of(sender)
        messages = cluster.messages(conversation_id)
        inbound = [m for m in messages if m["direction"] == "inbound"]
        assert [m["text"] for m in inbound] == TURNS  # each stored once, in order
        assert all(m["state"] == "answered" for m in inbound), inbound
        replies = [m for m in messages if m["direction"] == "outbound"]
        answered = [m["in_reply_to"] for m in replies]
        assert answered == sorted(answered)  # answers in the order of the questions
        assert set(answered) == {m["id"] for m in inbound}  # every message answered
        doubled = Counter((m["in_reply_to"], m["text"]) for m in replies)
        assert max(doubled.values()) == 1, doubled  # and answered once

        # Rasa heard each message exactly once (the replica left, tried, or took it over).
        events = cluster.tracker(0, conversation_id)["events"]
        heard = Counter(
            (e.get("metadata") or {}).get("hub_message_id") for e in events if e["event"] == "user"
        )
        assert sorted(heard.elements()) == sorted(m["id"] for m in inbound), heard
