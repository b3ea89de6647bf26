"""Bad input over HTTP: a 4xx JSON error whose message says what to change; never a 500."""

from __future__ import annotations

import pytest
from service_helpers import AUTH, start_server


@pytest.fixture
def served(shared_served):
    """Every test here but the body limit's sends requests that must change nothing: one server."""
    return shared_served


BAD_REQUESTS = [
    # (path, body, status, code, words the message must contain)
    ("/v1/search", {"query": "   \t\n"}, 422, "empty_text", ["query is empty"]),
    ("/v1/search", {"query": "\u200b\u0000"}, 422, "empty_text", ["query is empty"]),
    (
        "/v1/search",
        {"query": "가" * 1001},
        422,
        "text_too_long",
        ["1001 characters", "1000", "FAQSEARCH_MAX_QUERY_CHARS"],
    ),
    ("/v1/search", {"query": 3}, 422, "invalid_request", ["query", "valid string"]),
    ("/v1/search", {"query": ["a"]}, 422, "invalid_request", ["query"]),
    ("/v1/search", {}, 422, "invalid_request", ["query", "Field required"]),
    (
        "/v1/search",
        {"query": "주차", "top_k": 0},
        422,
        "invalid_request",
        ["top_k", "greater than or equal to 1"],
    ),
    (
        "/v1/search",
        {"query": "주차", "top_k": 101},
        422,
        "invalid_request",
        ["top_k", "less than or equal to 100"],
    ),
    ("/v1/search", {"query": "주차", "top_k": "5"}, 422, "invalid_request", ["top_k", "valid integer"]),
    ("/v1/search", {"query": "주차", "top_k": 2.5}, 422, "invalid_request", ["top_k"]),
    (
        "/v1/search",
        {"query": "주차", "mode": "semantic"},
        422,
        "invalid_request",
        ["mode", "'dense', 'bm25' or 'hybrid'"],
    ),
    (
        "/v1/search",
        {"query": "주차", "topk": 3},
        422,
        "invalid_request",
        ["topk: not a field of this request; remove it (the fields are listed at /docs)"],
    ),
    ("/v1/search", {"query": "주차", "min_score": "high"}, 422, "invalid_request", ["min_score"]),
    ("/v1/search", ["주차"], 422, "invalid_request", ["valid dictionary"]),
    ("/v1/search/batch", {"queries": []}, 422, "invalid_request", ["queries", "at least 1 item"]),
    ("/v1/search/batch", {"queries": ["a"] * 65}, 422, "invalid_request", ["queries", "at most 64 items"]),
    ("/v1/search/batch", {"queries": ["주차", " "]}, 422, "empty_text", ["queries[1] is empty"]),
    (
        "/v1/rank",
        {"query": "주차", "candidates": []},
        422,
        "invalid_request",
        ["candidates", "at least 1 item"],
    ),
    (
        "/v1/rank",
        {"query": "주차", "candidates": ["a"], "pooling": "median"},
        422,
        "invalid_request",
        ["pooling", "unknown pooling 'median'", "cls, mean, max, bm25"],
    ),
    ("/v1/rank", {"query": "주차", "candidates": ["a", ""]}, 422, "empty_text", ["candidates[1] is empty"]),
    ("/v1/embed", {"sentences": ["a"] * 257}, 422, "invalid_request", ["sentences", "at most 256 items"]),
    ("/v1/embed", {"sentences": ["a"], "pooling": "mean@-99"}, 422, "invalid_request", ["pooling", "layer"]),
]


