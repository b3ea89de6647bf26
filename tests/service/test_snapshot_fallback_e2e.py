"""A damaged current snapshot, at startup and when CURRENT is switched to one while the server runs:
the server serves the newest good snapshot, and /readyz and the log say which and why; with no
good snapshot the 503 names the version, the file and the fix, without paths or FAISS's C++ text.
Real server, real FAISS files, the tiny random model (the subject is the files, not the meaning)."""

from __future__ import annotations

import json
import logging
import shutil
import time

import httpx
import pytest
from damage import flip
from default_index import build_default_snapshot, data_dir_with_snapshots
from service_helpers import API_KEY, start_server

from indexing.snapshots import FILES_KEY, Snapshots
from indexing.store import FaqEntry, FaqStore

FAQS = [
    FaqEntry(f"faq-{i:02d}", f"{i}번 질문: 카드 분실 신고는 어떻게 하나요?", f"{i}번 답변") for i in range(30)
]
PUBLIC_FIX = "roll back (faqsearch index rollback) or rebuild the index (faqsearch index build)"
CHANGED = "does not match what was recorded when it was built"


@pytest.fixture(scope="module")
def three_snapshots(tmp_path_factory, tiny_encoder):
    """v000001..v000003, all good, v000003 current (never modified: tests copy it)."""
    return data_dir_with_snapshots(tmp_path_factory.mktemp("data"), tiny_encoder, FAQS, 3, keep=3)


@pytest.fixture()
def data_dir(tmp_path, three_snapshots):
    shutil.copytree(three_snapshots, tmp_path / "data")
    return tmp_path / "data"


@pytest.fixture()
def serve(tiny_encoder, monkeypatch):
    import app.main
    from app.main import create_app
    from faqsearch.settings import Settings

    monkeypatch.setattr(app.main, "SNAPSHOT_POLL_S", 0.2)
    running = []

    def _serve(data_dir) -> httpx.Client:
        settings = Settings(data_dir=data_dir, model=tiny_encoder.name, api_key=API_KEY)
        server, thread, url = start_server(create_app(settings, encoder=tiny_encoder))
        client = httpx.Client(base_url=url, timeout=60)
        running.append((server, thread, client))
        return client

    yield _serve
    for server, thread, client in running:
        client.close()
        server.should_exit = True
        thread.join(timeout=30)


def _index_file(data_dir, version: str):
    return Snapshots(data_dir).path(version) / "index.faiss"


