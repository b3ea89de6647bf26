"""BM25 statistics of an FAQ corpus, and the BM25 weight of each morpheme and token of a sentence.

Fitting uses `rank_bm25.BM25Okapi` (the library the design names) for document frequencies, idf
and average length; the fitted numbers are then kept as plain arrays so they save as JSON + .npy
(no pickle) and load without refitting. The weight of a term t in a sentence s is the term's own
summand of the Okapi BM25 score, as rank_bm25 computes it:

    w(t, s) = idf(t) * tf(t, s) * (k1 + 1) / (tf(t, s) + k1 * (1 - b + b * |s| / avgdl))

with |s| the number of morphemes of s. rank_bm25 floors the idf of terms found in more than half
the documents at epsilon * mean idf (clipped at 0 here); terms unseen in the corpus get `unseen_idf`, the idf a term
found in exactly one document has (as rare as the rarest known word).

Function morphemes carry grammar, not content: two questions sharing only 어디/에/하/나요/? are not
about the same thing. So the weight of a term of a function class (`FUNCTION_TAGS`: particles J,
endings E, suffixes XS, symbols S, attached codas Z) is multiplied by `function_weight` (in [0, 1];
1 = plain BM25). The factor is part of the statistics and saved with them, so pooling, lexical
search and the search page's shading, which all weigh through `term_weights`, always agree.

The statistics count the terms of one `models.morphemes.Analyzer` (`analyzer`: Kiwi with the
index's domain words, whose synonyms share one canonical term, in df and idf too); whatever
weighs a sentence with them analyses it with that analyser.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.errors import FaqsearchError, InvalidValueError
from models.morphemes import DEFAULT_ANALYZER, Analyzer, Morpheme

# 2: terms with the finer tag classes of `models.morphemes.term_tag`, and `function_weight`.
FORMAT_VERSION = 2
_PARAMS_FILE = "bm25_params.json"
_VOCAB_FILE = "bm25_vocab.json"
_DF_FILE = "bm25_df.npy"
_IDF_FILE = "bm25_idf.npy"

# Tag classes (`models.morphemes.term_tag`) whose terms are function words. Foreign words (SL),
# hanja (SH) and numbers (SN) are content despite Kiwi's S: "OTP", "2층"'s 2, "1588" say what a
# question is about. Web tokens (W: URLs, e-mails, serial numbers) are content too. Z_CODA is a
# final consonant split off a particle or ending (했어욥), so it goes with them.
FUNCTION_TAGS = frozenset({"J", "E", "XS", "S", "Z"})


def is_function_term(term: str) -> bool:
    """Whether a `form/T` term is a function morpheme (its form may itself contain a `/`)."""
    return term.rpartition("/")[2] in FUNCTION_TAGS


def check_function_weight(value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise InvalidValueError(
            f"the function-word weight must be within [0, 1] (0: particles, endings, suffixes and "
            f"symbols count for nothing; 1: as much as content words), got {value}"
        )
    return float(value)


class Bm25FormatError(FaqsearchError, ValueError):
    """Saved statistics of another format version: refit them (rebuild the index)."""


@dataclass
class Bm25Stats:
    """Fitted BM25 statistics: one row per known term in `vocab`, `doc_freq` and `idf`."""

    vocab: list[str]
    doc_freq: np.ndarray  # [V] int64: documents containing the term
    idf: np.ndarray  # [V] float64
    n_docs: int
    avgdl: float
    unseen_idf: float
    k1: float = 1.5
    b: float = 0.75
    epsilon: float = 0.25
    function_weight: float = 1.0  # factor of function terms' weights (see the module docstring)
    analyzer: Analyzer = field(default=DEFAULT_ANALYZER, repr=False, compare=False)  # made the terms
    _index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._index = {term: i for i, term in enumerate(self.vocab)}
        self.function_weight = check_function_weight(self.function_weight)

    @classmethod
    def fit(
        cls,
        corpus_terms: Sequence[Sequence[str]],
        *,
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
        function_weight: float = 1.0,
        analyzer: Analyzer = DEFAULT_ANALYZER,
    ) -> Bm25Stats:
        """Fit on the corpus, one list of terms (`analyzer.terms`) per document."""
        from rank_bm25 import BM25Okapi

        docs = [list(doc) for doc in corpus_terms]
        if not docs or not any(docs):
            raise InvalidValueError(
                "cannot fit BM25 statistics on an empty corpus: give at least one non-empty text"
            )
        okapi = BM25Okapi(docs, k1=k1, b=b, epsilon=epsilon)
        doc_freq = Counter(term for frequencies in okapi.doc_freqs for term in frequencies)
        vocab = sorted(doc_freq)
        n = okapi.corpus_size
        return cls(
            vocab=vocab,
            doc_freq=np.array([doc_freq[t] for t in vocab], dtype=np.int64),
            # rank_bm25's floor (epsilon * mean idf) is itself negative in tiny corpora; a negative
            # weight means nothing for pooling, so clip at 0.
            idf=np.maximum(np.array([okapi.idf[t] for t in vocab], dtype=np.float64), 0.0),
            n_docs=n,
            avgdl=float(okapi.avgdl),
            unseen_idf=max(0.0, math.log(n - 1 + 0.5) - math.log(1 + 0.5)),
            k1=k1,
            b=b,
            epsilon=epsilon,
            function_weight=function_weight,
            analyzer=analyzer,
        )

    def idf_of(self, term: str) -> float:
        index = self._index.get(term)
        return self.unseen_idf if index is None else float(self.idf[index])

    def term_weights(self, terms: Sequence[str]) -> dict[str, float]:
        """BM25 weight of each distinct term of one sentence, with that sentence's tf and length;
        function terms' weights times `function_weight`. (Function terms still count in |s|: the
        length normalisation stays rank_bm25's.)"""
        counts = Counter(terms)
        norm = self.k1 * (1 - self.b + self.b * len(terms) / self.avgdl)
        return {
            t: self.idf_of(t)
            * tf
            * (self.k1 + 1)
            / (tf + norm)
            * (self.function_weight if is_function_term(t) else 1.0)
            for t, tf in counts.items()
        }

    def morpheme_weights(self, morphemes: Sequence[Morpheme]) -> np.ndarray:
        """[M] float64: each morpheme occurrence weighs its term's BM25 weight in the sentence."""
        weights = self.term_weights([m.term for m in morphemes])
        return np.array([weights[m.term] for m in morphemes], dtype=np.float64)

    # -- persistence: plain JSON and .npy, never pickle ------------------------------------------

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        params = {
            "format_version": FORMAT_VERSION,
            "n_docs": self.n_docs,
            "avgdl": self.avgdl,
            "unseen_idf": self.unseen_idf,
            "k1": self.k1,
            "b": self.b,
            "epsilon": self.epsilon,
            "function_weight": self.function_weight,
            "vocab_size": len(self.vocab),
        }
        (folder / _PARAMS_FILE).write_text(json.dumps(params, indent=2), encoding="utf-8")
        (folder / _VOCAB_FILE).write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")
        np.save(folder / _DF_FILE, self.doc_freq, allow_pickle=False)
        np.save(folder / _IDF_FILE, self.idf, allow_pickle=False)

    @classmethod
    def load(cls, folder: str | Path, analyzer: Analyzer = DEFAULT_ANALYZER) -> Bm25Stats:
        """`analyzer`: the one the statistics were fitted with (a snapshot keeps its domain words)."""
        folder = Path(folder)
        try:
            params = json.loads((folder / _PARAMS_FILE).read_text(encoding="utf-8"))
            vocab = json.loads((folder / _VOCAB_FILE).read_text(encoding="utf-8"))
            doc_freq = np.load(folder / _DF_FILE, allow_pickle=False)
            idf = np.load(folder / _IDF_FILE, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ValueError(
                f"cannot read BM25 statistics from {folder}: {exc}; refit them (rebuild the index)"
            ) from exc
        if params.get("format_version") != FORMAT_VERSION:
            raise Bm25FormatError(
                f"BM25 statistics in {folder} have format {params.get('format_version')}, this version "
                f"reads {FORMAT_VERSION}; refit them (rebuild the index)"
            )
        if not (len(vocab) == len(doc_freq) == len(idf) == params["vocab_size"]):
            raise ValueError(f"BM25 statistics in {folder} are inconsistent; refit them (rebuild the index)")
        return cls(
            vocab=vocab,
            doc_freq=doc_freq,
            idf=idf,
            n_docs=int(params["n_docs"]),
            avgdl=float(params["avgdl"]),
            unseen_idf=float(params["unseen_idf"]),
            k1=float(params["k1"]),
            b=float(params["b"]),
            epsilon=float(params["epsilon"]),
            function_weight=float(params["function_weight"]),
            analyzer=analyzer,
        )


def token_weights(
    offsets: np.ndarray, morphemes: Sequence[Morpheme], morpheme_weights: np.ndarray
) -> np.ndarray:
    """Spread morpheme weights over subword tokens. offsets [T, 2] -> weights [T] float64.

    A token takes the weight of the morpheme its character span [start, end) overlaps; when it
    overlaps several (e.g. `하고` = 하 + 고) it takes the largest, since a token is as important as
    its most important part. A morpheme split over several tokens gives each of them its full
    weight. Tokens with an empty span (special tokens) or over no morpheme (a lone `▁` space,
    the model's text prefix) weigh 0.
    """
    n_tokens = len(offsets)
    if n_tokens == 0 or not morphemes:
        return np.zeros(n_tokens, dtype=np.float64)
    starts = np.array([m.start for m in morphemes])  # [M]
    ends = np.array([m.end for m in morphemes])  # [M]
    tok_start = offsets[:, 0:1]  # [T, 1]
    tok_end = offsets[:, 1:2]  # [T, 1]
    overlap = (starts < tok_end) & (tok_start < ends) & (tok_end > tok_start)  # [T, M]
    return np.where(overlap, morpheme_weights[None, :], 0.0).max(axis=1)