@pytest.mark.parametrize(("path", "body", "status", "code", "words"), BAD_REQUESTS)
def test_bad_requests_get_a_clear_4xx(served, path, body, status, code, words):
    response = served.client.post(path, json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    for word in words:
        assert word in error["message"], (word, error["message"])


EMPTY_QUERY = {
    "code": "empty_text",
    "message": "query is empty (or only spaces/control characters); send some text",
}


@pytest.mark.parametrize("path", ["/v1/search", "/v1/rank"])
@pytest.mark.parametrize("query", ["", "   \t\n"])
def test_an_empty_query_and_a_blank_one_get_the_same_error(served, path, query):
    body = {"query": query} if path == "/v1/search" else {"query": query, "candidates": ["주차"]}
    response = served.client.post(path, json=body)
    assert (response.status_code, response.json()) == (422, {"error": EMPTY_QUERY})


def test_malformed_json_nan_and_wrong_content(served):
    client = served.client
    broken = client.post(
        "/v1/search", content='{"query": "주차"'.encode(), headers={"content-type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_json"
    nan = client.post(
        "/v1/search",
        content=b'{"query": "a", "min_score": NaN}',
        headers={"content-type": "application/json"},
    )
    assert nan.status_code == 422 and "min_score" in nan.json()["error"]["message"]
    not_utf8 = client.post(
        "/v1/search",
        content='{"query": "주차"}'.encode("cp949"),
        headers={"content-type": "application/json"},
    )
    assert (not_utf8.status_code, not_utf8.json()) == (400, {"error": NOT_UTF8_JSON})


NOT_UTF8_JSON = {
    "code": "invalid_json",
    "message": "the request body is not valid UTF-8 JSON: send a JSON object encoded as UTF-8 "
    "with Content-Type: application/json",
}
TOO_DEEP_JSON = {
    "code": "invalid_json",
    "message": "the request body is JSON nested too deeply to parse: send a JSON object as the API "
    "describes (see /docs), encoded as UTF-8 with Content-Type: application/json",
}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"query":"\xff\xfe"}', NOT_UTF8_JSON),
        (b'{"query": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", TOO_DEEP_JSON),
    ],
)
def test_a_body_that_cannot_be_parsed_says_what_to_send(served, body, error):
    response = served.client.post("/v1/search", content=body, headers={"content-type": "application/json"})
    assert (response.status_code, response.json()) == (400, {"error": error})


@pytest.mark.parametrize("body", [b'{"query": "\xed\xa0\x80"}', b'{"query": "\\ud800"}'])
def test_a_lone_surrogate_in_a_text_says_to_send_utf8(served, body):
    """JSON's parser lets a UTF-8-encoded surrogate through, as it does the escape \\ud800."""
    response = served.client.post("/v1/search", content=body, headers={"content-type": "application/json"})
    assert (response.status_code, response.json()) == (
        422,
        {
            "error": {
                "code": "invalid_request",
                "message": "query: not valid Unicode text (it has a lone surrogate); send the text as UTF-8",
            }
        },
    )


@pytest.mark.parametrize(
    ("content_type", "named"),
    [
        ("text/plain", "Content-Type: text/plain"),
        ("application/x-www-form-urlencoded", "Content-Type: application/x-www-form-urlencoded"),
        (None, "no Content-Type header"),
    ],
)
def test_json_sent_without_a_json_content_type_says_to_send_the_header(served, content_type, named):
    request = served.client.build_request("POST", "/v1/search", content='{"query": "주차"}'.encode())
    request.headers.pop("content-type", None)  # httpx sets none for raw bytes; make sure
    if content_type is not None:
        request.headers["content-type"] = content_type
    response = served.client.send(request)
    assert (response.status_code, response.json()) == (
        422,
        {
            "error": {
                "code": "invalid_request",
                "message": f"the request body was sent with {named}, so it was not read as JSON: "
                "send it with the header Content-Type: application/json",
            }
        },
    )
    put = served.client.put(
        "/v1/faqs/x", content=b'{"question": "a"}', headers={**AUTH, "content-type": "text/plain"}
    )
    assert put.status_code == 422 and "Content-Type: application/json" in put.json()["error"]["message"]


def test_unknown_routes_and_methods(served):
    missing = served.client.get("/v1/nothing")
    assert missing.status_code == 404
    assert missing.json()["error"] == {
        "code": "not_found",
        "message": "no such endpoint: GET /v1/nothing; see /docs for the API",
    }
    wrong = served.client.get("/v1/search")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"
    assert served.client.get("/v1/index/jobs/nope").status_code == 404


BODY_TOO_LARGE = {
    "code": "body_too_large",
    "message": "the request body is larger than 4096 bytes; send fewer or shorter items "
    "(the server's limit is FAQSEARCH_MAX_BODY_BYTES)",
}


def test_bodies_over_the_limit_get_413_whether_declared_or_streamed(serve):
    served = serve(max_body_bytes=4096)
    big = {"sentences": ["가나다라마바사" * 100] * 3}
    declared = served.client.post("/v1/embed", json=big)
    assert (declared.status_code, declared.json()) == (413, {"error": BODY_TOO_LARGE})

    def chunks():  # no content-length: the server must count what streams in
        yield b'{"sentences": ["'
        for _ in range(100):
            yield "가나다라마바사".encode() * 10
        yield b'"]}'

    streamed = served.client.post("/v1/embed", content=chunks(), headers={"content-type": "application/json"})
    assert (streamed.status_code, streamed.json()) == (413, {"error": BODY_TOO_LARGE})
    # One format whichever way the limit was found: the same bytes, the same content type.
    assert streamed.content == declared.content
    assert streamed.headers["content-type"] == declared.headers["content-type"] == "application/json"
    assert served.client.post("/v1/search", json={"query": "주차"}).status_code == 200


def test_search_text_is_nfc_normalised_and_control_characters_dropped(served):
    plain = served.client.post("/v1/search", json={"query": "비밀번호를 잊어버렸어요"}).json()["hits"]
    noisy = served.client.post(
        "/v1/search", json={"query": "\ufeff비밀번호를\u200b  잊어버렸어요\u0007 "}
    ).json()["hits"]
    assert [(h["id"], h["score"]) for h in noisy] == [(h["id"], h["score"]) for h in plain]


def test_writes_validate_their_bodies(served):
    response = served.client.put("/v1/faqs/x", json={"question": ""}, headers=AUTH)
    assert response.status_code == 422 and "question" in response.json()["error"]["message"]
    response = served.client.put("/v1/faqs/x", json={"question": "a", "answer": 3}, headers=AUTH)
    assert response.status_code == 422 and "answer" in response.json()["error"]["message"]
    response = served.client.post("/v1/faqs", json={"faqs": [{"question": "a"}]}, headers=AUTH)
    assert response.status_code == 422 and "faqs[0].id" in response.json()["error"]["message"]


def _raw_get(url: str, path: bytes) -> tuple[int, dict[str, str], bytes]:
    """GET over a plain socket: httpx refuses URLs this long before sending them."""
    import socket
    from urllib.parse import urlsplit

    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in lines)}
    return int(status_line.split()[1]), headers, body


def test_a_too_long_url_gets_414_in_json(tmp_path, tiny_encoder):
    import json

    from app.main import create_app
    from app.server import UVICORN_OPTIONS
    from faqsearch.settings import Settings

    app = create_app(Settings(data_dir=tmp_path, model=tiny_encoder.name), encoder=tiny_encoder)
    server, thread, url = start_server(app, **UVICORN_OPTIONS)
    try:
        status, headers, body = _raw_get(url, b"/" + b"a" * 100_000)
        assert (status, headers["content-type"]) == (414, "application/json")
        assert json.loads(body) == {
            "error": {
                "code": "uri_too_long",
                "message": "the URL is longer than 65535 bytes; send long text in a POST body "
                "(e.g. POST /v1/search), not in the URL",
            }
        }
        # A long URL the parser takes still reaches the app: its usual 404.
        status, headers, body = _raw_get(url, b"/" + b"a" * 60_000)
        assert (status, json.loads(body)["error"]["code"]) == (404, "not_found")
    finally:
        server.should_exit = True
        thread.join(timeout=30)
