"""One index in memory: FAISS vectors, lexical BM25 rows, BM25 statistics and the label <-> FAQ id map.

On disk it is one snapshot folder (see `indexing.snapshots`):
    manifest.json   what built it: model and weights hash, pooling, index type, counts, versions
    index.faiss     the id-mapped FAISS index (labels are int64)
    labels.json     {"labels": [...], "ids": [...], "digests": [...]}: label -> FAQ id and question digest
    bm25_*          the BM25 statistics fitted on the corpus at build time
    lexical.*       BM25 document-term weights for lexical search
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from indexing.lexical import LexicalIndex
from indexing.vector_index import IndexParams, VectorIndex
from models.bm25 import Bm25FormatError, Bm25Stats

FORMAT_VERSION = 1
INDEX_FILE = "index.faiss"
LABELS_FILE = "labels.json"


class IndexMismatchError(ValueError):
    """The snapshot was built with another model, prefix, pooling or function-word weight than the
    one configured, or by a version whose BM25 terms this one does not read."""


class DamagedSnapshotError(ValueError):
    """A snapshot's files cannot be read back; the message names the file and how to recover."""


def question_digest(question: str) -> str:
    """Short digest of an entry's indexed text: tells whether an entry changed since the snapshot."""
    return hashlib.sha256(question.encode("utf-8")).hexdigest()[:16]


@dataclass
class LoadedIndex:
    manifest: dict[str, Any]
    vectors: VectorIndex
    lexical: LexicalIndex
    bm25: Bm25Stats
    id_of: dict[int, str]  # label -> FAQ id
    label_of: dict[str, int]  # FAQ id -> label
    digest_of: dict[str, str]  # FAQ id -> question digest
    next_label: int
    version: str = ""
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def pooling(self) -> str:
        return str(self.manifest["pooling"])

    @property
    def count(self) -> int:
        return len(self.label_of)

    def save_files(self, folder: Path) -> None:
        """Write everything but the manifest (the snapshot writer adds it) into `folder`."""
        with self.lock:
            self.vectors.save(folder / INDEX_FILE)
            labels = sorted(self.id_of)
            ids = [self.id_of[label] for label in labels]
            payload = {"labels": labels, "ids": ids, "digests": [self.digest_of[i] for i in ids]}
            (folder / LABELS_FILE).write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
            self.bm25.save(folder)
            self.lexical.save(folder)

    @classmethod
    def load(cls, folder: Path, manifest: dict[str, Any], version: str) -> LoadedIndex:
        """Read a snapshot folder. Whatever is missing, cut short or malformed in it (a failing disk,
        a hand edit, a partial copy) raises DamagedSnapshotError naming the file and the fix."""
        if manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(
                f"snapshot {folder} has format {manifest.get('format_version')}, this version reads "
                f"{FORMAT_VERSION}; rebuild the index (faqsearch index build)"
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
            if not len(labels) == len(ids) == len(digests):
                raise ValueError(f"{len(labels)} labels, {len(ids)} ids and {len(digests)} digests")
            reading = "bm25_*"
            bm25 = Bm25Stats.load(folder)
            reading = "lexical.*"
            lexical = LexicalIndex.load(folder, bm25)
        except Bm25FormatError as exc:  # not damaged: written by an older version, with other terms
            raise IndexMismatchError(
                f"snapshot {folder} was built by an older version of faqsearch whose BM25 terms and "
                f"weights this one does not read ({exc}). Rebuild the index (faqsearch index build)"
            ) from exc
        except Exception as exc:  # any parse failure of any file means the same: damaged
            raise DamagedSnapshotError(
                f"snapshot {folder} is incomplete or damaged: {reading}: {type(exc).__name__}: {exc}. "
                "Roll back to the previous snapshot (faqsearch index rollback) or rebuild the index "
                "(faqsearch index build)"
            ) from exc
        id_of = dict(zip(labels, ids, strict=True))
        return cls(
            manifest=manifest,
            vectors=vectors,
            lexical=lexical,
            bm25=bm25,
            id_of=id_of,
            label_of={faq_id: label for label, faq_id in id_of.items()},
            digest_of=dict(zip(ids, digests, strict=True)),
            next_label=max(labels, default=-1) + 1,
            version=version,
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
        entry_prefix: str | None = None,
        function_weight: float | None = None,
    ) -> None:
        """Refuse to serve an index built by another model, prefix, token limit, pooling or
        function-word weight, naming both sides. (The entry prefix goes before every indexed text,
        so another one moves every vector of the index; another query prefix moves every query's;
        another token limit moves the vectors of the entries longer than the lower one; another
        function-word weight moves every BM25 weight.) entry_prefix None: = prefix, and a manifest
        without one was built with its entries behind its query prefix; `pooling` and
        `function_weight` None: not checked."""
        built = self.manifest["model"]
        entry_prefix = prefix if entry_prefix is None else entry_prefix
        problems = []
        if built["sha256"] != fingerprint or int(self.manifest["dim"]) != dim:
            problems.append(
                f"it was built with model {built['name']!r} (weights sha256 {built['sha256'][:12]}, dim "
                f"{self.manifest['dim']}) but the configured model is {model!r} (sha256 {fingerprint[:12]}, dim {dim})"
            )
        if built.get("prefix", prefix) != prefix:
            problems.append(
                f"it was built with the prefix {built['prefix']!r} before every query but the configured "
                f"prefix is {prefix!r} (FAQSEARCH_MODEL_PREFIX)"
            )
        built_entry = built.get("entry_prefix", built.get("prefix", entry_prefix))
        if built_entry != entry_prefix:
            problems.append(
                f"it was built with the entry prefix {built_entry!r} before every FAQ entry but the "
                f"configured entry prefix is {entry_prefix!r} (FAQSEARCH_ENTRY_PREFIX, unset: the query prefix)"
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
        if function_weight is not None and function_weight != self.bm25.function_weight:
            problems.append(
                f"it was built with function-word weight {self.bm25.function_weight:g} but the configured "
                f"FAQSEARCH_FUNCTION_WORD_WEIGHT is {function_weight:g}"
            )
        if problems:
            raise IndexMismatchError(
                f"index {self.version or '(unsaved)'} does not match the configuration: "
                + "; ".join(problems)
                + ". Rebuild the index with the configured settings (faqsearch index build), or set "
                "FAQSEARCH_MODEL / FAQSEARCH_MODEL_PREFIX / FAQSEARCH_ENTRY_PREFIX / FAQSEARCH_MAX_LENGTH / "
                "FAQSEARCH_POOLING / FAQSEARCH_FUNCTION_WORD_WEIGHT to what the index was built with."
            )

    def labels_to_ids(self, labels: np.ndarray) -> list[str | None]:
        """FAISS labels -> FAQ ids; None for fillers (-1) and labels removed meanwhile."""
        return [self.id_of.get(int(label)) if label >= 0 else None for label in labels]
