"""The Searcher on a real index built by the rebuild job with the real Korean model."""

import copy
import json
import shutil
import threading
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from same_results import assert_same_hits

from indexing.build import build_snapshot
from indexing.faq_import import read_faq_file
from indexing.loaded_index import DamagedSnapshotError, IndexMismatchError
from indexing.searcher import NoIndexError, Searcher
from indexing.snapshots import FILES_KEY, Snapshots
from indexing.store import FaqEntry, FaqStore

SAMPLE = Path(__file__).resolve().parents[2] / "testsets/sample_faq/faqs.csv"
QUERIES = [
    "비밀번호를 잊어버렸어요",
    "기초연금은 누가 받을 수 있나요?",
    "장애인 활동 지원 신청 방법",
    "아이디 찾기",
]


@pytest.fixture(scope="module")
def entries():
    return read_faq_file(SAMPLE)[:60]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, entries, real_encoder):
    folder = tmp_path_factory.mktemp("faq-data")
    with FaqStore.open(folder) as store:
        store.upsert_many(entries)
    build_snapshot(folder, real_encoder, "mean")
    return folder


@pytest.fixture()
def searcher(data_dir, real_encoder):
    return Searcher.open(data_dir, real_encoder)


def brute_force(real_encoder, entries, queries, pooling="mean"):
    """Per query: every entry by its cosine, best first (entries encoded once for all queries)."""
    vectors = real_encoder.encode([e.question for e in entries], pooling).vectors
    expected = []
    for query in queries:
        scores = vectors @ real_encoder.encode([query], pooling).vectors[0]
        order = np.argsort(-scores, kind="stable")
        expected.append([(entries[i].id, float(scores[i])) for i in order])
    return expected


def test_dense_hits_equal_brute_force_cosine(searcher, real_encoder, entries):
    found = searcher.search(QUERIES, top_k=10, mode="dense")
    for hits, ranked in zip(found, brute_force(real_encoder, entries, QUERIES), strict=True):
        expected = ranked[:10]
        assert [h.id for h in hits] == [i for i, _ in expected]
        assert np.abs(np.array([h.score for h in hits]) - [s for _, s in expected]).max() <= 1e-5


def test_password_question_finds_the_password_entry_first(searcher):
    [hits] = searcher.search(["비밀번호를 잊어버렸어요"], top_k=3)
    assert hits[0].id == "site-001"


def test_hybrid_is_reciprocal_rank_fusion_of_dense_and_bm25(data_dir, real_encoder):
    searcher = Searcher.open(data_dir, real_encoder, fusion="rrf")  # convex is the default
    dense = searcher.search(QUERIES, top_k=100, mode="dense")
    lexical = searcher.search(QUERIES, top_k=100, mode="bm25")
    hybrid = searcher.search(QUERIES, top_k=5, mode="hybrid")
    for d, lx, h in zip(dense, lexical, hybrid, strict=True):
        fused = {}
        for ranking in ([x.id for x in d], [x.id for x in lx]):
            for rank, faq_id in enumerate(ranking, start=1):
                fused[faq_id] = fused.get(faq_id, 0) + 1 / (60 + rank)
        expected = sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:5]
        assert [(x.id, pytest.approx(x.score)) for x in h] == [(i, s) for i, s in expected]


def test_bm25_mode_needs_a_shared_morpheme(searcher):
    [hits] = searcher.search(["ㅋㅋㅋ"], mode="bm25")
    assert hits == []


def test_nfd_query_gives_the_same_hits(searcher):
    nfd = [unicodedata.normalize("NFD", q) for q in QUERIES]
    for mode in ("dense", "bm25", "hybrid"):
        assert_same_hits(searcher.search(nfd, mode=mode), searcher.search(QUERIES, mode=mode))


def test_bad_arguments_are_value_errors(searcher):
    with pytest.raises(ValueError, match="valid: dense, bm25, hybrid"):
        searcher.search(["대출"], mode="semantic")
    with pytest.raises(ValueError, match="top_k must be >= 1"):
        searcher.search(["대출"], top_k=0)
    for mode in ("dense", "bm25"):
        with pytest.raises(ValueError, match="sentence 0 is empty"):
            searcher.search([" \t"], mode=mode)


