"""POST /v1/embeddings and GET /v1/models with the real `openai` client (base_url at a uvicorn
server on 127.0.0.1, the real model, the sample index): the vectors are /v1/embed's, base64 is
OpenAI's encoding, and each refusal is in OpenAI's error shape with its documented code."""

from __future__ import annotations

import base64

import httpx
import numpy as np
import openai
import pytest
from service_helpers import API_KEY

MODEL = "me5-small-koen"  # the model folder's name: what the server calls its model
SENTENCES = ["비밀번호를 잊어버렸어요", "배송은 보통 며칠 걸리나요?", "환불 신청은 어디에서 하나요"]


def _client(url: str, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def client(shared_served) -> openai.OpenAI:
    return _client(shared_served.url)


def _embed(served, sentences: list[str]) -> np.ndarray:
    response = served.client.post("/v1/embed", json={"sentences": sentences})
    assert response.status_code == 200, response.text
    return np.array(response.json()["vectors"], dtype=np.float32)


def _error(excinfo) -> tuple[int, dict]:
    return excinfo.value.status_code, excinfo.value.body


def test_a_single_input_gets_v1_embeds_vector(client, shared_served, real_encoder):
    got = client.embeddings.create(model=MODEL, input=SENTENCES[0], encoding_format="float")
    assert got.object == "list" and got.model == MODEL
    assert [(d.object, d.index) for d in got.data] == [("embedding", 0)]
    np.testing.assert_allclose(
        np.array(got.data[0].embedding), _embed(shared_served, SENTENCES[:1])[0], atol=1e-6
    )
    tokens = len(real_encoder.tokenize(SENTENCES[:1]).input_ids[0])  # "query: " and special tokens included
    assert (got.usage.prompt_tokens, got.usage.total_tokens) == (tokens, tokens)


def test_a_list_input_gets_one_vector_per_text_in_order(client, shared_served, real_encoder):
    got = client.embeddings.create(model=MODEL, input=SENTENCES, encoding_format="float")
    assert [d.index for d in got.data] == [0, 1, 2]
    vectors = np.array([d.embedding for d in got.data])
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(vectors, _embed(shared_served, SENTENCES), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    tokens = sum(len(ids) for ids in real_encoder.tokenize(SENTENCES).input_ids)
    assert got.usage.prompt_tokens == tokens == got.usage.total_tokens


def test_base64_decodes_to_the_float_response(client):
    floats = client.embeddings.create(model=MODEL, input=SENTENCES, encoding_format="float")
    encoded = client.embeddings.create(model=MODEL, input=SENTENCES, encoding_format="base64")
    for plain, packed in zip(floats.data, encoded.data, strict=True):
        assert isinstance(packed.embedding, str)
        decoded = np.frombuffer(base64.b64decode(packed.embedding), dtype="<f4")
        np.testing.assert_array_equal(decoded, np.array(plain.embedding, dtype=np.float32))
    # Without encoding_format the client asks for base64 and decodes it itself: the same floats.
    default = client.embeddings.create(model=MODEL, input=SENTENCES)
    for plain, decoded in zip(floats.data, default.data, strict=True):
        np.testing.assert_array_equal(
            np.array(decoded.embedding, dtype=np.float32), np.array(plain.embedding, dtype=np.float32)
        )


def test_a_wrong_model_is_model_not_found(client):
    with pytest.raises(openai.NotFoundError) as excinfo:
        client.embeddings.create(model="text-embedding-3-small", input="배송 조회")
    assert _error(excinfo) == (
        404,
        {
            "message": "The model `text-embedding-3-small` does not exist on this server; send model "
            "`me5-small-koen` (GET /v1/models lists them)",
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        },
    )


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("", "input is empty (or only spaces/control characters); send some text"),
        ("  \u200b ", "input is empty (or only spaces/control characters); send some text"),
        (["배송 조회", ""], "input[1] is empty (or only spaces/control characters); send some text"),
        ([], "input is an empty list; send a string or a list of strings"),
    ],
)
def test_an_empty_input_is_empty_input(client, given, message):
    with pytest.raises(openai.BadRequestError) as excinfo:
        client.embeddings.create(model=MODEL, input=given)
    assert _error(excinfo) == (
        400,
        {"message": message, "type": "invalid_request_error", "param": None, "code": "empty_input"},
    )


