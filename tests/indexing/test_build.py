"""encode_entries: vectors come back in input order whatever the length sort, and progress starts
at 0 before the first chunk (a progress bar's clock starts with the encoding)."""

from __future__ import annotations

import numpy as np

from indexing.build import ENCODE_CHUNK, encode_entries
from models.embedder import Embedder
from models.encoder import Encoded


class LengthEncoder:
    """A stand-in encoder (this test is about order and progress): a sentence's vector is
    [its length, its first code point]; it records the sizes of the calls it gets."""

    dim = 2

    def __init__(self) -> None:
        self.calls: list[int] = []

    def encode(self, sentences, pooling, *, bm25=None, role="query"):
        assert role == "entry"  # entries go behind the entry prefix
        self.calls.append(len(sentences))
        vectors = np.array([[len(s), ord(s[0])] for s in sentences], dtype=np.float32)
        return Encoded(vectors, np.zeros(len(sentences), dtype=bool))


def test_vectors_come_back_in_input_order_and_progress_starts_at_zero():
    # 1,100 questions of lengths 1..1,100 in a shuffled order, each starting with its own syllable.
    rng = np.random.default_rng(0)
    lengths = rng.permutation(np.arange(1, 1101))
    questions = [chr(0xAC00 + i) + "가" * (int(n) - 1) for i, n in enumerate(lengths)]
    encoder = LengthEncoder()
    seen: list[tuple[int, int]] = []

    embedder = Embedder.bind(encoder, "mean")
    vectors = encode_entries(embedder, questions, lambda done, total: seen.append((done, total)))

    expected = np.array([[len(q), ord(q[0])] for q in questions], dtype=np.float32)
    np.testing.assert_array_equal(vectors, expected)
    assert seen == [(0, 1100), (ENCODE_CHUNK, 1100), (2 * ENCODE_CHUNK, 1100), (1100, 1100)]
    assert encoder.calls == [ENCODE_CHUNK, ENCODE_CHUNK, 1100 - 2 * ENCODE_CHUNK]
