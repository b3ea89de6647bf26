"""/metrics: exact counts after a known sequence of requests on a fresh server."""

from __future__ import annotations

import re


def _value(text: str, name: str, **labels: str) -> float:
    selector = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = re.escape(f"{name}{{{selector}}}" if labels else name) + r" ([0-9.e+-]+)"
    match = re.search(pattern, text)
    assert match, f"{name} {labels} not in metrics"
    return float(match.group(1))


def test_metrics_count_requests_batches_and_index(serve):
    served = serve(micro_batching=False)
    client = served.client
    for _ in range(3):
        assert client.post("/v1/search", json={"query": "비밀번호를 잊어버렸어요"}).status_code == 200
    assert client.post("/v1/search", json={"query": ""}).status_code == 422
    assert client.post("/v1/search/batch", json={"queries": ["주차", "탈퇴", "배송"]}).status_code == 200
    assert client.get("/v1/faqs/site-001").status_code == 200
    text = client.get("/metrics").text

    assert _value(text, "faqsearch_requests_total", method="POST", route="/v1/search", status="200") == 3
    assert _value(text, "faqsearch_requests_total", method="POST", route="/v1/search", status="422") == 1
    assert (
        _value(text, "faqsearch_requests_total", method="GET", route="/v1/faqs/{faq_id}", status="200") == 1
    )
    assert _value(text, "faqsearch_request_seconds_count", method="POST", route="/v1/search") == 4
    # Without micro-batching: one forward pass per request, of 1, 1, 1 and 3 queries.
    assert _value(text, "faqsearch_encoder_batch_queries_count") == 4
    assert _value(text, "faqsearch_encoder_batch_queries_sum") == 6
    assert _value(text, "faqsearch_index_entries") == 308
    assert _value(text, "faqsearch_index_version") == 1
    assert client.get("/metrics").headers["content-type"].startswith("text/plain")


def test_docs_and_the_favicon_are_counted_under_their_routes(serve_tiny):
    client = serve_tiny().client
    for path in ("/docs", "/openapi.json", "/favicon.ico"):
        assert client.get(path).status_code == 200, path
    assert client.get("/nothing").status_code == 404
    text = client.get("/metrics").text
    for route in ("/docs", "/openapi.json", "/favicon.ico"):
        assert _value(text, "faqsearch_requests_total", method="GET", route=route, status="200") == 1
    assert _value(text, "faqsearch_requests_total", method="GET", route="unmatched", status="404") == 1
    assert 'route="unmatched",status="200"' not in text


def test_the_favicon_is_the_bundled_svg(serve_tiny):
    from app.routes.page import STATIC_DIR

    response = serve_tiny().client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.content == (STATIC_DIR / "favicon.svg").read_bytes()
    assert response.content.startswith(b'<svg xmlns="http://www.w3.org/2000/svg"')
