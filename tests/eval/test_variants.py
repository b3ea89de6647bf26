"""The variant grammar: canonical names, defaults spelled out, errors that list what is valid."""

import pytest

from eval.variants import ALL_VARIANTS, LEXICAL, Variant, parse_variant, parse_variants
from indexing.searcher import DEFAULT_HYBRID_WEIGHT, DEFAULT_RRF_K
from models.pooling_spec import NAMED_VARIANTS


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("mean", Variant("mean", "dense", "mean")),
        (" MEAN@last4 ", Variant("mean@last4", "dense", "mean@last4")),
        ("mean@-1", Variant("mean", "dense", "mean")),
        ("mean_with_padding", Variant("mean_with_padding", "dense", "mean_with_padding")),
        ("bm25_lexical", Variant(LEXICAL, "lexical")),
        ("rrf:mean", Variant(f"rrf:mean:k={DEFAULT_RRF_K}", "hybrid", "mean", "rrf", DEFAULT_RRF_K)),
        ("rrf:bm25@last4:k=5", Variant("rrf:bm25@last4:k=5", "hybrid", "bm25@last4", "rrf", 5)),
        (
            "convex:mean",
            Variant(
                f"convex:mean:w={DEFAULT_HYBRID_WEIGHT:g}",
                "hybrid",
                "mean",
                "convex",
                weight=DEFAULT_HYBRID_WEIGHT,
            ),
        ),
        ("convex:bm25:w=0.70", Variant("convex:bm25:w=0.7", "hybrid", "bm25", "convex", weight=0.7)),
        ("convex:cls:w=1", Variant("convex:cls:w=1", "hybrid", "cls", "convex", weight=1.0)),
    ],
)
def test_names_parse_to_canonical_variants(name, expected):
    assert parse_variant(name) == expected
    assert parse_variant(expected.name) == expected  # canonical names round-trip


def test_search_modes():
    assert [parse_variant(n).search_mode for n in ("cls", "bm25_lexical", "rrf:mean")] == [
        "dense",
        "bm25",
        "hybrid",
    ]
    assert [parse_variant(n).ranking_only for n in ("bm25", "bm25_lexical", "convex:mean")] == [
        False,
        True,
        True,
    ]


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("median", "not a pooling, lexical or hybrid name"),
        ("mean@0", "not a pooling, lexical or hybrid name"),
        ("rrf:median", "no pooling 'median'"),
        ("rrf:mean:w=0.5", "rrf takes k=, not w="),
        ("convex:mean:k=60", "convex takes w=, not k="),
        ("rrf:mean:k=0", "k must be an integer >= 1, got '0'"),
        ("rrf:mean:k=1.5", "k must be an integer >= 1, got '1.5'"),
        ("convex:mean:w=1.2", "w must be within [0, 1], got 1.2"),
        ("convex:mean:w=x", "w must be a number, got 'x'"),
        ("hybrid:mean", "bad hybrid syntax"),
        ("rrf:mean:k=1:k=2", "bad hybrid syntax"),
    ],
)
def test_invalid_names_say_why_and_list_the_valid_ones(name, why):
    with pytest.raises(ValueError) as info:
        parse_variant(name)
    message = str(info.value)
    assert message.startswith(f"unknown variant {name!r} ({why}); valid: ")
    assert "bm25_lexical, rrf:POOLING[:k=K] or convex:POOLING[:w=W]" in message
    assert ", ".join(ALL_VARIANTS) in message


def test_all_is_every_named_pooling_then_lexical_and_hybrids():
    variants = parse_variants("all")
    assert [v.name for v in variants] == list(ALL_VARIANTS)  # the list is written canonically
    assert [v.name for v in variants if v.kind == "dense"] == list(NAMED_VARIANTS)
    assert {v.kind for v in variants} == {"dense", "lexical", "hybrid"}
    assert {v.fusion for v in variants if v.kind == "hybrid"} == {"rrf", "convex"}


def test_a_list_keeps_its_order_and_drops_repeats():
    names = [v.name for v in parse_variants("max, mean,,rrf:mean:k=60,rrf:mean,MEAN")]
    assert names == ["max", "mean", "rrf:mean:k=60"]
    with pytest.raises(ValueError, match="no variant given"):
        parse_variants(" , ")
