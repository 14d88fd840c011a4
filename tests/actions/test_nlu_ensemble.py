"""The two intent classifiers' vote (bot/nlu_ensemble.py), on Rasa's own Message objects.

The trained pipeline is exercised by every end-to-end test and by the NLU report; these pin
the arithmetic: a kept ranking and the last one are averaged, an intent one classifier left
out counts 0 there, and nothing of the vote is left in the parse result.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.message import Message

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.nlu_ensemble import KEPT, AverageIntentRankings, KeepIntentRanking  # noqa: E402


def ranking(**confidences: float) -> list[dict]:
    return [{"name": name, "confidence": value} for name, value in confidences.items()]


def classify(message: Message, **confidences: float) -> None:
    """What a Rasa intent classifier leaves on the message."""
    top = ranking(**confidences)
    message.set("intent", top[0], add_to_output=True)
    message.set("intent_ranking", top, add_to_output=True)


def vote(first: dict[str, float], second: dict[str, float]) -> Message:
    message = Message(data={"text": "where is my parcel"})
    classify(message, **first)
    KeepIntentRanking().process([message])
    classify(message, **second)
    AverageIntentRankings({}).process([message])
    return message


def test_the_intent_is_the_average_of_both_rankings() -> None:
    message = vote(
        {"order_status": 0.6, "return_status": 0.4},
        {"return_status": 0.7, "order_status": 0.2, "complaint": 0.1},
    )
    assert message.get("intent")["name"] == "return_status"
    assert message.get("intent")["confidence"] == pytest.approx(0.55)
    names = [entry["name"] for entry in message.get("intent_ranking")]
    assert names == ["return_status", "order_status", "complaint"]
    # complaint was not in the first ranking: it counts 0 there.
    assert message.get("intent_ranking")[2]["confidence"] == pytest.approx(0.05)


def test_two_classifiers_that_agree_keep_their_intent() -> None:
    message = vote({"greet": 0.9, "thank": 0.1}, {"greet": 0.8, "goodbye": 0.2})
    assert message.get("intent") == {"name": "greet", "confidence": pytest.approx(0.85)}


def test_the_kept_rankings_are_not_part_of_the_parse_result() -> None:
    message = vote({"affirm": 1.0}, {"affirm": 1.0})
    assert message.get(KEPT) is None
    assert KEPT not in message.as_dict_nlu()


def test_the_ranking_is_cut_to_its_length() -> None:
    message = Message(data={"text": "hm"})
    classify(message, **{f"intent_{i}": 0.5 - i / 100 for i in range(12)})
    KeepIntentRanking().process([message])
    classify(message, **{f"intent_{i}": 0.5 - i / 100 for i in range(12)})
    AverageIntentRankings({"ranking_length": 10}).process([message])
    assert len(message.get("intent_ranking")) == 10
    assert message.get("intent")["name"] == "intent_0"
