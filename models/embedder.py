"""An encoder bound to one pooling and the BM25 statistics that pooling reads.

An index's vectors were pooled one way, with the statistics fitted on its corpus; every text
embedded to meet them (a query, a new entry) must be pooled the same way with the same statistics.
Binding the three once per index keeps call sites from pairing a pooling with the wrong statistics
(or none). Torch-free: the encoder does the forward pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from models.pooling_spec import PoolingSpec, parse_pooling
from models.sentence_encoder import Encoded, SentenceEncoder

if TYPE_CHECKING:
    from models.bm25 import Bm25Stats
    from models.options import Role


@dataclass(frozen=True)
class Embedder:
    encoder: SentenceEncoder
    pooling: PoolingSpec
    bm25: Bm25Stats | None = None  # kept only when `pooling` reads it (bm25 pooling)

    @classmethod
    def bind(
        cls, encoder: SentenceEncoder, pooling: str | PoolingSpec, bm25: Bm25Stats | None = None
    ) -> Embedder:
        """`pooling` parsed (a bad name raises PoolingError); `bm25` dropped if the pooling does
        not read it (the encoder would ignore it)."""
        spec = pooling if isinstance(pooling, PoolingSpec) else parse_pooling(pooling)
        return cls(encoder, spec, bm25 if spec.needs_bm25 else None)

    @property
    def dim(self) -> int:
        return self.encoder.dim

    def encode(self, texts: Sequence[str], role: Role = "query") -> Encoded:
        """[N, H] vectors in input order behind the prefix of `role`; a bm25 pooling bound without
        statistics is refused by the encoder (PoolingError)."""
        return self.encoder.encode(texts, self.pooling, bm25=self.bm25, role=role)
