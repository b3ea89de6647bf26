"""FaqStore: upsert/delete semantics, normalisation, limits, revision, content hash, persistence, threads."""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from threading import Barrier

import pytest

import indexing.store as store_module
from indexing.store import (
    MAX_ANSWER_CHARS,
    MAX_ID_CHARS,
    MAX_QUESTION_CHARS,
    FaqEntry,
    FaqStore,
    InvalidFaqEntryError,
    StoreBusyError,
    StoreOpenError,
    StoreSnapshot,
    UpsertResult,
    normalize_id,
)

Q_PASSWORD = "비밀번호를 잊어버렸어요. 어떻게 찾나요?"
A_PASSWORD = "로그인 화면에서 '비밀번호 찾기'를 누르세요."
Q_REFUND = "환불은 언제 되나요?"
Q_DELIVERY = "배송은 며칠 걸리나요?"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FaqStore]:
    with FaqStore.open(tmp_path / "data") as opened:
        yield opened


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the store's clock return T1, T2, ... one per write transaction; returns the used stamps."""
    used: list[str] = []

    def fake_now() -> str:
        used.append(f"2024-01-0{len(used) + 1}T00:00:00.000000+00:00")
        return used[-1]

    monkeypatch.setattr(store_module, "_utc_now", fake_now)
    return used


def expected_hash(pairs: list[tuple[str, str]]) -> str:
    """The documented content hash format, computed independently of the store."""
    text = "".join(json.dumps([i, q], ensure_ascii=False, separators=(",", ":")) + "\n" for i, q in pairs)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_open_creates_folder_and_sqlite_file_in_wal_mode(tmp_path: Path) -> None:
    data_dir = tmp_path / "nested" / "data"
    with FaqStore.open(data_dir) as store:
        assert store.path == data_dir / "faqs.sqlite3"
        assert store.count() == 0
        assert store.revision() == 0
        assert store.all() == []
    assert (data_dir / "faqs.sqlite3").is_file()
    conn = sqlite3.connect(data_dir / "faqs.sqlite3")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    finally:
        conn.close()


