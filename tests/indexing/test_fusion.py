"""Fusion of dense and lexical scores (`indexing.fusion`): by hand, and inside `Searcher` hybrid search."""

from pathlib import Path

import pytest

from indexing.build import index_from_entries
from indexing.faq_import import read_faq_file
from indexing.fusion import (
    HYBRID_CANDIDATES,
    Hit,
    check_fusion,
    convex_fusion,
    fuse_hits,
    hybrid_depth,
    min_max,
    reciprocal_rank_fusion,
)
from indexing.searcher import Searcher
from indexing.vector_index import IndexParams

SAMPLE = Path(__file__).resolve().parents[2] / "testsets/sample_faq/faqs.csv"
QUERIES = ["비밀번호를 잊어버렸어요", "기초연금은 누가 받을 수 있나요?", "아이디 찾기", "ㅋㅋㅋ"]


def test_rrf_by_hand():
    hits = reciprocal_rank_fusion([["a", "b", "c"], ["c", "a"]], k=1, top_k=3)
    # a: 1/2 + 1/3, c: 1/4 + 1/2, b: 1/3
    assert [(h.id, round(h.score, 6)) for h in hits] == [("a", 0.833333), ("c", 0.75), ("b", 0.333333)]


def test_rrf_with_k_60_ties_single_and_empty_lists():
    # x: 1/61 + 1/62, y: 1/62 + 1/61: a tie, broken by id; z only in the first list at rank 3
    hits = reciprocal_rank_fusion([["y", "x", "z"], ["x", "y"]], k=60, top_k=5)
    assert [h.id for h in hits] == ["x", "y", "z"]
    assert [h.score for h in hits] == [1 / 61 + 1 / 62, 1 / 62 + 1 / 61, 1 / 63]
    assert reciprocal_rank_fusion([["only"], []], k=60, top_k=5) == [Hit("only", 1 / 61)]
    assert reciprocal_rank_fusion([[], []], k=60, top_k=5) == []
    assert reciprocal_rank_fusion([["a", "b", "c"]], k=1, top_k=2) == [Hit("a", 1 / 2), Hit("b", 1 / 3)]


def test_min_max_by_hand():
    assert min_max([Hit("a", 3.0), Hit("b", 2.0), Hit("c", 1.0), Hit("d", 2.5)]) == {
        "a": 1.0,
        "b": 0.5,
        "c": 0.0,
        "d": 0.75,
    }
    assert min_max([Hit("a", 0.4)]) == {"a": 1.0}  # a single hit is the best one
    assert min_max([Hit("a", 0.4), Hit("b", 0.4)]) == {"a": 1.0, "b": 1.0}  # no span: all best
    assert min_max([]) == {}


def test_convex_fusion_by_hand():
    dense = [Hit("a", 0.9), Hit("b", 0.8), Hit("c", 0.5)]  # min-max: a 1, b 0.75, c 0
    lexical = [Hit("c", 12.0), Hit("d", 4.0), Hit("a", 2.0)]  # min-max: c 1, d 0.2, a 0
    hits = convex_fusion(dense, lexical, weight=0.6, top_k=3)
    # a: 0.6 * 1 + 0.4 * 0 = 0.6; b: 0.6 * 0.75 = 0.45; c: 0.6 * 0 + 0.4 * 1 = 0.4; d: 0.4 * 0.2 = 0.08
    assert [(h.id, round(h.score, 6)) for h in hits] == [("a", 0.6), ("b", 0.45), ("c", 0.4)]
    assert [(h.id, round(h.score, 6)) for h in convex_fusion(dense, lexical, 0.6, 10)][3:] == [("d", 0.08)]


def test_convex_fusion_edge_cases():
    # a single lexical hit gets the full lexical weight; no lexical hit leaves the dense order
    hits = convex_fusion([Hit("a", 0.9), Hit("b", 0.1)], [Hit("b", 3.0)], 0.5, 2)
    assert [(h.id, h.score) for h in hits] == [("a", 0.5), ("b", 0.5)]  # tie: by id
    assert convex_fusion([Hit("b", 0.9), Hit("a", 0.1)], [], 0.3, 5) == [Hit("b", 0.3), Hit("a", 0.0)]
    assert [h.id for h in convex_fusion([], [Hit("x", 1.0)], 1.0, 5)] == ["x"]
    assert convex_fusion([], [], 0.5, 5) == []
    # weight 1: the lexical side adds 0 to everyone, but its entries still take part (score 0)
    assert convex_fusion([Hit("a", 2.0), Hit("b", 1.0)], [Hit("c", 5.0)], 1.0, 5) == [
        Hit("a", 1.0),
        Hit("b", 0.0),
        Hit("c", 0.0),
    ]


