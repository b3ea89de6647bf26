"""The BM25 function-word weight: tag classes, hand-computed weights with the factor applied, lexical
ranking with and without it, and pooling weights equal to the lexical ones."""

from __future__ import annotations

import math

import numpy as np
import pytest

from indexing.lexical import LexicalIndex
from models.bm25 import Bm25FormatError, Bm25Stats, is_function_term
from models.morphemes import analyze, term_tag, terms

# Hand-written; the query shares 주차 with the parking entry (row 0), and only 어디 / 하 plus
# particles and endings with rows 1 and 5.
CORPUS = [
    "주차 요금은 얼마예요?",
    "방문요양 서비스가 필요할 때 어디에 문의해야 하나요?",
    "회원 가입은 어떻게 하나요?",
    "환불은 언제 되나요?",
    "영업시간을 알려 주세요",
    "서류는 어디에서 받나요?",
]
QUERY = "주차는 어디에 하나요?"


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("NNG", "N"),
        ("NNP", "N"),
        ("VV-R", "V"),
        ("JKO", "J"),
        ("EF", "E"),
        ("XSV", "XS"),
        ("XSA-I", "XS"),
        ("XR", "XR"),
        ("XPN", "XP"),
        ("SF", "S"),
        ("SSO", "S"),
        ("SL", "SL"),
        ("SH", "SH"),
        ("SN", "SN"),
        ("W_URL", "W"),
        ("Z_CODA", "Z"),
    ],
)
def test_term_tag_classes(tag, expected):
    assert term_tag(tag) == expected


@pytest.mark.parametrize(
    ("term", "function"),
    [
        ("를/J", True),
        ("나요/E", True),
        ("하/XS", True),
        ("?/S", True),
        ("//S", True),  # a slash is a symbol: its form holds the separator
        ("ᆸ/Z", True),
        ("주차/N", False),
        ("하/V", False),
        ("깨끗/XR", False),
        ("재/XP", False),
        ("OTP/SL", False),  # foreign words and numbers are content
        ("2/SN", False),
        ("銀行/SH", False),
    ],
)
def test_which_terms_are_function_words(term, function):
    assert is_function_term(term) is function


def test_kiwi_terms_carry_the_classes_the_weight_reads():
    [got] = terms(["OTP 카드를 재발급받고 지하 2층에 주차했어요."])
    assert got[:8] == ["OTP/SL", "카드/N", "를/J", "재/XP", "발급/N", "받/V", "고/E", "지하/N"]
    assert got[8:] == ["2/SN", "층/N", "에/J", "주차/N", "하/XS", "었/E", "어요/E", "./S"]


def test_weights_with_the_factor_equal_hand_computed_bm25():
    corpus_terms = terms(CORPUS)
    assert corpus_terms[0] == ["주차/N", "요금/N", "은/J", "얼마/N", "이/V", "예요/E", "?/S"]
    assert [len(t) for t in corpus_terms] == [7, 16, 8, 6, 7, 7]  # avgdl = 51 / 6 = 8.5
    plain = Bm25Stats.fit(corpus_terms)
    scaled = Bm25Stats.fit(corpus_terms, function_weight=0.25)
    # N = 6; df = 1 for 주차 요금 얼마 이 예요: idf = ln(5.5 / 1.5); df(은/J) = 3: idf = ln(3.5 / 3.5) = 0.
    # |s| = 7: norm = 1.5 * (0.25 + 0.75 * 7 / 8.5); tf = 1: w = idf * 2.5 / (1 + norm)
    rare = math.log(5.5 / 1.5) * 2.5 / (1 + 1.5 * (0.25 + 0.75 * 7 / 8.5))
    got = scaled.term_weights(corpus_terms[0])
    for content in ("주차/N", "요금/N", "얼마/N", "이/V"):
        assert got[content] == pytest.approx(rare, abs=1e-12)  # unchanged by the factor
    assert got["예요/E"] == pytest.approx(0.25 * rare, abs=1e-12)
    assert got["은/J"] == 0.0
    # ?/S is in 5 of 6 documents: its idf is rank_bm25's floor; scaled all the same.
    assert got["?/S"] == pytest.approx(0.25 * plain.term_weights(corpus_terms[0])["?/S"], abs=1e-12)
    assert plain.term_weights(corpus_terms[0])["예요/E"] == pytest.approx(rare, abs=1e-12)


