"""The query log over HTTP against uvicorn (issue 19, item 2): 1,000 searches from 8 clients give
1,000 rows with the hits each client got; the log's table made unwritable fails no search and
raises the drop counter in /metrics; reading the log needs the key."""

from __future__ import annotations

import re
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

from service_helpers import AUTH

QUERIES = ["카드를 잃어버렸어요", "비밀번호를 바꾸고 싶어요", "고객센터 전화번호", "아이디 찾기", "회원 탈퇴"]


def _read_all(client) -> list[dict]:
    rows, since = [], None
    while True:
        params = {"limit": 300} | ({"since": since} if since else {})
        body = client.get("/v1/insights/queries", params=params, headers=AUTH).json()
        rows += body["searches"]
        since = body["next_since"]
        if since is None:
            return rows


def _dropped(client) -> float:
    text = client.get("/metrics").text
    return float(re.search(r"^faqsearch_query_log_dropped_total (\S+)$", text, re.M).group(1))


def test_every_search_is_logged_with_the_hits_it_returned(serve_tiny):
    served = serve_tiny()
    client = served.client

    def ask(i: int) -> tuple[str, list[str], str]:
        body = {"query": QUERIES[i % len(QUERIES)], "top_k": 3, "mode": ("dense", "bm25", "hybrid")[i % 3]}
        if i % 4 == 0:
            body["categories"] = ["계정"]
        response = client.post("/v1/search", json=body)
        assert response.status_code == 200, response.text
        found = response.json()
        return found["search_id"], [h["id"] for h in found["hits"]], body["mode"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(1000)))
    served.state.query_log.flush()
    rows = {row["search_id"]: row for row in _read_all(client)}
    assert len(rows) == 1000
    for i, (search_id, hit_ids, mode) in enumerate(answers):
        row = rows[search_id]
        assert (row["query"], row["mode"], row["hit_ids"], row["top_k"]) == (
            QUERIES[i % len(QUERIES)],
            mode,
            hit_ids,
            3,
        )
        assert row["categories"] == (["계정"] if i % 4 == 0 else None)
    assert _dropped(client) == 0
    assert client.get("/v1/insights/queries").status_code == 401  # what people typed: key needed


def test_an_unwritable_log_fails_no_search_and_counts_the_drops(serve_tiny):
    served = serve_tiny()
    client = served.client
    with sqlite3.connect(served.data_dir / "faqs.sqlite3") as conn:
        conn.execute(
            "CREATE TRIGGER no_log BEFORE INSERT ON query_log BEGIN SELECT RAISE(ABORT, 'full'); END"
        )
    for query in QUERIES * 4:
        assert client.post("/v1/search", json={"query": query}).status_code == 200
    batch = client.post("/v1/search/batch", json={"queries": QUERIES})
    assert batch.status_code == 200 and len({r["search_id"] for r in batch.json()["results"]}) == 5
    served.state.query_log.flush()
    deadline = time.monotonic() + 5
    while _dropped(client) < 25 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _dropped(client) == 25
    assert _read_all(client) == []
