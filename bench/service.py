"""Benchmark: the HTTP service under load, side by side in one run.

1. Query latency: p50/p99 of `POST /v1/search` from one client (short Korean queries, a 10k-entry
   index), next to the bare encoder time of the same queries measured in this process
   (`forward_ms`: the stock `transformers` forward alone; `encode_ms`: `Encoder.encode`,
   i.e. tokenise + Kiwi BM25 weights + packed forward + pool). Each runs the queries back to back
   in blocks that take turns per round; overhead_ratio_<server>_vs_<bare> is the median over
   rounds of that round's service p50 / bare p50. `search_ms` is `Searcher.search` in this
   process (encode + FAISS), `server_took_ms` the server's own time per request (no HTTP).
2. Throughput: requests/s at 1, 8 and 32 concurrent clients of each endpoint (`--endpoints`:
   `POST /v1/search`; `POST /v1/embed` and the OpenAI-compatible `POST /v1/embeddings`, one
   sentence per request) against two `faqsearch serve` processes of the same build over the
   same index, one with micro-batching on and one with it off (FAQSEARCH_MICRO_BATCHING: the
   unbatched baseline, every request its own forward pass). Rounds are interleaved (on, off, off, on, ...) so machine noise
   hits both; each cell reports the median queries/s over rounds and p50/p99 latency over all
   requests of that cell.

3. `--busy-host`: instead of 1 and 2, servers of several thread settings over the same index
   (`FAQSEARCH_THREADS` unset = auto, and each of `--thread-settings`; with `--before DIR` also
   a server run from another checkout, e.g. the previous commit, with its defaults), measured at
   1 and 32 clients with the host idle and with one competing CPU-bound process (started and
   stopped by this script), rounds interleaved. Each cell: median q/s over rounds, p50/p99 over
   all requests, and the ratio of the default to the best setting of that cell.

Prints one JSON object to stdout; progress goes to stderr.

    python bench/service.py                           # 10k entries, 3 rounds of 10 s per cell
    python bench/service.py --entries 2000 --seconds 5 --rounds 2
    python bench/service.py --entries 2000 --no-latency --endpoints embed,embeddings --seconds 8 --rounds 2
    python bench/service.py --busy-host --thread-settings 1,2 --before /tmp/before --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_MODEL, REPO_ROOT, cpu_flags, log, machine
from rebuild import faq_sentences


def short_queries(count: int, max_chars: int = 30) -> list[str]:
    """Short questions people type: welfare queries of at most `max_chars` characters."""
    queries = []
    with (REPO_ROOT / "testsets/welfare/queries.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            text = json.loads(line)["text"]
            if len(text) <= max_chars:
                queries.append(text)
                if len(queries) == count:
                    return queries
    return queries


def build_index(data_dir: Path, entries: int, encoder, pooling: str) -> None:
    from faqsearch.settings import Settings
    from indexing.build import build_snapshot
    from indexing.snapshots import Snapshots
    from indexing.store import FaqEntry, FaqStore

    if Snapshots(data_dir).current() is not None:
        log(f"reusing the index in {data_dir}")
        return
    sentences, _ = faq_sentences(entries)
    with FaqStore.open(data_dir) as store:
        store.upsert_many(
            FaqEntry(id=f"q{i:06d}", question=s, answer=f"답변 {i}") for i, s in enumerate(sentences)
        )
    started = time.perf_counter()
    # What a default server expects of its index (function-word weight, rows): the settings' defaults.
    defaults = Settings.model_construct()
    build_snapshot(
        data_dir, encoder, pooling, function_weight=defaults.function_word_weight, rows=defaults.row_policy()
    )
    log(f"built a {entries}-entry index in {time.perf_counter() - started:.0f}s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    data_dir: Path,
    model: str,
    micro_batching: bool,
    threads: int | str | None,
    tree: Path = REPO_ROOT,
    extra_env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen, str]:
    """A `faqsearch serve` process; threads: FAQSEARCH_THREADS (None: the default, auto); tree:
    the checkout whose code it runs (`python -m` puts the working directory first on sys.path)."""

    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
        and not key.startswith("FAQSEARCH_")
    }
    env |= {
        "HF_HUB_OFFLINE": "1",
        "FAQSEARCH_MODEL": model,
        "FAQSEARCH_MICRO_BATCHING": "true" if micro_batching else "false",
    }
    if threads:
        env["FAQSEARCH_THREADS"] = str(threads)
    env |= extra_env or {}
    process = subprocess.Popen(
        [sys.executable, "-m", "faqsearch.cli", "serve", "--index", str(data_dir), "--port", str(port)],
        env=env,
        cwd=tree,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(process, url, "/readyz")
    return process, url


def wait_ready(process: subprocess.Popen, url: str, path: str, name: str = "server") -> None:
    """Until GET `path` answers 200 (at most 5 minutes); exits if the process dies first."""
    import httpx

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with {process.returncode}")
        try:
            if httpx.get(f"{url}{path}", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{name} did not become ready")


def request_body(endpoint: str, query: str, model: str = "") -> tuple[str, dict]:
    """(path, JSON body) of one request of `endpoint`: a search, an embed of the one sentence, or
    an OpenAI-style embeddings request for it (floats, as /v1/embed returns them)."""
    if endpoint == "embed":
        return "/v1/embed", {"sentences": [query]}
    if endpoint == "embeddings":
        return "/v1/embeddings", {"model": model, "input": query, "encoding_format": "float"}
    if endpoint == "infinity":  # infinity-emb's /embeddings: it adds no prefix, so the e5 one goes here
        return "/embeddings", {"model": model, "input": [f"query: {query}"], "encoding_format": "float"}
    return "/v1/search", {"query": query, "top_k": 10}


def served_model(url: str, path: str = "/v1/models") -> str:
    import httpx

    return httpx.get(f"{url}{path}", timeout=30).json()["data"][0]["id"]


async def load(
    url: str, queries: list[str], clients: int, seconds: float, endpoint: str = "search"
) -> tuple[int, float, list[float]]:
    """`clients` workers send requests of `endpoint` (search, embed, embeddings, or infinity:
    infinity-emb's /embeddings; one query each)
    back to back for `seconds` -> (requests, elapsed, latencies ms).

    aiohttp, not httpx: the load generator shares the machine with the server, and httpx's async
    pool spent about 5 ms of CPU per request at 32 connections (it capped GET /healthz at 200
    requests/s here; aiohttp: 4900 at 0.2 ms each), so it measured itself, not the server.
    """
    import aiohttp

    latencies: list[float] = []
    failures = 0
    model = ""
    if endpoint in ("embeddings", "infinity"):
        model = served_model(url, "/models" if endpoint == "infinity" else "/v1/models")
    stop_at = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as session:

        async def worker(offset: int) -> None:
            nonlocal failures
            i = offset
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                path, body = request_body(endpoint, queries[i % len(queries)], model)
                async with session.post(path, json=body) as response:
                    await response.read()
                    if response.status != 200:
                        failures += 1
                latencies.append((time.perf_counter() - started) * 1000)
                i += clients

        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in range(clients)))
        elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{failures} failed requests against {url}")
    return len(latencies), elapsed, latencies


def served_back_to_back(url: str, queries: list[str]) -> tuple[list[float], list[float]]:
    """The queries to one server, one request at a time over one keep-alive connection ->
    (latencies ms as the client sees them, the server's own `took_ms`: from the route's start to
    its response, HTTP framing excluded). The stdlib's blocking client: the lightest at hand, so
    the latency is the server's (0.46 ms of client CPU per request here, aiohttp's 0.77)."""
    import http.client
    from urllib.parse import urlsplit

    address = urlsplit(url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
    headers = {"Content-Type": "application/json"}
    latencies, took = [], []
    try:
        for query in queries:
            payload = json.dumps({"query": query, "top_k": 10}).encode()
            started = time.perf_counter()
            connection.request("POST", "/v1/search", payload, headers)
            response = connection.getresponse()
            body = response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                raise SystemExit(f"POST /v1/search answered {response.status}: {body[:200]!r}")
            took.append(json.loads(body)["took_ms"])
    finally:
        connection.close()
    return latencies, took


def percentile(values: list[float], q: float) -> float:
    return (
        float(statistics.quantiles(values, n=100, method="inclusive")[q - 1])
        if len(values) > 1
        else values[0]
    )


def bare_encoder(encoder, pooling: str, bm25) -> tuple[Callable[[str], float], Callable[[str], float]]:
    """(query -> ms of Encoder.encode: tokenise + Kiwi BM25 weights + forward + pool,
    query -> ms of the `transformers` forward alone, of the model as `transformers` loads it: not
    the encoder's own copy, whose weights faqsearch lays out for speed on CPU (cpu_layout.py))."""
    import torch
    from transformers import AutoModel

    stock = AutoModel.from_pretrained(encoder.name, add_pooling_layer=False).to(encoder.device).eval()

    def encode(query: str) -> float:
        started = time.perf_counter()
        encoder.encode([query], pooling, bm25=bm25)
        return (time.perf_counter() - started) * 1000

    def forward(query: str) -> float:
        ids = torch.tensor(encoder.tokenize([query]).input_ids, device=encoder.device)
        with torch.inference_mode():
            started = time.perf_counter()
            stock(input_ids=ids, attention_mask=torch.ones_like(ids))
            return (time.perf_counter() - started) * 1000

    return encode, forward


def bare_search(searcher) -> Callable[[str], float]:
    """query -> ms of `Searcher.search` in this process (dense, top 10), as the server runs it."""

    def search(query: str) -> float:
        started = time.perf_counter()
        searcher.search([query], top_k=10, mode="dense")
        return (time.perf_counter() - started) * 1000

    return search


def competing_process() -> subprocess.Popen:
    """One CPU-bound process, as another job on a shared host (a loop in a second Python)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def busy_host(args, data_dir: Path, queries: list[str]) -> dict[str, object]:
    """Part 3: thread settings side by side, idle and busy, at 1 and 32 clients."""
    settings: dict[str, tuple[int | str | None, Path]] = {"default": (None, REPO_ROOT)}
    for value in args.thread_settings.split(","):
        if value.strip():
            settings[f"threads={value.strip()}"] = (value.strip(), REPO_ROOT)
    if args.before:
        settings["before"] = (None, args.before.resolve())
    extra_env: dict[str, dict[str, str]] = {}
    for spec in args.extra or []:  # NAME=THREADS:VAR=VALUE[,VAR=VALUE]
        name, _, rest = spec.partition("=")
        threads, _, env_text = rest.partition(":")
        settings[name] = (threads or None, REPO_ROOT)
        extra_env[name] = dict(item.split("=", 1) for item in env_text.split(",") if item)
    servers = {
        name: start_server(data_dir, args.model, True, threads, tree, extra_env.get(name, {}))
        for name, (threads, tree) in settings.items()
    }
    cells = []
    try:
        for _, url in servers.values():
            asyncio.run(load(url, queries, 4, 2.0))
        for host in ("idle", "busy"):
            competitor = competing_process() if host == "busy" else None
            try:
                time.sleep(1.0)
                for clients in (int(c) for c in args.clients.split(",")):
                    qps: dict[str, list[float]] = {name: [] for name in servers}
                    lat: dict[str, list[float]] = {name: [] for name in servers}
                    names = list(servers)
                    for round_ in range(args.rounds):
                        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                            n, elapsed, latencies = asyncio.run(
                                load(servers[name][1], queries, clients, args.seconds)
                            )
                            qps[name].append(n / elapsed)
                            lat[name] += latencies
                            log(f"{host}, {clients:>2} clients, {name:>10}: {n / elapsed:6.1f} q/s")
                    cell: dict[str, object] = {"host": host, "clients": clients}
                    for name in servers:
                        cell[name] = {
                            "qps_median": round(statistics.median(qps[name]), 1),
                            "qps_rounds": [round(q, 1) for q in qps[name]],
                            "p50_ms": round(percentile(lat[name], 50), 1),
                            "p99_ms": round(percentile(lat[name], 99), 1),
                        }
                    manual = [n for n in servers if n.startswith("threads=")]
                    if manual:
                        best = max(manual, key=lambda n: statistics.median(qps[n]))
                        cell["best_manual"] = best
                        cell["qps_ratio_default_vs_best_manual"] = round(
                            statistics.median(qps["default"]) / statistics.median(qps[best]), 3
                        )
                    for name in extra_env:
                        cell[f"qps_ratio_default_vs_{name}"] = round(
                            statistics.median(qps["default"]) / statistics.median(qps[name]), 3
                        )
                    if "before" in servers:
                        cell["qps_ratio_default_vs_before"] = round(
                            statistics.median(qps["default"]) / statistics.median(qps["before"]), 3
                        )
                    cells.append(cell)
            finally:
                if competitor is not None:
                    competitor.kill()
                    competitor.wait()
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=60)
    return {
        "benchmark": "service-busy-host",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "cpu_flags": cpu_flags(),
        "model": args.model,
        "entries": args.entries,
        "seconds_per_cell": args.seconds,
        "rounds": args.rounds,
        "settings": {name: {"threads": t, "tree": str(tree)} for name, (t, tree) in settings.items()},
        "cells": cells,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--data-dir", type=Path, help="Reuse (or create) the index here.")
    parser.add_argument("--seconds", type=float, default=10.0, help="Length of one throughput measurement.")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument(
        "--endpoints",
        default="search,embed,embeddings",
        help="Part 2: endpoints measured, of search (POST /v1/search), embed (POST /v1/embed, one "
        "sentence) and embeddings (POST /v1/embeddings, one input, floats).",
    )
    parser.add_argument(
        "--no-latency", action="store_true", help="Skip part 1 (latency vs the bare encoder)."
    )
    parser.add_argument("--latency-queries", type=int, default=200)
    parser.add_argument(
        "--threads", type=int, help="FAQSEARCH_THREADS of the servers and threads of the bare encoder"
    )
    parser.add_argument(
        "--busy-host", action="store_true", help="Part 3 only: thread settings, idle and busy."
    )
    parser.add_argument("--thread-settings", default="1,2", help="With --busy-host: the manual settings.")
    parser.add_argument("--before", type=Path, help="With --busy-host: a checkout to run as 'before'.")
    parser.add_argument(
        "--extra",
        action="append",
        help="With --busy-host: one more server, NAME=THREADS:VAR=VALUE[,VAR=VALUE] (THREADS empty: auto).",
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    from faqsearch.settings import Settings
    from models.encoder import Encoder

    pooling = Settings.model_fields["pooling"].default
    encoder = Encoder.load(args.model, device="cpu")
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="faqsearch-bench-"))
    build_index(data_dir, args.entries, encoder, pooling)
    from indexing.searcher import Searcher

    queries = short_queries(max(args.latency_queries, 500))
    log(f"{len(queries)} short queries, median {statistics.median(len(q) for q in queries)} characters")
    if args.busy_host:
        if args.clients == "1,8,32":
            args.clients = "1,32"
        print(json.dumps(busy_host(args, data_dir, queries), indent=2))
        return
    searcher = Searcher.open(data_dir, encoder, pooling=pooling)  # the index the servers serve

    servers = {mode: start_server(data_dir, args.model, mode == "on", args.threads) for mode in ("on", "off")}
    try:
        for _, url in servers.values():  # warm both up: first requests pay for lazy init
            for endpoint in args.endpoints.split(","):
                asyncio.run(load(url, queries, 4, 2.0, endpoint))

        # 1. latency: one client vs the bare encoder. Each of the five (bare forward, encode and
        # search, server on, server off) runs the same queries back to back, as a lone client sees it: a
        # process whose last request was a moment ago finds its weights in the CPU caches, one that
        # waited while other processes ran does not (interleaving per query made every server
        # request cold and the in-process encoder warm: ~1.4x for the same code). The five blocks
        # take turns per round, in a rotated order, so drift of the machine's speed hits all.
        latency: dict[str, object] | None = None
        if not args.no_latency:
            latency_queries = queries[: args.latency_queries]
            # BM25 pooling weighs query tokens with the index's statistics, as the servers do
            bare = dict(
                zip(("encode", "forward"), bare_encoder(encoder, pooling, searcher.index.bm25), strict=True)
            )
            bare["search"] = bare_search(searcher)
            for query in latency_queries:  # warm-up: the first passes of each shape are slow
                for run in bare.values():
                    run(query)
            measured: dict[str, list[float]] = {
                "encode": [],
                "forward": [],
                "search": [],
                "on": [],
                "off": [],
            }
            round_p50: dict[str, list[float]] = {block: [] for block in measured}
            took: dict[str, list[float]] = {"on": [], "off": []}
            urls = {mode: url for mode, (_, url) in servers.items()}
            blocks = ["encode", "on", "forward", "search", "off"]
            for round_ in range(args.rounds):
                log(f"latency round {round_ + 1}/{args.rounds}")
                for block in blocks[round_ % 5 :] + blocks[: round_ % 5]:
                    if block in urls:
                        values, server_took = served_back_to_back(urls[block], latency_queries)
                        took[block] += server_took
                    else:
                        values = [bare[block](query) for query in latency_queries]
                    measured[block] += values
                    round_p50[block].append(percentile(values, 50))
            service_ms = {mode: measured[mode] for mode in ("on", "off")}
            forward_ms, encode_ms = measured["forward"], measured["encode"]
            latency = {
                "queries": len(latency_queries),
                "rounds": args.rounds,
                "forward_ms": {"p50": percentile(forward_ms, 50), "p99": percentile(forward_ms, 99)},
                "encode_ms": {"p50": percentile(encode_ms, 50), "p99": percentile(encode_ms, 99)},
                # Searcher.search in this process: encode + FAISS + label -> id, no HTTP, no store
                "search_ms": {
                    "p50": percentile(measured["search"], 50),
                    "p99": percentile(measured["search"], 99),
                },
                "service_ms": {
                    mode: {"p50": percentile(v, 50), "p99": percentile(v, 99)}
                    for mode, v in service_ms.items()
                },
                # the server's took_ms: the route's own time (queue, search, store join, response model)
                "server_took_ms": {mode: {"p50": percentile(v, 50)} for mode, v in took.items()},
            }
            # The headline ratios: per round, a server's p50 over the bare p50 of the same round (blocks
            # seconds apart), then the median over rounds; the machine's speed drifts between rounds.
            for mode in ("on", "off"):
                for bare_name in ("encode", "forward", "search"):
                    per_round = [
                        served / bare
                        for served, bare in zip(round_p50[mode], round_p50[bare_name], strict=True)
                    ]
                    latency[f"overhead_ratio_{mode}_vs_{bare_name}"] = statistics.median(per_round)
                    latency[f"overhead_ratio_{mode}_vs_{bare_name}_rounds"] = [round(r, 3) for r in per_round]
        # 2. throughput of each endpoint at each concurrency, micro-batching on vs off, interleaved
        throughput = []
        for endpoint, clients in (
            (e, int(c)) for e in args.endpoints.split(",") for c in args.clients.split(",")
        ):
            qps: dict[str, list[float]] = {"on": [], "off": []}
            lat: dict[str, list[float]] = {"on": [], "off": []}
            for round_ in range(args.rounds):
                order = ("on", "off") if round_ % 2 == 0 else ("off", "on")
                for mode in order:
                    n, elapsed, latencies = asyncio.run(
                        load(servers[mode][1], queries, clients, args.seconds, endpoint)
                    )
                    qps[mode].append(n / elapsed)
                    lat[mode] += latencies
                    log(f"{endpoint:>10}, {clients:>2} clients, batching {mode:>3}: {n / elapsed:6.1f} q/s")
            cell: dict[str, object] = {"endpoint": endpoint, "clients": clients}
            for mode in ("on", "off"):
                cell[mode] = {
                    "qps_median": statistics.median(qps[mode]),
                    "qps_rounds": [round(q, 1) for q in qps[mode]],
                    "p50_ms": percentile(lat[mode], 50),
                    "p99_ms": percentile(lat[mode], 99),
                }
            cell["qps_ratio_on_vs_off"] = statistics.median(qps["on"]) / statistics.median(qps["off"])
            throughput.append(cell)
    finally:
        for process, _ in servers.values():
            process.terminate()
            process.wait(timeout=60)

    print(
        json.dumps(
            {
                "benchmark": "service",
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": machine(),
                "loadavg": os.getloadavg(),
                "model": args.model,
                "pooling": pooling,
                "entries": args.entries,
                "threads": args.threads,
                "seconds_per_cell": args.seconds,
                "cpu_flags": cpu_flags(),
                "latency": latency,
                "throughput": throughput,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
