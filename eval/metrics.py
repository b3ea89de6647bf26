"""Offline evaluation metrics: per-query ranking metrics and STS correlations.

Ranking metrics are returned *per query* (one numpy array per metric, one value per query, in
sorted query-id order) so that `eval.significance` can run paired tests and bootstrap intervals
over the very same queries; the reported score is the array's mean.

They are written by hand in plain Python/numpy rather than taken from a library because the
maintained ones either give only means or need extra work to give per-query values for exactly
these cut-offs (trec_eval/pytrec_eval has no MRR@10 and silently drops queries absent from the
run), or pull in heavy dependencies (ranx needs numba). The definitions follow trec_eval and are
checked per query, to 1e-9, against `pytrec_eval` (pytrec-eval-terrier) in
`tests/eval/test_metrics.py`:

- ``mrr@10``: 1 / rank of the first relevant entry in the top 10, 0 if there is none
  (trec_eval ``recip_rank`` on the run cut at 10).
- ``recall@k`` (k = 1, 5, 10): relevant entries in the top k / all relevant entries of the query
  (trec_eval ``recall_k``). With a single relevant entry this is the hit rate (success@k).
- ``ndcg@10``: DCG@10 / IDCG@10 with *linear* gain = the qrels grade (as trec_eval
  ``ndcg_cut_10``; not the exponential 2**grade - 1) and the log2 discount:
  DCG@10 = sum_{i=1..10} grade(entry at rank i) / log2(i + 1);
  IDCG@10 is the same sum over the query's relevant grades sorted high to low (the ideal ranking
  from the qrels, whether or not those entries were retrieved).

Conventions: an entry is relevant when its grade is > 0; entries missing from the qrels or with
grade <= 0 count as non-relevant (gain 0). Scores are computed over the qrels' queries only
(run queries without qrels are ignored); a query missing from the run (or with an empty ranking)
scores 0 on every metric. A query whose qrels hold no relevant entry makes recall and nDCG
undefined and raises ``ValueError`` (trec_eval would score it 0 and silently lower the mean).
A ranking that lists the same entry id twice raises ``ValueError``: it means the retriever did
not deduplicate (e.g. several paraphrases of one FAQ entry), which the evaluation must not hide.

STS metrics (`sts_metrics`) are Spearman's rho and Pearson's r between predicted similarities and
gold scores, from ``scipy.stats``; they exist only over the whole set of pairs, not per item.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence

import numpy as np
from scipy import stats

from models.errors import InvalidValueError

__all__ = [
    "RANKING_METRICS",
    "STS_METRICS",
    "query_order",
    "ranking_metrics",
    "sts_metrics",
]

RANKING_METRICS: tuple[str, ...] = ("mrr@10", "recall@1", "recall@5", "recall@10", "ndcg@10")
STS_METRICS: tuple[str, ...] = ("spearman", "pearson")

Run = Mapping[str, Sequence[Hashable]]
"""For each query id, the retrieved entry ids ranked best first."""
Qrels = Mapping[str, Mapping[Hashable, int]]
"""For each query id, the graded judgements: entry id -> grade (> 0 means relevant)."""


def _check_names(metrics: Iterable[str], valid: tuple[str, ...], kind: str) -> tuple[str, ...]:
    if isinstance(metrics, str):  # a bare name would otherwise be iterated letter by letter
        metrics = (metrics,)
    names = tuple(metrics)
    unknown = [name for name in names if name not in valid]
    if unknown:
        raise InvalidValueError(f"unknown {kind} metric(s) {unknown}; valid: {', '.join(valid)}")
    return names


def _cutoff(name: str) -> int:
    return int(name.split("@", 1)[1])


def query_order(qrels: Qrels) -> list[str]:
    """The query ids in the order used by `ranking_metrics` (sorted), so positions map back to ids."""
    return sorted(qrels)


def _one_query(
    query_id: str, ranking: Sequence[Hashable], judged: Mapping[Hashable, int], names: tuple[str, ...]
) -> list[float]:
    if isinstance(ranking, str | bytes):
        raise TypeError(f"query {query_id!r}: the ranking must be a sequence of entry ids, not a string")
    ranking = list(ranking)
    if len(set(ranking)) != len(ranking):
        seen: set[Hashable] = set()
        duplicates = []
        for entry in ranking:
            if entry in seen:
                duplicates.append(entry)
            seen.add(entry)
        raise ValueError(f"query {query_id!r}: duplicate entry ids in the ranking: {duplicates[:5]}")
    relevant = {entry: grade for entry, grade in judged.items() if grade > 0}
    if not relevant:
        raise ValueError(f"query {query_id!r} has no relevant entry (grade > 0) in the qrels")

    cutoffs = [_cutoff(name) for name in names]
    gains = [relevant.get(entry, 0) for entry in ranking[: max(cutoffs)]]
    ideal = sorted(relevant.values(), reverse=True)
    out = []
    for name, k in zip(names, cutoffs, strict=True):
        top = gains[:k]
        if name.startswith("mrr@"):
            first = next((i for i, g in enumerate(top) if g > 0), None)
            out.append(0.0 if first is None else 1.0 / (first + 1))
        elif name.startswith("recall@"):
            out.append(sum(1 for g in top if g > 0) / len(relevant))
        elif name.startswith("ndcg@"):
            dcg = sum(g / math.log2(i + 2) for i, g in enumerate(top))
            idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal[:k]))
            out.append(dcg / idcg)
        else:  # pragma: no cover - names are validated against RANKING_METRICS
            raise AssertionError(name)
    return out


def ranking_metrics(
    run: Run, qrels: Qrels, metrics: Iterable[str] = RANKING_METRICS
) -> dict[str, np.ndarray]:
    """Per-query ranking metrics of `run` judged by `qrels`.

    Returns ``{metric name: float64 array of shape (Q,)}`` with one value per query of `qrels`,
    in `query_order(qrels)` (sorted query ids), so arrays of two runs judged by the same qrels
    are paired position by position. ``array.mean()`` is the usual averaged score.
    Definitions and conventions are in the module docstring.

    Raises ValueError for an unknown metric name (listing the valid ones), empty qrels, a query
    with no relevant entry, or a ranking with duplicate entry ids.
    """
    names = _check_names(metrics, RANKING_METRICS, "ranking")
    order = query_order(qrels)
    if not order:
        raise ValueError("qrels are empty")
    values = np.zeros((len(names), len(order)), dtype=np.float64)
    if names:
        for j, query_id in enumerate(order):
            values[:, j] = _one_query(query_id, run.get(query_id, ()), qrels[query_id], names)
    return {name: values[i] for i, name in enumerate(names)}


def sts_metrics(
    predicted: Sequence[float] | np.ndarray,
    gold: Sequence[float] | np.ndarray,
    metrics: Iterable[str] = STS_METRICS,
) -> dict[str, float]:
    """Correlation of predicted similarities with gold scores over all pairs.

    ``spearman`` = `scipy.stats.spearmanr` (Pearson on average ranks, ties averaged);
    ``pearson`` = `scipy.stats.pearsonr`. A constant input makes a correlation undefined:
    scipy then warns and the value is NaN.

    Raises ValueError for an unknown metric name, inputs of different lengths, fewer than 2 pairs
    or non-finite values.
    """
    names = _check_names(metrics, STS_METRICS, "STS")
    x = np.asarray(predicted, dtype=np.float64)
    y = np.asarray(gold, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"predicted and gold must be 1-D of equal length, got {x.shape} and {y.shape}")
    if x.size < 2:
        raise ValueError("need at least 2 pairs")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("predicted and gold must be finite")
    out: dict[str, float] = {}
    for name in names:
        if name == "spearman":
            out[name] = float(stats.spearmanr(x, y).statistic)
        else:
            out[name] = float(stats.pearsonr(x, y).statistic)
    return out