def test_factor_zero_ranks_the_parking_entry_above_the_one_sharing_particles_and_endings():
    corpus_terms = terms(CORPUS)
    query = terms([QUERY])[0]
    assert query == ["주차/N", "는/J", "어디/N", "에/J", "하/V", "나요/E", "?/S"]
    labels = list(range(len(CORPUS)))
    ranked = {}
    for factor in (1.0, 0.0):
        index = LexicalIndex.build(Bm25Stats.fit(corpus_terms, function_weight=factor), labels, corpus_terms)
        ranked[factor] = index.search(query, k=10)[1].tolist()
    # Plain BM25: "서류는 어디에서 받나요?" (는 어디 나요 ?) and the welfare entry (어디 에 하 나요 ?)
    # outrank the only entry about parking.
    assert ranked[1.0] == [5, 1, 0, 2, 3]
    # Function words at 0: the parking entry first; 환불 (only 나요 ? in common) drops out.
    assert ranked[0.0] == [0, 1, 5, 2]


def test_pooling_weights_equal_the_lexical_weights_per_morpheme(tiny_encoder):
    corpus_terms = terms(CORPUS)
    stats = Bm25Stats.fit(corpus_terms, function_weight=0.25)
    index = LexicalIndex.build(stats, list(range(len(CORPUS))), corpus_terms)
    matrix, _ = index._compiled()
    columns = {t: i for i, t in enumerate(index._terms)}
    sentence = CORPUS[1]
    [morphemes] = analyze([sentence])
    pooled = stats.morpheme_weights(morphemes)
    lexical = [matrix[1, columns[m.term]] for m in morphemes]
    np.testing.assert_array_equal(pooled, lexical)
    # And the encoder gives each token the largest lexical weight of the morphemes it overlaps.
    tokenized = tiny_encoder.tokenize([sentence])
    [tokens] = tiny_encoder.bm25_token_weights(tokenized, stats)
    expected = [
        max([w for m, w in zip(morphemes, lexical, strict=True) if m.start < end and start < m.end] or [0.0])
        if end > start
        else 0.0
        for start, end in tokenized.offsets[0].tolist()
    ]
    assert tokens.tolist() == expected
    assert len(set(expected) - {0.0}) >= 5  # the test is not vacuous


def test_the_factor_is_saved_with_the_statistics(tmp_path):
    Bm25Stats.fit(terms(CORPUS), function_weight=0.3).save(tmp_path)
    assert Bm25Stats.load(tmp_path).function_weight == 0.3


def test_statistics_of_the_old_format_are_refused_with_the_fix(tmp_path):
    import json

    Bm25Stats.fit(terms(CORPUS)).save(tmp_path)
    params = json.loads((tmp_path / "bm25_params.json").read_text(encoding="utf-8"))
    params["format_version"] = 1
    del params["function_weight"]
    (tmp_path / "bm25_params.json").write_text(json.dumps(params), encoding="utf-8")
    with pytest.raises(Bm25FormatError, match=r"have format 1, this version reads 2; .*rebuild the index"):
        Bm25Stats.load(tmp_path)


@pytest.mark.parametrize("factor", [-0.1, 1.5, float("nan")])
def test_a_factor_outside_zero_one_is_refused(factor):
    with pytest.raises(ValueError, match=r"must be within \[0, 1\]"):
        Bm25Stats.fit(terms(CORPUS), function_weight=factor)
