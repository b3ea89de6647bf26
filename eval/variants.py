"""The evaluation variants: one grammar for every way the product can rank or compare sentences.

    VARIANT  POOLING               dense search, sentence vectors pooled with POOLING (the encoder's
                                   grammar, `models.pooling_spec`: cls, mean, max, bm25, mean_with_padding,
                                   optionally @-N or @lastN)
             bm25_lexical          lexical BM25 over Kiwi morphemes (search mode `bm25`), no neural model
             rrf:POOLING[:k=K]     hybrid: reciprocal rank fusion of dense POOLING and bm25_lexical
                                   (k = `DEFAULT_RRF_K` unless given)
             convex:POOLING[:w=W]  hybrid: W * dense + (1 - W) * lexical, each min-max normalised per
                                   query (W in [0, 1], `DEFAULT_HYBRID_WEIGHT` unless given)

Every variant runs through `indexing.searcher.Searcher` with the matching mode and fusion, so its
numbers are the served numbers. STS sets compare two sentences, not a query with a corpus: only
dense variants apply there (cosine of the two vectors).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from models.errors import InvalidValueError, PoolingError
from models.options import DEFAULT_FUSION, DEFAULT_HYBRID_WEIGHT, DEFAULT_RRF_K, FUSIONS, Fusion
from models.pooling_spec import NAMED_VARIANTS, parse_pooling

LEXICAL = "bm25_lexical"
# What `--variants all` runs: every named pooling, lexical search, and hybrids of both fusions.
ALL_VARIANTS: tuple[str, ...] = (
    *NAMED_VARIANTS,
    LEXICAL,
    "rrf:mean:k=60",
    "rrf:bm25:k=60",
    "convex:mean:w=0.8",
    "convex:bm25:w=0.5",
    "convex:bm25:w=0.8",  # what search_mode=hybrid does by default (eval/README.md)
)

_HYBRID_RE = re.compile(
    rf"(?P<fusion>{'|'.join(FUSIONS)}):(?P<pooling>[^:]+)(?::(?P<key>[kw])=(?P<value>[^:]+))?"
)

Kind = Literal["dense", "lexical", "hybrid"]


@dataclass(frozen=True)
class Variant:
    """A parsed variant; `name` is canonical (parameters spelled out), so equal variants compare equal."""

    name: str
    kind: Kind
    pooling: str | None = None  # canonical pooling name; None for lexical
    fusion: Fusion = DEFAULT_FUSION  # read by hybrid variants only, which name theirs
    rrf_k: int = DEFAULT_RRF_K
    weight: float = DEFAULT_HYBRID_WEIGHT

    @property
    def search_mode(self) -> str:
        return {"dense": "dense", "lexical": "bm25", "hybrid": "hybrid"}[self.kind]

    @property
    def ranking_only(self) -> bool:
        """Lexical and hybrid variants rank a corpus; they have no score for a pair of sentences."""
        return self.kind != "dense"


def _invalid(name: str, why: str) -> InvalidValueError:
    return InvalidValueError(
        f"unknown variant {name!r} ({why}); valid: a pooling (METHOD or METHOD@LAYERS, e.g. "
        f"{', '.join(NAMED_VARIANTS)}), {LEXICAL}, rrf:POOLING[:k=K] or convex:POOLING[:w=W]; "
        f"'all' = {', '.join(ALL_VARIANTS)}"
    )


def _format_weight(weight: float) -> str:
    return f"{weight:g}"


def parse_variant(name: str) -> Variant:
    """Parse and validate one variant name; the error lists the valid ones."""
    text = name.strip().lower()
    if text == LEXICAL:
        return Variant(name=LEXICAL, kind="lexical")
    if ":" not in text:
        try:
            pooling = parse_pooling(text).name
        except PoolingError:
            raise _invalid(name, "not a pooling, lexical or hybrid name") from None
        return Variant(name=pooling, kind="dense", pooling=pooling)
    match = _HYBRID_RE.fullmatch(text)
    if match is None:
        raise _invalid(name, "bad hybrid syntax")
    fusion = match["fusion"]
    try:
        pooling = parse_pooling(match["pooling"]).name
    except PoolingError:
        raise _invalid(name, f"no pooling {match['pooling']!r}") from None
    key, value = match["key"], match["value"]
    if key is not None and key != {"rrf": "k", "convex": "w"}[fusion]:
        raise _invalid(name, f"{fusion} takes {'k=' if fusion == 'rrf' else 'w='}, not {key}=")
    if fusion == "rrf":
        k = DEFAULT_RRF_K
        if value is not None:
            if not value.isdigit() or int(value) < 1:
                raise _invalid(name, f"k must be an integer >= 1, got {value!r}")
            k = int(value)
        return Variant(name=f"rrf:{pooling}:k={k}", kind="hybrid", pooling=pooling, fusion="rrf", rrf_k=k)
    weight = DEFAULT_HYBRID_WEIGHT
    if value is not None:
        try:
            weight = float(value)
        except ValueError:
            raise _invalid(name, f"w must be a number, got {value!r}") from None
        if not 0.0 <= weight <= 1.0:
            raise _invalid(name, f"w must be within [0, 1], got {value}")
    return Variant(
        name=f"convex:{pooling}:w={_format_weight(weight)}",
        kind="hybrid",
        pooling=pooling,
        fusion="convex",
        weight=weight,
    )


def parse_variants(spec: str) -> list[Variant]:
    """`all` or comma-separated names -> variants in the given order, each once."""
    names = ALL_VARIANTS if spec.strip().lower() == "all" else [n for n in spec.split(",") if n.strip()]
    if not names:
        raise _invalid(spec, "no variant given")
    variants = [parse_variant(name) for name in names]
    return list({v.name: v for v in variants}.values())
