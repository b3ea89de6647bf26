"""POST /v1/search, /v1/search/batch, /v1/rank, /v1/embed."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable
from functools import partial
from typing import TypeVar

import numpy as np
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from app.deps import Reader, State, checked_text
from app.errors import ApiError
from app.routes import ERROR_RESPONSES
from app.schemas import (
    BatchResult,
    BatchSearchRequest,
    BatchSearchResponse,
    EmbedRequest,
    EmbedResponse,
    Hit,
    Matched,
    QueryTerm,
    RankedCandidate,
    RankRequest,
    RankResponse,
    SearchRequest,
    SearchResponse,
)
from app.state import ServiceState
from indexing import searcher as search_api
from indexing.rows import matched_text
from models.bm25 import Bm25Stats
from models.errors import FaqsearchError, PoolingError
from models.pooling_spec import PoolingSpec, parse_pooling

T = TypeVar("T")
logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, dependencies=[Reader])


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _min_score(state: ServiceState, asked: float | None) -> float | None:
    """The request's min_score, else the server's (FAQSEARCH_MIN_SCORE); None: no cut."""
    return asked if asked is not None else state.settings.min_score


def _hits(state: ServiceState, found: list[search_api.Hit], min_score: float | None) -> list[Hit]:
    """Join hits with their stored question, answer and the text that matched; an entry deleted
    meanwhile is dropped."""
    # min_score compares the dense cosine in every mode: the one score that is absolute
    kept = [hit for hit in found if min_score is None or (hit.cosine is not None and hit.cosine >= min_score)]
    entries = state.store.get_many(hit.id for hit in kept)  # one query, not one per hit
    hits: list[Hit] = []
    for hit in kept:
        entry = entries.get(hit.id)
        if entry is not None:
            kind, index, text = matched_text(entry, hit.source)
            hits.append(
                Hit(
                    id=entry.id,
                    question=entry.question,
                    answer=entry.answer,
                    alternates=list(entry.alternates),
                    score=hit.score,
                    cosine=hit.cosine,
                    rank=len(hits) + 1,
                    matched=Matched(kind=kind, index=index, text=text),
                    matched_terms=None,
                )
            )
    return hits


def _explain(state: ServiceState, query: str, hits: list[Hit]) -> list[QueryTerm]:
    """The query's morphemes with their BM25 weights, and per hit which of them its question has:
    analysed with the index's domain words, so a synonym of a word in the question counts as matched."""
    searcher = state.require_searcher()
    analyzer = searcher.index.bm25.analyzer
    query_morphemes, *hit_morphemes = analyzer.analyze([query, *(hit.question for hit in hits)])
    weights = searcher.index.bm25.morpheme_weights(query_morphemes)
    for hit, morphemes in zip(hits, hit_morphemes, strict=True):
        present = {m.term for m in morphemes}
        hit.matched_terms = [i for i, m in enumerate(query_morphemes) if m.term in present]
    return [
        QueryTerm(text=query[m.start : m.end], start=m.start, end=m.end, weight=round(float(w), 6))
        for m, w in zip(query_morphemes, weights, strict=True)
    ]


@router.post("/search", response_model=SearchResponse, summary="Search the FAQ index")
async def search(body: SearchRequest, state: State) -> SearchResponse:
    started = time.perf_counter()
    query = checked_text(state, body.query, "query")
    mode = body.mode or state.settings.search_mode
    state.require_searcher()
    (found,), version = await state.batcher.search([query], body.top_k, mode)
    hits = _hits(state, found, _min_score(state, body.min_score))
    terms = await run_in_threadpool(_explain, state, query, hits) if body.explain else None
    return SearchResponse(
        hits=hits, index_version=version, mode=mode, took_ms=_ms(started), query_terms=terms
    )


@router.post("/search/batch", response_model=BatchSearchResponse, summary="Search many queries at once")
async def search_batch(body: BatchSearchRequest, state: State) -> BatchSearchResponse:
    started = time.perf_counter()
    queries = [checked_text(state, q, f"queries[{i}]") for i, q in enumerate(body.queries)]
    mode = body.mode or state.settings.search_mode
    state.require_searcher()
    found, version = await state.batcher.search(queries, body.top_k, mode)
    results = [
        BatchResult(query=q, hits=_hits(state, hits, _min_score(state, body.min_score)))
        for q, hits in zip(queries, found, strict=True)
    ]
    return BatchSearchResponse(results=results, index_version=version, mode=mode, took_ms=_ms(started))


def _pooling(state: ServiceState, name: str | None) -> PoolingSpec:
    try:
        return parse_pooling(name or state.settings.pooling)
    except PoolingError as exc:
        raise ApiError(422, "invalid_request", f"pooling: {exc}") from exc


