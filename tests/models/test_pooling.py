"""Pooling functions against hand-computed values on tiny padded tensors."""

import pytest
import torch

from models.pooling import cls_pool, combine_layers, max_pool, mean_pool, pool, weighted_mean_pool
from models.pooling_spec import NAMED_VARIANTS, parse_pooling

# B = 2 sentences, T = 3 tokens, H = 2. Sentence 1 has one padding token whose values are huge,
# so any leak of padding into a result would show.
TOKENS = torch.tensor(
    [
        [[1.0, 2.0], [3.0, -4.0], [5.0, 0.0]],
        [[-1.0, 6.0], [2.0, 2.0], [100.0, 100.0]],
    ]
)
MASK = torch.tensor([[1, 1, 1], [1, 1, 0]])


def test_cls_takes_the_first_token():
    assert torch.equal(cls_pool(TOKENS, MASK), torch.tensor([[1.0, 2.0], [-1.0, 6.0]]))


def test_mean_excludes_padding():
    # row 0: ((1+3+5)/3, (2-4+0)/3) = (3, -2/3); row 1: ((-1+2)/2, (6+2)/2) = (0.5, 4)
    expected = torch.tensor([[3.0, -2.0 / 3.0], [0.5, 4.0]])
    assert torch.allclose(mean_pool(TOKENS, MASK), expected, atol=1e-7)


def test_max_excludes_padding():
    # row 1 without the padding row: max(-1, 2) = 2, max(6, 2) = 6 (not 100)
    assert torch.equal(max_pool(TOKENS, MASK), torch.tensor([[5.0, 2.0], [2.0, 6.0]]))


def test_max_of_all_negative_values_is_not_clipped_by_padding():
    tokens = torch.tensor([[[-3.0], [-2.0], [0.0]]])
    assert torch.equal(max_pool(tokens, torch.tensor([[1, 1, 0]])), torch.tensor([[-2.0]]))


def test_weighted_mean_uses_weights_and_ignores_padding_weight():
    weights = torch.tensor([[0.0, 1.0, 3.0], [2.0, 1.0, 50.0]])  # 50 on padding must not count
    # row 0: (1*[3,-4] + 3*[5,0]) / 4 = [18/4, -4/4] = [4.5, -1]
    # row 1: (2*[-1,6] + 1*[2,2]) / 3 = [0, 14/3]
    expected = torch.tensor([[4.5, -1.0], [0.0, 14.0 / 3.0]])
    assert torch.allclose(weighted_mean_pool(TOKENS, MASK, weights), expected, atol=1e-6)


def test_all_zero_weights_fall_back_to_the_plain_mean():
    weights = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 9.0]])  # row 0: all zero; row 1: only [-1, 6]
    expected = torch.tensor([[3.0, -2.0 / 3.0], [-1.0, 6.0]])
    assert torch.allclose(weighted_mean_pool(TOKENS, MASK, weights), expected, atol=1e-6)


def test_pooling_never_writes_to_its_inputs():
    tokens, mask, weights = TOKENS.clone(), MASK.clone(), torch.ones(2, 3)
    for method in ("cls", "mean", "max", "bm25"):
        pool(parse_pooling(method), (tokens,), mask, weights)
    assert torch.equal(tokens, TOKENS)
    assert torch.equal(mask, MASK)
    assert torch.equal(weights, torch.ones(2, 3))


def test_layer_choice_and_average_of_layers():
    layers = tuple(torch.full((1, 1, 1), float(i)) for i in range(5))  # embeddings + 4 layers: 0..4
    assert combine_layers(layers, parse_pooling("mean").layers).item() == 4.0
    assert combine_layers(layers, parse_pooling("mean@-2").layers).item() == 3.0
    assert combine_layers(layers, parse_pooling("mean@last4").layers).item() == (1 + 2 + 3 + 4) / 4


def test_a_layer_beyond_the_model_depth_is_an_error():
    layers = tuple(torch.zeros(1, 1, 1) for _ in range(3))
    with pytest.raises(ValueError, match="only 3 hidden-state layers"):
        combine_layers(layers, (-4,))


@pytest.mark.parametrize(
    ("name", "method", "layers", "canonical"),
    [
        ("mean", "mean", (-1,), "mean"),
        ("MEAN@-1", "mean", (-1,), "mean"),
        ("cls@-2", "cls", (-2,), "cls@-2"),
        ("bm25@last4", "bm25", (-4, -3, -2, -1), "bm25@last4"),
        ("max@last1", "max", (-1,), "max"),
    ],
)
def test_parse_pooling_names(name, method, layers, canonical):
    spec = parse_pooling(name)
    assert (spec.method, spec.layers, spec.name) == (method, layers, canonical)


@pytest.mark.parametrize("name", ["avg", "mean@2", "mean@last0", "mean@", "", "bm25@first4"])
def test_unknown_pooling_lists_the_valid_ones(name):
    with pytest.raises(ValueError) as info:
        parse_pooling(name)
    message = str(info.value)
    assert "cls, mean, max, bm25" in message
    assert ", ".join(NAMED_VARIANTS) in message
