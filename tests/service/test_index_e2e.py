"""Rebuild jobs over HTTP: atomic swap while searches keep flowing; not-ready and mismatch states."""

from __future__ import annotations

import threading
import time

from service_helpers import AUTH, start_server, wait_for_job

PARKING = "주차장은 건물 지하 2층에 있나요?"


def test_rebuild_swaps_while_searches_keep_succeeding(serve_tiny, tiny_encoder):
    """Acceptance 3: four clients search without pause during a rebuild: zero failures, every
    answer comes from v000001 or v000002, and once the job is done only v000002 is served. The
    swap is the subject, not the rankings: the tiny random model."""
    from faqsearch.settings import Settings
    from indexing.build import rows_of

    served = serve_tiny()
    client = served.client
    client.put("/v1/faqs/new-1", json={"question": PARKING}, headers=AUTH)
    stop = threading.Event()
    failures: list[str] = []
    versions: list[list[str]] = [[] for _ in range(4)]
    queries = [
        "비밀번호를 잊어버렸어요",
        "주차는 어디에 하나요?",
        "장애인 활동 지원을 받고 싶어요",
        "아이디 찾기",
    ]

    def search_forever(worker: int) -> None:
        import httpx

        with httpx.Client(base_url=served.url, timeout=60) as own:
            i = 0
            while not stop.is_set():
                query = queries[(worker + i) % len(queries)]
                mode = ("dense", "hybrid", "bm25")[i % 3]
                try:
                    response = own.post("/v1/search", json={"query": query, "top_k": 5, "mode": mode})
                    if response.status_code != 200 or not response.json()["hits"]:
                        failures.append(f"{response.status_code} {response.text[:200]}")
                    else:
                        versions[worker].append(response.json()["index_version"])
                except Exception as exc:  # any transport error is a failure too
                    failures.append(repr(exc))
                i += 1

    threads = [threading.Thread(target=search_forever, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    accepted = client.post("/v1/index/rebuild", headers=AUTH)
    assert accepted.status_code == 202
    job_id = accepted.json()["job_id"]
    busy = client.post("/v1/index/rebuild", headers=AUTH)  # 309 entries take a while: still running
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "rebuild_running"
    assert job_id in busy.json()["error"]["message"]
    job = wait_for_job(client, job_id)
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join()

    assert failures == []
    assert job["state"] == "succeeded" and job["error"] is None
    assert job["index_version"] == "v000002"
    # texts encoded: 309 questions and the 308 sample answers, cut at the tiny model's 64 tokens
    # (new-1 has none)
    entries = list(served.state.store.all())
    texts = sum(len(r) for r in rows_of(entries, Settings.model_construct().row_policy(), tiny_encoder))
    assert len(entries) == 309 and texts >= 617
    assert job["progress"] == {"done": texts, "total": texts}
    seen = [v for worker in versions for v in worker]
    assert set(seen) == {"v000001", "v000002"}
    for worker in versions:  # once a client has seen the new index it never sees the old one again
        first_new = worker.index("v000002")
        assert set(worker[first_new:]) == {"v000002"}
    assert client.get("/v1/index").json()["version"] == "v000002"
    assert client.get("/v1/index").json()["manifest"]["count"] == 309
    assert client.get("/readyz").json() == {"status": "ready", "index_version": "v000002", "entries": 309}
    # new-1's own question is its exact match (cosine 1): the write is in the new index
    after = client.post("/v1/search", json={"query": PARKING, "top_k": 1, "mode": "dense"}).json()
    assert after["index_version"] == "v000002" and after["hits"][0]["id"] == "new-1"


def test_a_server_without_an_index_is_not_ready_until_a_rebuild(serve):
    served = serve(copy_index=False)
    client = served.client
    assert client.get("/healthz").json() == {"status": "ok"}
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503 and not_ready.json()["error"]["code"] == "not_ready"
    assert "POST /v1/index/rebuild" in not_ready.json()["error"]["message"]
    search = client.post("/v1/search", json={"query": "비밀번호를 잊어버렸어요"})
    assert search.status_code == 503 and search.json()["error"]["code"] == "not_ready"
    empty = client.post("/v1/index/rebuild", headers=AUTH)
    assert empty.status_code == 409 and empty.json()["error"]["code"] == "empty_store"

    faqs = [
        {"id": "a", "question": "비밀번호를 잊어버렸어요. 어떻게 찾나요?"},
        {"id": "b", "question": "회원 탈퇴는 어떻게 하나요?"},
        {"id": "c", "question": "배송은 며칠 걸리나요?"},
    ]
    assert client.post("/v1/faqs", json={"faqs": faqs}, headers=AUTH).json()["inserted"] == 3
    job = wait_for_job(client, client.post("/v1/index/rebuild", headers=AUTH).json()["job_id"])
    assert job["state"] == "succeeded" and job["index_version"] == "v000001"
    hits = client.post("/v1/search", json={"query": "택배가 언제 오나요?", "top_k": 3}).json()["hits"]
    assert hits[0]["id"] == "c" and len(hits) == 3
    assert client.get("/readyz").json()["entries"] == 3


def test_an_index_built_with_another_model_is_refused_with_a_fix(serve, sample_index, tiny_encoder, tmp_path):
    """The sample index was built with the real model; a server with the tiny model refuses it."""
    import shutil

    from service_helpers import API_KEY

    from app.main import create_app
    from faqsearch.settings import Settings

    data_dir = tmp_path / "mismatch"
    shutil.copytree(sample_index, data_dir)

    app = create_app(
        Settings(data_dir=data_dir, model=tiny_encoder.name, api_key=API_KEY), encoder=tiny_encoder
    )
    server, thread, url = start_server(app)
    try:
        import httpx

        with httpx.Client(base_url=url, timeout=60) as client:
            response = client.post("/v1/search", json={"query": "비밀번호"})
            assert response.status_code == 503
            message = response.json()["error"]["message"]
            assert "does not match" in message and "me5-small-koen" in message
            assert "POST /v1/index/rebuild" in message
            # The fix the message names works: rebuild with the configured (tiny) model.
            job = wait_for_job(client, client.post("/v1/index/rebuild", headers=AUTH).json()["job_id"])
            assert job["state"] == "succeeded", job
            assert client.post("/v1/search", json={"query": "비밀번호"}).status_code == 200
    finally:
        server.should_exit = True
        thread.join(timeout=60)


def _wait_for_version(client, version: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while client.get("/v1/index").json()["version"] != version:
        assert time.monotonic() < deadline, f"the server never served {version}"
        time.sleep(0.1)


def test_a_snapshot_switched_by_another_process_is_served(serve_tiny, tiny_encoder, monkeypatch):
    """`faqsearch index build` beside the running server, then `faqsearch index rollback`: the
    server follows CURRENT both times, and a write made over the API survives both switches
    (snapshot switching, not meaning: the tiny random model)."""
    from default_index import build_default_snapshot

    import app.main
    from indexing.snapshots import Snapshots

    monkeypatch.setattr(app.main, "SNAPSHOT_POLL_S", 0.2)
    served = serve_tiny()
    client = served.client
    client.put("/v1/faqs/new-1", json={"question": PARKING}, headers=AUTH)
    build_default_snapshot(served.data_dir, tiny_encoder)
    _wait_for_version(client, "v000002")
    assert client.get("/readyz").json() == {"status": "ready", "index_version": "v000002", "entries": 309}
    Snapshots(served.data_dir).rollback()  # what `faqsearch index rollback` does
    _wait_for_version(client, "v000001")
    # new-1's own question is its exact match (cosine 1): the write survived both switches
    hit = client.post("/v1/search", json={"query": PARKING, "top_k": 1, "mode": "dense"}).json()
    assert (hit["index_version"], hit["hits"][0]["id"]) == ("v000001", "new-1")


def test_a_snapshot_switched_elsewhere_that_does_not_match_is_refused(
    serve_tiny, tiny_encoder, monkeypatch, caplog
):
    import app.main
    from indexing.build import build_snapshot

    monkeypatch.setattr(app.main, "SNAPSHOT_POLL_S", 0.2)
    served = serve_tiny()
    client = served.client
    build_snapshot(served.data_dir, tiny_encoder, "cls")  # the server is configured for another pooling
    deadline = time.monotonic() + 30
    while not any(
        "v000002 was made current elsewhere but is not served" in r.message for r in caplog.records
    ):
        assert time.monotonic() < deadline, "the refusal was never logged"
        time.sleep(0.1)
    assert "built with pooling 'cls'" in caplog.text
    time.sleep(1.0)  # several more polls: the refused snapshot is not tried again, the old one stays
    assert caplog.text.count("was made current elsewhere but is not served") == 1
    assert client.get("/readyz").json()["index_version"] == "v000001"
    assert client.post("/v1/search", json={"query": "비밀번호를 잊어버렸어요"}).status_code == 200


def test_a_rebuild_logs_its_start_and_end(serve_tiny, tmp_path, caplog):
    import logging
    import re

    caplog.set_level(logging.INFO)
    client = serve_tiny(data_dir=tmp_path / "data").client
    faqs = [
        {
            "id": "a",
            "question": "비밀번호를 잊어버렸어요. 어떻게 찾나요?",
            "answer": "로그인 화면에서 찾으세요.",
        },
        {"id": "b", "question": "회원 탈퇴는 어떻게 하나요?"},
    ]
    assert client.post("/v1/faqs", json={"faqs": faqs}, headers=AUTH).json()["inserted"] == 2
    job = wait_for_job(client, client.post("/v1/index/rebuild", headers=AUTH).json()["job_id"])
    assert job["state"] == "succeeded"

    lines = [
        (r.name, r.levelname, r.getMessage())
        for r in caplog.records
        if r.name in ("app.jobs", "indexing.build")
    ]
    assert lines[:2] == [
        ("app.jobs", "INFO", f"index rebuild {job['job_id']} started"),
        ("indexing.build", "INFO", f"building an index of 2 entries in {tmp_path / 'data'}"),
    ]
    assert len(lines) == 3 and lines[2][:2] == ("app.jobs", "INFO")
    # Two questions and one answer: three rows.
    pattern = rf"index rebuild {job['job_id']} succeeded: v000001, 2 entries, 3 rows, \d+\.\d s"
    assert re.fullmatch(pattern, lines[2][2]), lines[2]
