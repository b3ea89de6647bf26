"""Micro-batching: concurrent searches share one encoder forward pass.

One worker task takes the first waiting request, takes every other request already waiting,
and runs them together in the encoder thread, off the event loop. Requests that arrive while a
forward pass runs wait for the next one, so under load batches fill by themselves.

The window: after a pass that was shared (traffic is concurrent), the worker also waits up to
`window_s` for stragglers (or until `max_batch` queries are waiting). After a pass with a lone
request it does not wait: a single client would only be delayed by the window, never helped.

Requests with different modes are searched in separate calls; requests with different `top_k`
share a call at the largest `top_k` and each keeps its own prefix, which equals a search at its
own `top_k` (the rankings are exact, and hybrid fusion uses a fixed candidate depth).
Without micro-batching every request gets its own forward pass in the same single encoder thread.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field

from app.metrics import ServiceMetrics
from indexing.searcher import Hit

# (queries, top_k, mode) -> (hits per query, index version that answered)
SearchFn = Callable[[Sequence[str], int, str], tuple[list[list[Hit]], str]]


@dataclass
class _Pending:
    queries: list[str]
    top_k: int
    mode: str
    future: asyncio.Future
    enqueued: float = field(default_factory=time.perf_counter)


class SearchBatcher:
    """Queues searches and runs them in batches in the encoder thread.

    No lock: its queue and flags live on the event loop, and its one worker task is the only
    consumer. The encoder thread (`executor`, one worker) runs one batch at a time, and the
    searcher it calls keeps itself consistent (`indexing.searcher.Searcher`).
    """

    def __init__(
        self,
        search: SearchFn,
        executor: Executor,
        metrics: ServiceMetrics,
        *,
        enabled: bool,
        window_s: float,
        max_batch: int,
    ) -> None:
        self._search = search
        self._executor = executor
        self._metrics = metrics
        self.enabled = enabled
        self.window_s = window_s
        self.max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] | None = None
        self._worker: asyncio.Task | None = None
        self._last_pass_shared = False

    async def start(self) -> None:
        if self.enabled:
            self._queue = asyncio.Queue()
            self._worker = asyncio.create_task(self._run_forever(), name="search-batcher")

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None

    async def search(self, queries: list[str], top_k: int, mode: str) -> tuple[list[list[Hit]], str]:
        loop = asyncio.get_running_loop()
        if not self.enabled or self._queue is None:
            self._metrics.batch_size.observe(len(queries))
            self._metrics.queue_wait.observe(0.0)
            return await loop.run_in_executor(self._executor, self._search, queries, top_k, mode)
        pending = _Pending(queries, top_k, mode, loop.create_future())
        await self._queue.put(pending)
        return await pending.future

    async def _run_forever(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            size = len(batch[0].queries)
            deadline = time.perf_counter() + (self.window_s if self._last_pass_shared else 0.0)
            while size < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    remaining = deadline - time.perf_counter()
                    if remaining <= 0:
                        break
                    try:
                        item = await asyncio.wait_for(self._queue.get(), remaining)
                    except TimeoutError:
                        break
                batch.append(item)
                size += len(item.queries)
            self._last_pass_shared = len(batch) > 1
            await self._run_batch(batch)

    async def _run_batch(self, batch: list[_Pending]) -> None:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        by_mode: dict[str, list[_Pending]] = {}
        for item in batch:
            if not item.future.done():  # the client may have gone away meanwhile
                by_mode.setdefault(item.mode, []).append(item)
        for mode, items in by_mode.items():
            queries = [q for item in items for q in item.queries]
            top_k = max(item.top_k for item in items)
            for item in items:
                self._metrics.queue_wait.observe(started - item.enqueued)
            self._metrics.batch_size.observe(len(queries))
            try:
                results, version = await loop.run_in_executor(
                    self._executor, self._search, queries, top_k, mode
                )
            except Exception as exc:  # handed to each waiting request, which maps it to a response
                for item in items:
                    if not item.future.done():
                        item.future.set_exception(exc)
                continue
            offset = 0
            for item in items:
                mine = [hits[: item.top_k] for hits in results[offset : offset + len(item.queries)]]
                offset += len(item.queries)
                if not item.future.done():
                    item.future.set_result((mine, version))
