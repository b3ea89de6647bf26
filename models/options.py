"""Every option with a fixed list of values, defined once: a `Literal` type and the tuple of its
values (`typing.get_args`), with the library defaults that the settings defaults are.

Torch-free and dependency-free, so that `faqsearch.settings`, `app.schemas`, `eval` and the
library modules all take their lists (and their error messages' "valid: ...") from here.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

# Devices the encoder runs on: 'auto' (CUDA if present, else CPU), 'cpu', 'cuda' or 'cuda:N'.
DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N")
_DEVICE_RE = re.compile(r"auto|cpu|cuda(?::\d+)?")


def check_device(spec: str) -> str:
    """The device name, stripped and lower-cased, if it is one of `DEVICE_CHOICES` (whether it
    exists on this machine is `models.device.resolve_device`'s to say)."""
    from models.errors import InvalidValueError

    text = spec.strip().lower()
    if not _DEVICE_RE.fullmatch(text):
        raise InvalidValueError(f"unknown device {spec!r}; valid: {', '.join(DEVICE_CHOICES)}")
    return text


# Search modes: dense vectors, lexical BM25, or both fused (`indexing.searcher`).
SearchMode = Literal["dense", "bm25", "hybrid"]
SEARCH_MODES: tuple[SearchMode, ...] = get_args(SearchMode)
DEFAULT_SEARCH_MODE: SearchMode = "hybrid"  # by the default rule of eval/README.md

# How hybrid search fuses its two modes' hits: reciprocal rank fusion or a convex combination.
Fusion = Literal["rrf", "convex"]
FUSIONS: tuple[Fusion, ...] = get_args(Fusion)
DEFAULT_FUSION: Fusion = "convex"  # chosen by evaluation (eval/README.md)
DEFAULT_RRF_K = 60
DEFAULT_HYBRID_WEIGHT = 0.8  # weight of the dense side in convex fusion; chosen in eval/README.md

# FAISS index types (`indexing.vector_index`).
IndexType = Literal["flat", "hnsw", "ivf"]
INDEX_TYPES: tuple[IndexType, ...] = get_args(IndexType)

# Encoder precisions (`models.device`); 'auto' picks one by device and CPU.
Precision = Literal["auto", "fp32", "bf16", "int8", "fp16"]
PRECISION_CHOICES: tuple[Precision, ...] = get_args(Precision)

# What a text is to the model: a query (searches, /v1/embed by default) or an entry (the indexed
# text of a FAQ, /v1/rank candidates). Asymmetric models want another prefix before each.
Role = Literal["query", "entry"]
ROLES: tuple[Role, ...] = get_args(Role)
