"""The query log writes what it is given, exactly; drops (and counts) what it cannot write without
ever raising to the caller; and retention deletes exactly the rows older than its days."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

from indexing import query_log
from indexing.query_log import LoggedSearch, QueryLog, delete_older_than, read_log
from indexing.store import FaqStore


def _search(i: int, at: str | None = None) -> LoggedSearch:
    return LoggedSearch(
        search_id=f"s{i:04d}",
        at=at or f"2026-12-04T10:00:{i % 60:02d}.{i:06d}+00:00",
        query=f"카드를 잃어버렸어요 {i}",
        mode="hybrid",
        categories=("카드",) if i % 2 else None,
        top_k=5,
        hit_ids=(f"faq-{i}", "faq-x"),
        hit_scores=(0.9, 0.5),
        top_score=0.9 if i % 3 else None,
        took_ms=12.5,
        index_version="v000001",
    )


def test_appended_searches_are_written_as_given(tmp_path):
    store = FaqStore.open(tmp_path)  # creates the table
    log = QueryLog(store.path, days=36500)
    log.start()
    searches = [_search(i) for i in range(1200)]  # more than one batch
    for s in searches:
        log.append(s)
    log.flush()
    assert (log.written, log.dropped) == (1200, 0)
    assert store.logged_searches(limit=5000) == sorted(searches, key=lambda s: (s.at, s.search_id))
    assert (
        store.logged_searches(since=searches[10].at, limit=3)
        == sorted([s for s in searches if s.at >= searches[10].at], key=lambda s: (s.at, s.search_id))[:3]
    )
    log.close()
    store.close()


def test_an_unwritable_table_drops_and_counts_rows_and_never_raises(tmp_path):
    store = FaqStore.open(tmp_path)
    with sqlite3.connect(store.path) as conn:
        conn.execute(
            "CREATE TRIGGER no_log BEFORE INSERT ON query_log BEGIN SELECT RAISE(ABORT, 'read-only'); END"
        )
    log = QueryLog(store.path, days=30)
    log.start()
    for i in range(7):
        log.append(_search(i))
    log.flush()
    assert (log.written, log.dropped) == (0, 7)
    with sqlite3.connect(store.path) as conn:
        conn.execute("DROP TRIGGER no_log")
    log.append(_search(8))
    log.flush()
    assert (log.written, log.dropped) == (1, 7)
    log.close()
    store.close()


def test_a_full_queue_drops_and_counts(tmp_path, monkeypatch):
    monkeypatch.setattr(query_log, "QUEUE_ROWS", 3)
    log = QueryLog(tmp_path / "x.sqlite3", days=30)  # not started: nothing takes rows off the queue
    for i in range(5):
        log.append(_search(i))
    assert log.dropped == 2


def test_days_zero_logs_nothing(tmp_path):
    log = QueryLog(tmp_path / "x.sqlite3", days=0)
    log.start()
    log.append(_search(1))
    assert (log.enabled, log.written, log.dropped, log._thread) == (False, 0, 0, None)


def test_retention_deletes_exactly_the_rows_older_than_its_days(tmp_path):
    store = FaqStore.open(tmp_path)
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    ages = [0, 1, 29, 31, 45]  # days
    conn = sqlite3.connect(store.path, isolation_level=None)
    for i, days in enumerate(ages):
        at = (now - timedelta(days=days)).isoformat(timespec="microseconds")
        conn.execute(f"INSERT INTO query_log VALUES ({','.join('?' * 11)})", _search(i, at).row())
    assert delete_older_than(conn, 30, now) == 2
    assert [s.search_id for s in read_log(conn)] == ["s0002", "s0001", "s0000"]
    conn.close()
    store.close()