def test_fuse_hits_keeps_the_dense_sides_source_and_cosine():
    source = ("alternate", 1, 0, 0)
    dense = [Hit("a", 0.9, source, 0.9), Hit("b", 0.5, None, 0.5)]
    lexical = [Hit("c", 7.0), Hit("a", 3.0)]
    hits = fuse_hits(dense, lexical, 3, fusion="rrf", rrf_k=1, weight=0.5)
    # a: 1/2 + 1/3, c: 1/2, b: 1/3
    assert [(h.id, h.score, h.source, h.cosine) for h in hits] == [
        ("a", 1 / 2 + 1 / 3, source, 0.9),
        ("c", 1 / 2, None, None),
        ("b", 1 / 3, None, 0.5),
    ]
    convex = fuse_hits(dense, lexical, 3, fusion="convex", rrf_k=1, weight=0.5)
    # a: 0.5 * 1 + 0.5 * 0 = 0.5, c: 0.5 * 1 = 0.5 (tie: by id), b: 0
    assert [(h.id, h.score, h.cosine) for h in convex] == [("a", 0.5, 0.9), ("c", 0.5, None), ("b", 0.0, 0.5)]


def test_hybrid_depth_and_setting_checks():
    assert hybrid_depth(5) == HYBRID_CANDIDATES == 100 and hybrid_depth(250) == 250
    check_fusion("rrf", 0.0, 1)
    check_fusion("convex", 1.0)
    with pytest.raises(ValueError, match="rrf_k must be >= 1, got 0"):
        check_fusion("rrf", 0.5, 0)


def test_bad_fusion_settings_are_value_errors(tiny_encoder):
    entries = read_faq_file(SAMPLE)[:5]
    index, _ = index_from_entries(entries, tiny_encoder, "mean", IndexParams())
    with pytest.raises(ValueError, match="unknown hybrid fusion 'mix'; valid: rrf, convex"):
        Searcher(tiny_encoder, index, fusion="mix")
    with pytest.raises(ValueError, match=r"hybrid_weight must be within \[0, 1\], got 1.5"):
        Searcher(tiny_encoder, index, fusion="convex", hybrid_weight=1.5)


def test_hybrid_search_with_convex_fusion_fuses_the_two_modes_hits(tiny_encoder):
    entries = read_faq_file(SAMPLE)[:40]
    index, _ = index_from_entries(entries, tiny_encoder, "mean", IndexParams())
    searcher = Searcher(tiny_encoder, index, fusion="convex", hybrid_weight=0.7)
    depth = hybrid_depth(5)
    dense = searcher.search(QUERIES, top_k=depth, mode="dense")
    lexical = searcher.search(QUERIES, top_k=depth, mode="bm25")
    hybrid = searcher.search(QUERIES, top_k=5, mode="hybrid")
    assert hybrid == [convex_fusion(d, lx, 0.7, 5) for d, lx in zip(dense, lexical, strict=True)]
    assert hybrid == searcher.fuse(dense, lexical, 5)
    assert lexical[-1] == [] and [h.id for h in hybrid[-1]] == [h.id for h in dense[-1][:5]]
    assert Searcher(tiny_encoder, index, fusion="rrf").search(QUERIES, top_k=5, mode="hybrid") != hybrid


def test_library_defaults_are_the_settings_defaults(tiny_encoder):
    """Searcher and the evaluation's Variant default to what the service is configured with by
    default (FAQSEARCH_HYBRID_FUSION, _HYBRID_WEIGHT, _RRF_K, _INDEX_TYPE)."""
    from eval.variants import Variant
    from faqsearch.settings import Settings

    defaults = {name: field.default for name, field in Settings.model_fields.items()}
    entries = read_faq_file(SAMPLE)[:5]
    index, _ = index_from_entries(entries, tiny_encoder, "mean", IndexParams())
    searcher = Searcher(tiny_encoder, index)
    assert (searcher.fusion, searcher.hybrid_weight, searcher.rrf_k) == (
        defaults["hybrid_fusion"],
        defaults["hybrid_weight"],
        defaults["rrf_k"],
    )
    variant = Variant(name="mean", kind="dense", pooling="mean")
    assert (
        (variant.fusion, variant.weight, variant.rrf_k)
        == ("convex", 0.8, 60)
        == (
            defaults["hybrid_fusion"],
            defaults["hybrid_weight"],
            defaults["rrf_k"],
        )
    )
    assert IndexParams().type == defaults["index_type"]
