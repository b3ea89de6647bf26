"""Another process holding a write transaction open on a FAQ store, for tests of what waits behind it.

`held_write_lock(data_dir)` starts a Python process that begins a write transaction on the store
(as faqsearch does, announcing itself, or as a plain sqlite3 client when `as_faqsearch=False`),
inserts one entry in it, and holds it until the `with` block ends; then it commits and exits.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HELD_ID = "held-by-other-process"
HELD_QUESTION = "다른 프로세스가 쓰던 질문입니다"
HOLDER_COMMAND = "faqsearch faqs import"

_FAQSEARCH = f"""
import sys
from indexing.store import FaqStore
store = FaqStore.open(sys.argv[1], label={HOLDER_COMMAND!r})
with store._transaction() as conn:
    conn.execute(
        "INSERT INTO faqs (id, question, created_at, updated_at) VALUES (?, ?, 'x', 'x')",
        ({HELD_ID!r}, {HELD_QUESTION!r}),
    )
    store._bump_revision(conn)
    print("held", flush=True)
    sys.stdin.readline()
"""

_PLAIN = f"""
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1] + "/faqs.sqlite3", isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute(
    "INSERT INTO faqs (id, question, created_at, updated_at) VALUES (?, ?, 'x', 'x')",
    ({HELD_ID!r}, {HELD_QUESTION!r}),
)
conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'revision'")
print("held", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
"""


@contextmanager
def held_write_lock(data_dir: Path, *, as_faqsearch: bool = True) -> Iterator[subprocess.Popen]:
    """The store of `data_dir` write-locked by another process for the `with` block -> that process."""
    root = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(
        [sys.executable, "-c", _FAQSEARCH if as_faqsearch else _PLAIN, str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "held"
        yield process
    finally:
        assert process.stdin is not None
        process.stdin.write("\n")
        process.stdin.close()
        assert process.wait(timeout=30) == 0
