"""Load and validate an evaluation test set folder (the format of `testsets/`), strictly.

A folder is one of two kinds, decided by which files it holds:

ranking  `corpus.jsonl`   one JSON object per line: `{"id", "text"}`, optional `"title"`, `"answer"`,
                          `"alternates"` (a list of non-empty strings: other phrasings of the entry's
                          question, normalised like `text`; absent or null = none)
         `queries.jsonl`  one JSON object per line: `{"id", "text"}`
         `qrels.tsv`      header `query_id<TAB>entry_id<TAB>grade`, then one row per relevant pair
sts      `pairs.jsonl`    one JSON object per line: `{"a", "b", "score"}`
either   `split.json`     optional: which part is for training and which for evaluation, so that
                          a model is never trained on what it is scored on (see `SPLIT_FILE`)

Any folder in this format loads, not only the bundled ones. Everything wrong with a folder raises
`TestsetError` (a `ValueError`) whose message starts with the file and, where there is one, the
line number (1-based), then says what is wrong. Texts are normalised with `models.text.normalize_text`
(NFC, whitespace collapsed); ids are NFC with surrounding whitespace stripped; other fields of the
JSON objects are ignored. Files are UTF-8 (a leading byte-order mark is accepted); lines end in LF or
CRLF; blank lines are errors.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.errors import FaqsearchError
from models.text import normalize_text

CORPUS_FILE = "corpus.jsonl"
QUERIES_FILE = "queries.jsonl"
QRELS_FILE = "qrels.tsv"
PAIRS_FILE = "pairs.jsonl"
# {"split": "train" | "dev" | "test"}: the whole folder is one split; or, for a ranking set,
# {"rule": "...", "test_entries": [ids]}: split by entry (an entry is one group: a programme, a
# paraphrase block), a query is a test query when any of its relevant entries is a test entry.
# Without the file a folder is the user's own: every part of it serves either purpose.
SPLIT_FILE = "split.json"
SPLITS = ("train", "dev", "test")
# What a caller asks for: "eval" = the dev/test part (what `faqsearch eval` scores), "train" = the
# part a model may be trained on, "all" = everything (the set's own checks).
PURPOSES = ("eval", "train", "all")
RANKING_FILES = (CORPUS_FILE, QUERIES_FILE, QRELS_FILE)
QRELS_HEADER = "query_id\tentry_id\tgrade"

_GRADE_RE = re.compile(r"[0-9]+")


class TestsetError(FaqsearchError, ValueError):
    """A test set folder that is missing a file or has a malformed line."""

    __test__ = False  # not a pytest test class, despite the name


@dataclass(frozen=True)
class CorpusEntry:
    id: str
    text: str
    title: str | None = None
    answer: str | None = None
    alternates: tuple[str, ...] = ()


@dataclass(frozen=True)
class Query:
    id: str
    text: str


@dataclass(frozen=True)
class StsPair:
    a: str
    b: str
    score: float


@dataclass
class RankingSet:
    """Entries to search, queries, and for each query id the relevant entry ids with their grade."""

    name: str
    corpus: list[CorpusEntry]
    queries: list[Query]
    qrels: dict[str, dict[str, int]]


@dataclass
class StsSet:
    """Sentence pairs with a gold similarity score."""

    name: str
    pairs: list[StsPair]


def load_testset(path: str | Path, purpose: str = "all") -> RankingSet | StsSet:
    """Load the test set in folder `path`: STS if it has `pairs.jsonl`, else ranking.

    purpose: "all", or "eval" / "train" for the part of the set its `split.json` gives that purpose
    (a ranking set keeps its whole corpus; only its queries are split). The folder's name is the
    set's name. Raises `TestsetError` for anything malformed, and when the folder has no part for
    `purpose` (a test split given as training data).
    """
    if purpose not in PURPOSES:
        raise ValueError(f"purpose must be one of {', '.join(PURPOSES)}, not {purpose!r}")
    loaded = _load_whole(Path(path))
    split = _load_split(Path(path), loaded)
    return loaded if purpose == "all" else _part(Path(path), loaded, split, purpose)


def _load_whole(folder: Path) -> RankingSet | StsSet:
    if not folder.is_dir():
        raise TestsetError(f"{folder}: not a test set folder (no such directory)")
    if (folder / PAIRS_FILE).exists():
        present = [name for name in RANKING_FILES if (folder / name).exists()]
        if present:
            raise TestsetError(
                f"{folder / PAIRS_FILE}: the folder also has {', '.join(present)}; "
                "a test set is either STS (pairs.jsonl) or ranking (corpus.jsonl, queries.jsonl, qrels.tsv)"
            )
        return StsSet(name=folder.name, pairs=_load_pairs(folder / PAIRS_FILE))
    for name in RANKING_FILES:
        if not (folder / name).is_file():
            raise TestsetError(
                f"{folder / name}: missing file (a test set needs {PAIRS_FILE}, "
                f"or {CORPUS_FILE} + {QUERIES_FILE} + {QRELS_FILE})"
            )
    corpus = _load_corpus(folder / CORPUS_FILE)
    queries, query_lines = _load_queries(folder / QUERIES_FILE)
    qrels = _load_qrels(folder / QRELS_FILE, {q.id for q in queries}, {e.id for e in corpus})
    for query in queries:
        if query.id not in qrels:
            raise TestsetError(
                f"{folder / QUERIES_FILE}: line {query_lines[query.id]}: query {query.id!r} has no relevant "
                f"entry in {QRELS_FILE}"
            )
    # qrels in the order of the queries file, entries in file order within a query
    ordered = {query.id: qrels[query.id] for query in queries}
    return RankingSet(name=folder.name, corpus=corpus, queries=queries, qrels=ordered)


def _load_split(folder: Path, loaded: RankingSet | StsSet) -> str | frozenset[str] | None:
    """The folder's split: one split name for the whole folder, the test entry ids, or None."""
    path = folder / SPLIT_FILE
    if not path.exists():
        return None
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TestsetError(f"{path}: not valid UTF-8 JSON ({exc})") from None
    if isinstance(obj, dict) and set(obj) == {"split"} and obj["split"] in SPLITS:
        return str(obj["split"])
    if isinstance(obj, dict) and isinstance(obj.get("test_entries"), list) and isinstance(loaded, RankingSet):
        ids = {entry.id for entry in loaded.corpus}
        unknown = [i for i in obj["test_entries"] if i not in ids]
        if unknown:
            raise TestsetError(f"{path}: test entry {unknown[0]!r} is not in {CORPUS_FILE}")
        return frozenset(obj["test_entries"])
    raise TestsetError(
        f'{path}: expected {{"split": "train" | "dev" | "test"}} or, for a ranking set, '
        '{"test_entries": [entry ids]}'
    )


