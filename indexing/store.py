"""The FAQ store: the source of truth for one FAQ collection, which every search index is built from.

It is one SQLite file, `<data_dir>/faqs.sqlite3`, so a data directory holds exactly one collection
and two directories never share state. SQLite because it is embedded (no server to run), survives
crashes (WAL journal), and lets a CLI process import FAQs while the service keeps reading.

Reads never wait for writes: in WAL mode a reader sees the last committed state while a writer
(in this process or another) works, so reads run on their own connections, taken from a small
pool (one per concurrent reader, reused: a thread pool replacing its threads leaks nothing).
Writes share one connection behind a lock and use `BEGIN IMMEDIATE`, so a writer in another process
makes them wait (up to `write_wait_s`) instead of failing half-way through a transaction; a wait that
runs out raises `StoreBusyError` naming the other writer, which each faqsearch writer announces in a
small file beside the database (`faqs.sqlite3-writer`) while its transaction is open.

Indexes detect changes through `revision()`, a counter in the `meta` table that goes up by one in
every transaction that changes a row, and label their manifests with `content_hash()`. Use
`snapshot()` to read both together with the entries, so no write can slip in between the reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from indexing.query_log import INDEX as QUERY_LOG_INDEX
from indexing.query_log import SCHEMA as QUERY_LOG_SCHEMA
from indexing.query_log import LoggedSearch, read_log
from models.errors import FaqsearchError
from models.text import normalize_multiline, normalize_text

DB_FILE_NAME = "faqs.sqlite3"
SCHEMA_VERSION = 2  # 2: alternates (a JSON list per entry); a version-1 file upgrades in place on open
WRITER_FILE_SUFFIX = "-writer"  # beside the database: who holds its write lock
BUSY_TIMEOUT_S = 10.0  # how long a write waits for another writer by default

# Limits in characters, counted after normalisation. A question is embedded as one sentence, and
# encoders truncate long input anyway, so 2,000 characters is generous; answers are only shown.
MAX_ID_CHARS = 256
MAX_QUESTION_CHARS = 2_000
MAX_ANSWER_CHARS = 20_000
MAX_CATEGORY_CHARS = 200
MAX_ALTERNATES = 50  # alternate phrasings per entry; each within MAX_QUESTION_CHARS

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS faqs (
        id         TEXT PRIMARY KEY NOT NULL CHECK (typeof(id) = 'text' AND length(id) > 0),
        question   TEXT NOT NULL CHECK (typeof(question) = 'text' AND length(question) > 0),
        answer     TEXT,
        category   TEXT,
        alternates TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE IF NOT EXISTS meta (
        key   TEXT PRIMARY KEY NOT NULL,
        value INTEGER NOT NULL
    ) WITHOUT ROWID
    """,
    "INSERT OR IGNORE INTO meta (key, value) VALUES ('revision', 0)",
    # The query log (indexing.query_log): a table of its own, written by its own thread; added
    # without a version bump, since an older faqsearch opening the file only ignores it.
    QUERY_LOG_SCHEMA,
    QUERY_LOG_INDEX,
)

_COLUMNS = "id, question, answer, category, created_at, updated_at, alternates"
# Version 1 -> 2: one column; existing entries get no alternates.
_UPGRADE_FROM_1 = "ALTER TABLE faqs ADD COLUMN alternates TEXT NOT NULL DEFAULT '[]'"
# Below SQLite's oldest limit on bound parameters per statement (999).
_IDS_PER_QUERY = 900


@dataclass(frozen=True, slots=True)
class FaqEntry:
    """One FAQ. `created_at` and `updated_at` are UTC ISO-8601 strings set by the store; any values
    given on the way in are ignored, so an import cannot back-date entries."""

    id: str
    question: str
    answer: str | None = None
    category: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    # Other phrasings of the question ("유사 질문"): each is searched like the question itself.
    alternates: tuple[str, ...] = ()

    @property
    def questions(self) -> tuple[str, ...]:
        """The question, then each alternate: every text a query is matched against as a question."""
        return (self.question, *self.alternates)


@dataclass(frozen=True, slots=True)
class UpsertResult:
    """What an upsert did. `unchanged` counts entries identical to the stored ones: they are not
    rewritten, keep their `updated_at`, and do not bump the revision (re-importing a file is free)."""

    inserted: int
    updated: int
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class StoreSnapshot:
    """Entries (ordered by id), revision and content hash, all read in one transaction."""

    revision: int
    entries: tuple[FaqEntry, ...]
    content_hash: str


