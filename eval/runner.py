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
from functools import partial
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
from models.errors import InvalidValueError
from models.identity import EncoderIdentity

if TYPE_CHECKING:
    from indexing.searcher import Hit
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
    # function-weight reports only: each variant at each other factor against itself at the first
    function_weights: list[dict[str, Any]] = field(default_factory=list)
    # entry-view reports only: each variant under each other view against itself under the first
    views: list[dict[str, Any]] = field(default_factory=list)

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
            **({"function_weights": self.function_weights} if self.function_weights else {}),
            **({"views": self.views} if self.views else {}),
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
    return EncoderIdentity.of(encoder).model_record()  # what an index manifest records as "model"


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
    function_weight: float = 1.0,
    view: CorpusView | None = None,
) -> Report:
    """Score every variant on `testset` against `baseline` (added to the variants if missing), with
    BM25 statistics of the given function-word weight. `view`: what of the entries is indexed
    (alternates, answers); default as the service does."""
    variants, base = with_baseline(variants, baseline)
    if isinstance(testset, StsSet):
        if base.ranking_only:
            raise InvalidValueError(f"baseline {base.name!r} does not apply to an STS set: {SKIP_ON_STS}")
        skipped = [{"variant": v.name, "reason": SKIP_ON_STS} for v in variants if v.ranking_only]
        variants = [v for v in variants if not v.ranking_only]
    else:
        skipped = []
    if needs_model(variants, testset) and encoder is None:
        raise InvalidValueError("these variants need a sentence encoder (a model)")
    if isinstance(testset, RankingSet):
        per_query = _ranking_per_query(testset, variants, encoder, cache, progress, function_weight, view)
        results = _ranking_statistics(per_query, base.name)
        kind, size, test = "ranking", len(testset.queries), RANKING_TEST
    else:
        predicted, gold = _sts_predicted(testset, variants, encoder, cache, progress, function_weight)
        results = _sts_statistics(predicted, gold, base.name)
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
    from models.pooling_spec import parse_pooling

    return any(parse_pooling(p).needs_bm25 for p in poolings)


def _fit_bm25(texts: list[str], function_weight: float) -> Bm25Stats:
    """BM25 statistics as the index builder fits them (`index_from_entries`): Kiwi terms, then fit."""
    from models.bm25 import Bm25Stats
    from models.morphemes import terms

    return Bm25Stats.fit(terms(texts), function_weight=function_weight)