async def _encoding(work: Awaitable[T]) -> T:
    """The encoder refuses what it cannot do with a FaqsearchError (a pooling deeper than the model,
    say): that is the request's fault, so a 422 with the encoder's message. A plain ValueError is
    a bug: a logged 500."""
    try:
        return await work
    except FaqsearchError as exc:
        raise ApiError(422, "invalid_request", f"pooling: {exc}") from exc


def _rank_bm25(state: ServiceState, candidates: list[str]) -> Bm25Stats:
    """Statistics for rank's BM25 pooling: the served index's, so that a candidate's score does not
    depend on the other candidates sent with it; with no index served, fitted on the candidates."""
    searcher = state.searcher
    if searcher is not None:
        return searcher.index.bm25
    analyzer = state.analyzer()
    weight = state.settings.function_word_weight
    return Bm25Stats.fit(analyzer.terms(candidates), function_weight=weight, analyzer=analyzer)


async def _rank_scores(
    request: Request, state: ServiceState, spec: PoolingSpec, query: str, candidates: list[str]
) -> np.ndarray:
    """Cosine similarity of each candidate to the query -> [N]. BM25 pooling weighs tokens with the
    served index's statistics (`_rank_bm25`); only with no index are they fitted on the candidates.
    The candidates stand where the index's entries stand, so they get the entry prefix and the
    query the query prefix: a candidate's score is what dense search over an index of the
    candidates gives it.

    The candidates go to the encoder thread a chunk of FAQSEARCH_BATCH_SIZE at a time, so searches
    queued meanwhile run between two chunks rather than after the whole list (up to 1,000 long
    sentences: a minute on a small CPU). A sentence's vector does not depend on its batch, so the
    scores equal one call over everything. Between chunks the rank stops if its client has gone.
    Repeated candidates are encoded once: equal texts get equal scores (not scores a rounding
    apart) and keep their input order.
    """
    bm25 = await run_in_threadpool(_rank_bm25, state, candidates) if spec.needs_bm25 else None
    encode = state.encoder.encode
    encoded = await _encoding(state.run_in_encoder(partial(encode, [query], spec, bm25=bm25)))
    query_vector = encoded.vectors[0]  # [H]
    distinct = list(dict.fromkeys(candidates))
    step = state.settings.batch_size
    scores = np.empty(len(distinct), dtype=np.float32)  # [D]
    for start in range(0, len(distinct), step):
        if await request.is_disconnected():
            logger.info(
                "rank stopped after %d of %d candidates: the client disconnected", start, len(distinct)
            )
            raise ApiError(499, "client_closed_request", "the client closed the connection; the rank stopped")
        chunk = distinct[start : start + step]
        encoded = await _encoding(state.run_in_encoder(partial(encode, chunk, spec, bm25=bm25, role="entry")))
        scores[start : start + len(chunk)] = encoded.vectors @ query_vector  # [chunk]
    position = {text: i for i, text in enumerate(distinct)}
    return scores[[position[text] for text in candidates]]  # [N]


@router.post("/rank", response_model=RankResponse, summary="Rank given sentences by similarity to a query")
async def rank(body: RankRequest, state: State, request: Request) -> RankResponse:
    started = time.perf_counter()
    spec = _pooling(state, body.pooling)
    query = checked_text(state, body.query, "query")
    candidates = [checked_text(state, c, f"candidates[{i}]") for i, c in enumerate(body.candidates)]
    scores = await _rank_scores(request, state, spec, query, candidates)
    order = sorted(range(len(candidates)), key=lambda i: (-float(scores[i]), i))
    # The normalised text, the one compared: NFD input comes back as NFC, like everywhere else.
    results = [RankedCandidate(index=i, text=candidates[i], score=float(scores[i])) for i in order]
    return RankResponse(results=results, pooling=spec.name, took_ms=_ms(started))


@router.post("/embed", response_model=EmbedResponse, summary="Sentence vectors")
async def embed(body: EmbedRequest, state: State) -> EmbedResponse:
    spec = _pooling(state, body.pooling)
    sentences = [checked_text(state, s, f"sentences[{i}]") for i, s in enumerate(body.sentences)]
    # BM25 pooling uses the served index's statistics, so the vectors match the index's.
    bm25 = state.require_searcher().index.bm25 if spec.needs_bm25 else None
    encoded = await _encoding(
        state.run_in_encoder(lambda: state.encoder.encode(sentences, spec, bm25=bm25, role=body.role))
    )
    return EmbedResponse(
        vectors=encoded.vectors.tolist(),
        dim=encoded.vectors.shape[1],
        truncated=encoded.truncated.tolist(),
        pooling=spec.name,
    )
