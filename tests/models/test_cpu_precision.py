"""CPU precisions: parsing, the choice of `auto` from the CPU's flags (injected), and bf16/int8
vectors of the real model against fp32: close (cosine >= 0.999) and independent of their batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.bm25 import Bm25Stats
from models.cpu_features import CpuFeatures, cpu_features, parse_cpuinfo
from models.device import CPU_AUTO, PRECISION_CHOICES, resolve_precision
from models.morphemes import terms
from models.pooling_spec import NAMED_VARIANTS

CPU = torch.device("cpu")
SAPPHIRE_RAPIDS = CpuFeatures(frozenset({"avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8"}))
COOPER_LAKE = CpuFeatures(frozenset({"avx512f", "avx512_bf16", "avx512_vnni"}))
CASCADE_LAKE = CpuFeatures(frozenset({"avx512f", "avx512_vnni"}))  # int8 units, no bf16
HASWELL = CpuFeatures(frozenset({"avx2", "fma"}))


def test_precision_names_and_the_error_listing_them() -> None:
    assert PRECISION_CHOICES == ("auto", "fp32", "bf16", "int8", "fp16")
    for name in ("fp32", "bf16", "int8"):
        assert resolve_precision(CPU, f" {name.upper()} ", HASWELL) == name  # asked for: always run
    with pytest.raises(
        ValueError,
        match=r"unknown precision 'fp64' \(FAQSEARCH_PRECISION\); valid: auto, fp32, bf16, int8, fp16",
    ):
        resolve_precision(CPU, "fp64")
    with pytest.raises(ValueError, match="'fp16' needs a GPU"):
        resolve_precision(CPU, "fp16")


def test_auto_never_picks_a_precision_the_cpu_only_emulates() -> None:
    assert CPU_AUTO[-1] == "fp32"
    assert resolve_precision(CPU, "auto", HASWELL) == "fp32"
    assert resolve_precision(CPU, "auto", CASCADE_LAKE) == ("int8" if "int8" in CPU_AUTO else "fp32")
    assert resolve_precision(CPU, "auto", COOPER_LAKE) == CPU_AUTO[0]
    assert resolve_precision(CPU, "auto", SAPPHIRE_RAPIDS) == CPU_AUTO[0]


def test_units_named_from_the_flags() -> None:
    text = "processor : 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 avx512_vnni amx_bf16 amx_int8\n"
    features = parse_cpuinfo(text)
    assert features.flags == SAPPHIRE_RAPIDS.flags | {"fpu", "avx2"}
    assert (features.unit("bf16"), features.unit("int8"), features.unit("fp32")) == ("AMX", "AMX", "AVX512")
    assert (COOPER_LAKE.unit("bf16"), COOPER_LAKE.unit("int8")) == ("AVX512-BF16", "AVX512-VNNI")
    assert (HASWELL.native("bf16"), HASWELL.native("int8"), HASWELL.unit("bf16")) == (
        False,
        False,
        "emulated",
    )
    assert parse_cpuinfo("no flags here").flags == frozenset()


KOREAN = [
    "신용 대출을 신청하고 싶어요",
    "비밀번호를 잊어버렸어요",
    "주민등록등본은 어디에서 발급받을 수 있나요?",
    "기초연금 수급 자격이 궁금합니다",
    "외국인도 건강보험에 가입해야 하나요?",
    "휴대폰 요금제를 바꾸려면 어디로 연락해야 하나요",
    "택배가 사흘째 오지 않는데 확인해 주실 수 있나요",
    "카드 분실 신고는 어떻게 하나요",
]


# bf16 meets what the issue asks (>= 0.999 to fp32, >= 0.9999 alone vs in a batch). int8 (dynamic
# quantisation) cannot: its activations are quantised per batch with one scale, so a vector moves
# with its batch-mates. Measured here with 7-bit activations (a CPU without VNNI, AMD EPYC AVX2):
# to fp32 0.951 at worst (bm25@last4), alone vs batch 0.971; with 8-bit activations (forced on the
# same CPU: what VNNI/AMX CPUs run) 0.986 to fp32 on the forty sentences. These bounds pin what it
# does; it is opt-in only, never `auto`.
INT8_FULL_RANGE = cpu_features().int8
MIN_COSINE = {"bf16": 0.9999, "int8": 0.98 if INT8_FULL_RANGE else 0.94}
MIN_BATCH_COSINE = {"bf16": 0.9999, "int8": 0.965}


@pytest.fixture(scope="module", params=["bf16", "int8"])
def reduced_encoder(request, model_path):
    from models.encoder import Encoder

    return Encoder.load(str(model_path), device="cpu", precision=request.param, batch_size=16)


@pytest.fixture(scope="module")
def fp32_variants(real_encoder, forty_sentences):
    """(sentences, BM25 statistics, fp32 vectors of every variant): the same for each reduced
    precision, so encoded once."""
    assert real_encoder.precision == "fp32"
    sentences = KOREAN + forty_sentences
    bm25 = Bm25Stats.fit(terms(sentences))
    return sentences, bm25, real_encoder.encode_variants(sentences, NAMED_VARIANTS, bm25=bm25)


def test_reduced_precision_vectors_are_close_to_fp32(fp32_variants, reduced_encoder) -> None:
    if reduced_encoder.precision == "int8":  # 8-bit activations only where VNNI/AMX add in int32
        kinds = {type(m).__name__ for m in reduced_encoder.model.modules()}
        assert ("FullRangeInt8Linear" in kinds) == INT8_FULL_RANGE, kinds
    sentences, bm25, exact = fp32_variants
    reduced = reduced_encoder.encode_variants(sentences, NAMED_VARIANTS, bm25=bm25)
    for name in NAMED_VARIANTS:
        cosines = (exact[name].vectors * reduced[name].vectors).sum(axis=1)
        bound = MIN_COSINE[reduced_encoder.precision]
        assert cosines.min() >= bound, (reduced_encoder.precision, name, float(cosines.min()))
        assert not np.array_equal(exact[name].vectors, reduced[name].vectors)  # really another precision


def test_reduced_precision_is_padding_invariant(reduced_encoder, forty_sentences) -> None:
    """40 sentences of 3 to 120+ tokens, every pooling: alone vs in one mixed batch."""
    bm25 = Bm25Stats.fit(terms(forty_sentences))
    together = reduced_encoder.encode_variants(forty_sentences, NAMED_VARIANTS, bm25=bm25)
    worst = dict.fromkeys(NAMED_VARIANTS, 1.0)
    for i, sentence in enumerate(forty_sentences):
        alone = reduced_encoder.encode_variants([sentence], NAMED_VARIANTS, bm25=bm25)
        for name in NAMED_VARIANTS:
            cosine = float(alone[name].vectors[0] @ together[name].vectors[i])
            worst[name] = min(worst[name], cosine)
    bound = MIN_BATCH_COSINE[reduced_encoder.precision]
    assert min(worst.values()) >= bound, (reduced_encoder.precision, min(worst.items(), key=lambda kv: kv[1]))


def test_int8_full_range_activations_are_closer_to_fp32_than_seven_bit() -> None:
    """8-bit activations halve the activation rounding of torch's 7-bit default on a VNNI/AMX CPU;
    without VNNI the int16 products saturate, which is why the encoder uses them only with VNNI."""
    from models.cpu_precision import to_int8_products

    torch.manual_seed(0)
    x = torch.randn(64, 384)
    errors = {}
    for full_range in (False, True):
        torch.manual_seed(1)
        model = torch.nn.Sequential(torch.nn.Linear(384, 384))
        exact = model(x).detach()
        assert to_int8_products(model, full_range=full_range) == 1
        assert type(model[0]).__name__ == ("FullRangeInt8Linear" if full_range else "Linear")
        errors[full_range] = float((model(x) - exact).abs().mean())
    if INT8_FULL_RANGE:
        assert errors[True] < 0.7 * errors[False], errors
    else:
        assert errors[True] > 2 * errors[False], errors