class StoreOpenError(FaqsearchError, ValueError):
    """The FAQ store file cannot be opened as a faqsearch store; the message says what to do."""


class StoreBusyError(FaqsearchError):
    """A write waited its whole `write_wait_s` for another writer of the store and was not made.
    `writer` describes that writer (its pid, command and since when), or None when it did not say."""

    def __init__(self, message: str, writer: str | None) -> None:
        super().__init__(message)
        self.writer = writer


class InvalidFaqEntryError(FaqsearchError, ValueError):
    """Entries that cannot be stored. `problems` lists every reason, one string each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def _text_field(
    name: str,
    value: object,
    *,
    required: bool,
    limit: int,
    problems: list[str],
    normalize: Callable[[str], str] = normalize_text,
) -> str | None:
    if value is None:
        if required:
            problems.append(f"missing {name}")
        return None
    if not isinstance(value, str):
        problems.append(f"{name} must be text, not {type(value).__name__}")
        return None
    text = normalize(value)
    if not text:
        if required:
            problems.append(f"empty {name}")
        return None
    if len(text) > limit:
        problems.append(f"{name} is {len(text):,} characters long; the limit is {limit:,} characters")
    return text


def _shown(value: object, limit: int = 60) -> str:
    """A value quoted in an error message, cut short: a 10,000-character id need not come back whole."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = len(value) if isinstance(value, str) else len(text)
    return f"{text[:limit]}... ({size:,} characters)"


def normalize_id(id_: str) -> str:
    """An FAQ id as the store keys it: `normalize_text` (NFC, controls dropped, spaces collapsed),
    so "  lead" and an NFD spelling name the stored "lead". Every write, lookup and delete goes
    through this, and so does whatever reports an id back."""
    return normalize_text(id_)


def id_problem(normalized_id: str) -> str | None:
    """Why a (normalised) id cannot be stored, or None. U+FFFD is what undecodable bytes become
    (a URL path with %FF in it, a file read with errors="replace"): an id holding it names
    nothing the sender meant, and every different bad byte would map to the same id."""
    if "\ufffd" in normalized_id:
        return (
            "id contains U+FFFD, the replacement character for bytes that are not UTF-8: the id "
            "must be valid UTF-8 text (in a URL, percent-encode its UTF-8 bytes)"
        )
    return None


def entry_problems(entry: FaqEntry) -> tuple[FaqEntry | None, list[str]]:
    """Normalise every text field of `entry` (`normalize_text`; the answer `normalize_multiline`) and
    check it against the limits.

    Returns the normalised entry (timestamps dropped; an empty answer or category becomes None) and
    an empty list, or None and every problem found. The importer uses this to report all problems of
    a row at once; `normalize_entry` is the raising form.
    """
    problems: list[str] = []
    id_ = _text_field(
        "id", entry.id, required=True, limit=MAX_ID_CHARS, problems=problems, normalize=normalize_id
    )
    if id_ is not None and (problem := id_problem(id_)) is not None:
        problems.append(problem)
    question = _text_field(
        "question", entry.question, required=True, limit=MAX_QUESTION_CHARS, problems=problems
    )
    # The answer is shown, never searched: its line breaks and spacing are kept.
    answer = _text_field(
        "answer",
        entry.answer,
        required=False,
        limit=MAX_ANSWER_CHARS,
        problems=problems,
        normalize=normalize_multiline,
    )
    category = _text_field(
        "category", entry.category, required=False, limit=MAX_CATEGORY_CHARS, problems=problems
    )
    alternates = _alternates(entry.alternates, question, problems)
    if problems or id_ is None or question is None:
        return None, problems
    return FaqEntry(id=id_, question=question, answer=answer, category=category, alternates=alternates), []


def _alternates(value: object, question: str | None, problems: list[str]) -> tuple[str, ...]:
    """Normalised alternates; a duplicate of the question or of an earlier alternate is a problem
    (it would only add a second copy of the same vector), named with its position."""
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list | tuple):
        problems.append(f"alternates must be a list of texts, not {type(value).__name__}")
        return ()
    if len(value) > MAX_ALTERNATES:
        problems.append(f"{len(value)} alternates; the limit is {MAX_ALTERNATES} per entry")
    seen = {question: "the question"} if question else {}
    alternates = []
    for i, item in enumerate(value):
        text = _text_field(f"alternate {i}", item, required=True, limit=MAX_QUESTION_CHARS, problems=problems)
        if text is None:
            continue
        if text in seen:
            problems.append(f"alternate {i} {_shown(text)} repeats {seen[text]}; remove it")
            continue
        seen[text] = f"alternate {i}"
        alternates.append(text)
    return tuple(alternates)


