"""The index rebuild job: store -> sentence vectors + BM25 statistics -> FAISS -> a new snapshot.

The snapshot is written to a temporary folder and switched in atomically (`indexing.snapshots`),
so a build that fails or is killed leaves the current snapshot untouched.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from indexing.lexical import LexicalIndex
from indexing.loaded_index import DOMAIN_WORDS_KEY, FORMAT_VERSION, LoadedIndex, words_manifest
from indexing.rows import Row, RowPolicy, answer_chunker_of, entry_digest, entry_rows, lexical_text
from indexing.snapshots import SnapshotInfo, Snapshots
from indexing.store import FaqEntry, FaqStore
from indexing.vector_index import IndexParams, VectorIndex
from models.bm25 import Bm25Stats
from models.domain_words import DomainWords
from models.embedder import Embedder
from models.errors import InvalidValueError
from models.identity import EncoderIdentity
from models.morphemes import analyzer_for
from models.pooling_spec import parse_pooling
from models.sentence_encoder import SentenceEncoder

logger = logging.getLogger(__name__)

ENCODE_CHUNK = 512  # sentences per progress step; each chunk is length-sorted and batched inside
Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class BuildResult:
    snapshot: SnapshotInfo
    count: int
    seconds: float
    encode_seconds: float


def library_versions() -> dict[str, str]:
    versions = {}
    for name in (
        "faqsearch",
        "torch",
        "transformers",
        "tokenizers",
        "faiss-cpu",
        "faiss-gpu",
        "kiwipiepy",
        "numpy",
    ):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def encode_entries(
    embedder: Embedder,
    questions: Sequence[str],
    progress: Progress | None = None,
) -> np.ndarray:
    """[N, D] vectors in input order, each text behind the encoder's entry prefix; sorted by length
    across the whole corpus so chunks pad little."""
    order = sorted(range(len(questions)), key=lambda i: len(questions[i]))
    vectors = np.zeros((len(questions), embedder.dim), dtype=np.float32)
    if progress is not None:  # encoding starts now: a progress bar's clock starts here too
        progress(0, len(order))
    for start in range(0, len(order), ENCODE_CHUNK):
        chunk = order[start : start + ENCODE_CHUNK]
        vectors[chunk] = embedder.encode([questions[i] for i in chunk], role="entry").vectors
        if progress is not None:
            progress(min(start + ENCODE_CHUNK, len(order)), len(order))
    return vectors


def rows_of(entries: Sequence[FaqEntry], policy: RowPolicy, encoder: Any) -> list[list[Row]]:
    """Each entry's rows (indexing.rows); answer chunks sized by the encoder's token limit. Any:
    only answers need `encoder.tokenizer`, which `SentenceEncoder` does not promise."""
    # no answers to cut, no tokenizer needed (a lexical-only evaluation has no model)
    chunker = answer_chunker_of(encoder) if policy.answers and any(e.answer for e in entries) else None
    return [entry_rows(entry, policy, chunker) for entry in entries]


def index_from_entries(
    entries: Sequence[FaqEntry],
    encoder: SentenceEncoder,
    pooling: str,
    params: IndexParams,
    *,
    rows: RowPolicy | None = None,
    corpus_hash: str = "",
    store_revision: int = 0,
    progress: Progress | None = None,
    function_weight: float = 1.0,
    words: DomainWords | None = None,
) -> tuple[LoadedIndex, float]:
    """Encode entries and build every part of an index in memory -> (index, seconds spent encoding):
    `build_lexical`, then `build_dense`. Row labels count from 0 in entry order, each entry's
    question row first. `function_weight`: the BM25 weight factor of function morphemes
    (`models.bm25`); `words`: the domain words to analyse with (None: none); the index keeps them
    (`LoadedIndex.words`)."""
    spec = parse_pooling(pooling)  # a bad pooling is refused before any work
    policy = rows or RowPolicy()
    entry_row_lists = rows_of(entries, policy, encoder)
    lexical = build_lexical(
        entries,
        entry_row_lists,
        policy,
        function_weight=function_weight,
        words=words,
        corpus_hash=corpus_hash,
        store_revision=store_revision,
    )
    texts = [row.text for entry_row_list in entry_row_lists for row in entry_row_list]
    return build_dense(lexical, texts, encoder, spec.name, params, progress)


def build_lexical(
    entries: Sequence[FaqEntry],
    entry_row_lists: Sequence[Sequence[Row]],
    policy: RowPolicy,
    *,
    function_weight: float = 1.0,
    words: DomainWords | None = None,
    corpus_hash: str = "",
    store_revision: int = 0,
) -> LoadedIndex:
    """The lexical half of an index of `entries`, whose rows are `entry_row_lists` (`rows_of`):
    BM25 statistics fitted on the entries' lexical documents, the lexical index and the row maps,
    labels counting from 0 in row order. It needs no model and serves lexical search as it is;
    `build_dense` makes a whole index of it."""
    flat = [row for entry_row_list in entry_row_lists for row in entry_row_list]
    analyzer = analyzer_for(words)
    corpus_terms = analyzer.terms([lexical_text(entry, policy) for entry in entries])
    bm25 = Bm25Stats.fit(corpus_terms, function_weight=function_weight, analyzer=analyzer)
    first_label, label = [], 0  # each entry's question row names its lexical document
    for entry_row_list in entry_row_lists:
        first_label.append(label)
        label += len(entry_row_list)
    manifest: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "rows": policy.to_manifest(),
        "count": len(entries),
        "row_count": len(flat),
        "corpus_sha256": corpus_hash,
        "store_revision": store_revision,
        # Informational, copied from the statistics (bm25_params.json), which the checks read.
        "bm25": {
            "k1": bm25.k1,
            "b": bm25.b,
            "n_docs": bm25.n_docs,
            "avgdl": bm25.avgdl,
            "function_weight": bm25.function_weight,
        },
    }
    if words is not None and not words.empty:  # no key without files: as before domain words existed
        manifest[DOMAIN_WORDS_KEY] = words_manifest(words)
    return LoadedIndex(
        manifest,
        lexical=LexicalIndex.build(bm25, first_label, corpus_terms),
        bm25=bm25,
        id_of={i: row.entry_id for i, row in enumerate(flat)},
        digest_of={entry.id: entry_digest(entry, policy) for entry in entries},
        source_of={i: (row.kind, row.index, row.start, row.end) for i, row in enumerate(flat)},
        category_of={entry.id: entry.category for entry in entries},
    )


def build_dense(
    lexical: LoadedIndex,
    texts: Sequence[str],
    encoder: SentenceEncoder,
    pooling: str,
    params: IndexParams,
    progress: Progress | None = None,
) -> tuple[LoadedIndex, float]:
    """A whole index: `lexical` (from `build_lexical`, unchanged since) with a dense half, its
    row texts `texts` (in label order) encoded with `pooling` -> (index, seconds spent encoding).
    The new index has its own copy of the lexical half, so one lexical half can serve several
    poolings (the evaluation builds one per pooling)."""
    spec = parse_pooling(pooling)
    lexical_manifest = lexical.manifest
    if len(texts) != len(lexical.id_of) or max(lexical.id_of, default=-1) != len(texts) - 1:
        raise ValueError(f"{len(texts)} row texts for a lexical half of {len(lexical.id_of)} rows")
    started = time.perf_counter()
    vectors = encode_entries(Embedder.bind(encoder, spec, lexical.bm25), texts, progress)
    encode_seconds = time.perf_counter() - started
    labels = np.arange(len(texts), dtype=np.int64)
    vector_index = VectorIndex.build(vectors, labels, params)
    identity = EncoderIdentity.of(encoder).to_manifest()  # "model" and "dim", in their old places
    manifest: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "model": identity["model"],
        "pooling": spec.name,
        "rows": lexical_manifest["rows"],
        "dim": identity["dim"],
        "count": lexical_manifest["count"],
        "row_count": lexical_manifest["row_count"],
        "index": vector_index.params.to_dict(),
        "corpus_sha256": lexical_manifest["corpus_sha256"],
        "store_revision": lexical_manifest["store_revision"],
        "bm25": lexical_manifest["bm25"],
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "libraries": library_versions(),
    }
    if DOMAIN_WORDS_KEY in lexical_manifest:
        manifest[DOMAIN_WORDS_KEY] = lexical_manifest[DOMAIN_WORDS_KEY]
    return lexical.with_vectors(manifest, vector_index), encode_seconds


def build_snapshot(
    data_dir: Path,
    encoder: SentenceEncoder,
    pooling: str,
    params: IndexParams | None = None,
    *,
    rows: RowPolicy | None = None,
    keep: int = 3,
    progress: Progress | None = None,
    function_weight: float = 1.0,
    words: DomainWords | None = None,
) -> BuildResult:
    """Rebuild the index of `data_dir` from its store and switch to it atomically. `words`: the
    domain words (FAQSEARCH_USER_DICT, FAQSEARCH_SYNONYMS), copied into the snapshot."""
    started = time.perf_counter()
    with FaqStore.open(data_dir) as store:
        state = store.snapshot()
    if not state.entries:
        raise InvalidValueError(
            f"the FAQ store in {data_dir} is empty; import FAQs first "
            "(faqsearch index build --faqs FILE, or faqsearch faqs import FILE)"
        )
    logger.info("building an index of %d entries in %s", len(state.entries), data_dir)
    loaded, encode_seconds = index_from_entries(
        state.entries,
        encoder,
        pooling,
        params or IndexParams(),
        rows=rows,
        corpus_hash=state.content_hash,
        store_revision=state.revision,
        progress=progress,
        function_weight=function_weight,
        words=words,
    )
    snapshots = Snapshots(data_dir, keep=keep)
    snapshots.cleanup()  # leftovers of builds that were killed
    with snapshots.create(loaded.manifest) as folder:
        loaded.save_files(Path(folder))
    info = snapshots.current_info()
    assert info is not None  # create() just switched to it
    return BuildResult(info, len(state.entries), time.perf_counter() - started, encode_seconds)
