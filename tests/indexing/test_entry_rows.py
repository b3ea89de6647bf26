"""Several rows per entry (question, alternates, answer chunks): exact answers against brute force,
incremental edits that replace every row of an entry, and the answer policy recorded and checked."""

from __future__ import annotations

import numpy as np
import pytest

from indexing.build import build_snapshot
from indexing.loaded_index import IndexMismatchError
from indexing.rows import RowPolicy
from indexing.searcher import Searcher
from indexing.store import FaqEntry, FaqStore

ENTRIES = [
    FaqEntry(
        "card",
        "카드를 잃어버렸어요",
        "분실 신고를 해 주세요.",
        alternates=("지갑째 카드를 도난당했어요", "카드 분실 신고"),
    ),
    FaqEntry("hours", "영업점 운영 시간이 궁금해요", "평일 9시부터 4시까지 엽니다. 주말에는 닫습니다."),
    FaqEntry(
        "fee",
        "해지하면 위약금이 있나요?",
        "약정 기간에 따라 다릅니다.",
        alternates=("통신사 옮기면 돈 내야 하나요",),
    ),
    FaqEntry("parcel", "택배가 아직 안 왔어요", "배송 조회에서 확인해 주세요."),
]
QUERIES = ["카드를 도둑맞았어요", "창구는 몇 시에 닫아요", "번호 이동 하면 위약금", "택배 언제 와요"]


def brute_force(encoder, entries, policy, query):
    """Each entry's score = max over its texts of cosine (answer texts times the weight)."""
    from indexing.build import rows_of

    rows = [r for entry_rows in rows_of(entries, policy, encoder) for r in entry_rows]
    vectors = encoder.encode([r.text for r in rows], "mean", role="entry").vectors
    q = encoder.encode([query], "mean").vectors[0]
    best: dict[str, float] = {}
    for row, vector in zip(rows, vectors, strict=True):
        score = float(vector @ q) * (policy.answer_weight if row.kind == "answer" else 1.0)
        best[row.entry_id] = max(best.get(row.entry_id, -np.inf), score)
    return sorted(best.items(), key=lambda item: -item[1])


@pytest.fixture(
    params=[RowPolicy(), RowPolicy(answers=True, answer_weight=0.9)], ids=["questions", "answers"]
)
def served(request, tmp_path, tiny_encoder):
    with FaqStore.open(tmp_path) as store:
        store.upsert_many(ENTRIES)
    build_snapshot(tmp_path, tiny_encoder, "mean", rows=request.param)
    return Searcher.open(tmp_path, tiny_encoder, rows=request.param), request.param


def test_each_entry_once_with_the_max_over_its_rows(served, tiny_encoder):
    searcher, policy = served
    for query, hits in zip(QUERIES, searcher.search(QUERIES, top_k=4, mode="dense"), strict=True):
        expected = brute_force(tiny_encoder, ENTRIES, policy, query)
        assert [h.id for h in hits] == [i for i, _ in expected]
        np.testing.assert_allclose([h.score for h in hits], [s for _, s in expected], atol=1e-5)


def test_an_alternate_that_is_the_query_is_what_matched(served):
    searcher, _ = served
    [[hit, *_]] = searcher.search(["통신사 옮기면 돈 내야 하나요"], top_k=4, mode="dense")
    assert hit.id == "fee" and hit.source is not None and hit.source[:2] == ("alternate", 0)
    assert hit.score == pytest.approx(1.0, abs=1e-5)


def test_removing_an_alternate_removes_its_row_at_once_and_after_a_restart(served, tmp_path, tiny_encoder):
    searcher, policy = served
    query = "지갑째 카드를 도난당했어요"
    assert searcher.search([query], top_k=1)[0][0].score == pytest.approx(1.0, abs=1e-5)
    searcher.upsert(
        [FaqEntry("card", "카드를 잃어버렸어요", "분실 신고를 해 주세요.", alternates=("카드 분실 신고",))]
    )
    edited = [
        FaqEntry("card", "카드를 잃어버렸어요", "분실 신고를 해 주세요.", alternates=("카드 분실 신고",))
    ]
    expected = brute_force(tiny_encoder, edited + ENTRIES[1:], policy, query)
    for found in (
        searcher.search([query], top_k=4)[0],
        Searcher.open(tmp_path, tiny_encoder, rows=policy).search([query], top_k=4)[0],
    ):
        assert [h.id for h in found] == [i for i, _ in expected]
        np.testing.assert_allclose([h.score for h in found], [s for _, s in expected], atol=1e-5)
    card_labels = searcher.index.labels_of["card"]
    assert len(card_labels) == 2 + (
        1 if policy.answers else 0
    )  # question, one alternate (, one answer chunk)


def test_an_index_built_with_another_answer_policy_is_refused(tmp_path, tiny_encoder):
    with FaqStore.open(tmp_path) as store:
        store.upsert_many(ENTRIES)
    build_snapshot(tmp_path, tiny_encoder, "mean", rows=RowPolicy())
    with pytest.raises(
        IndexMismatchError, match="built with answers not indexed but the configuration has answers indexed"
    ):
        Searcher.open(tmp_path, tiny_encoder, rows=RowPolicy(answers=True))
