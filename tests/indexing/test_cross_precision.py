"""An index built in one precision and queried in another: allowed (the manifest records the
precision for information, it is not refused), and on a bundled set its ranking matches
same-precision search within the quality rule (main metric within 0.003, eval/README.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.metrics import ranking_metrics
from eval.testset import RankingSet, load_testset
from faqsearch.settings import Settings
from indexing.build import index_from_entries
from indexing.searcher import Searcher
from indexing.store import FaqEntry
from indexing.vector_index import IndexParams

REPO_ROOT = Path(__file__).resolve().parents[2]
# The first 200 welfare entries and the first 300 queries answered among them: bf16 is emulated
# (several times slower than fp32) on CPUs without avx512_bf16/AMX, and the suite runs there too.
ENTRIES, QUERIES = 200, 300


@pytest.fixture(scope="module")
def bf16_encoder(model_path):
    from models.encoder import Encoder

    return Encoder.load(str(model_path), device="cpu", precision="bf16", batch_size=16)


class EncodeOnce:
    """An encoder whose `encode` computes each distinct call once: `mrr("bf16")` and `mrr("fp32")`
    both send the bf16 encoder the same queries with the same BM25 statistics (the two indexes hold
    the same entries), so the second gets the vectors of the first instead of encoding them again."""

    def __init__(self, encoder) -> None:
        self._encoder = encoder
        self._done: dict[tuple, object] = {}

    def encode(self, texts, pooling="mean", *, bm25=None, role="query"):
        stats = None
        if bm25 is not None:
            stats = (tuple(bm25.vocab), bm25.idf.tobytes(), bm25.doc_freq.tobytes(), bm25.n_docs, bm25.avgdl)
            stats += (bm25.unseen_idf, bm25.k1, bm25.b, bm25.epsilon, bm25.function_weight)
        key = (tuple(texts), str(pooling), role, stats)
        if key not in self._done:
            self._done[key] = self._encoder.encode(texts, pooling, bm25=bm25, role=role)
        return self._done[key]

    def __getattr__(self, name: str):
        return getattr(self._encoder, name)


@pytest.mark.slow
def test_fp32_index_with_bf16_queries_ranks_like_bf16_throughout(real_encoder, bf16_encoder) -> None:
    testset = load_testset(REPO_ROOT / "testsets/welfare")
    assert isinstance(testset, RankingSet)
    entries = [FaqEntry(id=e.id, question=e.text) for e in testset.corpus[:ENTRIES]]
    kept = {e.id for e in entries}
    queries = [q for q in testset.queries if set(testset.qrels[q.id]) <= kept][:QUERIES]
    assert len(queries) == QUERIES
    qrels = {q.id: testset.qrels[q.id] for q in queries}
    pooling = Settings.model_fields["pooling"].default
    indexes = {
        name: index_from_entries(entries, encoder, pooling, IndexParams())[0]
        for name, encoder in (("fp32", real_encoder), ("bf16", bf16_encoder))
    }
    assert indexes["fp32"].manifest["model"]["precision"] == "fp32"
    assert indexes["bf16"].manifest["model"]["precision"] == "bf16"

    def mrr(index_precision: str, encoder) -> np.ndarray:
        hits = Searcher(encoder, indexes[index_precision]).search(
            [q.text for q in queries], top_k=10, mode="dense"
        )
        run = {q.id: [h.id for h in found] for q, found in zip(queries, hits, strict=True)}
        return ranking_metrics(run, qrels)["mrr@10"]

    bf16_queries = EncodeOnce(bf16_encoder)
    fp32, bf16, mixed = mrr("fp32", real_encoder), mrr("bf16", bf16_queries), mrr("fp32", bf16_queries)
    assert len(bf16_queries._done) == 1  # the same statistics in both indexes: one bf16 encoding
    assert abs(mixed.mean() - bf16.mean()) <= 0.003, (fp32.mean(), bf16.mean(), mixed.mean())
    assert abs(mixed.mean() - fp32.mean()) <= 0.003, (fp32.mean(), bf16.mean(), mixed.mean())
    # Rounding moves a handful of queries, not the ranking as a whole.
    assert np.mean(mixed == fp32) >= 0.97
