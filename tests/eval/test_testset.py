"""Tests of eval.testset: exact loading of a tiny folder, one precise error per kind of breakage,
and the bundled sets in testsets/ (counts equal to their meta.json, rebuilt byte for byte)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from eval import testset as ts
from eval.testset import CorpusEntry, Query, RankingSet, StsPair, StsSet, load_testset
from models.text import normalize_text

REPO_ROOT = Path(__file__).resolve().parents[2]
TESTSETS = REPO_ROOT / "testsets"
RAW = REPO_ROOT.parent / "shared" / "testsets_raw"
BUNDLED = {
    "welfare": "ranking",
    "welfare_passages": "ranking",
    "parakqc": "ranking",
    "parakqc_alt": "ranking",
    "stylekqc": "ranking",
    "korsts_train": "sts",
    "korsts_dev": "sts",
    "korsts_test": "sts",
}

CORPUS = (
    '{"id": "e1", "text": "비밀번호를 잊어버렸어요", "title": "계정", "answer": "비밀번호 찾기를 누르세요."}\n'
    '{"id": "e2", "text": "  배송은   얼마나\\t걸리나요?  ", "source": "ignored"}\n'
    '{"id": "e3", "text": "환불 규정", "title": "", "answer": null}\n'
)
QUERIES = '{"id": "q1", "text": "비번 까먹었어요"}\n{"id": "q2", "text": "택배 언제 와요?"}\n'
QRELS = "query_id\tentry_id\tgrade\nq1\te1\t1\nq2\te2\t1\nq2\te3\t2\n"
PAIRS = '{"a": "한 소녀가 머리를 빗고 있다.", "b": "소녀가 머리를 빗는다.", "score": 4.2}\n{"a": "개", "b": "고양이", "score": 0}\n'

EXPECTED_RANKING = dict(
    corpus=[
        CorpusEntry(
            id="e1", text="비밀번호를 잊어버렸어요", title="계정", answer="비밀번호 찾기를 누르세요."
        ),
        CorpusEntry(id="e2", text="배송은 얼마나 걸리나요?"),
        CorpusEntry(id="e3", text="환불 규정"),
    ],
    queries=[Query(id="q1", text="비번 까먹었어요"), Query(id="q2", text="택배 언제 와요?")],
    qrels={"q1": {"e1": 1}, "q2": {"e2": 1, "e3": 2}},
)


def write(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).write_bytes(data)
    return folder


def ranking_folder(tmp_path: Path, **changes: str | bytes | None) -> Path:
    """The tiny valid ranking folder, with files replaced (or removed, for None) by `changes`."""
    files: dict[str, str | bytes | None] = {
        "corpus.jsonl": CORPUS,
        "queries.jsonl": QUERIES,
        "qrels.tsv": QRELS,
    }
    files.update({name.replace("_", "."): content for name, content in changes.items()})
    return write(tmp_path / "tiny", {name: content for name, content in files.items() if content is not None})


def error_of(folder: Path) -> str:
    with pytest.raises(ts.TestsetError) as info:
        load_testset(folder)
    assert isinstance(info.value, ValueError)
    return str(info.value)


# --- valid folders ---------------------------------------------------------------------------------


def test_tiny_ranking_folder_loads_exactly(tmp_path):
    folder = ranking_folder(tmp_path)
    assert load_testset(folder) == RankingSet(name="tiny", **EXPECTED_RANKING)
    assert load_testset(str(folder)) == RankingSet(name="tiny", **EXPECTED_RANKING)  # str path too


def test_tiny_sts_folder_loads_exactly(tmp_path):
    folder = write(tmp_path / "sts", {"pairs.jsonl": PAIRS})
    loaded = load_testset(folder)
    assert loaded == StsSet(
        name="sts",
        pairs=[
            StsPair(a="한 소녀가 머리를 빗고 있다.", b="소녀가 머리를 빗는다.", score=4.2),
            StsPair(a="개", b="고양이", score=0.0),
        ],
    )
    assert type(loaded.pairs[1].score) is float


def test_crlf_line_ends_and_a_byte_order_mark_are_accepted(tmp_path):
    folder = ranking_folder(
        tmp_path,
        corpus_jsonl="\ufeff" + CORPUS.replace("\n", "\r\n"),
        queries_jsonl=QUERIES.replace("\n", "\r\n"),
        qrels_tsv=QRELS.replace("\n", "\r\n"),
    )
    assert load_testset(folder) == RankingSet(name="tiny", **EXPECTED_RANKING)


def test_last_line_without_newline_and_integer_ids(tmp_path):
    folder = ranking_folder(
        tmp_path,
        corpus_jsonl='{"id": 7, "text": "환불 규정"}',
        queries_jsonl='{"id": 1, "text": "환불 돼요?"}',
        qrels_tsv="query_id\tentry_id\tgrade\n1\t7\t1",
    )
    assert load_testset(folder) == RankingSet(
        name="tiny",
        corpus=[CorpusEntry(id="7", text="환불 규정")],
        queries=[Query(id="1", text="환불 돼요?")],
        qrels={"1": {"7": 1}},
    )


def test_text_inside_a_line_may_contain_unicode_line_separators(tmp_path):
    # json.dumps(ensure_ascii=False) writes U+2028 raw; the loader must not split the line there.
    corpus = json.dumps({"id": "e1", "text": "첫 줄\u2028둘째 줄"}, ensure_ascii=False) + "\n"
    folder = ranking_folder(
        tmp_path,
        corpus_jsonl=corpus,
        queries_jsonl=QUERIES,
        qrels_tsv="query_id\tentry_id\tgrade\nq1\te1\t1\nq2\te1\t1\n",
    )
    assert load_testset(folder).corpus == [CorpusEntry(id="e1", text="첫 줄 둘째 줄")]


def test_nfd_korean_loads_as_nfc(tmp_path):
    nfd_text = unicodedata.normalize("NFD", "비밀번호를 잊어버렸어요")
    nfd_id = unicodedata.normalize("NFD", "항목-1")
    assert nfd_text != "비밀번호를 잊어버렸어요"  # really decomposed jamo on disk
    corpus = json.dumps(
        {"id": nfd_id, "text": nfd_text, "title": unicodedata.normalize("NFD", "계정")}, ensure_ascii=False
    )
    queries = json.dumps(
        {"id": "q1", "text": unicodedata.normalize("NFD", "비번 까먹음")}, ensure_ascii=False
    )
    folder = ranking_folder(
        tmp_path,
        corpus_jsonl=corpus + "\n",
        queries_jsonl=queries + "\n",
        qrels_tsv=f"query_id\tentry_id\tgrade\nq1\t{nfd_id}\t1\n",
    )
    loaded = load_testset(folder)
    assert loaded.corpus == [CorpusEntry(id="항목-1", text="비밀번호를 잊어버렸어요", title="계정")]
    assert loaded.queries == [Query(id="q1", text="비번 까먹음")]
    assert loaded.qrels == {"q1": {"항목-1": 1}}
    sts = write(tmp_path / "sts", {"pairs.jsonl": json.dumps({"a": nfd_text, "b": "가", "score": 1}) + "\n"})
    assert load_testset(sts).pairs == [StsPair(a="비밀번호를 잊어버렸어요", b="가", score=1.0)]


def test_alternates_load_normalised_in_order(tmp_path):
    nfd = unicodedata.normalize("NFD", "비번을 까먹었어요")
    corpus = (
        json.dumps(
            {"id": "e1", "text": "비밀번호를 잊어버렸어요", "alternates": [f"  {nfd}  ", "비밀번호\t분실"]},
            ensure_ascii=False,
        )
        + "\n"
        + '{"id": "e2", "text": "배송 기간", "alternates": []}\n'
        + '{"id": "e3", "text": "환불 규정", "alternates": null}\n'
    )
    loaded = load_testset(ranking_folder(tmp_path, corpus_jsonl=corpus))
    assert loaded.corpus == [
        CorpusEntry(
            id="e1", text="비밀번호를 잊어버렸어요", alternates=("비번을 까먹었어요", "비밀번호 분실")
        ),
        CorpusEntry(id="e2", text="배송 기간"),
        CorpusEntry(id="e3", text="환불 규정"),
    ]
    assert loaded.corpus[1].alternates == ()


# --- broken folders: one TestsetError naming the file and the line -------------------------------

BAD_CORPUS_LINE3 = CORPUS.splitlines(keepends=True)[:2]
BROKEN_RANKING = [
    # (file, replacement content, expected message after "<path>: ")
    ("corpus.jsonl", "".join(BAD_CORPUS_LINE3) + '{"text": "환불 규정"}\n', "line 3: missing 'id'"),
    ("corpus.jsonl", "".join(BAD_CORPUS_LINE3) + '{"id": "  ", "text": "환불 규정"}\n', "line 3: empty 'id'"),
    (
        "corpus.jsonl",
        "".join(BAD_CORPUS_LINE3) + '{"id": ["e3"], "text": "환불"}\n',
        "line 3: 'id' must be a string, got list",
    ),
    ("corpus.jsonl", "".join(BAD_CORPUS_LINE3) + '{"id": "e3"}\n', "line 3: missing 'text'"),
    (
        "corpus.jsonl",
        "".join(BAD_CORPUS_LINE3) + '{"id": "e3", "text": " \\u200b\\t "}\n',
        "line 3: empty 'text'",
    ),
    (
        "corpus.jsonl",
        "".join(BAD_CORPUS_LINE3) + '{"id": "e3", "text": 5}\n',
        "line 3: 'text' must be a string, got int",
    ),
    (
        "corpus.jsonl",
        "".join(BAD_CORPUS_LINE3) + '{"id": "e3", "text": "a", "title": 1}\n',
        "line 3: 'title' must be a string, got int",
    ),
    (
        "corpus.jsonl",
        "".join(BAD_CORPUS_LINE3) + '{"id": "e3", "text": "a", "alternates": "환불"}\n',
        "line 3: 'alternates' must be a list of strings, got str",
    ),
    (
        "corpus.jsonl",
        "".join(BAD_CORPUS_LINE3) + '{"id": "e3", "text": "a", "alternates": {"b": 1}}\n',
        "line 3: 'alternates' must be a list of strings, got dict",
    ),
    (
        "corpus.jsonl",
        "".join(BAD_CORPUS_LINE3) + '{"id": "e3", "text": "a", "alternates": ["b", 2]}\n',
        "line 3: 'alternates'[1] must be a string, got int",
    ),
    (
        "corpus.jsonl",
        "".join(BAD_CORPUS_LINE3) + '{"id": "e3", "text": "a", "alternates": [null]}\n',
        "line 3: 'alternates'[0] must be a string, got NoneType",
    ),
    (
        "corpus.jsonl",
        "".join(BAD_CORPUS_LINE3) + '{"id": "e3", "text": "a", "alternates": ["b", " \\t "]}\n',
        "line 3: empty 'alternates'[1]",
    ),
    (
        "corpus.jsonl",
        "".join(BAD_CORPUS_LINE3) + '{"id": "e1", "text": "환불 규정"}\n',
        "line 3: duplicate id 'e1' (first on line 1)",
    ),
    (
        "corpus.jsonl",
        "".join(BAD_CORPUS_LINE3) + '["e3", "환불 규정"]\n',
        "line 3: expected a JSON object, got list",
    ),
    (
        "corpus.jsonl",
        "".join(BAD_CORPUS_LINE3) + '{"id": "e3", "text": "a", "text": "b"}\n',
        "line 3: invalid JSON object (duplicate key 'text')",
    ),
    (
        "corpus.jsonl",
        CORPUS.replace("\n", "\n\n", 1),
        "line 2: empty line (JSON lines files have one object on every line)",
    ),
    ("corpus.jsonl", "", "line 1: no entries (the file is empty)"),
    (
        "queries.jsonl",
        '{"id": "q1", "text": "비번 까먹었어요"}\n{"id": "q1", "text": "택배"}\n',
        "line 2: duplicate id 'q1' (first on line 1)",
    ),
    (
        "queries.jsonl",
        '{"id": "q1", "text": "비번 까먹었어요"}\n{"id": "q2", "text": ""}\n',
        "line 2: empty 'text'",
    ),
    ("queries.jsonl", "", "line 1: no queries (the file is empty)"),
    (
        "queries.jsonl",
        QUERIES + '{"id": "q3", "text": "영수증 주세요"}\n',
        "line 3: query 'q3' has no relevant entry in qrels.tsv",
    ),
    (
        "qrels.tsv",
        "query\tentry\tgrade\nq1\te1\t1\nq2\te2\t1\n",
        "line 1: wrong header 'query\\tentry\\tgrade', expected 'query_id\\tentry_id\\tgrade'",
    ),
    (
        "qrels.tsv",
        "q1\te1\t1\nq2\te2\t1\n",
        "line 1: wrong header 'q1\\te1\\t1', expected 'query_id\\tentry_id\\tgrade'",
    ),
    ("qrels.tsv", "", "line 1: empty file, expected the header 'query_id\\tentry_id\\tgrade'"),
    ("qrels.tsv", QRELS + "q9\te1\t1\n", "line 5: unknown query id 'q9' (not in queries.jsonl)"),
    ("qrels.tsv", QRELS + "q1\te9\t1\n", "line 5: unknown entry id 'e9' (not in corpus.jsonl)"),
    ("qrels.tsv", QRELS + "q1\te2\tx\n", "line 5: bad grade 'x' (expected an integer >= 1)"),
    ("qrels.tsv", QRELS + "q1\te2\t0\n", "line 5: bad grade '0' (expected an integer >= 1)"),
    ("qrels.tsv", QRELS + "q1\te2\t1.5\n", "line 5: bad grade '1.5' (expected an integer >= 1)"),
    ("qrels.tsv", QRELS + "q1\te2\t-1\n", "line 5: bad grade '-1' (expected an integer >= 1)"),
    (
        "qrels.tsv",
        QRELS + "q1\te2\n",
        "line 5: expected 3 tab-separated fields (query_id, entry_id, grade), got 2",
    ),
    (
        "qrels.tsv",
        QRELS + "q1 e2 1\n",
        "line 5: expected 3 tab-separated fields (query_id, entry_id, grade), got 1",
    ),
    (
        "qrels.tsv",
        QRELS + "q1\te2\t1\textra\n",
        "line 5: expected 3 tab-separated fields (query_id, entry_id, grade), got 4",
    ),
    ("qrels.tsv", QRELS + "\te1\t1\n", "line 5: empty query_id"),
    ("qrels.tsv", QRELS + "q2\te3\t1\n", "line 5: duplicate pair ('q2', 'e3') (first on line 4)"),
    ("qrels.tsv", QRELS.replace("q2\te2\t1\n", "\n"), "line 3: empty line"),
    # q2 left without judgements: reported on its line in queries.jsonl
    (
        "qrels.tsv",
        "query_id\tentry_id\tgrade\nq1\te1\t1\n",
        "line 2: query 'q2' has no relevant entry in qrels.tsv",
    ),
]


@pytest.mark.parametrize(("filename", "content", "message"), BROKEN_RANKING)
def test_broken_ranking_folder_names_file_and_line(tmp_path, filename, content, message):
    folder = ranking_folder(tmp_path, **{filename.replace(".", "_"): content})
    # a query without judgements is reported on its line in queries.jsonl, not in qrels.tsv
    blamed = "queries.jsonl" if message.endswith("has no relevant entry in qrels.tsv") else filename
    assert error_of(folder) == f"{folder / blamed}: {message}"


@pytest.mark.parametrize("filename", ["corpus.jsonl", "queries.jsonl", "qrels.tsv"])
def test_missing_ranking_file(tmp_path, filename):
    folder = ranking_folder(tmp_path, **{filename.replace(".", "_"): None})
    assert error_of(folder) == (
        f"{folder / filename}: missing file (a test set needs pairs.jsonl, or corpus.jsonl + queries.jsonl + qrels.tsv)"
    )


def test_empty_folder_reports_the_first_missing_file(tmp_path):
    folder = write(tmp_path / "empty", {})
    assert error_of(folder) == (
        f"{folder / 'corpus.jsonl'}: missing file (a test set needs pairs.jsonl, or corpus.jsonl + queries.jsonl + qrels.tsv)"
    )


def test_not_a_folder(tmp_path):
    assert (
        error_of(tmp_path / "nowhere") == f"{tmp_path / 'nowhere'}: not a test set folder (no such directory)"
    )


def test_invalid_json_names_file_line_and_column(tmp_path):
    folder = ranking_folder(
        tmp_path,
        queries_jsonl='{"id": "q1", "text": "비번 까먹었어요"}\n{"id": "q2", "text": "택배 언제 와요?"\n',
    )
    assert (
        error_of(folder)
        == f"{folder / 'queries.jsonl'}: line 2: invalid JSON (Expecting ',' delimiter at column 33)"
    )


def test_invalid_utf8_names_file_and_line(tmp_path):
    folder = ranking_folder(
        tmp_path, corpus_jsonl=CORPUS.encode("utf-8") + b'{"id": "e4", "text": "\xed\x95"}\n'
    )
    assert error_of(folder) == (
        f"{folder / 'corpus.jsonl'}: line 4: not valid UTF-8 (invalid continuation byte at byte {len(CORPUS.encode()) + 22})"
    )


BROKEN_PAIRS = [
    ('{"a": "개", "b": "고양이", "score": "3.5"}\n', "line 1: 'score' must be a number, got '3.5'"),
    ('{"a": "개", "b": "고양이", "score": true}\n', "line 1: 'score' must be a number, got True"),
    ('{"a": "개", "b": "고양이", "score": NaN}\n', "line 1: 'score' must be a finite number, got nan"),
    ('{"a": "개", "b": "고양이"}\n', "line 1: missing 'score'"),
    ('{"a": "개", "b": "고양이", "score": 1}\n{"a": "개", "score": 1}\n', "line 2: missing 'b'"),
    ('{"a": "", "b": "고양이", "score": 1}\n', "line 1: empty 'a'"),
    (
        '{"a": "개", "b": "고양이", "score": 1}\n{"a": "개", "b": "고양이", "score": 1,}\n',
        "line 2: invalid JSON (Expecting property name enclosed in double quotes at column 35)",
    ),
    ("", "line 1: no pairs (the file is empty)"),
]


@pytest.mark.parametrize(("content", "message"), BROKEN_PAIRS)
def test_broken_sts_folder_names_file_and_line(tmp_path, content, message):
    folder = write(tmp_path / "sts", {"pairs.jsonl": content})
    assert error_of(folder) == f"{folder / 'pairs.jsonl'}: {message}"


def test_folder_with_both_kinds_is_rejected(tmp_path):
    folder = ranking_folder(tmp_path)
    write(folder, {"pairs.jsonl": PAIRS})
    assert error_of(folder) == (
        f"{folder / 'pairs.jsonl'}: the folder also has corpus.jsonl, queries.jsonl, qrels.tsv; a test set is either "
        "STS (pairs.jsonl) or ranking (corpus.jsonl, queries.jsonl, qrels.tsv)"
    )


# --- the bundled sets ------------------------------------------------------------------------------


def test_bundled_sets_are_the_expected_ones():
    kinds = {}
    for meta_file in sorted(TESTSETS.glob("*/meta.json")):
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        assert meta["name"] == meta_file.parent.name
        kinds[meta["name"]] = meta["kind"]
    assert kinds == {**BUNDLED, "sample_faq": "faq", "cs_faq": "ranking", "xnli_ko": "pairs"}


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_set_loads_with_the_counts_of_its_meta(name):
    meta = json.loads((TESTSETS / name / "meta.json").read_text(encoding="utf-8"))
    loaded = load_testset(TESTSETS / name)
    assert loaded.name == name
    if BUNDLED[name] == "ranking":
        assert isinstance(loaded, RankingSet)
        counts = {
            "entries": len(loaded.corpus),
            "queries": len(loaded.queries),
            "qrels": sum(len(entries) for entries in loaded.qrels.values()),
        }
        alternates = sum(len(entry.alternates) for entry in loaded.corpus)
        if alternates:  # counted only by the sets that have alternates
            counts["alternates"] = alternates
        assert meta["counts"] == counts
        assert set(loaded.qrels) == {q.id for q in loaded.queries}
        assert {grade for entries in loaded.qrels.values() for grade in entries.values()} == {1}
    else:
        assert isinstance(loaded, StsSet)
        assert meta["counts"] == {"pairs": len(loaded.pairs)}
        assert all(0.0 <= pair.score <= 5.0 for pair in loaded.pairs)
    assert any(path.name.startswith("LICENSE") for path in (TESTSETS / name).iterdir())
    assert (TESTSETS / name / "README.md").is_file()


def test_bundled_counts():
    """The numbers reported in testsets/README.md; a change here must be deliberate."""
    counts = {
        name: json.loads((TESTSETS / name / "meta.json").read_text(encoding="utf-8"))["counts"]
        for name in BUNDLED
    }
    assert counts == {
        "welfare": {"entries": 454, "queries": 9091, "qrels": 9092},
        "welfare_passages": {"entries": 454, "queries": 4879, "qrels": 4879},
        "parakqc": {"entries": 999, "queries": 8988, "qrels": 8995},
        "parakqc_alt": {"entries": 999, "queries": 4991, "qrels": 4997, "alternates": 3998},
        "stylekqc": {"entries": 480, "queries": 2399, "qrels": 2399},
        "korsts_train": {"pairs": 5749},
        "korsts_dev": {"pairs": 1500},
        "korsts_test": {"pairs": 1379},
    }


def test_parakqc_alt_splits_each_group_into_entry_alternates_and_queries():
    loaded = load_testset(TESTSETS / "parakqc_alt")
    assert isinstance(loaded, RankingSet)
    first = loaded.corpus[0]
    assert first == CorpusEntry(
        id="parakqc-0001",
        text="메일을 다 비울까 아니면 안읽은 것만 지울까?",
        alternates=(
            "메일 중에 안읽은 것만 지울까? 다 지울까?",
            "안읽은 메일만 지워 다지워?",
            "다 지울까 안읽은 메일만 지울까?",
            "전체를 비울까 안읽은 것만 비울까?",
        ),
    )
    assert [q.id for q in loaded.queries if loaded.qrels[q.id] == {"parakqc-0001": 1}] == [
        "q-00001",
        "q-00002",
        "q-00003",
        "q-00004",
        "q-00005",
    ]
    # no alternate repeats its entry's text or another alternate, and no query is an entry sentence
    assert all(
        e.text not in e.alternates and len(set(e.alternates)) == len(e.alternates) for e in loaded.corpus
    )
    sentences = {e.text for e in loaded.corpus} | {a for e in loaded.corpus for a in e.alternates}
    assert not [q.text for q in loaded.queries if q.text in sentences]
    sizes = sorted(len(e.alternates) for e in loaded.corpus)
    assert (sizes.count(3), sizes.count(4), sizes.count(8)) == (2, 996, 1)


def test_welfare_passages_hold_no_answer_of_their_own_queries():
    """Per programme the raw questions split in two: answers of one half in the passage, the other
    half's questions as queries, and no query's own answer in its passage."""
    loaded = load_testset(TESTSETS / "welfare_passages")
    welfare = load_testset(TESTSETS / "welfare")
    assert isinstance(loaded, RankingSet) and isinstance(welfare, RankingSet)
    assert [e.id for e in loaded.corpus] == [e.id for e in welfare.corpus]
    assert all(e.title and e.text == e.title and e.answer for e in loaded.corpus)
    with (RAW / "welfare_qa" / "QA_total.csv").open(encoding="utf-8", newline="") as handle:
        rows = [[normalize_text(value) for value in row] for row in list(csv.reader(handle))[1:]]
    title_of = {e.id: e.title for e in loaded.corpus}
    passage_of = {e.id: e.answer or "" for e in loaded.corpus}
    queries = {q.text: q.id for q in loaded.queries}
    asked = 0
    for question, answer, _ in rows:
        if question in queries:
            for entry_id in loaded.qrels[queries[question]]:
                assert answer not in passage_of[entry_id], (question, entry_id)
                asked += 1
    assert asked == 4879
    meta = json.loads((TESTSETS / "welfare_passages" / "meta.json").read_text(encoding="utf-8"))
    assert meta["seed"] == 2024
    lengths = sorted(len(passage) for passage in passage_of.values())
    stats = meta["stats"]
    assert (stats["passage_chars_min"], stats["passage_chars_max"]) == (42, 2318)
    assert stats["passage_chars_median"] == 757
    # loaded text has the line breaks collapsed to spaces, so lengths equal the built ones
    assert (lengths[0], lengths[-1], lengths[(len(lengths) - 1) // 2]) == (42, 2318, 757)
    assert len(title_of) == 454


def test_sample_faq_csv_and_jsonl_hold_the_same_rows():
    folder = TESTSETS / "sample_faq"
    text = (folder / "faqs.csv").read_text(encoding="utf-8")
    assert text.startswith("id,question,answer,category\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    lines = (folder / "faqs.jsonl").read_text(encoding="utf-8").splitlines()
    assert rows == [json.loads(line) for line in lines]
    ids = [row["id"] for row in rows]
    assert ids == sorted(set(ids))
    assert all(
        all(row[key] and row[key] == unicodedata.normalize("NFC", row[key]).strip() for key in row)
        for row in rows
    )
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta["counts"] == {"entries": 308, "welfare_entries": 300, "hand_written_entries": 8}
    assert len(rows) == 308
    assert sum(1 for i in ids if i.startswith("site-")) == 8
    password = [row for row in rows if "비밀번호를 잊어버렸어요" in row["question"]]
    assert [row["id"] for row in password] == ["site-001"]
    assert password[0]["question"] == "비밀번호를 잊어버렸어요. 어떻게 찾나요?"
    assert "비밀번호 찾기" in password[0]["answer"]


def test_build_script_reproduces_the_committed_files(tmp_path):
    assert RAW.is_dir(), f"the raw test data must be at {RAW} (shared/ beside the checkout)"
    result = subprocess.run(
        [sys.executable, str(TESTSETS / "build.py"), "--raw", str(RAW), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["welfare"] == {"kind": "ranking", "entries": 454, "queries": 9091, "qrels": 9092}
    assert summary["welfare_passages"] == {"kind": "ranking", "entries": 454, "queries": 4879, "qrels": 4879}
    assert summary["parakqc_alt"] == {
        "kind": "ranking",
        "entries": 999,
        "queries": 4991,
        "qrels": 4997,
        "alternates": 3998,
    }
    built = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    # the hand-written cs_faq (its own source, checked by cs_faq_check.py) is not built
    assert not (tmp_path / "cs_faq").exists()
    committed = sorted(
        p.relative_to(TESTSETS)
        for p in TESTSETS.rglob("*")
        if p.is_file()
        and p.name not in {"build.py", "cs_faq_check.py"}
        and "__pycache__" not in p.parts
        and p.relative_to(TESTSETS).parts[0] != "cs_faq"
    )
    assert built == committed
    for rel in built:
        assert (tmp_path / rel).read_bytes() == (TESTSETS / rel).read_bytes(), rel


# ---------------------------------------------------------------------------------------------
# Splits: train and evaluation parts never overlap


def test_a_ranking_split_by_entry_gives_test_queries_to_eval_and_the_rest_to_train(tmp_path):
    folder = ranking_folder(tmp_path)
    (folder / "split.json").write_text('{"rule": "hand-made", "test_entries": ["e2"]}', encoding="utf-8")
    whole = load_testset(folder)
    evaluated = load_testset(folder, "eval")
    trained = load_testset(folder, "train")
    assert isinstance(evaluated, RankingSet) and isinstance(trained, RankingSet)
    assert evaluated.corpus == trained.corpus == whole.corpus  # the corpus is searched whole
    # q2 is relevant to e2 (a test entry) and e3 (a train entry): one test entry makes a test query
    assert [q.id for q in evaluated.queries] == ["q2"]
    assert evaluated.qrels == {"q2": whole.qrels["q2"]}
    assert [q.id for q in trained.queries] == ["q1"]
    assert trained.qrels == {"q1": whole.qrels["q1"]}


def test_a_test_split_is_refused_as_training_data_naming_its_split_file(tmp_path):
    folder = tmp_path / "pairs"
    folder.mkdir()
    (folder / "pairs.jsonl").write_text('{"a": "가", "b": "나", "score": 1.0}\n', encoding="utf-8")
    (folder / "split.json").write_text('{"split": "test"}', encoding="utf-8")
    assert isinstance(load_testset(folder, "eval"), StsSet)
    with pytest.raises(ts.TestsetError) as excinfo:
        load_testset(folder, "train")
    assert str(excinfo.value) == (
        f"{folder}: is the test split ({folder / 'split.json'}); a model must not be trained on what it is "
        "scored on. Train on a train split (testsets/README.md lists them) or your own data."
    )
    (folder / "split.json").write_text('{"split": "train"}', encoding="utf-8")
    with pytest.raises(
        ts.TestsetError, match=r"is a train split .*; evaluate on its dev or test split instead"
    ):
        load_testset(folder, "eval")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "not valid UTF-8 JSON"),
        ('{"split": "holdout"}', 'expected {"split": "train" | "dev" | "test"}'),
        ('{"test_entries": ["nope"]}', "test entry 'nope' is not in corpus.jsonl"),
    ],
)
def test_a_malformed_split_file_is_an_error_naming_it(tmp_path, content, message):
    folder = ranking_folder(tmp_path)
    (folder / "split.json").write_text(content, encoding="utf-8")
    with pytest.raises(ts.TestsetError) as excinfo:
        load_testset(folder, "eval")
    assert str(excinfo.value).startswith(f"{folder / 'split.json'}: ")
    assert message in str(excinfo.value)


@pytest.mark.parametrize("name", ["welfare", "parakqc", "stylekqc"])
def test_bundled_ranking_splits_are_disjoint_cover_the_set_and_match_their_meta(name):
    meta = json.loads((TESTSETS / name / "meta.json").read_text(encoding="utf-8"))
    whole, evaluated, trained = (load_testset(TESTSETS / name, p) for p in ("all", "eval", "train"))
    assert (
        isinstance(whole, RankingSet)
        and isinstance(evaluated, RankingSet)
        and isinstance(trained, RankingSet)
    )
    test_ids = {q.id for q in evaluated.queries}
    train_ids = {q.id for q in trained.queries}
    assert not test_ids & train_ids
    assert test_ids | train_ids == {q.id for q in whole.queries}
    assert (len(test_ids), len(train_ids)) == (meta["split"]["test_queries"], meta["split"]["train_queries"])
    # no train query is relevant to a test entry: nothing of a test group is trained on
    test_entries = {e for q in evaluated.queries for e in evaluated.qrels[q.id]} - {
        e for q in trained.queries for e in trained.qrels[q.id]
    }
    assert len(test_entries) == meta["split"]["test_entries"]


def test_sets_sharing_entry_ids_split_alike():
    for a, b in (("welfare", "welfare_passages"), ("parakqc", "parakqc_alt")):
        split_a = json.loads((TESTSETS / a / "split.json").read_text(encoding="utf-8"))["test_entries"]
        split_b = json.loads((TESTSETS / b / "split.json").read_text(encoding="utf-8"))["test_entries"]
        assert split_a == split_b


@pytest.mark.parametrize("name", ["korsts_dev", "korsts_test", "cs_faq"])
def test_evaluation_only_sets_are_refused_for_training(name):
    with pytest.raises(ts.TestsetError, match="a model must not be trained on what it is scored on"):
        load_testset(TESTSETS / name, "train")
