"""Reading FAQ files (CSV, TSV, JSONL, XLSX) into validated entries, all or nothing.

A file is checked completely before anything is stored, and every problem is reported at once, with
the row (CSV, TSV, XLSX: the header is row 1, as a spreadsheet shows it) or line (JSONL) where it
is, so one round of fixes is enough. Half an imported FAQ file is worse than none: the missing half
would silently vanish from search results.

Columns are `id`, `question` and optionally `answer`, `category` and `alternates` (case-insensitive,
surrounding whitespace ignored). Any other column is an error rather than ignored: a misspelt `anwser` header
would otherwise drop every answer without a word. Rows whose cells are all empty are skipped
(spreadsheets export them at the end of the data).

`alternates` are other phrasings of the question ("유사 질문"), each searched like the question. In
CSV, TSV and XLSX they are the lines of one cell, as a spreadsheet user types several lines
(Alt+Enter in Excel; in CSV/TSV the value is quoted): split at "\n" and "\r\n", blank lines
ignored. In JSONL they are a JSON array of strings. The store's limits apply: at most
`MAX_ALTERNATES` per entry, each within the question's length limit, and none equal (after
normalisation) to the question or to another alternate.

CSV and TSV may be UTF-8 (with or without BOM) or CP949/EUC-KR, which Korean Excel writes for "CSV"
and "Text"; UTF-8 is tried first. JSONL must be UTF-8, as JSON requires.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time
from pathlib import Path

from indexing.store import (
    MAX_ANSWER_CHARS,
    MAX_QUESTION_CHARS,
    FaqEntry,
    FaqStore,
    UpsertResult,
    entry_problems,
    normalize_id,
)
from models.errors import FaqsearchError
from models.text import normalize_text

SUPPORTED_EXTENSIONS = (".csv", ".tsv", ".jsonl", ".xlsx")
REQUIRED_COLUMNS = ("id", "question")
OPTIONAL_COLUMNS = ("answer", "category", "alternates")
MAX_REPORTED_PROBLEMS = 20

_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
_COLUMNS_HELP = "id, question and optionally answer, category, alternates"
_EXTENSION_HINTS = {
    ".xls": "save it from Excel as .xlsx or as 'CSV UTF-8'",
    ".json": "write JSON Lines (.jsonl): one object per line",
    ".txt": "rename it to .csv or .tsv if it is comma- or tab-separated",
}

Fields = dict[str, object]  # field name -> value as read; checked by `entry_problems`


class FaqImportError(FaqsearchError, ValueError):
    """A FAQ file that cannot be imported. `problems` lists every problem, one line per row."""

    def __init__(self, path: str | Path, problems: Sequence[str]) -> None:
        self.path = Path(path)
        self.problems = list(problems)
        count = len(self.problems)
        lines = [
            f"{self.path}: {count} problem{'' if count == 1 else 's'}, nothing was imported; "
            "fix the file and import it again:"
        ]
        lines += [f"  {problem}" for problem in self.problems[:MAX_REPORTED_PROBLEMS]]
        if count > MAX_REPORTED_PROBLEMS:
            lines.append(f"  ... and {count - MAX_REPORTED_PROBLEMS} more")
        super().__init__("\n".join(lines))


def import_faqs(store: FaqStore, path: str | Path) -> UpsertResult:
    """Read and validate the whole file, then upsert every entry in one transaction.

    With any problem in the file, `FaqImportError` is raised and the store is left unchanged.
    Entries in the store but not in the file are kept.
    """
    return store.upsert_many(read_faq_file(path))


def read_faq_file(path: str | Path) -> list[FaqEntry]:
    """Normalised, validated entries of a .csv, .tsv, .jsonl or .xlsx FAQ file, in file order.

    Raises `FaqImportError` listing every problem (capped in the message at MAX_REPORTED_PROBLEMS),
    and FileNotFoundError when there is no such file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_EXTENSIONS:
        hint = _EXTENSION_HINTS.get(suffix, "convert it to one of these")
        raise FaqImportError(
            path,
            [
                f"unsupported file type {suffix or '(no extension)'!r}: supported are "
                f"{', '.join(SUPPORTED_EXTENSIONS)}; {hint}"
            ],
        )
    if not path.is_file():
        raise FileNotFoundError(f"FAQ file not found: {path}")

    builder = _EntryBuilder("line" if suffix == ".jsonl" else "row")
    if suffix == ".jsonl":
        _read_jsonl(path, builder)
    elif suffix == ".xlsx":
        with _xlsx_rows(path) as rows:
            _read_table(rows, builder, hint="")
    else:
        kind = suffix[1:].upper()
        separator = "tab" if suffix == ".tsv" else "comma"
        csv_rows = _csv_rows(_decode_table(path), kind, builder)
        _read_table(csv_rows, builder, hint=f" (a {separator} inside an unquoted value?)")

    if not builder.problems and not builder.entries:
        builder.problems.append(
            "the file has no FAQ rows, only a header" if suffix != ".jsonl" else "the file has no FAQ lines"
        )
    if builder.problems:
        raise FaqImportError(path, builder.problems)
    return builder.entries


