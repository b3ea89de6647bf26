"""Rank a test set's corpus for its queries through the service's own `Searcher`.

The index is built in memory by `indexing.build`'s `build_lexical` and `build_dense` (the rebuild
job's code: one lexical half for all variants, a dense half per pooling) and searched by
`Searcher.search` with the variant's mode and fusion, so an offline number is what the service
would serve. The only difference is where sentence vectors come from: `PrecomputedEncoder`
hands out the vectors `eval.vectors` already pooled (one forward pass per sentence for all
variants, or the cache) instead of running the model again for every variant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from eval.cache import bm25_fingerprint
from eval.testset import RankingSet
from eval.variants import Variant
from eval.vectors import TextVectors
from indexing.rows import RowPolicy
from indexing.store import FaqEntry
from models.bm25 import Bm25Stats
from models.errors import InvalidValueError
from models.sentence_encoder import Encoded

if TYPE_CHECKING:
    from indexing.loaded_index import LoadedIndex
    from indexing.searcher import Hit
    from models.identity import EncoderIdentity
    from models.options import Role
    from models.pooling_spec import PoolingSpec
    from models.sentence_encoder import SentenceEncoder

TOP_K = 10  # the deepest cut-off of the ranking metrics


class PrecomputedEncoder:
    """A `SentenceEncoder` for `Searcher` and `index_from_entries` (`encode` and the identity
    fields) that returns already pooled vectors, by text.

    BM25 pooling depends on the statistics; asking with other statistics than the vectors were
    pooled with is an error rather than a silently wrong number. `vectors` were pooled behind the
    query prefix, `entry_vectors` behind the entry prefix (default: the same vectors, for an
    encoder whose two prefixes are equal); `encode(role=...)` reads the one of its role.
    """

    def __init__(
        self,
        vectors: Mapping[str, TextVectors],
        *,
        dim: int,
        name: str,
        fingerprint: str,
        prefix: str,
        max_length: int,
        bm25: Bm25Stats | None,
        entry_vectors: Mapping[str, TextVectors] | None = None,
        entry_prefix: str | None = None,
        precision: str = "fp32",
    ) -> None:
        self.vectors = vectors
        self.entry_vectors = vectors if entry_vectors is None else entry_vectors
        self.dim = dim
        self.name = name
        self.fingerprint = fingerprint
        self.prefix = prefix
        self.entry_prefix = prefix if entry_prefix is None else entry_prefix
        self.max_length = max_length
        self.precision = precision
        self._bm25_sha256 = bm25_fingerprint(bm25) if bm25 is not None else None

    @classmethod
    def of(
        cls,
        identity: EncoderIdentity,
        vectors: Mapping[str, TextVectors],
        *,
        bm25: Bm25Stats | None,
        entry_vectors: Mapping[str, TextVectors] | None = None,
    ) -> PrecomputedEncoder:
        """Vectors pooled by the encoder of `identity`, standing in for it."""
        return cls(
            vectors,
            dim=identity.dim,
            name=identity.name,
            fingerprint=identity.sha256,
            prefix=identity.prefix,
            max_length=identity.max_length,
            bm25=bm25,
            entry_vectors=entry_vectors,
            entry_prefix=identity.entry_prefix,
            precision=identity.precision,
        )

    def encode(
        self,
        texts: Sequence[str],
        pooling: str | PoolingSpec = "mean",
        *,
        bm25: Bm25Stats | None = None,
        role: Role = "query",
    ) -> Encoded:
        from models.pooling_spec import PoolingSpec, parse_pooling
        from models.text import normalize_sentences

        spec = pooling if isinstance(pooling, PoolingSpec) else parse_pooling(pooling)
        if spec.needs_bm25 and (bm25 is None or bm25_fingerprint(bm25) != self._bm25_sha256):
            raise ValueError(f"pooling {spec.name!r} was evaluated with other BM25 statistics")
        table = (self.vectors if role == "query" else self.entry_vectors).get(spec.name)
        if table is None:
            raise ValueError(f"no {role} vectors were pooled with {spec.name!r}")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)  # [N, H]
        for row, text in enumerate(texts):
            # Test set texts are normalised already, so normalising is the rare path (it is idempotent).
            vector = table.get(text) if isinstance(text, str) else None
            if vector is None:
                [text] = normalize_sentences([text])
                if text not in table:
                    raise ValueError(f"no {spec.name!r} {role} vector was pooled for {text[:40]!r}")
                vector = table[text]
            out[row] = vector
        return Encoded(out, np.zeros(len(texts), dtype=bool))


@dataclass(frozen=True)
class CorpusView:
    """What of a test set's entries is indexed: their alternates (if the set has them), and the
    rows policy of the service (answers as passages). `chunker`: an object with the encoder's
    `tokenizer`, `prefix` and `max_length`, needed only to cut answers into chunks."""

    alternates: bool = True
    rows: RowPolicy = field(default_factory=RowPolicy)
    chunker: Any = None


VIEW_CHOICES = "question, alternates, answers, answers@W (W in (0, 1]: the answer rows' weight)"


def parse_view(spec: str) -> CorpusView:
    """`question` (the question alone), `alternates` (question and alternates: what the service
    indexes), `answers` / `answers@0.8` (and the answer, chunked, its rows' scores times W)."""
    text = spec.strip().lower()
    if text == "question":
        return CorpusView(alternates=False)
    if text == "alternates":
        return CorpusView()
    name, _, weight = text.partition("@")
    if name == "answers":
        try:
            value = float(weight) if weight else 1.0
        except ValueError:
            value = -1.0
        if 0.0 < value <= 1.0:
            return CorpusView(rows=RowPolicy(answers=True, answer_weight=value))
    raise InvalidValueError(f"unknown entry view {spec!r}; valid: {VIEW_CHOICES}")


def corpus_entries(testset: RankingSet, view: CorpusView | None = None) -> list[FaqEntry]:
    alternates = (view or CorpusView()).alternates
    return [
        FaqEntry(
            id=entry.id,
            question=entry.text,
            answer=entry.answer,
            alternates=tuple(getattr(entry, "alternates", ())) if alternates else (),
        )
        for entry in testset.corpus
    ]


def row_texts(testset: RankingSet, view: CorpusView | None = None) -> list[str]:
    """Every text the index embeds for the corpus, in label order (as `index_from_entries`)."""
    from indexing.build import rows_of

    view = view or CorpusView()
    lists = rows_of(corpus_entries(testset, view), view.rows, view.chunker)
    return [row.text for rows in lists for row in rows]


def lexical_index(
    testset: RankingSet, view: CorpusView | None = None, function_weight: float = 1.0
) -> LoadedIndex:
    """The corpus's lexical half, built by `build_lexical` as the rebuild job does: its lexical
    index and BM25 statistics, which no pooling changes, serve every variant."""
    from indexing.build import build_lexical, rows_of

    view = view or CorpusView()
    entries = corpus_entries(testset, view)
    rows = rows_of(entries, view.rows, view.chunker)
    return build_lexical(entries, rows, view.rows, function_weight=function_weight)


def _with_pooling(base: LoadedIndex, encoder: SentenceEncoder, texts: list[str], pooling: str) -> LoadedIndex:
    """`base` with a dense half pooled with `pooling` from its row texts (`build_dense`, as the
    rebuild job does); the lexical half is `base`'s."""
    from indexing.build import build_dense
    from indexing.vector_index import IndexParams

    index, _ = build_dense(base, texts, encoder, pooling, IndexParams(type="flat"))
    return index


def ranking_runs(
    testset: RankingSet,
    variants: Sequence[Variant],
    vectors: PrecomputedEncoder | None,
    base: LoadedIndex | None = None,
    view: CorpusView | None = None,
) -> dict[str, dict[str, list[str]]]:
    """{variant name: {query id: the top `TOP_K` entry ids, best first}} (`ranking_hits`)."""
    hits = ranking_hits(testset, variants, vectors, base, view)
    return {
        name: {q.id: [h.id for h in row] for q, row in zip(testset.queries, rows, strict=True)}
        for name, rows in hits.items()
    }


def ranking_hits(
    testset: RankingSet,
    variants: Sequence[Variant],
    vectors: PrecomputedEncoder | None,
    base: LoadedIndex | None = None,
    view: CorpusView | None = None,
) -> dict[str, list[list[Hit]]]:
    """{variant name: per query (in test set order) the top `TOP_K` hits, best first} via `Searcher`.

    One index per pooling: `base` (default: `lexical_index(testset)`, whose BM25 statistics the
    vectors must have been pooled with) with that pooling's dense half. Dense variants are
    `Searcher.search(mode="dense")`.
    Lexical hits do not depend on the pooling, so the queries are analysed once:
    `lexical_hits(base, top_k=hybrid_depth(TOP_K))` (what `Searcher` runs), whose first `TOP_K` are the `bm25` run (lexical
    ranks are a stable sort, so a shorter search returns exactly that prefix). Each hybrid is
    `Searcher.fuse` of those and the pooling's dense hits at the same depth: the two steps of
    `search(mode="hybrid")` (a test checks that they give its very hits).
    """
    from indexing.fusion import hybrid_depth
    from indexing.searcher import Searcher, lexical_hits

    texts = row_texts(testset, view)
    queries = [q.text for q in testset.queries]
    depth = hybrid_depth(TOP_K)
    poolings = list(dict.fromkeys(v.pooling for v in variants if v.pooling is not None))
    if poolings and vectors is None:
        raise ValueError(f"variants with pooling {', '.join(poolings)} need sentence vectors")
    base = base or lexical_index(testset, view)
    hits: dict[str, list[list[Hit]]] = {}
    lexical: list[list[Hit]] | None = None
    if any(v.kind != "dense" for v in variants):
        lexical = lexical_hits(base, queries, depth)
    for pooling in poolings:
        assert vectors is not None  # refused above
        encoder: SentenceEncoder = vectors
        index = _with_pooling(base, encoder, texts, pooling)
        searcher = Searcher(encoder, index)
        dense_deep = None
        for v in variants:
            if v.kind == "dense" and v.pooling == pooling:
                hits[v.name] = searcher.search(queries, top_k=TOP_K, mode="dense")
            elif v.kind == "hybrid" and v.pooling == pooling:
                assert lexical is not None
                if dense_deep is None:
                    dense_deep = searcher.search(queries, top_k=depth, mode="dense")
                fuser = Searcher(encoder, index, rrf_k=v.rrf_k, fusion=v.fusion, hybrid_weight=v.weight)
                hits[v.name] = fuser.fuse(dense_deep, lexical, TOP_K)
    for v in variants:
        if v.kind == "lexical":
            assert lexical is not None
            hits[v.name] = [row[:TOP_K] for row in lexical]
    return hits


def pair_similarities(pairs: Sequence[tuple[str, str]], vectors: TextVectors) -> np.ndarray:
    """[N] float64 cosine of each pair's two (L2-normalised) vectors."""
    a = np.stack([vectors[x] for x, _ in pairs]).astype(np.float64)  # [N, H]
    b = np.stack([vectors[y] for _, y in pairs]).astype(np.float64)  # [N, H]
    return np.einsum("ij,ij->i", a, b)
