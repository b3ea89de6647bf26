"""The function-word weight travels with an index's BM25 statistics: a snapshot built with one
factor is refused under another, and a snapshot of the old term format is refused with the fix."""

from __future__ import annotations

import json

import pytest

from faqsearch.settings import Settings, SettingsError, get_settings
from indexing.build import build_snapshot
from indexing.loaded_index import IndexMismatchError
from indexing.searcher import Searcher
from indexing.snapshots import Snapshots
from indexing.store import FaqEntry, FaqStore

QUESTIONS = [
    "주차 요금은 얼마예요?",
    "환불은 언제 되나요?",
    "서류는 어디에서 받나요?",
    "영업시간을 알려 주세요",
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, tiny_encoder):
    folder = tmp_path_factory.mktemp("fw-index")
    with FaqStore.open(folder) as store:
        store.upsert_many([FaqEntry(f"q{i}", q) for i, q in enumerate(QUESTIONS)])
    # tiny random model: these tests are about the statistics, not about meaning
    build_snapshot(folder, tiny_encoder, "bm25", function_weight=0.25)
    return folder


def test_the_factor_is_in_the_statistics_and_the_manifest(data_dir, tiny_encoder):
    searcher = Searcher.open(data_dir, tiny_encoder, function_weight=0.25)
    assert searcher.index.bm25.function_weight == 0.25
    assert Snapshots(data_dir).current_info().manifest["bm25"]["function_weight"] == 0.25
    # rows added later are weighed with the same factor
    searcher.upsert([FaqEntry("new", "주차는 어디에 하나요?")])
    row = searcher.index.lexical._rows[searcher.index.labels_of["new"][0]]
    columns = {i: t for i, t in enumerate(searcher.index.lexical._terms)}
    weights = {columns[c]: w for c, w in row.items()}
    expected = searcher.index.bm25.term_weights(["주차/N", "는/J", "어디/N", "에/J", "하/V", "나요/E", "?/S"])
    assert weights == expected


def test_an_index_built_with_another_factor_is_refused_naming_both(data_dir, tiny_encoder):
    with pytest.raises(IndexMismatchError) as info:
        Searcher.open(data_dir, tiny_encoder, function_weight=1.0)
    message = str(info.value)
    assert (
        "it was built with function-word weight 0.25 but the configured FAQSEARCH_FUNCTION_WORD_WEIGHT is 1"
        in message
    )
    assert "Rebuild the index" in message and "faqsearch index build" in message


def test_a_snapshot_of_the_old_term_format_is_refused_with_the_fix(tmp_path, data_dir, tiny_encoder):
    import shutil

    copy = tmp_path / "old"
    # an earlier test's searcher may still hold the store open: its -wal/-shm files can vanish
    # mid-copy when that connection is collected; this test reads only the snapshot files
    shutil.copytree(data_dir, copy, ignore=shutil.ignore_patterns("*-wal", "*-shm"))
    params_file = Snapshots(copy).current_info().path / "bm25_params.json"
    params = json.loads(params_file.read_text(encoding="utf-8"))
    params["format_version"] = 1  # as every snapshot written before the function-word weight
    del params["function_weight"]
    params_file.write_text(json.dumps(params), encoding="utf-8")
    manifest_file = params_file.with_name("manifest.json")  # and, as they all did, no file hashes
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    del manifest["files"]
    manifest_file.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexMismatchError) as info:
        Searcher.open(copy, tiny_encoder)
    message = str(info.value)
    assert "built by an older version of faqsearch" in message
    assert "have format 1, this version reads 2" in message
    assert "Rebuild the index (faqsearch index build)" in message


@pytest.mark.parametrize("value", ["1.5", "-0.1"])
def test_the_setting_outside_zero_one_lists_the_valid_range(monkeypatch, value):
    monkeypatch.setenv("FAQSEARCH_FUNCTION_WORD_WEIGHT", value)
    get_settings.cache_clear()
    try:
        with pytest.raises(SettingsError) as info:
            get_settings()
    finally:
        get_settings.cache_clear()
    assert (
        f"FAQSEARCH_FUNCTION_WORD_WEIGHT: must be within [0, 1] (0: particles, endings, suffixes and "
        f"symbols count for nothing; 1: as much as content words), got {float(value)}" in str(info.value)
    )


def test_the_setting_accepts_the_ends_of_the_range():
    assert Settings(function_word_weight=0).function_word_weight == 0.0
    assert Settings(function_word_weight=1).function_word_weight == 1.0
