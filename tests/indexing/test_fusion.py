"""Convex fusion of dense and lexical scores: by hand, and inside `Searcher` hybrid search."""

from pathlib import Path

import pytest

from indexing.build import index_from_entries
from indexing.faq_import import read_faq_file
from indexing.searcher import Hit, Searcher, convex_fusion, hybrid_depth
from indexing.vector_index import IndexParams

SAMPLE = Path(__file__).resolve().parents[2] / "testsets/sample_faq/faqs.csv"
QUERIES = ["비밀번호를 잊어버렸어요", "기초연금은 누가 받을 수 있나요?", "아이디 찾기", "ㅋㅋㅋ"]


def test_convex_fusion_by_hand():
    dense = [Hit("a", 0.9), Hit("b", 0.8), Hit("c", 0.5)]  # min-max: a 1, b 0.75, c 0
    lexical = [Hit("c", 12.0), Hit("d", 4.0), Hit("a", 2.0)]  # min-max: c 1, d 0.2, a 0
    hits = convex_fusion(dense, lexical, weight=0.6, top_k=3)
    # a: 0.6 * 1 + 0.4 * 0 = 0.6; b: 0.6 * 0.75 = 0.45; c: 0.6 * 0 + 0.4 * 1 = 0.4; d: 0.4 * 0.2 = 0.08
    assert [(h.id, round(h.score, 6)) for h in hits] == [("a", 0.6), ("b", 0.45), ("c", 0.4)]


def test_convex_fusion_edge_cases():
    # a single lexical hit gets the full lexical weight; no lexical hit leaves the dense order
    hits = convex_fusion([Hit("a", 0.9), Hit("b", 0.1)], [Hit("b", 3.0)], 0.5, 2)
    assert [(h.id, h.score) for h in hits] == [("a", 0.5), ("b", 0.5)]  # tie: by id
    assert convex_fusion([Hit("b", 0.9), Hit("a", 0.1)], [], 0.3, 5) == [Hit("b", 0.3), Hit("a", 0.0)]
    assert [h.id for h in convex_fusion([], [Hit("x", 1.0)], 1.0, 5)] == ["x"]


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
