"""read_faq_file / import_faqs: encodings, formats, and every rejection, each leaving the store as it was."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import Workbook

from indexing.faq_import import MAX_REPORTED_PROBLEMS, FaqImportError, import_faqs, read_faq_file
from indexing.store import MAX_QUESTION_CHARS, FaqEntry, FaqStore, UpsertResult

Q_PASSWORD = "비밀번호를 잊어버렸어요. 어떻게 찾나요?"
A_PASSWORD = "로그인 화면에서 '비밀번호 찾기'를 누르세요."
Q_REFUND = "환불은 언제 되나요?"
A_REFUND = "영업일 기준 3일 안에 환불됩니다."
Q_DELIVERY = "배송은 며칠 걸리나요?"

CSV_TEXT = (
    "id,question,answer,category\n"
    f"pw-1,{Q_PASSWORD},{A_PASSWORD},계정\n"
    f'refund-1,{Q_REFUND},"{A_REFUND}",결제\n'
)
CSV_ENTRIES = [
    FaqEntry("pw-1", Q_PASSWORD, A_PASSWORD, "계정"),
    FaqEntry("refund-1", Q_REFUND, A_REFUND, "결제"),
]
COLUMNS_HELP = "id, question and optionally answer, category, alternates"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FaqStore]:
    """A store that already holds one entry, so "unchanged" means more than "still empty"."""
    with FaqStore.open(tmp_path / "data") as opened:
        opened.upsert(FaqEntry("old-1", Q_DELIVERY, "2~3일 걸립니다.", "배송"))
        yield opened


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def write_xlsx(tmp_path: Path, rows: list[list[object]], name: str = "faqs.xlsx") -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    workbook.create_sheet("무시되는 시트").append(["id", "question"])  # only the first sheet counts
    path = tmp_path / name
    workbook.save(path)
    return path


def assert_rejected(store: FaqStore, path: Path, problems: list[str]) -> FaqImportError:
    """Importing `path` fails with exactly `problems`, all shown in the message, and the store is unchanged."""
    before, revision = store.all(), store.revision()
    with pytest.raises(FaqImportError) as caught:
        import_faqs(store, path)
    error = caught.value
    assert error.problems == problems
    assert str(error).startswith(f"{path}: {len(problems)} problem")
    assert "nothing was imported" in str(error)
    for problem in problems[:MAX_REPORTED_PROBLEMS]:
        assert f"\n  {problem}" in str(error)
    assert store.all() == before
    assert store.revision() == revision
    return error


def assert_rejected_read(path: Path) -> FaqImportError:
    """`read_faq_file(path)` fails; returns the error for exact assertions."""
    with pytest.raises(FaqImportError) as caught:
        read_faq_file(path)
    return caught.value


# -- accepted files ------------------------------------------------------------------------------


def test_csv_utf8(tmp_path: Path) -> None:
    assert read_faq_file(write(tmp_path, "faqs.csv", CSV_TEXT)) == CSV_ENTRIES


def test_csv_utf8_with_bom(tmp_path: Path) -> None:
    path = write(tmp_path, "faqs.csv", "\ufeff" + CSV_TEXT)
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    assert read_faq_file(path) == CSV_ENTRIES


def test_csv_cp949_as_korean_excel_writes_it(tmp_path: Path) -> None:
    data = CSV_TEXT.encode("cp949")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # really not UTF-8, so the CP949 fallback is what reads it
    assert read_faq_file(write(tmp_path, "faqs.csv", data)) == CSV_ENTRIES


def test_euc_kr_is_read_as_cp949(tmp_path: Path) -> None:
    assert read_faq_file(write(tmp_path, "faqs.csv", CSV_TEXT.encode("euc-kr"))) == CSV_ENTRIES


def test_tsv(tmp_path: Path) -> None:
    text = f"id\tquestion\tanswer\npw-1\t{Q_PASSWORD}\t{A_PASSWORD}\n"
    assert read_faq_file(write(tmp_path, "faqs.tsv", text)) == [FaqEntry("pw-1", Q_PASSWORD, A_PASSWORD)]


def test_header_is_case_insensitive_and_optional_columns_may_be_missing(tmp_path: Path) -> None:
    text = f" Question ,ID \r\n{Q_REFUND},r-1\r\n{Q_DELIVERY}, d-1 \r\n"
    assert read_faq_file(write(tmp_path, "FAQS.CSV", text)) == [
        FaqEntry("r-1", Q_REFUND),
        FaqEntry("d-1", Q_DELIVERY),
    ]


def test_blank_rows_are_skipped_and_empty_optionals_become_none(tmp_path: Path) -> None:
    text = f"id,question,answer,category\n\n,,,\na,{Q_REFUND},  ,\n,,,\n"
    assert read_faq_file(write(tmp_path, "faqs.csv", text)) == [FaqEntry("a", Q_REFUND, None, None)]


def test_quoted_multiline_values_count_as_one_row(tmp_path: Path) -> None:
    text = f'id,question,answer\na,{Q_REFUND},"첫째 줄,\n둘째 줄"\nb,,\n'
    error = assert_rejected_read(write(tmp_path, "faqs.csv", text))
    # Row 3 as a spreadsheet shows it, although it is on line 4 of the text.
    assert error.problems == ["row 3: empty question"]


def test_quoted_multiline_answer_keeps_its_line_breaks(tmp_path: Path) -> None:
    text = f'id,question,answer\na,{Q_REFUND},"첫째 줄,\r\n  둘째 줄 "\n'
    assert read_faq_file(write(tmp_path, "faqs.csv", text)) == [
        FaqEntry("a", Q_REFUND, "첫째 줄,\n  둘째 줄")
    ]


def test_nfd_input_is_stored_as_nfc(tmp_path: Path, store: FaqStore) -> None:
    nfd_text = unicodedata.normalize("NFD", CSV_TEXT)
    assert nfd_text != CSV_TEXT and unicodedata.normalize("NFC", nfd_text) == CSV_TEXT
    assert import_faqs(store, write(tmp_path, "faqs.csv", nfd_text)) == UpsertResult(2, 0, 0)
    stored = {e.id: (e.id, e.question, e.answer, e.category) for e in store.all()}
    assert stored["pw-1"] == ("pw-1", Q_PASSWORD, A_PASSWORD, "계정")
    assert stored["refund-1"] == ("refund-1", Q_REFUND, A_REFUND, "결제")


def test_jsonl(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": "pw-1", "question": Q_PASSWORD, "answer": A_PASSWORD, "category": "계정"}),
        "",  # blank lines are skipped
        json.dumps({"ID": 17, " Question ": Q_REFUND, "answer": None}, ensure_ascii=False),
        # U+2028 is a line separator to str.splitlines, but only "\n" ends a JSONL line.
        json.dumps({"id": "d", "question": Q_DELIVERY, "answer": "첫째\u2028둘째"}, ensure_ascii=False),
    ]
    path = write(tmp_path, "faqs.jsonl", "\ufeff" + "\r\n".join(lines) + "\n")
    assert read_faq_file(path) == [
        FaqEntry("pw-1", Q_PASSWORD, A_PASSWORD, "계정"),
        FaqEntry("17", Q_REFUND, None, None),
        FaqEntry("d", Q_DELIVERY, "첫째\n둘째", None),  # an answer keeps its line breaks
    ]


def test_xlsx(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path,
        [
            ["ID", "Question", "Answer", "Category", None],
            [101, Q_PASSWORD, A_PASSWORD, "계정"],
            [None, None, None, None],  # empty rows are skipped
            ["refund-1", Q_REFUND, 3.0, None],
            [102.0, Q_DELIVERY, 2.5, None, "   "],
        ],
    )
    assert read_faq_file(path) == [
        FaqEntry("101", Q_PASSWORD, A_PASSWORD, "계정"),
        FaqEntry("refund-1", Q_REFUND, "3", None),
        FaqEntry("102", Q_DELIVERY, "2.5", None),
    ]


def test_import_counts_inserts_updates_and_unchanged(tmp_path: Path, store: FaqStore) -> None:
    path = write(tmp_path, "faqs.csv", CSV_TEXT)
    assert import_faqs(store, path) == UpsertResult(inserted=2, updated=0, unchanged=0)
    assert import_faqs(store, path) == UpsertResult(inserted=0, updated=0, unchanged=2)
    changed = CSV_TEXT.replace(A_REFUND, "5일 안에 환불됩니다.")
    assert import_faqs(store, write(tmp_path, "faqs.csv", changed)) == UpsertResult(0, 1, 1)
    assert [(e.id, e.answer) for e in store.all()] == [
        ("old-1", "2~3일 걸립니다."),  # entries missing from the file are kept
        ("pw-1", A_PASSWORD),
        ("refund-1", "5일 안에 환불됩니다."),
    ]


# -- rejected files: exact problems, store unchanged ----------------------------------------------


def test_missing_question_column(tmp_path: Path, store: FaqStore) -> None:
    path = write(tmp_path, "faqs.csv", f"id,Answer\na,{A_REFUND}\n")
    assert_rejected(
        store,
        path,
        [
            "row 1: missing column 'question': the header row has 'id', 'Answer'; "
            f"the first row must name the columns: {COLUMNS_HELP}"
        ],
    )


def test_missing_both_required_columns_in_xlsx(tmp_path: Path, store: FaqStore) -> None:
    path = write_xlsx(tmp_path, [[None, None], ["a", Q_REFUND]])
    assert_rejected(
        store,
        path,
        [
            "row 1: missing columns 'id' and 'question': the header row has nothing; "
            f"the first row must name the columns: {COLUMNS_HELP}"
        ],
    )


def test_unknown_and_repeated_columns(tmp_path: Path, store: FaqStore) -> None:
    path = write(tmp_path, "faqs.csv", f"id,question,anwser,ID\na,{Q_REFUND},{A_REFUND},b\n")
    assert_rejected(
        store,
        path,
        [
            f"row 1: unknown column 'anwser' (column C); the columns are {COLUMNS_HELP}: rename or delete it",
            "row 1: column 'id' appears twice (columns A and D)",
        ],
    )


def test_empty_id_empty_question_and_duplicate_ids(tmp_path: Path, store: FaqStore) -> None:
    nfd_a1 = unicodedata.normalize("NFD", "가-1")
    text = (
        "id,question,answer\n"
        f"가-1,{Q_PASSWORD},{A_PASSWORD}\n"  # row 2
        f" ,{Q_REFUND},\n"  # row 3: empty id
        "b,   ,\n"  # row 4: empty question
        "c,\u200b\x07\t,답변만 있음\n"  # row 5: nothing left after normalisation
        f"{nfd_a1},{Q_DELIVERY},\n"  # row 6: the same id as row 2 once normalised
        ",,\n"  # row 7: blank, skipped
        f"b,{Q_REFUND},\n"  # row 8: duplicate of row 4 although row 4 is invalid too
    )
    assert_rejected(
        store,
        write(tmp_path, "faqs.csv", text),
        [
            "row 3: empty id",
            "row 4: empty question",
            "row 5: empty question",
            "row 6: duplicate id '가-1', already used in row 2",
            "row 8: duplicate id 'b', already used in row 4",
        ],
    )


def test_several_problems_in_one_row_are_reported_together(tmp_path: Path, store: FaqStore) -> None:
    text = f"id,question,category\n,,{'분' * 201}\n"
    assert_rejected(
        store,
        write(tmp_path, "faqs.csv", text),
        ["row 2: empty id; empty question; category is 201 characters long; the limit is 200 characters"],
    )


def test_question_and_answer_over_the_limit(tmp_path: Path, store: FaqStore) -> None:
    ok = "질" * MAX_QUESTION_CHARS
    text = f"id,question,answer\na,{ok},\nb,{ok}가,\nc,{Q_REFUND},{'답' * 20_001}\n"
    assert_rejected(
        store,
        write(tmp_path, "faqs.csv", text),
        [
            "row 3: question is 2,001 characters long; the limit is 2,000 characters",
            "row 4: answer is 20,001 characters long; the limit is 20,000 characters",
        ],
    )


def test_one_megabyte_question_in_jsonl(tmp_path: Path, store: FaqStore) -> None:
    lines = [
        json.dumps({"id": "a", "question": Q_REFUND}),
        json.dumps({"id": "big", "question": "질" * 1_000_000}, ensure_ascii=False),
    ]
    assert_rejected(
        store,
        write(tmp_path, "faqs.jsonl", "\n".join(lines)),
        ["line 2: question is 1,000,000 characters long; the limit is 2,000 characters"],
    )


def test_one_megabyte_question_in_csv(tmp_path: Path, store: FaqStore) -> None:
    text = f"id,question\nbig,{'질' * 1_000_000}\nlater,\n"
    assert_rejected(
        store,
        write(tmp_path, "faqs.csv", text),
        [
            "row 2: a value is over 131,072 characters long, far over the limits "
            "(question 2,000, answer 20,000 characters); the rows after it were not checked"
        ],
    )


def test_bytes_that_are_neither_utf8_nor_cp949(tmp_path: Path, store: FaqStore) -> None:
    bad = b"\xff\xfe\xfa\xfb"
    for encoding in ("utf-8", "cp949"):
        with pytest.raises(UnicodeDecodeError):
            bad.decode(encoding)
    data = b"id,question\n" + b"1," + bad + "\n2,질문\n".encode()
    assert_rejected(
        store,
        write(tmp_path, "faqs.csv", data),
        [
            "cannot decode the file: it is not UTF-8 (bad bytes at byte offset 14, line 2) and not "
            "CP949/EUC-KR (byte offset 14, line 2); save it as 'CSV UTF-8' and import it again"
        ],
    )


def test_utf16_file_gets_a_hint(tmp_path: Path, store: FaqStore) -> None:
    data = b"\xff\xfe\xfa\xfb" + b"id,question\n"
    error = assert_rejected(
        store,
        write(tmp_path, "faqs.csv", data),
        [
            "cannot decode the file: it is not UTF-8 (bad bytes at byte offset 0, line 1) and not "
            "CP949/EUC-KR (byte offset 0, line 1); it looks like UTF-16 (Excel's 'Unicode Text'); "
            "save it as 'CSV UTF-8' and import it again"
        ],
    )
    assert "UTF-16" in str(error)


def test_utf8_bom_with_bad_bytes_is_not_guessed_as_cp949(tmp_path: Path, store: FaqStore) -> None:
    data = b"\xef\xbb\xbf" + CSV_TEXT.encode("cp949")  # CP949 text behind a UTF-8 BOM
    offset = 3 + CSV_TEXT.index("비")  # the first non-ASCII character; everything before is ASCII
    assert_rejected(
        store,
        write(tmp_path, "faqs.csv", data),
        [
            f"cannot decode the file: it starts with a UTF-8 BOM but is not UTF-8 (bad bytes at byte "
            f"offset {offset}, line 2); save it as 'CSV UTF-8' and import it again"
        ],
    )


def test_invalid_json_lines(tmp_path: Path, store: FaqStore) -> None:
    lines = [
        json.dumps({"id": "a", "question": Q_REFUND}),
        '{"id": "b", "question": "닫히지 않은 따옴표}',
        "[1, 2]",
        "null",
        '{"id": "c", "question": "질문", "id": "d"}',
        json.dumps({"id": "e", "question": ["목록"], "url": "https://example.com"}, ensure_ascii=False),
        json.dumps({"id": True, "answer": A_REFUND}, ensure_ascii=False),
        json.dumps({"id": "a", "question": Q_DELIVERY}, ensure_ascii=False),
    ]
    data = "\n".join(lines).encode() + b'\n{"id": "f", "question": "\xff"}\n'
    bad_offset = data.index(b"\xff")
    assert_rejected(
        store,
        write(tmp_path, "faqs.jsonl", data),
        [
            "line 2: invalid JSON: Unterminated string starting at: column 25",
            'line 3: expected a JSON object like {"id": "1", "question": "..."}, not an array',
            'line 4: expected a JSON object like {"id": "1", "question": "..."}, not null',
            "line 5: key 'id' appears twice",
            f"line 6: unknown key 'url'; the keys are {COLUMNS_HELP}; question must be text, not list",
            "line 7: id must be text, not bool; missing question",
            "line 8: duplicate id 'a', already used in line 1",
            f"line 9: not UTF-8 (bad bytes at byte offset {bad_offset}); save the file as UTF-8",
        ],
    )


def test_xlsx_problems_use_spreadsheet_row_numbers(tmp_path: Path, store: FaqStore) -> None:
    path = write_xlsx(
        tmp_path,
        [
            ["id", "question"],
            ["a", Q_REFUND],
            [None, None],
            ["b", None],  # row 4
            ["a", Q_DELIVERY, "열 C의 값"],  # row 5
        ],
    )
    assert_rejected(
        store,
        path,
        [
            "row 4: empty question",
            "row 5: value in column C, which has no header; duplicate id 'a', already used in row 2",
        ],
    )


def test_value_outside_the_header_in_csv(tmp_path: Path, store: FaqStore) -> None:
    text = f"id,question,answer\na,{Q_REFUND},3일,걸립니다\n"
    assert_rejected(
        store,
        write(tmp_path, "faqs.csv", text),
        ["row 2: value in column D, which has no header (a comma inside an unquoted value?)"],
    )


def test_unterminated_quote_is_an_error_not_a_swallowed_file(tmp_path: Path, store: FaqStore) -> None:
    text = f'id,question,answer\na,{Q_REFUND},"열린 따옴표\nb,{Q_DELIVERY},\nc,{Q_PASSWORD},\n'
    assert_rejected(
        store,
        write(tmp_path, "faqs.csv", text),
        ["row 2: malformed CSV near line 4 (unexpected end of data); the rows after it were not checked"],
    )


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.csv", b"", f"the file is empty; its first row must name the columns: {COLUMNS_HELP}"),
        ("header.csv", b"id,question,answer\n,,\n", "the file has no FAQ rows, only a header"),
        ("blank.jsonl", b"\n  \n\n", "the file has no FAQ lines"),
        ("empty.jsonl", b"", "the file has no FAQ lines"),
    ],
)
def test_files_without_rows(tmp_path: Path, store: FaqStore, name: str, content: bytes, problem: str) -> None:
    assert_rejected(store, write(tmp_path, name, content), [problem])


def test_xlsx_with_only_a_header(tmp_path: Path, store: FaqStore) -> None:
    path = write_xlsx(tmp_path, [["id", "question"]])
    assert_rejected(store, path, ["the file has no FAQ rows, only a header"])


def test_broken_xlsx(tmp_path: Path, store: FaqStore) -> None:
    path = write(tmp_path, "faqs.xlsx", CSV_TEXT)
    error = assert_rejected_read(path)
    assert len(error.problems) == 1
    assert error.problems[0].startswith("not a readable .xlsx workbook (")
    assert error.problems[0].endswith("open it in Excel and save it again as .xlsx")
    assert_rejected(store, path, error.problems)


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("faqs.xls", "save it from Excel as .xlsx or as 'CSV UTF-8'"),
        ("faqs.json", "write JSON Lines (.jsonl): one object per line"),
        ("faqs.parquet", "convert it to one of these"),
    ],
)
def test_unsupported_extensions(tmp_path: Path, store: FaqStore, name: str, hint: str) -> None:
    suffix = name[name.index(".") :]
    problem = f"unsupported file type '{suffix}': supported are .csv, .tsv, .jsonl, .xlsx; {hint}"
    assert_rejected(store, write(tmp_path, name, CSV_TEXT), [problem])


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"FAQ file not found: .*nope\.csv"):
        read_faq_file(tmp_path / "nope.csv")


def test_problem_list_is_capped_in_the_message(tmp_path: Path, store: FaqStore) -> None:
    text = "id,question\n" + "".join(f"id-{n},\n" for n in range(25))
    error = assert_rejected(
        store, write(tmp_path, "faqs.csv", text), [f"row {n}: empty question" for n in range(2, 27)]
    )
    message = str(error)
    assert message.splitlines()[0] == (
        f"{tmp_path / 'faqs.csv'}: 25 problems, nothing was imported; fix the file and import it again:"
    )
    assert message.splitlines()[1:] == [f"  row {n}: empty question" for n in range(2, 22)] + [
        "  ... and 5 more"
    ]


# -- alternates: one per line in a table cell, a list in JSONL -------------------------------------

ALT_PASSWORD = ("비밀번호가 기억나지 않아요", "비번 찾는 법 알려주세요", "로그인 비밀번호 재설정")


def test_csv_cp949_with_a_multiline_alternates_cell(tmp_path: Path, store: FaqStore) -> None:
    cell = "\r\n".join([ALT_PASSWORD[0], "", ALT_PASSWORD[1], "   ", ALT_PASSWORD[2]])
    text = f'id,question,answer,alternates\npw-1,{Q_PASSWORD},{A_PASSWORD},"{cell}"\nrefund-1,{Q_REFUND},,\n'
    path = write(tmp_path, "faqs.csv", text.encode("cp949"))
    assert read_faq_file(path) == [
        FaqEntry("pw-1", Q_PASSWORD, A_PASSWORD, alternates=ALT_PASSWORD),
        FaqEntry("refund-1", Q_REFUND),
    ]
    assert import_faqs(store, path) == UpsertResult(2, 0, 0)
    stored = store.get("pw-1")
    assert stored is not None and stored.alternates == ALT_PASSWORD
    assert import_faqs(store, path) == UpsertResult(0, 0, 2)  # same alternates: unchanged


def test_tsv_utf8_alternates(tmp_path: Path) -> None:
    cell = "\n".join(ALT_PASSWORD[:2])
    text = f'id\tquestion\talternates\npw-1\t{Q_PASSWORD}\t"{cell}"\nd-1\t{Q_DELIVERY}\t 며칠 만에 오나요? \n'
    assert read_faq_file(write(tmp_path, "faqs.tsv", text)) == [
        FaqEntry("pw-1", Q_PASSWORD, alternates=ALT_PASSWORD[:2]),
        FaqEntry("d-1", Q_DELIVERY, alternates=("며칠 만에 오나요?",)),
    ]


def test_xlsx_alternates_cell_with_line_breaks(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path,
        [
            ["id", "question", "Alternates"],
            ["pw-1", Q_PASSWORD, "\n".join(ALT_PASSWORD) + "\n"],
            ["refund-1", Q_REFUND, None],
        ],
    )
    assert read_faq_file(path) == [
        FaqEntry("pw-1", Q_PASSWORD, alternates=ALT_PASSWORD),
        FaqEntry("refund-1", Q_REFUND),
    ]


def test_jsonl_alternates_list(tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {"id": "pw-1", "question": Q_PASSWORD, "alternates": list(ALT_PASSWORD)}, ensure_ascii=False
        ),
        json.dumps({"id": "r-1", "question": Q_REFUND, "alternates": []}),
        json.dumps({"id": "d-1", "question": Q_DELIVERY, "alternates": None}),
    ]
    assert read_faq_file(write(tmp_path, "faqs.jsonl", "\n".join(lines) + "\n")) == [
        FaqEntry("pw-1", Q_PASSWORD, alternates=ALT_PASSWORD),
        FaqEntry("r-1", Q_REFUND),
        FaqEntry("d-1", Q_DELIVERY),
    ]


def test_too_many_alternates(tmp_path: Path, store: FaqStore) -> None:
    cell = "\n".join(f"다른 질문 {i}" for i in range(51))
    path = write(
        tmp_path, "faqs.csv", f'id,question,alternates\npw-1,{Q_PASSWORD},"{cell}"\nr-1,{Q_REFUND},\n'
    )
    assert_rejected(store, path, ["row 2: 51 alternates; the limit is 50 per entry"])


def test_alternate_repeating_the_question(tmp_path: Path, store: FaqStore) -> None:
    # Equal after normalisation: spacing differs, NFD spelling.
    repeat = unicodedata.normalize("NFD", "  " + Q_REFUND)
    path = write(
        tmp_path, "faqs.csv", f'id,question,alternates\nr-1,{Q_REFUND},"환불 언제 돼요?\n{repeat}"\n'
    )
    assert_rejected(store, path, [f"row 2: alternate 1 {Q_REFUND!r} repeats the question; remove it"])


def test_alternate_over_the_question_limit(tmp_path: Path, store: FaqStore) -> None:
    long = "가" * (MAX_QUESTION_CHARS + 1)
    path = write_xlsx(
        tmp_path, [["id", "question", "alternates"], ["r-1", Q_REFUND, f"환불 언제 돼요?\n{long}"]]
    )
    assert_rejected(
        store,
        path,
        [
            f"row 2: alternate 1 is {MAX_QUESTION_CHARS + 1:,} characters long; the limit is {MAX_QUESTION_CHARS:,} characters"
        ],
    )


def test_jsonl_alternates_must_be_a_list_of_strings(tmp_path: Path, store: FaqStore) -> None:
    lines = [
        json.dumps({"id": "r-1", "question": Q_REFUND, "alternates": "환불 언제 돼요?"}, ensure_ascii=False),
        json.dumps(
            {"id": "d-1", "question": Q_DELIVERY, "alternates": ["며칠 걸려요?", 3]}, ensure_ascii=False
        ),
    ]
    assert_rejected(
        store,
        write(tmp_path, "faqs.jsonl", "\n".join(lines) + "\n"),
        [
            'line 1: alternates must be a JSON array of strings, like ["다른 질문", "또 다른 질문"], not a string',
            "line 2: alternate 1 must be text, not int",
        ],
    )
