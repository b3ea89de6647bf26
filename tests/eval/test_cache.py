"""The vector cache: bit-identical round trips, and a miss whenever anything a vector depends on changes."""

import numpy as np

from eval.cache import VectorCache, bm25_fingerprint, namespace
from models.bm25 import Bm25Stats

KEY = {
    "model_sha256": "ab" * 32,
    "prefix": "query: ",
    "max_length": 512,
    "pooling": "mean",
    "bm25_sha256": None,
}


def test_vectors_come_back_bit_identical_and_only_in_their_namespace(tmp_path):
    rng = np.random.default_rng(0)
    vectors = {
        "비밀번호를 잊어버렸어요": rng.random(4, dtype=np.float32),
        "배송": rng.random(4, dtype=np.float32),
    }
    space = namespace(**KEY)
    with VectorCache(tmp_path / "cache") as cache:
        assert cache.get_many(space, list(vectors), 4) == {}
        cache.put_many(space, vectors.items())
    with VectorCache(tmp_path / "cache") as cache:  # persisted
        found = cache.get_many(space, [*vectors, "없는 문장"], 4)
        assert found.keys() == vectors.keys()
        for text, vector in vectors.items():
            assert found[text].dtype == np.float32
            assert found[text].tobytes() == vector.tobytes()
        assert cache.get_many(namespace(**{**KEY, "pooling": "max"}), list(vectors), 4) == {}
        assert cache.get_many(space, list(vectors), 8) == {}  # another size is not ours: a miss


def test_many_texts_are_looked_up_in_chunks(tmp_path):
    texts = [f"문장 {i}" for i in range(1234)]
    with VectorCache(tmp_path) as cache:
        cache.put_many("space", ((t, np.full(2, i, dtype=np.float32)) for i, t in enumerate(texts)))
        found = cache.get_many("space", texts, 2)
    assert [found[t][0] for t in texts] == list(range(1234))


def test_every_part_of_the_key_changes_the_namespace():
    spaces = {namespace(**KEY)}
    for field, value in [
        ("model_sha256", "cd" * 32),
        ("prefix", ""),
        ("max_length", 128),
        ("pooling", "mean@last4"),
        ("bm25_sha256", "ef" * 32),
    ]:
        spaces.add(namespace(**{**KEY, field: value}))
    assert len(spaces) == 6


def test_bm25_fingerprint_follows_the_statistics():
    a = Bm25Stats.fit([["가/N", "나/N"], ["나/N"]])
    again = Bm25Stats.fit([["가/N", "나/N"], ["나/N"]])
    other = Bm25Stats.fit([["가/N", "나/N"], ["다/N"]])
    assert bm25_fingerprint(a) == bm25_fingerprint(again)
    assert bm25_fingerprint(a) != bm25_fingerprint(other)
    # the function-word weight moves BM25-pooled vectors: another factor, another cache key
    scaled = Bm25Stats.fit([["가/N", "나/N"], ["나/N"]], function_weight=0.25)
    assert bm25_fingerprint(a) != bm25_fingerprint(scaled)
