"""On-disk cache of pooled sentence vectors, so that a second evaluation run encodes nothing.

One SQLite file, one row per (namespace, text). The namespace is a hash of everything a vector
depends on besides its text: the model's weights (sha256), the text prefix, max_length, the
pooling variant and, for BM25 pooling only, the BM25 statistics (function-word weight included); change any of them and the lookup
misses instead of returning a stale vector. Vectors are stored as raw float32 bytes, so a hit gives
bit-identical numbers to the run that wrote it. Token vectors (all layers) are not cached: at
13 x T x 384 floats per sentence they would be ~500 KB each; pooled vectors are 1.5 KB.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from models.bm25 import Bm25Stats

FORMAT_VERSION = 1
_FILE = "vectors.sqlite3"
_CHUNK = 500  # SQLite host parameters per query stay well under its limit


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/faqsearch/eval, else ~/.cache/faqsearch/eval (the CLI lets the setting
    FAQSEARCH_EVAL_CACHE and --cache override it)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "faqsearch" / "eval"


def bm25_fingerprint(stats: Bm25Stats) -> str:
    """sha256 of everything in the statistics that a BM25 weight depends on."""
    digest = hashlib.sha256()
    params = [stats.n_docs, stats.avgdl, stats.unseen_idf, stats.k1, stats.b, stats.epsilon]
    params.append(stats.function_weight)
    digest.update(json.dumps(params).encode())
    digest.update(json.dumps(stats.vocab, ensure_ascii=False).encode())
    digest.update(np.ascontiguousarray(stats.idf, dtype=np.float64).tobytes())
    return digest.hexdigest()


def namespace(
    *,
    model_sha256: str,
    prefix: str,
    max_length: int,
    pooling: str,
    bm25_sha256: str | None,
    precision: str = "fp32",
) -> str:
    """The cache key of one (model, settings, pooling) combination; texts are keyed within it."""
    key: dict[str, object] = {
        "format": FORMAT_VERSION,
        "model": model_sha256,
        "prefix": prefix,
        "max_length": max_length,
        "pooling": pooling,
        "bm25": bm25_sha256,
    }
    if precision != "fp32":  # fp32 keys stay those of caches written before precisions existed
        key["precision"] = precision
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class VectorCache:
    """Pooled vectors by (namespace, text). Safe to share between processes (SQLite WAL)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder).expanduser()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.folder / _FILE, timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS vectors ("
                "namespace TEXT NOT NULL, text_sha256 TEXT NOT NULL, vector BLOB NOT NULL, "
                "PRIMARY KEY (namespace, text_sha256)) WITHOUT ROWID"
            )
        except (OSError, sqlite3.Error) as exc:
            raise OSError(f"cannot use {self.folder} as the evaluation cache: {exc}") from exc

    def get_many(self, space: str, texts: Sequence[str], dim: int) -> dict[str, np.ndarray]:
        """The cached [dim] float32 vector of each text that has one."""
        keys = {_text_key(t): t for t in texts}
        found: dict[str, np.ndarray] = {}
        key_list = list(keys)
        for start in range(0, len(key_list), _CHUNK):
            chunk = key_list[start : start + _CHUNK]
            rows = self._db.execute(
                f"SELECT text_sha256, vector FROM vectors WHERE namespace = ? "
                f"AND text_sha256 IN ({','.join('?' * len(chunk))})",
                [space, *chunk],
            )
            for key, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape == (dim,):  # anything else is not ours: treat as a miss
                    found[keys[key]] = vector
        return found

    def put_many(self, space: str, items: Iterable[tuple[str, np.ndarray]]) -> None:
        rows = [
            (space, _text_key(text), np.ascontiguousarray(vector, dtype=np.float32).tobytes())
            for text, vector in items
        ]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> VectorCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
