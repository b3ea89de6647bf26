"""An index of entries encoded behind their own prefix (asymmetric models): rebuilds and incremental
writes put the entry prefix before entries, searches the query prefix before queries, the manifest
records both, and an index built with another entry prefix is refused (older manifests: = the query
prefix). The tiny random BERT: the expectations are brute-force cosines of its own `encode`."""

import json
from pathlib import Path

import numpy as np
import pytest

from indexing.build import build_snapshot
from indexing.loaded_index import IndexMismatchError
from indexing.searcher import Searcher
from indexing.snapshots import Snapshots
from indexing.store import FaqEntry, FaqStore

ENTRIES = [
    FaqEntry(id="a", question="비밀번호를 잊어버렸어요"),
    FaqEntry(id="b", question="신용 대출을 신청하고 싶어요"),
    FaqEntry(id="c", question="해외 송금은 어떻게 하나요?"),
    FaqEntry(id="d", question="카드를 잃어버렸어요"),
    FaqEntry(id="e", question="적금 이자는 언제 들어오나요?"),
]
QUERIES = ["비밀번호 찾기", "대출 신청", "카드 분실", "송금 방법"]


@pytest.fixture(scope="module")
def asymmetric(tiny_encoder):
    return tiny_encoder.with_prefixes(prefix="query: ", entry_prefix="passage: ")


@pytest.fixture()
def data_dir(tmp_path, asymmetric) -> Path:
    with FaqStore.open(tmp_path) as store:
        store.upsert_many(ENTRIES)
    build_snapshot(tmp_path, asymmetric, "bm25")
    return tmp_path


def brute_force(encoder, index, entries, query):
    """Entries behind the entry prefix, the query behind the query prefix, the index's BM25 statistics."""
    vectors = encoder.encode([e.question for e in entries], "bm25", bm25=index.bm25, role="entry").vectors
    scores = vectors @ encoder.encode([query], "bm25", bm25=index.bm25, role="query").vectors[0]
    order = np.argsort(-scores, kind="stable")
    return [entries[i].id for i in order], scores[order]


def test_search_ranks_entries_behind_the_entry_prefix_for_queries_behind_the_query_prefix(
    data_dir, asymmetric
):
    searcher = Searcher.open(data_dir, asymmetric)
    for query, hits in zip(QUERIES, searcher.search(QUERIES, top_k=5), strict=True):
        ids, scores = brute_force(asymmetric, searcher.index, ENTRIES, query)
        assert [h.id for h in hits] == ids
        assert np.abs(np.array([h.score for h in hits]) - scores).max() <= 1e-5
    # and not what the entries behind the query prefix would give: the prefix did reach the index
    symmetric = asymmetric.with_prefixes(entry_prefix="query: ")
    vectors = symmetric.encode([e.question for e in ENTRIES], "bm25", bm25=searcher.index.bm25).vectors
    query = asymmetric.encode([QUERIES[0]], "bm25", bm25=searcher.index.bm25).vectors[0]
    hits = searcher.search([QUERIES[0]], top_k=5)[0]
    other = dict(zip([e.id for e in ENTRIES], vectors @ query, strict=True))
    assert max(abs(h.score - other[h.id]) for h in hits) > 1e-3


def test_incremental_writes_encode_the_new_entries_behind_the_entry_prefix(data_dir, asymmetric):
    searcher = Searcher.open(data_dir, asymmetric)
    added = [
        FaqEntry(id="f", question="주소를 변경하고 싶어요"),
        FaqEntry(id="a", question="아이디를 잊어버렸어요"),
    ]
    searcher.upsert(added)
    now = [ENTRIES[1], ENTRIES[2], ENTRIES[3], ENTRIES[4], *added]
    for query, hits in zip(QUERIES, searcher.search(QUERIES, top_k=6), strict=True):
        ids, scores = brute_force(asymmetric, searcher.index, now, query)
        assert [h.id for h in hits] == ids
        assert np.abs(np.array([h.score for h in hits]) - scores).max() <= 1e-5


def test_the_manifest_records_both_prefixes(data_dir):
    model = Snapshots(data_dir).current_info().manifest["model"]
    assert (model["prefix"], model["entry_prefix"]) == ("query: ", "passage: ")


def test_an_index_built_with_another_entry_prefix_is_refused_naming_both(data_dir, asymmetric):
    symmetric = asymmetric.with_prefixes(entry_prefix="query: ")
    with pytest.raises(IndexMismatchError) as info:
        Searcher.open(data_dir, symmetric)
    message = str(info.value)
    assert (
        "it was built with the entry prefix 'passage: ' before every FAQ entry but the configured entry "
        "prefix is 'query: ' (FAQSEARCH_ENTRY_PREFIX, unset: the query prefix)"
    ) in message
    assert "before every query" not in message  # the query prefixes agree
    assert "Rebuild the index with the configured settings (faqsearch index build)" in message


def test_another_query_prefix_alone_is_refused_too(data_dir, asymmetric):
    with pytest.raises(IndexMismatchError) as info:
        Searcher.open(data_dir, asymmetric.with_prefixes(prefix=""))
    message = str(info.value)
    assert (
        "it was built with the prefix 'query: ' before every query but the configured prefix is '' "
        "(FAQSEARCH_MODEL_PREFIX)"
    ) in message
    assert "entry prefix" not in message


def test_a_manifest_without_an_entry_prefix_was_built_with_the_query_prefix_before_entries(
    tmp_path, tiny_encoder
):
    symmetric = tiny_encoder.with_prefixes(prefix="query: ", entry_prefix="query: ")  # as before
    with FaqStore.open(tmp_path) as store:
        store.upsert_many(ENTRIES)
    build_snapshot(tmp_path, symmetric, "mean")
    manifest_path = Snapshots(tmp_path).current_info().path / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    del manifest["model"]["entry_prefix"]  # what indexes built before entry prefixes existed hold
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")

    served = Searcher.open(tmp_path, symmetric)  # served as before
    vectors = symmetric.encode([e.question for e in ENTRIES], "mean").vectors
    for query, hits in zip(QUERIES, served.search(QUERIES, top_k=5), strict=True):
        scores = vectors @ symmetric.encode([query], "mean").vectors[0]
        assert [h.id for h in hits] == [ENTRIES[i].id for i in np.argsort(-scores, kind="stable")]
    with pytest.raises(IndexMismatchError) as info:
        Searcher.open(tmp_path, symmetric.with_prefixes(entry_prefix="passage: "))
    assert (
        "it was built with the entry prefix 'query: ' before every FAQ entry but the configured entry "
        "prefix is 'passage: '"
    ) in str(info.value)
