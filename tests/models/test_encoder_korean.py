"""The real Korean encoder (me5-small-koen): padding invariance, NFC/NFD, paraphrase ranking."""

import unicodedata
from pathlib import Path

import numpy as np
import pytest
from same_results import assert_same_vectors

from models.bm25 import Bm25Stats
from models.morphemes import terms
from models.pooling_spec import NAMED_VARIANTS

KORSTS_DEV = Path(__file__).resolve().parents[3] / "shared/testsets_raw/korsts/sts-dev.tsv"


def test_every_variant_of_a_sentence_is_the_same_alone_and_in_a_batch(real_encoder, forty_sentences):
    bm25 = Bm25Stats.fit(terms(forty_sentences))
    together = real_encoder.encode_variants(forty_sentences, NAMED_VARIANTS, bm25=bm25)
    worst = dict.fromkeys(NAMED_VARIANTS, 0.0)
    for i, sentence in enumerate(forty_sentences):
        alone = real_encoder.encode_variants([sentence], NAMED_VARIANTS, bm25=bm25)
        for name in NAMED_VARIANTS:
            diff = float(np.abs(alone[name].vectors[0] - together[name].vectors[i]).max())
            worst[name] = max(worst[name], diff)
    assert all(diff <= 1e-5 for diff in worst.values()), worst


KOREAN = [
    "신용 대출을 신청하고 싶어요",
    "비밀번호를 잊어버렸어요",
    "주민등록등본은 어디에서 발급받을 수 있나요?",
    "기초연금 수급 자격이 궁금합니다",
    "외국인도 건강보험에 가입해야 하나요?",
    "깍두기와 꽃게탕을 주문하고 싶어요",
]


def test_nfd_and_nfc_give_identical_tokens_and_vectors(real_encoder):
    nfd = [unicodedata.normalize("NFD", s) for s in KOREAN]
    assert all(a != b for a, b in zip(nfd, KOREAN, strict=True))
    assert real_encoder.tokenize(nfd).input_ids == real_encoder.tokenize(KOREAN).input_ids
    assert_same_vectors(real_encoder.encode(nfd).vectors, real_encoder.encode(KOREAN).vectors)


def test_no_unknown_token_for_ordinary_hangul(real_encoder):
    # Every distinct syllable of the KorSTS dev sentences: a thousand syllables of everyday Korean.
    rows = KORSTS_DEV.read_text(encoding="utf-8").splitlines()[1:]
    text = "".join(field for row in rows for field in row.split("\t")[5:7])
    syllables = sorted({ch for ch in text if "가" <= ch <= "힣"})
    assert len(syllables) > 1000
    unk = real_encoder.tokenizer.unk_token_id
    ids = real_encoder.tokenize(syllables + KOREAN).input_ids
    assert [s for s, row in zip(syllables + KOREAN, ids, strict=True) if unk in row] == []


PARAPHRASES = [
    ("신용 대출 신청은 어떻게 하나요?", "신용 대출을 신청하고 싶어요"),
    ("비밀번호를 잊어버렸어요", "비밀번호가 기억나지 않아요. 어떻게 찾나요?"),
    ("카드를 분실했어요", "신용카드를 잃어버렸는데 어떻게 해야 하나요?"),
    ("해외로 돈을 보내고 싶어요", "외국으로 송금하는 방법을 알려주세요"),
    ("주소를 바꾸려면 어떻게 하나요?", "이사를 해서 주소 변경을 하고 싶어요"),
    ("적금 이자는 언제 들어오나요?", "적금 이자 지급일이 궁금해요"),
    ("앱에 로그인이 안 돼요", "모바일 앱 로그인이 계속 실패해요"),
    ("통장을 새로 만들고 싶어요", "신규 계좌 개설 방법을 알려주세요"),
    ("대출 금리는 얼마인가요?", "대출 이자율이 어떻게 되나요?"),
    ("영업 시간이 어떻게 되나요?", "지점은 몇 시에 문을 여나요?"),
    ("고객센터 전화번호를 알려주세요", "상담원과 통화하려면 어디로 전화하나요?"),
    ("회원 탈퇴는 어떻게 하나요?", "회원 탈퇴 절차를 알려주세요"),
    ("기초연금은 누가 받을 수 있나요?", "기초연금 수급 대상이 궁금합니다"),
    ("출산 지원금을 신청하고 싶어요", "아이를 낳으면 받을 수 있는 지원금 신청 방법이 궁금해요"),
]


@pytest.mark.parametrize("pooling", ["mean", "bm25"])
def test_each_sentence_is_closest_to_its_paraphrase(real_encoder, pooling):
    sentences = [s for pair in PARAPHRASES for s in pair]
    bm25 = Bm25Stats.fit(terms(sentences))
    vectors = real_encoder.encode(sentences, pooling, bm25=bm25).vectors
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    partner = [i ^ 1 for i in range(len(sentences))]  # 0<->1, 2<->3, ...
    nearest = similarity.argmax(axis=1).tolist()
    misses = [
        (sentences[i], sentences[nearest[i]]) for i in range(len(sentences)) if nearest[i] != partner[i]
    ]
    assert misses == []
    assert len(PARAPHRASES) >= 12


def test_the_model_card_similarities_are_reproduced(real_encoder):
    # MODEL_CARD.md, "query: " prefix on all four sentences, mean pooling.
    sentences = [
        "신용 대출을 신청하고 싶어요",
        "신용 대출 신청은 어떻게 하나요?",
        "비밀번호를 잊어버렸어요",
        "오늘 날씨가 좋네요",
    ]
    vectors = real_encoder.encode(sentences, "mean").vectors
    expected = [[1.0, 0.978, 0.847, 0.836], [0.978, 1.0, 0.816, 0.801]]
    assert np.abs(vectors[:2] @ vectors.T - np.array(expected)).max() <= 0.0015


def test_long_input_on_the_real_model_is_cut_at_512_tokens(real_encoder):
    tokenized = real_encoder.tokenize(["대출 신청 " * 50_000])
    assert tokenized.truncated == [True]
    assert len(tokenized.input_ids[0]) == 512
