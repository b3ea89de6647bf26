"""Domain words in an index: copied into the snapshot with their sha256, used by lexical search
and later writes, checked against the configured files, and read back from the snapshot's copies."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
from domain_words_data import FAQS, SYNONYM_QUERY, SYNONYMS, USER_DICT, write_word_files

from indexing.build import build_snapshot
from indexing.loaded_index import DamagedSnapshotError, IndexMismatchError, LoadedIndex
from indexing.searcher import Searcher
from indexing.snapshots import Snapshots
from indexing.store import FaqEntry, FaqStore
from models.domain_words import DomainWords


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _build(folder, encoder, words: DomainWords | None):
    with FaqStore.open(folder) as store:
        store.upsert_many(FAQS)
    build_snapshot(folder, encoder, "bm25", words=words)
    return folder


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_word_files(tmp_path_factory.mktemp("words"))


@pytest.fixture(scope="module")
def built(tmp_path_factory, tiny_encoder, files):
    """A data directory built with both files (never modified by the tests: they copy it)."""
    return _build(tmp_path_factory.mktemp("data"), tiny_encoder, DomainWords.read(*files))


@pytest.fixture()
def data_dir(tmp_path, built):
    shutil.copytree(built, tmp_path / "data")
    return tmp_path / "data"


def test_the_snapshot_holds_copies_of_the_files_and_their_sha256(built, files):
    user_dict, synonyms = files
    info = Snapshots(built).current_info()
    assert info.manifest["domain_words"] == {
        "user_dict": {"file": "user_dict.txt", "sha256": _sha(USER_DICT), "source": str(user_dict)},
        "synonyms": {"file": "synonyms.txt", "sha256": _sha(SYNONYMS), "source": str(synonyms)},
    }
    assert (info.path / "user_dict.txt").read_text(encoding="utf-8") == USER_DICT
    assert (info.path / "synonyms.txt").read_text(encoding="utf-8") == SYNONYMS


def test_a_synonym_query_is_first_in_bm25_search_and_scores_as_rank_bm25(built, files, tiny_encoder):
    from rank_bm25 import BM25Okapi

    searcher = Searcher.open(built, tiny_encoder, words=DomainWords.read(*files))
    hits = searcher.search([SYNONYM_QUERY], top_k=9, mode="bm25")[0]
    assert [h.id for h in hits] == ["cert-renew", "card-renew", "joint-book", "cert-expire"]
    analyzer = searcher.index.bm25.analyzer
    assert analyzer.terms([SYNONYM_QUERY])[0] == ["공인인증서/N", "재/XP", "발급/N"]
    okapi = BM25Okapi(analyzer.terms([f.question for f in FAQS]))
    scores = dict(
        zip([f.id for f in FAQS], okapi.get_scores(analyzer.terms([SYNONYM_QUERY])[0]), strict=True)
    )
    assert [h.score for h in hits] == pytest.approx([scores[h.id] for h in hits], abs=1e-9)


@pytest.mark.slow
def test_without_the_synonyms_the_same_query_finds_another_entry_first(tmp_path, files, tiny_encoder):
    user_dict, _ = files
    words = DomainWords.read(user_dict)
    _build(tmp_path, tiny_encoder, words)
    hits = Searcher.open(tmp_path, tiny_encoder, words=words).search([SYNONYM_QUERY], top_k=2, mode="bm25")[0]
    assert [h.id for h in hits] == ["joint-book", "cert-renew"]  # 공동 + 인증서: 공동 명의 wins


def test_entries_written_after_the_build_are_analysed_with_the_snapshot_words(data_dir, files, tiny_encoder):
    searcher = Searcher.open(data_dir, tiny_encoder, words=DomainWords.read(*files))
    searcher.upsert([FaqEntry("cert-period", "공동인증서 유효기간은 얼마나 되나요?")])
    hits = searcher.search(["공인인증서 유효기간"], top_k=1, mode="bm25")[0]
    assert [h.id for h in hits] == ["cert-period"]


def test_an_edited_file_is_refused_naming_it_both_hashes_and_the_fix(data_dir, tmp_path, files, tiny_encoder):
    user_dict, _ = files
    edited = tmp_path / "synonyms.txt"
    edited.write_text(SYNONYMS + "체크카드, 직불카드\n", encoding="utf-8")
    with pytest.raises(IndexMismatchError) as caught:
        Searcher.open(data_dir, tiny_encoder, words=DomainWords.read(user_dict, edited))
    message = str(caught.value)
    assert (
        f"it was built with the synonym file {files[1]} (sha256 {_sha(SYNONYMS)[:12]}; its copy is synonyms.txt "
        f"in the snapshot) but FAQSEARCH_SYNONYMS {edited} has sha256 "
        f"{_sha(SYNONYMS + '체크카드, 직불카드' + chr(10))[:12]}"
    ) in message
    assert "user dictionary" not in message  # the unchanged file is not blamed
    assert "Rebuild the index with the configured settings (faqsearch index build)" in message


def test_an_unset_file_is_refused(data_dir, files, tiny_encoder):
    with pytest.raises(IndexMismatchError, match="FAQSEARCH_SYNONYMS is unset"):
        Searcher.open(data_dir, tiny_encoder, words=DomainWords.read(files[0]))
    with pytest.raises(
        IndexMismatchError, match=r"FAQSEARCH_USER_DICT is unset.*FAQSEARCH_SYNONYMS is unset"
    ):
        Searcher.open(data_dir, tiny_encoder)


def test_an_index_without_domain_words_loads_as_before_and_refuses_configured_ones(
    tmp_path, files, tiny_encoder
):
    _build(tmp_path, tiny_encoder, None)
    info = Snapshots(tmp_path).current_info()
    assert "domain_words" not in info.manifest
    assert sorted(p.name for p in info.path.iterdir() if p.suffix == ".txt") == []
    assert Searcher.open(tmp_path, tiny_encoder).index.words == DomainWords()
    with pytest.raises(IndexMismatchError) as caught:
        Searcher.open(tmp_path, tiny_encoder, words=DomainWords.read(*files))
    assert (
        f"it was built without a user dictionary but FAQSEARCH_USER_DICT is {files[0]} "
        f"(sha256 {_sha(USER_DICT)[:12]})"
    ) in str(caught.value)


def test_the_snapshot_is_analysed_with_its_own_copies(tmp_path, tiny_encoder):
    user_dict, synonyms = write_word_files(tmp_path / "words")
    data_dir = _build(tmp_path / "data", tiny_encoder, DomainWords.read(user_dict, synonyms))
    user_dict.unlink()
    synonyms.write_text("전혀, 다른 내용\n", encoding="utf-8")  # what it was built with is in the snapshot
    info = Snapshots(data_dir).current_info()
    index = LoadedIndex.load(info.path, info.manifest, info.version)
    assert index.words.synonyms is not None and index.words.user_dict is not None
    assert (index.words.synonyms.path, index.words.synonyms.data) == (
        str(info.path / "synonyms.txt"),
        SYNONYMS.encode(),
    )
    assert index.words.user_dict.data == USER_DICT.encode()
    assert index.bm25.analyzer.terms(["공동 인증서", "청년도약계좌"]) == [
        ["공인인증서/N"],
        ["청년도약계좌/N"],
    ]
    hits = Searcher(tiny_encoder, index).search([SYNONYM_QUERY], top_k=1, mode="bm25")[0]
    assert [h.id for h in hits] == ["cert-renew"]


def test_a_tampered_copy_is_a_damaged_snapshot(data_dir, tiny_encoder, files):
    copy = Snapshots(data_dir).current_info().path / "synonyms.txt"
    copy.write_text("휴대폰, 핸드폰\n", encoding="utf-8")
    with pytest.raises(DamagedSnapshotError) as caught:
        Searcher.open(data_dir, tiny_encoder, words=DomainWords.read(*files))
    message = str(caught.value)
    assert (
        f"damaged: synonyms.txt: it has {len('휴대폰, 핸드폰'.encode()) + 1} bytes, the manifest recorded "
        f"{len(SYNONYMS.encode())}" in message
    )
    assert "faqsearch index build" in message


def test_a_tampered_copy_of_an_older_snapshot_is_found_by_its_own_sha256(data_dir, tiny_encoder, files):
    """A snapshot without file hashes (built before they were recorded) still checks its copies."""
    folder = Snapshots(data_dir).current_info().path
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    del manifest["files"]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (folder / "synonyms.txt").write_text("휴대폰, 핸드폰\n", encoding="utf-8")
    with pytest.raises(DamagedSnapshotError) as caught:
        Searcher.open(data_dir, tiny_encoder, words=DomainWords.read(*files))
    message = str(caught.value)
    assert (
        f"damaged: synonyms.txt: ValueError: synonyms.txt has sha256 {_sha('휴대폰, 핸드폰' + chr(10))[:12]}"
        in message
    )
    assert f"the manifest says {_sha(SYNONYMS)[:12]}" in message and "faqsearch index build" in message
