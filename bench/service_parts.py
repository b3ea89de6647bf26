"""Benchmark: the parts of a search request that bench/service.py cannot separate, in one process.

1. `app_ms`: the whole ASGI app (middleware, routing, validation, dependencies, the SQLite join of
   the hits, the response) for `POST /v1/search`, called directly with the search answered from a
   cache: what the application costs per request beyond the search itself, HTTP excluded.
2. `batcher_us`: one search through `EncoderBatcher` with micro-batching on and off, the pass
   answered at once in the encoder thread: the batcher's own cost plus the hand-off and back.
3. `memory_read_gb_s`: one thread summing an 85 MB and a 1 GB float32 buffer: how fast a forward
   pass can read the model's 85 MB of fp32 weights, and FAISS its vectors.

Prints one JSON object.

    python bench/service_parts.py --data-dir /tmp/bench10k    # an index built by bench/service.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np
from common import DEFAULT_MODEL, machine

QUERY = "신용 대출 신청은 어떻게 하나요?"


async def app_ms(data_dir: Path, model: str, requests: int) -> dict[str, float]:
    from app.main import create_app
    from faqsearch.settings import Settings
    from models.encoder import Encoder

    settings = Settings(model=model, data_dir=data_dir)
    app = create_app(settings, encoder=Encoder.load(model, **settings.encoder_options()))
    body = json.dumps({"query": QUERY, "top_k": 10}).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/search",
        "raw_path": b"/v1/search",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def call() -> int:
        status = 0

        async def send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app({**scope, "state": {}, "app": app}, receive, send)
        return status

    async with app.router.lifespan_context(app):
        state = app.state.service
        answer = await state.batcher.search([QUERY], 10, "dense", state.searcher.index)

        async def cached(queries, top_k, mode, index, categories=None):  # measured elsewhere
            return answer

        state.batcher.search = cached
        for _ in range(200):
            if await call() != 200:
                raise SystemExit("POST /v1/search did not answer 200")
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(requests):
            await call()
        return {
            "wall": (time.perf_counter() - wall) / requests * 1000,
            "cpu": (time.process_time() - cpu) / requests * 1000,
        }


async def batcher_us(enabled: bool, requests: int) -> float:
    from types import SimpleNamespace

    from app.batching import EncoderBatcher
    from app.metrics import ServiceMetrics
    from models.encoder import Tokenized

    class NoPass(EncoderBatcher):
        """The batcher's scheduling and hand-offs, with the pass itself answered at once."""

        def _run_pass(self, slices):
            return {job: ([[] for _ in range(job.size)], "v000001") for job, _, _ in slices}

    class Tokens:  # tokenises without a model: one token per text
        batch_size, dim = 64, 384

        def tokenize(self, texts, role="query"):
            return Tokenized(
                list(texts), [[1] for _ in texts], [np.zeros((1, 2)) for _ in texts], [False] * len(texts)
            )

    def search(queries, top_k, mode, index, vectors, categories=None):
        return [[] for _ in queries]

    batcher = NoPass(
        Tokens(),  # type: ignore[arg-type]
        search,
        ThreadPoolExecutor(1),
        ServiceMetrics(),
        enabled=enabled,
        window_s=0.003,
        max_batch=64,
        max_tokens=8192,
    )
    index = SimpleNamespace(pooling="mean", bm25=None, version="v000001")
    await batcher.start()
    times = []
    for i in range(requests + 200):
        started = time.perf_counter()
        await batcher.search([QUERY], 10, "dense", index)  # type: ignore[arg-type]
        if i >= 200:
            times.append(time.perf_counter() - started)
    await batcher.stop()
    return statistics.median(times) * 1e6


def memory_read_gb_s(megabytes: int) -> float:
    import torch

    buffer = torch.ones(megabytes * 1_000_000 // 4)
    times = []
    for _ in range(15):
        started = time.perf_counter()
        buffer.sum()
        times.append(time.perf_counter() - started)
    return megabytes / 1000 / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--data-dir", type=Path, required=True, help="A folder with a built index.")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    import uvloop

    app = uvloop.run(app_ms(args.data_dir, args.model, args.requests))
    batcher: dict[str, list[float]] = {"on": [], "off": []}
    for _ in range(args.rounds):  # interleaved: on, off, on, off, ...
        for mode in ("on", "off"):
            batcher[mode].append(round(uvloop.run(batcher_us(mode == "on", args.requests)), 1))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    memory = {f"{mb}_mb": round(memory_read_gb_s(mb), 1) for mb in (85, 1000)}
    torch.set_num_threads(threads)
    print(
        json.dumps(
            {
                "benchmark": "service_parts",
                "app_ms_per_request": {k: round(v, 3) for k, v in app.items()},
                "batcher_us_per_request": batcher,
                "memory_read_gb_s_one_thread": memory,
                "loadavg": os.getloadavg(),
                "machine": machine(),
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
