"""EncoderBatcher mechanics with the tiny random model and a recording search function (the tests
are about batching, not meaning): who shares a pass, what each request gets back, the sentence
and token budgets, fairness, and errors."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
import pytest

from app.batching import ClientGone, EncoderBatcher
from app.metrics import ServiceMetrics
from indexing.searcher import Hit
from models.pooling_spec import parse_pooling

MEAN = parse_pooling("mean")
INDEX = SimpleNamespace(pooling="mean", bm25=None, version="v000007")  # what a search job reads of its index


class RecordingSearch:
    """hits for query q: ids q#0, q#1, ... with scores 100, 99, ... (top_k of them)."""

    def __init__(self, delay: float = 0.0, fail_on: str | None = None) -> None:
        self.calls: list[tuple[list[str], int, str]] = []
        self.vectors: list[np.ndarray | None] = []
        self.filters: list[tuple[str, ...] | None] = []
        self.delay = delay
        self.fail_on = fail_on
        self.lock = threading.Lock()

    def __call__(self, queries, top_k, mode, index, vectors, categories=None):
        with self.lock:
            self.calls.append((list(queries), top_k, mode))
            self.filters.append(categories)
            self.vectors.append(vectors)
        time.sleep(self.delay)
        if self.fail_on in queries:
            raise ValueError(f"cannot search {self.fail_on!r}")
        return [[Hit(f"{q}#{i}", 100.0 - i) for i in range(top_k)] for q in queries]


def _batcher(encoder, search=None, *, enabled=True, window_ms=50.0, max_batch=64, max_tokens=8192):
    return EncoderBatcher(
        encoder,
        search or RecordingSearch(),
        ThreadPoolExecutor(1),
        ServiceMetrics(),
        enabled=enabled,
        window_s=window_ms / 1000,
        max_batch=max_batch,
        max_tokens=max_tokens,
        batch_size=64,  # the tiny encoder's own is 4: its forward passes are smaller than a pass here
    )


async def _gather(batcher, requests):
    """requests: (queries, top_k, mode[, categories]) searches, or ("embed", sentences) -> results
    in order."""
    await batcher.start()
    try:
        calls = [
            batcher.encode(r[1], MEAN, None)
            if r[0] == "embed"
            else batcher.search(r[0], r[1], r[2], INDEX, *r[3:])
            for r in requests
        ]
        return await asyncio.gather(*calls, return_exceptions=True)
    finally:
        await batcher.stop()


def test_searches_share_a_call_only_with_the_same_category_filter(tiny_encoder):
    search = RecordingSearch()
    batcher = _batcher(tiny_encoder, search)
    requests = [
        (["a"], 2, "dense", ("계정",)),
        (["b"], 2, "dense"),
        (["c"], 2, "dense", ("계정",)),
        (["d"], 2, "dense", ("계정", "로그인")),
    ]
    asyncio.run(_gather(batcher, requests))
    assert [n for n, _ in batcher.passes] == [4]  # one forward pass, three searches
    calls = sorted(zip(search.filters, search.calls, strict=True), key=lambda c: c[1])
    assert calls == [
        (("계정",), (["a", "c"], 2, "dense")),
        (None, (["b"], 2, "dense")),
        (("계정", "로그인"), (["d"], 2, "dense")),
    ]


def test_concurrent_requests_share_one_call_per_mode_and_keep_their_own_top_k(tiny_encoder):
    search = RecordingSearch()
    batcher = _batcher(tiny_encoder, search)
    requests = [(["a"], 2, "dense"), (["b", "c"], 5, "dense"), (["d"], 3, "bm25"), (["e"], 1, "dense")]
    results = asyncio.run(_gather(batcher, requests))
    assert sorted(search.calls) == sorted([(["a", "b", "c", "e"], 5, "dense"), (["d"], 3, "bm25")])
    assert [n for n, _ in batcher.passes] == [5]  # one forward pass for all five queries
    assert results[0] == ([[Hit("a#0", 100.0), Hit("a#1", 99.0)]], "v000007")
    assert results[1] == (
        [[Hit(f"b#{i}", 100.0 - i) for i in range(5)], [Hit(f"c#{i}", 100.0 - i) for i in range(5)]],
        "v000007",
    )
    assert results[2] == ([[Hit(f"d#{i}", 100.0 - i) for i in range(3)]], "v000007")
    assert results[3] == ([[Hit("e#0", 100.0)]], "v000007")
    # the search got the queries' vectors, those the encoder gives them
    dense = search.vectors[[c[2] for c in search.calls].index("dense")]
    expected = tiny_encoder.encode(["a", "b", "c", "e"], "mean").vectors
    np.testing.assert_allclose(dense, expected, atol=1e-6, rtol=0)


