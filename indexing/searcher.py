"""The one search API that the service and the evaluation share: query texts in, ranked hits out.

Modes: `dense` (sentence vectors, FAISS), `bm25` (lexical, Kiwi morphemes) and `hybrid`, which fuses
the two modes' top `hybrid_depth(top_k)` hits with `rrf` or `convex` fusion (`indexing.fusion`, the
one home for score scales).

Incremental updates: FAQ writes go to the store and, at once, to the live index (new vectors
under fresh labels, old labels removed); no rebuild needed. The store is the source of truth: when
a snapshot is loaded, entries written since it was built are applied on top (`catch_up`), so
writes survive restarts. BM25 statistics stay those of the last rebuild until the next one: new
entries are weighted with them, and unseen morphemes get the statistics' `unseen_idf`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from indexing.build import encode_entries, rows_of
from indexing.fusion import Hit, check_fusion, fuse_hits, hybrid_depth
from indexing.loaded_index import QUESTION_SOURCE, LoadedIndex
from indexing.rows import ALTERNATE, ANSWER, Row, RowPolicy, entry_digest
from indexing.snapshots import Snapshots
from indexing.store import FaqEntry, FaqStore, UpsertResult, normalize_id
from models.domain_words import DomainWords
from models.embedder import Embedder
from models.errors import FaqsearchError, InvalidValueError
from models.identity import EncoderIdentity
from models.options import (
    DEFAULT_FUSION,
    DEFAULT_HYBRID_WEIGHT,
    DEFAULT_RRF_K,
    SEARCH_MODES,
    Fusion,
)
from models.pooling_spec import parse_pooling
from models.sentence_encoder import SentenceEncoder
from models.text import normalize_sentences, normalize_text


class NoIndexError(FaqsearchError, ValueError):
    """The data directory has no index yet."""


def normalize_categories(names: Iterable[str]) -> list[str]:
    """Category names as the store keeps them (`normalize_text`, as every text field), in order,
    each once: an NFD spelling filters like the NFC one."""
    return list(dict.fromkeys(normalize_text(name) for name in names))


def check_mode(mode: str) -> str:
    if mode not in SEARCH_MODES:
        raise InvalidValueError(f"unknown search mode {mode!r}; valid: {', '.join(SEARCH_MODES)}")
    return mode


def _hits(ids: Sequence[str | None], scores: np.ndarray) -> list[Hit]:
    """Hits in rank order without fillers, and each id once: while an entry is being replaced its
    old and new vectors both exist for a moment, and only the better one may show."""
    seen: set[str] = set()
    hits = []
    for faq_id, score in zip(ids, scores.tolist(), strict=True):  # Python floats: 10x faster to walk
        if faq_id is not None and faq_id not in seen:
            seen.add(faq_id)
            hits.append(Hit(faq_id, score))
    return hits


def _entry_hits(
    index: LoadedIndex, scores: np.ndarray, labels: np.ndarray, answer_weight: float
) -> list[Hit]:
    """Row hits -> entry hits: an entry's score is its best row's (answer rows times
    `answer_weight`), the row it came from is its `source`; best first, ties by id."""
    best: dict[str, Hit] = {}
    for label, score in zip(labels.tolist(), scores.tolist(), strict=True):
        faq_id = index.id_of.get(label) if label >= 0 else None
        if faq_id is None:
            continue
        source = index.source(label)
        if source[0] == ANSWER:
            score *= answer_weight
        if faq_id not in best or score > best[faq_id].score:
            best[faq_id] = Hit(faq_id, score, source, score)
    return sorted(best.values(), key=lambda h: (-h.score, h.id))


def with_cosines(hits: Sequence[Sequence[Hit]], dense: Sequence[Sequence[Hit]]) -> list[list[Hit]]:
    """`hits` of each query with the cosines (and the matched text, if they have none) of its dense hits."""
    return [
        [
            Hit(h.id, h.score, h.source or by_id[h.id].source, by_id[h.id].cosine) if h.id in by_id else h
            for h in found
        ]
        for found, by_id in zip(hits, ({h.id: h for h in d} for d in dense), strict=True)
    ]


def lexical_hits(
    index: LoadedIndex, queries: Sequence[str], top_k: int, allowed: np.ndarray | None = None
) -> list[list[Hit]]:
    """BM25 hits of each query (no cosines): needs only the index's lexical half, so no encoder.
    `allowed`: only these row labels (a category filter)."""
    texts = normalize_sentences(queries)
    results = []
    for query_terms in index.bm25.analyzer.terms(texts):  # the index's own domain words
        scores, labels = index.lexical.search(query_terms, top_k, allowed)
        results.append(_hits(index.labels_to_ids(labels), scores))
    return results


class Searcher:
    """Searches and writes over one served `LoadedIndex`, which `swap` replaces.

    Lock: `_write_lock` (an RLock) serialises the write path (`sync`, `catch_up`, `swap`): it
    compares the store with the index and encodes the changed rows, so two writers never apply the
    same change twice or swap an index in between a read and its apply. Searches take no lock: each
    call reads `_index` once (an atomic reference read) and searches that index to the end, even if
    a swap happens meanwhile; the index keeps itself consistent for them (`LoadedIndex`).
    """

    def __init__(
        self,
        encoder: SentenceEncoder,
        index: LoadedIndex,
        store: FaqStore | None = None,
        *,
        rrf_k: int = DEFAULT_RRF_K,
        fusion: Fusion = DEFAULT_FUSION,
        hybrid_weight: float = DEFAULT_HYBRID_WEIGHT,
    ) -> None:
        check_fusion(fusion, hybrid_weight, rrf_k)
        self.encoder = encoder
        self.store = store
        self.rrf_k = rrf_k
        self.fusion = fusion
        self.hybrid_weight = hybrid_weight
        self._index = index
        self._bound: tuple[LoadedIndex, Embedder] | None = None  # `_embedder`: bound when first used
        self._write_lock = threading.RLock()

    @classmethod
    def open(
        cls,
        data_dir: str | Path,
        encoder: SentenceEncoder,
        *,
        pooling: str | None = None,
        rrf_k: int = DEFAULT_RRF_K,
        store: FaqStore | None = None,
        fusion: Fusion = DEFAULT_FUSION,
        hybrid_weight: float = DEFAULT_HYBRID_WEIGHT,
        function_weight: float | None = None,
        words: DomainWords | None = None,
        rows: RowPolicy | None = None,
        version: str | None = None,
    ) -> Searcher:
        """Load the current snapshot of `data_dir`, check it matches `encoder` (and `pooling`, the
        BM25 `function_weight` and `rows`, what of an entry is indexed, if given) and the configured
        domain words `words` (None: none configured), and apply the store's writes made since it was
        built. `store`: an already open
        store of `data_dir` to share (the service keeps one); default: open one. `version`: that
        snapshot instead of the current one."""
        data_dir = Path(data_dir)
        snapshots = Snapshots(data_dir)
        info = snapshots.current_info() if version is None else snapshots.info(version)
        if info is None:
            raise NoIndexError(
                f"no index in {data_dir}; build one with `faqsearch index build --faqs FILE --out {data_dir}`"
            )
        loaded = LoadedIndex.load(info.path, info.manifest, info.version)
        loaded.check_compatible(
            EncoderIdentity.of(encoder),
            pooling=parse_pooling(pooling).name if pooling else None,
            function_weight=function_weight,
            words=words,
            rows=rows,
        )
        searcher = cls(
            encoder,
            loaded,
            store or FaqStore.open(data_dir),
            rrf_k=rrf_k,
            fusion=fusion,
            hybrid_weight=hybrid_weight,
        )
        searcher.catch_up()
        return searcher

    @property
    def index(self) -> LoadedIndex:
        return self._index

    # -- search -----------------------------------------------------------------------------------

    def search(
        self,
        queries: Sequence[str],
        top_k: int = 10,
        mode: str = "dense",
        *,
        index: LoadedIndex | None = None,
        vectors: np.ndarray | None = None,
        categories: Sequence[str] | None = None,
    ) -> list[list[Hit]]:
        """Ranked hits for each query, best first; at most `top_k` each, fewer if the index is small.
        `index`: search that snapshot (default: the served one); `vectors`: the queries' vectors
        [N, H], encoded already with that index's pooling (`encode_queries`; the service's
        micro-batcher encodes many requests' queries together). `categories`: only entries in one
        of them (filtered inside each mode's search, so `top_k` hits whenever that many match;
        any normalisation form: `normalize_categories`)."""
        check_mode(mode)
        if top_k < 1:
            raise InvalidValueError(f"top_k must be >= 1, got {top_k}")
        if index is None:
            index = self._index  # one snapshot for the whole call, even if a swap happens meanwhile
        allowed = None if categories is None else index.allowed_labels(normalize_categories(categories))
        if mode == "dense":
            return self._dense(index, queries, top_k, vectors, allowed)
        depth = hybrid_depth(top_k)
        if mode == "bm25":  # ranked by BM25; the dense side only tells each hit's cosine
            lexical = self.lexical_sources(index, queries, lexical_hits(index, queries, top_k, allowed))
            return with_cosines(lexical, self._dense(index, queries, depth, vectors, allowed))
        fused = self.fuse(
            self._dense(index, queries, depth, vectors, allowed),
            lexical_hits(index, queries, depth, allowed),
            top_k,
        )
        return self.lexical_sources(index, queries, fused)  # the entries only BM25 found

    def fuse(
        self, dense: Sequence[Sequence[Hit]], lexical: Sequence[Sequence[Hit]], top_k: int
    ) -> list[list[Hit]]:
        """Hybrid hits of each query from its dense and lexical hits (`hybrid_depth(top_k)` of each),
        with this searcher's fusion. The evaluation fuses one pair of lists in several ways with it."""
        return [
            fuse_hits(d, lx, top_k, fusion=self.fusion, rrf_k=self.rrf_k, weight=self.hybrid_weight)
            for d, lx in zip(dense, lexical, strict=True)
        ]

    def _embedder(self, index: LoadedIndex) -> Embedder:
        """The encoder bound to `index`'s pooling and BM25 statistics, bound once per index (both
        are fixed for its life) and kept with it as one pair, so a swap meanwhile cannot pair this
        index with another's statistics."""
        bound = self._bound
        if bound is None or bound[0] is not index:
            bound = (index, Embedder.bind(self.encoder, index.pooling, index.bm25))
            self._bound = bound
        return bound[1]

    def encode_queries(self, index: LoadedIndex, queries: Sequence[str]) -> np.ndarray:
        return self._embedder(index).encode(queries, role="query").vectors

    def _dense(
        self,
        index: LoadedIndex,
        queries: Sequence[str],
        top_k: int,
        vectors: np.ndarray | None = None,
        allowed: np.ndarray | None = None,
    ) -> list[list[Hit]]:
        if vectors is None:
            vectors = self.encode_queries(index, queries)
        if len(queries) == 0:
            return []
        if allowed is not None and len(allowed) == 0:
            return [[] for _ in queries]
        weight = RowPolicy.from_manifest(index.manifest).answer_weight
        results: list[list[Hit] | None] = [None] * len(queries)
        pending = list(range(len(queries)))
        depth, total = top_k, len(index.id_of) if allowed is None else len(allowed)
        while pending:
            # An entry has several rows: fetch rows until the top_k entries are certain, i.e. the
            # k-th entry's score is at least the last fetched row's (no unfetched row can beat it).
            depth = min(max(depth, top_k), max(total, 1))
            scores, labels = index.vectors.search(vectors[pending], depth, allowed)
            still = []
            for q, row_scores, row_labels in zip(pending, scores, labels, strict=True):
                hits = _entry_hits(index, row_scores, row_labels, weight)
                live = row_scores[row_labels >= 0]
                complete = depth >= total or len(live) < depth
                if complete or (len(hits) >= top_k and hits[top_k - 1].score >= float(live.min())):
                    results[q] = hits[:top_k]
                else:
                    still.append(q)
            pending, depth = still, depth * 4
        return [r if r is not None else [] for r in results]

    def lexical_sources(
        self, index: LoadedIndex, queries: Sequence[str], hits: Sequence[Sequence[Hit]]
    ) -> list[list[Hit]]:
        """`hits` with a source for each hit that has none: of the entry's rows (question,
        alternates, answer chunks where indexed), the one whose own terms weigh most for the
        query, a row scoring the sum of the query's BM25 term weights (`Bm25Stats.term_weights`)
        over the query terms it contains; ties go to the first row. Only the hits given are looked
        at, with their texts read from the store in one query; without a store they stay None."""
        need = {h.id for row in hits for h in row if h.source is None}
        if self.store is None or not need:
            return [list(row) for row in hits]
        entries = self.store.get_many(need)
        answers = RowPolicy.from_manifest(index.manifest).answers
        candidates: dict[str, list[tuple[tuple[str, int, int, int], str]]] = {}
        for faq_id, entry in entries.items():
            rows = [(QUESTION_SOURCE, entry.question)]
            rows += [((ALTERNATE, i, 0, 0), text) for i, text in enumerate(entry.alternates)]
            if answers and entry.answer:
                chunks = sorted(
                    source
                    for label in index.labels_of.get(faq_id, [])
                    if (source := index.source(label))[0] == ANSWER
                )
                rows += [(source, entry.answer[source[2] : source[3]]) for source in chunks]
            candidates[faq_id] = rows
        bm25 = index.bm25
        texts = normalize_sentences(queries)
        all_terms = bm25.analyzer.terms([*texts, *(text for rows in candidates.values() for _, text in rows)])
        query_weights = [bm25.term_weights(terms) for terms in all_terms[: len(texts)]]
        row_terms = iter(all_terms[len(texts) :])
        term_sets: dict[str, list[tuple[tuple[str, int, int, int], set[str]]]] = {
            faq_id: [(source, set(next(row_terms))) for source, _ in rows]
            for faq_id, rows in candidates.items()
        }
        result = []
        for weights, row in zip(query_weights, hits, strict=True):
            found = []
            for hit in row:
                if hit.source is not None or hit.id not in term_sets:
                    found.append(hit)
                    continue
                scored = [
                    (sum(w for t, w in weights.items() if t in terms), source)
                    for source, terms in term_sets[hit.id]
                ]
                top = max(score for score, _ in scored)
                found.append(
                    Hit(
                        hit.id,
                        hit.score,
                        next(source for score, source in scored if score == top),
                        hit.cosine,
                    )
                )
            result.append(found)
        return result

    # -- writes -----------------------------------------------------------------------------------

    def _require_store(self) -> FaqStore:
        if self.store is None:
            raise ValueError("this searcher has no FAQ store; open it with Searcher.open(data_dir, ...)")
        return self.store

    def upsert(self, entries: Iterable[FaqEntry]) -> UpsertResult:
        """Write entries to the store (all or nothing) and to the live index. Only the written
        entries are looked at: a write costs the same whatever the size of the collection."""
        store = self._require_store()
        entries = list(entries)
        result = store.upsert_many(entries)
        self.sync(entry.id for entry in entries)
        return result

    def delete(self, ids: Iterable[str]) -> int:
        store = self._require_store()
        ids = ids if isinstance(ids, str) else list(ids)  # a lone str is refused by the store
        removed = store.delete_many(ids)
        self.sync(ids)
        return removed

    def sync(self, ids: Iterable[str]) -> tuple[int, int]:
        """Bring these entries of the live index in line with the store, after a write to them ->
        (entries added or changed, entries removed). It reads what the store holds now, so it may
        run apart from the write (the service writes in a worker thread, then syncs in the encoder
        thread) and twice: a sync that finds nothing to change changes nothing."""
        store = self._require_store()
        keys = list(dict.fromkeys(normalize_id(faq_id) for faq_id in ids))
        with self._write_lock:
            stored = store.get_many(keys)  # ids and texts as normalised there
            index = self._index
            policy = RowPolicy.from_manifest(index.manifest)
            changed = [e for e in stored.values() if index.digest_of.get(e.id) != entry_digest(e, policy)]
            gone = [key for key in keys if key not in stored and key in index.labels_of]
            self._apply(index, changed, gone, stored.values())
            return len(changed), len(gone)

    def catch_up(self) -> tuple[int, int]:
        """Bring the live index in line with the store -> (entries added or changed, entries removed)."""
        if self.store is None:
            return 0, 0
        with self._write_lock:
            index = self._index
            entries = self.store.all()
            current = {entry.id for entry in entries}
            policy = RowPolicy.from_manifest(index.manifest)
            changed = [e for e in entries if index.digest_of.get(e.id) != entry_digest(e, policy)]
            gone = [faq_id for faq_id in index.labels_of if faq_id not in current]
            self._apply(index, changed, gone, entries)
            return len(changed), len(gone)

    def _apply(
        self,
        index: LoadedIndex,
        changed: Sequence[FaqEntry],
        gone: Sequence[str],
        looked_at: Iterable[FaqEntry] = (),
    ) -> None:
        """Encode the changed entries' rows (with the index's pooling and statistics) and let the
        index take them in and drop `gone` (`LoadedIndex.apply` keeps its maps consistent). Of the
        other entries `looked_at`, those whose category alone changed get it without encoding
        (a category is not in the digest: moving an entry re-encodes nothing)."""
        moved = [e for e in looked_at if e.id in index.labels_of and index.category(e.id) != e.category]
        if moved:
            index.recategorise(moved)
        if not changed and not gone:
            return
        rows: list[list[Row]] = []
        vectors = None
        if changed:
            rows = rows_of(changed, index.row_policy, self.encoder)
            texts = [row.text for entry_rows in rows for row in entry_rows]
            vectors = encode_entries(self._embedder(index), texts)
        index.apply(changed, gone, rows, vectors)

    def swap(self, index: LoadedIndex) -> None:
        """Serve `index` from now on (atomic for searches), then apply writes it has not seen."""
        with self._write_lock:
            self._index = index
            self.catch_up()
