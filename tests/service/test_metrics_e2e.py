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