def test_max_batch_splits_a_burst(tiny_encoder):
    search = RecordingSearch()
    batcher = _batcher(tiny_encoder, search, max_batch=4)
    asyncio.run(_gather(batcher, [([f"q{i}"], 1, "dense") for i in range(10)]))
    assert [len(queries) for queries, _, _ in search.calls] == [4, 4, 2]
    assert [q for queries, _, _ in search.calls for q in queries] == [f"q{i}" for i in range(10)]
    assert [n for n, _ in batcher.passes] == [4, 4, 2]


def test_requests_arriving_during_a_forward_pass_share_the_next_one(tiny_encoder):
    search = RecordingSearch(delay=0.3)

    async def scenario():
        batcher = _batcher(tiny_encoder, search, window_ms=0)
        await batcher.start()
        first = asyncio.create_task(batcher.search(["first"], 1, "dense", INDEX))
        await asyncio.sleep(0.1)  # the first pass is running now
        later = [asyncio.create_task(batcher.search([f"l{i}"], 1, "dense", INDEX)) for i in range(5)]
        await asyncio.gather(first, *later)
        await batcher.stop()

    asyncio.run(scenario())
    assert [queries for queries, _, _ in search.calls] == [["first"], ["l0", "l1", "l2", "l3", "l4"]]


def test_a_lone_request_is_not_held_for_the_window_but_concurrent_traffic_is(tiny_encoder):
    search = RecordingSearch()

    async def scenario():
        batcher = _batcher(tiny_encoder, search, window_ms=10_000)
        await batcher.start()
        # Light traffic: a lone request runs at once (a 10 s window would time this out).
        await asyncio.wait_for(batcher.search(["lone"], 1, "dense", INDEX), 5)
        # Concurrent traffic: two requests share a pass, so the next pass waits for stragglers
        # and a request sent 0.2 s later joins the one before it.
        await asyncio.gather(
            batcher.search(["a"], 1, "dense", INDEX), batcher.search(["b"], 1, "dense", INDEX)
        )
        first = asyncio.create_task(batcher.search(["c"], 1, "dense", INDEX))
        await asyncio.sleep(0.2)
        second = asyncio.create_task(batcher.search(["d"], 1, "dense", INDEX))
        batcher.max_batch = 2  # a full batch ends the wait without the 10 s window
        await asyncio.gather(first, second)
        await batcher.stop()

    asyncio.run(scenario())
    assert [queries for queries, _, _ in search.calls] == [["lone"], ["a", "b"], ["c", "d"]]


def test_disabled_batching_gives_every_request_its_own_call(tiny_encoder):
    search = RecordingSearch()
    requests = [(["a"], 1, "dense"), (["b"], 2, "dense"), (["c"], 1, "dense"), ("embed", ["d", "e"])]
    results = asyncio.run(_gather(_batcher(tiny_encoder, search, enabled=False), requests))
    assert sorted(search.calls) == [(["a"], 1, "dense"), (["b"], 2, "dense"), (["c"], 1, "dense")]
    assert search.vectors == [None, None, None]  # unbatched, the searcher encodes its own queries
    assert results[1] == ([[Hit("b#0", 100.0), Hit("b#1", 99.0)]], "v000007")
    np.testing.assert_array_equal(results[3].vectors, tiny_encoder.encode(["d", "e"], "mean").vectors)