def test_open_rejects_a_file_as_data_dir(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "data"
    not_a_dir.write_text("x")
    with pytest.raises(NotADirectoryError, match="exists but is not a directory"):
        FaqStore.open(not_a_dir)


def test_open_rejects_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    (tmp_path / "faqs.sqlite3").write_bytes(b"this is not a database, just some text" * 50)
    with pytest.raises(
        StoreOpenError, match=r"cannot open FAQ store .*; if this file is not a faqsearch store"
    ):
        FaqStore.open(tmp_path)


def test_open_refuses_a_newer_schema(tmp_path: Path) -> None:
    FaqStore.open(tmp_path).close()
    conn = sqlite3.connect(tmp_path / "faqs.sqlite3")
    conn.execute("PRAGMA user_version=99")
    conn.close()
    with pytest.raises(StoreOpenError, match="schema version 99, but this faqsearch understands up to 2"):
        FaqStore.open(tmp_path)


def test_insert_then_update_keeps_created_at(store: FaqStore, clock: list[str]) -> None:
    assert store.upsert(FaqEntry("pw-1", Q_PASSWORD, A_PASSWORD, "계정")) == UpsertResult(1, 0, 0)
    assert store.get("pw-1") == FaqEntry("pw-1", Q_PASSWORD, A_PASSWORD, "계정", clock[0], clock[0])

    assert store.upsert(FaqEntry("pw-1", Q_PASSWORD, "고객센터로 문의하세요.", None)) == UpsertResult(0, 1, 0)
    assert store.get("pw-1") == FaqEntry(
        "pw-1", Q_PASSWORD, "고객센터로 문의하세요.", None, clock[0], clock[1]
    )
    assert store.count() == 1


def test_timestamps_are_utc_iso8601(store: FaqStore) -> None:
    before = datetime.now(UTC)
    store.upsert(FaqEntry("a", Q_REFUND))
    after = datetime.now(UTC)
    entry = store.get("a")
    assert entry is not None and entry.created_at is not None
    created = datetime.fromisoformat(entry.created_at)
    assert created.utcoffset() is not None and created.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert before <= created <= after
    assert entry.updated_at == entry.created_at


def test_given_timestamps_are_ignored(store: FaqStore, clock: list[str]) -> None:
    store.upsert(FaqEntry("a", Q_REFUND, created_at="1999-01-01T00:00:00+00:00", updated_at="x"))
    assert store.get("a") == FaqEntry("a", Q_REFUND, None, None, clock[0], clock[0])


def test_identical_upsert_is_unchanged_and_keeps_revision(store: FaqStore, clock: list[str]) -> None:
    store.upsert(FaqEntry("a", Q_REFUND, "영업일 기준 3일", "결제"))
    assert store.revision() == 1
    # Same content in another spelling (NFD, extra spaces) normalises to the stored text.
    nfd = unicodedata.normalize("NFD", "  환불은   언제 되나요? ")
    assert store.upsert(FaqEntry("a", nfd, "영업일 기준 3일", "결제")) == UpsertResult(0, 0, 1)
    assert store.revision() == 1
    assert store.get("a") == FaqEntry("a", Q_REFUND, "영업일 기준 3일", "결제", clock[0], clock[0])


def test_upsert_many_counts_inserts_updates_and_unchanged(store: FaqStore, clock: list[str]) -> None:
    store.upsert_many([FaqEntry("a", Q_REFUND), FaqEntry("b", Q_DELIVERY)])
    result = store.upsert_many(
        [FaqEntry("a", Q_REFUND), FaqEntry("b", Q_DELIVERY, "2~3일"), FaqEntry("c", Q_PASSWORD)]
    )
    assert result == UpsertResult(inserted=1, updated=1, unchanged=1)
    assert store.all() == [
        FaqEntry("a", Q_REFUND, None, None, clock[0], clock[0]),
        FaqEntry("b", Q_DELIVERY, "2~3일", None, clock[0], clock[1]),
        FaqEntry("c", Q_PASSWORD, None, None, clock[1], clock[1]),
    ]
    assert store.revision() == 2


def test_text_is_normalised_on_the_way_in(store: FaqStore) -> None:
    nfd_id = unicodedata.normalize("NFD", "계정-1")
    nfd_question = unicodedata.normalize("NFD", Q_PASSWORD)
    assert nfd_question != Q_PASSWORD
    store.upsert(FaqEntry(nfd_id, "  " + nfd_question + "\x00\n", "   ", "\t계정\u200b "))
    entry = store.get("계정-1")
    assert entry is not None
    assert (entry.id, entry.question, entry.answer, entry.category) == ("계정-1", Q_PASSWORD, None, "계정")
    assert store.get(nfd_id) == entry  # lookups are normalised too
    assert store.ids() == ["계정-1"]


def test_an_answer_keeps_its_line_breaks_and_spacing(store: FaqStore) -> None:
    answer = "1. 로그인\n2. 설정\n\n    코드:  a  b"
    store.upsert(FaqEntry("pw-1", Q_PASSWORD, unicodedata.normalize("NFD", answer) + "\r\n"))
    entry = store.get("pw-1")
    assert entry is not None and entry.answer == answer


def test_an_over_long_id_is_quoted_short_in_the_error(store: FaqStore) -> None:
    with pytest.raises(InvalidFaqEntryError) as info:
        store.upsert(FaqEntry("가" * 10_000, Q_PASSWORD))
    assert str(info.value) == (
        f"entry 0 (id '{'가' * 59}... (10,000 characters)): id is 10,000 characters long; the limit is "
        f"{MAX_ID_CHARS:,} characters"
    )


def test_invalid_entries_are_rejected_together_and_nothing_is_written(store: FaqStore) -> None:
    store.upsert(FaqEntry("a", Q_REFUND))
    before, revision = store.all(), store.revision()
    with pytest.raises(InvalidFaqEntryError) as caught:
        store.upsert_many(
            [
                FaqEntry("new", Q_DELIVERY),  # valid, but must not be written either
                FaqEntry("  ", " \u200b "),
                FaqEntry("b", "가" * (MAX_QUESTION_CHARS + 1)),
                FaqEntry("c", Q_PASSWORD, "나" * (MAX_ANSWER_CHARS + 1)),
                FaqEntry(7, Q_PASSWORD),  # type: ignore[arg-type]
                FaqEntry(unicodedata.normalize("NFD", "새"), Q_PASSWORD),
                FaqEntry("새", Q_REFUND),
            ]
        )
    assert caught.value.problems == [
        "entry 1 (id '  '): empty id; empty question",
        "entry 2 (id 'b'): question is 2,001 characters long; the limit is 2,000 characters",
        "entry 3 (id 'c'): answer is 20,001 characters long; the limit is 20,000 characters",
        "entry 4 (id 7): id must be text, not int",
        "entry 6 (id '새'): same id as entry 5",
    ]
    assert store.all() == before
    assert store.revision() == revision


def test_an_id_with_a_replacement_character_is_refused_and_ids_are_normalised_once(store: FaqStore) -> None:
    """U+FFFD is what undecodable bytes turn into (a URL's %FF): such an id is refused, whoever writes it."""
    with pytest.raises(InvalidFaqEntryError) as caught:
        store.upsert_many([FaqEntry("\ufffd\ufffd\ufffd", Q_PASSWORD), FaqEntry("ok", Q_REFUND)])
    assert caught.value.problems == [
        "entry 0 (id '\ufffd\ufffd\ufffd'): id contains U+FFFD, the replacement character for bytes that "
        "are not UTF-8: the id must be valid UTF-8 text (in a URL, percent-encode its UTF-8 bytes)"
    ]
    assert store.count() == 0
    assert normalize_id("  lead\u200b ") == "lead"
    store.upsert(FaqEntry("lead", Q_PASSWORD))
    assert store.get("  lead") == store.get("lead") is not None
    assert store.delete_many(["  lead", "lead"]) == 1


def test_one_megabyte_question_is_rejected(store: FaqStore) -> None:
    with pytest.raises(
        InvalidFaqEntryError, match="question is 1,000,000 characters long; the limit is 2,000"
    ):
        store.upsert(FaqEntry("big", "질" * 1_000_000))
    assert store.count() == 0


def test_question_at_the_limit_is_accepted(store: FaqStore) -> None:
    question = "질" * MAX_QUESTION_CHARS
    assert store.upsert(FaqEntry("max", question)) == UpsertResult(1, 0, 0)
    assert store.get("max").question == question  # type: ignore[union-attr]


def test_failed_transaction_rolls_back_every_row(store: FaqStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.upsert(FaqEntry("a", Q_REFUND))
    before, revision = store.all(), store.revision()

    def fail(_conn: sqlite3.Connection) -> None:
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(FaqStore, "_bump_revision", staticmethod(fail))
    with pytest.raises(OSError, match="simulated"):
        store.upsert_many([FaqEntry("a", "바뀐 질문"), FaqEntry("b", Q_DELIVERY)])
    with pytest.raises(OSError, match="simulated"):
        store.delete("a")
    monkeypatch.undo()
    assert store.all() == before
    assert store.revision() == revision
    assert store.upsert(FaqEntry("b", Q_DELIVERY)) == UpsertResult(1, 0, 0)  # still usable


def test_delete_and_delete_many(store: FaqStore) -> None:
    store.upsert_many([FaqEntry(i, f"{i}번 질문입니다") for i in ("a", "b", "c", "d")])
    assert store.revision() == 1
    assert store.delete("b") is True
    assert store.revision() == 2
    assert store.delete("b") is False
    assert store.delete("없는-id") is False
    assert store.revision() == 2  # nothing deleted, nothing changed
    assert store.delete_many(["a", "d", "zz", "a"]) == 2
    assert store.revision() == 3
    assert store.delete_many([]) == 0
    assert store.revision() == 3
    assert store.get("a") is None
    assert store.ids() == ["c"]
    assert store.count() == 1
    with pytest.raises(TypeError, match="not one string"):
        store.delete_many("c")
    assert store.ids() == ["c"]


def test_all_ids_count_are_ordered_by_id(store: FaqStore) -> None:
    store.upsert_many([FaqEntry("b", Q_DELIVERY), FaqEntry("가", Q_PASSWORD), FaqEntry("a", Q_REFUND)])
    assert [e.id for e in store.all()] == ["a", "b", "가"]
    assert store.ids() == ["a", "b", "가"]
    assert store.count() == 3


def test_revision_counts_changing_transactions(store: FaqStore) -> None:
    revisions = [store.revision()]
    store.upsert(FaqEntry("a", Q_REFUND))
    revisions.append(store.revision())
    store.upsert(FaqEntry("a", Q_REFUND))  # unchanged
    revisions.append(store.revision())
    store.upsert(FaqEntry("a", Q_REFUND, "3일"))
    revisions.append(store.revision())
    store.upsert_many([FaqEntry("b", Q_DELIVERY), FaqEntry("c", Q_PASSWORD)])  # one transaction
    revisions.append(store.revision())
    store.delete("c")
    revisions.append(store.revision())
    assert revisions == [0, 1, 1, 2, 3, 4]


def test_content_hash_covers_sorted_ids_and_questions_only(store: FaqStore) -> None:
    assert store.content_hash() == hashlib.sha256(b"").hexdigest()
    store.upsert_many([FaqEntry("b", Q_DELIVERY, "2~3일"), FaqEntry("a", Q_REFUND)])
    first = store.content_hash()
    assert first == expected_hash([("a", Q_REFUND), ("b", Q_DELIVERY)])

    store.upsert(FaqEntry("b", Q_DELIVERY, "다른 답변", "배송"))  # answer/category: same vectors
    assert store.content_hash() == first
    store.upsert(FaqEntry("b", "배송 기간이 궁금해요"))
    assert store.content_hash() == expected_hash([("a", Q_REFUND), ("b", "배송 기간이 궁금해요")])


def test_content_hash_does_not_depend_on_insert_order(tmp_path: Path) -> None:
    entries = [FaqEntry("a", Q_REFUND), FaqEntry("b", Q_DELIVERY), FaqEntry("c", Q_PASSWORD)]
    with FaqStore.open(tmp_path / "one") as one, FaqStore.open(tmp_path / "two") as two:
        one.upsert_many(entries)
        for entry in reversed(entries):
            two.upsert(entry)
        assert one.content_hash() == two.content_hash()


def test_snapshot_agrees_with_separate_reads(store: FaqStore) -> None:
    store.upsert_many([FaqEntry("a", Q_REFUND), FaqEntry("b", Q_DELIVERY)])
    store.delete("a")
    snapshot = store.snapshot()
    assert snapshot == StoreSnapshot(
        revision=2, entries=tuple(store.all()), content_hash=expected_hash([("b", Q_DELIVERY)])
    )


def test_data_survives_reopen(tmp_path: Path) -> None:
    with FaqStore.open(tmp_path) as store:
        store.upsert_many([FaqEntry("a", Q_REFUND, "3일", "결제"), FaqEntry("b", Q_DELIVERY)])
        store.delete("b")
        store.upsert(FaqEntry("c", Q_PASSWORD, A_PASSWORD))
        expected = (store.all(), store.revision(), store.content_hash())
    with FaqStore.open(tmp_path) as reopened:
        assert (reopened.all(), reopened.revision(), reopened.content_hash()) == expected
        assert expected[1] == 3
        assert [e.id for e in expected[0]] == ["a", "c"]


def test_two_data_dirs_never_share_state(tmp_path: Path) -> None:
    with FaqStore.open(tmp_path / "shop") as shop, FaqStore.open(tmp_path / "bank") as bank:
        shop.upsert(FaqEntry("a", Q_REFUND))
        bank.upsert_many([FaqEntry("a", Q_PASSWORD), FaqEntry("b", Q_DELIVERY)])
        shop.delete("a")
        assert shop.all() == [] and shop.revision() == 2
        assert [(e.id, e.question) for e in bank.all()] == [("a", Q_PASSWORD), ("b", Q_DELIVERY)]
        assert bank.revision() == 1


def test_closed_store_says_so(tmp_path: Path) -> None:
    store = FaqStore.open(tmp_path)
    store.close()
    store.close()  # idempotent
    with pytest.raises(RuntimeError, match="is closed; open it again"):
        store.count()


def test_four_threads_interleaved_writes_and_reads(tmp_path: Path) -> None:
    """4 threads x 1,000 mixed operations on one shared store. Each thread owns its ids, so the final
    state is exactly known; every thread also reads the others' rows, which must never be torn."""
    threads, operations, ids_per_thread = 4, 1_000, 40
    store = FaqStore.open(tmp_path)
    barrier = Barrier(threads)

    def check_row(entry: FaqEntry) -> None:
        # Question and answer are always written together; a mismatched pair is a torn write.
        owner, _, number = entry.question.removeprefix("스레드 ").partition("의 질문 ")
        assert entry.answer == f"스레드 {owner}의 답변 {number}"
        assert entry.id.startswith(f"t{owner}-")

    def worker(thread: int) -> tuple[dict[str, tuple[str, str]], int]:
        rng = random.Random(thread)
        mine: dict[str, tuple[str, str]] = {}  # what this thread's ids must hold
        writes = 0  # transactions that changed something: each bumps the revision by one
        barrier.wait()
        for op in range(operations):
            key = f"t{thread}-{rng.randrange(ids_per_thread)}"
            roll = rng.random()
            if roll < 0.35:
                row = (f"스레드 {thread}의 질문 {op}", f"스레드 {thread}의 답변 {op}")
                result = store.upsert(FaqEntry(key, *row))
                assert result == (UpsertResult(0, 1, 0) if key in mine else UpsertResult(1, 0, 0))
                mine[key] = row
                writes += 1
            elif roll < 0.45:
                keys = sorted({f"t{thread}-{rng.randrange(ids_per_thread)}" for _ in range(3)})
                rows = {k: (f"스레드 {thread}의 질문 {op}", f"스레드 {thread}의 답변 {op}") for k in keys}
                inserted = sum(k not in mine for k in keys)
                result = store.upsert_many([FaqEntry(k, *row) for k, row in rows.items()])
                assert result == UpsertResult(inserted, len(keys) - inserted, 0)
                mine.update(rows)
                writes += 1
            elif roll < 0.65:
                assert store.delete(key) is (key in mine)
                writes += mine.pop(key, None) is not None
            elif roll < 0.85:
                entry = store.get(key)
                assert (None if entry is None else (entry.question, entry.answer)) == mine.get(key)
                other = store.get(f"t{(thread + 1) % threads}-{rng.randrange(ids_per_thread)}")
                if other is not None:
                    check_row(other)
            else:
                entries = store.all()
                ids = [e.id for e in entries]
                assert ids == sorted(set(ids))
                for entry in entries:
                    check_row(entry)
                assert {
                    e.id: (e.question, e.answer) for e in entries if e.id.startswith(f"t{thread}-")
                } == mine
        return mine, writes

    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            results = [f.result() for f in [pool.submit(worker, t) for t in range(threads)]]
        expected = {key: row for mine, _ in results for key, row in mine.items()}
        assert {e.id: (e.question, e.answer) for e in store.all()} == expected
        assert store.count() == len(expected) > threads * ids_per_thread // 2
        assert store.revision() == sum(writes for _, writes in results)
    finally:
        store.close()


def test_get_many_returns_the_existing_entries_in_one_dict(store: FaqStore) -> None:
    store.upsert_many([FaqEntry(f"id-{i:04d}", f"{i}번 질문입니다") for i in range(1000)])
    store.upsert(FaqEntry("가나", Q_PASSWORD))
    nfd = unicodedata.normalize("NFD", "가나")
    wanted = ["id-0999", nfd, "없는-id", "id-0000", "id-0999"]
    got = store.get_many(wanted)
    assert set(got) == {"id-0000", "id-0999", "가나"}
    assert got["가나"] == store.get("가나")
    assert got["id-0999"].question == "999번 질문입니다"
    assert store.get_many([]) == {}
    # more ids than one SQLite statement takes: read in chunks, all found
    every = store.get_many(f"id-{i:04d}" for i in range(1000))
    assert sorted(every) == [f"id-{i:04d}" for i in range(1000)]
    assert all(every[k] == store.get(k) for k in ("id-0000", "id-0450", "id-0900", "id-0999"))


# -- alternates ------------------------------------------------------------------------------------

FIXTURE_V1 = Path(__file__).parent.parent / "fixtures" / "store_v1" / "faqs.sqlite3"


def test_a_version_1_store_upgrades_in_place_with_nothing_lost(tmp_path):
    """tests/fixtures/store_v1 was written by the code before alternates (schema version 1)."""
    import shutil

    shutil.copy(FIXTURE_V1, tmp_path / "faqs.sqlite3")
    with FaqStore.open(tmp_path) as store:
        entries = {e.id: e for e in store.all()}
        assert store.revision() == 1
        # the hash of entries without alternates is what version 1 computed
        assert store.content_hash() == "b637f78a9274819f4d0fc0b0017f202cdd3f10f6a43498e1147057860bd084ec"
        store.upsert(
            FaqEntry(
                "card-1", "카드를 잃어버렸어요", entries["card-1"].answer, "카드", alternates=("카드 분실",)
            )
        )
    assert sorted(entries) == ["card-1", "hours-1", "loan-1"]
    assert (entries["loan-1"].question, entries["loan-1"].answer, entries["loan-1"].category) == (
        "신용 대출 신청은 어떻게 하나요?",
        "가까운 지점이나 앱에서 신청할 수 있습니다.",
        "대출",
    )
    assert entries["hours-1"].answer is None and all(e.alternates == () for e in entries.values())
    with FaqStore.open(tmp_path) as store:  # reopened: version 2, the new alternate kept
        assert store.get("card-1").alternates == ("카드 분실",)
        assert store.get("loan-1").created_at == entries["loan-1"].created_at
    conn = sqlite3.connect(tmp_path / "faqs.sqlite3")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2


def test_alternates_are_normalised_stored_and_compared(tmp_path):
    with FaqStore.open(tmp_path) as store:
        nfd = unicodedata.normalize("NFD", "카드  분실 신고")
        result = store.upsert(FaqEntry("c", "카드를 잃어버렸어요", alternates=(nfd, "카드 재발급")))
        assert result == UpsertResult(inserted=1, updated=0)
        assert store.get("c").alternates == ("카드 분실 신고", "카드 재발급")
        # the same alternates again: unchanged; one removed: updated
        assert (
            store.upsert(
                FaqEntry("c", "카드를 잃어버렸어요", alternates=("카드 분실 신고", "카드 재발급"))
            ).unchanged
            == 1
        )
        assert store.upsert(FaqEntry("c", "카드를 잃어버렸어요", alternates=("카드 재발급",))).updated == 1
        assert store.get("c").alternates == ("카드 재발급",)


def test_bad_alternates_are_refused_naming_each_and_nothing_is_stored(tmp_path):
    with FaqStore.open(tmp_path) as store:
        with pytest.raises(InvalidFaqEntryError) as caught:
            store.upsert_many(
                [
                    FaqEntry("ok", "환불은 며칠 걸려요?"),
                    FaqEntry("a", "카드를 잃어버렸어요", alternates=("카드를 잃어버렸어요 ", "분실", "분실")),
                    FaqEntry("b", "배송 조회", alternates=tuple(f"배송 {i}" for i in range(51))),
                    FaqEntry("c", "요금제 변경", alternates=("가" * 2001, "")),
                ]
            )
        assert caught.value.problems == [
            "entry 1 (id 'a'): alternate 0 '카드를 잃어버렸어요' repeats the question; remove it; "
            "alternate 2 '분실' repeats alternate 1; remove it",
            "entry 2 (id 'b'): 51 alternates; the limit is 50 per entry",
            "entry 3 (id 'c'): alternate 0 is 2,001 characters long; the limit is 2,000 characters; "
            "empty alternate 1",
        ]
        assert store.count() == 0


# -- another process writing -------------------------------------------------------------------


def test_reads_do_not_wait_for_another_process_holding_the_write_lock(tmp_path: Path) -> None:
    from write_lock_holder import HELD_ID, held_write_lock

    with FaqStore.open(tmp_path, write_wait_s=30) as store:
        store.upsert(FaqEntry("a", Q_REFUND))
        with held_write_lock(tmp_path):
            started = time.monotonic()
            # Every read sees the last commit, not the other process's open transaction.
            assert [e.id for e in store.all()] == ["a"]
            assert store.get(HELD_ID) is None
            assert list(store.get_many(["a", HELD_ID])) == ["a"]
            assert (store.count(), store.revision(), store.ids()) == (1, 1, ["a"])
            assert store.snapshot().revision == 1
            assert time.monotonic() - started < 1.0
        assert store.ids() == ["a", HELD_ID]  # committed when the other process let go
        assert store.revision() == 2


def test_a_write_waits_for_the_other_writer_then_succeeds(tmp_path: Path) -> None:
    from write_lock_holder import HELD_ID, held_write_lock

    with FaqStore.open(tmp_path, write_wait_s=30) as store:
        with ThreadPoolExecutor(max_workers=1) as pool, held_write_lock(tmp_path):
            write = pool.submit(store.upsert, FaqEntry("b", Q_DELIVERY))
            time.sleep(0.5)
            assert not write.done()  # queued behind the other process's transaction
        assert write.result(timeout=30) == UpsertResult(1, 0, 0)
        assert store.ids() == ["b", HELD_ID]
        assert store.revision() == 2


def test_a_write_that_outwaits_its_limit_names_the_other_faqsearch_writer(tmp_path: Path) -> None:
    from write_lock_holder import HOLDER_COMMAND, held_write_lock

    with FaqStore.open(tmp_path, write_wait_s=0.3) as store:
        with held_write_lock(tmp_path) as holder:
            started = time.monotonic()
            with pytest.raises(StoreBusyError) as caught:
                store.upsert(FaqEntry("b", Q_DELIVERY))
            waited = time.monotonic() - started
        assert caught.value.writer is not None
        assert caught.value.writer.startswith(f"pid {holder.pid} ({HOLDER_COMMAND}), writing since ")
        assert str(caught.value) == (
            f"the FAQ store is being written by {caught.value.writer}; this write waited 0.3 s for it "
            "and was not made: send it again once that write has finished"
        )
        assert 0.3 <= waited < 5
        assert store.get("b") is None
        assert store.writer() is None  # the holder has committed and gone
        assert store.upsert(FaqEntry("b", Q_DELIVERY)) == UpsertResult(1, 0, 0)


def test_a_plain_sqlite_writer_is_named_as_not_faqsearch(tmp_path: Path) -> None:
    from write_lock_holder import held_write_lock

    with (
        FaqStore.open(tmp_path, write_wait_s=0.2) as store,
        held_write_lock(tmp_path, as_faqsearch=False),
        pytest.raises(StoreBusyError) as caught,
    ):
        store.delete("a")
    assert caught.value.writer is None
    assert str(caught.value).startswith(
        "the FAQ store is being written by another program (not faqsearch); this write waited 0.2 s"
    )


def test_a_stale_writer_file_of_a_dead_process_names_nobody(tmp_path: Path) -> None:
    with FaqStore.open(tmp_path) as store:
        gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
        pid = int(gone.stdout)
        (tmp_path / "faqs.sqlite3-writer").write_text(json.dumps({"pid": pid, "command": "x", "since": "y"}))
        assert store.writer() is None
        store.upsert(FaqEntry("a", Q_REFUND))  # a write replaces it and removes it when done
        assert not (tmp_path / "faqs.sqlite3-writer").exists()


def test_reads_on_many_threads_reuse_a_few_connections(store: FaqStore) -> None:
    store.upsert(FaqEntry("a", Q_REFUND))
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(lambda _: store.get("a").question, range(400))) == {Q_REFUND}  # type: ignore[union-attr]
    assert 1 <= len(store._readers._free) <= 8
