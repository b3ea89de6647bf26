"""A padding-free forward pass for `transformers` BertModel encoders (inference only).

A padded batch spends the same work on padding as on real tokens in every per-token operation:
the linear layers (about 80% of a BERT forward on CPU), GELU, the residual adds and LayerNorm.
Here the real tokens of a batch are packed into one [N, H] matrix (N = real tokens), so those
operations touch real tokens only. Attention is the one step that needs to see each sentence on
its own: the packed Q/K/V are scattered into a [B, heads, T, d] layout (zero at padding) for
`scaled_dot_product_attention` with a key-padding mask, and the result is gathered back.

Scattering and gathering cost about 4% of a forward pass, so a batch whose padding is below
MIN_PADDING_TO_PACK (length-sorted batches mostly are) runs the same code on its padded rows
instead, as the model itself would. (Fusing the Q/K/V projections into one matrix product was
tried and dropped: one [3H, H] product is no faster than three [H, H] ones on CPU.)

Same weights, same operations, same order of operations per token: the vectors agree with the
`transformers` forward to float32 rounding (tests/models/test_packed.py checks 1e-5). Hidden states
at padding positions are unspecified (zero when packed), as in the model's own output: every
pooling masks them out; a caller that wants the model's values there must use its own forward.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

# Pack a batch when at least this fraction of its padded [B, T] tokens is padding. Measured on CPU
# (docs/benchmarks.md): the scatter/gather costs about 4% of a forward pass; packing pays once it saves more.
MIN_PADDING_TO_PACK = 0.10


def supports_packing(model: torch.nn.Module) -> bool:
    """True for a plain BERT encoder that `PackedBert` reproduces exactly; anything else (RoBERTa's
    offset position ids, relative positions, decoders, cross-attention) keeps the model's own forward."""
    config = getattr(model, "config", None)
    if type(model).__name__ != "BertModel" or config is None:
        return False
    return (
        getattr(config, "position_embedding_type", "absolute") == "absolute"
        and not getattr(config, "is_decoder", False)
        and not getattr(config, "add_cross_attention", False)
        and not getattr(config, "chunk_size_feed_forward", 0)
        and hasattr(model, "embeddings")
        and hasattr(model, "encoder")
    )


@dataclass(frozen=True)
class _Layout:
    """Where the rows of the [R, C] token matrices sit in the padded [B, T] batch."""

    batch: int
    longest: int
    slot: torch.Tensor | None  # [R] row -> position in the flattened [B*T] batch; None: R = B*T, in order
    pad_slot: torch.Tensor | None  # [B*T - R] the padding positions, when packed
    key_mask: torch.Tensor | None  # [B, 1, 1, T] bool, True = a real key; None: no padding at all

    def unpack(self, rows: torch.Tensor) -> torch.Tensor:
        """[R, C] -> [B, T, C]; padding positions are zero when packed."""
        if self.slot is None:
            return rows.view(self.batch, self.longest, -1)
        padded = rows.new_empty(self.batch * self.longest, rows.shape[1])
        padded.index_copy_(0, self.slot, rows)
        if self.pad_slot is not None:
            # Zero, not uninitialised memory: a NaN there would survive its zero attention weight.
            padded.index_fill_(0, self.pad_slot, 0)
        return padded.view(self.batch, self.longest, -1)

    def pack(self, padded: torch.Tensor) -> torch.Tensor:
        """[B*T, C] -> [R, C]"""
        return padded if self.slot is None else padded.index_select(0, self.slot)


class PackedBert:
    """Runs a loaded BertModel's own modules on packed sentences; holds no weights of its own."""

    def __init__(self, model: torch.nn.Module, pad_id: int = 0) -> None:
        if not supports_packing(model):
            raise ValueError(f"{type(model).__name__} is not a plain BERT encoder; use its own forward")
        self.model: Any = model  # a transformers BertModel: its submodules are reached by name
        self.pad_id = pad_id
        config: Any = model.config
        self.heads = int(config.num_attention_heads)
        self.hidden = int(config.hidden_size)
        self.head_dim = self.hidden // self.heads

    @torch.inference_mode()
    def __call__(
        self,
        input_ids: Sequence[Sequence[int]],
        device: torch.device,
        *,
        all_layers: bool = False,
        pack: bool | None = None,
    ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """Token ids of B sentences (no padding) -> (L x [B, T, H] hidden states, mask [B, T] int64),
        T = the longest sentence, L = 1 (last layer) unless all_layers. pack: None = when the batch's
        padding reaches MIN_PADDING_TO_PACK."""
        lengths = torch.tensor([len(ids) for ids in input_ids])  # [B]
        batch, longest = len(input_ids), int(lengths.max())
        mask = torch.arange(longest).unsqueeze(0) < lengths.unsqueeze(1)  # [B, T] bool
        padding = 1 - int(lengths.sum()) / (batch * longest)
        if pack is None:
            pack = padding >= MIN_PADDING_TO_PACK
        flat = mask.flatten()  # [B*T], row-major: real tokens in the order of `input_ids`
        token_ids = torch.tensor([t for ids in input_ids for t in ids], dtype=torch.long)  # [N]
        key_mask = mask.to(device)[:, None, None, :] if padding > 0 else None  # [B, 1, 1, T]
        if pack and padding > 0:
            positions = torch.cat([torch.arange(int(n)) for n in lengths])  # [N]
            slot, pad_slot = flat.nonzero().squeeze(1), (~flat).nonzero().squeeze(1)
            layout = _Layout(batch, longest, slot.to(device), pad_slot.to(device), key_mask)
        else:  # the padded rows, as the model itself runs them
            token_ids = torch.full((batch * longest,), self.pad_id, dtype=torch.long).masked_scatter_(
                flat, token_ids
            )  # [B*T]
            positions = torch.arange(longest).repeat(batch)  # [B*T]
            layout = _Layout(batch, longest, None, None, key_mask)

        emb = self.model.embeddings
        x = emb.word_embeddings(token_ids.to(device))  # [R, H]
        x = x + emb.token_type_embeddings.weight[0]  # token type 0 everywhere, as the model's default
        x = x + emb.position_embeddings(positions.to(device))
        x = emb.LayerNorm(x)
        states = [x]
        for layer in self.model.encoder.layer:
            x = self._layer(layer, x, layout)
            states.append(x)
        kept = states if all_layers else states[-1:]
        return tuple(layout.unpack(s) for s in kept), mask.long().to(device)

    def _layer(self, layer, x: torch.Tensor, layout: _Layout) -> torch.Tensor:
        """One BERT layer on token rows x [R, H] -> [R, H]."""
        batch, longest = layout.batch, layout.longest
        attention = layer.attention.self
        q, k, v = (
            layout.unpack(proj(x)).view(batch, longest, self.heads, -1).transpose(1, 2)  # [B, heads, T, d]
            for proj in (attention.query, attention.key, attention.value)
        )
        attended = F.scaled_dot_product_attention(
            q, k, v, attn_mask=layout.key_mask, scale=self.head_dim**-0.5
        )  # [B, heads, T, d]
        attended = layout.pack(attended.transpose(1, 2).reshape(batch * longest, self.hidden))  # [R, H]
        out = layer.attention.output
        x = out.LayerNorm(out.dense(attended) + x)  # [R, H]
        hidden = layer.intermediate.intermediate_act_fn(layer.intermediate.dense(x))  # [R, I]
        return layer.output.LayerNorm(layer.output.dense(hidden) + x)  # [R, H]
