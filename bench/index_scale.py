"""Benchmark: FAISS search latency, build time and memory per vector at 10k / 100k / 1M vectors,
`flat` (exact) vs `hnsw`, through indexing.vector_index.VectorIndex (what the service searches).

Synthetic data imitating sentence embeddings, as tests/indexing/test_vector_index.py: L2-normalised
384-d vectors in N/50 clusters (a random centre plus 0.7 x Gaussian noise; same-cluster cosine about
0.67); queries are corpus vectors with fresh noise (cosine about 0.45 to their source). For every
size and index type:

    build_s               VectorIndex.build (HNSW: graph construction, efConstruction 200, M 32)
    bytes_per_vector      resident memory the index added (RSS before/after build) / N, and the
                          serialised index size / N (what a snapshot's vectors.faiss takes)
    batch_ms              one search of --batch queries (median of --repeats), and per query
    single_ms             one query at a time (--single of them): median and p95
    recall_at_k           hnsw's top k against flat's (the exact answer)

Building HNSW over 1M vectors takes long on 2 cores (it is measured at 100k and extrapolated):
hnsw runs only up to --hnsw-max vectors (default 100000); pass --hnsw-max 1000000 to build it.
With faiss-gpu and a GPU, --gpu-check compares the GPU flat index's top k with the CPU's.

    python bench/index_scale.py                                # 10k, 100k, 1M; hnsw to 100k
    python bench/index_scale.py --sizes 10000 --hnsw-max 10000 --ef-search 64,128,256
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
DIM = 384
NOISE = 0.7  # per-dimension noise around a cluster centre: same-cluster cosine about 0.67
QUERY_NOISE = 2.0  # norm of the noise that turns a corpus vector into a query


def normalise(a: np.ndarray) -> np.ndarray:
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    return a


def clustered(n: int, dim: int, seed: int, chunk: int = 100_000) -> np.ndarray:
    """[n, dim] float32 unit vectors in n/50 Gaussian clusters; made in chunks to bound temporaries."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // 50), dim), dtype=np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, chunk):
        rows = min(chunk, n - start)
        block = centres[rng.integers(0, len(centres), rows)]  # [rows, dim]
        block += NOISE * rng.standard_normal((rows, dim), dtype=np.float32)
        out[start : start + rows] = normalise(block)
    return out