def _ranking_per_query(
    testset: RankingSet,
    variants: list[Variant],
    encoder: Encoder | None,
    cache: VectorCache | None,
    progress: Progress | None,
    function_weight: float = 1.0,
    view: CorpusView | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """{variant name: {metric: [Q] per-query values}}."""
    hits = _ranking_hits(testset, variants, encoder, cache, progress, function_weight, view)
    qrels = cast("Qrels", testset.qrels)  # dict[str, dict[str, int]]: entry ids are the Hashable keys
    queries = testset.queries
    runs = {
        name: {q.id: [h.id for h in row] for q, row in zip(queries, rows, strict=True)}
        for name, rows in hits.items()
    }
    return {v.name: ranking_metrics(runs[v.name], qrels) for v in variants}


def _ranking_hits(
    testset: RankingSet,
    variants: list[Variant],
    encoder: Encoder | None,
    cache: VectorCache | None,
    progress: Progress | None,
    function_weight: float = 1.0,
    view: CorpusView | None = None,
) -> dict[str, list[list[Hit]]]:
    """{variant name: per query the top hits, with the scores each mode serves}."""
    from eval.retrieval import PrecomputedEncoder, lexical_index, ranking_hits, row_texts

    poolings = _poolings(variants)
    view = dataclasses.replace(view or CorpusView(), chunker=encoder)
    base_index = lexical_index(testset, view, function_weight)
    source = None
    if poolings:
        assert encoder is not None
        # The statistics the index builder fitted on the corpus, so BM25-pooled vectors match the index.
        bm25 = base_index.bm25 if _needs_bm25(poolings) else None
        corpus = row_texts(testset, view)
        queries = [q.text for q in testset.queries]
        pool = partial(pooled_vectors, encoder, poolings=poolings, bm25=bm25, cache=cache, progress=progress)
        if encoder.entry_prefix == encoder.prefix:  # one prefix: one pass over both
            vectors = entry_vectors = pool(corpus + queries)
        else:  # the corpus behind the entry prefix, the queries behind the query prefix
            entry_vectors, vectors = pool(corpus, role="entry"), pool(queries, role="query")
        source = PrecomputedEncoder.of(
            EncoderIdentity.of(encoder), vectors, bm25=bm25, entry_vectors=entry_vectors
        )
    return ranking_hits(testset, variants, source, base_index, view)


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


def _sts_predicted(
    testset: StsSet,
    variants: list[Variant],
    encoder: Encoder | None,
    cache: VectorCache | None,
    progress: Progress | None,
    function_weight: float = 1.0,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """({variant name: [P] pair cosines}, [P] gold scores)."""
    from eval.retrieval import pair_similarities

    assert encoder is not None
    pairs = [(p.a, p.b) for p in testset.pairs]
    gold = np.array([p.score for p in testset.pairs], dtype=np.float64)
    texts = list(dict.fromkeys(t for pair in pairs for t in pair))
    poolings = _poolings(variants)
    # An STS set has no corpus: BM25 statistics are fitted on its own sentences, each counted once.
    bm25 = _fit_bm25(texts, function_weight) if _needs_bm25(poolings) else None
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


def _against_self(
    ranking: dict[str, dict[str, np.ndarray]],
    predicted: dict[str, np.ndarray],
    gold: np.ndarray,
    name: str,
    reference: str,
) -> tuple[str, float, float]:
    """(main metric, its difference name - reference, p) with the report's own paired test."""
    if ranking:
        metric = "mrr@10"
        a, b = ranking[name][metric], ranking[reference][metric]
        return metric, float((a - b).mean()), float(paired_randomization_tests(a[:, None], b[:, None])[0])
    metric = "spearman"
    cmp = sts_paired_bootstrap(predicted[name], predicted[reference], gold, metric=metric)
    return metric, float(cmp.difference), float(cmp.p_value)


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
            metric, delta, p = _against_self(ranking, predicted, gold, name, reference)
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
    """How a variant run in one precision (or other encoder setting) is named in a comparison
    report: `bm25 [bf16]`."""
    return f"{variant} [{precision}]"


def evaluate_views(
    testset: RankingSet | StsSet,
    variants: list[Variant],
    views: dict[str, CorpusView],
    *,
    baseline: str,
    encoder: Encoder | None = None,
    cache: VectorCache | None = None,
    progress: Progress | None = None,
    function_weight: float = 1.0,
) -> Report:
    """Every variant with the corpus indexed each way of `views` ({label: view}: the question
    alone, with alternates, with answers), named `VARIANT [label]`, tested against `baseline`
    under the first view. Lexical variants are kept: alternates and answers change their documents."""
    if isinstance(testset, StsSet):
        raise InvalidValueError(
            f"{testset.name} is an STS set: it has no entries to index one way or another"
        )
    variants, base = with_baseline(variants, baseline)
    if needs_model(variants, testset) and encoder is None:
        raise InvalidValueError("these variants need a sentence encoder (a model)")
    ranking: dict[str, dict[str, np.ndarray]] = {}
    for label, view in views.items():
        per_query = _ranking_per_query(testset, variants, encoder, cache, progress, function_weight, view)
        for name, values in per_query.items():
            ranking[precision_name(name, label)] = values
    first, *others = views
    rows = []
    for variant in variants:
        for label in others:
            metric, delta, p = _against_self(
                ranking,
                {},
                np.empty(0),
                precision_name(variant.name, label),
                precision_name(variant.name, first),
            )
            rows.append(
                {"variant": variant.name, "view": label, "against": first, "metric": metric}
                | {"delta": _round(delta), "p": _round(p)}
            )
    return Report(
        testset=testset.name,
        kind="ranking",
        size=len(testset.queries),
        model=_model_info(encoder) if needs_model(variants, testset) else None,
        baseline=precision_name(base.name, next(iter(views))),
        significance=RANKING_TEST,
        results=_ranking_statistics(ranking, precision_name(base.name, next(iter(views)))),
        views=rows,
    )


def evaluate_answerability(
    testset: RankingSet,
    variants: list[Variant],
    *,
    encoder: Encoder | None = None,
    cache: VectorCache | None = None,
    progress: Progress | None = None,
    function_weight: float = 1.0,
    view: CorpusView | None = None,
) -> dict[str, Any]:
    """How well each variant's top score separates queries with an answer in the collection from
    queries without one, after removing a share of the entries (`eval.answerability`)."""
    from eval.answerability import REMOVED_SHARE, SEED, separation, threshold_score, without_entries

    if not isinstance(testset, RankingSet):
        raise InvalidValueError(f"{testset.name} is an STS set: answerability needs a ranking set")
    if needs_model(variants, testset) and encoder is None:
        raise InvalidValueError("these variants need a sentence encoder (a model)")
    reduced, answerable = without_entries(testset)
    hits = _ranking_hits(reduced, variants, encoder, cache, progress, function_weight, view)
    has_answer = np.array([q.id in answerable for q in testset.queries])
    rows, tops = {}, {}
    for name, per_query in hits.items():
        top = np.array([threshold_score(found) for found in per_query])
        rows[name] = separation(top, has_answer).to_dict()
        tops[name] = [round(float(t), 6) if np.isfinite(t) else None for t in top]
    return {
        "testset": testset.name,
        "removed_share": REMOVED_SHARE,
        "seed": SEED,
        "answerable": int(has_answer.sum()),
        "unanswerable": int((~has_answer).sum()),
        "model": _model_info(encoder) if encoder is not None else None,
        "variants": rows,
        # per query, for thresholds shared across sets (`eval.answerability.common_threshold`)
        "has_answer": [int(a) for a in has_answer],
        "top_scores": tops,
    }


def prefix_label(prefix: str, entry_prefix: str) -> str:
    """How a (query prefix, entry prefix) pair is named in a prefix report: `'query: '/'passage: '`."""
    return f"{prefix!r}/{entry_prefix!r}"


def prefix_pairs(
    query_prefixes: list[str], entry_prefixes: list[str], default_query: str, default_entry: str | None
) -> list[tuple[str, str]]:
    """The (query prefix, entry prefix) pairs of `--query-prefix` and `--entry-prefix` values, in
    order: one value of either side goes with every value of the other, else they pair by position.
    A side not given takes its setting; an entry prefix that is unset (None) follows the query one."""
    from models.text import normalize_prefix

    queries: list[str] = query_prefixes or [default_query]
    entries: list[str | None] = list(entry_prefixes) or [default_entry]
    if len(queries) == 1:
        queries = queries * len(entries)
    if len(entries) == 1:
        entries = entries * len(queries)
    if len(queries) != len(entries):
        raise InvalidValueError(
            f"{len(queries)} --query-prefix and {len(entries)} --entry-prefix values: give one of a side "
            "for every value of the other, or as many of each (they pair by position)"
        )
    return [
        (normalize_prefix(q), normalize_prefix(q if e is None else e))
        for q, e in zip(queries, entries, strict=True)
    ]


@dataclass
class _Across:
    """Every variant under every encoder of a comparison, named `VARIANT [label]`."""

    report: Report
    ranking: dict[str, dict[str, np.ndarray]]  # {name: {metric: [Q]}} (ranking sets)
    predicted: dict[str, np.ndarray]  # {name: [P] cosines} (STS sets)
    gold: np.ndarray
    variants: list[str]


def _evaluate_across(
    testset: RankingSet | StsSet,
    variants: list[Variant],
    encoders: dict[str, Encoder],
    *,
    baseline: str,
    cache: VectorCache | None,
    progress: Progress | None,
    function_weight: float = 1.0,
    view: CorpusView | None = None,
) -> _Across:
    """Every variant under every encoder of `encoders` ({label: encoder}), tested against `baseline`
    under the first. Variants without a neural model (lexical) depend on no encoder setting and are
    left out."""
    base = parse_variant(baseline)
    if base.pooling is None:
        raise InvalidValueError(
            f"baseline {base.name!r} has no neural model; a comparison of encoder settings compares "
            "dense or hybrid variants"
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
    for label, encoder in encoders.items():
        if isinstance(testset, RankingSet):
            per_variant = _ranking_per_query(
                testset, variants, encoder, cache, progress, function_weight, view
            )
            for name, per_query in per_variant.items():
                ranking[precision_name(name, label)] = per_query
        else:
            scores, gold = _sts_predicted(testset, variants, encoder, cache, progress, function_weight)
            for name, cosines in scores.items():
                predicted[precision_name(name, label)] = cosines
    base_name = precision_name(base.name, first)
    if isinstance(testset, RankingSet):
        results = _ranking_statistics(ranking, base_name)
        kind, size, test = "ranking", len(testset.queries), RANKING_TEST
    else:
        results = _sts_statistics(predicted, gold, base_name)
        kind, size, test = "sts", len(testset.pairs), STS_TEST
    report = Report(
        testset=testset.name,
        kind=kind,
        size=size,
        model=_model_info(encoders[first]),
        baseline=base_name,
        significance=test,
        results=results,
        skipped=skipped,
    )
    return _Across(report, ranking, predicted, gold, [v.name for v in variants])


def evaluate_precisions(
    testset: RankingSet | StsSet,
    variants: list[Variant],
    encoders: dict[str, Encoder],
    *,
    baseline: str,
    cache: VectorCache | None = None,
    progress: Progress | None = None,
    function_weight: float = 1.0,
    view: CorpusView | None = None,
) -> Report:
    """Every variant under every precision of `encoders` ({precision: the encoder loaded in it}),
    tested against `baseline` in the first precision: the report the precision quality rule reads
    (eval/README.md, "Precision"). Variants without a neural model (lexical) do not depend on the
    precision and are left out."""
    across = _evaluate_across(
        testset,
        variants,
        encoders,
        baseline=baseline,
        cache=cache,
        progress=progress,
        function_weight=function_weight,
        view=view,
    )
    report = across.report
    assert report.model is not None
    report.model["precision"] = list(encoders)
    report.precision_rule = _precision_rule(
        across.ranking, across.predicted, across.gold, across.variants, list(encoders)
    )
    return report


def evaluate_models(
    testset: RankingSet | StsSet,
    variants: list[Variant],
    encoders: dict[str, Encoder],
    *,
    baseline: str,
    cache: VectorCache | None = None,
    progress: Progress | None = None,
    function_weight: float = 1.0,
) -> Report:
    """Every variant under every model of `encoders` ({label: encoder}), named `VARIANT [LABEL]`,
    tested against `baseline` under the first: the before/after table of `faqsearch train`."""
    return _evaluate_across(
        testset,
        variants,
        encoders,
        baseline=baseline,
        cache=cache,
        progress=progress,
        function_weight=function_weight,
    ).report


def evaluate_prefixes(
    testset: RankingSet | StsSet,
    variants: list[Variant],
    encoder: Encoder,
    pairs: list[tuple[str, str]],
    *,
    baseline: str,
    cache: VectorCache | None = None,
    progress: Progress | None = None,
    function_weight: float = 1.0,
    view: CorpusView | None = None,
) -> Report:
    """Every variant under every (query prefix, entry prefix) pair of `pairs`, named
    `VARIANT ['query: '/'passage: ']` (`prefix_label`), tested against `baseline` under the first
    pair; the model is loaded once (`Encoder.with_prefixes`). An STS pair is two sentences of one
    kind, both encoded behind the query prefix: pairs that differ only in the entry prefix would
    give the same numbers there, so they are refused."""
    if len(set(pairs)) != len(pairs):
        raise InvalidValueError(f"a prefix pair is given twice: {[prefix_label(*p) for p in pairs]}")
    if isinstance(testset, StsSet) and len({q for q, _ in pairs}) != len(pairs):
        raise InvalidValueError(
            f"{testset.name} is an STS set: both sentences of a pair are encoded behind the query prefix, "
            "so pairs that differ only in the entry prefix give the same numbers; compare query prefixes "
            "(--query-prefix) there"
        )
    encoders = {prefix_label(q, e): encoder.with_prefixes(prefix=q, entry_prefix=e) for q, e in pairs}
    report = _evaluate_across(
        testset,
        variants,
        encoders,
        baseline=baseline,
        cache=cache,
        progress=progress,
        function_weight=function_weight,
        view=view,
    ).report
    assert report.model is not None
    report.model["prefix"] = [q for q, _ in pairs]
    report.model["entry_prefix"] = [e for _, e in pairs]
    return report


def function_weight_name(variant: str, weight: float) -> str:
    """How a variant at one function-word weight is named in a function-weight report: `bm25 [fw=0]`."""
    return f"{variant} [fw={weight:g}]"


def evaluate_function_weights(
    testset: RankingSet | StsSet,
    variants: list[Variant],
    weights: list[float],
    *,
    baseline: str,
    encoder: Encoder | None = None,
    cache: VectorCache | None = None,
    progress: Progress | None = None,
    view: CorpusView | None = None,
) -> Report:
    """Every variant at every BM25 function-word weight (`models.bm25`), named `VARIANT [fw=F]`,
    tested against `baseline` at the first weight; `function_weights` holds each variant at each
    other weight against itself at the first (eval/README.md, "Function-word weight"). Variants
    that read no BM25 weight (dense without bm25 pooling) give the same numbers at every weight."""
    from models.bm25 import check_function_weight

    weights = [check_function_weight(w) for w in weights]
    if not weights or len(set(weights)) != len(weights):
        raise InvalidValueError(f"give distinct function-word weights, got {weights}")
    variants, base = with_baseline(variants, baseline)
    if isinstance(testset, StsSet):
        if base.ranking_only:
            raise InvalidValueError(f"baseline {base.name!r} does not apply to an STS set: {SKIP_ON_STS}")
        skipped = [{"variant": v.name, "reason": SKIP_ON_STS} for v in variants if v.ranking_only]
        variants = [v for v in variants if not v.ranking_only]
    else:
        skipped = []
    if needs_model(variants, testset) and encoder is None:
        raise InvalidValueError("these variants need a sentence encoder (a model)")
    ranking: dict[str, dict[str, np.ndarray]] = {}
    predicted: dict[str, np.ndarray] = {}
    gold = np.zeros(0)
    for weight in weights:
        if isinstance(testset, RankingSet):
            per_query = _ranking_per_query(testset, variants, encoder, cache, progress, weight, view)
            for name, values in per_query.items():
                ranking[function_weight_name(name, weight)] = values
        else:
            scores, gold = _sts_predicted(testset, variants, encoder, cache, progress, weight)
            for name, cosines in scores.items():
                predicted[function_weight_name(name, weight)] = cosines
    base_name = function_weight_name(base.name, weights[0])
    if isinstance(testset, RankingSet):
        results = _ranking_statistics(ranking, base_name)
        kind, size, test = "ranking", len(testset.queries), RANKING_TEST
    else:
        results = _sts_statistics(predicted, gold, base_name)
        kind, size, test = "sts", len(testset.pairs), STS_TEST
    rows = []
    for weight in weights[1:]:
        for v in variants:
            name, reference = function_weight_name(v.name, weight), function_weight_name(v.name, weights[0])
            metric, delta, p = _against_self(ranking, predicted, gold, name, reference)
            rows.append(
                {
                    "variant": v.name,
                    "function_weight": weight,
                    "against": weights[0],
                    "metric": metric,
                    "delta": _round(delta),
                    "p": _round(p),
                }
            )
    return Report(
        testset=testset.name,
        kind=kind,
        size=size,
        model=_model_info(encoder) if needs_model(variants, testset) else None,
        baseline=base_name,
        significance=test,
        results=results,
        skipped=skipped,
        function_weights=rows,
    )
