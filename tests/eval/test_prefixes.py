"""Prefix pairs in the evaluation: the corpus behind the entry prefix and the queries behind the
query prefix give the hits the service serves; a comparison report equals one plain report per
pair; the cache keys the prefix each vector was encoded behind. Tiny random BERT (plumbing)."""

from __future__ import annotations

import pytest
from test_runner import CORPUS, QUERIES, by_variant, write_ranking, write_sts

from eval.cache import VectorCache, namespace
from eval.metrics import RANKING_METRICS, ranking_metrics
from eval.runner import evaluate, evaluate_prefixes, prefix_label, prefix_pairs
from eval.testset import load_testset
from eval.variants import parse_variants
from eval.vectors import cache_namespace
from indexing.build import index_from_entries
from indexing.searcher import Searcher
from indexing.store import FaqEntry
from indexing.vector_index import IndexParams

PAIRS = [("query: ", "query: "), ("query: ", "passage: ")]


@pytest.fixture(scope="module")
def asymmetric(tiny_encoder):
    return tiny_encoder.with_prefixes(prefix="query: ", entry_prefix="passage: ")


@pytest.fixture()
def ranking_set(tmp_path):
    return load_testset(write_ranking(tmp_path / "tiny"))


def test_offline_metrics_are_those_of_the_served_hits_with_two_prefixes(ranking_set, asymmetric):
    variants = parse_variants("mean,bm25,convex:bm25:w=0.8")
    report = evaluate(ranking_set, variants, baseline="mean", encoder=asymmetric)
    assert (report.model["prefix"], report.model["entry_prefix"]) == ("query: ", "passage: ")
    entries = [FaqEntry(id=i, question=t) for i, t in CORPUS]
    qrels = {}
    for q, e, g in [("q1", "e1", 1), ("q2", "e2", 1), ("q3", "e3", 2), ("q3", "e4", 1)]:
        qrels.setdefault(q, {})[e] = g
    results = by_variant(report)
    for variant in variants:
        # the service: its own index build (entries behind 'passage: ') and search (queries behind 'query: ')
        index, _ = index_from_entries(entries, asymmetric, variant.pooling, IndexParams())
        searcher = Searcher(asymmetric, index, fusion=variant.fusion, hybrid_weight=variant.weight)
        served = searcher.search([t for _, t in QUERIES], top_k=10, mode=variant.search_mode)
        run = {q: [h.id for h in row] for (q, _), row in zip(QUERIES, served, strict=True)}
        per_query = ranking_metrics(run, qrels)
        assert results[variant.name].metrics == {
            m: round(float(per_query[m].mean()), 6) for m in RANKING_METRICS
        }


def test_a_prefix_comparison_is_one_plain_report_per_pair(ranking_set, tiny_encoder):
    variants = parse_variants("mean,bm25")
    report = evaluate_prefixes(ranking_set, variants, tiny_encoder, PAIRS, baseline="bm25")
    names = [r.variant for r in report.results]
    assert names == [  # variants in the order asked, pair after pair
        "mean ['query: '/'query: ']",
        "bm25 ['query: '/'query: ']",
        "mean ['query: '/'passage: ']",
        "bm25 ['query: '/'passage: ']",
    ]
    assert report.baseline == "bm25 ['query: '/'query: ']"
    assert (report.model["prefix"], report.model["entry_prefix"]) == (
        ["query: ", "query: "],
        ["query: ", "passage: "],
    )
    results = by_variant(report)
    plain = {}
    for q, e in PAIRS:
        alone = evaluate(
            ranking_set,
            variants,
            baseline="bm25",
            encoder=tiny_encoder.with_prefixes(prefix=q, entry_prefix=e),
        )
        plain[q, e] = by_variant(alone)
        for name in ("mean", "bm25"):
            assert results[f"{name} [{prefix_label(q, e)}]"].metrics == plain[q, e][name].metrics
    # the two pairs do rank differently here, so the comparison compares something
    assert plain[PAIRS[0]]["bm25"].metrics != plain[PAIRS[1]]["bm25"].metrics
    assert report.skipped == []


def test_an_sts_set_refuses_pairs_that_differ_only_in_the_entry_prefix(tmp_path, tiny_encoder):
    sts = load_testset(write_sts(tmp_path / "pairs"))
    with pytest.raises(
        ValueError, match="is an STS set: both sentences of a pair are encoded behind the query prefix"
    ):
        evaluate_prefixes(sts, parse_variants("mean"), tiny_encoder, PAIRS, baseline="mean")
    report = evaluate_prefixes(
        sts,
        parse_variants("mean"),
        tiny_encoder,
        [("query: ", "query: "), ("passage: ", "passage: ")],
        baseline="mean",
    )
    assert [r.variant for r in report.results] == [
        "mean ['query: '/'query: ']",
        "mean ['passage: '/'passage: ']",
    ]


def test_prefix_pairs_broadcast_one_value_and_pair_the_rest_by_position():
    assert prefix_pairs([], ["query: ", "passage: "], "query: ", None) == PAIRS
    assert prefix_pairs(["a: ", "b: "], [], "query: ", None) == [
        ("a: ", "a: "),
        ("b: ", "b: "),
    ]  # unset follows
    assert prefix_pairs(["a: ", "b: "], [], "query: ", "passage: ") == [
        ("a: ", "passage: "),
        ("b: ", "passage: "),
    ]
    assert prefix_pairs(["a: ", "b: "], ["c: ", "d: "], "", None) == [("a: ", "c: "), ("b: ", "d: ")]
    assert prefix_pairs([], [], "query: ", None) == [("query: ", "query: ")]
    with pytest.raises(ValueError, match="3 --query-prefix and 2 --entry-prefix values"):
        prefix_pairs(["a", "b", "c"], ["d", "e"], "", None)
    with pytest.raises(ValueError, match="control or invisible characters"):
        prefix_pairs([], ["passage:\n"], "query: ", None)


def test_the_cache_keys_the_prefix_each_vector_was_encoded_behind(asymmetric, tmp_path):
    key = {
        "model_sha256": asymmetric.fingerprint,
        "max_length": asymmetric.max_length,
        "pooling": "mean",
        "bm25_sha256": None,
    }
    assert cache_namespace(asymmetric, "mean", None, "query") == namespace(prefix="query: ", **key)
    assert cache_namespace(asymmetric, "mean", None, "entry") == namespace(prefix="passage: ", **key)
    # an entry behind 'query: ' is the same vector as a query behind it: one cache row serves both
    symmetric = asymmetric.with_prefixes(entry_prefix="query: ")
    assert cache_namespace(symmetric, "mean", None, "entry") == cache_namespace(
        asymmetric, "mean", None, "query"
    )
    with VectorCache(tmp_path / "cache") as cache:
        testset = load_testset(write_ranking(tmp_path / "tiny"))
        first = evaluate(testset, parse_variants("mean"), encoder=asymmetric, cache=cache)
        cached = cache.get_many(
            cache_namespace(asymmetric, "mean", None, "entry"), [t for _, t in CORPUS], asymmetric.dim
        )
        assert sorted(cached) == sorted(t for _, t in CORPUS)
        expected = asymmetric.encode([t for _, t in CORPUS], "mean", role="entry").vectors
        for (_, text), vector in zip(CORPUS, expected, strict=True):
            assert (cached[text] == vector).all()
        again = evaluate(testset, parse_variants("mean"), encoder=asymmetric, cache=cache)
        assert by_variant(again)["mean"].metrics == by_variant(first)["mean"].metrics