class _EntryBuilder:
    """Validates one record at a time, collecting entries and every problem, duplicates included."""

    def __init__(self, label: str) -> None:
        self.label = label  # "row" or "line": what a person looks for in the file
        self.entries: list[FaqEntry] = []
        self.problems: list[str] = []
        self._first_seen: dict[str, int] = {}

    def add_problem(self, number: int | None, message: str) -> None:
        self.problems.append(message if number is None else f"{self.label} {number}: {message}")

    def add(self, number: int, fields: Fields, extra_problems: Sequence[str] = ()) -> None:
        entry, problems = entry_problems(
            FaqEntry(
                id=fields.get("id"),  # type: ignore[arg-type]  # wrong types are reported, not stored
                question=fields.get("question"),  # type: ignore[arg-type]
                answer=fields.get("answer"),  # type: ignore[arg-type]
                category=fields.get("category"),  # type: ignore[arg-type]
                alternates=fields.get("alternates"),  # type: ignore[arg-type]
            )
        )
        problems = [*extra_problems, *problems]
        # Checked even when the row has other problems, so that one round of fixes is enough.
        raw_id = fields.get("id")
        id_ = normalize_id(raw_id) if isinstance(raw_id, str) else ""
        if id_:
            first = self._first_seen.setdefault(id_, number)
            if first != number:
                problems.append(f"duplicate id {id_!r}, already used in {self.label} {first}")
        if problems:
            self.add_problem(number, "; ".join(problems))
        elif entry is not None:
            self.entries.append(entry)


# -- CSV, TSV and XLSX: tables whose first row is the header ----------------------------------


