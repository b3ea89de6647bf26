"""Tests of eval.metrics: hand-computed values, edge cases, and per-query agreement with trec_eval."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy import stats

from eval.metrics import RANKING_METRICS, STS_METRICS, query_order, ranking_metrics, sts_metrics


def scores(run, qrels, query="q"):
    """The metrics of one query as plain floats."""
    out = ranking_metrics(run, qrels)
    position = query_order(qrels).index(query)
    return {name: float(values[position]) for name, values in out.items()}


# --- hand-computed examples ------------------------------------------------------------------------


def test_single_relevant_at_rank_3():
    out = scores({"q": ["x", "y", "a", "z"]}, {"q": {"a": 1}})
    assert out["mrr@10"] == pytest.approx(1 / 3, abs=1e-12)  # first relevant at rank 3 -> 1/3
    assert out["recall@1"] == 0.0  # not in the top 1
    assert out["recall@5"] == 1.0  # 1 of 1 relevant in the top 5
    assert out["recall@10"] == 1.0
    # DCG = 1 / log2(3 + 1) = 1/2; IDCG = 1 / log2(1 + 1) = 1  ->  nDCG = 0.5
    assert out["ndcg@10"] == pytest.approx(0.5, abs=1e-12)


def test_graded_ndcg_uses_linear_gain():
    # grades: a=2, b=1 relevant; c=0 judged non-relevant; z unjudged.  Ranking: c, a, z, b.
    out = scores({"q": ["c", "a", "z", "b"]}, {"q": {"a": 2, "b": 1, "c": 0}})
    # DCG  = 0/log2(2) + 2/log2(3) + 0/log2(4) + 1/log2(5) = 1.2618595 + 0.4306766 = 1.6925361
    # IDCG = 2/log2(2) + 1/log2(3)                          = 2 + 0.6309298     = 2.6309298
    # nDCG = 1.6925361 / 2.6309298 = 0.6433224   (gain = grade, trec_eval's linear gain;
    # the exponential gain 2**g - 1 would give (3/log2(3) + 1/log2(5)) / (3 + 1/log2(3)) = 0.6399)
    expected = (2 / math.log2(3) + 1 / math.log2(5)) / (2 + 1 / math.log2(3))
    assert out["ndcg@10"] == pytest.approx(expected, abs=1e-12)
    assert out["ndcg@10"] == pytest.approx(0.6433224, abs=1e-7)
    assert out["mrr@10"] == 0.5  # c has grade 0 (not relevant): first relevant is a at rank 2
    assert out["recall@1"] == 0.0
    assert out["recall@5"] == 1.0  # a and b, 2 of 2
    assert out["recall@10"] == 1.0


def test_recall_with_several_relevant_entries():
    # 3 relevant (a, b, c); a at rank 1, b at rank 4, c at rank 7
    run = {"q": ["a", "x1", "x2", "b", "x3", "x4", "c"]}
    out = scores(run, {"q": {"a": 1, "b": 1, "c": 1}})
    assert out["recall@1"] == pytest.approx(1 / 3, abs=1e-12)  # a
    assert out["recall@5"] == pytest.approx(2 / 3, abs=1e-12)  # a, b
    assert out["recall@10"] == 1.0  # a, b, c
    assert out["mrr@10"] == 1.0
    # DCG = 1/log2(2) + 1/log2(5) + 1/log2(8) = 1 + 0.4306766 + 1/3; IDCG = 1 + 1/log2(3) + 1/log2(4)
    expected = (1 + 1 / math.log2(5) + 1 / 3) / (1 + 1 / math.log2(3) + 0.5)
    assert out["ndcg@10"] == pytest.approx(expected, abs=1e-12)


def test_ideal_dcg_counts_relevant_entries_not_retrieved():
    # grade-3 entry never retrieved; the grade-1 entry at rank 1.
    out = scores({"q": ["b"]}, {"q": {"a": 3, "b": 1}})
    # DCG = 1/log2(2) = 1; IDCG = 3/log2(2) + 1/log2(3) = 3.6309298  ->  0.2754116
    assert out["ndcg@10"] == pytest.approx(1 / (3 + 1 / math.log2(3)), abs=1e-12)
    assert out["recall@10"] == 0.5
    assert out["mrr@10"] == 1.0


def test_relevant_at_rank_10_counts_and_rank_11_does_not():
    ranking = [f"x{i}" for i in range(9)] + ["a", "b"]  # a at rank 10, b at rank 11
    at_10 = scores({"q": ranking}, {"q": {"a": 1}})
    assert at_10["mrr@10"] == pytest.approx(0.1, abs=1e-12)  # 1/10
    assert at_10["recall@10"] == 1.0
    assert at_10["recall@5"] == 0.0
    assert at_10["ndcg@10"] == pytest.approx(1 / math.log2(11), abs=1e-12)  # 1/log2(10 + 1) = 0.289
    at_11 = scores({"q": ranking}, {"q": {"b": 1}})
    assert at_11 == {name: 0.0 for name in RANKING_METRICS}


def test_no_relevant_retrieved_scores_zero():
    assert scores({"q": ["x", "y", "z"]}, {"q": {"a": 2, "x": 0}}) == {name: 0.0 for name in RANKING_METRICS}


def test_query_missing_from_run_or_empty_ranking_scores_zero():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "q3": {"c": 1}}
    out = ranking_metrics({"q1": ["a"], "q3": [], "other": ["b"]}, qrels)  # "other" has no qrels
    for name in RANKING_METRICS:
        assert out[name].dtype == np.float64
        assert out[name].shape == (3,)
        assert out[name][1:].tolist() == [0.0, 0.0]  # q2 missing, q3 empty
        assert out[name][0] == 1.0


def test_order_is_sorted_query_ids():
    qrels = {"q2": {"a": 1}, "q10": {"a": 1}, "q1": {"a": 1}}
    run = {"q2": ["a"], "q10": ["x", "a"], "q1": ["x", "x2", "x3", "a"]}
    assert query_order(qrels) == ["q1", "q10", "q2"]
    assert ranking_metrics(run, qrels)["mrr@10"].tolist() == pytest.approx([1 / 4, 1 / 2, 1.0], abs=1e-12)


def test_metric_subset_and_single_name():
    qrels = {"q": {"a": 1}}
    out = ranking_metrics({"q": ["a"]}, qrels, metrics=("ndcg@10", "recall@1"))
    assert list(out) == ["ndcg@10", "recall@1"]
    assert list(ranking_metrics({"q": ["a"]}, qrels, metrics="mrr@10")) == ["mrr@10"]


def test_unknown_metric_lists_valid_names():
    with pytest.raises(ValueError, match="mrr@10, recall@1, recall@5, recall@10, ndcg@10"):
        ranking_metrics({"q": ["a"]}, {"q": {"a": 1}}, metrics=("map",))
    with pytest.raises(ValueError, match="spearman, pearson"):
        sts_metrics([1.0, 2.0], [1.0, 2.0], metrics=("kendall",))


def test_duplicate_ids_in_a_ranking_are_an_error():
    with pytest.raises(ValueError, match="duplicate"):
        ranking_metrics({"q": ["a", "b", "a"]}, {"q": {"a": 1}})
    # also beyond the cut-off: the run itself is malformed
    with pytest.raises(ValueError, match="duplicate"):
        ranking_metrics({"q": [f"x{i}" for i in range(12)] + ["x11"]}, {"q": {"a": 1}})


def test_query_without_relevant_entry_is_an_error():
    with pytest.raises(ValueError, match="no relevant"):
        ranking_metrics({"q": ["a"]}, {"q": {"a": 0}})
    with pytest.raises(ValueError, match="empty"):
        ranking_metrics({}, {})
    with pytest.raises(TypeError):
        ranking_metrics({"q": "abc"}, {"q": {"a": 1}})


# --- agreement with trec_eval (pytrec_eval), per query ------------------------------------------------


def random_collection(seed: int, n_queries: int = 300, n_entries: int = 40):
    rng = random.Random(seed)
    entries = [f"e{i}" for i in range(n_entries)]
    qrels, run = {}, {}
    for q in range(n_queries):
        qid = f"q{q}"
        judged = rng.sample(entries, rng.randint(1, 8))
        grades = {e: rng.choice([0, 1, 1, 2, 3]) for e in judged}
        grades[judged[0]] = rng.randint(1, 3)  # at least one relevant
        qrels[qid] = grades
        if rng.random() < 0.05:
            continue  # query missing from the run
        run[qid] = rng.sample(entries, rng.randint(0, 25))
    return run, qrels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_per_query_equality_with_pytrec_eval(seed):
    import pytrec_eval  # the reference: trec_eval via pytrec-eval-terrier (a test dependency)

    run, qrels = random_collection(seed)
    ours = ranking_metrics(run, qrels)

    # trec_eval ranks by score: give strictly decreasing scores so the order is the run's own.
    def scored(ranking):
        return {entry: float(len(ranking) - i) for i, entry in enumerate(ranking)}

    full = {q: scored(r) for q, r in run.items() if r}
    top10 = {q: scored(r[:10]) for q, r in run.items() if r}  # recip_rank on the cut run = MRR@10
    measures = {"recall_1", "recall_5", "recall_10", "ndcg_cut_10"}
    reference = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(full)
    reference_rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
    names = {
        "recall@1": "recall_1",
        "recall@5": "recall_5",
        "recall@10": "recall_10",
        "ndcg@10": "ndcg_cut_10",
    }
    n_nonzero = 0
    for position, qid in enumerate(query_order(qrels)):
        # trec_eval leaves out queries without results; they score 0 here.
        expected = {ours_name: reference.get(qid, {}).get(ref, 0.0) for ours_name, ref in names.items()}
        expected["mrr@10"] = reference_rr.get(qid, {}).get("recip_rank", 0.0)
        for name, value in expected.items():
            assert ours[name][position] == pytest.approx(value, abs=1e-9), (qid, name)
        n_nonzero += expected["ndcg@10"] > 0
    assert n_nonzero > 100  # the comparison is not vacuous


# --- STS -----------------------------------------------------------------------------------------


def test_sts_hand_computed():
    # x = 1,2,3; y = 2,4,7: centred x = -1,0,1, y = -7/3,-1/3,8/3; Sxy = 5, Sxx = 2, Syy = 114/9
    # r = 5 / sqrt(2 * 114/9) = 15 / sqrt(228) = 0.993399; the ranks are equal -> rho = 1
    out = sts_metrics([1.0, 2.0, 3.0], [2.0, 4.0, 7.0])
    assert out["pearson"] == pytest.approx(15 / math.sqrt(228), abs=1e-12)
    assert out["spearman"] == pytest.approx(1.0, abs=1e-12)
    # ties averaged: ranks x = 1, 2.5, 2.5, 4; y = 1, 3, 2, 4 -> centred x = -1.5,0,0,1.5,
    # y = -1.5,.5,-.5,1.5; Sxy = 4.5, Sxx = 4.5, Syy = 5 -> rho = 4.5 / sqrt(22.5) = 0.948683
    rho = sts_metrics([1.0, 2.0, 2.0, 3.0], [1.0, 3.0, 2.0, 4.0], metrics=("spearman",))
    assert rho == {"spearman": pytest.approx(4.5 / math.sqrt(22.5), abs=1e-12)}


def test_sts_equals_scipy():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 6, 500).astype(float)  # STS-style 0..5 with many ties
    predicted = gold + rng.normal(0, 1.5, 500)
    out = sts_metrics(predicted, gold)
    assert tuple(out) == STS_METRICS
    assert out["spearman"] == pytest.approx(stats.spearmanr(predicted, gold).statistic, abs=1e-12)
    assert out["pearson"] == pytest.approx(stats.pearsonr(predicted, gold).statistic, abs=1e-12)


def test_sts_input_errors():
    with pytest.raises(ValueError, match="equal length"):
        sts_metrics([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="at least 2"):
        sts_metrics([1.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        sts_metrics([1.0, float("nan")], [1.0, 2.0])
