"""Does the top score tell a query the collection answers from one it does not?

A service that shows "no answer found" needs a threshold (`min_score`) on its top hit's score. To
choose one by evidence: remove a fixed share of a ranking set's entries (seeded), so that the
queries whose every relevant entry was removed have no answer in what is left; search all queries
against the rest; then per variant:

- **AUC**: the chance that a query with an answer has a higher top score than one without
  (Mann-Whitney U / (n_with * n_without), scipy; ties count half);
- **threshold at 90% precision**: the lowest top score t such that, of the queries scoring >= t,
  at least 90% have an answer; and the share of answerable queries kept there (recall).

The score is what the service's `min_score` compares, so a threshold measured here is a
`min_score` a client can send: the best dense cosine among the query's hits (`Hit.cosine`, in
every mode with a dense side; a search answers nothing at `min_score` t exactly when it is below
t). A lexical-only variant has no cosines: its top BM25 score stands in (a reference, not a
service setting).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from eval.testset import RankingSet
from models.errors import InvalidValueError

PRECISION_TARGET = 0.9
REMOVED_SHARE = 1 / 3
SEED = 0


def without_entries(
    testset: RankingSet, share: float = REMOVED_SHARE, seed: int = SEED
) -> tuple[RankingSet, set[str]]:
    """`testset` with `share` of its entries removed (seeded) and qrels limited to the rest; every
    query is kept. Returns it and the ids of the queries that still have an answer."""
    ids = sorted(e.id for e in testset.corpus)
    removed = set(random.Random(seed).sample(ids, round(len(ids) * share)))
    corpus = [e for e in testset.corpus if e.id not in removed]
    qrels = {q: {e: g for e, g in rel.items() if e not in removed} for q, rel in testset.qrels.items()}
    answerable = {q for q, rel in qrels.items() if rel}
    reduced = RankingSet(f"{testset.name} without {share:.0%} of entries", corpus, testset.queries, qrels)
    return reduced, answerable


@dataclass(frozen=True)
class Separation:
    auc: float
    threshold: float | None  # None: no threshold reaches the precision target
    recall_at_threshold: float
    answerable: int
    unanswerable: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "auc": round(self.auc, 4),
            "threshold_at_90_precision": None if self.threshold is None else round(self.threshold, 4),
            "recall_at_threshold": round(self.recall_at_threshold, 4),
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
        }


def threshold_score(hits: Sequence[Any]) -> float:
    """The score `min_score` is compared with for one query's hits (`indexing.searcher.Hit`): the
    best cosine among them; without any cosine (lexical only) the top score; none: -inf."""
    cosines = [h.cosine for h in hits if h.cosine is not None]
    if cosines:
        return max(cosines)
    return hits[0].score if hits else -np.inf


def separation(
    top_scores: np.ndarray, has_answer: np.ndarray, target: float = PRECISION_TARGET
) -> Separation:
    """AUC and the 90%-precision threshold of `top_scores` [Q] for the labels `has_answer` [Q]."""
    from scipy.stats import mannwhitneyu

    pos, neg = top_scores[has_answer], top_scores[~has_answer]
    if not len(pos) or not len(neg):
        raise InvalidValueError("need queries with and without an answer to measure separation")
    auc = float(mannwhitneyu(pos, neg, alternative="two-sided").statistic) / (len(pos) * len(neg))
    order = np.argsort(-top_scores, kind="stable")
    scores, labels = top_scores[order], has_answer[order]
    kept_pos = np.cumsum(labels)
    precision = kept_pos / np.arange(1, len(labels) + 1)
    # A cut can only fall between distinct scores: the last index of each run of equal scores.
    last_of_run = np.r_[scores[1:] != scores[:-1], True]
    ok = np.flatnonzero(last_of_run & (precision >= target))
    if not len(ok):
        return Separation(auc, None, 0.0, len(pos), len(neg))
    i = ok[-1]  # the lowest threshold that still meets the target
    return Separation(auc, float(scores[i]), float(kept_pos[i]) / len(pos), len(pos), len(neg))


@dataclass(frozen=True)
class AtThreshold:
    precision: float
    recall: float  # share of the answerable queries kept


def at_threshold(top_scores: np.ndarray, has_answer: np.ndarray, threshold: float) -> AtThreshold:
    """Precision and recall of answering exactly the queries whose score is >= `threshold`."""
    kept = top_scores >= threshold
    precision = float(has_answer[kept].mean()) if kept.any() else 1.0
    return AtThreshold(precision, float((has_answer & kept).sum()) / max(int(has_answer.sum()), 1))


def common_threshold(
    sets: dict[str, tuple[np.ndarray, np.ndarray]], target: float = PRECISION_TARGET
) -> tuple[float | None, dict[str, AtThreshold]]:
    """The lowest threshold at which every set {name: (top_scores, has_answer)} answers with at
    least `target` precision, and each set's precision and recall there; (None, {}) if none does.
    One `min_score` for every kind of collection: the strictest set decides."""
    candidates = np.unique(np.concatenate([scores[np.isfinite(scores)] for scores, _ in sets.values()]))
    meets = np.ones(len(candidates), dtype=bool)
    for scores, answer in sets.values():
        order = np.argsort(scores, kind="stable")
        ordered, positive = scores[order], answer[order].astype(np.int64)
        # kept at threshold t: the queries from the first score >= t to the end
        start = np.searchsorted(ordered, candidates, side="left")
        kept = len(ordered) - start
        positives_from = np.r_[np.cumsum(positive[::-1])[::-1], 0]
        precision = np.where(kept > 0, positives_from[start] / np.maximum(kept, 1), 1.0)
        meets &= precision >= target
    if not meets.any():
        return None, {}
    threshold = float(candidates[np.argmax(meets)])  # ascending: the first that meets it everywhere
    return threshold, {name: at_threshold(s, a, threshold) for name, (s, a) in sets.items()}


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"{result['testset']}: {result['removed_share']:.0%} of entries removed (seed {result['seed']}), "
        f"{result['answerable']} queries with an answer left, {result['unanswerable']} without\n",
        "| variant | AUC | top-score threshold at 90% precision | answerable queries kept there |",
        "|---|---|---|---|",
    ]
    for name, row in result["variants"].items():
        threshold = row["threshold_at_90_precision"]
        shown = "not reached" if threshold is None else f"{threshold:.4f}"
        lines.append(f"| `{name}` | {row['auc']:.3f} | {shown} | {row['recall_at_threshold']:.3f} |")
    return "\n".join(lines) + "\n"


def common_threshold_table(folder: Path, target: float = PRECISION_TARGET) -> str:
    """Markdown: per variant (those with cosines, in every set's `answerability.json` under
    `folder`), the one threshold meeting `target` precision on every set, and each set's
    precision and recall there."""
    import json

    results = {
        path.parent.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(folder.glob("*/answerability.json"))
    }
    if not results:
        raise InvalidValueError(
            f"no */answerability.json under {folder}: run `faqsearch eval --answerability` first"
        )
    names = sorted(results)
    variants = [
        v
        for v in next(iter(results.values()))["top_scores"]
        if v != "bm25_lexical" and all(v in r["top_scores"] for r in results.values())
    ]  # BM25 scores are not comparable across collections
    lines = [
        f"One min_score for every set: the lowest top cosine at which each set's answered queries are "
        f">= {target:.0%} answerable (precision / recall per set).\n",
        "| variant | min_score | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for variant in variants:
        sets = {
            name: (
                np.array([-np.inf if t is None else t for t in results[name]["top_scores"][variant]]),
                np.array(results[name]["has_answer"], dtype=bool),
            )
            for name in names
        }
        threshold, at = common_threshold(sets, target)
        cells = [f"{at[n].precision:.3f} / {at[n].recall:.3f}" for n in names] if at else ["–"] * len(names)
        shown = "not reached" if threshold is None else f"{threshold:.4f}"
        lines.append(f"| `{variant}` | {shown} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m eval.answerability eval/reports/answerability
    import sys

    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "eval/reports/answerability")
    table = common_threshold_table(folder)
    (folder / "common_threshold.md").write_text(table, encoding="utf-8")
    print(table, end="")