def _part(
    folder: Path, loaded: RankingSet | StsSet, split: str | frozenset[str] | None, purpose: str
) -> RankingSet | StsSet:
    if split is None:
        return loaded
    if isinstance(split, str):
        if (purpose == "train") == (split == "train"):
            return loaded
        if purpose == "train":
            raise TestsetError(
                f"{folder}: is the {split} split ({folder / SPLIT_FILE}); a model must not be trained on "
                "what it is scored on. Train on a train split (testsets/README.md lists them) or your own data."
            )
        raise TestsetError(
            f"{folder}: is a train split ({folder / SPLIT_FILE}); evaluate on its dev or test split instead"
        )
    assert isinstance(loaded, RankingSet)  # test_entries is refused for STS sets above
    wanted = {
        q.id for q in loaded.queries if any(e in split for e in loaded.qrels[q.id]) == (purpose == "eval")
    }
    if not wanted:
        raise TestsetError(
            f"{folder}: has no {'test' if purpose == 'eval' else 'train'} queries ({SPLIT_FILE})"
        )
    queries = [q for q in loaded.queries if q.id in wanted]
    qrels = {q.id: loaded.qrels[q.id] for q in queries}
    return RankingSet(name=loaded.name, corpus=loaded.corpus, queries=queries, qrels=qrels)


# ---------------------------------------------------------------------------------------------
# Reading


def _fail(path: Path, line: int, what: str) -> TestsetError:
    return TestsetError(f"{path}: line {line}: {what}")


def _read_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, line) for every line of a UTF-8 file; LF or CRLF; no final empty line."""
    if not path.is_file():
        raise TestsetError(f"{path}: missing file")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _fail(path, line, f"not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    text = text.removeprefix("\ufeff")
    # Split on LF only: str.splitlines() would also split inside a text at U+2028, U+0085, ...
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [(number, line.removesuffix("\r")) for number, line in enumerate(lines, start=1)]


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def _read_jsonl(path: Path, what: str) -> list[tuple[int, dict[str, Any]]]:
    """The JSON objects of a JSONL file with their line numbers; at least one."""
    records = []
    for number, line in _read_lines(path):
        if not line.strip():
            raise _fail(path, number, "empty line (JSON lines files have one object on every line)")
        try:
            obj = json.loads(line, object_pairs_hook=_reject_duplicate_keys)
        except json.JSONDecodeError as exc:
            raise _fail(path, number, f"invalid JSON ({exc.msg} at column {exc.colno})") from None
        except ValueError as exc:  # from _reject_duplicate_keys
            raise _fail(path, number, f"invalid JSON object ({exc})") from None
        if not isinstance(obj, dict):
            raise _fail(path, number, f"expected a JSON object, got {type(obj).__name__}")
        records.append((number, obj))
    if not records:
        raise _fail(path, 1, f"no {what} (the file is empty)")
    return records


def _id(path: Path, number: int, obj: dict[str, Any], key: str = "id") -> str:
    if key not in obj or obj[key] is None:
        raise _fail(path, number, f"missing {key!r}")
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _fail(path, number, f"{key!r} must be a string, got {type(value).__name__}")
    text = unicodedata.normalize("NFC", str(value)).strip()
    if not text:
        raise _fail(path, number, f"empty {key!r}")
    return text


def _text(path: Path, number: int, obj: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise _fail(path, number, f"missing {key!r}")
        return None
    if not isinstance(value, str):
        raise _fail(path, number, f"{key!r} must be a string, got {type(value).__name__}")
    text = normalize_text(value)
    if not text:
        if required:
            raise _fail(path, number, f"empty {key!r}")
        return None
    return text


def _alternates(path: Path, number: int, obj: dict[str, Any]) -> tuple[str, ...]:
    """The entry's alternate phrasings; strict, since a stray string would be read letter by letter."""
    value = obj.get("alternates")
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail(path, number, f"'alternates' must be a list of strings, got {type(value).__name__}")
    alternates = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise _fail(path, number, f"'alternates'[{index}] must be a string, got {type(item).__name__}")
        text = normalize_text(item)
        if not text:
            raise _fail(path, number, f"empty 'alternates'[{index}]")
        alternates.append(text)
    return tuple(alternates)


