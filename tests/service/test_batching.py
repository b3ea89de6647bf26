"""SearchBatcher mechanics with a recording search function (the test is about batching, not the
model): who shares a forward pass, what each request gets back, and errors."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from app.batching import SearchBatcher
from app.metrics import ServiceMetrics
from indexing.searcher import Hit


class RecordingSearch:
    """hits for query q: ids q#0, q#1, ... with scores 100, 99, ... (top_k of them)."""

    def __init__(self, delay: float = 0.0, fail_on: str | None = None) -> None:
        self.calls: list[tuple[list[str], int, str]] = []
        self.delay = delay
        self.fail_on = fail_on
        self.lock = threading.Lock()

    def __call__(self, queries, top_k, mode):
        with self.lock:
            self.calls.append((list(queries), top_k, mode))
        time.sleep(self.delay)
        if self.fail_on in queries:
            raise ValueError(f"cannot search {self.fail_on!r}")
        return [[Hit(f"{q}#{i}", 100.0 - i) for i in range(top_k)] for q in queries], "v000007"


def _batcher(search, *, enabled=True, window_ms=50.0, max_batch=64):
    return SearchBatcher(
        search,
        ThreadPoolExecutor(1),
        ServiceMetrics(),
        enabled=enabled,
        window_s=window_ms / 1000,
        max_batch=max_batch,
    )


async def _gather(batcher, requests):
    await batcher.start()
    try:
        return await asyncio.gather(
            *(batcher.search(q, k, m) for q, k, m in requests), return_exceptions=True
        )
    finally:
        await batcher.stop()


def test_concurrent_requests_share_one_call_per_mode_and_keep_their_own_top_k():
    search = RecordingSearch()
    requests = [(["a"], 2, "dense"), (["b", "c"], 5, "dense"), (["d"], 3, "bm25"), (["e"], 1, "dense")]
    results = asyncio.run(_gather(_batcher(search), requests))
    assert sorted(search.calls) == sorted([(["a", "b", "c", "e"], 5, "dense"), (["d"], 3, "bm25")])
    assert results[0] == ([[Hit("a#0", 100.0), Hit("a#1", 99.0)]], "v000007")
    assert results[1] == (
        [[Hit(f"b#{i}", 100.0 - i) for i in range(5)], [Hit(f"c#{i}", 100.0 - i) for i in range(5)]],
        "v000007",
    )
    assert results[2] == ([[Hit(f"d#{i}", 100.0 - i) for i in range(3)]], "v000007")
    assert results[3] == ([[Hit("e#0", 100.0)]], "v000007")


def test_max_batch_splits_a_burst():
    search = RecordingSearch()
    requests = [([f"q{i}"], 1, "dense") for i in range(10)]
    asyncio.run(_gather(_batcher(search, max_batch=4), requests))
    assert [len(queries) for queries, _, _ in search.calls] == [4, 4, 2]
    assert [q for queries, _, _ in search.calls for q in queries] == [f"q{i}" for i in range(10)]


def test_requests_arriving_during_a_forward_pass_share_the_next_one():
    search = RecordingSearch(delay=0.3)

    async def scenario():
        batcher = _batcher(search, window_ms=0)
        await batcher.start()
        first = asyncio.create_task(batcher.search(["first"], 1, "dense"))
        await asyncio.sleep(0.1)  # the first pass is running now
        later = [asyncio.create_task(batcher.search([f"l{i}"], 1, "dense")) for i in range(5)]
        await asyncio.gather(first, *later)
        await batcher.stop()

    asyncio.run(scenario())
    assert [queries for queries, _, _ in search.calls] == [["first"], ["l0", "l1", "l2", "l3", "l4"]]


def test_a_lone_request_is_not_held_for_the_window_but_concurrent_traffic_is():
    search = RecordingSearch()

    async def scenario():
        batcher = _batcher(search, window_ms=10_000)
        await batcher.start()
        # Light traffic: a lone request runs at once (a 10 s window would time this out).
        await asyncio.wait_for(batcher.search(["lone"], 1, "dense"), 5)
        # Concurrent traffic: two requests share a pass, so the next pass waits for stragglers
        # and a request sent 0.2 s later joins the one before it.
        await asyncio.gather(batcher.search(["a"], 1, "dense"), batcher.search(["b"], 1, "dense"))
        first = asyncio.create_task(batcher.search(["c"], 1, "dense"))
        await asyncio.sleep(0.2)
        second = asyncio.create_task(batcher.search(["d"], 1, "dense"))
        batcher.max_batch = 2  # a full batch ends the wait without the 10 s window
        await asyncio.gather(first, second)
        await batcher.stop()

    asyncio.run(scenario())
    assert [queries for queries, _, _ in search.calls] == [["lone"], ["a", "b"], ["c", "d"]]


def test_disabled_batching_gives_every_request_its_own_call():
    search = RecordingSearch()
    requests = [(["a"], 1, "dense"), (["b"], 2, "dense"), (["c"], 1, "dense")]
    results = asyncio.run(_gather(_batcher(search, enabled=False), requests))
    assert sorted(search.calls) == [(["a"], 1, "dense"), (["b"], 2, "dense"), (["c"], 1, "dense")]
    assert results[1] == ([[Hit("b#0", 100.0), Hit("b#1", 99.0)]], "v000007")


def test_an_error_reaches_every_request_of_that_call_only():
    search = RecordingSearch(fail_on="bad")
    requests = [(["ok"], 1, "dense"), (["bad"], 1, "dense"), (["fine"], 1, "bm25")]
    results = asyncio.run(_gather(_batcher(search), requests))
    assert isinstance(results[0], ValueError) and isinstance(results[1], ValueError)
    assert str(results[1]) == "cannot search 'bad'"
    assert results[2] == ([[Hit("fine#0", 100.0)]], "v000007")


@pytest.mark.parametrize("enabled", [True, False])
def test_metrics_record_each_forward_pass(enabled):
    search = RecordingSearch()
    batcher = _batcher(search, enabled=enabled)
    asyncio.run(_gather(batcher, [(["a"], 1, "dense"), (["b", "c"], 1, "dense")]))
    count = batcher._metrics.batch_size._sum.get()
    assert count == 3
