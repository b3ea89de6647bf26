"""What the API does, one async function per operation, over the running `ServiceState`.

Routes validate, call one of these and shape the response; each function here decides where its
work runs, so nothing slow or blocking runs on the event loop:
- forward passes (search, rank, embed, a write's new vectors): the one encoder thread; those of
  searches, rank and embed through the micro-batcher (`app.batching`), which lets concurrent
  requests share them;
- SQLite, Kiwi and other blocking work: the worker thread pool (`run_in_threadpool`). Store reads
  never wait for writes (WAL readers, `indexing.store`); a store write waits in a worker thread,
  never in the encoder thread, so searches go on while another process imports.
"""

from __future__ import annotations

import copy
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal, TypeVar

import numpy as np
from starlette.concurrency import run_in_threadpool

from app.batching import ClientGone
from app.errors import ApiError
from app.jobs import JobAlreadyRunningError, JobRecord
from app.schemas import MAX_EMBED_SENTENCES, MAX_FILTER_CATEGORIES, Hit, Matched, QueryTerm
from app.state import ServiceState
from indexing import searcher as search_api
from indexing.loaded_index import DOMAIN_WORDS_KEY
from indexing.query_log import LoggedSearch, utc_now
from indexing.rows import matched_text
from indexing.store import FaqEntry, InvalidFaqEntryError, UpsertResult, normalize_id
from models.bm25 import Bm25Stats
from models.encoder import Encoded, Role, Tokenized
from models.errors import FaqsearchError, PoolingError
from models.pooling_spec import PoolingSpec, parse_pooling
from models.text import normalize_text

T = TypeVar("T")
logger = logging.getLogger(__name__)

WriteOutcome = Literal["inserted", "updated", "unchanged"]


@dataclass(frozen=True)
class Searched:
    """One query's results: its hits and, when asked for, its terms with their BM25 weights."""

    hits: list[Hit]
    index_version: str
    query_terms: list[QueryTerm] | None = None
    search_id: str = ""  # the query log's name for this search (feedback refers to it)


# -- search ------------------------------------------------------------------------------------


def _min_score(state: ServiceState, asked: float | None) -> float | None:
    """The request's min_score, else the server's (FAQSEARCH_MIN_SCORE); None: no cut."""
    return asked if asked is not None else state.settings.min_score


def _joined(
    state: ServiceState, found: Sequence[Sequence[search_api.Hit]], min_score: float | None
) -> list[list[Hit]]:
    """Join each query's hits with their stored question, answer and the text that matched, in one
    store read for all queries; an entry deleted meanwhile is dropped. A worker thread runs this."""
    # min_score compares the dense cosine in every mode: the one score that is absolute
    kept = [
        [hit for hit in hits if min_score is None or (hit.cosine is not None and hit.cosine >= min_score)]
        for hits in found
    ]
    entries = state.store.get_many(hit.id for hits in kept for hit in hits)
    results = []
    for hits in kept:
        joined: list[Hit] = []
        for hit in hits:
            entry = entries.get(hit.id)
            if entry is None:
                continue
            kind, index, text = matched_text(entry, hit.source)
            joined.append(
                Hit(
                    id=entry.id,
                    question=entry.question,
                    answer=entry.answer,
                    alternates=list(entry.alternates),
                    category=entry.category,
                    score=hit.score,
                    cosine=hit.cosine,
                    rank=len(joined) + 1,
                    matched=Matched(kind=kind, index=index, text=text),
                    matched_terms=None,
                )
            )
        results.append(joined)
    return results


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


@dataclass(frozen=True)
class CategoryFilter:
    """A request's category filter, normalised: the names to search in, and a note naming those
    the served index has no entry in (they match nothing; not an error: a category may be empty
    for a while, and a page's tab should not break)."""

    names: tuple[str, ...]
    note: str | None


