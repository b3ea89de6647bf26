"""`faqsearch train` on the tiny random model: mechanics in seconds (the recipe's numbers are in
eval/README.md, "Adapting the model")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from training.batches import GroupBatchSampler
from training.data import Pair, TrainDataError, read_training_data
from training.run import run_training
from training.trainer import CHECKPOINTS, TrainConfig

# Hand-written: each line a customer question and the FAQ phrasing it should find.
PAIRS = [
    ("비밀번호를 잊어버렸어요", "비밀번호 재설정은 어떻게 하나요?"),
    ("택배가 아직 안 왔어요", "배송 조회는 어디서 하나요?"),
    ("카드를 잃어버렸어요", "분실 신고 방법을 알려주세요"),
    ("환불은 언제 되나요", "환불 처리 기간이 궁금해요"),
    ("회원 탈퇴하고 싶어요", "계정 삭제 방법"),
    ("주소를 바꾸고 싶어요", "배송지 변경은 어떻게 하나요?"),
    ("영수증을 다시 받고 싶어요", "영수증 재발급 신청"),
    ("이자율이 얼마예요", "대출 금리 안내"),
]


def write_pairs(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def pairs_file(tmp_path: Path) -> Path:
    return write_pairs(tmp_path / "pairs.jsonl", [{"query": q, "positive": p} for q, p in PAIRS])


def config(tiny_model_dir: Path, out: Path, **changes) -> TrainConfig:
    options = dict(
        model=str(tiny_model_dir), out=out, epochs=4, batch_size=4, lr=5e-4, max_length=32, progress=False
    )
    options.update(changes)
    return TrainConfig(**options)


def in_batch_loss(encoder, pairs) -> float:
    """The in-batch negatives loss over all pairs at once (scale 20, cosine), from the encoder as
    every command loads it."""
    queries = encoder.encode([q for q, _ in pairs], pooling="mean").vectors
    positives = encoder.encode([p for _, p in pairs], pooling="mean", role="entry").vectors
    scores = 20.0 * queries @ positives.T
    scores -= scores.max(axis=1, keepdims=True)
    return float(-np.mean(np.diag(scores) - np.log(np.exp(scores).sum(axis=1))))


def load(folder):
    from models.encoder import Encoder

    return Encoder.load(str(folder), device="cpu", precision="fp32")


def test_training_lowers_the_loss_and_moves_positives_closer(tmp_path, tiny_model_dir):
    out = tmp_path / "trained"
    card = run_training(
        [pairs_file(tmp_path)],
        config(tiny_model_dir, out),
        eval_testsets=[],
        pooling="mean",
        encoder_loader=load,
    )
    before, after = load(tiny_model_dir), load(out)
    assert in_batch_loss(after, PAIRS) < in_batch_loss(before, PAIRS) - 0.05
    q, p = PAIRS[0]

    def cosine(e):
        return float(
            e.encode([q], pooling="mean").vectors[0] @ e.encode([p], pooling="mean", role="entry").vectors[0]
        )

    assert cosine(after) > cosine(before)
    assert (out / "MODEL_CARD.md").read_text(encoding="utf-8") == card
    assert f"| `{tmp_path / 'pairs.jsonl'}` | pairs | 8 |" in card
    assert json.loads((out / "faqsearch.json").read_text(encoding="utf-8"))["query_prefix"] == ""


def test_the_folder_records_its_prefixes_and_every_load_uses_them(tmp_path, tiny_model_dir):
    out = tmp_path / "trained"
    run_training(
        [pairs_file(tmp_path)],
        config(tiny_model_dir, out, epochs=1, query_prefix="query: ", entry_prefix="passage: "),
        eval_testsets=[],
        pooling="mean",
        encoder_loader=load,
    )
    encoder = load(out)
    assert (encoder.prefix, encoder.entry_prefix) == ("query: ", "passage: ")
    from models.encoder import Encoder

    chosen = Encoder.load(str(out), device="cpu", precision="fp32", prefix="")  # a chosen prefix wins
    assert (chosen.prefix, chosen.entry_prefix) == ("", "")


@pytest.mark.slow
def test_the_same_seed_gives_the_same_weights(tmp_path, tiny_model_dir):
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        run_training(
            [pairs_file(tmp_path)],
            config(tiny_model_dir, out, epochs=1),
            eval_testsets=[],
            pooling="mean",
            encoder_loader=load,
        )
    assert (outs[0] / "model.safetensors").read_bytes() == (outs[1] / "model.safetensors").read_bytes()


@pytest.mark.slow
def test_max_minutes_stops_with_a_loadable_model_and_resume_continues(tmp_path, tiny_model_dir):
    out = tmp_path / "trained"
    data = [pairs_file(tmp_path)]
    card = run_training(
        data,
        config(tiny_model_dir, out, max_minutes=0.0),
        eval_testsets=[],
        pooling="mean",
        encoder_loader=load,
    )
    assert "1 steps, 0.50 epochs (stopped by --max-minutes)" in card  # 8 pairs, batches of 4
    assert load(out).encode(["비밀번호"], pooling="mean").vectors.shape == (1, 32)
    assert [p.name for p in (out / CHECKPOINTS).iterdir()] == ["checkpoint-1"]
    card = run_training(
        data, config(tiny_model_dir, out, resume=True), eval_testsets=[], pooling="mean", encoder_loader=load
    )
    assert "8 steps, 4.00 epochs," in card  # continued from step 1 to the end of epoch 4


def test_groups_never_share_a_batch():
    from datasets import Dataset

    rows = {
        "anchor": [f"질문 {i}" for i in range(12)],
        "positive": [f"답 {i}" for i in range(12)],
        "label": [i % 3 for i in range(12)],
    }
    sampler = GroupBatchSampler(Dataset.from_dict(rows), batch_size=3, drop_last=False, seed=1)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(12))
    assert all(len({rows["label"][i] for i in b}) == len(b) for b in batches)
    assert len(batches) == len(sampler) == 4


def test_faq_alternates_are_positives_of_one_another_in_one_group(tmp_path):
    faqs = tmp_path / "faqs.jsonl"
    write_pairs(
        faqs,
        [
            {"id": "f1", "question": "비밀번호 변경", "alternates": ["암호 바꾸기", "비번 재설정"]},
            {"id": "f2", "question": "배송 조회"},
        ],
    )
    data = read_training_data([faqs])
    assert data.pairs == [
        Pair(a, b, None, "faq:f1")
        for a in ("비밀번호 변경", "암호 바꾸기", "비번 재설정")
        for b in ("비밀번호 변경", "암호 바꾸기", "비번 재설정")
        if a != b
    ]


def run_cli(args: list[str], model: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FAQSEARCH_MODEL": str(model), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "faqsearch.cli", *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [{"query": "가", "positive": "나"}, {"query": "다"}],
            "pairs.jsonl: line 2: field 'positive' is missing or not a string",
        ),
        (
            [{"query": "가", "positive": "  \u3000 "}],
            "pairs.jsonl: line 1: field 'positive' is empty after normalisation",
        ),
    ],
)
def test_bad_pairs_name_the_file_and_line_and_write_nothing(tmp_path, tiny_model_dir, rows, message):
    data = write_pairs(tmp_path / "pairs.jsonl", rows)
    with pytest.raises(TrainDataError) as excinfo:
        run_training(
            [data],
            config(tiny_model_dir, tmp_path / "out"),
            eval_testsets=[],
            pooling="mean",
            encoder_loader=load,
        )
    assert str(excinfo.value) == f"{tmp_path}/{message}"
    assert not (tmp_path / "out").exists()


def test_a_test_split_as_training_data_is_one_error_line_and_writes_nothing(tmp_path, tiny_model_dir):
    repo = Path(__file__).resolve().parents[2]
    result = run_cli(
        ["train", "--data", str(repo / "testsets/korsts_test"), "--out", str(tmp_path / "out")],
        tiny_model_dir,
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"error: {repo / 'testsets/korsts_test'}: is the test split ({repo / 'testsets/korsts_test/split.json'}); "
        "a model must not be trained on what it is scored on. Train on a train split (testsets/README.md lists "
        "them) or your own data.\n"
    )
    assert not (tmp_path / "out").exists()
