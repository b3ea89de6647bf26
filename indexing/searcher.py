"""The one search API that the service and the evaluation share: query texts in, ranked hits out.

Modes: `dense` (sentence vectors, FAISS), `bm25` (lexical, Kiwi morphemes) and `hybrid`, which fuses
the two modes' top `HYBRID_CANDIDATES` hits in one of two ways (`fusion`):
- `rrf`: reciprocal rank fusion, score = sum over modes of 1 / (rrf_k + rank), rank from 1;
- `convex`: score = w * dense' + (1 - w) * bm25', w = `hybrid_weight`, where each mode's scores are
  min-max normalised over that query's candidates of that mode (best 1, worst 0) and an entry that
  one mode did not return gets 0 from it. Unlike RRF it keeps how far apart the scores are.

Incremental updates: FAQ writes go to the store and, at once, to the live index (new vectors
under fresh labels, old labels removed); no rebuild needed. The store is the source of truth: when
a snapshot is loaded, entries written since it was built are applied on top (`catch_up`), so
writes survive restarts. BM25 statistics stay those of the last rebuild until the next one: new
entries are weighted with them, and unseen morphemes get the statistics' `unseen_idf`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexing.build import encode_entries, rows_of
from indexing.loaded_index import QUESTION_SOURCE, LoadedIndex
from indexing.rows import ALTERNATE, ANSWER, RowPolicy, entry_digest, lexical_text
from indexing.snapshots import Snapshots
from indexing.store import FaqEntry, FaqStore, UpsertResult, normalize_id
from models.domain_words import DomainWords
from models.encoder import Encoder
from models.errors import FaqsearchError, InvalidValueError
from models.options import (
    DEFAULT_FUSION,
    DEFAULT_HYBRID_WEIGHT,
    DEFAULT_RRF_K,
    FUSIONS,
    SEARCH_MODES,
    Fusion,
)
from models.pooling_spec import parse_pooling
from models.text import normalize_sentences

HYBRID_CANDIDATES = 100  # hits taken from each mode before fusion


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    # Which text of the entry matched: (kind, index, start, end) as in `indexing.rows`. Dense: the
    # best-scoring row; hybrid: the dense side's, else as lexical; lexical (BM25 scores the entry's
    # texts as one document): the row whose own terms weigh most for the query (`lexical_sources`).
    # None: not known (no store to read the texts from), to be read as the question.
    source: tuple[str, int, int, int] | None = field(default=None, compare=False)
    # The entry's dense score (its best row's cosine, answer rows weighted), whatever the mode:
    # what `min_score` compares in every mode. None: the entry is not among the dense candidates
    # of the query (`hybrid_depth`), so its dense score is below all of theirs.
    cosine: float | None = field(default=None, compare=False)


class NoIndexError(FaqsearchError, ValueError):
    """The data directory has no index yet."""


def check_mode(mode: str) -> str:
    if mode not in SEARCH_MODES:
        raise InvalidValueError(f"unknown search mode {mode!r}; valid: {', '.join(SEARCH_MODES)}")
    return mode


def hybrid_depth(top_k: int) -> int:
    """How many hits hybrid search takes from each mode before fusing them into `top_k`."""
    return max(top_k, HYBRID_CANDIDATES)


def check_fusion(fusion: str, weight: float) -> None:
    if fusion not in FUSIONS:
        raise InvalidValueError(f"unknown hybrid fusion {fusion!r}; valid: {', '.join(FUSIONS)}")
    if not 0.0 <= weight <= 1.0:
        raise InvalidValueError(f"hybrid_weight must be within [0, 1], got {weight}")


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int, top_k: int) -> list[Hit]:
    """Fuse ranked id lists: score(id) = sum of 1 / (k + rank), rank from 1; ties by id."""
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, faq_id in enumerate(ranking, start=1):
            fused[faq_id] = fused.get(faq_id, 0.0) + 1.0 / (k + rank)
    ordered = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
    return [Hit(faq_id, score) for faq_id, score in ordered[:top_k]]


def _min_max(hits: Sequence[Hit]) -> dict[str, float]:
    """Scores scaled to [0, 1] over the list (best 1); all equal (or a single hit): all 1."""
    if not hits:
        return {}
    low = min(h.score for h in hits)
    span = max(h.score for h in hits) - low
    if span <= 0:
        return {h.id: 1.0 for h in hits}
    return {h.id: (h.score - low) / span for h in hits}


def convex_fusion(dense: Sequence[Hit], lexical: Sequence[Hit], weight: float, top_k: int) -> list[Hit]:
    """Fuse dense and lexical hits: weight * minmax(dense) + (1 - weight) * minmax(lexical), an id
    missing from a list scoring 0 there; ties by id."""
    fused: dict[str, float] = {}
    for hits, share in ((dense, weight), (lexical, 1.0 - weight)):
        for faq_id, scaled in _min_max(hits).items():
            fused[faq_id] = fused.get(faq_id, 0.0) + share * scaled
    ordered = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
    return [Hit(faq_id, score) for faq_id, score in ordered[:top_k]]


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


class Searcher:
    def __init__(
        self,
        encoder: Encoder,
        index: LoadedIndex,
        store: FaqStore | None = None,
        *,
        rrf_k: int = DEFAULT_RRF_K,
        fusion: Fusion = DEFAULT_FUSION,
        hybrid_weight: float = DEFAULT_HYBRID_WEIGHT,
    ) -> None:
        if rrf_k < 1:
            raise InvalidValueError(f"rrf_k must be >= 1, got {rrf_k}")
        check_fusion(fusion, hybrid_weight)
        self.encoder = encoder
        self.store = store
        self.rrf_k = rrf_k
        self.fusion = fusion
        self.hybrid_weight = hybrid_weight
        self._index = index
        self._write_lock = threading.RLock()

    @classmethod
    def open(
        cls,
        data_dir: str | Path,
        encoder: Encoder,
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
            model=encoder.name,
            fingerprint=encoder.fingerprint,
            prefix=encoder.prefix,
            entry_prefix=encoder.entry_prefix,
            max_length=encoder.max_length,
            pooling=parse_pooling(pooling).name if pooling else None,
            dim=encoder.dim,
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
    ) -> list[list[Hit]]:
        """Ranked hits for each query, best first; at most `top_k` each, fewer if the index is small.
        `index`: search that snapshot (default: the served one); `vectors`: the queries' vectors
        [N, H], encoded already with that index's pooling (`encode_queries`; the service's
        micro-batcher encodes many requests' queries together)."""
        check_mode(mode)
        if top_k < 1:
            raise InvalidValueError(f"top_k must be >= 1, got {top_k}")
        if index is None:
            index = self._index  # one snapshot for the whole call, even if a swap happens meanwhile
        if mode == "dense":
            return self._dense(index, queries, top_k, vectors)
        depth = hybrid_depth(top_k)
        if mode == "bm25":  # ranked by BM25; the dense side only tells each hit's cosine
            lexical = self.lexical_sources(index, queries, self._lexical(index, queries, top_k))
            return with_cosines(lexical, self._dense(index, queries, depth, vectors))
        fused = self.fuse(
            self._dense(index, queries, depth, vectors), self._lexical(index, queries, depth), top_k
        )
        return self.lexical_sources(index, queries, fused)  # the entries only BM25 found

    def fuse(
        self, dense: Sequence[Sequence[Hit]], lexical: Sequence[Sequence[Hit]], top_k: int
    ) -> list[list[Hit]]:
        """Hybrid hits of each query from its dense and lexical hits (`hybrid_depth(top_k)` of each),
        with this searcher's fusion. The evaluation fuses one pair of lists in several ways with it."""
        if self.fusion == "convex":
            fused = [
                convex_fusion(d, lx, self.hybrid_weight, top_k) for d, lx in zip(dense, lexical, strict=True)
            ]
        else:
            fused = [
                reciprocal_rank_fusion([[h.id for h in d], [h.id for h in lx]], self.rrf_k, top_k)
                for d, lx in zip(dense, lexical, strict=True)
            ]
        # the text that matched is the dense side's (lexical scores whole entries)
        return [
            [Hit(h.id, h.score, by_id[h.id].source, by_id[h.id].cosine) if h.id in by_id else h for h in hits]
            for hits, by_id in zip(fused, ({h.id: h for h in d} for d in dense), strict=True)
        ]

    def lexical(self, queries: Sequence[str], top_k: int) -> list[list[Hit]]:
        """BM25 hits alone (no dense side, so no cosines): the lexical half of a hybrid search."""
        return self._lexical(self._index, queries, top_k)

    def encode_queries(self, index: LoadedIndex, queries: Sequence[str]) -> np.ndarray:
        spec = parse_pooling(index.pooling)
        bm25 = index.bm25 if spec.needs_bm25 else None
        return self.encoder.encode(queries, spec, bm25=bm25, role="query").vectors

    def _dense(
        self, index: LoadedIndex, queries: Sequence[str], top_k: int, vectors: np.ndarray | None = None
    ) -> list[list[Hit]]:
        if vectors is None:
            vectors = self.encode_queries(index, queries)
        if len(queries) == 0:
            return []
        weight = RowPolicy.from_manifest(index.manifest).answer_weight
        results: list[list[Hit] | None] = [None] * len(queries)
        pending = list(range(len(queries)))
        depth, total = top_k, len(index.id_of)
        while pending:
            # An entry has several rows: fetch rows until the top_k entries are certain, i.e. the
            # k-th entry's score is at least the last fetched row's (no unfetched row can beat it).
            depth = min(max(depth, top_k), max(total, 1))
            scores, labels = index.vectors.search(vectors[pending], depth)
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

    def _lexical(self, index: LoadedIndex, queries: Sequence[str], top_k: int) -> list[list[Hit]]:
        texts = normalize_sentences(queries)
        results = []
        for query_terms in index.bm25.analyzer.terms(texts):  # the index's own domain words
            scores, labels = index.lexical.search(query_terms, top_k)
            results.append(_hits(index.labels_to_ids(labels), scores))
        return results

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
            self._apply(index, changed, gone)
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
            self._apply(index, changed, gone)
            return len(changed), len(gone)

    def _apply(self, index: LoadedIndex, changed: Sequence[FaqEntry], gone: Sequence[str]) -> None:
        """Add new rows under fresh labels before retiring old ones, so a concurrent search always
        finds each entry under some label (labels are never reused). A changed entry gets all its
        rows anew: an alternate removed by an edit leaves search at once."""
        if not changed and not gone:
            return
        with index.lock:
            old_labels = [
                label for i in [*gone, *(e.id for e in changed)] for label in index.labels_of.get(i, [])
            ]
            if changed:
                spec = parse_pooling(index.pooling)
                policy = RowPolicy.from_manifest(index.manifest)
                entry_row_lists = rows_of(changed, policy, self.encoder)
                flat = [row for rows in entry_row_lists for row in rows]
                vectors = encode_entries(
                    self.encoder, [r.text for r in flat], spec.name, index.bm25 if spec.needs_bm25 else None
                )
                labels = list(range(index.next_label, index.next_label + len(flat)))
                index.next_label += len(flat)
                for label, row in zip(labels, flat, strict=True):
                    index.id_of[label] = row.entry_id
                    if row.kind != "question":
                        index.source_of[label] = (row.kind, row.index, row.start, row.end)
                new_labels_of, first_labels, at = {}, [], 0
                for entry, rows in zip(changed, entry_row_lists, strict=True):
                    new_labels_of[entry.id] = labels[at : at + len(rows)]
                    first_labels.append(labels[at])
                    at += len(rows)
                index.lexical.add(
                    first_labels, index.bm25.analyzer.terms([lexical_text(e, policy) for e in changed])
                )
                index.vectors.add(vectors, np.array(labels, dtype=np.int64))
                for entry in changed:
                    index.labels_of[entry.id] = new_labels_of[entry.id]
                    index.digest_of[entry.id] = entry_digest(entry, policy)
            if old_labels:
                index.vectors.remove(np.array(old_labels, dtype=np.int64))
                index.lexical.remove(old_labels)
                for label in old_labels:
                    index.id_of.pop(label, None)
                    index.source_of.pop(label, None)
            for faq_id in gone:
                index.labels_of.pop(faq_id, None)
                index.digest_of.pop(faq_id, None)

    def swap(self, index: LoadedIndex) -> None:
        """Serve `index` from now on (atomic for searches), then apply writes it has not seen."""
        with self._write_lock:
            self._index = index
            self.catch_up()
