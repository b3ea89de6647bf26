"""One name, --data-dir, for the data directory in every command (real processes); the older
--out and --index still work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "testsets/sample_faq/faqs.csv"
COMMANDS = [
    ["faqs", "import"],
    ["index", "build"],
    ["index", "list"],
    ["index", "verify"],
    ["index", "info"],
    ["index", "rollback"],
    ["search"],
    ["serve"],
]


def run_cli(args: list[str], model: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FAQSEARCH_MODEL": str(model), "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    env.pop("FAQSEARCH_DATA_DIR", None)
    return subprocess.run(
        [sys.executable, "-m", "faqsearch.cli", *args], capture_output=True, text=True, env=env, timeout=600
    )


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_names_the_data_directory_data_dir(command, tiny_model_dir):
    result = run_cli([*command, "--help"], tiny_model_dir)
    assert result.returncode == 0, result.stderr
    assert "--data-dir,--index,--out" in result.stdout


@pytest.mark.slow
def test_data_dir_and_the_old_names_reach_the_same_folder(tmp_path, tiny_model_dir):
    faqs = tmp_path / "faqs.csv"
    faqs.write_text("\n".join(SAMPLE.read_text(encoding="utf-8").splitlines()[:11]) + "\n", encoding="utf-8")
    new, old = tmp_path / "new", tmp_path / "old"

    imported = run_cli(["faqs", "import", str(faqs), "--data-dir", str(new)], tiny_model_dir)
    assert imported.returncode == 0, imported.stderr
    assert imported.stderr.strip() == f"imported {faqs}: 10 new, 0 updated, 0 unchanged; 10 entries in {new}"
    built = run_cli(["index", "build", "--data-dir", str(new)], tiny_model_dir)
    assert built.returncode == 0, built.stderr
    assert f"built v000001 in {new}: 10 entries" in built.stderr
    listed = run_cli(["index", "list", "--data-dir", str(new)], tiny_model_dir)
    assert [json.loads(line)["version"] for line in listed.stdout.splitlines()] == ["v000001"]

    # The old names: --out for import and build, --index for the others.
    assert run_cli(["index", "build", "--faqs", str(faqs), "--out", str(old)], tiny_model_dir).returncode == 0
    listed_old = run_cli(["index", "list", "--index", str(old)], tiny_model_dir)
    assert [json.loads(line)["count"] for line in listed_old.stdout.splitlines()] == [10]
