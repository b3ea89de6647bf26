"""The query log: every search the service answers, appended to the store's `query_log` table.

What an FAQ owner improves the FAQ from (issue 19): the query text, mode, category filter, top
hits and scores, took_ms, time and index version of each search, under a `search_id` that
feedback refers to. Client IPs are never stored.

No search is ever slowed or failed by it: `append` only puts the row on a bounded in-memory queue
(never blocks, never raises); one background thread writes the queue in batches, in one
transaction per batch, on its own connection to the store file. A batch that cannot be written
(a full disk, the table made read-only, the store locked past WRITE_WAIT_S) is dropped and counted
(`dropped`, exported to /metrics), as is a row that finds the queue full. Retention: rows older
than `days` are deleted at start and then hourly; `days` 0 turns the log off (nothing is queued).
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

logger = logging.getLogger(__name__)

QUEUE_ROWS = 10_000  # rows waiting to be written at most; more are dropped (and counted)
BATCH_ROWS = 500  # rows per write transaction at most
FLUSH_S = 0.2  # how long the writer waits to gather a batch
WRITE_WAIT_S = 2.0  # how long a batch waits for the store's write lock before it is dropped
RETENTION_EVERY_S = 3600.0

SCHEMA = """
    CREATE TABLE IF NOT EXISTS query_log (
        search_id     TEXT PRIMARY KEY NOT NULL,
        at            TEXT NOT NULL,
        query         TEXT NOT NULL,
        mode          TEXT NOT NULL,
        categories    TEXT,
        top_k         INTEGER NOT NULL,
        hit_ids       TEXT NOT NULL,
        hit_scores    TEXT NOT NULL,
        top_score     REAL,
        took_ms       REAL NOT NULL,
        index_version TEXT NOT NULL
    )
"""
INDEX = "CREATE INDEX IF NOT EXISTS query_log_at ON query_log (at)"
_COLUMNS = (
    "search_id, at, query, mode, categories, top_k, hit_ids, hit_scores, top_score, took_ms, index_version"
)


@dataclass(frozen=True)
class LoggedSearch:
    """One search as logged. `top_score`: the best hit's cosine (None: no hit, or none had one)."""

    search_id: str
    at: str  # UTC ISO-8601
    query: str
    mode: str
    categories: tuple[str, ...] | None
    top_k: int
    hit_ids: tuple[str, ...]
    hit_scores: tuple[float, ...]
    top_score: float | None
    took_ms: float
    index_version: str

    def row(self) -> tuple:
        return (
            self.search_id,
            self.at,
            self.query,
            self.mode,
            None if self.categories is None else json.dumps(list(self.categories), ensure_ascii=False),
            self.top_k,
            json.dumps(list(self.hit_ids), ensure_ascii=False),
            json.dumps(list(self.hit_scores)),
            self.top_score,
            self.took_ms,
            self.index_version,
        )

    @classmethod
    def from_row(cls, row: Sequence) -> LoggedSearch:
        sid, at, query, mode, cats, top_k, ids, scores, top, took, version = row
        return cls(
            sid,
            at,
            query,
            mode,
            None if cats is None else tuple(json.loads(cats)),
            int(top_k),
            tuple(json.loads(ids)),
            tuple(float(s) for s in json.loads(scores)),
            top,
            float(took),
            version,
        )


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class QueryLog:
    """The log of one store file; `start` begins writing, `close` writes what is queued and stops."""

    def __init__(self, path: str | Path, days: int) -> None:
        self.path = Path(path)
        self.days = days
        self.written = 0
        self.dropped = 0
        self._queue: queue.Queue[LoggedSearch | None] = queue.Queue(maxsize=QUEUE_ROWS)
        self._thread: threading.Thread | None = None
        self._count_lock = threading.Lock()
        self._last_retention = 0.0

    @property
    def enabled(self) -> bool:
        return self.days > 0

    def start(self) -> None:
        if not self.enabled or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="query-log", daemon=True)
        self._thread.start()

    def append(self, search: LoggedSearch) -> None:
        """Queue one search; never blocks, never raises (a full queue drops the row, counted)."""
        if not self.enabled:
            return
        try:
            self._queue.put_nowait(search)
        except queue.Full:
            self._drop(1, "the query log's queue is full")

    def flush(self, timeout_s: float = 10.0) -> None:
        """Wait until every row queued so far is written or dropped (tests, shutdown)."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        if self._thread is None:
            return
        self.flush()
        self._queue.put(None)
        self._thread.join(timeout=10)
        self._thread = None

    def _drop(self, rows: int, why: str) -> None:
        with self._count_lock:
            self.dropped += rows
        logger.warning("query log: %d row(s) dropped: %s", rows, why)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=WRITE_WAIT_S, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _take_batch(self) -> tuple[list[LoggedSearch], int, bool]:
        """(rows, queue items taken, stop asked): waits FLUSH_S for a first row, then takes what
        is there, up to BATCH_ROWS."""
        batch: list[LoggedSearch] = []
        taken, stop = 0, False
        try:
            item = self._queue.get(timeout=FLUSH_S)
        except queue.Empty:
            return batch, taken, stop
        while True:
            taken += 1
            if item is None:
                return batch, taken, True
            batch.append(item)
            if len(batch) >= BATCH_ROWS:
                return batch, taken, stop
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return batch, taken, stop

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        stop = False
        while not stop:
            batch, taken, stop = self._take_batch()
            try:
                if batch:
                    conn = conn or self._connect()
                    with _transaction(conn):
                        conn.executemany(
                            f"INSERT OR IGNORE INTO query_log ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                            [s.row() for s in batch],
                        )
                    with self._count_lock:
                        self.written += len(batch)
            except (sqlite3.Error, OSError) as exc:
                self._drop(len(batch), f"{type(exc).__name__}: {exc}")
            finally:
                for _ in range(taken):
                    self._queue.task_done()
            conn = self._retention(conn)
        if conn is not None:
            conn.close()

    def _retention(self, conn: sqlite3.Connection | None) -> sqlite3.Connection | None:
        """Delete rows older than `days`, at most once per RETENTION_EVERY_S (and first at start)."""
        now = time.monotonic()
        if self._last_retention and now - self._last_retention < RETENTION_EVERY_S:
            return conn
        self._last_retention = now
        try:
            conn = conn or self._connect()
            delete_older_than(conn, self.days)
        except (sqlite3.Error, OSError) as exc:
            logger.warning("query log: old rows not deleted: %s", exc)
        return conn


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def delete_older_than(conn: sqlite3.Connection, days: int, now: datetime | None = None) -> int:
    """Delete log rows older than `days` days -> how many."""
    cutoff = ((now or datetime.now(UTC)) - timedelta(days=days)).isoformat(timespec="microseconds")
    with _transaction(conn):
        return conn.execute("DELETE FROM query_log WHERE at < ?", (cutoff,)).rowcount


def read_log(conn: sqlite3.Connection, since: str | None = None, limit: int = 1000) -> list[LoggedSearch]:
    """Logged searches at or after `since` (ISO-8601, None: all), oldest first, at most `limit`."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM query_log WHERE at >= ? ORDER BY at, search_id LIMIT ?",
        (since or "", limit),
    ).fetchall()
    return [LoggedSearch.from_row(r) for r in rows]
