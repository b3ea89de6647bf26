"""`faqsearch faqs import`, `index build|list|info|rollback` and `search` as real processes."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from faqsearch.settings import Settings
from indexing.build import rows_of
from indexing.faq_import import read_faq_file
from indexing.searcher import Searcher
from indexing.snapshots import Snapshots

SAMPLE = Path(__file__).resolve().parents[2] / "testsets/sample_faq/faqs.csv"


def cli_env(model_path):
    return {**os.environ, "FAQSEARCH_MODEL": str(model_path), "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def run_cli(args, model_path):
    return subprocess.run(
        [sys.executable, "-m", "faqsearch.cli", *args],
        capture_output=True,
        text=True,
        env=cli_env(model_path),
        timeout=600,
    )


@pytest.fixture(scope="module")
def small_faq(tmp_path_factory):
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    path = tmp_path_factory.mktemp("faq") / "faqs.csv"
    path.write_text("\n".join(lines[:41]) + "\n", encoding="utf-8")  # header + 40 entries
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory, small_faq, model_path):
    data_dir = tmp_path_factory.mktemp("data")
    result = run_cli(["index", "build", "--faqs", str(small_faq), "--out", str(data_dir)], model_path)
    assert result.returncode == 0, result.stderr
    return data_dir, result


def test_build_shows_progress_and_ends_with_a_summary(built):
    data_dir, result = built
    assert "sent/s" in result.stderr  # progress bar with rate
    summary = result.stderr.strip().splitlines()[-1]
    assert summary.startswith(f"built v000001 in {data_dir}: 40 entries")
    assert "pooling bm25, flat index" in summary  # the default pooling (eval/README.md)


@pytest.mark.slow
def test_search_prints_one_json_line_per_query(built, model_path):
    data_dir, _ = built
    result = run_cli(
        ["search", "--index", str(data_dir), "--top-k", "2", "비밀번호를 잊어버렸어요", "아이디 찾기"],
        model_path,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query"] for line in lines] == ["비밀번호를 잊어버렸어요", "아이디 찾기"]
    first = lines[0]["hits"][0]
    assert (first["id"], first["question"]) == ("site-001", "비밀번호를 잊어버렸어요. 어떻게 찾나요?")
    assert all(len(line["hits"]) == 2 for line in lines)


def test_search_errors_are_one_line(built, model_path):
    data_dir, _ = built
    result = run_cli(["search", "--index", str(data_dir), "--mode", "fuzzy", "대출"], model_path)
    assert result.returncode == 2
    assert "unknown search mode 'fuzzy'; valid: dense, bm25, hybrid" in result.stderr
    assert "Traceback" not in result.stderr


def test_search_over_a_damaged_snapshot_is_one_line_naming_the_file(built, model_path, tmp_path):
    data_dir, _ = built
    copy = tmp_path / "copy"
    shutil.copytree(data_dir, copy)
    (Snapshots(copy).current_info().path / "labels.json").write_text("{}", encoding="utf-8")
    result = run_cli(["search", "--index", str(copy), "대출"], model_path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: snapshot ")
    assert "is incomplete or damaged: labels.json: it has 2 bytes, the manifest recorded " in result.stderr
    assert "faqsearch index rollback" in result.stderr and "Traceback" not in result.stderr


def test_import_of_a_bad_file_changes_nothing(tmp_path, model_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,question\n1,대출 신청\n1,중복 아이디\n2,\n", encoding="utf-8")
    result = run_cli(["faqs", "import", str(bad), "--out", str(tmp_path / "data")], model_path)
    assert result.returncode == 2
    assert "row 3" in result.stderr and "row 4" in result.stderr
    assert "Traceback" not in result.stderr


def read_stderr(process, chunks):
    for chunk in iter(lambda: process.stderr.read(64), b""):
        chunks.append(chunk)


@pytest.mark.slow
def test_killed_build_leaves_the_served_snapshot_and_a_rerun_succeeds(
    tmp_path, small_faq, tiny_model_dir, tiny_encoder
):
    """Atomicity, not meaning: the tiny random model (FAQSEARCH_MODEL) builds both snapshots."""
    data_dir = tmp_path / "data"
    first = run_cli(["index", "build", "--faqs", str(small_faq), "--out", str(data_dir)], tiny_model_dir)
    assert first.returncode == 0, first.stderr
    # A second, bigger build (3,000 paraKQC questions, 6 progress steps after the first: seconds of
    # encoding even for the tiny model) is killed once its first step is done, halfway through encoding.
    queries = (SAMPLE.parents[1] / "parakqc/queries.jsonl").read_text(encoding="utf-8").splitlines()[:3000]
    big = tmp_path / "big.jsonl"
    rows = [{"id": f"pq-{i}", "question": json.loads(line)["text"]} for i, line in enumerate(queries)]
    big.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "faqsearch.cli",
        "index",
        "build",
        "--faqs",
        str(big),
        "--out",
        str(data_dir),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=cli_env(tiny_model_dir)
    )
    chunks: list[bytes] = []
    reader = threading.Thread(target=read_stderr, args=(process, chunks), daemon=True)
    reader.start()
    deadline = time.monotonic() + 300
    # 3,040 questions and the small FAQ's answers (indexed by default), cut at the tiny model's
    # 64-token limit: the texts the build encodes, 512 of them done
    entries = read_faq_file(small_faq) + read_faq_file(big)
    texts = sum(len(r) for r in rows_of(entries, Settings.model_construct().row_policy(), tiny_encoder))
    first_step = re.compile(rb"512/(\d+)")
    while not first_step.search(b"".join(chunks)) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert process.poll() is None, b"".join(chunks).decode(errors="replace")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    assert int(first_step.search(b"".join(chunks)).group(1)) == texts >= 3040 + 40

    snapshots = Snapshots(data_dir)
    assert snapshots.current() == "v000001", (first.stderr, b"".join(chunks).decode(errors="replace"))
    assert [info.version for info in snapshots.list()] == ["v000001"]
    assert snapshots.current_info().manifest["count"] == 40

    rerun = run_cli(["index", "build", "--out", str(data_dir)], tiny_model_dir)
    assert rerun.returncode == 0, rerun.stderr
    assert snapshots.current() == "v000002"
    assert snapshots.current_info().manifest["count"] == 3040


@pytest.mark.slow
def test_list_info_and_rollback(tmp_path, small_faq, tiny_model_dir, tiny_encoder):
    """CLI plumbing: the tiny random model (FAQSEARCH_MODEL) builds the two snapshots."""
    data_dir = tmp_path / "data"
    for pooling in ("mean", "cls"):
        result = run_cli(
            ["index", "build", "--faqs", str(small_faq), "--out", str(data_dir), "--pooling", pooling],
            tiny_model_dir,
        )
        assert result.returncode == 0, result.stderr
    listed = [
        json.loads(line)
        for line in run_cli(["index", "list", "--index", str(data_dir)], tiny_model_dir).stdout.splitlines()
    ]
    assert [(x["version"], x["current"], x["pooling"]) for x in listed] == [
        ("v000001", False, "mean"),
        ("v000002", True, "cls"),
    ]
    info = json.loads(run_cli(["index", "info", "--index", str(data_dir)], tiny_model_dir).stdout)
    assert (info["version"], info["manifest"]["pooling"], info["manifest"]["count"]) == ("v000002", "cls", 40)
    rollback = run_cli(["index", "rollback", "--index", str(data_dir)], tiny_model_dir)
    assert rollback.returncode == 0 and "current snapshot is now v000001" in rollback.stderr
    assert Searcher.open(data_dir, tiny_encoder).index.pooling == "mean"
    unknown = run_cli(["index", "info", "v000009", "--index", str(data_dir)], tiny_model_dir)
    assert unknown.returncode == 2 and "v000001" in unknown.stderr and "v000002" in unknown.stderr


def test_list_of_a_missing_data_directory_says_so(tmp_path, model_path):
    result = run_cli(["index", "list", "--index", str(tmp_path / "typo")], model_path)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: no data directory {tmp_path / 'typo'}; set FAQSEARCH_DATA_DIR")
    empty = run_cli(["index", "list", "--index", str(tmp_path)], model_path)  # a folder with no index yet
    assert (empty.returncode, empty.stdout) == (0, "")