def queries_near(vectors: np.ndarray, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    picked = vectors[rng.choice(len(vectors), count, replace=False)]  # [count, dim]
    noise = QUERY_NOISE * rng.standard_normal(picked.shape, dtype=np.float32) / np.sqrt(picked.shape[1])
    return normalise(picked + noise)


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    k = exact.shape[1]
    return float(
        np.mean([len(set(f) & set(e)) / k for f, e in zip(found.tolist(), exact.tolist(), strict=True)])
    )


def measure(index, queries: np.ndarray, k: int, batch: int, single: int, repeats: int) -> dict[str, object]:
    """Search latency of a built VectorIndex (wall clock, and this process's CPU time: with one
    FAISS thread that is the latency an idle machine would see); returns the batch's labels too."""
    batch_q = queries[:batch]
    index.search(batch_q, k)  # warm-up: first-touch of the index memory, FAISS's thread pool
    batch_s, batch_cpu = [], []
    for _ in range(repeats):
        started, cpu = time.perf_counter(), time.process_time()
        _, labels = index.search(batch_q, k)
        batch_s.append(time.perf_counter() - started)
        batch_cpu.append(time.process_time() - cpu)
    single_s, single_cpu = [], []
    for query in queries[:single]:
        started, cpu = time.perf_counter(), time.process_time()
        index.search(query[None, :], k)
        single_s.append(time.perf_counter() - started)
        single_cpu.append(time.process_time() - cpu)
    single_ms, single_cpu_ms = np.array(single_s) * 1e3, np.array(single_cpu) * 1e3
    batch_ms = statistics.median(batch_s) * 1e3
    return {
        "batch_ms": round(batch_ms, 3),
        "batch_ms_per_query": round(batch_ms / len(batch_q), 4),
        "batch_cpu_ms": round(statistics.median(batch_cpu) * 1e3, 3),
        "single_ms_median": round(float(np.median(single_ms)), 4),
        "single_ms_p95": round(float(np.percentile(single_ms, 95)), 4),
        "single_cpu_ms_median": round(float(np.median(single_cpu_ms)), 4),
        "_labels": labels,
    }


def release_freed_memory() -> None:
    """Hand freed heap pages back to the OS (glibc), so the next RSS baseline is not inflated
    by, or the next index built into, memory the previous index left behind."""
    import contextlib
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def gpu_check(vectors: np.ndarray, queries: np.ndarray, k: int) -> dict[str, object]:
    """Top k of the GPU copy of a flat index vs the CPU index itself (same vectors, same queries)."""
    from indexing.vector_index import IndexParams, VectorIndex, gpu_available

    if not gpu_available():
        return {"ran": False, "why": "faiss-gpu is not installed or sees no GPU"}
    built = VectorIndex.build(vectors, np.arange(len(vectors), dtype=np.int64), IndexParams(type="flat"))
    gpu_scores, gpu_labels = built.search(queries, k)  # searches the GPU copy
    cpu_scores, cpu_labels = built.index.search(np.ascontiguousarray(queries), k)  # the CPU index
    return {
        "ran": True,
        "same_top_k_fraction": float(np.mean(np.sort(gpu_labels, axis=1) == np.sort(cpu_labels, axis=1))),
        "same_order_fraction": float(np.mean(gpu_labels == cpu_labels)),
        "max_score_diff": float(np.abs(gpu_scores - cpu_scores).max()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="10000,100000,1000000", help="vector counts (default: %(default)s)"
    )
    parser.add_argument("--types", default="flat,hnsw", help="index types (default: %(default)s)")
    parser.add_argument("--hnsw-max", type=int, default=100_000, help="largest N to build hnsw for")
    parser.add_argument("--ef-search", default="256", help="hnsw efSearch values to search with")
    parser.add_argument("--k", type=int, default=10, help="top k (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=100, help="queries in the batch search")
    parser.add_argument("--single", type=int, default=100, help="queries searched one at a time")
    parser.add_argument("--repeats", type=int, default=5, help="batch searches timed (median)")
    parser.add_argument("--threads", type=int, default=None, help="faiss.omp_set_num_threads")
    parser.add_argument(
        "--build-threads", type=int, default=None, help="faiss threads while building (default: --threads)"
    )
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--gpu-check", action="store_true", help="GPU vs CPU top k (needs faiss-gpu)")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO_ROOT))
    import faiss

    from bench.common import log, machine, rss_bytes
    from indexing.vector_index import IndexParams, VectorIndex

    if args.threads:
        faiss.omp_set_num_threads(args.threads)
    search_threads = faiss.omp_get_max_threads()
    sizes = [int(s) for s in args.sizes.split(",")]
    types = args.types.split(",")
    efs = [int(e) for e in args.ef_search.split(",")]
    results: list[dict[str, object]] = []
    for n in sizes:
        started = time.perf_counter()
        vectors = clustered(n, DIM, args.seed)
        queries = queries_near(vectors, max(args.batch, args.single), args.seed)
        labels = np.arange(n, dtype=np.int64)
        log(f"{n} vectors made in {time.perf_counter() - started:.1f} s")
        exact = None
        for kind in types:
            if kind == "hnsw" and n > args.hnsw_max:
                results.append({"n": n, "type": kind, "skipped": f"n > --hnsw-max {args.hnsw_max}"})
                continue
            release_freed_memory()
            before = rss_bytes()
            if args.build_threads:
                faiss.omp_set_num_threads(args.build_threads)
            started = time.perf_counter()
            index = VectorIndex.build(vectors, labels, IndexParams(type=kind))
            build_s = time.perf_counter() - started
            if args.build_threads:  # searches run with --threads, as in the other rows
                faiss.omp_set_num_threads(search_threads)
            added = rss_bytes() - before
            serialised = len(faiss.serialize_index(index.index))
            log(f"{n} {kind}: built in {build_s:.1f} s")
            for ef in efs if kind == "hnsw" else [None]:
                if ef is not None:
                    faiss.downcast_index(index.index.index).hnsw.efSearch = ef
                timing = measure(index, queries, args.k, args.batch, args.single, args.repeats)
                found = timing.pop("_labels")
                row: dict[str, object] = {
                    "n": n,
                    "type": kind,
                    "ef_search": ef,
                    "build_s": round(build_s, 2),
                    "rss_bytes_per_vector": round(added / n, 1),
                    "serialised_bytes_per_vector": round(serialised / n, 1),
                    **timing,
                    "gpu_search": index._search_index is not None,
                }
                if kind == "flat":
                    exact = found[:, : args.k]
                elif exact is not None:
                    row[f"recall_at_{args.k}"] = round(recall(found, exact), 4)
                results.append(row)
                log(json.dumps(row))
            del index
        if args.gpu_check and n == sizes[0]:
            gpu = gpu_check(vectors, queries, args.k)
            log(f"gpu check: {gpu}")
        del vectors

    report = {
        "dim": DIM,
        "k": args.k,
        "batch": args.batch,
        "single": args.single,
        "results": results,
        "gpu_check": gpu if args.gpu_check else None,
        "faiss": faiss.__version__,
        "faiss_threads": search_threads,
        "faiss_build_threads": args.build_threads or search_threads,
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "machine": machine(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