def test_a_damaged_current_snapshot_at_startup_serves_the_previous_good_one(data_dir, serve, caplog):
    path = _index_file(data_dir, "v000003")
    flip(path, path.stat().st_size // 2)
    with caplog.at_level(logging.ERROR, logger="app.state"):
        client = serve(data_dir)
    assert client.get("/readyz").json() == {
        "status": "ready",
        "index_version": "v000002",
        "entries": 30,
        "problem": f"serving v000002, the newest good snapshot: snapshot v000003 is damaged: index.faiss {CHANGED}; "
        + PUBLIC_FIX,
    }
    search = client.post("/v1/search", json={"query": "카드 분실", "top_k": 1})
    assert search.status_code == 200 and search.json()["index_version"] == "v000002"
    [record] = [r for r in caplog.records if r.name == "app.state"]
    assert record.getMessage().startswith(
        "the current snapshot v000003 is damaged, serving v000002 instead: snapshot "
        f"{Snapshots(data_dir).path('v000003')} is incomplete or damaged: index.faiss: its sha256 is "
    )


def test_an_unreadable_manifest_at_startup_serves_the_previous_good_one(data_dir, serve):
    (Snapshots(data_dir).path("v000003") / "manifest.json").write_text("{not json", encoding="utf-8")
    ready = serve(data_dir).get("/readyz").json()
    assert (ready["index_version"], ready["problem"]) == (
        "v000002",
        f"serving v000002, the newest good snapshot: snapshot v000003 is damaged: manifest.json is not "
        f"readable; {PUBLIC_FIX}",
    )


def _wait_for(client, predicate, what: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        ready = client.get("/readyz").json()
        if predicate(ready):
            return ready
        assert time.monotonic() < deadline, f"{what}; /readyz says {ready}"
        time.sleep(0.1)


def test_current_switched_to_a_damaged_snapshot_while_running_serves_the_newest_good_one(
    data_dir, serve, caplog
):
    client = serve(data_dir)
    assert client.get("/readyz").json() == {"status": "ready", "index_version": "v000003", "entries": 30}
    (Snapshots(data_dir).path("v000002") / "lexical.npz").unlink()  # a missing file
    Snapshots(data_dir).rollback("v000002")  # what `faqsearch index rollback v000002` does
    ready = _wait_for(client, lambda r: r["index_version"] == "v000001", "v000001 was never served")
    assert ready == {
        "status": "ready",
        "index_version": "v000001",
        "entries": 30,
        "problem": "serving v000001, the newest good snapshot: snapshot v000002 is damaged: lexical.npz is "
        f"missing; {PUBLIC_FIX}",
    }
    assert "the current snapshot v000002 is damaged, serving v000001 instead: " in caplog.text
    assert "lexical.npz: the file is missing" in caplog.text
    time.sleep(1.0)  # several polls: the damaged snapshot is not tried again
    assert caplog.text.count("the current snapshot v000002 is damaged") == 1
    # Switching CURRENT to a good one is followed as before, and the problem is gone.
    Snapshots(data_dir).rollback("v000003")
    ready = _wait_for(client, lambda r: r["index_version"] == "v000003", "v000003 was never served again")
    assert ready == {"status": "ready", "index_version": "v000003", "entries": 30}


def _no_internals(message: str, data_dir) -> None:
    assert str(data_dir) not in message and "faiss::" not in message and ".cpp" not in message
    # the only slashes are in the API route the fix names
    assert [word for word in message.split() if "/" in word] == ["/v1/index/rebuild)"]


@pytest.mark.parametrize("older", [False, True], ids=["hashed", "older snapshot without hashes"])
def test_with_no_good_snapshot_the_503_names_version_file_and_fix_only(
    tmp_path, tiny_encoder, serve, caplog, older
):
    data_dir = tmp_path / "one"
    with FaqStore.open(data_dir) as store:
        store.upsert_many(FAQS)
    build_default_snapshot(data_dir, tiny_encoder)
    path = _index_file(data_dir, "v000001")
    if older:  # unchecked, so FAISS itself reads the cut file, and fails in C++
        manifest_path = path.with_name("manifest.json")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        del manifest[FILES_KEY]
        manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
        path.write_bytes(path.read_bytes()[:5000])
        problem = "cannot be read"
    else:
        flip(path, path.stat().st_size // 2)
        problem = CHANGED
    client = serve(data_dir)
    expected = (
        f"snapshot v000001 is damaged: index.faiss {problem}; {PUBLIC_FIX}. A rebuild (POST /v1/index/rebuild) "
        "also fixes this."
    )
    for response in (client.get("/readyz"), client.post("/v1/search", json={"query": "카드 분실"})):
        assert response.status_code == 503
        assert response.json() == {"error": {"code": "not_ready", "message": expected}}
        _no_internals(response.text, data_dir)
    # The details are in the log, for whoever runs the server.
    assert f"index not served: snapshot {path.parent} is incomplete or damaged: index.faiss: " in caplog.text
    if older:
        assert "faiss::" in caplog.text


def test_a_mismatch_503_names_files_by_their_names_only(tmp_path, tiny_encoder, serve, caplog):
    """An index built with a synonym file the server is not configured with: the 503 says so, and the
    file's folder (an absolute path on the server) stays in the log."""
    import hashlib

    from domain_words_data import SYNONYMS, write_word_files

    from models.domain_words import DomainWords

    _user_dict, synonyms = write_word_files(tmp_path / "words")
    data_dir = tmp_path / "data"
    with FaqStore.open(data_dir) as store:
        store.upsert_many(FAQS)
    build_default_snapshot(data_dir, tiny_encoder, words=DomainWords.read(None, synonyms))
    client = serve(data_dir)
    sha = hashlib.sha256(SYNONYMS.encode()).hexdigest()[:12]
    response = client.get("/readyz")
    assert response.status_code == 503
    message = response.json()["error"]["message"]
    assert message.startswith(
        f"index v000001 does not match the configuration: it was built with the synonym file synonyms.txt "
        f"(sha256 {sha}; its copy is synonyms.txt in the snapshot) but FAQSEARCH_SYNONYMS is unset. Rebuild "
    )
    assert message.endswith("A rebuild (POST /v1/index/rebuild) also fixes this.")
    assert str(tmp_path) not in message
    assert f"it was built with the synonym file {synonyms} (sha256 {sha};" in caplog.text


def test_a_garbled_current_file_at_startup_serves_the_newest_good_snapshot(data_dir, serve):
    (data_dir / "snapshots" / "CURRENT").write_text("garbage\n", encoding="utf-8")
    assert serve(data_dir).get("/readyz").json() == {
        "status": "ready",
        "index_version": "v000003",
        "entries": 30,
        "problem": "serving v000003, the newest good snapshot: the CURRENT file of the index snapshots does "
        f"not name a snapshot; {PUBLIC_FIX}",
    }


def test_a_current_file_garbled_while_running_is_reported_once_and_cleared_when_fixed(
    data_dir, serve, caplog
):
    """A garbled CURRENT is damage like a damaged snapshot: the newest good snapshot is served
    (here the one already loaded, so nothing is reloaded), /readyz and the log say why, once; once
    CURRENT names a good snapshot again the problem is gone."""
    client = serve(data_dir)
    assert client.get("/readyz").json() == {"status": "ready", "index_version": "v000003", "entries": 30}
    (data_dir / "snapshots" / "CURRENT").write_text("garbage\n", encoding="utf-8")
    ready = _wait_for(client, lambda r: "problem" in r, "the garbled CURRENT was never reported")
    assert ready == {
        "status": "ready",
        "index_version": "v000003",
        "entries": 30,
        "problem": "serving v000003, the newest good snapshot: the CURRENT file of the index snapshots does "
        f"not name a snapshot; {PUBLIC_FIX}",
    }
    time.sleep(1.0)  # several polls: reported once
    assert (
        caplog.text.count("the current snapshot (unreadable CURRENT) is damaged, serving v000003 instead")
        == 1
    )
    Snapshots(data_dir).rollback("v000003")  # what `faqsearch index rollback v000003` does
    ready = _wait_for(client, lambda r: "problem" not in r, "the fixed CURRENT was never followed")
    assert ready == {"status": "ready", "index_version": "v000003", "entries": 30}
