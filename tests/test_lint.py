"""Lint is part of the suite: the code style and type settings in pyproject.toml hold for every file."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_finds_nothing():
    # The packages and settings (pydantic plugin included) come from [tool.mypy] in pyproject.toml.
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_nothing_heavy_happens_at_import_time():
    code = (
        "import sys, faqsearch.cli, faqsearch.settings, models, models.text, indexing, app, eval\n"
        "heavy = sorted({'torch', 'transformers', 'kiwipiepy', 'faiss', 'fastapi'} & set(sys.modules))\n"
        "print(','.join(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
