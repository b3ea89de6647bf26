"""Category-filtered vs unfiltered dense search at 100k entries (issue 19, item 1), JSON on stdout.

100,000 random L2-normalised 384-d vectors (one row per entry) in 50 categories: one of 3 entries,
the rest spread evenly (about 2,040 each). For each index type the same queries are searched
  unfiltered:           VectorIndex.search(q, 10)
  filtered (selector):  VectorIndex.search(q, 10, allowed), what the service does (FAISS
                        IDSelectorBatch inside the search; HNSW small sets: exact, reconstructed)
  filtered (candidates): the alternative the issue names: a per-category candidate list, its
                        vectors reconstructed and scored by one matrix product
and the same queries go through `Searcher.search(..., categories=[...])` for the whole dense path
(allowed labels from the category, entry aggregation). Per-query latency: median of ROUNDS x
QUERIES single-query calls. Ratios are to unfiltered, measured side by side in one run.

    python bench/category_filter.py [--entries 100000] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from models import threads  # noqa: E402

threads.configure()  # as the service does, before FAISS/BLAS load: their threads wait passively

from bench.common import cpu_flags, machine  # noqa: E402
from indexing.lexical import LexicalIndex  # noqa: E402
from indexing.loaded_index import LoadedIndex  # noqa: E402
from indexing.searcher import Searcher  # noqa: E402
from indexing.vector_index import IndexParams, VectorIndex  # noqa: E402
from models.bm25 import Bm25Stats  # noqa: E402

DIM, CATEGORIES, K = 384, 50, 10


def _normalise(a: np.ndarray) -> np.ndarray:
    return (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(np.float32)


def _median_ms(fn, queries: np.ndarray) -> float:
    times = []
    for q in queries:
        started = time.perf_counter()
        fn(q[None, :])
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = args.entries
    vectors = _normalise(rng.standard_normal((n, DIM)))
    labels = np.arange(n, dtype=np.int64)
    ids = [f"faq{i:06d}" for i in range(n)]
    category = ["small" if i < 3 else f"c{i % (CATEGORIES - 1):02d}" for i in range(n)]
    queries = _normalise(rng.standard_normal((args.queries, DIM)))
    stats = Bm25Stats.fit([["x"]])
    results = {}
    for kind in ("flat", "hnsw"):
        vector_index = VectorIndex.build(vectors, labels, IndexParams(type=kind))
        index = LoadedIndex(
            {"pooling": "mean", "rows": {}},
            bm25=stats,
            lexical=LexicalIndex.build(stats, [], []),
            id_of=dict(zip(labels.tolist(), ids, strict=True)),
            digest_of={i: "" for i in ids},
            vectors=vector_index,
            category_of=dict(zip(ids, category, strict=True)),
        )
        searcher = Searcher(None, index)  # type: ignore[arg-type]  # vectors given: no encoder
        row = {"unfiltered_ms": _median_ms(lambda q, v=vector_index: v.search(q, K), queries)}
        for name in ("c07", "small"):
            allowed = index.allowed_labels([name])

            def candidates(q, allowed=allowed, v=vector_index):
                scores = q @ v.index.reconstruct_batch(allowed).T
                top = np.argsort(-scores, axis=1)[:, :K]
                return allowed[top]

            size = "large" if name == "c07" else "small"
            row[f"{size}_category_entries"] = len(allowed)
            row[f"{size}_selector_ms"] = _median_ms(
                lambda q, a=allowed, v=vector_index: v.search(q, K, a), queries
            )
            row[f"{size}_candidates_ms"] = _median_ms(candidates, queries)
            row[f"{size}_searcher_ms"] = _median_ms(
                lambda q, c=name, s=searcher: s.search(["q"], K, "dense", vectors=q, categories=[c]), queries
            )
        row["searcher_unfiltered_ms"] = _median_ms(
            lambda q, s=searcher: s.search(["q"], K, "dense", vectors=q), queries
        )
        for key in [k for k in row if k.endswith("_ms") and k != "unfiltered_ms"]:
            row[key.replace("_ms", "_vs_unfiltered")] = round(row[key] / row["unfiltered_ms"], 2)
        results[kind] = row
    print(
        json.dumps(
            {
                "entries": n,
                "dim": DIM,
                "categories": CATEGORIES,
                "top_k": K,
                "queries": args.queries,
                "machine": machine(),
                "cpu_flags": cpu_flags(),
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
