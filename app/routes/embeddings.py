"""The OpenAI-compatible routes: POST /v1/embeddings and GET /v1/models, for clients written for
OpenAI's API (the `openai` package, LangChain's and LlamaIndex's OpenAI embeddings classes).
Errors here are in OpenAI's shape (`app.errors.OPENAI_PATHS`)."""

from __future__ import annotations

import base64

import numpy as np
from fastapi import APIRouter

from app import service
from app.deps import Reader, State
from app.schemas import (
    Embedding,
    EmbeddingsRequest,
    EmbeddingsResponse,
    EmbeddingsUsage,
    ModelCard,
    ModelList,
    OpenAIErrorResponse,
)

OPENAI_ERROR_RESPONSES: dict[int | str, dict] = {
    status: {"model": OpenAIErrorResponse, "description": description}
    for status, description in {
        400: "Invalid request: empty or over-long input, a bad encoding_format or dimensions, malformed JSON",
        401: "Missing or wrong API key (with FAQSEARCH_PROTECT_READS)",
        403: "Reads are disabled: FAQSEARCH_PROTECT_READS without an API key configured",
        404: "No such model: GET /v1/models lists the names accepted",
        413: "Request body too large",
        503: "No index is served yet (BM25 pooling needs its statistics)",
    }.items()
}

router = APIRouter(
    prefix="/v1", responses=OPENAI_ERROR_RESPONSES, dependencies=[Reader], tags=["OpenAI-compatible"]
)


def _base64(vector: np.ndarray) -> str:
    """As OpenAI encodes it: the float32 values' little-endian bytes, base64."""
    return base64.b64encode(vector.astype("<f4").tobytes()).decode("ascii")


@router.post("/embeddings", response_model=EmbeddingsResponse, summary="Sentence vectors, OpenAI-compatible")
async def embeddings(body: EmbeddingsRequest, state: State) -> EmbeddingsResponse:
    model = service.check_model(state, body.model)
    encoding = service.check_embeddings_options(state, body.encoding_format, body.dimensions)
    inputs = [body.input] if isinstance(body.input, str) else body.input
    vectors, tokens = await service.openai_embeddings(state, inputs, single=isinstance(body.input, str))
    if encoding == "base64":
        data = [Embedding(index=i, embedding=_base64(v)) for i, v in enumerate(vectors)]
    else:
        data = [Embedding(index=i, embedding=v) for i, v in enumerate(vectors.tolist())]
    return EmbeddingsResponse(
        data=data, model=model, usage=EmbeddingsUsage(prompt_tokens=tokens, total_tokens=tokens)
    )


@router.get("/models", response_model=ModelList, summary="The served model, OpenAI-compatible")
async def models(state: State) -> ModelList:
    return ModelList(
        data=[
            ModelCard(id=name, created=state.started_at, owned_by="faqsearch")
            for name in service.served_model_names(state)
        ]
    )
