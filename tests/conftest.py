"""Shared test fixtures. Tests run offline: nothing may reach a model hub."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# The exact-answer tests compare CLI and server output with an fp32 encoder in the test process,
# so every process they start runs fp32 too; tests/models/test_cpu_precision.py and
# tests/indexing/test_cross_precision.py cover the other precisions and what `auto` picks.
os.environ.setdefault("FAQSEARCH_PRECISION", "fp32")

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# The real Korean encoder used by tests, evaluation and benchmarks (see its MODEL_CARD.md).
MODEL_PATH = Path(os.environ.get("FAQSEARCH_TEST_MODEL", REPO_ROOT.parent / "shared/models/me5-small-koen"))


@pytest.fixture(scope="session")
def model_path() -> Path:
    if not (MODEL_PATH / "config.json").is_file():
        pytest.fail(
            f"the test model is missing at {MODEL_PATH}; put shared/ beside the checkout "
            "or set FAQSEARCH_TEST_MODEL to a model folder"
        )
    return MODEL_PATH


@pytest.fixture(scope="session")
def real_encoder(model_path):
    from models.encoder import Encoder

    return Encoder.load(str(model_path), device="cpu", precision="fp32", batch_size=16)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, model_path) -> Path:
    """A tiny random BERT (4 layers, hidden 32) with the real Korean tokenizer, saved to a folder."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(str(model_path))
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    model = BertModel(config, add_pooling_layer=False)
    folder = tmp_path_factory.mktemp("tiny-bert")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_encoder(tiny_model_dir):
    from models.encoder import Encoder

    return Encoder.load(str(tiny_model_dir), device="cpu", precision="fp32", prefix="", batch_size=4)


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, real_encoder) -> Path:
    """A data directory with the sample FAQs imported and indexed with the default settings (pooling,
    function-word weight, answers; flat), built once; servers in tests use the defaults too."""
    from default_index import build_default_snapshot

    from indexing.faq_import import import_faqs
    from indexing.store import FaqStore

    data_dir = tmp_path_factory.mktemp("sample-index")
    with FaqStore.open(data_dir) as store:
        import_faqs(store, REPO_ROOT / "testsets/sample_faq/faqs.csv")
    build_default_snapshot(data_dir, real_encoder)
    return data_dir


@pytest.fixture(scope="session")
def tiny_sample_index(tmp_path_factory, tiny_encoder) -> Path:
    """`sample_index` built with the tiny random model: for servers whose tests are about HTTP
    plumbing, not about what the real model ranks first."""
    from default_index import build_default_snapshot

    from indexing.faq_import import import_faqs
    from indexing.store import FaqStore

    data_dir = tmp_path_factory.mktemp("tiny-sample-index")
    with FaqStore.open(data_dir) as store:
        import_faqs(store, REPO_ROOT / "testsets/sample_faq/faqs.csv")
    build_default_snapshot(data_dir, tiny_encoder)
    return data_dir
