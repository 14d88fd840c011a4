"""The outside-voice test sets stay apart from the training data, and no message carries two labels.

The outside-voice figure only measures understanding of new messages if none of them is in
data/nlu/. Very short messages ("yes", "hi", "thanks") are bound to be written the same way
in both, so the overlap check starts at four words; a label conflict is caught at any length.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
TRAINING = sorted((ROOT / "data" / "nlu").glob("*.yml"))
OUTSIDE = sorted((ROOT / "tests" / "nlu").glob("outside_voice*.yml"))

# [text](entity) and [text]{"entity": ...}: keep the text.
ANNOTATION = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")


def normalise(text: str) -> str:
    """Lower case, annotations and punctuation gone: "Where's my order??" == "wheres my order"."""
    plain = ANNOTATION.sub(r"\1", text).lower()
    return " ".join(re.sub(r"[^a-z0-9 ]", "", plain).split())


def examples(paths: list[Path]) -> list[tuple[str, str, str]]:
    """(intent, normalised text, file name) for every intent example in the files."""
    found = []
    for path in paths:
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            if "intent" not in block:
                continue
            for line in block["examples"].splitlines():
                line = line.strip()
                if line.startswith("- "):
                    found.append((block["intent"], normalise(line[2:]), path.name))
    return found


def test_both_sets_are_found() -> None:
    assert len(TRAINING) >= 10 and len(OUTSIDE) >= 3
    assert len(examples(OUTSIDE)) >= 1000


def test_no_outside_voice_message_of_four_words_or_more_is_in_the_training_data() -> None:
    trained = {text for _, text, _ in examples(TRAINING)}
    shared = sorted(
        f"{name}: {text}"
        for _, text, name in examples(OUTSIDE)
        if len(text.split()) >= 4 and text in trained
    )
    assert shared == []


def test_no_message_has_two_intents_in_the_training_data() -> None:
    labels: dict[str, set[str]] = defaultdict(set)
    for intent, text, _ in examples(TRAINING):
        if text:
            labels[text].add(intent)
    assert {text: sorted(i) for text, i in labels.items() if len(i) > 1} == {}


def test_the_outside_sets_never_contradict_a_training_label() -> None:
    trained: dict[str, set[str]] = defaultdict(set)
    for intent, text, _ in examples(TRAINING):
        trained[text].add(intent)
    conflicts = sorted(
        f"{name}: {text} is {intent} there, {sorted(trained[text])} in training"
        for intent, text, name in examples(OUTSIDE)
        if text and trained.get(text) and intent not in trained[text]
    )
    assert conflicts == []