def test_an_over_long_input_is_refused_not_truncated(client, real_encoder):
    long_text = "가" * 600  # 600 characters (within FAQSEARCH_MAX_QUERY_CHARS), 605 tokens
    tokens = len(real_encoder.tokenizer("query: " + long_text)["input_ids"])
    assert tokens > real_encoder.max_length == 512
    with pytest.raises(openai.BadRequestError) as excinfo:
        client.embeddings.create(model=MODEL, input=["배송 조회", long_text])
    assert _error(excinfo) == (
        400,
        {
            "message": f"input[1] has {tokens} tokens, more than this model's maximum of 512; shorten it "
            "(this route does not truncate)",
            "type": "invalid_request_error",
            "param": None,
            "code": "context_length_exceeded",
        },
    )
    with pytest.raises(openai.BadRequestError) as excinfo:
        client.embeddings.create(model=MODEL, input="가" * 1001)
    assert _error(excinfo)[1]["code"] == "context_length_exceeded"
    assert _error(excinfo)[1]["message"] == (
        "input has 1001 characters, more than the limit of 1000; shorten it (the server's limit is "
        "FAQSEARCH_MAX_QUERY_CHARS)"
    )


@pytest.mark.parametrize(
    ("options", "code", "message"),
    [
        (
            {"encoding_format": "int8"},
            "invalid_encoding_format",
            "encoding_format 'int8' is not supported; send 'float' or 'base64'",
        ),
        (
            {"dimensions": 1024},
            "invalid_dimensions",
            "dimensions 1024 is more than this model's 384; leave it out, or send 384",
        ),
        (
            {"dimensions": 128},
            "invalid_dimensions",
            "this model does not support shortened embeddings (dimensions 128); leave dimensions out, or send 384",
        ),
    ],
)
def test_unsupported_options_are_refused(client, options, code, message):
    with pytest.raises(openai.BadRequestError) as excinfo:
        client.embeddings.create(model=MODEL, input="배송 조회", **options)
    assert _error(excinfo) == (
        400,
        {"message": message, "type": "invalid_request_error", "param": None, "code": code},
    )


def test_the_models_own_dimension_is_accepted(client):
    got = client.embeddings.create(model=MODEL, input="배송 조회", dimensions=384, encoding_format="float")
    assert len(got.data[0].embedding) == 384


def test_a_body_it_cannot_validate_is_a_400_in_openais_shape(shared_served):
    response = shared_served.client.post("/v1/embeddings", json={"model": MODEL, "input": [1, 2, 3]})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "invalid_request",
        None,
    )
    assert error["message"].startswith("input")
    # the other routes keep their own shape
    assert shared_served.client.post("/v1/embed", json={"sentences": [1]}).json()["error"].keys() == {
        "code",
        "message",
    }


def test_models_lists_the_served_model(client, shared_served):
    listed = client.models.list()
    assert [(m.id, m.object, m.owned_by) for m in listed.data] == [(MODEL, "model", "faqsearch")]
    assert listed.data[0].created == shared_served.state.started_at


def test_an_alias_is_accepted_and_listed(serve):
    served = serve(model_alias="text-embedding-3-small")
    client = _client(served.url)
    assert [m.id for m in client.models.list().data] == [MODEL, "text-embedding-3-small"]
    got = client.embeddings.create(model="text-embedding-3-small", input="배송 조회", encoding_format="float")
    assert got.model == "text-embedding-3-small"
    np.testing.assert_allclose(np.array(got.data[0].embedding), _embed(served, ["배송 조회"])[0], atol=1e-6)


def test_protected_reads_need_the_key_here_too(serve):
    served = serve(protect_reads=True)
    with pytest.raises(openai.AuthenticationError) as excinfo:
        _client(served.url, "wrong-key").embeddings.create(model=MODEL, input="배송 조회")
    status, body = _error(excinfo)
    assert status == 401 and body["code"] == "unauthorized" and body["type"] == "invalid_request_error"
    got = _client(served.url, API_KEY).embeddings.create(model=MODEL, input="배송 조회")
    assert len(got.data) == 1
    assert httpx.get(f"{served.url}/v1/models").status_code == 401
