"""What the running service holds: settings, the encoder, the FAQ store, the served index (through
a `Searcher`), the micro-batcher and rebuild jobs. Built once in the app's lifespan."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from app.batching import EncoderBatcher
from app.jobs import RebuildJobs
from app.metrics import ServiceMetrics
from faqsearch.settings import Settings
from indexing.build import build_snapshot
from indexing.loaded_index import LoadedIndex
from indexing.query_log import QueryLog
from indexing.searcher import Hit, NoIndexError, Searcher
from indexing.snapshots import CURRENT_FILE, SnapshotError, SnapshotInfo, Snapshots, version_number
from indexing.store import FaqStore
from indexing.vector_index import IndexParams
from models.bm25 import Bm25Stats
from models.encoder import Encoded, Encoder, Role
from models.errors import FaqsearchError, public_message
from models.morphemes import Analyzer, analyzer_for
from models.pooling_spec import PoolingSpec

logger = logging.getLogger(__name__)


class NotReadyError(FaqsearchError):
    """No index can be served yet; the message says why and what to do."""


class _EncoderOnThread:
    """The encoder for code running in another thread (a rebuild job): `encode` runs through
    `run(fn, *args, **kwargs)` (the service's: in the encoder thread, waited for), one batch per
    call, so searches queue behind one batch of the rebuild at most; everything else is the
    encoder's own (`__getattr__`: a `SentenceEncoder`'s identity fields, the tokenizer)."""

    def __init__(self, encoder: Encoder, run: Callable[..., Any]) -> None:
        self._encoder = encoder
        self._run = run

    def encode(
        self,
        texts: Sequence[str],
        pooling: str | PoolingSpec = "mean",
        *,
        bm25: Bm25Stats | None = None,
        role: Role = "query",
    ) -> Encoded:
        step = self._encoder.batch_size
        parts = [
            self._run(self._encoder.encode, texts[i : i + step], pooling, bm25=bm25, role=role)
            for i in range(0, len(texts), step)
        ]
        if not parts:  # no forward pass: an empty result
            return self._encoder.encode(texts, pooling, bm25=bm25, role=role)
        return Encoded(
            vectors=np.concatenate([p.vectors for p in parts]),
            truncated=np.concatenate([p.truncated for p in parts]),
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._encoder, name)


class ServiceState:
    def __init__(self, settings: Settings, encoder: Encoder, metrics: ServiceMetrics) -> None:
        self.settings = settings
        self.encoder = encoder
        self.metrics = metrics
        self.store = FaqStore.open(
            settings.data_dir, write_wait_s=settings.write_wait_s, label="faqsearch serve"
        )
        # Every search, written off the request path by its own thread (indexing/query_log.py).
        self.query_log = QueryLog(self.store.path, settings.query_log_days)
        self.query_log.start()
        self.searcher: Searcher | None = None
        self.not_ready_reason: str | None = "the service is starting"
        self.warm = False  # set once a first forward pass has run
        self.started_at = int(time.time())  # GET /v1/models: the served model's `created`
        # One thread runs every forward pass of the service: searches, rank, embed, writes, warm-up
        # and a rebuild's batches. Concurrent passes would only fight over the same cores, one
        # queue makes micro-batching possible, and torch's OpenMP keeps a thread team per calling
        # thread: a second team oversubscribes the cores and makes every later forward pass about
        # 1.6x slower on a 2-core machine (docs/benchmarks.md), even after the other thread is idle.
        self.executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="encoder", initializer=self._note_encoder_thread
        )
        self._encoder_thread: int | None = None
        # Searches, rank and embed share forward passes through it (app/batching.py).
        self.batcher = EncoderBatcher(
            encoder,
            self.run_search,
            self.executor,
            metrics,
            enabled=settings.micro_batching,
            window_s=settings.batch_window_ms / 1000,
            max_batch=settings.max_batch,
            max_tokens=settings.max_batch_tokens,
            batch_size=settings.batch_size,
        )
        self.jobs = RebuildJobs(self.build_index, self.serve_index)
        self._refused_snapshot: str | None = None  # made current elsewhere, but cannot be served
        # Why the served snapshot is not the one CURRENT names (that one is damaged); /readyz says it.
        self.snapshot_problem: str | None = None
        # Serialises changing the served Searcher (a rebuild's swap, following CURRENT elsewhere),
        # so two of them never decide from the same stale state; searches never take it.
        self._swap_lock = threading.Lock()
        self._searcher_options: dict[str, Any] = {
            "rrf_k": settings.rrf_k,
            "fusion": settings.hybrid_fusion,
            "hybrid_weight": settings.hybrid_weight,
        }

    # -- loading ----------------------------------------------------------------------------------

    def _open(self, version: str | None = None) -> Searcher:
        """A Searcher over the snapshot `version` (None: the one CURRENT names), checked against the
        encoder and pooling, with the store's writes since its build applied; raises FaqsearchError
        (NoIndexError, SnapshotError and DamagedSnapshotError included)."""
        return Searcher.open(
            self.settings.data_dir,
            self.encoder,
            pooling=self.settings.pooling,
            store=self.store,
            function_weight=self.settings.function_word_weight,
            rows=self.settings.row_policy(),
            words=self.settings.domain_words(),  # read now: edited files must be refused until a rebuild
            version=version,
            **self._searcher_options,
        )

    def _open_current_or_fallback(self) -> tuple[Searcher, str | None]:
        """The current snapshot, or when it is damaged (a file changed or missing, its manifest or
        CURRENT unreadable) the newest good snapshot older than it (what a rollback picks; else the
        newest good one) -> (searcher, why it is not the current one). A search service that keeps
        answering from the last good index beats one that is down until someone acts. Raises the
        current snapshot's error when no other can be served, and anything but damage (a model
        mismatch) as it is."""
        try:
            return self._open(), None
        except SnapshotError as exc:
            damaged = exc
        snapshots = Snapshots(self.settings.data_dir)
        try:
            current = snapshots.current()
        except SnapshotError:
            current = None
        limit = version_number(current) if current else None
        others = [s for s in reversed(snapshots.list()) if s.version != current]
        older = [s for s in others if limit is None or (version_number(s.version) or 0) < limit]
        served = self.searcher
        for info in older + [s for s in others if s not in older]:
            if served is not None and served.index.version == info.version:
                searcher: Searcher | None = served  # loaded and checked already, writes applied
            else:
                searcher = self._try_open(info)
            if searcher is not None:
                logger.error(
                    "the current snapshot %s is damaged, serving %s instead: %s",
                    current or "(unreadable CURRENT)",
                    info.version,
                    damaged,
                )
                return searcher, f"serving {info.version}, the newest good snapshot: {damaged.public}"
        raise damaged

    def _try_open(self, info: SnapshotInfo) -> Searcher | None:
        try:
            return self._open(info.version)
        except FaqsearchError as exc:  # damaged too, or built for another model: try the next one
            logger.warning("snapshot %s cannot be served either: %s", info.version, exc)
            return None

    def load_index(self) -> None:
        """Serve the data directory's current snapshot, if there is one that matches the model."""
        try:
            searcher, problem = self._open_current_or_fallback()
        except NoIndexError:
            self.not_ready_reason = (
                "no index in the data directory yet; add FAQs (POST /v1/faqs) and rebuild "
                "(POST /v1/index/rebuild), or run `faqsearch index build --faqs FILE`"
            )
            return
        except FaqsearchError as exc:  # model or pooling mismatch, damaged snapshot and no good one
            logger.error("index not served: %s", exc)
            self._refused_snapshot = self._current_key()  # not retried by follow_current_snapshot
            self.not_ready_reason = (
                f"{public_message(exc).rstrip('.')}. A rebuild (POST /v1/index/rebuild) also fixes this."
            )
            return
        if problem is not None:
            self._refused_snapshot = self._current_key()  # not retried by follow_current_snapshot
        self._serve(searcher, problem)

    def analyzer(self) -> Analyzer:
        """The Kiwi analyser for text that no index holds (rank's candidates): the served index's,
        so its domain words apply; with no index served, the configured domain words'."""
        searcher = self.searcher
        if searcher is not None:
            return searcher.index.bm25.analyzer
        return analyzer_for(self.settings.domain_words())

    def warm_up(self) -> None:
        """One forward pass so the first request does not pay for lazy initialisation."""
        if self.searcher is not None:
            self.searcher.search(["워밍업 문장입니다"], top_k=1, mode="hybrid")
        else:
            self.encoder.encode(["워밍업 문장입니다"], "mean")
        self.warm = True

    def _serve(self, searcher: Searcher, problem: str | None = None) -> None:
        self.searcher = searcher
        self.not_ready_reason = None
        self.snapshot_problem = problem
        self.metrics.set_index(searcher.index.version, searcher.index.count)

    # -- searching --------------------------------------------------------------------------------

    def require_searcher(self) -> Searcher:
        searcher = self.searcher
        if searcher is None:
            raise NotReadyError(self.not_ready_reason or "no index is loaded")
        return searcher

    def run_search(
        self,
        queries: Sequence[str],
        top_k: int,
        mode: str,
        index: LoadedIndex,
        vectors: np.ndarray | None,
        categories: Sequence[str] | None = None,
    ) -> list[list[Hit]]:
        """Runs in the encoder thread: a search of `index`, the snapshot served when the request
        came (so the version reported is the one that answered), with the queries' vectors when
        the micro-batcher encoded them already (None: encoded here), in `categories` if given."""
        searcher = self.require_searcher()
        return searcher.search(
            queries, top_k=top_k, mode=mode, index=index, vectors=vectors, categories=categories
        )

    def sync_index(self, ids: Sequence[str]) -> None:
        """Runs in the encoder thread, after a store write to `ids`: the served index takes what the
        store now holds for them. In the encoder thread, like a swap or a switch of snapshot: each
        of those reads the store when it runs, so a write committed before it is in the new index,
        and one committed after is synced into it here."""
        searcher = self.searcher
        if searcher is not None:
            searcher.sync(ids)

    def _note_encoder_thread(self) -> None:
        self._encoder_thread = threading.get_ident()

    def in_encoder_thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """fn(*args, **kwargs) in the encoder thread, waited for: from another thread (not the event
        loop's, use `run_in_encoder` there); from the encoder thread itself, called in place,
        since waiting there for its own queue would never end."""
        if threading.get_ident() == self._encoder_thread:
            return fn(*args, **kwargs)
        return self.executor.submit(fn, *args, **kwargs).result()

    async def run_in_encoder(self, fn: Callable[..., Any], *args: Any) -> Any:
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    # -- rebuilding -------------------------------------------------------------------------------

    def build_index(self, progress: Callable[[int, int], None]) -> LoadedIndex:
        """Runs in the job thread: a new snapshot from the store, loaded and ready to swap in."""
        result = build_snapshot(
            self.settings.data_dir,
            _EncoderOnThread(self.encoder, self.in_encoder_thread),
            self.settings.pooling,
            IndexParams(type=self.settings.index_type),
            keep=self.settings.snapshot_keep,
            progress=progress,
            function_weight=self.settings.function_word_weight,
            rows=self.settings.row_policy(),
            words=self.settings.domain_words(),  # read now: a rebuild is how edited files take effect
        )
        info = result.snapshot
        return LoadedIndex.load(info.path, info.manifest, info.version)

    def serve_index(self, index: LoadedIndex) -> None:
        """Called from the rebuild job's thread: the swap encodes the writes made during the build,
        so it runs in the encoder thread."""
        self.in_encoder_thread(self._serve_index, index)

    def _serve_index(self, index: LoadedIndex) -> None:
        with self._swap_lock:
            if self.searcher is None:
                searcher = Searcher(self.encoder, index, self.store, **self._searcher_options)
                searcher.catch_up()
                self._serve(searcher)
            else:
                self.searcher.swap(index)  # atomic for searches; applies writes made during the build
                self._serve(self.searcher)

    def current_snapshot_version(self) -> str | None:
        return Snapshots(self.settings.data_dir).current()

    def snapshot_switched_elsewhere(self) -> str | None:
        """What CURRENT names if another process switched it (`faqsearch index rollback`, or `index
        build` while this server runs), or `garbled: <its text>` if it names no snapshot: not the
        one served (unless a problem is shown that may be gone), not one refused already, and no
        rebuild of our own running (that one swaps by itself). Cheap: reads one small file."""
        current = self._current_key()
        served = self.searcher.index.version if self.searcher is not None else None
        if current is None or current == self._refused_snapshot or self.jobs.busy:
            return None
        if current == served and self.snapshot_problem is None:
            return None
        return current

    def _current_key(self) -> str | None:
        """The version CURRENT names; `garbled: <its text>` when it names none, so a damaged CURRENT
        is followed (and refused) once, like a damaged snapshot, and again when its text changes."""
        try:
            return self.current_snapshot_version()
        except FaqsearchError:
            try:
                text = (Snapshots(self.settings.data_dir).root / CURRENT_FILE).read_text("utf-8", "replace")
            except OSError as exc:
                text = f"({exc.strerror})"
            return f"garbled: {text[:200]!r}"

    def follow_current_snapshot(self) -> None:
        """Runs in the encoder thread (like every write, so none is lost in between): serve the
        snapshot CURRENT names, with the store's writes since it was built applied; with CURRENT
        garbled or naming a damaged snapshot, the newest good one, and /readyz says so. One that does
        not match the model, or damage with no good snapshot, is refused and logged, and the served
        index stays."""
        current = self.snapshot_switched_elsewhere()
        if current is None:
            return
        searcher = self.searcher
        if searcher is not None and current == searcher.index.version:  # CURRENT is good again
            with self._swap_lock:
                self._serve(searcher)
            logger.info("snapshot %s is current again; no problem to report", current)
            return
        try:
            searcher, problem = self._open_current_or_fallback()
        except FaqsearchError as exc:  # a model mismatch, or damaged with no good snapshot to turn to
            self._refused_snapshot = current
            logger.error("snapshot %s was made current elsewhere but is not served: %s", current, exc)
            return
        if problem is not None:
            self._refused_snapshot = current  # damaged: not tried again until CURRENT changes
        with self._swap_lock:
            self._serve(searcher, problem)
        if problem is None:
            logger.info("serving snapshot %s, made current by another process", searcher.index.version)

    def close(self) -> None:
        self.jobs.shutdown()
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.query_log.close()
        self.store.close()
