"""LexicalIndex against rank_bm25.BM25Okapi on a small Korean FAQ corpus of Kiwi morphemes.

`rank_bm25` is the reference: for every query, the score of every document must equal
`BM25Okapi(corpus_terms).get_scores(query_terms)`, the ranking must be the brute-force sort
(score descending, then label ascending), and documents scoring 0 must be left out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from indexing.lexical import LexicalIndex
from models.bm25 import Bm25Stats
from models.morphemes import terms

CORPUS = [
    "비밀번호를 잊어버렸어요. 어떻게 재설정하나요?",
    "회원 탈퇴는 어디에서 하나요?",
    "주문한 상품은 언제 배송되나요?",
    "배송지 주소를 변경하고 싶어요.",
    "환불은 언제 처리되나요?",
    "카드 결제를 취소하면 환불까지 며칠 걸리나요?",
    "교환 신청은 어떻게 하나요?",
    "영수증을 다시 발급받을 수 있나요?",
    "적립금은 언제 사용할 수 있나요?",
    "쿠폰 유효기간이 지나면 어떻게 되나요?",
    "해외 배송도 가능한가요?",
    "고객센터 운영 시간이 궁금합니다.",
    "휴대폰 번호가 바뀌었는데 본인 인증은 어떻게 하나요?",
    "아이디를 찾고 싶어요.",
    "상품이 파손되어 도착했어요.",
    "무통장 입금 계좌를 알려 주세요.",
    "세금계산서 발행이 가능한가요?",
    "대량 구매 할인이 있나요?",
    "회원 등급은 어떻게 올라가나요?",
    "택배사가 어디인가요?",
    "환불은 언제 처리되나요?",  # a duplicate of row 4 on purpose: equal scores, ties go by label
    "포장을 선물용으로 바꿀 수 있나요?",
]
# Non-contiguous labels, given in descending order, so row position, list order and label all differ.
LABELS = [900 - 13 * i for i in range(len(CORPUS))]
QUERIES = [
    "환불은 언제 되나요?",
    "비밀번호 재설정 방법",
    "배송 배송 언제 와요?",  # a repeated term counts twice, as in rank_bm25
    "회원 탈퇴하고 싶어요",
    "어떻게 하나요?",
    "카드 결제 취소",
    "상품 교환이나 환불 가능한가요?",
    "쿠폰",
]
UNSEEN = "우주선 발사 일정"  # no morpheme of it occurs in the corpus


@pytest.fixture(scope="module")
def corpus_terms() -> list[list[str]]:
    return terms(CORPUS)


@pytest.fixture(scope="module")
def query_terms() -> list[list[str]]:
    return terms(QUERIES)


@pytest.fixture(scope="module")
def stats(corpus_terms) -> Bm25Stats:
    return Bm25Stats.fit(corpus_terms)


@pytest.fixture()
def index(stats, corpus_terms) -> LexicalIndex:
    return LexicalIndex.build(stats, LABELS, corpus_terms)


def brute_force(scores: np.ndarray, labels: list[int]) -> list[tuple[int, float]]:
    """(label, score) of every document scoring > 0, by score descending, then label ascending."""
    hits = [(label, float(score)) for label, score in zip(labels, scores, strict=True) if score > 0]
    return sorted(hits, key=lambda hit: (-hit[1], hit[0]))


def results(index: LexicalIndex, query: list[str], k: int = 1000) -> list[tuple[int, float]]:
    scores, labels = index.search(query, k)
    assert labels.dtype == np.int64 and scores.shape == labels.shape
    return [(int(label), float(score)) for label, score in zip(labels, scores, strict=True)]


def assert_same(got: list[tuple[int, float]], expected: list[tuple[int, float]]) -> None:
    assert [label for label, _ in got] == [label for label, _ in expected]
    np.testing.assert_allclose([s for _, s in got], [s for _, s in expected], rtol=0, atol=1e-9)


def test_corpus_has_no_clipped_idf(stats, corpus_terms) -> None:
    """Precondition of the exact comparison: rank_bm25's idf is positive everywhere here, so our
    clipping at 0 changes nothing and the two idf tables are equal."""
    okapi = BM25Okapi(corpus_terms)
    assert min(okapi.idf.values()) > 0
    assert stats.idf.tolist() == [okapi.idf[t] for t in stats.vocab]
    # Frequent morphemes (?/S is in most rows) take rank_bm25's floor epsilon * mean idf.
    assert stats.idf_of("?/S") == pytest.approx(0.25 * okapi.average_idf, abs=1e-12)


def test_scores_equal_rank_bm25_for_every_document(index, corpus_terms, query_terms) -> None:
    okapi = BM25Okapi(corpus_terms)
    for query in query_terms:
        expected = okapi.get_scores(query)
        got = dict(results(index, query))
        for label, score in zip(LABELS, expected, strict=True):
            if score > 0:
                assert got[label] == pytest.approx(score, abs=1e-9), (query, label)
            else:
                assert label not in got, f"{label} scores {score} for {query} but is returned"
        assert_same(results(index, query), brute_force(expected, LABELS))


def test_ranking_is_score_then_label_and_k_cuts(index, corpus_terms, query_terms) -> None:
    okapi = BM25Okapi(corpus_terms)
    query = query_terms[0]  # 환불은 언제 되나요?: rows 4 and 20 are the same sentence
    expected = brute_force(okapi.get_scores(query), LABELS)
    assert expected[0][0] == LABELS[20] and expected[1][0] == LABELS[4]  # tie, smaller label first
    assert expected[0][1] == expected[1][1]
    got = results(index, query)
    assert got[0] == (LABELS[20], got[1][1]) and got[1][0] == LABELS[4]
    assert_same(got, expected)
    for k in (1, 2, 3, 5):
        assert_same(results(index, query, k), expected[:k])
    assert results(index, query, 0) == []


def test_documents_scoring_zero_are_left_out(index, query_terms) -> None:
    got = results(index, terms(["쿠폰"])[0])
    assert [label for label, _ in got] == [LABELS[9]]  # only row 9 mentions 쿠폰
    assert got[0][1] > 0


def test_query_of_unseen_terms_gives_no_hits(index) -> None:
    query = terms([UNSEEN])[0]
    assert query
    scores, labels = index.search(query, 10)
    assert scores.shape == labels.shape == (0,)
    assert index.search([], 10)[1].shape == (0,)


def test_add_makes_a_new_document_findable_with_the_old_statistics(index, stats, query_terms) -> None:
    before = [results(index, q) for q in query_terms]
    new_text = "반려동물과 함께 입장할 수 있나요?"
    new_terms = terms([new_text])[0]
    query = terms(["반려동물 입장"])[0]
    assert "반려동물/N" in new_terms and "반려동물/N" not in stats.vocab
    assert results(index, query) == []
    index.add([5000], [new_terms])
    # Weighted with the statistics of the last rebuild; 반려동물 and 입장 are unseen there.
    weights = stats.term_weights(new_terms)
    expected = sum(weights[t] for t in query)
    got = results(index, query)
    assert [label for label, _ in got] == [5000]
    assert got[0][1] == pytest.approx(expected, abs=1e-12)
    assert weights["반려동물/N"] == pytest.approx(
        stats.unseen_idf
        * (stats.k1 + 1)
        / (1 + stats.k1 * (1 - stats.b + stats.b * len(new_terms) / stats.avgdl))
    )
    # Other documents keep their scores; the new one joins a result only where it shares a term.
    for q, old in zip(query_terms, before, strict=True):
        now = results(index, q)
        assert [hit for hit in now if hit[0] != 5000] == old
        shared = set(q) & set(new_terms)
        assert (5000 in dict(now)) == bool(shared)
        if shared:
            assert dict(now)[5000] == pytest.approx(sum(weights[t] * q.count(t) for t in shared), abs=1e-12)


def test_add_replaces_an_existing_label(index) -> None:
    index.add([LABELS[9]], [terms(["반려동물 등록"])[0]])
    assert results(index, terms(["쿠폰"])[0]) == []
    assert [label for label, _ in results(index, terms(["반려동물"])[0])] == [LABELS[9]]


def test_remove_makes_documents_disappear(index, corpus_terms, query_terms) -> None:
    okapi = BM25Okapi(corpus_terms)
    gone = [LABELS[4], LABELS[9], LABELS[0]]
    index.remove([*gone, 123456])  # an unknown label is ignored
    for query in query_terms:
        expected = [hit for hit in brute_force(okapi.get_scores(query), LABELS) if hit[0] not in gone]
        assert_same(results(index, query), expected)  # the rest keep their scores (no refit)
    assert results(index, terms(["쿠폰"])[0]) == []  # its only document is gone
    top = results(index, query_terms[0])
    assert top[0][0] == LABELS[20]  # the duplicate of a removed row is still there
    index.remove(LABELS)
    assert all(results(index, q) == [] for q in query_terms)


def test_save_load_round_trip_is_identical(index, stats, query_terms, tmp_path: Path) -> None:
    index.add([5000, 5001], terms(["반려동물과 함께 입장할 수 있나요?", "주차장은 무료인가요?"]))
    index.remove([LABELS[2], LABELS[7]])
    index.save(tmp_path)
    stats.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path, Bm25Stats.load(tmp_path))
    queries = [*query_terms, terms(["반려동물 주차장"])[0], terms([UNSEEN])[0]]
    for query in queries:
        scores, labels = index.search(query, 100)
        got_scores, got_labels = loaded.search(query, 100)
        np.testing.assert_array_equal(got_labels, labels)
        np.testing.assert_array_equal(got_scores, scores)
    # The loaded index keeps working: add and remove behave as on the original.
    for target in (index, loaded):
        target.add([6000], [terms(["주차 요금"])[0]])
        target.remove([5001])
    for query in [*queries, terms(["주차 요금"])[0]]:
        np.testing.assert_array_equal(loaded.search(query, 100)[1], index.search(query, 100)[1])
        np.testing.assert_array_equal(loaded.search(query, 100)[0], index.search(query, 100)[0])


def test_negative_idf_is_clipped_at_zero() -> None:
    """Where rank_bm25's floor is itself negative (a tiny corpus), our idf is 0, not negative."""
    docs = [["a", "b"], ["a", "b"], ["a", "c"]]
    okapi = BM25Okapi(docs)
    assert okapi.idf["a"] < 0 and okapi.idf["b"] < 0 and okapi.idf["c"] > 0
    stats = Bm25Stats.fit(docs)
    assert stats.idf.tolist() == [0.0, 0.0, okapi.idf["c"]]
    index = LexicalIndex.build(stats, [10, 11, 12], docs)
    okapi.idf = {t: max(v, 0.0) for t, v in okapi.idf.items()}
    expected = okapi.get_scores(["a", "c", "c"])
    assert expected.tolist()[:2] == [0.0, 0.0]
    assert_same(results(index, ["a", "c", "c"]), [(12, float(expected[2]))])
    assert results(index, ["a", "b"]) == []  # only clipped terms: every score is 0
