"""Spelling correction of customers' words against a vocabulary (the catalog's words, the
knowledge base's words): a word the vocabulary does not know becomes the nearest word it
does know, when that one is close enough.

Closeness is rapidfuzz's `fuzz.ratio`, 100 * (1 - indel distance / (len(a) + len(b))), where an
inserted or dropped letter costs 1 and a wrong or swapped letter costs 2. The cut-off depends
on the word's length (see `cutoff`); the values come from trying customers' misspellings
("linnen", "chelsae", "medum", "navvy", "blak", "retrun", "refnd") against ordinary words
that are not in the vocabulary ("weather", "feather", "wallet", "hate", "cost", "send") on the
demo store's words; tests/api/test_fuzzy_search.py keeps both lists.

No cut-off tells a misspelling from a real word one letter away from a vocabulary word:
"chat" is as close to "chart", "write" to "white" and "thing" to "thin" as "blak" is to
"black". So three more rules keep real words from being "corrected":
  - a common English word is never corrected: one of the ~38,000 words that pyspellchecker's
    English word list counts at least COMMON_WORD_COUNT times. Misspellings are not in it or
    are rarer ("navvy" 50, "oder" 146); the rarest words it keeps are such as "bots" (700),
    "heaps" (1590);
  - the first letter must match (few misspellings change it, and it keeps "weather" from
    becoming "leather" or "heather", "table" from becoming "cable");
  - words and targets of fewer than 4 letters are left alone ("hate" does not become "hat"):
    a short word is one letter away from too many others. Short abbreviations the customer
    may mean ("lrg", "xl") are the caller's to spell out.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable

from rapidfuzz import fuzz, process
from spellchecker import SpellChecker

# Neither a word nor a target shorter than this is corrected.
MIN_LENGTH = 4
# Corrections remembered per vocabulary (customers repeat their misspellings); the memo is
# emptied when full, which keeps it bounded without bookkeeping.
MEMO_SIZE = 4096
# How often pyspellchecker's English list must count a word for it to be left as it is. The
# list counts every word it has at least 50 times; below 200 are misspellings it took in
# ("oder", "whens") among rare words.
COMMON_WORD_COUNT = 200


@functools.cache
def english_words() -> frozenset[str]:
    """Common English words, which are never corrected (loaded once, about 0.1 s)."""
    frequency = SpellChecker(language="en", distance=1).word_frequency
    return frozenset(w for w, n in frequency.items() if n >= COMMON_WORD_COUNT)


def cutoff(length: int) -> float | None:
    """The least `fuzz.ratio` for correcting a word of this many letters (None: never)."""
    if length < MIN_LENGTH:
        return None
    if length == 4:
        # One letter dropped or added ("blak" black 88.9, "pant" pants 88.9); one letter
        # wrong is refused ("cost" coat, "send" sand: 75).
        return 85.0
    if length == 5:
        # One letter wrong or two swapped ("blcak" black, "kahki" khaki, "scraf" scarf: 80).
        return 80.0
    # Longer words: one letter wrong or two swapped ("retrun" return, "beenie" beanie: 83.3),
    # not two letters dropped ("wallet" wale: 80).
    return 82.0


class Vocabulary:
    """The words one search understands. `words` are the targets of corrections (repeat a
    word to make it more likely on ties); `known` words are never corrected but are no
    targets either (stop words, other spellings the caller handles), nor are common English
    words unless `english` is False."""

    def __init__(
        self, words: Iterable[str], *, known: Iterable[str] = (), english: bool = True
    ) -> None:
        counts = Counter(w for w in words if w)
        self.known = frozenset(counts) | frozenset(known)
        self._english = english_words() if english else frozenset()
        by_initial: dict[str, list[str]] = {}
        # On equal scores extractOne keeps the first choice: the most frequent word wins.
        for word in sorted(counts, key=lambda w: (-counts[w], w)):
            if len(word) >= MIN_LENGTH and word.isalpha():
                by_initial.setdefault(word[0], []).append(word)
        self._by_initial = by_initial
        self._memo: dict[str, str] = {}

    def __contains__(self, word: object) -> bool:
        return word in self.known

    def __len__(self) -> int:
        return len(self.known)

    def correct(self, word: str) -> str:
        """The vocabulary's word for `word`: itself when known, a common English word, too
        short or not all letters, else the nearest target above the cut-off, else itself."""
        if word in self.known or word in self._english or not word.isalpha():
            return word
        limit = cutoff(len(word))
        if limit is None:
            return word
        found = self._memo.get(word)
        if found is None:
            best = process.extractOne(
                word, self._by_initial.get(word[0], ()), scorer=fuzz.ratio, score_cutoff=limit
            )
            found = best[0] if best else word
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            self._memo[word] = found
        return found
