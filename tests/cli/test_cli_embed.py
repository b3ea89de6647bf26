"""`faqsearch embed` as a user runs it: a real process, JSON lines out. The process loads the tiny
random model (FAQSEARCH_MODEL): what it prints must be that encoder's vectors, whatever they mean."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from faqsearch.settings import Settings
from models.bm25 import Bm25Stats
from models.morphemes import terms
from models.text import normalize_text


def run_cli(args, model_path, stdin=None):
    env = {**os.environ, "FAQSEARCH_MODEL": str(model_path), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "faqsearch.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def records(stdout):
    return [json.loads(line) for line in stdout.splitlines()]


SENTENCES = ["신용 대출을 신청하고 싶어요", "비밀번호를 잊어버렸어요"]


def test_embed_arguments_print_the_encoder_vectors(tiny_model_dir, tiny_encoder):
    result = run_cli(["embed", "--pooling", "mean", *SENTENCES], tiny_model_dir)
    assert result.returncode == 0, result.stderr
    out = records(result.stdout)
    assert [r["text"] for r in out] == SENTENCES
    assert [r["truncated"] for r in out] == [False, False]
    expected = tiny_encoder.encode(SENTENCES, "mean").vectors
    assert np.abs(np.array([r["vector"] for r in out]) - expected).max() <= 1e-5


@pytest.mark.slow
def test_embed_reads_stdin_and_bm25_uses_the_corpus_file(tiny_model_dir, tiny_encoder, tmp_path):
    corpus = ["대출 신청은 어떻게 하나요?", "비밀번호 변경 방법", "카드 분실 신고", "적금 이자 지급일"]
    (tmp_path / "corpus.txt").write_text("\n".join(corpus) + "\n", encoding="utf-8")
    result = run_cli(
        ["embed", "--pooling", "bm25", "--corpus", str(tmp_path / "corpus.txt")],
        tiny_model_dir,
        stdin="\n".join(SENTENCES) + "\n\n",
    )
    assert result.returncode == 0, result.stderr
    weight = Settings.model_construct().function_word_weight  # the default, as the CLI runs
    bm25 = Bm25Stats.fit(terms([normalize_text(line) for line in corpus]), function_weight=weight)
    expected = tiny_encoder.encode(SENTENCES, "bm25", bm25=bm25).vectors
    assert np.abs(np.array([r["vector"] for r in records(result.stdout)]) - expected).max() <= 1e-5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["embed", "--pooling", "avg", "대출"], "unknown pooling 'avg' (no method 'avg'); valid: METHOD"),
        (["embed", "--pooling", "bm25", "대출"], "needs BM25 statistics: pass --corpus FILE"),
        (["embed", "--pooling", "mean", " \t "], "sentence 0 is empty after normalisation"),
        (
            ["embed", "--pooling", "mean", "--model", "/nonexistent/model", "대출"],
            "Set FAQSEARCH_MODEL (or --model)",
        ),
    ],
)
def test_bad_input_is_one_error_line_and_exit_2(tiny_model_dir, args, message):
    result = run_cli(args, tiny_model_dir)
    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert "Traceback" not in result.stderr
