"""Long answers split at natural boundaries within each platform's limit; titles shortened."""

from __future__ import annotations

import pytest

from api.hub.channels.social.limits import (
    PayloadTokens,
    fit_title,
    split_text,
    utf8_bytes,
    utf16_units,
)


def test_short_text_is_one_piece() -> None:
    assert split_text("  Your order shipped.  ", 2000) == ["Your order shipped."]
    assert split_text("", 2000) == []


def test_split_prefers_sentence_ends_and_keeps_every_word() -> None:
    sentences = [f"Sentence number {i} says something useful." for i in range(200)]
    text = " ".join(sentences)
    pieces = split_text(text, 2000)
    assert len(pieces) > 1
    assert all(len(p) <= 2000 for p in pieces)
    assert all(p.endswith(".") for p in pieces)  # cut after a sentence, never inside one
    assert " ".join(pieces) == text


def test_split_prefers_paragraphs() -> None:
    paragraph = "word " * 150
    text = "\n\n".join([paragraph.strip()] * 4)  # 4 x 749 chars
    pieces = split_text(text, 1600)
    assert pieces == ["\n\n".join([paragraph.strip()] * 2)] * 2


def test_split_falls_back_to_words_then_to_a_hard_cut() -> None:
    words = "tracking " * 600
    pieces = split_text(words, 100)
    assert all(len(p) <= 100 for p in pieces)
    assert all(p.split() and set(p.split()) == {"tracking"} for p in pieces)
    url = "https://example.com/" + "a" * 250
    pieces = split_text(url, 100)
    assert [len(p) for p in pieces] == [100, 100, 70] and "".join(pieces) == url


def test_split_counts_in_the_platforms_unit() -> None:
    text = "Grüße aus München! " * 120  # two-byte characters
    pieces = split_text(text, 1000, utf8_bytes)
    assert all(utf8_bytes(p) <= 1000 for p in pieces)
    assert max(len(p) for p in pieces) < 1000  # characters alone would have overrun
    emoji = "📦 " * 3000  # each emoji is two UTF-16 units
    pieces = split_text(emoji, 4096, utf16_units)
    assert all(utf16_units(p) <= 4096 for p in pieces)
    assert sum(p.count("📦") for p in pieces) == 3000


def test_fit_title_shortens_with_an_ellipsis() -> None:
    assert fit_title("Track my order", 20) == "Track my order"
    shortened = fit_title("Return an item from order 10003", 20)
    assert len(shortened) == 20 and shortened.endswith("…")
    assert fit_title("  spaced   out  ", 20) == "spaced out"


def test_payload_tokens_only_for_payloads_over_the_limit() -> None:
    tokens = PayloadTokens(max_entries=2)
    assert tokens.encode("/affirm", 64) == "/affirm"
    long_payloads = [f'/choose{{"item": "{i}{"x" * 80}"}}' for i in range(3)]
    encoded = [tokens.encode(p, 64) for p in long_payloads]
    assert all(len(e.encode()) <= 64 and e.startswith("btn:") for e in encoded)
    assert tokens.decode(encoded[2]) == long_payloads[2]
    assert tokens.decode(encoded[0]) is None  # bounded: the oldest was dropped
    assert tokens.decode("/affirm") == "/affirm"


def test_split_rejects_a_zero_limit() -> None:
    with pytest.raises(ValueError):
        split_text("x", 0)
