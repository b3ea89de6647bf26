"""Benchmark: faqsearch as an embeddings server next to infinity-emb, same model, same sentences,
one run.

infinity-emb is a bench-only comparison, never a dependency: install it in a venv of its own beside
the project (with the same CPU torch, so the two run the same kernels), e.g.

    python -m venv /tmp/venv-infinity
    /tmp/venv-infinity/bin/pip install torch==2.13.0
    /tmp/venv-infinity/bin/pip install 'infinity-emb[server,torch]==0.0.78' torch==2.13.0

and pass its executable. Three servers over the same model folder: `faqsearch serve` answering
`POST /v1/embed` and the OpenAI-compatible `POST /v1/embeddings` (mean pooling, as infinity pools,
FAQSEARCH_POOLING=mean over an index built with it), and `infinity_emb v2 --engine torch --device
cpu --dtype float32` answering `POST /embeddings` (the e5 `query: ` prefix put in the text, since
infinity adds none). First the vectors of the two servers are compared (cosine of every query),
then single-sentence requests at each client count, the servers taking turns round by round; each
cell reports median queries/s over rounds, p50/p99 over all requests, and the ratio of each
faqsearch endpoint to infinity.

    python bench/infinity.py --infinity /tmp/venv-infinity/bin/infinity_emb
    python bench/infinity.py --infinity ... --clients 1,8,32 --seconds 15 --rounds 2

Prints one JSON object to stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_MODEL, cpu_flags, log, machine
from service import build_index, free_port, load, percentile, short_queries, start_server, wait_ready


def start_infinity(executable: str, model: str, batch_size: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [executable, "v2", "--model-id", model, "--served-model-name", "me5", "--engine", "torch",
         "--device", "cpu", "--dtype", "float32", "--pooling-method", "mean", "--batch-size",
         str(batch_size), "--no-model-warmup", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warning"],
        env={"HF_HUB_OFFLINE": "1", "INFINITY_ANONYMOUS_USAGE_STATS": "0", "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_ready(process, url, "/health", "infinity")
    return process, url


def vectors_agree(faqsearch_url: str, infinity_url: str, queries: list[str]) -> dict[str, float]:
    """Cosine of faqsearch's /v1/embed vector and infinity's vector of every query."""
    import httpx
    import numpy as np

    ours = np.array(
        httpx.post(f"{faqsearch_url}/v1/embed", json={"sentences": queries}, timeout=120).json()["vectors"]
    )
    response = httpx.post(
        f"{infinity_url}/embeddings",
        json={"model": "me5", "input": [f"query: {q}" for q in queries]},
        timeout=120,
    ).json()
    theirs = np.array([item["embedding"] for item in sorted(response["data"], key=lambda d: d["index"])])
    ours /= np.linalg.norm(ours, axis=1, keepdims=True)
    theirs /= np.linalg.norm(theirs, axis=1, keepdims=True)
    cosines = (ours * theirs).sum(axis=1)
    return {"sentences": len(queries), "cosine_min": round(float(cosines.min()), 7)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--infinity", required=True, help="The infinity_emb executable of its own venv.")
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument(
        "--entries", type=int, default=500, help="Entries of faqsearch's index (not searched)."
    )
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--batch-size", type=int, default=32, help="infinity's --batch-size (faqsearch's default is 32)."
    )
    args = parser.parse_args()

    from models.encoder import Encoder

    queries = short_queries(2000)
    with tempfile.TemporaryDirectory(prefix="faqsearch-infinity-") as tmp:
        data_dir = Path(tmp) / "data"
        build_index(data_dir, args.entries, Encoder.load(args.model), "mean")
        servers = {"infinity": start_infinity(args.infinity, args.model, args.batch_size)}
        ours, ours_url = start_server(
            data_dir, args.model, True, None, extra_env={"FAQSEARCH_POOLING": "mean"}
        )
        servers["faqsearch"] = (ours, ours_url)
        try:
            agreement = vectors_agree(ours_url, servers["infinity"][1], queries[:200])
            log(f"vectors: {agreement}")
            runs = {
                "infinity": ("infinity", "infinity"),
                "embed": ("faqsearch", "embed"),
                "embeddings": ("faqsearch", "embeddings"),
            }
            for server, endpoint in runs.values():  # warm both up
                asyncio.run(load(servers[server][1], queries, 4, 2.0, endpoint))
            cells = []
            for clients in (int(c) for c in args.clients.split(",")):
                qps: dict[str, list[float]] = {name: [] for name in runs}
                lat: dict[str, list[float]] = {name: [] for name in runs}
                names = list(runs)
                for round_ in range(args.rounds):
                    for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                        server, endpoint = runs[name]
                        n, elapsed, latencies = asyncio.run(
                            load(servers[server][1], queries, clients, args.seconds, endpoint)
                        )
                        qps[name].append(n / elapsed)
                        lat[name] += latencies
                        log(f"{clients:>2} clients, {name:>10}: {n / elapsed:6.1f} q/s")
                cell: dict[str, object] = {"clients": clients}
                for name in runs:
                    cell[name] = {
                        "qps_median": round(statistics.median(qps[name]), 1),
                        "qps_rounds": [round(q, 1) for q in qps[name]],
                        "p50_ms": round(percentile(lat[name], 50), 1),
                        "p99_ms": round(percentile(lat[name], 99), 1),
                    }
                for name in ("embed", "embeddings"):
                    cell[f"qps_ratio_{name}_vs_infinity"] = round(
                        statistics.median(qps[name]) / statistics.median(qps["infinity"]), 3
                    )
                cells.append(cell)
        finally:
            for process, _ in servers.values():
                process.terminate()
                process.wait(timeout=60)
    print(json.dumps({
        "benchmark": "embeddings-vs-infinity",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "cpu_flags": cpu_flags(),
        "model": args.model,
        "infinity": {"executable": args.infinity, "batch_size": args.batch_size, "engine": "torch", "dtype": "float32"},
        "seconds_per_cell": args.seconds,
        "rounds": args.rounds,
        "vectors": agreement,
        "cells": cells,
    }, ensure_ascii=False, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
