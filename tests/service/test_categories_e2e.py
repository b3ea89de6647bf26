"""Category filters over HTTP against uvicorn (issue 19, item 1): GET /v1/categories, `categories`
in search and batch search, the filter inside the search (top_k hits whenever that many match),
unknown names as a note, and bad filters as 422s that say what to change. The filter's exactness
against brute force is tests/indexing/test_category_filter.py; here the tiny model serves, and
the served hits are compared with an offline Searcher over the same data."""

from __future__ import annotations

import csv
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
from service_helpers import AUTH, offline_searcher

SAMPLE = Path(__file__).resolve().parents[2] / "testsets/sample_faq/faqs.csv"
QUERY = "비밀번호를 바꾸고 싶어요"


def _sample_categories() -> Counter:
    with SAMPLE.open(encoding="utf-8") as f:
        return Counter(row["category"] for row in csv.DictReader(f) if row["category"])


@pytest.fixture(scope="module")
def tiny_served(module_serve_tiny):
    return module_serve_tiny()


def test_categories_lists_every_category_with_its_entry_count(tiny_served):
    body = tiny_served.client.get("/v1/categories").json()
    assert {c["name"]: c["entries"] for c in body["categories"]} == dict(_sample_categories())
    assert [c["name"] for c in body["categories"]] == sorted(_sample_categories())
    assert body["index_version"] == "v000001"


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_a_filtered_search_returns_the_categorys_entries_as_the_searcher_ranks_them(
    tiny_served, tiny_encoder, mode
):
    offline = offline_searcher(tiny_served, tiny_encoder)
    client = tiny_served.client
    body = client.post(
        "/v1/search", json={"query": QUERY, "top_k": 10, "mode": mode, "categories": ["계정"]}
    ).json()
    hits = body["hits"]
    # 계정 has 5 entries: all 5 come back when the mode scores them (dense scores every entry)
    expected = offline.search([QUERY], top_k=10, mode=mode, categories=["계정"])[0]
    assert [(h["id"], h["score"]) for h in hits] == [(h.id, h.score) for h in expected]
    assert {h["category"] for h in hits} == {"계정"} and body["note"] is None
    if mode == "dense":
        assert len(hits) == 5
        top3 = client.post(
            "/v1/search", json={"query": QUERY, "top_k": 3, "mode": mode, "categories": ["계정"]}
        )
        assert [h["id"] for h in top3.json()["hits"]] == [h["id"] for h in hits[:3]]
    nfd = unicodedata.normalize("NFD", "계정")
    again = client.post("/v1/search", json={"query": QUERY, "top_k": 10, "mode": mode, "categories": [nfd]})
    assert [h["id"] for h in again.json()["hits"]] == [h["id"] for h in hits]


def test_batch_search_filters_every_query(tiny_served):
    body = tiny_served.client.post(
        "/v1/search/batch",
        json={
            "queries": [QUERY, "상담원과 통화하고 싶어요"],
            "top_k": 10,
            "mode": "dense",
            "categories": ["고객센터", "로그인"],
        },
    ).json()
    assert [len(r["hits"]) for r in body["results"]] == [3, 3]  # 고객센터 2 + 로그인 1
    assert {h["category"] for r in body["results"] for h in r["hits"]} == {"고객센터", "로그인"}


def test_unknown_categories_match_nothing_and_are_named_in_a_note(tiny_served):
    client = tiny_served.client
    none = client.post("/v1/search", json={"query": QUERY, "categories": ["없는분류"]}).json()
    assert none["hits"] == []
    assert "'없는분류'" in none["note"] and "GET /v1/categories" in none["note"]
    mixed = client.post(
        "/v1/search", json={"query": QUERY, "mode": "dense", "categories": ["계정", "없는분류"]}
    ).json()
    assert len(mixed["hits"]) == 5 and "'없는분류'" in mixed["note"] and "계정" not in mixed["note"]


@pytest.mark.parametrize(
    ("categories", "code", "says"),
    [
        ([], "invalid_request", "name at least one category"),
        ([f"분류{i}" for i in range(101)], "too_many_categories", "more than 100; filter by at most 100"),
        ([f"c{i}" for i in range(10_000)], "too_many_categories", "names 10000 categories"),
    ],
)
def test_bad_filters_are_422s_that_say_what_to_change(tiny_served, categories, code, says):
    for path, body in (
        ("/v1/search", {"query": QUERY, "categories": categories}),
        ("/v1/search/batch", {"queries": [QUERY], "categories": categories}),
    ):
        response = tiny_served.client.post(path, json=body)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == code and says in error["message"], error
        assert "leave categories out" in error["message"]


def test_moving_an_entry_to_another_category_shows_at_once(tiny_served):
    client = tiny_served.client
    entry = client.get("/v1/faqs/site-001").json()
    assert entry["category"] == "계정"
    moved = {k: entry[k] for k in ("question", "answer", "alternates")} | {"category": "보안"}
    assert client.put("/v1/faqs/site-001", json=moved, headers=AUTH).status_code == 200
    counts = {c["name"]: c["entries"] for c in client.get("/v1/categories").json()["categories"]}
    assert (counts["계정"], counts["보안"]) == (4, 1)
    hits = client.post("/v1/search", json={"query": QUERY, "mode": "dense", "categories": ["보안"]}).json()[
        "hits"
    ]
    assert [h["id"] for h in hits] == ["site-001"]
    back = moved | {"category": "계정"}
    assert client.put("/v1/faqs/site-001", json=back, headers=AUTH).status_code == 200
