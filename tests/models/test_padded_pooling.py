"""`mean_with_padding`: the one pooling that averages padding in, on purpose, batch-independently."""

import pytest
import torch

from models.pooling import padded_mean_pool, pool
from models.pooling_spec import PADDED_LENGTH, parse_pooling

# B = 2 sentences, T = 4 positions, H = 1: row 0 has 1 real token, row 1 has 3.
TOKENS = torch.tensor([[[2.0], [4.0], [6.0], [100.0]], [[1.0], [2.0], [3.0], [100.0]]])
MASK = torch.tensor([[1, 0, 0, 0], [1, 1, 1, 0]])


def test_mean_over_the_first_max_of_real_tokens_and_the_padded_length():
    # length 3: row 0 averages positions 0..2 (2, 4, 6) = 4; row 1 is longer than 3: its 3 real tokens = 2
    assert torch.equal(padded_mean_pool(TOKENS, MASK, 3), torch.tensor([[4.0], [2.0]]))
    # length 0: the plain mean over real tokens
    assert torch.equal(padded_mean_pool(TOKENS, MASK, 0), torch.tensor([[2.0], [2.0]]))


def test_a_batch_shorter_than_the_padded_length_is_an_error():
    with pytest.raises(ValueError, match="padded to at least 5 tokens"):
        padded_mean_pool(TOKENS, MASK, 5)


def test_only_mean_with_padding_asks_the_encoder_to_pad():
    assert parse_pooling("mean_with_padding").pad_to == PADDED_LENGTH
    assert parse_pooling("mean_with_padding@last4").pad_to == PADDED_LENGTH
    assert {parse_pooling(n).pad_to for n in ("cls", "mean", "max", "bm25", "mean@-2")} == {0}


def test_pool_dispatches_to_the_padded_mean():
    tokens = torch.arange(PADDED_LENGTH + 3, dtype=torch.float32).reshape(1, -1, 1)  # [1, T, 1]
    mask = torch.zeros(1, PADDED_LENGTH + 3, dtype=torch.long)
    mask[0, :2] = 1
    expected = tokens[0, :PADDED_LENGTH].mean()  # positions 0 .. PADDED_LENGTH - 1
    assert pool(parse_pooling("mean_with_padding"), (tokens,), mask).item() == pytest.approx(expected.item())
