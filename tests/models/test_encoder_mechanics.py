"""Encoder mechanics on a tiny random BERT (real Korean tokenizer): batching, padding, truncation."""

import json
import shutil

import numpy as np
import pytest
import torch
from same_results import assert_same_vectors

from models.bm25 import Bm25Stats
from models.device import resolve_device, resolve_dtype
from models.encoder import Encoder, default_prefix
from models.morphemes import terms
from models.pooling_spec import NAMED_VARIANTS

SENTENCES = [
    "네",
    "비밀번호를 잊어버렸어요",
    "신용 대출을 신청하고 싶어요",
    "카드를 잃어버렸을 때는 고객센터에 전화해서 분실 신고를 하시면 됩니다",
    "적금",
    "해외 송금을 하려면 어떻게 해야 하나요?",
    "앱에서 로그인이 안 돼요",
]


@pytest.fixture(scope="module")
def bm25():
    return Bm25Stats.fit(terms(SENTENCES))


def test_every_variant_is_independent_of_the_batch(tiny_encoder, bm25):
    together = tiny_encoder.encode_variants(SENTENCES, NAMED_VARIANTS, bm25=bm25)
    for i, sentence in enumerate(SENTENCES):
        alone = tiny_encoder.encode_variants([sentence], NAMED_VARIANTS, bm25=bm25)
        for name in NAMED_VARIANTS:
            assert np.abs(alone[name].vectors[0] - together[name].vectors[i]).max() <= 1e-6, (name, i)


def test_vectors_equal_a_manual_forward_pass_without_any_padding(tiny_encoder):
    tokenized = tiny_encoder.tokenize(SENTENCES)
    vectors = tiny_encoder.encode(SENTENCES, "mean").vectors
    for i, ids in enumerate(tokenized.input_ids):
        with torch.no_grad():
            hidden = tiny_encoder.model(input_ids=torch.tensor([ids])).last_hidden_state[0]  # [T, H]
        expected = torch.nn.functional.normalize(hidden.mean(dim=0), dim=0).numpy()
        assert np.abs(vectors[i] - expected).max() <= 1e-6


def test_batches_are_length_sorted_and_padded_only_to_their_longest(tiny_encoder):
    tokenized = tiny_encoder.tokenize(SENTENCES)
    lengths = [len(ids) for ids in tokenized.input_ids]
    batches = list(tiny_encoder.iter_hidden(tokenized))
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    assert [b.indices for b in batches] == [order[0:4], order[4:7]]  # batch_size = 4
    for batch in batches:
        assert batch.mask.shape[1] == max(lengths[i] for i in batch.indices)
        assert batch.mask.sum(dim=1).tolist() == [lengths[i] for i in batch.indices]


def test_results_come_back_in_input_order(tiny_encoder):
    forward = tiny_encoder.encode(SENTENCES).vectors
    backward = tiny_encoder.encode(SENTENCES[::-1]).vectors
    assert np.abs(forward - backward[::-1]).max() <= 1e-6


def test_vectors_are_float32_and_unit_length(tiny_encoder):
    vectors = tiny_encoder.encode(SENTENCES, "max").vectors
    assert vectors.dtype == np.float32
    assert np.abs(np.linalg.norm(vectors, axis=1) - 1).max() <= 1e-6


def test_long_input_is_truncated_visibly(tiny_model_dir):
    encoder = Encoder.load(str(tiny_model_dir), device="cpu", prefix="", max_length=16)
    long = "대출 " * 100
    tokenized = encoder.tokenize([long, "대출"])
    assert tokenized.truncated == [True, False]
    assert len(tokenized.input_ids[0]) == 16
    assert tokenized.input_ids[0][-1] == encoder.tokenizer.sep_token_id
    assert encoder.encode([long, "대출"]).truncated.tolist() == [True, False]


def test_max_length_over_the_model_limit_is_refused(tiny_model_dir):
    with pytest.raises(ValueError, match="exceeds the model's maximum of 64 tokens"):
        Encoder.load(str(tiny_model_dir), device="cpu", max_length=65)


@pytest.mark.parametrize("text", ["", "   ", "\t\n", "\x00\x01"])
def test_empty_input_is_one_clear_value_error(tiny_encoder, text):
    with pytest.raises(ValueError, match="sentence 1 is empty after normalisation"):
        tiny_encoder.encode(["대출", text])


