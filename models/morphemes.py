"""Korean morpheme analysis with Kiwi: the terms that BM25 statistics count.

A term is `form/T`, the morpheme's surface form and its tag class `T` (`term_tag`): mostly the
first letter of its Sejong tag (N noun, V verb/adjective, J particle, E ending, M adverb, ...),
coarse enough that Kiwi's NNG/NNP wavering does not split a word's statistics, fine enough to
keep the particle 이/J apart from the pronoun 이/N. Affixes and S tags keep two letters, since
BM25 weighs their subclasses differently (`models.bm25`): XS suffix, XR root, XP prefix; SL
foreign word, SH hanja, SN number, and S for every other symbol (SF SP SS SSO SSC SE SO SW SB).
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


_TWO_LETTER = {"XS": "XS", "XR": "XR", "XP": "XP", "SL": "SL", "SH": "SH", "SN": "SN"}


def term_tag(tag: str) -> str:
    """Kiwi tag -> the tag class of its terms: `JKO` -> `J`, `VV-R` -> `V`, `XSV` -> `XS`, `SN` -> `SN`,
    `SF` -> `S`."""
    return _TWO_LETTER.get(tag[:2], tag[0])


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
        [Morpheme(f"{tok.form}/{term_tag(tok.tag)}", tok.start, tok.start + tok.len) for tok in tokens]
        for tokens in results
    ]


def terms(texts: Sequence[str]) -> list[list[str]]:
    """The BM25 terms of each text (its morphemes' terms, in order)."""
    return [[m.term for m in sentence] for sentence in analyze(texts)]
