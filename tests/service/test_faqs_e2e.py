"""FAQ writes over HTTP: searchable at once, persisted across a restart, and guarded by the API key."""

from __future__ import annotations

import unicodedata

import pytest
from service_helpers import API_KEY, AUTH

PARKING = "주차장은 건물 지하 2층에 있나요?"


def _top(served, query: str, k: int = 3) -> list[str]:
    return [i for i, _ in _scored(served, query, k)]


def _scored(served, query: str, k: int = 10) -> list[tuple[str, float]]:
    response = served.client.post("/v1/search", json={"query": query, "top_k": k})
    assert response.status_code == 200, response.text
    return [(h["id"], h["score"]) for h in response.json()["hits"]]


def test_put_get_update_delete_reflected_in_search_at_once(served):
    client = served.client
    assert "parking-1" not in _top(served, "주차는 어디에 하나요?")

    created = client.put(
        "/v1/faqs/parking-1", json={"question": PARKING, "answer": "네, 지하 2층입니다."}, headers=AUTH
    )
    assert created.status_code == 200, created.text
    assert created.json()["result"] == "inserted"
    assert created.json()["faq"]["question"] == PARKING
    assert _top(served, "주차는 어디에 하나요?")[0] == "parking-1"
    # The entry's own question is its exact match: cosine 1.
    assert _scored(served, PARKING)[0] == ("parking-1", pytest.approx(1.0, abs=1e-5))

    got = client.get("/v1/faqs/parking-1").json()
    assert (got["id"], got["question"], got["answer"], got["category"]) == (
        "parking-1",
        PARKING,
        "네, 지하 2층입니다.",
        None,
    )

    same = client.put(
        "/v1/faqs/parking-1", json={"question": PARKING, "answer": "네, 지하 2층입니다."}, headers=AUTH
    )
    assert same.json()["result"] == "unchanged"

    updated = client.put(
        "/v1/faqs/parking-1", json={"question": "반려동물을 데리고 가도 되나요?"}, headers=AUTH
    )
    assert updated.json()["result"] == "updated"
    assert updated.json()["faq"]["created_at"] == created.json()["faq"]["created_at"]
    # The index now holds the new question, and only it: the old one is no exact match any more.
    assert _scored(served, "반려동물을 데리고 가도 되나요?")[0] == ("parking-1", pytest.approx(1.0, abs=1e-5))
    assert dict(_scored(served, PARKING)).get("parking-1", 0.0) < 0.95

    deleted = client.delete("/v1/faqs/parking-1", headers=AUTH)
    assert deleted.status_code == 200 and deleted.json() == {"deleted": "parking-1"}
    assert "parking-1" not in _top(served, "반려동물을 데리고 가도 되나요?", 10)
    missing = client.get("/v1/faqs/parking-1")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    again = client.delete("/v1/faqs/parking-1", headers=AUTH)
    assert again.status_code == 404


def test_bulk_upsert_counts_and_persists_across_a_restart(serve, tmp_path):
    first = serve()
    faqs = [
        {"id": "new-1", "question": PARKING, "answer": "지하 2층"},
        {"id": "new-2", "question": "반려동물을 데리고 가도 되나요?"},
        {
            "id": "site-001",
            "question": "비밀번호를 잊어버렸어요. 어떻게 찾나요?",
            "answer": "바뀐 답변",
            "category": "계정",
        },
    ]
    body = first.client.post("/v1/faqs", json={"faqs": faqs}, headers=AUTH).json()
    assert body == {"inserted": 2, "updated": 1, "unchanged": 0}
    repeat = first.client.post("/v1/faqs", json={"faqs": faqs}, headers=AUTH).json()
    assert repeat == {"inserted": 0, "updated": 0, "unchanged": 3}
    page = first.client.get("/v1/faqs", params={"limit": 1000}).json()
    assert page["total"] == 310

    # A second server over the same data directory (the first one still running) sees the writes:
    # they are in the store, and the index catches up with it when it loads.
    second = serve(data_dir=first.data_dir)
    assert _top(second, "주차는 어디에 하나요?")[0] == "new-1"
    assert second.client.get("/v1/faqs/site-001").json()["answer"] == "바뀐 답변"


def test_nfd_id_names_the_same_entry(served):
    nfc_id = "주차-1"
    nfd_id = unicodedata.normalize("NFD", nfc_id)
    assert (
        served.client.put(f"/v1/faqs/{nfd_id}", json={"question": PARKING}, headers=AUTH).json()["faq"]["id"]
        == nfc_id
    )
    assert served.client.get(f"/v1/faqs/{nfc_id}").json()["question"] == PARKING


