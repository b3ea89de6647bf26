"""Micro-batching: every encoder call of the service's requests shares forward passes.

Searches, `/v1/embed`, `/v1/embeddings` and `/v1/rank` (its query, then its candidates) hand their
sentences to one `EncoderBatcher`. One worker task collects the jobs waiting, takes sentences from
them into one pass and runs it in the encoder thread, off the event loop: one set of forward
passes over every sentence of the pass, each job pooled with its own pooling, BM25 statistics
and prefix. Requests that arrive while a pass runs wait for the next one, so under load passes
fill by themselves.

A pass is bounded by sentences (`max_batch`, and `batch_size`: one forward pass) and by tokens
(`max_tokens`): its sentences times its longest sentence's tokens, what a padded forward pass
computes. So one long request cannot make every short one wait for a 512-token pass of 64
sentences. The first sentence of a pass always goes, whatever its length.

Fairness: jobs take turns, one sentence at a time in order of arrival, until the pass is full, so
a long list (rank's 1,000 candidates) goes batch by batch and a search sent meanwhile joins the
next pass instead of waiting for the whole list. A job whose next sentence does not fit the
token budget gives its turn to the others for that pass. A job with a `gone` check (rank: the
client hung up) is dropped between two passes when the check says so.

The window: after a pass that was shared (traffic is concurrent), the worker also waits up to
`window_s` for stragglers (or until `max_batch` sentences are waiting). After a pass with a lone
job it does not wait: a single client would only be delayed by the window, never helped.

A search's queries are encoded with the pooling and BM25 statistics of the index it was sent
to; once its last query is encoded it is searched in the same encoder-thread call, together
with the other searches finished by that pass in the same mode, over the same index and with
the same category filter: at the
largest `top_k`, each keeping its own prefix, which equals a search at its own `top_k` (the
rankings are exact, and hybrid fusion uses a fixed candidate depth).

Vectors: a sentence's vector does not depend on its batch (padding is masked in attention and in
every pooling, `models.encoder`), so a shared pass gives each sentence its vector as encoding it
alone does, to float32 rounding; a job alone in a pass gets exactly `Encoder.encode`'s.

Without micro-batching every request runs on its own in the same single encoder thread: a
search or an embed in one call, a rank's candidates a `batch_size` chunk at a time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from starlette.concurrency import run_in_threadpool

from app.metrics import ServiceMetrics
from indexing.loaded_index import LoadedIndex
from indexing.searcher import Hit
from models.bm25 import Bm25Stats
from models.encoder import Encoded, Encoder, Tokenized
from models.errors import PoolingError
from models.options import Role
from models.pooling import pool
from models.pooling_spec import PoolingSpec, parse_pooling

# (queries, top_k, mode, index, query vectors [N, H] or None: encode them, category filter or None)
# -> hits per query
Categories = tuple[str, ...] | None
SearchFn = Callable[[Sequence[str], int, str, LoadedIndex, np.ndarray | None, Categories], list[list[Hit]]]
# Texts tokenised on the event loop up to this many; more go to a worker thread first.
TOKENIZE_INLINE = 8


class ClientGone(Exception):
    """A job's `gone` check said its client hung up; `done` sentences had been encoded."""

    def __init__(self, done: int) -> None:
        super().__init__(f"the client went away after {done} sentences")
        self.done = done


def check_pooling(encoder: Encoder, spec: PoolingSpec, bm25: Bm25Stats | None) -> None:
    """What `Encoder.encode_variants` refuses, refused before a job joins a shared pass, so that
    one request's bad pooling never fails the others (a PoolingError: the request's 422)."""
    if spec.needs_bm25 and bm25 is None:
        raise PoolingError(f"pooling {spec.name!r} needs BM25 statistics fitted on the FAQ corpus")
    if -min(spec.layers) > encoder.num_layers + 1:
        raise PoolingError(
            f"pooling {spec.name!r} reaches layer {min(spec.layers)}, but the model has "
            f"{encoder.num_layers} layers"
        )


@dataclass(frozen=True)
class Part:
    """Sentences [start, stop) of one tokenised job, to be pooled with `spec` (and `bm25`)."""

    tokenized: Tokenized
    start: int
    stop: int
    spec: PoolingSpec
    bm25: Bm25Stats | None


def _slice(tokenized: Tokenized, start: int, stop: int) -> Tokenized:
    return Tokenized(
        tokenized.texts[start:stop],
        tokenized.input_ids[start:stop],
        tokenized.offsets[start:stop],
        tokenized.truncated[start:stop],
    )


