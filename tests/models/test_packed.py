"""The padding-free forward (models/packed.py) gives the vectors of the model's own padded forward."""

import copy

import numpy as np
import pytest
import torch

import models.packed as packed_module
from models.bm25 import Bm25Stats
from models.morphemes import terms
from models.packed import supports_packing
from models.pooling_spec import NAMED_VARIANTS

# Korean sentences from 1 to ~50 tokens of their own, so that the batches have padding in them.
MIXED = [
    "네",
    "적금",
    "대출 금리",
    "비밀번호를 잊어버렸어요",
    "신용 대출을 신청하고 싶어요",
    "해외 송금을 하려면 어떻게 해야 하나요?",
    "앱에서 로그인이 안 돼요",
    "주민등록등본은 어디에서 발급받을 수 있나요?",
    "기초연금 수급 자격이 궁금합니다",
    "외국인도 건강보험에 가입해야 하나요?",
    "카드를 잃어버렸을 때는 고객센터에 전화해서 분실 신고를 하시면 됩니다",
    "신용 대출을 신청하시려면 먼저 본인 명의의 휴대폰으로 본인 인증을 하신 다음 소득을 증명할 수 있는 "
    "서류를 준비해 주세요",
    "직장인은 재직 증명서와 근로 소득 원천징수 영수증이 필요하고 사업자는 사업자 등록증과 종합 소득세 "
    "신고서가 필요합니다 서류를 모두 제출하시면 심사가 시작되며 보통 영업일 기준으로 이틀에서 사흘 정도 "
    "걸립니다",
    "LPG용기 사용가구 시설개선 사업을 통해 LPG 고무호스를 금속배관으로 교체하는 데 필요한 지원을 받으실 수 "
    "있습니다.",
    "금리는 신용 점수와 소득 그리고 기존 대출 현황에 따라 달라지며 우대 금리 조건을 충족하시면 최대 연 "
    "영점오 퍼센트까지 금리를 낮출 수 있습니다",
    "중도 상환 수수료는 대출 실행일로부터 삼 년이 지나면 면제됩니다",
    "LPG 😀 reset 方法",
]


def unpacked(encoder):
    """The same encoder (same weights) running the model's own padded forward."""
    plain = copy.copy(encoder)
    plain.packed_model = None
    return plain


def test_only_a_plain_bert_is_packed():
    from transformers import BertConfig, BertModel, RobertaConfig, RobertaModel

    tiny = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 4, "intermediate_size": 64}
    assert supports_packing(BertModel(BertConfig(**tiny), add_pooling_layer=False))
    # RoBERTa numbers positions from padding_idx + 1: not what the packed forward computes.
    assert not supports_packing(RobertaModel(RobertaConfig(**tiny), add_pooling_layer=False))


@pytest.mark.parametrize("min_padding", [0.0, 2.0], ids=["pack-every-batch", "pack-none"])
def test_every_variant_matches_the_padded_forward_on_korean_sentences(real_encoder, monkeypatch, min_padding):
    monkeypatch.setattr(packed_module, "MIN_PADDING_TO_PACK", min_padding)
    assert real_encoder.packed_model is not None
    bm25 = Bm25Stats.fit(terms(MIXED))
    lengths = [len(ids) for ids in real_encoder.tokenize(MIXED).input_ids]
    assert min(lengths) <= 8 and max(lengths) >= 40, lengths  # with "query: " and [CLS]/[SEP]
    packed = real_encoder.encode_variants(MIXED, NAMED_VARIANTS, bm25=bm25)
    padded = unpacked(real_encoder).encode_variants(MIXED, NAMED_VARIANTS, bm25=bm25)
    worst = {
        name: float(np.abs(packed[name].vectors - padded[name].vectors).max()) for name in NAMED_VARIANTS
    }
    assert all(diff <= 1e-5 for diff in worst.values()), worst


@pytest.mark.parametrize("pack", [True, False])
def test_hidden_states_match_at_real_tokens(tiny_encoder, pack):
    tokenized = tiny_encoder.tokenize(MIXED)
    for batch in tiny_encoder.iter_hidden(tokenized, all_layers=True, packed=False):
        ids = [tokenized.input_ids[i] for i in batch.indices]
        states, mask = tiny_encoder.packed_model(ids, tiny_encoder.device, all_layers=True, pack=pack)
        assert torch.equal(mask, batch.mask)
        real = mask.bool()  # [B, T]
        for mine, model in zip(states, batch.hidden_states, strict=True):
            assert mine.shape == model.shape  # [B, T, H]
            assert (mine[real] - model[real]).abs().max() <= 1e-5
            if pack:
                assert not mine[~real].any()  # packed: padding is never computed


def test_a_batch_without_padding_takes_the_same_path(tiny_encoder):
    same_length = ["대출 금리", "적금 이자"]
    tokenized = tiny_encoder.tokenize(same_length)
    assert len({len(ids) for ids in tokenized.input_ids}) == 1
    packed = tiny_encoder.encode(same_length).vectors
    padded = unpacked(tiny_encoder).encode(same_length).vectors
    assert np.abs(packed - padded).max() <= 1e-6