def category_filter(state: ServiceState, names: list[str] | None) -> CategoryFilter | None:
    """The request's `categories` checked -> the filter (None: no filter); too many or an empty list
    is the request's 422."""
    if names is None:
        return None
    if not names:
        raise ApiError(
            422,
            "invalid_request",
            "categories is an empty list; name at least one category (GET /v1/categories lists them), "
            "or leave categories out to search every entry",
        )
    if len(names) > MAX_FILTER_CATEGORIES:
        raise ApiError(
            422,
            "too_many_categories",
            f"categories names {len(names)} categories, more than {MAX_FILTER_CATEGORIES}; filter by at most "
            f"{MAX_FILTER_CATEGORIES} (GET /v1/categories lists them), or leave categories out to search "
            "every entry",
        )
    normalised = tuple(search_api.normalize_categories(names))
    index = state.require_searcher().index
    unknown = [name for name in normalised if not index.has_category(name)]
    note = None
    if unknown:
        listed = ", ".join(repr(name) for name in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        note = f"no entry has the category {listed}; GET /v1/categories lists the categories there are"
    return CategoryFilter(normalised, note)


def categories(state: ServiceState) -> tuple[dict[str, int], str]:
    """Each category of the served index with its number of entries, and the index version."""
    index = state.require_searcher().index
    return index.categories(), index.version


async def search(
    state: ServiceState,
    queries: list[str],
    top_k: int,
    mode: str,
    min_score: float | None,
    *,
    explain: bool = False,
    categories: CategoryFilter | None = None,
) -> list[Searched]:
    """Hits of each (normalised) query, best first; `explain` adds each query's terms;
    `categories`: only entries in one of them."""
    started = time.perf_counter()
    searcher = state.require_searcher()
    names = categories.names if categories is not None else None
    found, version = await state.batcher.search(queries, top_k, mode, searcher.index, names)
    joined = await run_in_threadpool(_joined, state, found, _min_score(state, min_score))
    took_ms = round((time.perf_counter() - started) * 1000, 3)
    results = []
    for query, hits in zip(queries, joined, strict=True):
        terms = await run_in_threadpool(_explain, state, query, hits) if explain else None
        search_id = uuid.uuid4().hex
        _log_search(state, search_id, query, mode, names, top_k, hits, took_ms, version)
        results.append(Searched(hits=hits, index_version=version, query_terms=terms, search_id=search_id))
    return results


def _log_search(
    state: ServiceState,
    search_id: str,
    query: str,
    mode: str,
    categories: tuple[str, ...] | None,
    top_k: int,
    hits: list[Hit],
    took_ms: float,
    version: str,
) -> None:
    """Queue the search for the query log (never blocks or fails: indexing/query_log.py)."""
    cosines = [h.cosine for h in hits if h.cosine is not None]
    state.query_log.append(
        LoggedSearch(
            search_id=search_id,
            at=utc_now(),
            query=query,
            mode=mode,
            categories=categories,
            top_k=top_k,
            hit_ids=tuple(h.id for h in hits),
            hit_scores=tuple(round(h.score, 6) for h in hits),
            top_score=round(max(cosines), 6) if cosines else None,
            took_ms=took_ms,
            index_version=version,
        )
    )


# -- rank and embed ----------------------------------------------------------------------------


def pooling_spec(state: ServiceState, name: str | None) -> PoolingSpec:
    """The request's pooling (else FAQSEARCH_POOLING); a bad name is the request's 422."""
    try:
        return parse_pooling(name or state.settings.pooling)
    except PoolingError as exc:
        raise ApiError(422, "invalid_request", f"pooling: {exc}") from exc


async def _encode(
    state: ServiceState,
    texts: Sequence[str] | Tokenized,
    spec: PoolingSpec,
    bm25: Bm25Stats | None,
    role: Role,
    gone: Callable[[], Awaitable[bool]] | None = None,
) -> Encoded:
    """Vectors from the micro-batcher: forward passes in the encoder thread, shared with the other
    requests waiting. The encoder refuses what it cannot do with a FaqsearchError (a pooling
    deeper than the model, say): that is the request's fault, so a 422."""
    try:
        return await state.batcher.encode(texts, spec, bm25, role, gone=gone)
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


async def rank(
    state: ServiceState,
    spec: PoolingSpec,
    query: str,
    candidates: list[str],
    client_gone: Callable[[], Awaitable[bool]],
) -> np.ndarray:
    """Cosine similarity of each candidate to the query -> [N]. BM25 pooling weighs tokens with the
    served index's statistics (`_rank_bm25`); only with no index are they fitted on the candidates.
    The candidates stand where the index's entries stand, so they get the entry prefix and the
    query the query prefix: a candidate's score is what dense search over an index of the
    candidates gives it.

    The candidates go to the micro-batcher as one job, which takes turns with the other requests
    waiting, a pass at a time (FAQSEARCH_MAX_BATCH sentences, or fewer by FAQSEARCH_MAX_BATCH_TOKENS;
    without micro-batching a chunk of FAQSEARCH_BATCH_SIZE at a time), so searches queued meanwhile
    run between two passes rather than after the whole list (up to 1,000 long sentences: a minute
    on a small CPU). A sentence's vector does not depend on its batch, so the scores equal one
    call over everything. Between passes the rank stops if `client_gone()`.
    Repeated candidates are encoded once: equal texts get equal scores (not scores a rounding
    apart) and keep their input order.
    """
    bm25 = await run_in_threadpool(_rank_bm25, state, candidates) if spec.needs_bm25 else None
    query_vector = (await _encode(state, [query], spec, bm25, "query")).vectors[0]  # [H]
    distinct = list(dict.fromkeys(candidates))
    try:
        encoded = await _encode(state, distinct, spec, bm25, "entry", gone=client_gone)
    except ClientGone as gone:
        logger.info(
            "rank stopped after %d of %d candidates: the client disconnected", gone.done, len(distinct)
        )
        raise ApiError(
            499, "client_closed_request", "the client closed the connection; the rank stopped"
        ) from None
    scores = encoded.vectors @ query_vector  # [D]
    position = {text: i for i, text in enumerate(distinct)}
    return scores[[position[text] for text in candidates]]  # [N]


async def embed(state: ServiceState, sentences: list[str], spec: PoolingSpec, role: Role) -> Encoded:
    """Sentence vectors; BM25 pooling uses the served index's statistics, so they match its vectors."""
    bm25 = state.require_searcher().index.bm25 if spec.needs_bm25 else None
    return await _encode(state, sentences, spec, bm25, role)


# -- OpenAI-compatible embeddings --------------------------------------------------------------


def served_model_names(state: ServiceState) -> list[str]:
    """The names GET /v1/models lists: the model's (a local folder by its name, never the
    server's path; a hub id as it is), then FAQSEARCH_MODEL_ALIAS if set."""
    name = state.settings.model
    if os.path.isabs(name) or name.startswith(("./", "../", "~")):
        name = PurePath(name.rstrip("/")).name
    alias = state.settings.model_alias
    return [name] + ([alias] if alias and alias != name else [])


def check_model(state: ServiceState, asked: str) -> str:
    """The model name a /v1/embeddings request names -> the name to answer with; another model is
    OpenAI's 404 model_not_found. FAQSEARCH_MODEL as configured is accepted too."""
    names = served_model_names(state)
    if asked in names:
        return asked
    if asked == state.settings.model:
        return names[0]
    listed = ", ".join(f"`{n}`" for n in names)
    raise ApiError(
        404,
        "model_not_found",
        f"The model `{asked}` does not exist on this server; send model {listed} (GET /v1/models lists them)",
    )


def check_embeddings_options(state: ServiceState, encoding_format: str, dimensions: int | None) -> str:
    """encoding_format and dimensions of a /v1/embeddings request, checked -> the encoding."""
    if encoding_format not in ("float", "base64"):
        raise ApiError(
            400,
            "invalid_encoding_format",
            f"encoding_format {encoding_format!r} is not supported; send 'float' or 'base64'",
        )
    dim = state.encoder.dim
    if dimensions is not None and dimensions > dim:
        raise ApiError(
            400,
            "invalid_dimensions",
            f"dimensions {dimensions} is more than this model's {dim}; leave it out, or send {dim}",
        )
    if dimensions is not None and dimensions != dim:
        raise ApiError(
            400,
            "invalid_dimensions",
            f"this model does not support shortened embeddings (dimensions {dimensions}); leave dimensions "
            f"out, or send {dim}",
        )
    return encoding_format


async def openai_embeddings(
    state: ServiceState, inputs: list[str], *, single: bool
) -> tuple[np.ndarray, int]:
    """Vectors of the inputs, as /v1/embed gives them with the server's pooling and the query
    prefix -> (vectors [N, H], tokens the model read). Refused, in OpenAI's manner: no input, an
    empty text, and a text over the model's token limit (not truncated, as OpenAI does not)."""
    spec = pooling_spec(state, None)
    if not inputs:
        raise ApiError(400, "empty_input", "input is an empty list; send a string or a list of strings")
    if len(inputs) > MAX_EMBED_SENTENCES:
        raise ApiError(
            400,
            "too_many_inputs",
            f"input has {len(inputs)} texts, more than {MAX_EMBED_SENTENCES}; send fewer",
        )
    texts = []
    limit = state.settings.max_query_chars
    for i, text in enumerate(inputs):
        where = "input" if single else f"input[{i}]"
        normalised = normalize_text(text)
        if not normalised:
            raise ApiError(
                400, "empty_input", f"{where} is empty (or only spaces/control characters); send some text"
            )
        if len(normalised) > limit:
            raise ApiError(
                400,
                "context_length_exceeded",
                f"{where} has {len(normalised)} characters, more than the limit of {limit}; shorten it "
                "(the server's limit is FAQSEARCH_MAX_QUERY_CHARS)",
            )
        texts.append(normalised)
    encoder = state.encoder
    tokenized = await state.batcher.tokenize(texts, "query")
    for i, cut in enumerate(tokenized.truncated):
        if cut:
            where = "input" if single else f"input[{i}]"
            count = len(encoder.tokenizer(encoder.prefix_of("query") + texts[i], verbose=False)["input_ids"])
            raise ApiError(
                400,
                "context_length_exceeded",
                f"{where} has {count} tokens, more than this model's maximum of {encoder.max_length}; "
                "shorten it (this route does not truncate)",
            )
    bm25 = state.require_searcher().index.bm25 if spec.needs_bm25 else None
    encoded = await _encode(state, tokenized, spec, bm25, "query")
    return encoded.vectors, sum(len(ids) for ids in tokenized.input_ids)


# -- FAQ reads and writes ----------------------------------------------------------------------


async def list_faqs(state: ServiceState) -> list[FaqEntry]:
    return await run_in_threadpool(state.store.all)


async def get_faq(state: ServiceState, faq_id: str) -> FaqEntry:
    entry = await run_in_threadpool(state.store.get, faq_id)
    if entry is None:
        raise ApiError(404, "not_found", f"no FAQ with id {faq_id!r}; list ids with GET /v1/faqs")
    return entry


async def upsert_faqs(state: ServiceState, entries: list[FaqEntry]) -> UpsertResult:
    """Store the entries (all or nothing), then index them, so they are searchable when this returns.
    The store write waits for other writers in a worker thread (a `StoreBusyError`, 503, once it
    has waited FAQSEARCH_WRITE_WAIT_S); only the encoding of the new rows takes the encoder thread."""
    try:
        result = await run_in_threadpool(state.store.upsert_many, entries)
    except InvalidFaqEntryError as exc:
        raise ApiError(
            422, "invalid_faq", f"{exc}; fix these entries and send them again (nothing was written)"
        ) from exc
    await state.run_in_encoder(state.sync_index, [entry.id for entry in entries])
    return result


async def put_faq(state: ServiceState, entry: FaqEntry) -> tuple[FaqEntry, WriteOutcome]:
    """Create or replace one entry -> (the entry as stored, what the write did)."""
    result = await upsert_faqs(state, [entry])
    stored = await run_in_threadpool(state.store.get, entry.id)
    if stored is None:  # deleted by a concurrent request between the write and this read
        raise ApiError(409, "conflict", f"FAQ {entry.id!r} was deleted while it was written; send it again")
    return stored, "inserted" if result.inserted else "updated" if result.updated else "unchanged"


async def delete_faq(state: ServiceState, faq_id: str) -> str:
    """Delete one entry from the store and the index -> its id as stored ("  lead" deletes "lead")."""
    removed = await run_in_threadpool(state.store.delete_many, [faq_id])
    await state.run_in_encoder(state.sync_index, [faq_id])
    if not removed:
        raise ApiError(404, "not_found", f"no FAQ with id {faq_id!r}; nothing was deleted")
    return normalize_id(faq_id)


# -- rebuilds ----------------------------------------------------------------------------------


def public_manifest(built: dict) -> dict:
    """An index manifest as any reader may see it (GET /v1/index): file and folder names, never the
    server's absolute paths (the model folder, the domain-word files' sources)."""
    manifest = copy.deepcopy(built)
    model = manifest.get("model") or {}
    name = model.get("name")
    # A folder (absolute, or relative to the server's directory) shows as its name; a hub id as it is.
    if isinstance(name, str) and (os.path.isabs(name) or name.startswith(("./", "../"))):
        model["name"] = PurePath(model["name"]).name
    for record in dict(manifest.get(DOMAIN_WORDS_KEY) or {}).values():
        if isinstance(record.get("source"), str):
            record["source"] = PurePath(record["source"]).name
    return manifest


async def start_rebuild(state: ServiceState) -> JobRecord:
    """Start a rebuild job; refused at once (not as a failed job) when it could only fail."""
    if await run_in_threadpool(state.store.count) == 0:
        raise ApiError(
            409, "empty_store", "the FAQ store is empty; add FAQs (POST /v1/faqs) before rebuilding"
        )
    try:  # read and checked now, so a bad line is the caller's 422, not a failed job
        await run_in_threadpool(state.settings.domain_words)
    except FaqsearchError as exc:
        raise ApiError(
            422, "invalid_domain_words", f"{exc}; fix the file, then rebuild again (nothing was built)"
        ) from exc
    try:
        return state.jobs.start()
    except JobAlreadyRunningError as exc:
        raise ApiError(
            409,
            "rebuild_running",
            f"rebuild {exc.job_id} is still running; follow it at /v1/index/jobs/{exc.job_id}",
        ) from exc