def encode_together(encoder: Encoder, parts: Sequence[Part]) -> list[np.ndarray]:
    """One set of forward passes (`Encoder.iter_hidden`: length-sorted, `batch_size` sentences
    each) over the sentences of every part -> each part's L2-normalised vectors [n_i, H] float32.
    Each part is pooled with its own pooling; BM25 token weights come from its own statistics.
    For a single part this is exactly `Encoder.encode` of its sentences."""
    pieces = [_slice(p.tokenized, p.start, p.stop) for p in parts]
    merged = Tokenized(
        [t for piece in pieces for t in piece.texts],
        [ids for piece in pieces for ids in piece.input_ids],
        [o for piece in pieces for o in piece.offsets],
        [t for piece in pieces for t in piece.truncated],
    )
    spec_of: list[PoolingSpec] = [p.spec for p, piece in zip(parts, pieces, strict=True) for _ in piece.texts]
    slot: list[tuple[int, int]] = [(n, i) for n, piece in enumerate(pieces) for i in range(len(piece.texts))]
    weights: list[np.ndarray] | None = None
    if any(p.spec.needs_bm25 for p in parts):
        weights = []
        for part, piece in zip(parts, pieces, strict=True):
            if part.spec.needs_bm25 and part.bm25 is not None:
                weights += encoder.bm25_token_weights(piece, part.bm25)
            else:  # not used by this part's pooling
                weights += [np.zeros(len(ids)) for ids in piece.input_ids]
    out = [np.zeros((len(piece.texts), encoder.dim), dtype=np.float32) for piece in pieces]
    all_layers = any(p.spec.needs_all_layers for p in parts)
    pad_to = max((p.spec.pad_to for p in parts), default=0)
    for batch in encoder.iter_hidden(merged, all_layers=all_layers, weights=weights, pad_to=pad_to):
        rows_of: dict[str, list[int]] = {}
        for row, i in enumerate(batch.indices):
            rows_of.setdefault(spec_of[i].name, []).append(row)
        for rows in rows_of.values():
            spec = spec_of[batch.indices[rows[0]]]
            if len(rows) == len(batch.indices):  # the whole batch: as Encoder.encode pools it
                hidden, mask, batch_weights = batch.hidden_states, batch.mask, batch.weights
            else:
                index = torch.tensor(rows, device=batch.mask.device)
                hidden = tuple(h.index_select(0, index) for h in batch.hidden_states)
                mask = batch.mask.index_select(0, index)
                batch_weights = None if batch.weights is None else batch.weights.index_select(0, index)
            pooled = torch.nn.functional.normalize(pool(spec, hidden, mask, batch_weights), p=2, dim=-1)
            values = pooled.cpu().numpy()
            for value, row in zip(values, rows, strict=True):
                n, i = slot[batch.indices[row]]
                out[n][i] = value
    return out


@dataclass(eq=False)
class _Job:
    tokenized: Tokenized
    spec: PoolingSpec
    bm25: Bm25Stats | None
    future: asyncio.Future
    gone: Callable[[], Awaitable[bool]] | None = None
    # A search: (top_k, mode, index searched, category filter); None: vectors are the result.
    search: tuple[int, str, LoadedIndex, Categories] | None = None
    enqueued: float = field(default_factory=time.perf_counter)
    taken: int = 0  # sentences handed to passes so far
    vectors: np.ndarray | None = None

    @property
    def size(self) -> int:
        return len(self.tokenized.input_ids)

    def length(self, i: int) -> int:
        return len(self.tokenized.input_ids[i])

    def result(self) -> Encoded:
        assert self.vectors is not None
        return Encoded(self.vectors, np.array(self.tokenized.truncated, dtype=bool))


