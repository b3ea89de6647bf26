"""Answerability: entries removed by seed, and AUC / 90%-precision threshold against hand-derived values."""

from __future__ import annotations

import numpy as np
import pytest

from eval.answerability import separation, threshold_score, without_entries
from eval.testset import CorpusEntry, Query, RankingSet


def test_auc_and_threshold_by_hand():
    # answerable: 0.9, 0.8, 0.6, 0.3; unanswerable: 0.7, 0.2.
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.3, 0.2])
    has = np.array([True, True, False, True, True, False])
    result = separation(scores, has)
    # pairs (pos > neg) of 4 x 2: 0.9 0.8 0.6 beat both... 0.6 beats 0.2 only; 0.3 beats 0.2 only
    # 0.9: 2, 0.8: 2, 0.6: 1, 0.3: 1 -> 6 of 8
    assert result.auc == pytest.approx(6 / 8)
    # precision from the top: 1, 1, 2/3, 3/4, 4/5, 4/6 -> >= 0.9 only down to 0.8
    assert (result.threshold, result.recall_at_threshold) == (0.8, 0.5)
    assert (result.answerable, result.unanswerable) == (4, 2)


def test_ties_are_never_cut_and_an_unreachable_target_says_so():
    scores = np.array([0.5, 0.5, 0.4])
    has = np.array([True, False, True])
    result = separation(scores, has)
    assert result.auc == pytest.approx((0.5 + 0) / 2)  # 0.5 ties 0.5 (half), 0.4 loses to 0.5
    assert result.threshold is None and result.recall_at_threshold == 0.0


def test_removed_entries_take_their_queries_answers_with_them():
    corpus = [CorpusEntry(f"e{i}", f"질문 {i}") for i in range(6)]
    queries = [Query(f"q{i}", f"물음 {i}") for i in range(6)]
    qrels = {f"q{i}": {f"e{i}": 1} for i in range(6)}
    qrels["q0"]["e1"] = 1
    testset = RankingSet("tiny", corpus, queries, qrels)
    reduced, answerable = without_entries(testset, share=1 / 3, seed=0)
    removed = {e.id for e in corpus} - {e.id for e in reduced.corpus}
    assert len(removed) == 2 and reduced.queries == queries
    expected = {q for q, rel in qrels.items() if set(rel) - removed}
    assert answerable == expected
    assert all(not (set(rel) & removed) for rel in reduced.qrels.values())
    assert without_entries(testset, share=1 / 3, seed=0)[1] == answerable  # seeded


def test_the_threshold_score_is_what_min_score_compares():
    from indexing.searcher import Hit

    # hybrid: ranked by the fused score, thresholded on the best cosine among the hits
    assert threshold_score([Hit("a", 1.0, None, 0.81), Hit("b", 0.4, None, 0.86), Hit("c", 0.2)]) == 0.86
    assert threshold_score([Hit("a", 12.5), Hit("b", 3.0)]) == 12.5  # lexical only: no cosines
    assert threshold_score([]) == -np.inf


def test_one_threshold_for_every_set_is_set_by_the_strictest():
    from eval.answerability import common_threshold

    # set a meets 90% precision from 0.7 up (scores >= 0.7: 9 answerable of 10); set b only from
    # 0.85 (>= 0.8 keeps 0.8 without an answer: 3 of 4 = 0.75; >= 0.85: 3 of 3)
    a_scores = np.array([0.95, 0.9, 0.9, 0.88, 0.86, 0.8, 0.78, 0.75, 0.72, 0.7, 0.6, 0.5])
    a_answer = np.array([1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0], dtype=bool)
    b_scores = np.array([0.97, 0.9, 0.85, 0.8, 0.6])
    b_answer = np.array([1, 1, 1, 0, 1], dtype=bool)
    threshold, at = common_threshold({"a": (a_scores, a_answer), "b": (b_scores, b_answer)})
    assert threshold == 0.85
    assert at["a"].precision == 1.0 and at["a"].recall == 5 / 9  # 0.95 0.9 0.9 0.88 0.86
    assert at["b"].precision == 1.0 and at["b"].recall == 3 / 4
    # the best-scoring query has no answer and the rest are too few: never 90%
    assert common_threshold({"c": (np.array([0.9, 0.8]), np.array([False, True]))}) == (None, {})
