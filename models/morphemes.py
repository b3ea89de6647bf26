"""Korean morpheme analysis with Kiwi: the terms that BM25 statistics count.

A term is `form/T`, the morpheme's surface form and its tag class `T` (`term_tag`): mostly the
first letter of its Sejong tag (N noun, V verb/adjective, J particle, E ending, M adverb, ...),
coarse enough that Kiwi's NNG/NNP wavering does not split a word's statistics, fine enough to
keep the particle 이/J apart from the pronoun 이/N. Affixes and S tags keep two letters, since
BM25 weighs their subclasses differently (`models.bm25`): XS suffix, XR root, XP prefix; SL
foreign word, SH hanja, SN number, and S for every other symbol (SF SP SS SSO SSC SE SO SW SB).

An `Analyzer` is Kiwi configured with domain words (`models.domain_words`): user words added, and
synonym members given their group's canonical term (the morpheme keeps its own span). Without
domain words it is Kiwi as it comes; `analyze` and `terms` below use that one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from models.domain_words import DomainWords, DomainWordsError, word_key

if TYPE_CHECKING:
    from kiwipiepy import Kiwi

logger = logging.getLogger(__name__)


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


class Analyzer:
    """Kiwi with `words` added; Kiwi itself (a ~100 MB model) loads on the first analysis, never
    at construction. Thread-safe."""

    def __init__(self, words: DomainWords | None = None) -> None:
        self.words = words if words is not None else DomainWords()
        self._canonical = self.words.canonical_terms()
        self._kiwi: Kiwi | None = None
        self._lock = threading.Lock()

    def _loaded(self) -> Kiwi:
        if self._kiwi is None:
            from kiwipiepy import Kiwi

            kiwi = Kiwi()
            for word in self.words.kiwi_words():
                try:
                    kiwi.add_user_word(word.word, word.tag, word.score)
                except (ValueError, RuntimeError) as exc:
                    raise DomainWordsError(
                        f"{word.origin}: Kiwi refuses {word.word!r}/{word.tag}: {exc}"
                    ) from exc
            self._kiwi = kiwi
            self._check_synonyms()
        return self._kiwi

    def _check_synonyms(self) -> None:
        """Log members that Kiwi, even with them added, still reads as several morphemes alone:
        those match only in the contexts where Kiwi reads them as one."""
        for group in self.words.groups:
            for member in group.members:
                morphemes = self._analyze_loaded([member])[0]
                if len(morphemes) != 1 or morphemes[0].term not in self._canonical.values():
                    logger.warning(
                        "synonym %r (%s line %d) is read as %s, not as one word; give it a higher score "
                        "in the user dictionary",
                        member,
                        self.words.synonyms and self.words.synonyms.path,
                        group.line,
                        " + ".join(m.term for m in morphemes),
                    )

    def _term(self, form: str, tag: str) -> str:
        if self._canonical:
            canonical = self._canonical.get((word_key(form), term_tag(tag)))
            if canonical is not None:
                return canonical
        return f"{form}/{term_tag(tag)}"

    def _analyze_loaded(self, texts: Sequence[str]) -> list[list[Morpheme]]:
        assert self._kiwi is not None
        results = list(self._kiwi.tokenize(list(texts)))
        return [
            [Morpheme(self._term(tok.form, tok.tag), tok.start, tok.start + tok.len) for tok in tokens]
            for tokens in results
        ]

    def analyze(self, texts: Sequence[str]) -> list[list[Morpheme]]:
        """Morphemes of each (already normalised) text, in text order. Offsets index into that text."""
        if not texts:
            return []
        with self._lock:  # one analysis at a time: Kiwi's Python object is not documented as thread-safe
            self._loaded()
            return self._analyze_loaded(texts)

    def terms(self, texts: Sequence[str]) -> list[list[str]]:
        """The BM25 terms of each text (its morphemes' terms, in order)."""
        return [[m.term for m in sentence] for sentence in self.analyze(texts)]

    def sentence_spans(self, text: str) -> list[tuple[int, int]]:
        """Kiwi's sentence boundaries in `text`: [start, end) character spans, in order."""
        if not text.strip():
            return []
        with self._lock:
            sentences = self._loaded().split_into_sents(text)
        return [(s.start, s.end) for s in sentences]


DEFAULT_ANALYZER = Analyzer()  # cheap: Kiwi loads on first use


@lru_cache(maxsize=4)
def _cached_analyzer(words: DomainWords) -> Analyzer:
    return Analyzer(words)


def analyzer_for(words: DomainWords | None) -> Analyzer:
    """The analyser of `words`, shared by every index that uses the same files (one Kiwi each)."""
    if words is None or words.empty:
        return DEFAULT_ANALYZER
    return _cached_analyzer(words)


def analyze(texts: Sequence[str]) -> list[list[Morpheme]]:
    """`Analyzer.analyze` without domain words."""
    return DEFAULT_ANALYZER.analyze(texts)


def terms(texts: Sequence[str]) -> list[list[str]]:
    """`Analyzer.terms` without domain words."""
    return DEFAULT_ANALYZER.terms(texts)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Kiwi's sentence boundaries in `text`: [start, end) character spans, in order."""
    return DEFAULT_ANALYZER.sentence_spans(text)
