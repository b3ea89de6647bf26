"""Pooled sentence vectors for the evaluation: every pooling from one forward pass per sentence.

Texts missing from the cache are encoded with `Encoder.encode_variants`, which runs the model once
(all layers when a pooling needs them) and pools every requested variant from the same token
vectors: the very code that serves vectors, so these are the served vectors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from eval.cache import VectorCache, bm25_fingerprint, namespace
from models.bm25 import Bm25Stats

if TYPE_CHECKING:
    from models.encoder import Encoder, Role

ENCODE_CHUNK = 512  # sentences per encode call (and progress step, and cache write)
Progress = Callable[[int, int], None]  # (sentences encoded so far, sentences to encode)
TextVectors = dict[str, np.ndarray]  # normalised text -> [H] float32, L2-normalised


def _precision_key(precision: str, device_type: str) -> str:
    if precision == "fp32":
        return precision
    from models.cpu_features import cpu_features
    from models.cpu_precision import IMPLEMENTATION

    if device_type != "cpu":
        return f"{precision}:{device_type}"
    # int8 activations are 8-bit with VNNI/AMX, 7-bit without (cpu_precision.FullRangeInt8Linear)
    bits = (":8bit" if cpu_features().int8 else ":7bit") if precision == "int8" else ""
    return f"{precision}:cpu:{IMPLEMENTATION.get(precision, '')}{bits}"


def cache_namespace(encoder: Encoder, pooling: str, bm25: Bm25Stats | None, role: Role = "query") -> str:
    """The cache key of vectors pooled with `pooling` behind the prefix of `role`: the prefix itself
    is in the key, so an entry and a query behind the same prefix share their vectors."""
    from models.identity import EncoderIdentity
    from models.pooling_spec import parse_pooling

    spec = parse_pooling(pooling)
    identity = EncoderIdentity.of(encoder)
    return namespace(
        model_sha256=identity.sha256,
        prefix=encoder.prefix_of(role),  # the role's prefix only: the other one changes no vector here
        max_length=identity.max_length,
        pooling=spec.name,
        bm25_sha256=bm25_fingerprint(bm25) if spec.needs_bm25 and bm25 is not None else None,
        precision=_precision_key(
            identity.precision, getattr(getattr(encoder, "device", None), "type", "cpu")
        ),
    )


def pooled_vectors(
    encoder: Encoder,
    texts: Sequence[str],
    poolings: Sequence[str],
    *,
    bm25: Bm25Stats | None = None,
    cache: VectorCache | None = None,
    progress: Progress | None = None,
    role: Role = "query",
) -> dict[str, TextVectors]:
    """{pooling: {text: vector}} for every (normalised) text and pooling, behind the prefix of
    `role`, from the cache where it has them; the rest is encoded once, every missing pooling from
    the same forward pass."""
    unique = list(dict.fromkeys(texts))
    spaces = {p: cache_namespace(encoder, p, bm25, role) for p in poolings}
    found: dict[str, TextVectors] = {
        p: (cache.get_many(spaces[p], unique, encoder.dim) if cache is not None else {}) for p in poolings
    }
    to_pool = [p for p in poolings if len(found[p]) < len(unique)]
    missing = [t for t in unique if any(t not in found[p] for p in to_pool)]
    # Length-sorted chunks pad little (the encoder sorts again within each chunk).
    missing.sort(key=len)
    if progress is not None:
        progress(0, len(missing))
    for start in range(0, len(missing), ENCODE_CHUNK):
        chunk = missing[start : start + ENCODE_CHUNK]
        encoded = encoder.encode_variants(chunk, to_pool, bm25=bm25, role=role)
        for pooling in to_pool:
            vectors = encoded[pooling].vectors  # [len(chunk), H]
            found[pooling].update(zip(chunk, vectors, strict=True))
            if cache is not None:
                cache.put_many(spaces[pooling], zip(chunk, vectors, strict=True))
        if progress is not None:
            progress(start + len(chunk), len(missing))
    return found
