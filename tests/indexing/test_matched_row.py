"""Which text of an entry matched: each entry is one hit, and its `source` names the row (question,
alternate or answer chunk) that matched, in dense, bm25 and hybrid search."""

from pathlib import Path

import pytest

from indexing.build import build_snapshot
from indexing.faq_import import read_faq_file
from indexing.rows import RowPolicy, matched_text
from indexing.searcher import Searcher
from indexing.store import FaqEntry, FaqStore

SAMPLE = Path(__file__).resolve().parents[2] / "testsets/sample_faq/faqs.csv"
PASSWORD = FaqEntry(
    "pw",
    "계정 암호를 분실했어요. 어떻게 찾나요?",
    "로그인 화면에서 '비밀번호 찾기'를 누르세요. 휴대폰 본인인증 후 새 비밀번호를 정할 수 있습니다.",
    alternates=("로그인 암호가 기억나지 않아요", "비번 재설정 방법"),
)
REFUND = FaqEntry("refund", "환불 문의", alternates=("환불 요청",))


def _searcher(folder: Path, real_encoder, rows: RowPolicy | None = None) -> Searcher:
    with FaqStore.open(folder) as store:
        store.upsert_many([*read_faq_file(SAMPLE)[:30], PASSWORD, REFUND])
    build_snapshot(folder, real_encoder, "mean", rows=rows)
    return Searcher.open(folder, real_encoder, rows=rows)


@pytest.fixture(scope="module")
def searcher(tmp_path_factory, real_encoder) -> Searcher:
    return _searcher(tmp_path_factory.mktemp("matched"), real_encoder)


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_an_alternate_as_the_query_is_the_matched_row(searcher, mode):
    (hits,) = searcher.search(["비번 재설정 방법"], top_k=10, mode=mode)
    assert hits[0].id == "pw"
    assert [h.id for h in hits].count("pw") == 1  # one hit per entry, however many rows match
    assert hits[0].source == ("alternate", 1, 0, 0)
    assert matched_text(PASSWORD, hits[0].source) == ("alternate", 1, "비번 재설정 방법")
    if mode == "dense":
        assert hits[0].score == pytest.approx(1.0, abs=1e-5)


def test_bm25_names_the_question_when_it_weighs_most(searcher):
    # 암호 is in the question and in alternate 0, 분실 in the question only.
    (hits,) = searcher.search(["암호를 분실했어요"], top_k=5, mode="bm25")
    assert (hits[0].id, hits[0].source) == ("pw", ("question", 0, 0, 0))


def test_bm25_ties_go_to_the_first_row(searcher):
    # 환불 is in the question and in the alternate alike: the question comes first.
    (hits,) = searcher.search(["환불"], top_k=5, mode="bm25")
    assert (hits[0].id, hits[0].source) == ("refund", ("question", 0, 0, 0))
    (hits,) = searcher.search(["환불 요청"], top_k=5, mode="bm25")
    assert (hits[0].id, hits[0].source) == ("refund", ("alternate", 0, 0, 0))


def test_an_answer_chunk_matches_where_answers_are_indexed(tmp_path, real_encoder):
    searcher = _searcher(tmp_path / "answers", real_encoder, RowPolicy(answers=True))
    sentence = "휴대폰 본인인증 후 새 비밀번호를 정할 수 있습니다."
    start = PASSWORD.answer.index(sentence)  # type: ignore[union-attr]
    for mode in ("dense", "bm25"):
        (hits,) = searcher.search([sentence], top_k=5, mode=mode)
        assert hits[0].id == "pw"
        kind, _, chunk_start, chunk_end = hits[0].source
        assert kind == "answer" and chunk_start <= start and chunk_end >= start + len(sentence)
        assert sentence in matched_text(PASSWORD, hits[0].source)[2]


def test_a_source_the_entry_no_longer_has_falls_back_to_the_question():
    assert matched_text(PASSWORD, None) == ("question", 0, PASSWORD.question)
    assert matched_text(PASSWORD, ("alternate", 5, 0, 0)) == ("question", 0, PASSWORD.question)
    assert matched_text(REFUND, ("answer", 0, 0, 10)) == ("question", 0, REFUND.question)
