"""The hand-written testsets/cs_faq set: it loads, its counts are the documented ones, build.py leaves it alone.

Fast: no model and no Kiwi (testsets/cs_faq_check.py measures the no-shared-word fraction)."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from eval.testset import RankingSet, load_testset

REPO_ROOT = Path(__file__).resolve().parents[2]
FOLDER = REPO_ROOT / "testsets" / "cs_faq"
COUNTS = {"entries": 65, "queries": 277, "qrels": 285}
CATEGORIES = {
    "은행": "bank",
    "카드": "card",
    "통신": "telecom",
    "택배/배송": "delivery",
    "민원/공공": "public",
}


def _jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (FOLDER / name).read_text(encoding="utf-8").splitlines()]


def test_loads_with_the_exact_counts_of_meta_json():
    loaded = load_testset(FOLDER)
    assert isinstance(loaded, RankingSet)
    assert loaded.name == "cs_faq"
    counts = {
        "entries": len(loaded.corpus),
        "queries": len(loaded.queries),
        "qrels": sum(len(entries) for entries in loaded.qrels.values()),
    }
    assert counts == COUNTS
    meta = json.loads((FOLDER / "meta.json").read_text(encoding="utf-8"))
    assert meta["counts"] == COUNTS
    assert (meta["name"], meta["kind"], meta["licence"]) == ("cs_faq", "ranking", "MIT")
    assert meta["source"] == "hand-written for faqsearch"
    assert {grade for entries in loaded.qrels.values() for grade in entries.values()} == {1}
    assert all(entry.answer for entry in loaded.corpus)


def test_entries_questions_alternates_and_queries():
    corpus = _jsonl("corpus.jsonl")
    queries = _jsonl("queries.jsonl")
    assert [e["id"] for e in corpus] == sorted({e["id"] for e in corpus})
    assert [q["id"] for q in queries] == [f"q-{n:03d}" for n in range(1, COUNTS["queries"] + 1)]
    assert Counter(e["category"] for e in corpus) == dict.fromkeys(CATEGORIES, 13)
    for entry in corpus:
        assert entry["id"].split("-")[0] == CATEGORIES[entry["category"]]
        assert isinstance(entry["alternates"], list) and len(entry["alternates"]) <= 3
        assert 100 <= len(entry["answer"]) <= 400
    texts = [t for e in corpus for t in (e["text"], *e["alternates"])] + [q["text"] for q in queries]
    assert len(texts) == len(set(texts))
    assert {q["kind"] for q in queries} == {"paraphrase", "lexical", "spoken", "typo"}
    judged = Counter(
        line.split("\t")[1] for line in (FOLDER / "qrels.tsv").read_text(encoding="utf-8").splitlines()[1:]
    )
    assert set(judged) == {e["id"] for e in corpus}  # every entry has a query


@pytest.mark.parametrize("name", ["corpus.jsonl", "queries.jsonl", "qrels.tsv", "meta.json", "README.md"])
def test_files_are_nfc_and_written_as_documented(name):
    text = (FOLDER / name).read_text(encoding="utf-8")
    assert unicodedata.normalize("NFC", text) == text
    assert text.endswith("\n") and "\r" not in text
    if name.endswith(".jsonl"):
        for line in text.splitlines():
            assert json.dumps(json.loads(line), ensure_ascii=False) == line


def test_licence_is_the_projects_and_the_top_readme_lists_the_set():
    assert (FOLDER / "LICENSE.txt").read_bytes() == (REPO_ROOT / "LICENSE").read_bytes()
    top = (REPO_ROOT / "testsets" / "README.md").read_text(encoding="utf-8")
    assert "| [`cs_faq`](cs_faq/README.md) | ranking | 65 entries, 277 queries, 285 qrels | MIT |" in top
    assert "`cs_faq` is hand-written: its files are the source, build.py does not touch it" in top


def test_build_py_leaves_the_folder_alone(tmp_path, monkeypatch):
    """A build into a folder that already holds cs_faq keeps its files byte for byte; build.py never writes it."""
    build = REPO_ROOT / "testsets" / "build.py"
    raw = REPO_ROOT.parent / "shared" / "testsets_raw"
    assert raw.is_dir(), f"the raw test data must be at {raw} (shared/ beside the checkout)"
    shutil.copytree(FOLDER, tmp_path / "cs_faq")
    result = subprocess.run(
        [sys.executable, str(build), "--raw", str(raw), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "cs_faq" not in json.loads(result.stdout)
    kept = sorted(p.name for p in (tmp_path / "cs_faq").iterdir())
    assert kept == sorted(p.name for p in FOLDER.iterdir())
    for name in kept:
        assert (tmp_path / "cs_faq" / name).read_bytes() == (FOLDER / name).read_bytes(), name
    assert (tmp_path / "README.md").read_bytes() == (REPO_ROOT / "testsets" / "README.md").read_bytes()

    spec = importlib.util.spec_from_file_location("testsets_build", build)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    with pytest.raises(module.BuildError, match="hand-written"):
        module.write_set(tmp_path, "cs_faq", {"corpus.jsonl": ""})
