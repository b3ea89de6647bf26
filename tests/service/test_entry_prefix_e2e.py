"""Over HTTP with an asymmetric encoder (entries behind 'passage: ', queries behind 'query: '):
/v1/rank puts the entry prefix before its candidates, /v1/embed the prefix of the role asked, and
an index built with the query prefix before its entries is not served, naming both prefixes."""

from __future__ import annotations

import shutil

import httpx
import numpy as np
import pytest
from service_helpers import API_KEY, start_server

QUERY = "신용 대출 신청은 어떻게 하나요?"
CANDIDATES = ["대출을 신청하는 방법을 알려 주세요", "오늘 날씨가 좋네요", "신용 등급은 어디에서 조회하나요?"]


@pytest.fixture(scope="module")
def asymmetric(real_encoder):
    return real_encoder.with_prefixes(entry_prefix="passage: ")


@pytest.fixture(scope="module")
def client(tmp_path_factory, asymmetric, sample_index):
    from app.main import create_app
    from faqsearch.settings import Settings

    data_dir = tmp_path_factory.mktemp("asymmetric") / "data"
    shutil.copytree(sample_index, data_dir)  # built with 'query: ' before its entries
    settings = Settings(model=asymmetric.name, api_key=API_KEY, data_dir=data_dir, entry_prefix="passage: ")
    server, thread, url = start_server(create_app(settings, encoder=asymmetric))
    with httpx.Client(base_url=url, timeout=120) as http:
        yield http
    server.should_exit = True
    thread.join(timeout=30)


def test_rank_scores_candidates_behind_the_entry_prefix_against_the_query(client, asymmetric, real_encoder):
    body = client.post("/v1/rank", json={"query": QUERY, "candidates": CANDIDATES, "pooling": "mean"}).json()
    query = asymmetric.encode([QUERY], "mean").vectors[0]
    expected = asymmetric.encode(CANDIDATES, "mean", role="entry").vectors @ query
    order = np.argsort(-expected, kind="stable")
    assert [r["index"] for r in body["results"]] == order.tolist()
    np.testing.assert_allclose([r["score"] for r in body["results"]], expected[order], atol=1e-5, rtol=0)
    # behind 'query: ' (what the candidates got before) every score is another one
    before = real_encoder.encode(CANDIDATES, "mean").vectors @ query
    assert np.abs(np.sort(before) - np.sort(expected)).min() > 1e-3


@pytest.mark.parametrize("role", ["query", "entry", None])
def test_embed_puts_the_prefix_of_the_role_asked(client, asymmetric, role):
    payload = {"sentences": CANDIDATES, "pooling": "cls", **({"role": role} if role else {})}
    body = client.post("/v1/embed", json=payload).json()
    expected = asymmetric.encode(CANDIDATES, "cls", role=role or "query").vectors
    np.testing.assert_allclose(np.array(body["vectors"]), expected, atol=1e-6, rtol=0)


def test_embed_refuses_an_unknown_role(client):
    response = client.post("/v1/embed", json={"sentences": ["대출"], "role": "answer"})
    assert response.status_code == 422
    assert "role" in response.text


def test_an_index_with_entries_behind_the_query_prefix_is_not_served_naming_both(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    message = response.json()["error"]["message"]
    assert (
        "it was built with the entry prefix 'query: ' before every FAQ entry but the configured entry prefix "
        "is 'passage: '"
    ) in message
    assert "A rebuild (POST /v1/index/rebuild) also fixes this." in message
