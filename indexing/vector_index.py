"""FAISS vector index over L2-normalised sentence vectors: inner product = cosine similarity.

Every index is id-mapped: FAISS labels are int64 row labels that the snapshot maps to FAQ ids.
`flat` is exact; `hnsw` and `ivf` trade a little recall for speed on large corpora. HNSW cannot
remove vectors, so removals there become tombstones that searches skip until the next rebuild.

A search can be limited to some labels (a category filter): inside FAISS, with an id selector, so
the k best *allowed* rows come back, never k rows cut down afterwards. Flat is exact with it. IVF
with a small allowed set probes every list (exact: the selector skips the rest cheaply). HNSW's
graph walk finds too few members of a small set (1 of 3 in a test), so a small set is scored
exactly from its reconstructed vectors; a large one walks the graph with the selector.
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.errors import InvalidValueError
from models.options import INDEX_TYPES

# Allowed sets up to this many rows are searched exactly on IVF and HNSW (module docstring).
EXACT_FILTER_ROWS = 20_000


@dataclass(frozen=True)
class IndexParams:
    """How the FAISS index is built and searched; recorded in the snapshot manifest."""

    type: str = "flat"
    hnsw_m: int = 32
    hnsw_ef_construction: int = 200
    # recall@10 vs flat: 1.00 at 10k and 100k, 0.98 at 1M (docs/benchmarks.md, section 2)
    hnsw_ef_search: int = 256
    ivf_nlist: int | None = None  # None: sqrt(N), at least 1
    ivf_nprobe: int = 32

    def __post_init__(self) -> None:
        if self.type not in INDEX_TYPES:
            raise InvalidValueError(f"unknown index type {self.type!r}; valid: {', '.join(INDEX_TYPES)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _faiss():
    import faiss  # heavy; only when an index is built or loaded

    return faiss


def gpu_available() -> bool:
    """True when faiss-gpu is installed and sees a GPU."""
    faiss = _faiss()
    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


@functools.cache
def _gpu_resources() -> Any:
    """One StandardGpuResources for the process, as FAISS advises: each one reserves its own
    scratch memory on the GPU, and a copy of the index is made again after every write."""
    return _faiss().StandardGpuResources()


@dataclass
class VectorIndex:
    """A FAISS index plus the tombstones of removed labels (HNSW only). Thread-safe."""

    index: Any  # faiss.Index (id-mapped)
    params: IndexParams
    dim: int
    tombstones: set[int] = field(default_factory=set)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _search_index: Any = field(default=None, repr=False)  # a GPU copy when one is in use

    @classmethod
    def build(cls, vectors: np.ndarray, labels: np.ndarray, params: IndexParams) -> VectorIndex:
        """vectors [N, D] float32 L2-normalised, labels [N] int64 -> index."""
        faiss = _faiss()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        labels = np.ascontiguousarray(labels, dtype=np.int64)
        n, dim = vectors.shape
        if params.type == "flat":
            index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        elif params.type == "hnsw":
            inner = faiss.IndexHNSWFlat(dim, params.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = params.hnsw_ef_construction
            inner.hnsw.efSearch = params.hnsw_ef_search
            index = faiss.IndexIDMap2(inner)
        else:
            nlist = params.ivf_nlist or max(1, int(math.sqrt(max(n, 1))))
            nlist = min(nlist, max(n, 1))  # cannot train more centroids than vectors
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            index.train(vectors)
            index.nprobe = params.ivf_nprobe
            params = IndexParams(**{**params.to_dict(), "ivf_nlist": nlist})
        if n:
            index.add_with_ids(vectors, labels)
        built = cls(index=index, params=params, dim=dim)
        built._attach_gpu()
        return built

    def _attach_gpu(self) -> None:
        """Search a GPU copy when faiss-gpu sees a GPU (flat and ivf; results equal CPU within float
        tolerance). The CPU index stays the one that is written to and saved."""
        if self.params.type == "hnsw" or not gpu_available():
            self._search_index = None
            return
        faiss = _faiss()
        self._search_index = faiss.index_cpu_to_gpu(_gpu_resources(), 0, self.index)

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal) - len(self.tombstones)

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """queries [Q, D] -> (scores [Q, k'], labels [Q, k']) with k' <= k; FAISS's -1 fillers and
        tombstoned labels are dropped by the caller via label < 0 (they are set to -1 here).
        `allowed`: int64 labels; only those rows are searched (None: all)."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        with self._lock:
            extra = len(self.tombstones)
            if allowed is not None:
                scores, labels = self._search_allowed(queries, k + extra, allowed)
            else:
                fetch = min(k + extra, max(int(self.index.ntotal), 1))
                target = self._search_index if self._search_index is not None else self.index
                scores, labels = target.search(queries, fetch)
            if extra:
                dead = np.isin(labels, np.fromiter(self.tombstones, dtype=np.int64))
                labels = np.where(dead, -1, labels)
        # Move the live hits to the front of each row, keeping their order, then cut to k.
        order = np.argsort(labels < 0, axis=1, kind="stable")
        scores = np.take_along_axis(scores, order, axis=1)[:, :k]
        labels = np.take_along_axis(labels, order, axis=1)[:, :k]
        return scores, labels

    def _search_allowed(
        self, queries: np.ndarray, k: int, allowed: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k best rows among `allowed`, on the CPU index (FAISS's GPU indexes take no selector)."""
        faiss = _faiss()
        allowed = np.ascontiguousarray(allowed, dtype=np.int64)
        fetch = max(1, min(k, len(allowed)))
        if len(allowed) == 0:
            return np.full((len(queries), 1), -np.inf, dtype=np.float32), np.full((len(queries), 1), -1)
        small = len(allowed) <= EXACT_FILTER_ROWS
        if self.params.type == "hnsw" and small:
            # HNSW keeps removed vectors (tombstones), so every label ever added reconstructs.
            scores = queries @ self.index.reconstruct_batch(allowed).T  # [Q, A]
            top = np.argsort(-scores, axis=1, kind="stable")[:, :fetch]
            return np.take_along_axis(scores, top, axis=1), allowed[top]
        selector = faiss.IDSelectorBatch(allowed)  # kept referenced until the search returns
        if self.params.type == "hnsw":
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(self.params.hnsw_ef_search, fetch))
        elif self.params.type == "ivf":
            nprobe = int(self.index.nlist) if small else self.params.ivf_nprobe
            params = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)
        else:
            params = faiss.SearchParameters(sel=selector)
        return self.index.search(queries, fetch, params=params)

    def add(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        with self._lock:
            self.index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.ascontiguousarray(labels, dtype=np.int64)
            )
            self.tombstones.difference_update(int(x) for x in labels)
            self._attach_gpu()

    def remove(self, labels: np.ndarray) -> None:
        with self._lock:
            if self.params.type == "hnsw":
                self.tombstones.update(int(x) for x in labels)
            else:
                self.index.remove_ids(np.ascontiguousarray(labels, dtype=np.int64))
                self._attach_gpu()

    def save(self, path: Path) -> None:
        with self._lock:
            _faiss().write_index(self.index, str(path))

    @classmethod
    def load(
        cls, path: Path, params: IndexParams, dim: int, tombstones: set[int] | None = None
    ) -> VectorIndex:
        faiss = _faiss()
        index = faiss.read_index(str(path))
        if index.d != dim:
            raise ValueError(f"FAISS index {path} has dimension {index.d}, its manifest says {dim}")
        if params.type == "hnsw":
            faiss.downcast_index(index.index).hnsw.efSearch = params.hnsw_ef_search
        elif params.type == "ivf":
            index.nprobe = params.ivf_nprobe
        loaded = cls(index=index, params=params, dim=dim, tombstones=set(tombstones or ()))
        loaded._attach_gpu()
        return loaded
