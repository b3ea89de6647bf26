"""Domain words end to end over HTTP: a synonym found and shown as matched, a malformed file
refused by the rebuild with nothing built, and files edited since the build refused until one."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from domain_words_data import FAQS, SYNONYM_QUERY, SYNONYMS, write_word_files
from service_helpers import AUTH, wait_for_job


@pytest.fixture(scope="module")
def built(tmp_path_factory, real_encoder):
    """The hand-written banking FAQs indexed with the default pooling, the user dictionary and synonyms."""
    from default_index import build_default_snapshot

    from indexing.store import FaqStore
    from models.domain_words import DomainWords

    data_dir = tmp_path_factory.mktemp("bank")
    with FaqStore.open(data_dir) as store:
        store.upsert_many(FAQS)
    words = DomainWords.read(*write_word_files(tmp_path_factory.mktemp("words")))
    build_default_snapshot(data_dir, real_encoder, words=words)
    return data_dir


@pytest.fixture()
def bank(tmp_path, built, serve):
    """serve_bank(edit=None) -> (served, synonyms path): a server over a copy of `built`, configured
    with fresh copies of the word files; `edit(synonyms_path)` runs before it starts."""

    def _serve(edit=None):
        data_dir = tmp_path / "bank"
        shutil.copytree(built, data_dir)
        user_dict, synonyms = write_word_files(tmp_path / "words")
        if edit is not None:
            edit(synonyms)
        return serve(data_dir=data_dir, user_dict=user_dict, synonyms=synonyms), synonyms

    return _serve


def test_a_synonym_query_is_first_in_bm25_search_and_shown_as_matched(bank):
    served, _ = bank()
    response = served.client.post(
        "/v1/search", json={"query": SYNONYM_QUERY, "mode": "bm25", "top_k": 3, "explain": True}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    # Written 공동인증서 in the query and 공인인증서 in the entry: the same canonical term. With the
    # answers indexed 재 and 발급 are common (idf ln(6.5/3.5) and ln(5.5/4.5) over 9 entries), so
    # cert-expire's 공동 인증서 (idf ln(7.5/2.5)) alone outweighs card-renew's 재 + 발급.
    assert [h["id"] for h in body["hits"]] == ["cert-renew", "cert-expire", "card-renew"]
    assert [(t["text"], t["start"], t["end"]) for t in body["query_terms"]] == [
        ("공동인증서", 0, 5),
        ("재", 6, 7),
        ("발급", 7, 9),
    ]
    assert [h["matched_terms"] for h in body["hits"]] == [[0, 1, 2], [0], [1, 2]]
    index = served.state.searcher.index
    morphemes = index.bm25.analyzer.analyze([SYNONYM_QUERY])[0]
    assert [m.term for m in morphemes] == ["공인인증서/N", "재/XP", "발급/N"]
    np.testing.assert_allclose(
        [t["weight"] for t in body["query_terms"]], index.bm25.morpheme_weights(morphemes), atol=1e-6
    )


@pytest.mark.slow
def test_a_rebuild_with_a_malformed_file_is_a_422_and_builds_nothing(bank):
    served, synonyms = bank()
    client = served.client
    synonyms.write_text(SYNONYMS + "공인인증서, 전자서명\n", encoding="utf-8")
    refused = client.post("/v1/index/rebuild", headers=AUTH)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "invalid_domain_words"
    assert refused.json()["error"]["message"].startswith(
        f"{synonyms}:4: '공인인증서' is already in the group on line 2 (words compare without spaces)"
    )
    assert [p.name for p in (served.data_dir / "snapshots").iterdir() if p.name.startswith("v")] == [
        "v000001"
    ]
    assert client.get("/readyz").json()["index_version"] == "v000001"
    # Fixed, the rebuild copies the new file into the next snapshot, which is served.
    synonyms.write_text(SYNONYMS + "전자서명, 디지털서명\n", encoding="utf-8")
    job = wait_for_job(client, client.post("/v1/index/rebuild", headers=AUTH).json()["job_id"])
    assert (job["state"], job["index_version"]) == ("succeeded", "v000002")
    shown = client.get("/v1/index")
    manifest = shown.json()["manifest"]
    assert manifest["domain_words"]["synonyms"]["sha256"] == hashlib.sha256(synonyms.read_bytes()).hexdigest()
    # Any reader may GET /v1/index: files by their names, never the server's folders.
    assert manifest["domain_words"]["synonyms"]["source"] == "synonyms.txt"
    assert manifest["domain_words"]["user_dict"]["source"] == "domain.dict"
    assert manifest["model"]["name"] == Path(served.state.encoder.name).name
    assert (
        str(served.data_dir.parent) not in shown.text
        and str(Path(served.state.encoder.name)) not in shown.text
    )
    assert (served.data_dir / "snapshots/v000002/synonyms.txt").read_bytes() == synonyms.read_bytes()


def test_files_edited_since_the_build_are_refused_until_a_rebuild(bank):
    def edit(synonyms):
        synonyms.write_text(SYNONYMS + "체크카드, 직불카드\n", encoding="utf-8")

    served, synonyms = bank(edit)
    client = served.client
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503
    message = not_ready.json()["error"]["message"]
    built_sha = hashlib.sha256(SYNONYMS.encode()).hexdigest()[:12]
    edited_sha = hashlib.sha256(synonyms.read_bytes()).hexdigest()[:12]
    # the file by its name: a client is not told where the server keeps it (the log is)
    assert (
        f"(sha256 {built_sha}; its copy is synonyms.txt in the snapshot) but FAQSEARCH_SYNONYMS synonyms.txt "
        in message
    )
    assert str(synonyms.parent) not in message
    assert f"has sha256 {edited_sha}" in message
    assert (
        "(faqsearch index build)" in message
        and "A rebuild (POST /v1/index/rebuild) also fixes this" in message
    )
    job = wait_for_job(client, client.post("/v1/index/rebuild", headers=AUTH).json()["job_id"])
    assert job["state"] == "succeeded"
    hits = client.post("/v1/search", json={"query": "직불카드 재발급", "mode": "bm25", "top_k": 1}).json()[
        "hits"
    ]
    assert [h["id"] for h in hits] == ["card-renew"]  # the new group is in use
