"""One index in memory: FAISS vectors, lexical BM25 rows, BM25 statistics and the label <-> FAQ id map.

On disk it is one snapshot folder (see `indexing.snapshots`):
    manifest.json   what built it: model and weights hash, pooling, index type, counts, versions
    index.faiss     the id-mapped FAISS index (labels are int64)
    labels.json     {"labels", "ids", "sources", "digests"}, one item per row: label -> FAQ id, which
                    text of the entry the row is ([kind, index, start, end], `indexing.rows`) and
                    the entry's digest
    bm25_*          the BM25 statistics fitted on the corpus at build time
    lexical.*       BM25 document-term weights for lexical search
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from indexing.lexical import LexicalIndex
from indexing.rows import RowPolicy
from indexing.vector_index import IndexParams, VectorIndex
from models.bm25 import Bm25Stats

FORMAT_VERSION = 2  # 2: several rows per entry (question, alternates, answer chunks)
READABLE_FORMATS = (1, 2)  # 1: one row per entry, its question
INDEX_FILE = "index.faiss"
LABELS_FILE = "labels.json"


class IndexMismatchError(ValueError):
    """The snapshot was built with another model, prefix or pooling than the one configured."""


class DamagedSnapshotError(ValueError):
    """A snapshot's files cannot be read back; the message names the file and how to recover."""


QUESTION_SOURCE = ("question", 0, 0, 0)