def test_writes_show_in_the_next_search_and_survive_a_restart(tmp_path, entries, tiny_encoder):
    # The tiny random model: every query here is an entry's own question (cosine 1, its exact match)
    # or one deleted entry's, so what is found follows from the writes, not from meaning.
    with FaqStore.open(tmp_path) as store:
        store.upsert_many(entries[:20])
    build_snapshot(tmp_path, tiny_encoder, "mean")
    searcher = Searcher.open(tmp_path, tiny_encoder)
    new = FaqEntry(
        "new-1", "해외에서 카드를 잃어버렸을 때 분실 신고는 어떻게 하나요?", "고객센터로 전화하세요."
    )
    searcher.upsert([new])
    assert searcher.search([new.question], top_k=1)[0][0].id == "new-1"
    changed = FaqEntry(entries[0].id, "주차 요금 할인을 받으려면 어떤 서류가 필요한가요?")
    searcher.upsert([changed])
    assert searcher.search([changed.question], top_k=1)[0][0].id == entries[0].id
    assert searcher.delete([entries[1].id]) == 1
    after = {h.id for h in searcher.search([entries[1].question], top_k=25)[0]}
    assert entries[1].id not in after
    assert len(after) == 20  # 20 - 1 deleted + 1 new

    restarted = Searcher.open(tmp_path, tiny_encoder)
    assert restarted.index.version == "v000001"  # no rebuild happened: the store was replayed
    for query in (new.question, changed.question, entries[1].question):
        assert_same_hits(restarted.search([query], top_k=25), searcher.search([query], top_k=25))


def test_korean_ids_in_nfd_and_nfc_name_the_same_entry(tmp_path, entries, tiny_encoder):
    # The tiny random model: the query is the new entry's own question (cosine 1).
    with FaqStore.open(tmp_path) as store:
        store.upsert_many(entries[:5])
    build_snapshot(tmp_path, tiny_encoder, "mean")
    searcher = Searcher.open(tmp_path, tiny_encoder)
    question = "해외에서 카드를 잃어버렸을 때 분실 신고는 어떻게 하나요?"
    searcher.upsert([FaqEntry(unicodedata.normalize("NFD", "카드-분실"), question)])
    assert searcher.search([question], top_k=1)[0][0].id == "카드-분실"
    assert searcher.delete(["카드-분실"]) == 1
    assert "카드-분실" not in {h.id for h in searcher.search([question], top_k=10)[0]}
    assert set(searcher.index.labels_of) == {e.id for e in entries[:5]}


def test_an_index_of_another_pooling_or_model_is_refused(data_dir, real_encoder, tiny_encoder):
    with pytest.raises(IndexMismatchError) as info:
        Searcher.open(data_dir, real_encoder, pooling="cls")
    assert "built with pooling 'mean' but the configured pooling is 'cls'" in str(info.value)
    assert "Rebuild the index" in str(info.value)
    with pytest.raises(IndexMismatchError) as info:
        Searcher.open(data_dir, tiny_encoder)
    message = str(info.value)
    assert (
        "me5-small-koen" in message
        and "tiny-bert" in message
        and "dim 384" in message
        and "dim 32" in message
    )


def test_an_index_built_with_another_prefix_is_refused(data_dir, real_encoder):
    # e5 gets "query: " from its folder name; the same weights under another name (a Docker mount at
    # /models/model) get no prefix, and every vector moves.
    renamed = copy.copy(real_encoder)
    renamed.prefix = ""
    with pytest.raises(IndexMismatchError) as info:
        Searcher.open(data_dir, renamed)
    assert "built with the prefix 'query: ' before every query but the configured prefix is ''" in str(
        info.value
    )
    assert "FAQSEARCH_MODEL_PREFIX" in str(info.value)
    assert Searcher.open(data_dir, real_encoder).index.version == "v000001"


def test_an_index_built_with_another_token_limit_is_refused(data_dir, real_encoder):
    shorter = copy.copy(real_encoder)
    shorter.max_length = 8  # FAQSEARCH_MAX_LENGTH=8: most entries would be cut, their vectors moved
    with pytest.raises(IndexMismatchError) as info:
        Searcher.open(data_dir, shorter)
    assert "built with sentences cut at 512 tokens but the configured limit is 8" in str(info.value)
    assert "FAQSEARCH_MAX_LENGTH" in str(info.value)


def _edit_json(path: Path, edit) -> None:
    payload = json.loads(path.read_text(encoding="utf-8"))
    edit(payload)
    path.write_text(json.dumps(payload), encoding="utf-8")


