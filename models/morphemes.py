"""Korean morpheme analysis with Kiwi: the terms that BM25 statistics count.

A term is `form/T`, the morpheme's surface form and the first letter of its Sejong tag
(N noun, V verb/adjective, J particle, E ending, X affix, M adverb, S symbol/foreign, ...):
coarse enough that Kiwi's NNG/NNP wavering does not split a word's statistics, fine enough to
keep the particle 이/J apart from the pronoun 이/N.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiwipiepy import Kiwi


@dataclass(frozen=True)
class Morpheme:
    """One morpheme of a sentence: its term and its character span [start, end) in that sentence."""

    term: str
    start: int
    end: int


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _kiwi() -> Kiwi:
    from kiwipiepy import Kiwi  # loads a ~100 MB model: only on first use, never at import

    return Kiwi()


def analyze(texts: Sequence[str]) -> list[list[Morpheme]]:
    """Morphemes of each (already normalised) text, in text order. Offsets index into that text."""
    if not texts:
        return []
    kiwi = _kiwi()
    with _lock:  # one analysis at a time: Kiwi's Python object is not documented as thread-safe
        results = list(kiwi.tokenize(list(texts)))
    return [
        [Morpheme(f"{tok.form}/{tok.tag[0]}", tok.start, tok.start + tok.len) for tok in tokens]
        for tokens in results
    ]


def terms(texts: Sequence[str]) -> list[list[str]]:
    """The BM25 terms of each text (its morphemes' terms, in order)."""
    return [[m.term for m in sentence] for sentence in analyze(texts)]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Kiwi's sentence boundaries in `text`: [start, end) character spans, in order."""
    if not text.strip():
        return []
    kiwi = _kiwi()
    with _lock:
        sentences = kiwi.split_into_sents(text)
    return [(s.start, s.end) for s in sentences]
