"""Every setting is validated at startup: a bad FAQSEARCH_POOLING or FAQSEARCH_DEVICE stops
`faqsearch serve` and every other command with exit 2 and one line naming the setting, the bad
value and the valid values, rather than a server that is "not ready" later."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

DEVICE = "FAQSEARCH_DEVICE: unknown device 'tpu'; valid: auto, cpu, cuda, cuda:N"
POOLING = (
    "FAQSEARCH_POOLING: unknown pooling 'bogus' (no method 'bogus'); valid: METHOD or METHOD@LAYERS with "
    "METHOD one of cls, mean, max, bm25, mean_with_padding and LAYERS -1, -2, ... or last2, last3, ...; "
    "e.g. cls, mean, max, mean_with_padding, bm25, mean@-2, mean@last4, bm25@last4"
)


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "faqsearch.cli", *args],
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", **env},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_serve_refuses_a_bad_pooling_and_device(tmp_path):
    result = _run(
        ["serve", "--index", str(tmp_path), "--port", "1"],
        {"FAQSEARCH_POOLING": "bogus", "FAQSEARCH_DEVICE": "tpu"},
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"error: invalid setting: {DEVICE}; {POOLING}\n"


@pytest.mark.parametrize(
    ("env", "message"),
    [({"FAQSEARCH_POOLING": "bogus"}, POOLING), ({"FAQSEARCH_DEVICE": "tpu"}, DEVICE)],
)
@pytest.mark.parametrize(
    "args", [["index", "list"], ["embed", "대출"], ["search", "대출"], ["faqs", "import", "x.csv"]]
)
def test_every_command_refuses_a_bad_setting(tmp_path, args, env, message):
    result = _run([*args], env)
    assert (result.returncode, result.stderr) == (2, f"error: invalid setting: {message}\n")


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:1", " CUDA:0 "])
def test_valid_devices(device):
    from faqsearch.settings import Settings

    assert Settings(device=device).device == device.strip().lower()


@pytest.mark.parametrize("device", ["tpu", "cuda:", "cuda:x", "gpu", ""])
def test_invalid_devices(device):
    from pydantic import ValidationError

    from faqsearch.settings import Settings

    with pytest.raises(ValidationError, match="unknown device"):
        Settings(device=device)


@pytest.mark.parametrize("pooling", ["mean", "bm25@last4", "cls@-2", "mean@-40"])  # depth: at model load
def test_pooling_grammar_only(pooling):
    from faqsearch.settings import Settings

    assert Settings(pooling=pooling).pooling == pooling


@pytest.mark.parametrize("threads", ["0", "-1", "many", "1.5"])
def test_invalid_threads(threads):
    from pydantic import ValidationError

    from faqsearch.settings import Settings

    with pytest.raises(ValidationError, match="unknown thread setting"):
        Settings(threads=threads)


def test_settings_and_eval_variants_import_no_torch():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import eval.variants, faqsearch.settings, sys; print('torch' in sys.modules)",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "False\n", "")