def test_invalid_bulk_write_changes_nothing(served):
    faqs = [{"id": "ok-1", "question": PARKING}, {"id": "bad-1", "question": "x" * 2001}]
    response = served.client.post("/v1/faqs", json={"faqs": faqs}, headers=AUTH)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_faq"
    assert "entry 1" in error["message"] and "nothing was written" in error["message"]
    assert served.client.get("/v1/faqs/ok-1").status_code == 404


WRITES = [
    ("put", "/v1/faqs/a-1", {"question": PARKING}),
    ("delete", "/v1/faqs/site-001", None),
    ("post", "/v1/faqs", {"faqs": [{"id": "a-1", "question": PARKING}]}),
    ("post", "/v1/index/rebuild", None),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_writes_need_the_right_key(served, method, path, body):
    """Acceptance 5: no key -> 401, wrong key -> 401, and nothing changes; the right key works."""
    client = served.client
    before = client.get("/v1/faqs", params={"limit": 1000}).json()
    for headers in (
        {},
        {"Authorization": "Bearer wrong-key"},
        {"Authorization": API_KEY},
        {"Authorization": "Basic abc"},
    ):
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
    assert client.get("/v1/faqs", params={"limit": 1000}).json() == before
    ok = client.request(method, path, json=body, headers=AUTH)
    assert ok.status_code in (200, 202), ok.text


def test_without_a_configured_key_writes_are_refused_not_open(serve):
    served = serve(api_key=None)
    response = served.client.put("/v1/faqs/a-1", json={"question": PARKING}, headers=AUTH)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "writes_disabled"
    assert "FAQSEARCH_API_KEY" in response.json()["error"]["message"]
    assert served.client.post("/v1/search", json={"query": "주차"}).status_code == 200


def test_protected_reads_need_the_key(serve):
    served = serve(protect_reads=True)
    assert served.client.post("/v1/search", json={"query": "주차"}).status_code == 401
    assert served.client.get("/v1/faqs/site-001").status_code == 401
    assert served.client.post("/v1/search", json={"query": "주차"}, headers=AUTH).status_code == 200
    assert served.client.get("/healthz").status_code == 200  # probes stay open


@pytest.mark.parametrize("written_by", ["post", "put-encoded", "put-slash"])
def test_an_id_with_a_slash_can_be_read_replaced_and_deleted(served, written_by):
    client = served.client
    faq_id = "billing/refund-01"
    if written_by == "post":
        body = {"faqs": [{"id": faq_id, "question": PARKING}]}
        assert client.post("/v1/faqs", json=body, headers=AUTH).json() == {
            "inserted": 1,
            "updated": 0,
            "unchanged": 0,
        }
    else:
        path = "/v1/faqs/billing%2Frefund-01" if written_by == "put-encoded" else f"/v1/faqs/{faq_id}"
        created = client.put(path, json={"question": PARKING}, headers=AUTH)
        assert created.status_code == 200, created.text
        assert (created.json()["faq"]["id"], created.json()["result"]) == (faq_id, "inserted")
    assert _scored(served, PARKING)[0] == (faq_id, pytest.approx(1.0, abs=1e-5))

    for path in ("/v1/faqs/billing/refund-01", "/v1/faqs/billing%2Frefund-01"):
        got = client.get(path)
        assert got.status_code == 200, (path, got.text)
        assert (got.json()["id"], got.json()["question"]) == (faq_id, PARKING)

    pets = "반려동물을 데리고 가도 되나요?"
    replaced = client.put("/v1/faqs/billing%2Frefund-01", json={"question": pets}, headers=AUTH)
    assert (replaced.status_code, replaced.json()["result"]) == (200, "updated")
    assert _scored(served, pets)[0] == (faq_id, pytest.approx(1.0, abs=1e-5))
    assert client.get("/v1/faqs", params={"limit": 1000}).json()["total"] == 309  # replaced, not added

    deleted = client.delete("/v1/faqs/billing/refund-01", headers=AUTH)
    assert (deleted.status_code, deleted.json()) == (200, {"deleted": faq_id})
    assert faq_id not in _top(served, pets, 10)
    missing = client.get("/v1/faqs/billing%2Frefund-01")
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "code": "not_found",
        "message": "no FAQ with id 'billing/refund-01'; list ids with GET /v1/faqs",
    }


