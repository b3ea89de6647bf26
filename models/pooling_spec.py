"""The pooling grammar: variant names, parsing and the parsed spec. Torch-free, so settings, the
CLI and the evaluation's variants validate a pooling name without loading torch; the pooling
functions themselves are in `models.pooling`.

A pooling variant is named `METHOD` or `METHOD@LAYERS`:
    METHOD  cls | mean | max | bm25 | mean_with_padding
    LAYERS  -1 (last layer, the default), -2, -3, ... (one layer counted from the end),
            last2, last3, last4, ... (the average of the last N layers)
e.g. `mean`, `bm25`, `mean@-2`, `mean@last4`. Whether the layers exist is checked when the model
is known (`models.encoder.Encoder.encode_many`, `models.pooling.combine_layers`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from models.errors import PoolingError

POOLING_METHODS = ("cls", "mean", "max", "bm25", "mean_with_padding")
# The variants the evaluation scores by default; any name the grammar above accepts is valid.
NAMED_VARIANTS = ("cls", "mean", "max", "mean_with_padding", "bm25", "mean@-2", "mean@last4", "bm25@last4")
# `mean_with_padding` pads every sentence to at least this many tokens and averages the padding in:
# a fixed length keeps the vector independent of its batch. 37 does as much damage on welfare as
# the reference script's file-order batches of 64 padded to their longest (MRR@10 0.654; see
# eval/README.md), so the variant shows what excluding padding is worth.
PADDED_LENGTH = 37

_NAME_RE = re.compile(r"(?P<method>[a-z0-9_]+)(?:@(?:(?P<single>-\d+)|last(?P<last>\d+)))?")


@dataclass(frozen=True)
class PoolingSpec:
    """A parsed pooling variant: which method, over which layers (negative indices, -1 = last)."""

    name: str
    method: str
    layers: tuple[int, ...]

    @property
    def needs_bm25(self) -> bool:
        return self.method == "bm25"

    @property
    def needs_all_layers(self) -> bool:
        return self.layers != (-1,)

    @property
    def pad_to(self) -> int:
        """Tokens the encoder must pad every sentence to for this pooling (0: no padding needed)."""
        return PADDED_LENGTH if self.method == "mean_with_padding" else 0


def _invalid(name: str, why: str) -> PoolingError:
    return PoolingError(
        f"unknown pooling {name!r} ({why}); valid: METHOD or METHOD@LAYERS with METHOD one of "
        f"{', '.join(POOLING_METHODS)} and LAYERS -1, -2, ... or last2, last3, ...; "
        f"e.g. {', '.join(NAMED_VARIANTS)}"
    )


def parse_pooling(name: str) -> PoolingSpec:
    """Parse and validate a pooling variant name; the error lists what is valid."""
    if not isinstance(name, str):
        raise _invalid(str(name), "not a string")
    match = _NAME_RE.fullmatch(name.strip().lower())
    if match is None:
        raise _invalid(name, "bad syntax")
    method = match["method"]
    if method not in POOLING_METHODS:
        raise _invalid(name, f"no method {method!r}")
    if match["single"] is not None:
        index = int(match["single"])
        if index >= 0:
            raise _invalid(name, "layers count from the end: -1 is the last")
        layers: tuple[int, ...] = (index,)
    elif match["last"] is not None:
        count = int(match["last"])
        if count < 1:
            raise _invalid(name, "last0 averages no layer")
        layers = tuple(range(-count, 0))
    else:
        layers = (-1,)
    if layers == (-1,):
        canonical = method
    elif len(layers) == 1:
        canonical = f"{method}@{layers[0]}"
    else:
        canonical = f"{method}@last{len(layers)}"
    return PoolingSpec(name=canonical, method=method, layers=layers)
