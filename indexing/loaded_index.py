"""One index in memory: FAISS vectors, lexical BM25 rows, BM25 statistics and the label <-> FAQ id map.

On disk it is one snapshot folder (see `indexing.snapshots`):
    manifest.json   what built it: model and weights hash, pooling, index type, counts, versions
    index.faiss     the id-mapped FAISS index (labels are int64)
    labels.json     {"labels", "ids", "sources", "digests"}, one item per row: label -> FAQ id, which
                    text of the entry the row is ([kind, index, start, end], `indexing.rows`) and
                    the entry's digest; and "categories": {FAQ id: category} of the entries with one
    bm25_*          the BM25 statistics fitted on the corpus at build time
    lexical.*       BM25 document-term weights for lexical search
    user_dict.txt   copies of the configured domain-word files, when there are any; the manifest's
    synonyms.txt    "domain_words" records each one's sha256 and source path, and the index is
                    analysed with these copies, never with the configured files
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from indexing.lexical import LexicalIndex
from indexing.rows import Row, RowPolicy, entry_digest, lexical_text
from indexing.snapshots import DamagedSnapshotError, check_files
from indexing.store import FaqEntry
from indexing.vector_index import IndexParams, VectorIndex
from models.bm25 import Bm25FormatError, Bm25Stats
from models.domain_words import DomainWords, WordFile
from models.errors import FaqsearchError
from models.identity import EncoderIdentity, IndexMismatchError, mismatch_error  # the error: re-exported
from models.morphemes import analyzer_for

FORMAT_VERSION = 2  # 2: several rows per entry (question, alternates, answer chunks)
READABLE_FORMATS = (1, 2)  # 1: one row per entry, its question
INDEX_FILE = "index.faiss"
LABELS_FILE = "labels.json"
# Domain-word files: the manifest's key, and per kind its copy's name and its setting.
DOMAIN_WORDS_KEY = "domain_words"
WORD_FILES = {"user_dict": "user_dict.txt", "synonyms": "synonyms.txt"}
WORD_SETTINGS = {"user_dict": "FAQSEARCH_USER_DICT", "synonyms": "FAQSEARCH_SYNONYMS"}
_WORD_NAMES = {"user_dict": "user dictionary", "synonyms": "synonym file"}


def words_manifest(words: DomainWords) -> dict[str, dict[str, str]]:
    """The manifest's record of the domain-word files an index is analysed with."""
    files = {"user_dict": words.user_dict, "synonyms": words.synonyms}
    return {
        kind: {"file": WORD_FILES[kind], "sha256": file.sha256, "source": file.path}
        for kind, file in files.items()
        if file is not None
    }


def _read_word_copy(folder: Path, kind: str, record: dict[str, Any]) -> WordFile:
    """The snapshot's own copy of one domain-word file, checked against its sha256."""
    copy = folder / WORD_FILES[kind]
    file = WordFile(str(copy), copy.read_bytes())
    if file.sha256 != record["sha256"]:
        raise ValueError(
            f"{copy.name} has sha256 {file.sha256[:12]}, the manifest says {record['sha256'][:12]}"
        )
    return file


QUESTION_SOURCE = ("question", 0, 0, 0)


Source = tuple[str, int, int, int]  # (kind, index, start, end) of a row, see `indexing.rows`


class NoVectorsError(FaqsearchError, ValueError):
    """The index has its lexical half only (`indexing.build.build_lexical`): no dense search."""