def test_routes_beside_the_faq_ids_still_answer(served):
    """The id takes the rest of the path, slashes too: nothing else lives under /v1/faqs/, and
    the list, the index and job routes still answer as before."""
    client = served.client
    assert client.get("/v1/faqs", params={"limit": 2}).json()["total"] == 308
    assert client.get("/v1/index").json()["version"] == "v000001"
    assert client.get("/v1/index/jobs/nope").json()["error"]["code"] == "not_found"
    paths = [path for path in client.get("/openapi.json").json()["paths"] if path.startswith("/v1/faqs")]
    assert paths == ["/v1/faqs", "/v1/faqs/{faq_id}"]


def test_delete_answers_the_normalised_id(served):
    assert served.client.put("/v1/faqs/lead", json={"question": PARKING}, headers=AUTH).status_code == 200
    deleted = served.client.delete("/v1/faqs/%20%20lead", headers=AUTH)
    assert (deleted.status_code, deleted.json()) == (200, {"deleted": "lead"})
    assert served.client.get("/v1/faqs/lead").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("put", "/v1/faqs/%ED%A0%80", {"question": PARKING}),  # a lone surrogate: not UTF-8
        ("put", "/v1/faqs/ab%FF", {"question": PARKING}),
        ("post", "/v1/faqs", {"faqs": [{"id": "ab\ufffd", "question": PARKING}]}),
    ],
)
def test_an_id_that_is_not_valid_utf8_is_refused(served, method, path, body):
    client = served.client
    before = client.get("/v1/faqs", params={"limit": 1000}).json()
    response = client.request(method, path, json=body, headers=AUTH)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_faq"
    assert "the id must be valid UTF-8 text" in error["message"], error["message"]
    assert "nothing was written" in error["message"]
    assert client.get("/v1/faqs", params={"limit": 1000}).json() == before


PARKING_ALTERNATES = ["차는 어디에 세우나요?", "주차 공간이 있나요?"]


def test_alternates_are_written_read_back_and_searched(served):
    client = served.client
    body = {"question": PARKING, "answer": "네, 지하 2층입니다.", "alternates": PARKING_ALTERNATES}
    created = client.put("/v1/faqs/parking-1", json=body, headers=AUTH)
    assert created.status_code == 200, created.text
    assert created.json()["faq"]["alternates"] == PARKING_ALTERNATES
    assert client.get("/v1/faqs/parking-1").json()["alternates"] == PARKING_ALTERNATES
    listed = client.get("/v1/faqs", params={"limit": 1000}).json()["faqs"]
    assert next(f for f in listed if f["id"] == "parking-1")["alternates"] == PARKING_ALTERNATES
    assert next(f for f in listed if f["id"] == "site-001")["alternates"] == []
    # An alternate is searched like the question: it is its entry's exact match.
    assert _scored(served, PARKING_ALTERNATES[1])[0] == ("parking-1", pytest.approx(1.0, abs=1e-5))
    assert client.put("/v1/faqs/parking-1", json=body, headers=AUTH).json()["result"] == "unchanged"
    bulk = {"faqs": [{"id": "parking-2", "question": "주차비는 얼마인가요?", "alternates": ["주차 요금"]}]}
    assert client.post("/v1/faqs", json=bulk, headers=AUTH).json()["inserted"] == 1
    assert client.get("/v1/faqs/parking-2").json()["alternates"] == ["주차 요금"]


@pytest.mark.parametrize(
    ("alternates", "problem"),
    [
        ([PARKING_ALTERNATES[0], " " + PARKING], f"alternate 1 {PARKING!r} repeats the question; remove it"),
        (
            [PARKING_ALTERNATES[0], PARKING_ALTERNATES[0]],
            f"alternate 1 {PARKING_ALTERNATES[0]!r} repeats alternate 0",
        ),
        ([f"주차 질문 {i}" for i in range(51)], "51 alternates; the limit is 50 per entry"),
    ],
)
def test_invalid_alternates_are_refused_and_nothing_is_stored(served, alternates, problem):
    client = served.client
    response = client.put(
        "/v1/faqs/parking-1", json={"question": PARKING, "alternates": alternates}, headers=AUTH
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_faq"
    assert error["message"].startswith(f"entry 0 (id 'parking-1'): {problem}"), error["message"]
    assert error["message"].endswith("fix these entries and send them again (nothing was written)")
    assert client.get("/v1/faqs/parking-1").status_code == 404