def test_an_error_reaches_every_request_of_that_call_only(tiny_encoder):
    search = RecordingSearch(fail_on="bad")
    requests = [(["ok"], 1, "dense"), (["bad"], 1, "dense"), (["fine"], 1, "bm25"), ("embed", ["x"])]
    results = asyncio.run(_gather(_batcher(tiny_encoder, search), requests))
    assert isinstance(results[0], ValueError) and isinstance(results[1], ValueError)
    assert str(results[1]) == "cannot search 'bad'"
    assert results[2] == ([[Hit("fine#0", 100.0)]], "v000007")
    assert results[3].vectors.shape == (1, tiny_encoder.dim)


@pytest.mark.parametrize("enabled", [True, False])
def test_metrics_record_each_forward_pass(tiny_encoder, enabled):
    batcher = _batcher(tiny_encoder, enabled=enabled)
    asyncio.run(_gather(batcher, [(["a"], 1, "dense"), (["b", "c"], 1, "dense")]))
    assert batcher._metrics.batch_size._sum.get() == 3


# -- embed requests, the token budget and fairness ----------------------------------------------

SHORT = "배송 조회"
LONG = "주문한 상품의 배송은 언제쯤 도착하나요? 환불 신청은 어디에서 하나요?"


def test_concurrent_embeds_share_passes_within_the_token_budget(tiny_encoder):
    """One long sentence and five short ones, six requests, all waiting when the worker looks:
    with a budget of 2 x the long one's tokens the first pass takes the long one and one short one
    (a third sentence would make it 3 x long), the second pass the four others."""
    long_n, short_n = (len(ids) for ids in tiny_encoder.tokenize([LONG, SHORT]).input_ids)
    assert long_n > 5 * short_n  # so four short ones fit beside each other but not beside the long one
    batcher = _batcher(tiny_encoder, max_tokens=2 * long_n)
    requests = [("embed", [LONG])] + [("embed", [f"{SHORT} {i}"]) for i in range(5)]
    results = asyncio.run(_gather(batcher, requests))
    lengths = [len(ids) for ids in tiny_encoder.tokenize([f"{SHORT} {i}" for i in range(5)]).input_ids]
    assert batcher.passes == [(2, 2 * long_n), (4, 4 * max(lengths[1:]))]  # 6 requests, 2 passes
    assert all(tokens <= 2 * long_n for _, tokens in batcher.passes)
    for (_, sentences), got in zip(requests, results, strict=True):
        expected = tiny_encoder.encode(sentences, "mean")
        np.testing.assert_allclose(got.vectors, expected.vectors, atol=1e-6, rtol=0)
        assert got.truncated.tolist() == expected.truncated.tolist()


def test_a_long_list_takes_turns_with_the_requests_that_arrive(tiny_encoder):
    """Twenty sentences and three single ones: each pass of 8 gives each waiting job a turn, so the
    single ones finish in the first pass and the long list goes on alone."""
    search = RecordingSearch()
    batcher = _batcher(tiny_encoder, search, max_batch=8)
    many = [f"{i}번 문의: 배송은 언제 오나요?" for i in range(20)]
    # tokenised already: a list this long would be tokenised in a worker thread and come later
    requests = [
        ("embed", tiny_encoder.tokenize(many)),
        (["a"], 1, "dense"),
        ("embed", ["b"]),
        (["c"], 1, "bm25"),
    ]
    results = asyncio.run(_gather(batcher, requests))
    assert [n for n, _ in batcher.passes] == [8, 8, 7]  # 5 of the list beside the 3 single ones, then 8, 7
    assert sorted(search.calls) == [(["a"], 1, "dense"), (["c"], 1, "bm25")]
    np.testing.assert_allclose(
        results[0].vectors, tiny_encoder.encode(many, "mean").vectors, atol=1e-6, rtol=0
    )


def test_a_job_whose_client_is_gone_stops_between_passes(tiny_encoder):
    async def scenario():
        batcher = _batcher(tiny_encoder, max_batch=4)
        checks = 0

        async def gone() -> bool:
            nonlocal checks
            checks += 1
            return checks > 2  # gone after two passes

        await batcher.start()
        try:
            with pytest.raises(ClientGone) as stopped:
                await batcher.encode([f"문장 {i}" for i in range(20)], MEAN, None, gone=gone)
        finally:
            await batcher.stop()
        return stopped.value.done, batcher.passes

    done, passes = asyncio.run(scenario())
    assert done == 8 and [n for n, _ in passes] == [4, 4]