DAMAGES = {
    "labels.json: {}": ("labels.json", lambda f: f.write_text("{}", encoding="utf-8")),
    "labels.json: not JSON": ("labels.json", lambda f: f.write_text("xx", encoding="utf-8")),
    "labels.json: ids cut short": ("labels.json", lambda f: _edit_json(f, lambda p: p["ids"].pop())),
    "lexical.npz cut short": ("lexical.*", lambda f: f.with_name("lexical.npz").write_bytes(b"PK\x03\x04")),
    "lexical.npz: garbage": ("lexical.*", lambda f: f.with_name("lexical.npz").write_bytes(b"\x00" * 64)),
    "manifest.json without model": (
        "manifest.json",
        lambda f: _edit_json(f.with_name("manifest.json"), lambda m: m.pop("model")),
    ),
    "manifest.json: dim not a number": (
        "manifest.json",
        lambda f: _edit_json(f.with_name("manifest.json"), lambda m: m.update(dim="abc")),
    ),
}


@pytest.mark.parametrize("hashed", [True, False], ids=["hashed", "older snapshot without hashes"])
@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_snapshot_names_the_file_and_the_fix(tmp_path, data_dir, real_encoder, damage, hashed):
    copy = tmp_path / "copy"
    shutil.copytree(data_dir, copy)
    blamed, damage_file = DAMAGES[damage]
    folder = Snapshots(copy).current_info().path
    if not hashed:  # what faqsearch wrote before it recorded hashes: the files are parsed unchecked
        _edit_json(folder / "manifest.json", lambda m: m.pop(FILES_KEY))
    elif blamed == "lexical.*":  # the hashes name the file before any parsing is tried
        blamed = "lexical.npz"
    damage_file(folder / "labels.json")
    with pytest.raises(DamagedSnapshotError) as info:
        Searcher.open(copy, real_encoder)
    message = str(info.value)
    assert f"is incomplete or damaged: {blamed}: " in message
    assert "faqsearch index rollback" in message and "faqsearch index build" in message


def test_a_directory_without_index_says_how_to_build_one(tmp_path, real_encoder):
    with pytest.raises(NoIndexError, match="faqsearch index build --faqs FILE --out"):
        Searcher.open(tmp_path, real_encoder)


def test_manifest_records_what_built_the_index(data_dir, real_encoder, entries):
    manifest = Snapshots(data_dir).current_info().manifest
    assert manifest["model"]["sha256"] == real_encoder.fingerprint
    assert manifest["pooling"] == "mean" and manifest["dim"] == 384 and manifest["count"] == len(entries)
    assert manifest["index"]["type"] == "flat"
    with FaqStore.open(data_dir) as store:
        assert manifest["corpus_sha256"] == store.content_hash()
    assert {"torch", "transformers", "faiss-cpu", "kiwipiepy", "numpy"} <= manifest["libraries"].keys()
    json.dumps(manifest)  # plain JSON


def test_concurrent_writes_and_searches_lose_nothing(tmp_path, tiny_encoder):
    # The encoder here is a tiny random model: this test is about locking, not about meaning.
    base = [FaqEntry(f"base-{i:03d}", f"기본 질문 {i}번 대출 신청 방법") for i in range(40)]
    with FaqStore.open(tmp_path) as store:
        store.upsert_many(base)
    build_snapshot(tmp_path, tiny_encoder, "mean")
    searcher = Searcher.open(tmp_path, tiny_encoder)
    errors: list[BaseException] = []
    expected: dict[str, str] = {e.id: e.question for e in base}
    expected_lock = threading.Lock()

    def worker(thread: int) -> None:
        try:
            for step in range(300):  # 250 writes and 50 searches per thread: 1,000 writes in all
                faq_id = f"t{thread}-{step % 25:02d}"
                if step % 6 == 5:
                    searcher.search([f"질문 {step}"], top_k=5, mode=("dense", "bm25", "hybrid")[step % 3])
                elif step % 6 == 4:
                    searcher.delete([faq_id])
                    with expected_lock:
                        expected.pop(faq_id, None)
                else:
                    question = f"스레드 {thread} 질문 {step} 카드 분실"
                    searcher.upsert([FaqEntry(faq_id, question)])
                    with expected_lock:
                        expected[faq_id] = question
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert {e.id: e.question for e in searcher.store.all()} == expected
    index = searcher.index
    assert set(index.labels_of) == set(expected)
    assert index.vectors.ntotal == len(expected) == len(index.id_of)
    restarted = Searcher.open(tmp_path, tiny_encoder)
    assert set(restarted.index.labels_of) == set(expected)
