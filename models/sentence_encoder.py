"""What indexing, search and the evaluation need of a sentence encoder, as a `typing.Protocol`.

`models.encoder.Encoder` (the real model), the service's `_EncoderOnThread` (a rebuild's batches in
the encoder thread) and the evaluation's `PrecomputedEncoder` (vectors pooled already) all satisfy
it, so none of them is cast to `Encoder`. Torch-free: `Encoded` lives here, so a stand-in encoder
imports no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from models.bm25 import Bm25Stats
    from models.options import Role
    from models.pooling_spec import PoolingSpec


@dataclass
class Encoded:
    """Sentence vectors in input order."""

    vectors: np.ndarray  # [N, H] float32, each row L2-normalised
    truncated: np.ndarray  # [N] bool: the sentence was longer than max_length tokens and was cut


class SentenceEncoder(Protocol):
    """The identity fields (`models.identity.EncoderIdentity.of` reads them) and `encode`.
    Read-only properties, so a plain attribute, a property or a cached property all satisfy them."""

    @property
    def name(self) -> str: ...  # the model's hub id or folder

    @property
    def fingerprint(self) -> str: ...  # sha256 of its weight files

    @property
    def prefix(self) -> str: ...  # before queries

    @property
    def entry_prefix(self) -> str: ...  # before indexed entries

    @property
    def max_length(self) -> int: ...  # tokens a sentence is cut at

    @property
    def dim(self) -> int: ...  # H, the vectors' width

    @property
    def precision(self) -> str: ...  # what the products run in (informational: not checked)

    def encode(
        self,
        texts: Sequence[str],
        pooling: str | PoolingSpec = "mean",
        *,
        bm25: Bm25Stats | None = None,
        role: Role = "query",
    ) -> Encoded:
        """L2-normalised float32 vectors [N, H] in input order, behind the prefix of `role`."""
        ...