def normalize_entry(entry: FaqEntry) -> FaqEntry:
    """`entry` with normalised text fields; raises `InvalidFaqEntryError` naming every problem."""
    normalized, problems = entry_problems(entry)
    if normalized is None:
        raise InvalidFaqEntryError(problems)
    return normalized


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


Row = tuple[str, str, str | None, str | None, str, str, str]


def _entry_from_row(row: Row) -> FaqEntry:
    id_, question, answer, category, created_at, updated_at, alternates = row
    return FaqEntry(id_, question, answer, category, created_at, updated_at, tuple(json.loads(alternates)))


def _alternates_column(entry: FaqEntry) -> str:
    return json.dumps(list(entry.alternates), ensure_ascii=False)


def _hash_entries(entries: Iterable[FaqEntry]) -> str:
    # One JSON array per line: unambiguous whatever characters ids and questions contain. An entry
    # without alternates hashes as [id, question], as before alternates existed.
    digest = hashlib.sha256()
    for entry in entries:
        item = [entry.id, *entry.questions]
        digest.update(json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def process_label() -> str:
    """How this process names itself to other writers: the program and its subcommand words
    ("faqsearch faqs import", "faqsearch serve"); file names and options are left out."""
    program = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    words = [arg for arg in sys.argv[1:3] if re.fullmatch(r"[a-z][a-z-]*", arg)]
    return " ".join([program, *words])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


class _ReaderPool:
    """Read-only connections of one database file, one per concurrent reader, reused."""

    def __init__(self, path: Path, wait_s: float) -> None:
        self._path = path
        self._wait_s = wait_s
        self._free: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"FaqStore {self._path} is closed; open it again with FaqStore.open()")
            conn = self._free.pop() if self._free else None
        if conn is None:
            conn = sqlite3.connect(
                self._path, timeout=self._wait_s, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA query_only=ON")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            with self._lock:
                if self._closed:
                    conn.close()
                else:
                    self._free.append(conn)

    def close(self) -> None:
        """Close the idle connections now and the busy ones when their reads end."""
        with self._lock:
            self._closed = True
            free, self._free = self._free, []
        for conn in free:
            conn.close()


class FaqStore:
    """FAQ entries of one collection in a SQLite file. Safe to share between threads.

    Locks: `_lock` (an RLock) owns the one write connection, held for a whole write transaction
    so this process's writes never interleave; reads never take it (each has a pooled read-only
    connection, whose pool has its own short lock for handing connections out). Writers in other
    processes are kept out by SQLite's own write lock (`BEGIN IMMEDIATE`), not by this one.
    """

    def __init__(
        self, path: str | Path, *, write_wait_s: float = BUSY_TIMEOUT_S, label: str | None = None
    ) -> None:
        """Open (creating if needed) the store file at `path`; most callers want `FaqStore.open`.
        `write_wait_s`: how long a write waits for another writer before `StoreBusyError`;
        `label`: how this process names itself to other writers (default: `process_label()`)."""
        self._path = Path(path)
        self._write_wait_s = write_wait_s
        self._label = label or process_label()
        self._writer_file = self._path.with_name(self._path.name + WRITER_FILE_SUFFIX)
        self._lock = threading.RLock()  # guards the write connection
        self._conn: sqlite3.Connection | None = self._connect(self._path, write_wait_s)
        self._readers = _ReaderPool(self._path, write_wait_s)

    @classmethod
    def open(
        cls, data_dir: str | Path, *, write_wait_s: float = BUSY_TIMEOUT_S, label: str | None = None
    ) -> FaqStore:
        """Open the store of the collection in `data_dir` (file `faqs.sqlite3`), creating both."""
        data_dir = Path(data_dir)
        if data_dir.exists() and not data_dir.is_dir():
            raise NotADirectoryError(
                f"data directory {data_dir} exists but is not a directory; "
                "point FAQSEARCH_DATA_DIR at a folder"
            )
        data_dir.mkdir(parents=True, exist_ok=True)
        return cls(data_dir / DB_FILE_NAME, write_wait_s=write_wait_s, label=label)

    @property
    def path(self) -> Path:
        return self._path

    @staticmethod
    def _connect(path: Path, wait_s: float) -> sqlite3.Connection:
        # isolation_level=None: no implicit transactions; every transaction here is explicit.
        # check_same_thread=False: the lock, not the thread, guards the connection.
        conn = sqlite3.connect(path, timeout=wait_s, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise StoreOpenError(
                        f"{path} has schema version {version}, but this faqsearch understands "
                        f"up to {SCHEMA_VERSION}; upgrade faqsearch or use another data directory"
                    )
                if version == 1:
                    conn.execute(_UPGRADE_FROM_1)
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreOpenError(
                f"cannot open FAQ store {path}: {exc}; if this file is not a faqsearch store, "
                "move it away or use another data directory; if it is a damaged one, restore it from a "
                "backup, or move it away and import your FAQ file again (faqsearch faqs import FILE)"
            ) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    # -- connection and transactions -------------------------------------------------------

    def close(self) -> None:
        """Close the database. Idempotent; any later call raises RuntimeError."""
        self._readers.close()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> FaqStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FaqStore({str(self._path)!r})"

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError(f"FaqStore {self._path} is closed; open it again with FaqStore.open()")
        return self._conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on the write connection: commit on success, roll back on any error.
        While it is open, the writer file says who holds the lock."""
        with self._lock:
            conn = self._connection()
            self._begin_immediate(conn)
            try:
                self._announce()
                yield conn
                self._writer_file.unlink(missing_ok=True)  # before COMMIT: the next writer's file stays
                conn.execute("COMMIT")
            except BaseException:
                self._writer_file.unlink(missing_ok=True)
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _begin_immediate(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            writer = self.writer()
            raise StoreBusyError(
                f"the FAQ store is being written by {writer or 'another program (not faqsearch)'}; "
                f"this write waited {self._write_wait_s:g} s for it and was not made: send it again "
                "once that write has finished",
                writer,
            ) from exc

    def _announce(self) -> None:
        """Say in the writer file who holds the write lock, for writers that time out behind it.
        Best effort: a store on a read-only folder still works, its writers only go unnamed."""
        since = datetime.now(UTC).isoformat(timespec="seconds")
        record = {"pid": os.getpid(), "command": self._label, "since": since}
        with suppress(OSError):
            self._writer_file.write_text(json.dumps(record), encoding="utf-8")

    def writer(self) -> str | None:
        """Who holds the store's write lock, as its writer file says ("pid 123 (faqsearch faqs
        import), writing since ...") or None: no file, an unreadable one, or its process is gone."""
        try:
            record = json.loads(self._writer_file.read_text(encoding="utf-8"))
            pid, command, since = int(record["pid"]), str(record["command"]), str(record["since"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not _pid_alive(pid):
            return None
        return f"pid {pid} ({command}), writing since {since}"

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        """A read connection of the pool: never waits for a writer (closed with the store)."""
        return self._readers.connection()

    @staticmethod
    def _bump_revision(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'revision'")

    # -- writes ------------------------------------------------------------------------------

    def upsert_many(self, entries: Iterable[FaqEntry]) -> UpsertResult:
        """Insert new entries and update existing ones (matched by id), all in one transaction.

        Every entry is validated first; if any is invalid, or two share an id, nothing is written
        and `InvalidFaqEntryError` lists every problem. An update keeps `created_at`.
        """
        normalized: list[FaqEntry] = []
        problems: list[str] = []
        first_position: dict[str, int] = {}
        for position, entry in enumerate(entries):
            clean, found = entry_problems(entry)
            id_ = normalize_id(entry.id) if isinstance(entry.id, str) else ""
            if id_ and first_position.setdefault(id_, position) != position:
                found.append(f"same id as entry {first_position[id_]}")
            if found:
                problems.append(f"entry {position} (id {_shown(entry.id)}): {'; '.join(found)}")
            elif clean is not None:
                normalized.append(clean)
        if problems:
            raise InvalidFaqEntryError(problems)

        now = _utc_now()
        inserted = updated = unchanged = 0
        with self._transaction() as conn:
            for entry in normalized:
                row = conn.execute(
                    "SELECT question, answer, category, alternates FROM faqs WHERE id = ?", (entry.id,)
                ).fetchone()
                values = (entry.question, entry.answer, entry.category, _alternates_column(entry))
                if row is None:
                    conn.execute(
                        f"INSERT INTO faqs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (entry.id, *values[:3], now, now, values[3]),
                    )
                    inserted += 1
                elif tuple(row) == values:
                    unchanged += 1
                else:
                    conn.execute(
                        "UPDATE faqs SET question = ?, answer = ?, category = ?, alternates = ?, updated_at = ? "
                        "WHERE id = ?",
                        (*values, now, entry.id),
                    )
                    updated += 1
            if inserted or updated:
                self._bump_revision(conn)
        return UpsertResult(inserted=inserted, updated=updated, unchanged=unchanged)

    def upsert(self, entry: FaqEntry) -> UpsertResult:
        """Insert or update one entry; see `upsert_many`."""
        return self.upsert_many([entry])

    def delete_many(self, ids: Iterable[str]) -> int:
        """Delete the entries with these ids in one transaction; returns how many existed."""
        if isinstance(ids, str):  # a str is an iterable of one-character ids: surely a mistake
            raise TypeError("delete_many takes a list of ids, not one string; use delete(id) for one")
        keys = {normalize_id(id_) for id_ in ids}
        deleted = 0
        with self._transaction() as conn:
            for key in keys:
                deleted += conn.execute("DELETE FROM faqs WHERE id = ?", (key,)).rowcount
            if deleted:
                self._bump_revision(conn)
        return deleted

    def delete(self, id: str) -> bool:
        """Delete one entry; False if there was none with this id."""
        return self.delete_many([id]) == 1

    # -- reads -------------------------------------------------------------------------------

    def get(self, id: str) -> FaqEntry | None:
        """The entry with this id (normalised like stored ids, so NFD finds NFC), or None."""
        with self._read() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM faqs WHERE id = ?", (normalize_id(id),)).fetchone()
        return None if row is None else _entry_from_row(row)

    def get_many(self, ids: Iterable[str]) -> dict[str, FaqEntry]:
        """The entries with these ids, by id, in one query; ids without an entry are left out."""
        keys = list(dict.fromkeys(normalize_id(id) for id in ids))
        rows: list[Row] = []
        with self._read() as conn:
            for start in range(0, len(keys), _IDS_PER_QUERY):
                chunk = keys[start : start + _IDS_PER_QUERY]
                marks = ",".join("?" * len(chunk))
                rows += conn.execute(f"SELECT {_COLUMNS} FROM faqs WHERE id IN ({marks})", chunk).fetchall()
        return {row[0]: _entry_from_row(row) for row in rows}

    def all(self) -> list[FaqEntry]:
        """Every entry, ordered by id."""
        with self._read() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM faqs ORDER BY id").fetchall()
        return [_entry_from_row(row) for row in rows]

    def ids(self) -> list[str]:
        """Every id, in order."""
        with self._read() as conn:
            rows = conn.execute("SELECT id FROM faqs ORDER BY id").fetchall()
        return [row[0] for row in rows]

    def logged_searches(self, since: str | None = None, limit: int = 1000) -> list[LoggedSearch]:
        """The query log's searches at or after `since` (ISO-8601), oldest first (indexing.query_log)."""
        with self._read() as conn:
            return read_log(conn, since, limit)

    def count(self) -> int:
        with self._read() as conn:
            return int(conn.execute("SELECT count(*) FROM faqs").fetchone()[0])

    def revision(self) -> int:
        """A counter that goes up by one in every transaction that inserts, updates or deletes rows.
        Persistent; 0 for a new store. Compare it with the revision an index was built at."""
        with self._read() as conn:
            return self._revision(conn)

    @staticmethod
    def _revision(conn: sqlite3.Connection) -> int:
        return int(conn.execute("SELECT value FROM meta WHERE key = 'revision'").fetchone()[0])

    def content_hash(self) -> str:
        """sha256 hex over the entries' question texts, ordered by id: what an index's question rows
        depend on. Each entry is hashed as the compact JSON array `["<id>","<question>",
        "<alternate 0>", ...]` (UTF-8, non-ASCII kept) plus a newline. Answers and categories are
        left out (answers count only where indexed; the index's own digests track them)."""
        return _hash_entries(self.all())

    def snapshot(self) -> StoreSnapshot:
        """Entries, revision and content hash read in one transaction, so they always agree."""
        with self._read() as conn:
            conn.execute("BEGIN")  # one read transaction: both reads see the same commit
            rows = conn.execute(f"SELECT {_COLUMNS} FROM faqs ORDER BY id").fetchall()
            revision = self._revision(conn)
            conn.execute("COMMIT")
        entries = tuple(_entry_from_row(row) for row in rows)
        return StoreSnapshot(
            revision=revision,
            entries=entries,
            content_hash=_hash_entries(entries),
        )
