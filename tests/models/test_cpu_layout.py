"""Linear weights laid out [in, out] (models/cpu_layout.py): same values, same outputs, new order."""

from __future__ import annotations

import copy

import numpy as np
import torch

from models.cpu_layout import lay_out_linear_weights_in_out

KOREAN = [
    "네",
    "비밀번호를 잊어버렸어요",
    "신용 대출 신청은 어떻게 하나요?",
    "주민등록등본은 어디에서 발급받을 수 있나요?",
    "카드를 잃어버렸을 때는 고객센터에 전화해서 분실 신고를 하시면 됩니다",
    "직장인은 재직 증명서와 근로 소득 원천징수 영수증이 필요하고 사업자는 사업자 등록증과 종합 소득세 "
    "신고서가 필요합니다",
]


def linear_weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: m.weight for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)}


def test_weights_keep_shape_and_values_and_become_in_out_in_memory():
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64
    )
    stock = BertModel(config, add_pooling_layer=False).eval()
    relaid = copy.deepcopy(stock)

    assert lay_out_linear_weights_in_out(relaid) == 2 * 6  # q, k, v, attention out, up, down per layer
    for name, weight in linear_weights(relaid).items():
        before = linear_weights(stock)[name]
        assert weight.shape == before.shape
        assert torch.equal(weight, before)
        assert weight.stride() == (1, weight.shape[0])  # [in, out] row-major underneath
    assert lay_out_linear_weights_in_out(relaid) == 0  # a second call finds nothing to do

    ids = torch.randint(5, 99, (3, 11))
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    mask[2, 3:] = 0
    with torch.inference_mode():
        expected = stock(input_ids=ids, attention_mask=mask).last_hidden_state
        got = relaid(input_ids=ids, attention_mask=mask).last_hidden_state
    real = mask.bool()
    torch.testing.assert_close(got[real], expected[real], rtol=0, atol=1e-6)


def test_a_weight_shared_with_another_module_is_left_alone():
    embedding = torch.nn.Embedding(50, 8)
    head = torch.nn.Linear(8, 50, bias=False)
    head.weight = embedding.weight  # tied, as in a language-model head
    other = torch.nn.Linear(8, 4)
    model = torch.nn.ModuleDict({"embedding": embedding, "head": head, "other": other})

    assert lay_out_linear_weights_in_out(model) == 1
    assert embedding.weight.is_contiguous()  # rows stay contiguous for the embedding's lookups
    assert other.weight.stride() == (1, 4)


def test_the_loaded_encoder_is_laid_out_and_gives_the_stock_vectors(real_encoder, model_path):
    from transformers import AutoModel

    from models.encoder import Encoder

    # On CPU with MKL (CI) every weight is [in, out] in memory; on a torch without MKL, none is.
    in_out = {name: w.t().is_contiguous() for name, w in linear_weights(real_encoder.model).items()}
    assert len(in_out) == 12 * 6
    assert set(in_out.values()) == {torch.backends.mkl.is_available()}
    stock_model = AutoModel.from_pretrained(str(model_path), add_pooling_layer=False).eval()
    assert all(w.is_contiguous() for w in linear_weights(stock_model).values())
    stock = Encoder(
        stock_model,
        real_encoder.tokenizer,
        name=real_encoder.name,
        device=real_encoder.device,
        dtype=real_encoder.dtype,
        prefix=real_encoder.prefix,
        max_length=real_encoder.max_length,
        batch_size=real_encoder.batch_size,
    )
    for pooling in ("mean", "cls", "max"):
        np.testing.assert_allclose(
            real_encoder.encode(KOREAN, pooling).vectors,
            stock.encode(KOREAN, pooling).vectors,
            rtol=0,
            atol=1e-6,
        )