def test_control_characters_are_dropped_before_encoding(tiny_encoder):
    sentences = ["비밀\x00번호를\x1b 잊어버렸어요\u200b", "비밀번호를 잊어버렸어요"]
    dirty_ids, clean_ids = tiny_encoder.tokenize(sentences).input_ids
    assert dirty_ids == clean_ids
    dirty, clean = tiny_encoder.encode(sentences).vectors
    assert_same_vectors(dirty, clean)


def test_mixed_scripts_and_emoji_encode(tiny_encoder):
    tokenized = tiny_encoder.tokenize(["비밀번호 reset 方法 😀👍🏽 ñ"])
    assert tokenized.truncated == [False]
    vector = tiny_encoder.encode(["비밀번호 reset 方法 😀👍🏽 ñ"]).vectors[0]
    assert np.isfinite(vector).all() and abs(np.linalg.norm(vector) - 1) <= 1e-6


def test_a_100k_character_string_is_truncated_not_a_crash(tiny_encoder):
    result = tiny_encoder.encode(["가나다라 " * 20_000])
    assert result.truncated.tolist() == [True]
    assert abs(np.linalg.norm(result.vectors[0]) - 1) <= 1e-6


@pytest.mark.parametrize(
    ("texts", "error"),
    [("대출", "wrap a single sentence in a list"), (["대출", 3], "sentence 1 is int, not str")],
)
def test_wrong_types_are_type_errors(tiny_encoder, texts, error):
    with pytest.raises(TypeError, match=error):
        tiny_encoder.encode(texts)


def test_bm25_pooling_without_statistics_says_what_to_pass(tiny_encoder):
    with pytest.raises(ValueError, match="needs BM25 statistics fitted on the FAQ corpus"):
        tiny_encoder.encode(["대출"], "bm25")


def test_a_layer_deeper_than_the_model_is_refused(tiny_encoder):
    with pytest.raises(ValueError, match=r"reaches layer -6, but the model has 4 layers"):
        tiny_encoder.encode(["대출"], "mean@last6")


def test_empty_list_gives_an_empty_matrix(tiny_encoder):
    assert tiny_encoder.encode([]).vectors.shape == (0, 32)


def test_prefix_is_chosen_per_model_name():
    assert default_prefix("intfloat/multilingual-e5-small") == "query: "
    assert default_prefix("../shared/models/me5-small-koen/") == "query: "
    assert default_prefix("klue/bert-base") == ""


def test_device_choice_on_a_cpu_machine():
    if torch.cuda.is_available():
        pytest.fail("this test describes the CPU-only CI machine; run the GPU checks with bench/ instead")
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("CPU") == torch.device("cpu")
    assert resolve_dtype(torch.device("cpu"), "auto") == torch.float32
    with pytest.raises(ValueError, match="CUDA is not available"):
        resolve_device("cuda:0")
    with pytest.raises(ValueError, match="valid: auto, cpu, cuda, cuda:N"):
        resolve_device("tpu")
    # bf16 and int8 load in fp32 on CPU and convert the products after (models/cpu_precision.py)
    assert resolve_dtype(torch.device("cpu"), "bf16") == torch.float32
    assert resolve_dtype(torch.device("cpu"), "int8") == torch.float32
    with pytest.raises(ValueError, match="needs a GPU"):
        resolve_dtype(torch.device("cpu"), "fp16")
    with pytest.raises(ValueError, match="valid: auto, fp32, bf16, int8, fp16"):
        resolve_dtype(torch.device("cpu"), "fp64")


@pytest.mark.parametrize(
    ("damage", "error"),
    [
        ("weights cut short", "SafetensorError"),
        ("config does not fit the weights", "RuntimeError"),
    ],
)
def test_a_damaged_model_folder_is_a_model_load_error(tmp_path, tiny_model_dir, damage, error):
    from models.encoder import ModelLoadError

    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    if damage == "weights cut short":
        weights = folder / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    else:
        config = json.loads((folder / "config.json").read_text())
        (folder / "config.json").write_text(json.dumps({**config, "hidden_size": 64}))
    with pytest.raises(ModelLoadError, match=rf"could not load model '.*': {error}: .*Set FAQSEARCH_MODEL"):
        Encoder.load(str(folder), device="cpu", prefix="")


def test_a_missing_model_names_the_setting_to_change(tmp_path):
    from models.encoder import ModelLoadError

    with pytest.raises(ModelLoadError, match="Set FAQSEARCH_MODEL"):
        Encoder.load(str(tmp_path / "no-such-model"), device="cpu")
