"""Pooling: token vectors -> one sentence vector. Pure functions of (token vectors, mask, weights).

Every function here excludes padding through `mask` (1 = real token, 0 = padding), never writes to
its inputs, and works in the dtype it is given (the encoder passes float32).

Shapes: B = sentences, T = tokens (padded to the longest in the batch), H = hidden size,
L = number of hidden-state layers (embeddings + each transformer layer).

Which pooling runs is a `PoolingSpec` of the grammar in `models.pooling_spec` (torch-free).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from models.errors import PoolingError
from models.pooling_spec import PoolingSpec


def combine_layers(hidden_states: Sequence[torch.Tensor], layers: tuple[int, ...]) -> torch.Tensor:
    """Average the chosen layers. hidden_states: L x [B, T, H] (index 0 = embeddings) -> [B, T, H].

    Callers that only need the last layer may pass just that one: L = 1.
    """
    if any(-index > len(hidden_states) for index in layers):
        raise PoolingError(
            f"layers {list(layers)} asked for, but only {len(hidden_states)} hidden-state layers are "
            "available (embeddings + transformer layers); choose a layer within the model's depth"
        )
    if len(layers) == 1:
        return hidden_states[layers[0]]
    return torch.stack([hidden_states[index] for index in layers]).mean(dim=0)


def cls_pool(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """First token ([CLS] / <s>). tokens [B, T, H], mask [B, T] -> [B, H]. Padding is on the right."""
    del mask  # position 0 is always a real token
    return tokens[:, 0]


def mean_pool(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over real tokens. tokens [B, T, H], mask [B, T] -> [B, H]."""
    m = mask.to(tokens.dtype).unsqueeze(-1)  # [B, T, 1]
    return (tokens * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)


def max_pool(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Element-wise max over real tokens. tokens [B, T, H], mask [B, T] -> [B, H]."""
    real = mask.bool().unsqueeze(-1)  # [B, T, 1]
    return torch.where(real, tokens, torch.finfo(tokens.dtype).min).amax(dim=1)


def padded_mean_pool(tokens: torch.Tensor, mask: torch.Tensor, length: int) -> torch.Tensor:
    """Mean over the first max(n, length) positions, n = the sentence's real tokens: padding included
    on purpose. tokens [B, T, H] with T >= max(n, length), mask [B, T] -> [B, H].

    The hidden states at padding positions must be the model's own (a padded forward with the
    attention mask applied): each depends only on its position and the sentence, not on the batch.
    """
    real = mask.sum(dim=1, keepdim=True)  # [B, 1]
    upto = real.clamp(min=length)  # [B, 1]
    if int(upto.max()) > tokens.shape[1]:
        raise ValueError(f"padded mean pooling needs the batch padded to at least {length} tokens")
    positions = torch.arange(tokens.shape[1], device=tokens.device).unsqueeze(0) < upto  # [B, T]
    return mean_pool(tokens, positions)


def weighted_mean_pool(tokens: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted mean over real tokens. tokens [B, T, H], mask [B, T], weights [B, T] -> [B, H].

    A sentence whose real tokens all weigh 0 (no known morpheme, say) falls back to the plain mean,
    so it still gets a meaningful vector rather than zeros.
    """
    w = weights.to(tokens.dtype) * mask.to(tokens.dtype)  # [B, T]; padding weighs 0 whatever it was given
    total = w.sum(dim=1, keepdim=True)  # [B, 1]
    weighted = (tokens * w.unsqueeze(-1)).sum(dim=1) / total.clamp(min=torch.finfo(tokens.dtype).tiny)
    return torch.where(total > 0, weighted, mean_pool(tokens, mask))


def pool(
    spec: PoolingSpec,
    hidden_states: Sequence[torch.Tensor],
    mask: torch.Tensor,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Pool L x [B, T, H] hidden states with `spec` -> [B, H] (not normalised)."""
    tokens = combine_layers(hidden_states, spec.layers)
    if spec.method == "cls":
        return cls_pool(tokens, mask)
    if spec.method == "mean":
        return mean_pool(tokens, mask)
    if spec.method == "max":
        return max_pool(tokens, mask)
    if spec.method == "mean_with_padding":
        return padded_mean_pool(tokens, mask, spec.pad_to)
    if weights is None:
        raise ValueError(f"pooling {spec.name!r} needs token weights (fitted BM25 statistics)")
    return weighted_mean_pool(tokens, mask, weights)
