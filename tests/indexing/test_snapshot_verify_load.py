"""Loading verifies a snapshot's files: a 4 KB block of index.faiss flipped in place (the size
unchanged, so FAISS still parses it) is refused naming index.faiss; a snapshot written before hashes
were recorded loads as before. Real FAISS files, the tiny random model."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from damage import flip
from default_index import data_dir_with_snapshots

from indexing.loaded_index import INDEX_FILE, LoadedIndex
from indexing.searcher import Searcher
from indexing.snapshots import FILES_KEY, DamagedSnapshotError, Snapshots
from indexing.store import FaqEntry

FAQS = [
    FaqEntry(f"faq-{i:03d}", f"{i}번 질문: 대출 신청은 어떻게 하나요?", f"{i}번 답변입니다.")
    for i in range(300)
]


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_encoder):
    return data_dir_with_snapshots(tmp_path_factory.mktemp("data"), tiny_encoder, FAQS, 1)


@pytest.fixture()
def data_dir(tmp_path, built):
    shutil.copytree(built, tmp_path / "data")
    return tmp_path / "data"


def _load(data_dir):
    info = Snapshots(data_dir).current_info()
    return LoadedIndex.load(info.path, info.manifest, info.version)


def test_a_flipped_4k_block_inside_index_faiss_is_refused_naming_it(data_dir):
    import faiss

    path = Snapshots(data_dir).current_info().path / INDEX_FILE
    size = path.stat().st_size
    assert size > 3 * 4096  # 600 rows x 32 floats: the block lies among the vectors
    flip(path, size // 2)
    assert path.stat().st_size == size
    assert faiss.read_index(str(path)).ntotal == 600  # FAISS alone reads it without a word
    with pytest.raises(DamagedSnapshotError) as caught:
        _load(data_dir)
    assert (caught.value.version, caught.value.file) == ("v000001", "index.faiss")
    assert "incomplete or damaged: index.faiss: its sha256 is " in str(caught.value)
    assert caught.value.public == (
        "snapshot v000001 is damaged: index.faiss does not match what was recorded when it was built; "
        "roll back (faqsearch index rollback) or rebuild the index (faqsearch index build)"
    )


def test_an_older_snapshot_without_hashes_loads_and_searches_as_before(built, data_dir, tiny_encoder, caplog):
    info = Snapshots(data_dir).current_info()
    manifest = json.loads((info.path / "manifest.json").read_text(encoding="utf-8"))
    del manifest[FILES_KEY]  # what faqsearch wrote before it recorded hashes
    (info.path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    older = Searcher(tiny_encoder, _load(data_dir))
    _load(data_dir)
    checked = Searcher(tiny_encoder, _load(built))  # the same files, hashes checked
    query = ["7번 질문: 대출 신청"]
    assert older.search(query, top_k=5, mode="hybrid") == checked.search(query, top_k=5, mode="hybrid")
    assert caplog.text.count("records no file hashes") == 1  # two loads, one warning


def test_a_good_snapshot_loads_with_the_vectors_it_was_built_with(data_dir, tiny_encoder):
    index = _load(data_dir)
    assert index.vectors.ntotal == 600 and index.count == 300
    vector = tiny_encoder.encode([FAQS[7].question], "bm25", bm25=index.bm25, role="entry").vectors
    scores, labels = index.vectors.search(vector, 1)
    assert index.labels_to_ids(labels[0]) == ["faq-007"]
    assert np.isclose(scores[0][0], 1.0, atol=1e-5)
