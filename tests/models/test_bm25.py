"""BM25 statistics and token weights against hand-computed values and against rank_bm25 itself."""

import math

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from models.bm25 import Bm25Stats, token_weights
from models.morphemes import Morpheme, analyze, terms

# N = 4 documents, lengths 2 + 2 + 1 + 3 = 8, avgdl = 2. df: a = 3, b = c = d = e = 1.
TOY = [["a", "b"], ["a", "c"], ["d"], ["e", "e", "a"]]
RARE_IDF = math.log(4 - 1 + 0.5) - math.log(1 + 0.5)  # df = 1: ln(3.5 / 1.5)
# df(a) = 3 gives ln(1.5 / 3.5) < 0, which Okapi floors at epsilon * mean idf:
# mean idf = (ln(1.5/3.5) + 4 * ln(3.5/1.5)) / 5 = 3 * ln(3.5/1.5) / 5, epsilon = 0.25
A_IDF = 0.25 * 3 * RARE_IDF / 5


def test_fitted_statistics_equal_hand_computed_values():
    stats = Bm25Stats.fit(TOY)
    assert stats.vocab == ["a", "b", "c", "d", "e"]
    assert stats.doc_freq.tolist() == [3, 1, 1, 1, 1]
    assert stats.n_docs == 4
    assert stats.avgdl == 2.0
    assert stats.idf == pytest.approx([A_IDF, RARE_IDF, RARE_IDF, RARE_IDF, RARE_IDF], abs=1e-12)
    assert stats.unseen_idf == pytest.approx(RARE_IDF, abs=1e-12)


def test_term_weights_equal_hand_computed_bm25():
    stats = Bm25Stats.fit(TOY)
    weights = stats.term_weights(["e", "e", "a"])
    # |s| = 3: norm = k1 * (1 - b + b * 3 / 2) = 1.5 * 1.375 = 2.0625
    # e: tf 2 -> idf * 2 * 2.5 / (2 + 2.0625); a: tf 1 -> idf * 2.5 / (1 + 2.0625)
    assert weights["e"] == pytest.approx(RARE_IDF * 5 / 4.0625, abs=1e-12)
    assert weights["a"] == pytest.approx(A_IDF * 2.5 / 3.0625, abs=1e-12)


def test_unseen_terms_weigh_like_the_rarest_known_ones():
    stats = Bm25Stats.fit(TOY)
    # "zz" is unseen, "b" has df = 1: same idf, same tf and length -> same weight
    assert stats.term_weights(["zz", "a"])["zz"] == pytest.approx(stats.term_weights(["b", "a"])["b"])


def test_sum_of_term_weights_is_the_rank_bm25_document_score():
    corpus = [list(doc) for doc in ["abcab", "bcd", "cdee", "eaf", "ffgh", "ghij", "abj", "ia"]]
    stats = Bm25Stats.fit(corpus)
    okapi = BM25Okapi(corpus)
    # no idf is negative in this corpus, so nothing is clipped and the two must agree exactly
    assert stats.idf.tolist() == [okapi.idf[t] for t in stats.vocab]
    for index, doc in enumerate(corpus):
        ours = sum(stats.term_weights(doc).values())
        assert ours == pytest.approx(okapi.get_scores(sorted(set(doc)))[index], abs=1e-12)


def test_save_and_load_round_trip_exactly(tmp_path):
    stats = Bm25Stats.fit(terms(["신용 대출을 신청하고 싶어요", "비밀번호를 잊어버렸어요"]))
    stats.save(tmp_path)
    loaded = Bm25Stats.load(tmp_path)
    assert loaded.vocab == stats.vocab
    assert np.array_equal(loaded.doc_freq, stats.doc_freq)
    assert np.array_equal(loaded.idf, stats.idf)
    assert (loaded.n_docs, loaded.avgdl, loaded.unseen_idf) == (stats.n_docs, stats.avgdl, stats.unseen_idf)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bm25_df.npy",
        "bm25_idf.npy",
        "bm25_params.json",
        "bm25_vocab.json",
    ]


def test_loading_a_broken_folder_says_to_refit(tmp_path):
    Bm25Stats.fit(TOY).save(tmp_path)
    (tmp_path / "bm25_vocab.json").write_text("[not json", encoding="utf-8")
    with pytest.raises(ValueError, match=r"cannot read BM25 statistics .*\(rebuild the index\)"):
        Bm25Stats.load(tmp_path)


def test_empty_corpus_is_refused():
    with pytest.raises(ValueError, match="empty corpus"):
        Bm25Stats.fit([[], []])


def test_token_weights_follow_character_overlap():
    morphemes = [Morpheme("신청/N", 0, 2), Morpheme("하/X", 2, 3), Morpheme("고/E", 3, 4)]
    weights = np.array([2.0, 0.5, 0.25])
    # <s> (0,0) | 신 (0,1) | 청하 (1,3) | 고 (3,4) | ▁ over a space (4,5) | </s> (0,0)
    offsets = np.array([[0, 0], [0, 1], [1, 3], [3, 4], [4, 5], [0, 0]])
    # 청하 overlaps 신청 (2.0) and 하 (0.5): it takes the larger; the split 신청 gives both parts 2.0
    assert token_weights(offsets, morphemes, weights).tolist() == [0.0, 2.0, 2.0, 0.25, 0.0, 0.0]


FAQ_CORPUS = [
    "신용 대출을 받으려면 어떤 서류가 필요한가요?",
    "대출 금리는 어떻게 정해지나요?",
    "비밀번호를 잊어버렸어요",
    "계좌를 새로 만들고 싶어요",
    "카드를 잃어버렸을 때 어떻게 하나요?",
    "적금 이자는 언제 들어오나요?",
    "주소를 변경하고 싶어요",
    "앱에서 로그인이 안 돼요",
    "해외 송금을 하려면 어떻게 해야 하나요?",
    "체크카드를 신청하고 싶어요",
    "공인인증서를 발급받고 싶어요",
    "통장을 재발급받을 수 있나요?",
]


def test_content_morphemes_outweigh_particle_and_ending_in_a_korean_query():
    stats = Bm25Stats.fit(terms(FAQ_CORPUS))
    [morphemes] = analyze(["신용 대출을 신청하고 싶어요"])
    weights = dict(zip([m.term for m in morphemes], stats.morpheme_weights(morphemes), strict=True))
    assert {"신용/N", "대출/N", "신청/N", "을/J", "어요/E"} <= weights.keys()
    lightest_content = min(weights["신용/N"], weights["대출/N"], weights["신청/N"])
    assert lightest_content > max(weights["을/J"], weights["어요/E"])