class EncoderBatcher:
    """Every encoder call of the service (searches, embed, rank) shares forward passes.

    No lock: its queue and flags live on the event loop, and its one worker task is the only
    consumer. The encoder thread (`executor`, one worker) runs one pass at a time, and the
    searcher it calls keeps itself consistent (`indexing.searcher.Searcher`).
    """

    def __init__(
        self,
        encoder: Encoder,
        search: SearchFn,
        executor: Executor,
        metrics: ServiceMetrics,
        *,
        enabled: bool,
        window_s: float,
        max_batch: int,
        max_tokens: int,
        batch_size: int | None = None,
    ) -> None:
        self._encoder = encoder
        self._search = search
        self._executor = executor
        self._metrics = metrics
        self.enabled = enabled
        self.window_s = window_s
        self.max_batch = max_batch
        self.max_tokens = max_tokens
        # Sentences per forward pass (FAQSEARCH_BATCH_SIZE): a pass holds no more than that either,
        # and without micro-batching a rank's candidates go a chunk of that many at a time.
        self.batch_size = batch_size or encoder.batch_size
        self._queue: asyncio.Queue[_Job] | None = None
        self._worker: asyncio.Task | None = None
        self._last_pass_shared = False
        # (sentences, tokens: sentences x longest) of each pass the batcher ran so far (tests and
        # benchmarks read it; the metrics have the sentences too); not an unbatched search's.
        self.passes: list[tuple[int, int]] = []

    async def start(self) -> None:
        if self.enabled:
            self._queue = asyncio.Queue()
            self._worker = asyncio.create_task(self._run_forever(), name="encoder-batcher")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None

    @property
    def pass_size(self) -> int:
        """Most sentences in one pass: `max_batch`, and no more than one forward pass holds."""
        return min(self.max_batch, self.batch_size)

    # -- what requests call ----------------------------------------------------------------------

    async def tokenize(self, texts: Sequence[str], role: Role) -> Tokenized:
        """The encoder's tokens of `texts` (with the role's prefix): on the event loop for a few
        texts, in a worker thread for more."""
        if len(texts) <= TOKENIZE_INLINE:
            return self._encoder.tokenize(texts, role=role)
        return await run_in_threadpool(self._encoder.tokenize, texts, role=role)

    async def encode(
        self,
        texts: Sequence[str] | Tokenized,
        spec: PoolingSpec,
        bm25: Bm25Stats | None,
        role: Role = "query",
        *,
        gone: Callable[[], Awaitable[bool]] | None = None,
    ) -> Encoded:
        """Vectors of `texts` (or of already tokenised ones, then `role` is theirs). Raises
        PoolingError for a pooling the encoder cannot do, ClientGone when `gone()` said so."""
        check_pooling(self._encoder, spec, bm25)
        tokenized = texts if isinstance(texts, Tokenized) else await self.tokenize(texts, role)
        if not tokenized.input_ids:
            return Encoded(np.zeros((0, self._encoder.dim), dtype=np.float32), np.zeros(0, dtype=bool))
        job = _Job(tokenized, spec, bm25, asyncio.get_running_loop().create_future(), gone=gone)
        return await self._submit(job)

    async def search(
        self, queries: list[str], top_k: int, mode: str, index: LoadedIndex, categories: Categories = None
    ) -> tuple[list[list[Hit]], str]:
        """Hits of each query in `index` (the served one when the request came), and its version;
        `categories`: only entries in one of them."""
        loop = asyncio.get_running_loop()
        if not self.enabled or self._queue is None:
            self._metrics.batch_size.observe(len(queries))
            self._metrics.queue_wait.observe(0.0)
            hits = await loop.run_in_executor(
                self._executor, self._search, queries, top_k, mode, index, None, categories
            )
            return hits, index.version
        spec = parse_pooling(index.pooling)
        tokenized = await self.tokenize(queries, "query")
        bm25 = index.bm25 if spec.needs_bm25 else None
        job = _Job(tokenized, spec, bm25, loop.create_future(), search=(top_k, mode, index, categories))
        return await self._submit(job)

    async def _submit(self, job: _Job) -> Any:
        if self.enabled and self._queue is not None:
            await self._queue.put(job)
            return await job.future
        # Unbatched: the job alone, in one call; with a `gone` check a batch_size chunk at a time.
        step = self.batch_size if job.gone is not None else job.size
        self._metrics.queue_wait.observe(0.0)
        while job.taken < job.size:
            if job.gone is not None and await job.gone():
                raise ClientGone(job.taken)
            stop = min(job.taken + step, job.size)
            slices = [(job, job.taken, stop)]
            job.taken = stop
            self._note_pass(slices)
            outcomes = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._run_pass, slices
            )
            if job in outcomes:
                outcome = outcomes[job]
                if isinstance(outcome, BaseException):
                    raise outcome
                return outcome
        raise AssertionError("a job ended without an outcome")

    # -- the worker --------------------------------------------------------------------------------

    async def _run_forever(self) -> None:
        assert self._queue is not None
        waiting: list[_Job] = []
        while True:
            if not waiting:
                waiting.append(await self._queue.get())
            self._drain(waiting)
            deadline = time.perf_counter() + (self.window_s if self._last_pass_shared else 0.0)
            while sum(job.size - job.taken for job in waiting) < self.pass_size:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                try:
                    waiting.append(await asyncio.wait_for(self._queue.get(), remaining))
                except TimeoutError:
                    break
                self._drain(waiting)
            waiting = await self._live(waiting)
            if not waiting:
                continue
            slices = self._plan(waiting)
            self._last_pass_shared = len(slices) > 1
            await self._run_batch(slices)
            waiting = [job for job in waiting if job.taken < job.size and not job.future.done()]

    def _drain(self, waiting: list[_Job]) -> None:
        assert self._queue is not None
        while True:
            try:
                waiting.append(self._queue.get_nowait())
            except asyncio.QueueEmpty:
                return

    async def _live(self, waiting: list[_Job]) -> list[_Job]:
        """The jobs still wanted: not given up by their request, and no `gone` check that says so."""
        live = []
        for job in waiting:
            if job.future.done():  # the request went away meanwhile
                continue
            if job.gone is not None and await job.gone():
                job.future.set_exception(ClientGone(job.taken))
                continue
            live.append(job)
        return live

    def _plan(self, waiting: list[_Job]) -> list[tuple[_Job, int, int]]:
        """The next pass: jobs take turns, a sentence each in order of arrival, until `max_batch`
        sentences or `max_tokens` (sentences x longest) are reached -> (job, start, stop) each."""
        pad_to = waiting[0].spec.pad_to  # padded poolings need a padded pass: not mixed with others
        limit = self.pass_size
        count = longest = 0
        more = {job: 0 for job in waiting if job.spec.pad_to == pad_to}
        open_jobs = list(more)
        while open_jobs and count < limit:
            still = []
            for job in open_jobs:
                if count >= limit:
                    break
                i = job.taken + more[job]
                n = job.length(i)
                if count and (count + 1) * max(longest, n) > self.max_tokens:
                    continue  # its turn passes for this pass; the next sentences keep their order
                more[job] += 1
                count += 1
                longest = max(longest, n)
                if job.taken + more[job] < job.size:
                    still.append(job)
            open_jobs = still
        slices = []
        for job, k in more.items():
            if k:
                slices.append((job, job.taken, job.taken + k))
                job.taken += k
        return slices

    async def _run_batch(self, slices: list[tuple[_Job, int, int]]) -> None:
        started = time.perf_counter()
        for job, start, _ in slices:
            if start == 0:
                self._metrics.queue_wait.observe(started - job.enqueued)
        self._note_pass(slices)
        try:
            outcomes = await asyncio.get_running_loop().run_in_executor(
                self._executor, self._run_pass, slices
            )
        except Exception as exc:  # the forward pass failed: handed to each of its requests
            for job, _, _ in slices:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        for job, outcome in outcomes.items():
            if job.future.done():
                continue
            if isinstance(outcome, BaseException):
                job.future.set_exception(outcome)
            else:
                job.future.set_result(outcome)

    def _note_pass(self, slices: list[tuple[_Job, int, int]]) -> None:
        size = sum(stop - start for _, start, stop in slices)
        longest = max(job.length(i) for job, start, stop in slices for i in range(start, stop))
        self._metrics.batch_size.observe(size)
        self.passes.append((size, size * longest))

    # -- in the encoder thread ---------------------------------------------------------------------

    def _run_pass(self, slices: list[tuple[_Job, int, int]]) -> dict[_Job, Any]:
        """Encode the slices in one set of forward passes, then finish the jobs whose last sentence
        this was -> {job: its result or the exception it gets}."""
        parts = [Part(job.tokenized, start, stop, job.spec, job.bm25) for job, start, stop in slices]
        for (job, start, stop), vectors in zip(slices, encode_together(self._encoder, parts), strict=True):
            if job.vectors is None:
                job.vectors = np.zeros((job.size, self._encoder.dim), dtype=np.float32)
            job.vectors[start:stop] = vectors
        finished = [job for job, _, stop in slices if stop == job.size]
        outcomes: dict[_Job, Any] = {job: job.result() for job in finished if job.search is None}
        searches: dict[tuple[str, int, Categories], list[_Job]] = {}
        for job in finished:
            if job.search is not None:
                _, mode, index, categories = job.search
                searches.setdefault((mode, id(index), categories), []).append(job)
        for jobs in searches.values():
            asked = [job.search for job in jobs if job.search is not None]
            _, mode, index, categories = asked[0]
            top_k = max(k for k, _, _, _ in asked)
            queries = [q for job in jobs for q in job.tokenized.texts]
            vectors = np.concatenate([job.vectors for job in jobs if job.vectors is not None])
            try:
                results = self._search(queries, top_k, mode, index, vectors, categories)
            except Exception as exc:  # handed to each search of this call, which maps it to a response
                for job in jobs:
                    outcomes[job] = exc
                continue
            offset = 0
            for job, (own_k, _, _, _) in zip(jobs, asked, strict=True):
                mine = [hits[:own_k] for hits in results[offset : offset + job.size]]
                offset += job.size
                outcomes[job] = (mine, index.version)
        return outcomes
