"""Comparing results of two forward passes.

The encoder's thread count is decided per forward pass (models/threads.py, `auto`), and a matrix
product summed by 2 threads rounds differently from one summed by 1: two passes over the same
tokens agree to ~1e-7, not bit for bit. These helpers assert what is really guaranteed: the same
tokens, the same ids in the same order, and scores/vectors equal to float32 rounding."""

from __future__ import annotations

import numpy as np

FLOAT32_ROUNDING = 1e-6


def assert_same_vectors(got: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_allclose(got, expected, rtol=0, atol=FLOAT32_ROUNDING)


def assert_same_hits(got: list, expected: list) -> None:
    """Per query: the same ids in the same order, scores equal to float32 rounding."""
    assert [[h.id for h in hits] for hits in got] == [[h.id for h in hits] for hits in expected]
    for got_hits, expected_hits in zip(got, expected, strict=True):
        np.testing.assert_allclose(
            [h.score for h in got_hits], [h.score for h in expected_hits], rtol=0, atol=FLOAT32_ROUNDING
        )