def _check_unique(path: Path, number: int, item_id: str, seen: dict[str, int]) -> None:
    if item_id in seen:
        raise _fail(path, number, f"duplicate id {item_id!r} (first on line {seen[item_id]})")
    seen[item_id] = number


def _load_corpus(path: Path) -> list[CorpusEntry]:
    entries = []
    seen: dict[str, int] = {}
    for number, obj in _read_jsonl(path, "entries"):
        entry_id = _id(path, number, obj)
        _check_unique(path, number, entry_id, seen)
        entries.append(
            CorpusEntry(
                id=entry_id,
                text=_text(path, number, obj, "text") or "",
                title=_text(path, number, obj, "title", required=False),
                answer=_text(path, number, obj, "answer", required=False),
                alternates=_alternates(path, number, obj),
            )
        )
    return entries


def _load_queries(path: Path) -> tuple[list[Query], dict[str, int]]:
    queries = []
    seen: dict[str, int] = {}
    for number, obj in _read_jsonl(path, "queries"):
        query_id = _id(path, number, obj)
        _check_unique(path, number, query_id, seen)
        queries.append(Query(id=query_id, text=_text(path, number, obj, "text") or ""))
    return queries, seen


def _load_qrels(path: Path, query_ids: set[str], entry_ids: set[str]) -> dict[str, dict[str, int]]:
    lines = _read_lines(path)
    if not lines:
        raise _fail(path, 1, f"empty file, expected the header {QRELS_HEADER!r}")
    if lines[0][1] != QRELS_HEADER:
        raise _fail(path, 1, f"wrong header {lines[0][1]!r}, expected {QRELS_HEADER!r}")
    qrels: dict[str, dict[str, int]] = {}
    first_line: dict[tuple[str, str], int] = {}
    for number, line in lines[1:]:
        if not line.strip():
            raise _fail(path, number, "empty line")
        fields = line.split("\t")
        if len(fields) != 3:
            raise _fail(
                path,
                number,
                f"expected 3 tab-separated fields (query_id, entry_id, grade), got {len(fields)}",
            )
        query_id, entry_id = (unicodedata.normalize("NFC", f).strip() for f in fields[:2])
        grade_text = fields[2].strip()
        if not query_id:
            raise _fail(path, number, "empty query_id")
        if not entry_id:
            raise _fail(path, number, "empty entry_id")
        if query_id not in query_ids:
            raise _fail(path, number, f"unknown query id {query_id!r} (not in {QUERIES_FILE})")
        if entry_id not in entry_ids:
            raise _fail(path, number, f"unknown entry id {entry_id!r} (not in {CORPUS_FILE})")
        if not _GRADE_RE.fullmatch(grade_text) or int(grade_text) < 1:
            raise _fail(path, number, f"bad grade {fields[2]!r} (expected an integer >= 1)")
        pair = (query_id, entry_id)
        if pair in first_line:
            raise _fail(
                path,
                number,
                f"duplicate pair ({query_id!r}, {entry_id!r}) (first on line {first_line[pair]})",
            )
        first_line[pair] = number
        qrels.setdefault(query_id, {})[entry_id] = int(grade_text)
    return qrels


def _load_pairs(path: Path) -> list[StsPair]:
    pairs = []
    for number, obj in _read_jsonl(path, "pairs"):
        a = _text(path, number, obj, "a") or ""
        b = _text(path, number, obj, "b") or ""
        if "score" not in obj or obj["score"] is None:
            raise _fail(path, number, "missing 'score'")
        score = obj["score"]
        if isinstance(score, bool) or not isinstance(score, int | float):
            raise _fail(path, number, f"'score' must be a number, got {score!r}")
        if not math.isfinite(score):
            raise _fail(path, number, f"'score' must be a finite number, got {score!r}")
        pairs.append(StsPair(a=a, b=b, score=float(score)))
    return pairs
