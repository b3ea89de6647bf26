"""Another process holding a write transaction on the served store: searches and health checks go
on at once, a write queued behind it completes once the other process commits, and one that waits
longer than FAQSEARCH_WRITE_WAIT_S is a 503 naming that writer (nothing written)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from service_helpers import AUTH
from write_lock_holder import HELD_ID, HOLDER_COMMAND, held_write_lock

NEW_QUESTION = "택배 기사님께 전화번호를 바꿔 달라고 할 수 있나요?"


def _timed(client: httpx.Client, method: str, path: str, **kwargs) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.request(method, path, **kwargs)
    return response, time.monotonic() - started


def test_reads_answer_at_once_while_a_write_waits_for_another_process(serve_tiny):
    served = serve_tiny(write_wait_s=60)
    client = served.client
    before = client.post("/v1/search", json={"query": "비밀번호를 잊어버렸어요", "top_k": 3}).json()
    with ThreadPoolExecutor(max_workers=1) as pool:
        with held_write_lock(served.data_dir):
            put = pool.submit(client.put, "/v1/faqs/new-1", json={"question": NEW_QUESTION}, headers=AUTH)
            time.sleep(0.5)  # the write is now waiting for the other process's lock
            assert not put.done()
            for _ in range(3):
                health, took = _timed(client, "GET", "/healthz")
                assert (health.status_code, health.json()) == (200, {"status": "ok"})
                assert took < 1.0
                found, took = _timed(
                    client, "POST", "/v1/search", json={"query": "비밀번호를 잊어버렸어요", "top_k": 3}
                )
                assert found.status_code == 200
                assert [h["id"] for h in found.json()["hits"]] == [h["id"] for h in before["hits"]]
                assert took < 1.0
                got, took = _timed(client, "GET", f"/v1/faqs/{HELD_ID}")
                assert got.status_code == 404  # not committed yet: reads see the last commit
                assert took < 1.0
            assert not put.done()
        written = put.result(timeout=60)
    assert written.status_code == 200, written.text
    assert written.json()["result"] == "inserted"
    top = client.post("/v1/search", json={"query": NEW_QUESTION, "top_k": 1, "mode": "dense"}).json()["hits"][
        0
    ]
    assert top["id"] == "new-1" and abs(top["cosine"] - 1.0) < 1e-5  # searchable at once
    assert client.get(f"/v1/faqs/{HELD_ID}").status_code == 200  # the other process's commit


def test_a_write_that_waits_too_long_is_a_503_naming_the_other_writer(serve_tiny):
    served = serve_tiny(write_wait_s=0.5)
    client = served.client
    with held_write_lock(served.data_dir) as holder:
        refused, took = _timed(client, "PUT", "/v1/faqs/new-1", json={"question": NEW_QUESTION}, headers=AUTH)
        deleted, _ = _timed(client, "DELETE", "/v1/faqs/site-001", headers=AUTH)
        health, health_took = _timed(client, "GET", "/healthz")
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "5"
    error = refused.json()["error"]
    assert error["code"] == "store_busy"
    prefix = f"the FAQ store is being written by pid {holder.pid} ({HOLDER_COMMAND}), writing since "
    assert error["message"].startswith(prefix)
    assert error["message"].endswith(
        "; this write waited 0.5 s for it and was not made: send it again once that write has finished"
    )
    assert 0.5 <= took < 5
    assert deleted.status_code == 503 and deleted.json()["error"]["code"] == "store_busy"
    assert health.status_code == 200 and health_took < 1.0
    assert client.get("/v1/faqs/new-1").status_code == 404  # nothing written
    # once the other writer is done, the same write goes through
    again = client.put("/v1/faqs/new-1", json={"question": NEW_QUESTION}, headers=AUTH)
    assert again.status_code == 200 and again.json()["result"] == "inserted"
