"""Lexical BM25 retrieval over Kiwi morphemes: a sparse [rows, terms] matrix of BM25 term weights.

Row r holds the BM25 summand of each term of document r (`Bm25Stats.term_weights`), so a query's
score against every document is one sparse matrix-vector product: score = W @ q, with q the
query's term counts (duplicates count, as in rank_bm25's `get_scores`). Rows are FAISS labels, so
the lexical and dense sides name documents the same way. Rows added after the last rebuild are
weighted with that rebuild's statistics (see README: incremental updates). Terms are those of the
statistics' analyser (`Bm25Stats.analyzer`), so a synonym in a query meets its group's canonical
term in the documents: "공동인증서" scores against "공인인증서" as if it were written so.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import sparse

from models.bm25 import Bm25Stats

_MATRIX_FILE = "lexical.npz"
_TERMS_FILE = "lexical_terms.json"


class LexicalIndex:
    """BM25 document-term weights, addressable by row label. Thread-safe."""

    def __init__(self, stats: Bm25Stats, terms: list[str], rows: dict[int, dict[int, float]]) -> None:
        self.stats = stats
        self._terms = terms  # column -> term (the statistics' vocabulary, then terms first seen later)
        self._columns = {t: i for i, t in enumerate(terms)}
        self._rows = rows  # label -> {column: weight}
        self._lock = threading.RLock()
        self._matrix: sparse.csr_matrix | None = None
        self._labels: np.ndarray | None = None

    @classmethod
    def build(
        cls, stats: Bm25Stats, labels: Sequence[int], doc_terms: Sequence[Sequence[str]]
    ) -> LexicalIndex:
        index = cls(stats, list(stats.vocab), {})
        for label, terms in zip(labels, doc_terms, strict=True):
            index._set_row(int(label), terms)
        return index

    def copy(self) -> LexicalIndex:
        """An independent copy. Rows are replaced, never changed in place, and a compiled matrix
        is never changed either, so the copy shares them until one side changes."""
        with self._lock:
            twin = LexicalIndex(self.stats, list(self._terms), dict(self._rows))
            twin._matrix, twin._labels = self._matrix, self._labels
            return twin

    def _set_row(self, label: int, terms: Sequence[str]) -> None:
        row: dict[int, float] = {}
        for term, weight in self.stats.term_weights(terms).items():
            column = self._columns.get(term)
            if column is None:
                column = self._columns[term] = len(self._terms)
                self._terms.append(term)
            row[column] = weight
        self._rows[label] = row
        self._matrix = None

    def add(self, labels: Sequence[int], doc_terms: Sequence[Sequence[str]]) -> None:
        with self._lock:
            for label, terms in zip(labels, doc_terms, strict=True):
                self._set_row(int(label), terms)

    def remove(self, labels: Sequence[int]) -> None:
        with self._lock:
            for label in labels:
                self._rows.pop(int(label), None)
            self._matrix = None

    def _compiled(self) -> tuple[sparse.csr_matrix, np.ndarray]:
        with self._lock:
            if self._matrix is None or self._labels is None:
                labels = np.array(sorted(self._rows), dtype=np.int64)
                indptr = [0]
                columns: list[int] = []
                values: list[float] = []
                for label in labels:
                    row = self._rows[int(label)]
                    columns.extend(row)
                    values.extend(row.values())
                    indptr.append(len(columns))
                self._matrix = sparse.csr_matrix(
                    (np.array(values, dtype=np.float64), np.array(columns, dtype=np.int64), indptr),
                    shape=(len(labels), len(self._terms)),
                )
                self._labels = labels
            return self._matrix, self._labels

    def search(
        self, query_terms: Sequence[str], k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """-> (scores [k'], labels [k']) best first; documents sharing no term with the query are left
        out, and with `allowed` (labels) every document not in it, before the top k is taken."""
        matrix, labels = self._compiled()
        counts = Counter(t for t in query_terms if t in self._columns)
        if not counts or matrix.shape[0] == 0:
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        query = np.zeros(matrix.shape[1])
        for term, count in counts.items():
            query[self._columns[term]] = count
        scores = matrix @ query  # [rows]
        hits = np.flatnonzero(scores > 0)
        if allowed is not None:
            hits = hits[np.isin(labels[hits], allowed)]
        # Highest score first; ties by label so results are deterministic.
        order = hits[np.lexsort((labels[hits], -scores[hits]))][:k]
        return scores[order], labels[order]

    def save(self, folder: Path) -> None:
        matrix, labels = self._compiled()
        sparse.save_npz(folder / _MATRIX_FILE, matrix, compressed=True)
        payload = {"terms": self._terms, "labels": labels.tolist()}
        (folder / _TERMS_FILE).write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, stats: Bm25Stats) -> LexicalIndex:
        matrix = sparse.load_npz(folder / _MATRIX_FILE).tocsr()
        payload = json.loads((folder / _TERMS_FILE).read_text(encoding="utf-8"))
        rows: dict[int, dict[int, float]] = {}
        for position, label in enumerate(payload["labels"]):
            start, end = matrix.indptr[position], matrix.indptr[position + 1]
            rows[int(label)] = dict(
                zip(matrix.indices[start:end].tolist(), matrix.data[start:end].tolist(), strict=True)
            )
        return cls(stats, list(payload["terms"]), rows)
