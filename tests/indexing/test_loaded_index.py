"""LoadedIndex keeps its own maps consistent (`apply`), shows them read-only, and is built in two
halves: `build_lexical` (no model) and `build_dense`."""

from __future__ import annotations

import numpy as np
import pytest

from indexing.build import build_dense, build_lexical, encode_entries, index_from_entries, rows_of
from indexing.loaded_index import NoVectorsError
from indexing.rows import RowPolicy, entry_digest
from indexing.searcher import Searcher, lexical_hits
from indexing.store import FaqEntry
from indexing.vector_index import IndexParams
from models.embedder import Embedder

ENTRIES = [
    FaqEntry("card", "카드를 잃어버렸어요", "분실 신고를 해 주세요.", alternates=("카드 분실 신고",)),
    FaqEntry("hours", "영업점 운영 시간이 궁금해요", "평일 9시부터 4시까지 엽니다."),
    FaqEntry("parcel", "택배가 아직 안 왔어요", "배송 조회에서 확인해 주세요."),
]
QUERIES = ["카드를 도둑맞았어요", "영업 시간", "택배 언제 와요"]


def _lexical(entries=ENTRIES, policy=RowPolicy()):  # noqa: B008 (frozen, never changed)
    rows = rows_of(entries, policy, None)
    return build_lexical(entries, rows, policy), [r.text for entry_rows in rows for r in entry_rows]


def test_the_lexical_half_alone_searches_as_the_whole_index(tiny_encoder):
    lexical, _ = _lexical()
    whole, _ = index_from_entries(ENTRIES, tiny_encoder, "mean", IndexParams())
    assert not lexical.has_vectors and whole.has_vectors
    with pytest.raises(NoVectorsError, match="lexical half only"):
        lexical.vectors  # noqa: B018
    assert lexical_hits(lexical, QUERIES, 5) == Searcher(tiny_encoder, whole).search(QUERIES, 5, mode="bm25")
    assert (dict(lexical.id_of), dict(lexical.labels_of)) == (dict(whole.id_of), dict(whole.labels_of))
    assert dict(lexical.labels_of) == {"card": (0, 1), "hours": (2,), "parcel": (3,)}


def test_build_dense_is_index_from_entries_and_each_index_owns_its_lexical_half(tiny_encoder):
    lexical, texts = _lexical()
    mean, _ = build_dense(lexical, texts, tiny_encoder, "mean", IndexParams())
    whole, _ = index_from_entries(ENTRIES, tiny_encoder, "mean", IndexParams())
    assert list(mean.manifest) == list(whole.manifest)  # the same keys, in the same order
    assert {**mean.manifest, "built_at": ""} == {**whole.manifest, "built_at": ""}
    dense = Searcher(tiny_encoder, mean).search(QUERIES, 3, mode="dense")
    assert dense == Searcher(tiny_encoder, whole).search(QUERIES, 3, mode="dense")
    cls, _ = build_dense(lexical, texts, tiny_encoder, "cls", IndexParams())
    Searcher(tiny_encoder, mean).index.apply([], ["parcel"])  # one index changes, the others do not
    assert "parcel" not in mean.labels_of and mean.vectors.ntotal == 3
    assert "parcel" in cls.labels_of and "parcel" in lexical.labels_of and cls.vectors.ntotal == 4
    assert [h.id for h in lexical_hits(lexical, ["택배"], 5)[0]] == ["parcel"]
    assert lexical_hits(mean, ["택배"], 5) == [[]]
    with pytest.raises(ValueError, match="3 row texts for a lexical half of 4 rows"):
        build_dense(lexical, texts[:3], tiny_encoder, "mean", IndexParams())


def test_apply_replaces_every_row_of_a_changed_entry_and_drops_removed_ones(tiny_encoder):
    index, _ = index_from_entries(ENTRIES, tiny_encoder, "mean", IndexParams())
    edited = FaqEntry("card", "카드를 도난당했어요", alternates=("카드 도난", "카드 분실"))
    new = FaqEntry("fee", "해지하면 위약금이 있나요?")
    added = [edited, new]
    rows = rows_of(added, RowPolicy(), tiny_encoder)
    vectors = encode_entries(Embedder.bind(tiny_encoder, "mean"), [r.text for rs in rows for r in rs])
    index.apply(added, ["hours"], rows, vectors)
    # new labels from 4 on (never reused): card 4, 5, 6; fee 7; old card rows 0, 1 and hours 2 gone
    assert dict(index.labels_of) == {"card": (4, 5, 6), "parcel": (3,), "fee": (7,)}
    assert dict(index.id_of) == {3: "parcel", 4: "card", 5: "card", 6: "card", 7: "fee"}
    assert [index.source(label) for label in (4, 5, 6)] == [
        ("question", 0, 0, 0),
        ("alternate", 0, 0, 0),
        ("alternate", 1, 0, 0),
    ]
    assert index.digest_of["card"] == entry_digest(edited, RowPolicy()) and "hours" not in index.digest_of
    assert index.vectors.ntotal == 5 and index.count == 3
    _, labels = index.vectors.search(vectors[:1], 5)
    assert sorted(labels[0].tolist()) == [3, 4, 5, 6, 7]
    assert [h.id for h in lexical_hits(index, ["도난"], 5)[0]] == ["card"]
    assert lexical_hits(index, ["영업점"], 5) == [[]]


def test_apply_refuses_rows_and_vectors_that_do_not_match_and_changes_nothing(tiny_encoder):
    index, _ = index_from_entries(ENTRIES, tiny_encoder, "mean", IndexParams())
    new = FaqEntry("fee", "해지하면 위약금이 있나요?")
    rows = rows_of([new], RowPolicy(), tiny_encoder)
    with pytest.raises(ValueError, match="1 entries, 1 row lists, 1 rows and 2 vectors"):
        index.apply([new], ["card"], rows, np.zeros((2, tiny_encoder.dim), dtype=np.float32))
    assert "card" in index.labels_of and "fee" not in index.labels_of and index.vectors.ntotal == 4


def test_the_maps_are_read_only_to_outsiders(tiny_encoder):
    index, _ = index_from_entries(ENTRIES, tiny_encoder, "mean", IndexParams())
    with pytest.raises(TypeError):
        index.id_of[9] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        index.labels_of["x"] = (9,)  # type: ignore[index]
    with pytest.raises(TypeError):
        del index.digest_of["card"]  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        index.labels_of["card"].append(9)  # type: ignore[attr-defined]