def _column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: the column name a spreadsheet shows."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _cell_text(value: object) -> str:
    """A cell as the text a person sees: 12 not 12.0, dates in ISO format."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _cell_lines(text: str) -> list[str]:
    """The alternates of one cell: its lines, blank ones left out (normalised by the store)."""
    return [line for line in _LINE_BREAK.split(text) if line.strip()]


def _read_table(rows: Iterable[tuple[int, Sequence[object]]], builder: _EntryBuilder, *, hint: str) -> None:
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        builder.add_problem(None, f"the file is empty; its first row must name the columns: {_COLUMNS_HELP}")
        return
    header_number, header = first
    columns = _read_header(header_number, header, builder)
    if columns is None:
        return
    for number, cells in iterator:
        texts = [_cell_text(cell) for cell in cells]
        if not any(text.strip() for text in texts):
            continue
        fields: Fields = {name: "" for name in columns.values()}
        stray: list[str] = []
        for index, text in enumerate(texts):
            if index in columns:
                fields[columns[index]] = text
            elif text.strip() and (index >= len(header) or not _cell_text(header[index]).strip()):
                stray.append(f"value in column {_column_letter(index)}, which has no header{hint}")
        if isinstance(alternates := fields.get("alternates"), str):
            fields["alternates"] = _cell_lines(alternates)
        builder.add(number, fields, stray)


def _read_header(number: int, header: Sequence[object], builder: _EntryBuilder) -> dict[int, str] | None:
    """Map column index -> field name. None (with problems added) when a required column is missing."""
    names = [_cell_text(cell) for cell in header]
    columns: dict[int, str] = {}
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        key = normalize_text(name).casefold()
        if not key:
            continue
        letter = _column_letter(index)
        if key not in _COLUMNS:
            builder.add_problem(
                number,
                f"unknown column {name!r} (column {letter}); the columns are {_COLUMNS_HELP}: "
                "rename or delete it",
            )
        elif key in seen:
            builder.add_problem(
                number, f"column {key!r} appears twice (columns {_column_letter(seen[key])} and {letter})"
            )
        else:
            seen[key] = index
            columns[index] = key
    missing = [name for name in REQUIRED_COLUMNS if name not in seen]
    if missing:
        found = ", ".join(repr(n) for n in names if n.strip()) or "nothing"
        builder.add_problem(
            number,
            f"missing column{'s' if len(missing) > 1 else ''} {' and '.join(map(repr, missing))}: the "
            f"header row has {found}; the first row must name the columns: {_COLUMNS_HELP}",
        )
        return None
    return columns


def _decode_table(path: Path) -> str:
    """CSV/TSV bytes as text: UTF-8 (BOM optional) first, then CP949; otherwise say where it fails."""
    data = path.read_bytes()
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        utf8_offset = bom + exc.start
    not_utf8 = f"is not UTF-8 (bad bytes at byte offset {utf8_offset}, line {_line_at(data, utf8_offset)})"
    if bom:  # a UTF-8 BOM is a promise; do not guess another encoding behind it
        reason = f"it starts with a UTF-8 BOM but {not_utf8}"
    else:
        try:
            return data.decode("cp949")
        except UnicodeDecodeError as exc:
            cp949_offset = exc.start
        reason = (
            f"it {not_utf8} and not CP949/EUC-KR (byte offset {cp949_offset}, "
            f"line {_line_at(data, cp949_offset)})"
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        reason += "; it looks like UTF-16 (Excel's 'Unicode Text')"
    raise FaqImportError(
        path, [f"cannot decode the file: {reason}; save it as 'CSV UTF-8' and import it again"]
    )


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _csv_rows(text: str, kind: str, builder: _EntryBuilder) -> Iterator[tuple[int, list[str]]]:
    """Rows numbered as a spreadsheet numbers them: a quoted value spanning lines is still one row.

    `strict` makes a missing closing quote an error instead of silently swallowing the rest of the
    file into one value. A malformed row stops the reading; it is reported like any other problem.
    """
    delimiter = "\t" if kind == "TSV" else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    number = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            number += 1
            if "field larger than field limit" in str(exc):
                limit = csv.field_size_limit()
                reason = (
                    f"a value is over {limit:,} characters long, far over the limits "
                    f"(question {MAX_QUESTION_CHARS:,}, answer {MAX_ANSWER_CHARS:,} characters)"
                )
            else:
                reason = f"malformed {kind} near line {reader.line_num} ({exc})"
            builder.add_problem(number, f"{reason}; the rows after it were not checked")
            return
        number += 1
        yield number, row


@contextmanager
def _xlsx_rows(path: Path) -> Iterator[Iterator[tuple[int, tuple[object, ...]]]]:
    """Rows of the first worksheet, numbered from 1 like Excel; the workbook is closed afterwards."""
    from openpyxl import load_workbook  # only .xlsx imports need openpyxl

    try:
        # data_only: the value Excel last computed for a formula cell, which is what a person sees.
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and key errors alike for a broken file
        raise FaqImportError(
            path,
            [
                f"not a readable .xlsx workbook ({type(exc).__name__}: {exc}); open it in Excel and "
                "save it again as .xlsx"
            ],
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some writers store a wrong sheet size; read every stored row
        yield enumerate(sheet.iter_rows(values_only=True), start=1)
    finally:
        workbook.close()


# -- JSONL: one object per line -----------------------------------------------------------------


class _DuplicateKeyError(ValueError):
    pass


def _object_without_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


_JSON_KINDS = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true/false",
    type(None): "null",
}


def _read_jsonl(path: Path, builder: _EntryBuilder) -> None:
    data = path.read_bytes()
    offset = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    # Split on b"\n" only: str.splitlines would also split at U+2028 and friends inside strings.
    for number, raw in enumerate(data[offset:].split(b"\n"), start=1):
        line_offset, offset = offset, offset + len(raw) + 1
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            builder.add_problem(
                number,
                f"not UTF-8 (bad bytes at byte offset {line_offset + exc.start}); save the file as UTF-8",
            )
            continue
        if not line.strip():
            continue
        try:
            obj = json.loads(line, object_pairs_hook=_object_without_duplicates)
        except _DuplicateKeyError as exc:
            builder.add_problem(number, f"key {exc.args[0]!r} appears twice")
            continue
        except json.JSONDecodeError as exc:
            builder.add_problem(number, f"invalid JSON: {exc.msg}: column {exc.colno}")
            continue
        if not isinstance(obj, dict):
            builder.add_problem(
                number,
                f'expected a JSON object like {{"id": "1", "question": "..."}}, '
                f"not {_JSON_KINDS.get(type(obj), type(obj).__name__)}",
            )
            continue
        _add_json_object(number, obj, builder)


def _add_json_object(number: int, obj: dict[str, object], builder: _EntryBuilder) -> None:
    fields: Fields = {}
    problems: list[str] = []
    for key, value in obj.items():
        name = normalize_text(key).casefold()
        if name not in _COLUMNS:
            problems.append(f"unknown key {key!r}; the keys are {_COLUMNS_HELP}")
        elif name in fields:
            problems.append(f"key {name!r} appears twice")
        elif name == "id" and isinstance(value, int) and not isinstance(value, bool):
            fields[name] = str(value)  # {"id": 17} is as good as {"id": "17"}
        elif name == "alternates" and value is not None and not isinstance(value, list):
            kind = _JSON_KINDS.get(type(value), type(value).__name__)
            problems.append(
                f'alternates must be a JSON array of strings, like ["다른 질문", "또 다른 질문"], not {kind}'
            )
        else:
            fields[name] = value  # a wrong type is reported by the entry check
    builder.add(number, fields, problems)
