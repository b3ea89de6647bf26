"""Evaluate variants on one test set: metrics, 95% confidence intervals, p-values vs a baseline.

Ranking sets: per-query metrics (`eval.metrics.ranking_metrics`) of every variant's run; CIs are
percentile bootstraps over queries and p-values the paired randomisation (sign-flip) test over
queries (`eval.significance`), every variant and metric on the same resamples. STS sets: the cosine
of each pair's vectors, Spearman and Pearson against the gold scores; CIs and p-values from the
paired bootstrap over pairs. Seeds are fixed: the same inputs give the same report.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from eval.cache import VectorCache
from eval.metrics import RANKING_METRICS, STS_METRICS, Qrels, ranking_metrics, sts_metrics
from eval.retrieval import CorpusView
from eval.significance import (
    bootstrap_cis,
    paired_randomization_tests,
    sts_bootstrap_ci,
    sts_paired_bootstrap,
)
from eval.testset import RankingSet, StsSet
from eval.variants import Variant, parse_variant
from eval.vectors import Progress, pooled_vectors

if TYPE_CHECKING:
    from models.bm25 import Bm25Stats
    from models.encoder import Encoder

RANKING_TEST = (
    "paired randomisation (sign-flip) test over queries, two-sided, 10,000 random sign assignments; "
    "95% CIs: percentile bootstrap over queries, 10,000 resamples (seed 0)"
)
STS_TEST = (
    "paired bootstrap over sentence pairs (null-shifted, two-sided), 2,000 resamples; "
    "95% CIs: percentile bootstrap over pairs, 2,000 resamples (seed 0)"
)
SKIP_ON_STS = "ranking only: lexical and hybrid search rank a corpus; an STS pair has no such score"


@dataclass
class VariantResult:
    variant: str
    metrics: dict[str, float]
    ci95: dict[str, list[float]]
    p_vs_baseline: dict[str, float] | None  # None for the baseline itself
    delta_vs_baseline: dict[str, float] | None


@dataclass
class Report:
    testset: str
    kind: str  # "ranking" | "sts"
    size: int  # queries or pairs
    model: dict[str, Any] | None
    baseline: str
    significance: str
    results: list[VariantResult]
    skipped: list[dict[str, str]] = field(default_factory=list)
    # precision reports only: each variant in each other precision against itself in the first one
    precision_rule: list[dict[str, Any]] = field(default_factory=list)

    @property
    def metric_names(self) -> tuple[str, ...]:
        return RANKING_METRICS if self.kind == "ranking" else STS_METRICS

    def to_json(self) -> dict[str, Any]:
        return {
            "testset": self.testset,
            "kind": self.kind,
            "size": self.size,
            "model": self.model,
            "baseline": self.baseline,
            "significance": self.significance,
            "results": [vars(r) for r in self.results],
            "skipped": self.skipped,
            **({"precision_rule": self.precision_rule} if self.precision_rule else {}),
        }


def needs_model(variants: list[Variant], testset: RankingSet | StsSet) -> bool:
    applicable = [v for v in variants if isinstance(testset, RankingSet) or not v.ranking_only]
    return any(v.pooling is not None for v in applicable)


def with_baseline(variants: list[Variant], baseline: str) -> tuple[list[Variant], Variant]:
    """The variants with the baseline among them (put first when it was not asked for)."""
    base = parse_variant(baseline)
    if all(v.name != base.name for v in variants):
        variants = [base, *variants]
    return variants, base


def _model_info(encoder: Encoder | None) -> dict[str, Any] | None:
    if encoder is None:
        return None
    return {
        "name": encoder.name,
        "sha256": encoder.fingerprint,
        "prefix": encoder.prefix,
        "max_length": encoder.max_length,
        "precision": getattr(encoder, "precision", "fp32"),
    }


def _round(x: float) -> float:
    return round(float(x), 6)


def evaluate(
    testset: RankingSet | StsSet,
    variants: list[Variant],
    *,
    baseline: str = "mean",
    encoder: Encoder | None = None,
    cache: VectorCache | None = None,
    progress: Progress | None = None,
    view: CorpusView | None = None,
) -> Report:
    """Score every variant on `testset` against `baseline` (added to the variants if missing).
    `view`: what of the entries is indexed (alternates, answers); default as the service does."""
    variants, base = with_baseline(variants, baseline)
    if isinstance(testset, StsSet):
        if base.ranking_only:
            raise ValueError(f"baseline {base.name!r} does not apply to an STS set: {SKIP_ON_STS}")
        skipped = [{"variant": v.name, "reason": SKIP_ON_STS} for v in variants if v.ranking_only]
        variants = [v for v in variants if not v.ranking_only]
    else:
        skipped = []
    if needs_model(variants, testset) and encoder is None:
        raise ValueError("these variants need a sentence encoder (a model)")
    if isinstance(testset, RankingSet):
        results = _evaluate_ranking(testset, variants, base, encoder, cache, progress, view)
        kind, size, test = "ranking", len(testset.queries), RANKING_TEST
    else:
        results = _evaluate_sts(testset, variants, base, encoder, cache, progress)
        kind, size, test = "sts", len(testset.pairs), STS_TEST
    return Report(
        testset=testset.name,
        kind=kind,
        size=size,
        model=_model_info(encoder) if needs_model(variants, testset) else None,
        baseline=base.name,
        significance=test,
        results=results,
        skipped=skipped,
    )


def _poolings(variants: list[Variant]) -> list[str]:
    return list(dict.fromkeys(v.pooling for v in variants if v.pooling is not None))


def _needs_bm25(poolings: list[str]) -> bool:
    from models.pooling import parse_pooling

    return any(parse_pooling(p).needs_bm25 for p in poolings)


def _fit_bm25(texts: list[str]) -> Bm25Stats:
    """BM25 statistics as the index builder fits them (`index_from_entries`): Kiwi terms, then fit."""
    from models.bm25 import Bm25Stats
    from models.morphemes import terms

    return Bm25Stats.fit(terms(texts))


def _evaluate_ranking(
    testset: RankingSet,
    variants: list[Variant],
    base: Variant,
    encoder: Encoder | None,
    cache: VectorCache | None,
    progress: Progress | None,
    view: CorpusView | None = None,
) -> list[VariantResult]:
    return _ranking_statistics(
        _ranking_per_query(testset, variants, encoder, cache, progress, view), base.name
    )


def _ranking_per_query(
    testset: RankingSet,
    variants: list[Variant],
    encoder: Encoder | None,
    cache: VectorCache | None,
    progress: Progress | None,
    view: CorpusView | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """{variant name: {metric: [Q] per-query values}}."""
    from eval.retrieval import PrecomputedEncoder, lexical_index, ranking_runs, row_texts

    poolings = _poolings(variants)
    view = dataclasses.replace(view or CorpusView(), chunker=encoder)
    base_index = lexical_index(testset, view)
    source = None
    if poolings:
        assert encoder is not None
        # The statistics the index builder fitted on the corpus, so BM25-pooled vectors match the index.
        bm25 = base_index.bm25 if _needs_bm25(poolings) else None
        texts = row_texts(testset, view) + [q.text for q in testset.queries]
        vectors = pooled_vectors(encoder, texts, poolings, bm25=bm25, cache=cache, progress=progress)
        source = PrecomputedEncoder(
            vectors,
            dim=encoder.dim,
            name=encoder.name,
            fingerprint=encoder.fingerprint,
            prefix=encoder.prefix,
            max_length=encoder.max_length,
            bm25=bm25,
        )
    qrels = cast("Qrels", testset.qrels)  # dict[str, dict[str, int]]: entry ids are the Hashable keys
    runs = ranking_runs(testset, variants, source, base_index, view)
    return {v.name: ranking_metrics(runs[v.name], qrels) for v in variants}


def _ranking_statistics(per_query: dict[str, dict[str, np.ndarray]], baseline: str) -> list[VariantResult]:
    """Means, CIs and p-values of per-query metrics {variant: {metric: [Q]}}, in variant order."""
    names = list(per_query)
    others = [n for n in names if n != baseline]
    columns = [per_query[n][m] for n in names for m in RANKING_METRICS]  # Q x (V * M)
    diffs = [per_query[n][m] - per_query[baseline][m] for n in others for m in RANKING_METRICS]
    cis = bootstrap_cis(np.stack(columns, axis=1))
    p_values: np.ndarray = np.zeros(0)
    if others:
        variant_matrix = np.stack([per_query[n][m] for n in others for m in RANKING_METRICS], axis=1)
        base_matrix = np.stack([per_query[baseline][m] for _ in others for m in RANKING_METRICS], axis=1)
        p_values = paired_randomization_tests(variant_matrix, base_matrix)
    results = []
    for i, name in enumerate(names):
        block = cis[i * len(RANKING_METRICS) : (i + 1) * len(RANKING_METRICS)]
        metrics = {m: _round(ci.estimate) for m, ci in zip(RANKING_METRICS, block, strict=True)}
        ci95 = {m: [_round(ci.low), _round(ci.high)] for m, ci in zip(RANKING_METRICS, block, strict=True)}
        p = delta = None
        if name != baseline:
            j = others.index(name) * len(RANKING_METRICS)
            p = {m: _round(p_values[j + k]) for k, m in enumerate(RANKING_METRICS)}
            delta = {m: _round(diffs[j + k].mean()) for k, m in enumerate(RANKING_METRICS)}
        results.append(VariantResult(name, metrics, ci95, p, delta))
    return results


def _evaluate_sts(
    testset: StsSet,
    variants: list[Variant],
    base: Variant,
    encoder: Encoder | None,
    cache: VectorCache | None,
    progress: Progress | None,
) -> list[VariantResult]:
    predicted, gold = _sts_predicted(testset, variants, encoder, cache, progress)
    return _sts_statistics(predicted, gold, base.name)


def _sts_predicted(
    testset: StsSet,
    variants: list[Variant],
    encoder: Encoder | None,
    cache: VectorCache | None,
    progress: Progress | None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """({variant name: [P] pair cosines}, [P] gold scores)."""
    from eval.retrieval import pair_similarities

    assert encoder is not None
    pairs = [(p.a, p.b) for p in testset.pairs]
    gold = np.array([p.score for p in testset.pairs], dtype=np.float64)
    texts = list(dict.fromkeys(t for pair in pairs for t in pair))
    poolings = _poolings(variants)
    # An STS set has no corpus: BM25 statistics are fitted on its own sentences, each counted once.
    bm25 = _fit_bm25(texts) if _needs_bm25(poolings) else None
    vectors = pooled_vectors(encoder, texts, poolings, bm25=bm25, cache=cache, progress=progress)
    return {v.name: pair_similarities(pairs, vectors[v.pooling or ""]) for v in variants}, gold


def _sts_statistics(predicted: dict[str, np.ndarray], gold: np.ndarray, baseline: str) -> list[VariantResult]:
    results = []
    for name, values in predicted.items():
        metrics = {m: _round(x) for m, x in sts_metrics(values, gold).items()}
        ci95 = {}
        for m in STS_METRICS:
            ci = sts_bootstrap_ci(values, gold, metric=m)
            ci95[m] = [_round(ci.low), _round(ci.high)]
        p = delta = None
        if name != baseline:
            p, delta = {}, {}
            for m in STS_METRICS:
                cmp = sts_paired_bootstrap(values, predicted[baseline], gold, metric=m)
                p[m], delta[m] = _round(cmp.p_value), _round(cmp.difference)
        results.append(VariantResult(name, metrics, ci95, p, delta))
    return results


# The precision quality rule (eval/README.md, "Precision"): a precision may serve `auto` only if, on
# every set, each variant's main metric is within this of the same variant in fp32 and not
# significantly worse.
PRECISION_TOLERANCE = 0.003
PRECISION_ALPHA = 0.05


def _precision_rule(
    ranking: dict[str, dict[str, np.ndarray]],
    predicted: dict[str, np.ndarray],
    gold: np.ndarray,
    variants: list[str],
    precisions: list[str],
) -> list[dict[str, Any]]:
    """Each variant in each precision after the first against the same variant in the first:
    difference of the main metric, its p-value (the report's own paired test) and the verdict."""
    first, rows = precisions[0], []
    for precision in precisions[1:]:
        for variant in variants:
            name, reference = precision_name(variant, precision), precision_name(variant, first)
            if ranking:
                metric = "mrr@10"
                a, b = ranking[name][metric], ranking[reference][metric]
                delta = float((a - b).mean())
                p = float(paired_randomization_tests(a[:, None], b[:, None])[0])
            else:
                metric = "spearman"
                cmp = sts_paired_bootstrap(predicted[name], predicted[reference], gold, metric=metric)
                delta, p = float(cmp.difference), float(cmp.p_value)
            eligible = delta >= -PRECISION_TOLERANCE and not (delta < 0 and p < PRECISION_ALPHA)
            rows.append(
                {
                    "variant": variant,
                    "precision": precision,
                    "against": first,
                    "metric": metric,
                    "delta": _round(delta),
                    "p": _round(p),
                    "meets_rule": eligible,
                }
            )
    return rows


def precision_name(variant: str, precision: str) -> str:
    """How a variant run in one precision is named in a precision report: `bm25 [bf16]`."""
    return f"{variant} [{precision}]"


def evaluate_precisions(
    testset: RankingSet | StsSet,
    variants: list[Variant],
    encoders: dict[str, Encoder],
    *,
    baseline: str,
    cache: VectorCache | None = None,
    progress: Progress | None = None,
) -> Report:
    """Every variant under every precision of `encoders` ({precision: the encoder loaded in it}),
    tested against `baseline` in the first precision: the report the precision quality rule reads
    (eval/README.md, "Precision"). Variants without a neural model (lexical) do not depend on the
    precision and are left out."""
    base = parse_variant(baseline)
    if base.pooling is None:
        raise ValueError(
            f"baseline {base.name!r} has no neural model; precisions compare dense or hybrid variants"
        )
    variants, _ = with_baseline(variants, baseline)
    if isinstance(testset, StsSet):
        skipped = [{"variant": v.name, "reason": SKIP_ON_STS} for v in variants if v.ranking_only]
        variants = [v for v in variants if not v.ranking_only]
    else:
        skipped = []
    variants = [v for v in variants if v.pooling is not None]
    first = next(iter(encoders))
    ranking: dict[str, dict[str, np.ndarray]] = {}
    predicted: dict[str, np.ndarray] = {}
    gold = np.zeros(0)
    for precision, encoder in encoders.items():
        if isinstance(testset, RankingSet):
            for name, per_query in _ranking_per_query(testset, variants, encoder, cache, progress).items():
                ranking[precision_name(name, precision)] = per_query
        else:
            scores, gold = _sts_predicted(testset, variants, encoder, cache, progress)
            for name, cosines in scores.items():
                predicted[precision_name(name, precision)] = cosines
    base_name = precision_name(base.name, first)
    if isinstance(testset, RankingSet):
        results = _ranking_statistics(ranking, base_name)
        kind, size, test = "ranking", len(testset.queries), RANKING_TEST
    else:
        results = _sts_statistics(predicted, gold, base_name)
        kind, size, test = "sts", len(testset.pairs), STS_TEST
    model = _model_info(encoders[first])
    assert model is not None
    model["precision"] = list(encoders)
    rule = _precision_rule(ranking, predicted, gold, [v.name for v in variants], list(encoders))
    return Report(
        testset=testset.name,
        kind=kind,
        size=size,
        model=model,
        baseline=base_name,
        significance=test,
        results=results,
        skipped=skipped,
        precision_rule=rule,
    )