@dataclass
class LoadedIndex:
    manifest: dict[str, Any]
    vectors: VectorIndex
    lexical: LexicalIndex
    bm25: Bm25Stats
    id_of: dict[int, str]  # row label -> FAQ id
    labels_of: dict[str, list[int]]  # FAQ id -> its row labels; the first (its question) also names
    #                                   its lexical document
    digest_of: dict[str, str]  # FAQ id -> digest of its indexed texts (indexing.rows.entry_digest)
    next_label: int
    version: str = ""
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    source_of: dict[int, tuple[str, int, int, int]] = field(default_factory=dict)  # label -> row source;
    #                                   absent: the question

    @property
    def pooling(self) -> str:
        return str(self.manifest["pooling"])

    @property
    def count(self) -> int:
        return len(self.labels_of)

    def source(self, label: int) -> tuple[str, int, int, int]:
        """Which text of its entry row `label` is: (kind, index, start, end), see `indexing.rows`."""
        return self.source_of.get(label, QUESTION_SOURCE)

    def save_files(self, folder: Path) -> None:
        """Write everything but the manifest (the snapshot writer adds it) into `folder`."""
        with self.lock:
            self.vectors.save(folder / INDEX_FILE)
            labels = sorted(self.id_of)
            ids = [self.id_of[label] for label in labels]
            payload = {
                "labels": labels,
                "ids": ids,
                "sources": [list(self.source(label)) for label in labels],
                "digests": [self.digest_of[i] for i in ids],
            }
            (folder / LABELS_FILE).write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
            self.bm25.save(folder)
            self.lexical.save(folder)

    @classmethod
    def load(cls, folder: Path, manifest: dict[str, Any], version: str) -> LoadedIndex:
        """Read a snapshot folder. Whatever is missing, cut short or malformed in it (a failing disk,
        a hand edit, a partial copy) raises DamagedSnapshotError naming the file and the fix."""
        if manifest.get("format_version") not in READABLE_FORMATS:
            raise ValueError(
                f"snapshot {folder} has format {manifest.get('format_version')}, this version reads "
                f"{', '.join(map(str, READABLE_FORMATS))}; rebuild the index (faqsearch index build)"
            )
        reading = "manifest.json"
        try:
            # Everything check_compatible and search read from the manifest, checked here once.
            str(manifest["model"]["name"]), str(manifest["model"]["sha256"]), str(manifest["pooling"])
            params = IndexParams(**manifest["index"])
            dim = int(manifest["dim"])
            reading = INDEX_FILE
            vectors = VectorIndex.load(folder / INDEX_FILE, params, dim)
            reading = LABELS_FILE
            payload = json.loads((folder / LABELS_FILE).read_text(encoding="utf-8"))
            labels = [int(label) for label in payload["labels"]]
            ids, digests = [str(i) for i in payload["ids"]], [str(d) for d in payload["digests"]]
            sources = [
                (str(k), int(i), int(a), int(b))
                for k, i, a, b in payload.get("sources", [QUESTION_SOURCE] * len(labels))
            ]
            if not len(labels) == len(ids) == len(digests) == len(sources):
                raise ValueError(
                    f"{len(labels)} labels, {len(ids)} ids, {len(sources)} sources and {len(digests)} digests"
                )
            reading = "bm25_*"
            bm25 = Bm25Stats.load(folder)
            reading = "lexical.*"
            lexical = LexicalIndex.load(folder, bm25)
        except Exception as exc:  # any parse failure of any file means the same: damaged
            raise DamagedSnapshotError(
                f"snapshot {folder} is incomplete or damaged: {reading}: {type(exc).__name__}: {exc}. "
                "Roll back to the previous snapshot (faqsearch index rollback) or rebuild the index "
                "(faqsearch index build)"
            ) from exc
        id_of = dict(zip(labels, ids, strict=True))
        labels_of: dict[str, list[int]] = {}
        for label, faq_id in sorted(id_of.items()):  # built in row order: the question row first
            labels_of.setdefault(faq_id, []).append(label)
        return cls(
            manifest=manifest,
            vectors=vectors,
            lexical=lexical,
            bm25=bm25,
            id_of=id_of,
            labels_of=labels_of,
            digest_of=dict(zip(ids, digests, strict=True)),
            next_label=max(labels, default=-1) + 1,
            version=version,
            source_of={
                label: src for label, src in zip(labels, sources, strict=True) if src != QUESTION_SOURCE
            },
        )

    def check_compatible(
        self,
        *,
        model: str,
        fingerprint: str,
        prefix: str,
        max_length: int,
        pooling: str | None,
        dim: int,
        rows: RowPolicy | None = None,
    ) -> None:
        """Refuse to serve an index built by another model, prefix, token limit or pooling, naming
        both sides. (The prefix goes before every sentence, so another prefix moves every vector;
        another token limit moves the vectors of the entries longer than the lower one.)"""
        built = self.manifest["model"]
        problems = []
        if built["sha256"] != fingerprint or int(self.manifest["dim"]) != dim:
            problems.append(
                f"it was built with model {built['name']!r} (weights sha256 {built['sha256'][:12]}, dim "
                f"{self.manifest['dim']}) but the configured model is {model!r} (sha256 {fingerprint[:12]}, dim {dim})"
            )
        if built.get("prefix", prefix) != prefix:
            problems.append(
                f"it was built with the prefix {built['prefix']!r} before every sentence but the configured "
                f"prefix is {prefix!r}"
            )
        if int(built.get("max_length", max_length)) != max_length:
            problems.append(
                f"it was built with sentences cut at {built['max_length']} tokens but the configured limit "
                f"is {max_length}"
            )
        if pooling is not None and pooling != self.pooling:
            problems.append(
                f"it was built with pooling {self.pooling!r} but the configured pooling is {pooling!r}"
            )
        if rows is not None and (built_rows := RowPolicy.from_manifest(self.manifest)) != rows:
            problems.append(
                f"it was built with {built_rows.describe()} but the configuration has {rows.describe()}"
            )
        if problems:
            raise IndexMismatchError(
                f"index {self.version or '(unsaved)'} does not match the configuration: "
                + "; ".join(problems)
                + ". Rebuild the index with the configured settings (faqsearch index build), or set "
                "FAQSEARCH_MODEL / FAQSEARCH_MODEL_PREFIX / FAQSEARCH_MAX_LENGTH / FAQSEARCH_POOLING / "
                "FAQSEARCH_INDEX_ANSWERS / FAQSEARCH_ANSWER_WEIGHT to what "
                "the index was built with."
            )

    def labels_to_ids(self, labels: np.ndarray) -> list[str | None]:
        """FAISS labels -> FAQ ids; None for fillers (-1) and labels removed meanwhile."""
        return [self.id_of.get(int(label)) if label >= 0 else None for label in labels]
