"""Hybrid fusion of dense and lexical hits: the one home for score scales.

Dense scores are cosines (absolute: `min_score` compares them), BM25 scores are unbounded and
relative to the query, so hybrid search never adds the two raw. Two ways to fuse (`fusion`):
- `rrf`: reciprocal rank fusion, score = sum over modes of 1 / (rrf_k + rank), rank from 1;
- `convex`: score = w * dense' + (1 - w) * bm25', w = `hybrid_weight`, where each mode's scores are
  min-max normalised over that query's candidates of that mode (best 1, worst 0) and an entry that
  one mode did not return gets 0 from it. Unlike RRF it keeps how far apart the scores are.
Both fuse the top `hybrid_depth(top_k)` hits of each mode; ties go by id, so results are stable.

`Hit` lives here because fusion is where hits of two scales become one list; `indexing.searcher`
re-exports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from models.errors import InvalidValueError
from models.options import DEFAULT_RRF_K, FUSIONS

HYBRID_CANDIDATES = 100  # hits taken from each mode before fusion


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    # Which text of the entry matched: (kind, index, start, end) as in `indexing.rows`. Dense: the
    # best-scoring row; hybrid: the dense side's, else as lexical; lexical (BM25 scores the entry's
    # texts as one document): the row whose own terms weigh most for the query (`lexical_sources`).
    # None: not known (no store to read the texts from), to be read as the question.
    source: tuple[str, int, int, int] | None = field(default=None, compare=False)
    # The entry's dense score (its best row's cosine, answer rows weighted), whatever the mode:
    # what `min_score` compares in every mode. None: the entry is not among the dense candidates
    # of the query (`hybrid_depth`), so its dense score is below all of theirs.
    cosine: float | None = field(default=None, compare=False)


def hybrid_depth(top_k: int) -> int:
    """How many hits hybrid search takes from each mode before fusing them into `top_k`."""
    return max(top_k, HYBRID_CANDIDATES)


def check_fusion(fusion: str, weight: float, rrf_k: int = DEFAULT_RRF_K) -> None:
    if rrf_k < 1:
        raise InvalidValueError(f"rrf_k must be >= 1, got {rrf_k}")
    if fusion not in FUSIONS:
        raise InvalidValueError(f"unknown hybrid fusion {fusion!r}; valid: {', '.join(FUSIONS)}")
    if not 0.0 <= weight <= 1.0:
        raise InvalidValueError(f"hybrid_weight must be within [0, 1], got {weight}")


def _ranked(fused: dict[str, float], top_k: int) -> list[Hit]:
    ordered = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
    return [Hit(faq_id, score) for faq_id, score in ordered[:top_k]]


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int, top_k: int) -> list[Hit]:
    """Fuse ranked id lists: score(id) = sum of 1 / (k + rank), rank from 1; ties by id."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, faq_id in enumerate(ranking, start=1):
            fused[faq_id] = fused.get(faq_id, 0.0) + 1.0 / (k + rank)
    return _ranked(fused, top_k)


def min_max(hits: Sequence[Hit]) -> dict[str, float]:
    """Scores scaled to [0, 1] over the list (best 1); all equal (or a single hit): all 1."""
    if not hits:
        return {}
    low = min(h.score for h in hits)
    span = max(h.score for h in hits) - low
    if span <= 0:
        return {h.id: 1.0 for h in hits}
    return {h.id: (h.score - low) / span for h in hits}


def convex_fusion(dense: Sequence[Hit], lexical: Sequence[Hit], weight: float, top_k: int) -> list[Hit]:
    """Fuse dense and lexical hits: weight * minmax(dense) + (1 - weight) * minmax(lexical), an id
    missing from a list scoring 0 there; ties by id."""
    fused: dict[str, float] = {}
    for hits, share in ((dense, weight), (lexical, 1.0 - weight)):
        for faq_id, scaled in min_max(hits).items():
            fused[faq_id] = fused.get(faq_id, 0.0) + share * scaled
    return _ranked(fused, top_k)


def fuse_hits(
    dense: Sequence[Hit], lexical: Sequence[Hit], top_k: int, *, fusion: str, rrf_k: int, weight: float
) -> list[Hit]:
    """One query's hybrid hits from its dense and lexical hits, each fused hit keeping the dense
    side's matched text and cosine (lexical scores whole entries, so it has neither)."""
    if fusion == "convex":
        fused = convex_fusion(dense, lexical, weight, top_k)
    else:
        fused = reciprocal_rank_fusion([[h.id for h in dense], [h.id for h in lexical]], rrf_k, top_k)
    by_id = {h.id: h for h in dense}
    return [Hit(h.id, h.score, by_id[h.id].source, by_id[h.id].cosine) if h.id in by_id else h for h in fused]
