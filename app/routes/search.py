"""POST /v1/search, /v1/search/batch, /v1/rank, /v1/embed: validate, call `app.service`, shape."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request

from app import service
from app.deps import Reader, State, checked_text
from app.routes import ERROR_RESPONSES
from app.schemas import (
    BatchResult,
    BatchSearchRequest,
    BatchSearchResponse,
    CategoriesResponse,
    CategoryCount,
    EmbedRequest,
    EmbedResponse,
    RankedCandidate,
    RankRequest,
    RankResponse,
    SearchRequest,
    SearchResponse,
)

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, dependencies=[Reader])


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


@router.post("/search", response_model=SearchResponse, summary="Search the FAQ index")
async def search(body: SearchRequest, state: State) -> SearchResponse:
    started = time.perf_counter()
    query = checked_text(state, body.query, "query")
    mode = body.mode or state.settings.search_mode
    categories = service.category_filter(state, body.categories)
    (found,) = await service.search(
        state, [query], body.top_k, mode, body.min_score, explain=body.explain, categories=categories
    )
    return SearchResponse(
        hits=found.hits,
        index_version=found.index_version,
        mode=mode,
        took_ms=_ms(started),
        query_terms=found.query_terms,
        note=categories.note if categories else None,
        search_id=found.search_id,
    )


@router.post("/search/batch", response_model=BatchSearchResponse, summary="Search many queries at once")
async def search_batch(body: BatchSearchRequest, state: State) -> BatchSearchResponse:
    started = time.perf_counter()
    queries = [checked_text(state, q, f"queries[{i}]") for i, q in enumerate(body.queries)]
    mode = body.mode or state.settings.search_mode
    categories = service.category_filter(state, body.categories)
    found = await service.search(state, queries, body.top_k, mode, body.min_score, categories=categories)
    return BatchSearchResponse(
        results=[
            BatchResult(query=q, hits=f.hits, search_id=f.search_id)
            for q, f in zip(queries, found, strict=True)
        ],
        index_version=found[0].index_version,
        mode=mode,
        took_ms=_ms(started),
        note=categories.note if categories else None,
    )


@router.get("/categories", response_model=CategoriesResponse, summary="Categories and their entry counts")
async def categories(state: State) -> CategoriesResponse:
    counts, version = service.categories(state)
    return CategoriesResponse(
        categories=[CategoryCount(name=name, entries=n) for name, n in counts.items()], index_version=version
    )


@router.post("/rank", response_model=RankResponse, summary="Rank given sentences by similarity to a query")
async def rank(body: RankRequest, state: State, request: Request) -> RankResponse:
    started = time.perf_counter()
    spec = service.pooling_spec(state, body.pooling)
    query = checked_text(state, body.query, "query")
    candidates = [checked_text(state, c, f"candidates[{i}]") for i, c in enumerate(body.candidates)]
    scores = await service.rank(state, spec, query, candidates, request.is_disconnected)
    order = sorted(range(len(candidates)), key=lambda i: (-float(scores[i]), i))
    # The normalised text, the one compared: NFD input comes back as NFC, like everywhere else.
    results = [RankedCandidate(index=i, text=candidates[i], score=float(scores[i])) for i in order]
    return RankResponse(results=results, pooling=spec.name, took_ms=_ms(started))


@router.post("/embed", response_model=EmbedResponse, summary="Sentence vectors")
async def embed(body: EmbedRequest, state: State) -> EmbedResponse:
    spec = service.pooling_spec(state, body.pooling)
    sentences = [checked_text(state, s, f"sentences[{i}]") for i, s in enumerate(body.sentences)]
    encoded = await service.embed(state, sentences, spec, body.role)
    return EmbedResponse(
        vectors=encoded.vectors.tolist(),
        dim=encoded.vectors.shape[1],
        truncated=encoded.truncated.tolist(),
        pooling=spec.name,
    )