class LoadedIndex:
    """FAISS vectors, lexical BM25 rows and the row label <-> FAQ id maps, kept consistent by the
    index itself: outsiders read the maps through read-only views and change them only with `apply`.

    Labels are never reused: new rows get labels from `_next_label` on. Each entry's labels are its
    rows in order (question, alternates, answer chunks); its first also names its lexical document.
    The dense half (`vectors`) may be missing: an index from `build_lexical` serves lexical search
    only, until `indexing.build.build_dense` makes a whole index of it.

    Lock: `_lock` (an RLock) is held by `apply` and `save_files`, so a snapshot is written from one
    consistent state and two writes never interleave their steps. Searches take no lock here: each
    map read is atomic, `VectorIndex` and `LexicalIndex` guard themselves with their own locks, and
    `apply` adds new rows before it retires old ones, so a concurrent search finds every entry under
    some label (possibly twice for a moment: the searcher keeps each entry's best).
    """

    def __init__(
        self,
        manifest: dict[str, Any],
        *,
        bm25: Bm25Stats,
        lexical: LexicalIndex,
        id_of: Mapping[int, str],
        digest_of: Mapping[str, str],
        source_of: Mapping[int, Source] | None = None,
        vectors: VectorIndex | None = None,
        version: str = "",
        category_of: Mapping[str, str | None] | None = None,
    ) -> None:
        """`id_of`: row label -> FAQ id; `digest_of`: FAQ id -> digest of its indexed texts
        (`indexing.rows.entry_digest`); `source_of`: label -> row source (absent: the question);
        `category_of`: FAQ id -> its category (absent or None: none).
        The index keeps copies of the maps, so no one else holds them."""
        self.manifest = manifest
        self.version = version
        self._bm25 = bm25
        self._lexical = lexical
        self._vectors = vectors
        self._lock = threading.RLock()
        self._id_of = dict(id_of)
        self._digest_of = dict(digest_of)
        self._source_of = {label: s for label, s in (source_of or {}).items() if s != QUESTION_SOURCE}
        labels_of: dict[str, list[int]] = {}
        for label, faq_id in sorted(self._id_of.items()):  # in row order: the question row first
            labels_of.setdefault(faq_id, []).append(label)
        self._labels_of = {faq_id: tuple(labels) for faq_id, labels in labels_of.items()}
        self._next_label = max(self._id_of, default=-1) + 1
        # Categories: each entry's, and each category's members as a frozenset that is replaced,
        # never changed, so a search iterating one while a write runs sees a consistent set.
        self._category_of: dict[str, str] = {}
        self._members: dict[str, frozenset[str]] = {}
        self._allowed: dict[tuple[str, ...], np.ndarray] = {}  # labels per filter, reset by writes
        self._set_categories(
            {faq_id: c for faq_id, c in (category_of or {}).items() if faq_id in self._labels_of}
        )
        # Read-only views, made once: searches read them in their inner loops.
        self._views = (
            MappingProxyType(self._id_of),
            MappingProxyType(self._labels_of),
            MappingProxyType(self._digest_of),
        )

    @property
    def bm25(self) -> Bm25Stats:
        return self._bm25

    @property
    def lexical(self) -> LexicalIndex:
        return self._lexical

    @property
    def has_vectors(self) -> bool:
        return self._vectors is not None

    @property
    def vectors(self) -> VectorIndex:
        if self._vectors is None:
            raise NoVectorsError("this index has its lexical half only; build_dense adds the dense half")
        return self._vectors

    @property
    def id_of(self) -> Mapping[int, str]:
        """Row label -> FAQ id (read-only)."""
        return self._views[0]

    @property
    def labels_of(self) -> Mapping[str, tuple[int, ...]]:
        """FAQ id -> its row labels in row order (read-only)."""
        return self._views[1]

    @property
    def digest_of(self) -> Mapping[str, str]:
        """FAQ id -> digest of its indexed texts (read-only)."""
        return self._views[2]

    @property
    def pooling(self) -> str:
        return str(self.manifest["pooling"])

    @property
    def row_policy(self) -> RowPolicy:
        """What of an entry the index holds (`indexing.rows`)."""
        return RowPolicy.from_manifest(self.manifest)

    @property
    def count(self) -> int:
        return len(self._labels_of)

    def category(self, faq_id: str) -> str | None:
        return self._category_of.get(faq_id)

    def has_category(self, name: str) -> bool:
        return bool(self._members.get(name))

    def categories(self) -> dict[str, int]:
        """Each category with its number of entries, by name."""
        return {name: len(ids) for name, ids in sorted(list(self._members.items())) if ids}

    def allowed_labels(self, categories: Sequence[str]) -> np.ndarray:
        """The row labels of the entries in any of `categories` (int64, sorted): what a filtered
        search may return. Unknown categories contribute nothing."""
        key = tuple(sorted(set(categories)))
        cache = self._allowed  # this dict, even if a write replaces it meanwhile: never a stale entry
        cached = cache.get(key)
        if cached is None:
            labels_of = self._labels_of
            found = [
                label
                for name in key
                for faq_id in self._members.get(name, ())
                for label in labels_of.get(faq_id, ())
            ]
            cached = np.array(sorted(found), dtype=np.int64)
            cache[key] = cached
        return cached

    def _set_categories(self, changes: Mapping[str, str | None]) -> None:
        """Give each entry in `changes` its category (None: none), each touched category's member
        set rebuilt once."""
        touched: dict[str, set[str]] = {}
        for faq_id, category in changes.items():
            old = self._category_of.get(faq_id)
            if old == category:
                continue
            if old is not None:
                touched.setdefault(old, set(self._members.get(old, ()))).discard(faq_id)
                del self._category_of[faq_id]
            if category:
                touched.setdefault(category, set(self._members.get(category, ()))).add(faq_id)
                self._category_of[faq_id] = category
        for name, ids in touched.items():
            if ids:
                self._members[name] = frozenset(ids)
            else:
                self._members.pop(name, None)
        self._allowed = {}

    def recategorise(self, entries: Sequence[FaqEntry]) -> None:
        """Take the entries' categories as they are now (their texts unchanged: nothing to encode)."""
        with self._lock:
            self._set_categories({e.id: e.category for e in entries})

    def source(self, label: int) -> Source:
        """Which text of its entry row `label` is: (kind, index, start, end), see `indexing.rows`."""
        return self._source_of.get(label, QUESTION_SOURCE)

    @property
    def words(self) -> DomainWords:
        """The domain words the index is analysed with (its BM25 statistics' analyser's)."""
        return self.bm25.analyzer.words

    def apply(
        self,
        added: Sequence[FaqEntry],
        removed: Sequence[str],
        rows: Sequence[Sequence[Row]] = (),
        vectors: np.ndarray | None = None,
    ) -> None:
        """Hold `added` (new or changed entries) as they are now, and no longer the entries with
        ids `removed`. `rows`: each added entry's rows (`indexing.build.rows_of`); `vectors`: [R, D]
        the rows' vectors in that order (`encode_entries`, with this index's pooling); the lexical
        side is analysed here, with the index's own statistics. A changed entry gets all its rows
        anew, so an alternate removed by an edit leaves search at once."""
        if not added and not removed:
            return
        flat = [row for entry_rows in rows for row in entry_rows]
        if len(rows) != len(added) or (added and (vectors is None or len(vectors) != len(flat))):
            raise ValueError(
                f"{len(added)} entries, {len(rows)} row lists, {len(flat)} rows and "
                f"{0 if vectors is None else len(vectors)} vectors: apply needs one of each per row"
            )
        with self._lock:
            old_labels = [
                label
                for faq_id in [*removed, *(e.id for e in added)]
                for label in self._labels_of.get(faq_id, ())
            ]
            if added:
                assert vectors is not None
                self._add(added, rows, flat, vectors)
            if old_labels:  # after the new rows are in: labels are never reused
                self.vectors.remove(np.array(old_labels, dtype=np.int64))
                self._lexical.remove(old_labels)
                for label in old_labels:
                    self._id_of.pop(label, None)
                    self._source_of.pop(label, None)
            for faq_id in removed:
                self._labels_of.pop(faq_id, None)
                self._digest_of.pop(faq_id, None)
            self._set_categories(
                {**{faq_id: None for faq_id in removed}, **{e.id: e.category for e in added}}
            )

    def _add(
        self, added: Sequence[FaqEntry], rows: Sequence[Sequence[Row]], flat: list[Row], vectors: np.ndarray
    ) -> None:
        policy = self.row_policy
        labels = list(range(self._next_label, self._next_label + len(flat)))
        self._next_label += len(flat)
        for label, row in zip(labels, flat, strict=True):
            self._id_of[label] = row.entry_id
            if row.kind != "question":
                self._source_of[label] = (row.kind, row.index, row.start, row.end)
        new_labels_of, first_labels, at = {}, [], 0
        for entry, entry_rows in zip(added, rows, strict=True):
            new_labels_of[entry.id] = tuple(labels[at : at + len(entry_rows)])
            first_labels.append(labels[at])
            at += len(entry_rows)
        self._lexical.add(first_labels, self.bm25.analyzer.terms([lexical_text(e, policy) for e in added]))
        self.vectors.add(vectors, np.array(labels, dtype=np.int64))
        for entry in added:
            self._labels_of[entry.id] = new_labels_of[entry.id]
            self._digest_of[entry.id] = entry_digest(entry, policy)

    def with_vectors(self, manifest: dict[str, Any], vectors: VectorIndex) -> LoadedIndex:
        """A new index: this one's lexical half, copied (each index owns its maps), with `vectors`
        as its dense half, described by `manifest` (`indexing.build.build_dense`)."""
        with self._lock:
            return LoadedIndex(
                manifest,
                bm25=self._bm25,
                lexical=self._lexical.copy(),
                id_of=self._id_of,
                digest_of=self._digest_of,
                source_of=self._source_of,
                vectors=vectors,
                version=self.version,
                category_of=self._category_of,
            )

    def save_files(self, folder: Path) -> None:
        """Write everything but the manifest (the snapshot writer adds it) into `folder`."""
        with self._lock:
            self.vectors.save(folder / INDEX_FILE)
            labels = sorted(self._id_of)
            ids = [self._id_of[label] for label in labels]
            payload = {
                "labels": labels,
                "ids": ids,
                "sources": [list(self.source(label)) for label in labels],
                "digests": [self._digest_of[i] for i in ids],
                "categories": dict(sorted(self._category_of.items())),
            }
            (folder / LABELS_FILE).write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
            self.bm25.save(folder)
            self.lexical.save(folder)
            for kind, file in (("user_dict", self.words.user_dict), ("synonyms", self.words.synonyms)):
                if file is not None:  # the bytes that were parsed, so the copy matches its sha256
                    (folder / WORD_FILES[kind]).write_bytes(file.data)

    @classmethod
    def load(cls, folder: Path, manifest: dict[str, Any], version: str) -> LoadedIndex:
        """Read a snapshot folder. Whatever is missing, cut short, changed since the build (its
        sha256) or malformed in it (a failing disk, a hand edit, a partial copy) raises
        DamagedSnapshotError naming the file and the fix."""
        if manifest.get("format_version") not in READABLE_FORMATS:
            formats = f"has format {manifest.get('format_version')}, this version reads " + ", ".join(
                map(str, READABLE_FORMATS)
            )
            raise IndexMismatchError(
                f"snapshot {folder} {formats}; rebuild the index (faqsearch index build)",
                f"snapshot {version} {formats}; rebuild the index (faqsearch index build)",
            )
        # Every file against the sizes and hashes its manifest recorded, before any is parsed: a
        # changed file is refused by name, not served (a flipped block of index.faiss still parses).
        check_files(folder, manifest)
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
            categories = {str(i): str(c) for i, c in dict(payload.get("categories") or {}).items()}
            if not len(labels) == len(ids) == len(digests) == len(sources):
                raise ValueError(
                    f"{len(labels)} labels, {len(ids)} ids, {len(sources)} sources and {len(digests)} digests"
                )
            files = {}
            for kind, record in dict(manifest.get(DOMAIN_WORDS_KEY) or {}).items():
                reading = WORD_FILES[kind] if kind in WORD_FILES else str(kind)
                files[kind] = _read_word_copy(folder, kind, record)
            analyzer = analyzer_for(DomainWords(**files))  # a bad line names its copy and line
            reading = "bm25_*"
            bm25 = Bm25Stats.load(folder, analyzer)
            reading = "lexical.*"
            lexical = LexicalIndex.load(folder, bm25)
        except Bm25FormatError as exc:  # not damaged: written by an older version, with other terms
            older = (
                "was built by an older version of faqsearch whose BM25 terms and weights this one does "
                "not read"
            )
            raise IndexMismatchError(
                f"snapshot {folder} {older} ({exc}). Rebuild the index (faqsearch index build)",
                f"snapshot {version} {older}. Rebuild the index (faqsearch index build)",
            ) from exc
        except Exception as exc:  # any parse failure of any file means the same: damaged
            raise DamagedSnapshotError(
                folder, reading, f"{type(exc).__name__}: {exc}", "cannot be read"
            ) from exc
        return cls(
            manifest,
            bm25=bm25,
            lexical=lexical,
            id_of=dict(zip(labels, ids, strict=True)),
            digest_of=dict(zip(ids, digests, strict=True)),
            source_of=dict(zip(labels, sources, strict=True)),
            vectors=vectors,
            version=version,
            category_of=categories,
        )

    def check_compatible(
        self,
        identity: EncoderIdentity,
        *,
        pooling: str | None,
        function_weight: float | None = None,
        words: DomainWords | None = None,
        rows: RowPolicy | None = None,
    ) -> None:
        """Refuse to serve an index built by another encoder (`identity`: model, prefixes, token
        limit, dim), pooling, function-word weight or other domain-word files than `words` (None:
        none configured), naming both sides. (Another function-word weight moves every BM25 weight;
        other domain words change the terms.) `pooling` and `function_weight` None: not checked."""
        problems = identity.problems(self.manifest)
        if pooling is not None and pooling != self.pooling:
            problems.append(
                f"it was built with pooling {self.pooling!r} but the configured pooling is {pooling!r}"
            )
        if function_weight is not None and function_weight != self.bm25.function_weight:
            problems.append(
                f"it was built with function-word weight {self.bm25.function_weight:g} but the configured "
                f"FAQSEARCH_FUNCTION_WORD_WEIGHT is {function_weight:g}"
            )
        words = words or DomainWords()
        problems.extend(self._word_problems(words))
        if rows is not None and (built_rows := RowPolicy.from_manifest(self.manifest)) != rows:
            problems.append(
                f"it was built with {built_rows.describe()} but the configuration has {rows.describe()}"
            )
        if problems:
            built_words = dict(self.manifest.get(DOMAIN_WORDS_KEY) or {}).values()
            paths = [self.manifest["model"]["name"], identity.name, *(r.get("source") for r in built_words)]
            paths += [f.path for f in (words.user_dict, words.synonyms) if f]
            raise mismatch_error(self.version, problems, paths)

    def _word_problems(self, words: DomainWords) -> list[str]:
        """Each configured domain-word file that is not the one the index was built with."""
        built = dict(self.manifest.get(DOMAIN_WORDS_KEY) or {})
        configured = {"user_dict": words.user_dict, "synonyms": words.synonyms}
        problems = []
        for kind, file in configured.items():
            record, name, setting = built.get(kind), _WORD_NAMES[kind], WORD_SETTINGS[kind]
            if (record is None and file is None) or (record and file and record["sha256"] == file.sha256):
                continue
            if record is None:
                assert file is not None
                problems.append(
                    f"it was built without a {name} but {setting} is {file.path} (sha256 {file.sha256[:12]})"
                )
            elif file is None:
                problems.append(
                    f"it was built with the {name} {record['source']} (sha256 {record['sha256'][:12]}; its copy "
                    f"is {record['file']} in the snapshot) but {setting} is unset"
                )
            else:
                problems.append(
                    f"it was built with the {name} {record['source']} (sha256 {record['sha256'][:12]}; its copy "
                    f"is {record['file']} in the snapshot) but {setting} {file.path} has sha256 {file.sha256[:12]}"
                )
        return problems

    def labels_to_ids(self, labels: np.ndarray) -> list[str | None]:
        """FAISS labels -> FAQ ids; None for fillers (-1) and labels removed meanwhile."""
        return [self.id_of.get(int(label)) if label >= 0 else None for label in labels]
