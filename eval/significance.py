"""Confidence intervals and paired significance tests for the offline evaluation.

Everything here is plain, vectorised numpy (resamples drawn in chunks to bound memory) and
deterministic: each function draws from its own ``numpy.random.default_rng(seed)`` with a fixed
default seed, so the same inputs give bit-identical outputs on the same machine.

Which tests these are (for the report):

- `bootstrap_ci`: *percentile bootstrap* confidence interval of a mean over queries - resample
  the Q per-query values with replacement B times (default 10,000), take the mean of each
  resample, and report the alpha/2 and 1 - alpha/2 quantiles of those B means (numpy's default
  linear interpolation between order statistics). The point estimate is the sample mean.
- `paired_randomization_test`: *paired randomisation (sign-flip) test* of the mean difference
  variant - baseline over the same queries, two-sided. Under H0 (the two systems are
  exchangeable on every query) each per-query difference d_i is equally likely to have either
  sign; the statistic is |mean(d)| and the p-value is the share of sign assignments whose
  |mean(s * d)| is at least the observed one. With 2**Q <= n_resamples all 2**Q assignments are
  enumerated (exact p = count / 2**Q); otherwise n_resamples random assignments are drawn and
  p = (1 + count) / (1 + n_resamples) (Phipson & Smyth 2010, never 0). Ties are counted as
  "at least as extreme" with a relative tolerance of 100 machine epsilons (as scipy does), so
  identical systems give p = 1.
- `compare_paired`: the above p-value plus the *paired percentile bootstrap* CI of the mean
  difference (`bootstrap_ci` of the per-query differences d_i).
- `bootstrap_cis` / `paired_randomization_tests`: the same two procedures for many columns at once
  (every metric of every variant), all on the resamples / sign flips that the one-column functions
  draw with the same seed; a resample is applied as a matrix product of its draw counts, so one
  draw serves every column (a report over 13 variants x 5 metrics takes ~1 s, not ~2 min).
- `sts_bootstrap_ci` / `sts_paired_bootstrap`: a correlation over pairs (Spearman, Pearson) does
  not decompose into per-item values, so the *pairs* are resampled with replacement and the
  correlation is recomputed on every resample (Spearman: average ranks re-computed within the
  resample, as ``scipy.stats.spearmanr``). In the paired version both systems are scored on the
  same resample against the same gold scores; the CI is the percentile interval of the resampled
  differences delta* = r_variant* - r_baseline*, and the two-sided p-value is the *paired
  bootstrap test* with the bootstrap distribution shifted to the null (Efron & Tibshirani 1993,
  ch. 16; Hall & Wilson 1991): p = (1 + #{|delta* - delta| >= |delta|}) / (1 + B), delta being
  the observed difference. Resamples on which a correlation is undefined (a constant resample,
  only plausible for a handful of pairs) are dropped; ``n_resamples`` in the result is the
  number actually used. A constant system or gold input raises ``ValueError``.

Why not ``scipy.stats.bootstrap`` / ``permutation_test``: they materialise all resamples unless
batched by hand, and computing the resampled Spearman with a per-resample rank sort is the slow
part; here a resampled midrank is read off cumulative counts instead. The exact sign-flip
p-value equals ``scipy.stats.permutation_test(..., permutation_type="samples")`` and every
resampled correlation equals ``scipy.stats.spearmanr`` / ``pearsonr`` on that resample; both are
checked in ``tests/eval/test_significance.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from eval.metrics import STS_METRICS, sts_metrics
from models.errors import InvalidValueError

__all__ = [
    "ConfidenceInterval",
    "PairedComparison",
    "bootstrap_ci",
    "bootstrap_cis",
    "compare_paired",
    "paired_randomization_test",
    "paired_randomization_tests",
    "sts_bootstrap_ci",
    "sts_paired_bootstrap",
]

DEFAULT_SEED = 0
_CHUNK_ELEMENTS = 4_000_000  # resampled values held at once (32 MB of float64)

ArrayLike = Sequence[float] | np.ndarray


@dataclass(frozen=True)
class ConfidenceInterval:
    """A point estimate with its percentile-bootstrap interval [low, high]."""

    estimate: float
    low: float
    high: float
    confidence: float
    n_resamples: int


@dataclass(frozen=True)
class PairedComparison:
    """Variant vs baseline on the same items: scores, difference (variant - baseline), CI, p-value."""

    baseline: float
    variant: float
    difference: float
    difference_ci: ConfidenceInterval
    p_value: float
    test: str


def _vector(values: ArrayLike, name: str) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} must be finite")
    return x


def _paired(variant: ArrayLike, baseline: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    a, b = _vector(variant, "variant"), _vector(baseline, "baseline")
    if a.shape != b.shape:
        raise ValueError(f"variant and baseline must be paired (same length), got {a.size} and {b.size}")
    return a, b


def _check(n_resamples: int, confidence: float | None = None) -> None:
    if n_resamples < 1:
        raise ValueError("n_resamples must be >= 1")
    if confidence is not None and not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be in (0, 1)")


def _chunks(total: int, n: int) -> list[tuple[int, int]]:
    step = max(1, _CHUNK_ELEMENTS // n)
    return [(start, min(start + step, total)) for start in range(0, total, step)]


def _percentiles(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = 1.0 - confidence
    low, high = np.quantile(samples, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _bootstrap_means(x: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    # Means of the deviations from x[0], then shifted back: the same numbers up to rounding, but a
    # constant array gives exactly its constant (no summation error).
    ref = x[0]
    dev = x - ref
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples, dtype=np.float64)
    for start, stop in _chunks(n_resamples, x.size):
        idx = rng.integers(0, x.size, size=(stop - start, x.size))
        means[start:stop] = dev[idx].mean(axis=1)
    return ref + means


def bootstrap_ci(
    values: ArrayLike,
    *,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = DEFAULT_SEED,
) -> ConfidenceInterval:
    """Percentile-bootstrap CI of the mean of per-query `values` (see the module docstring)."""
    _check(n_resamples, confidence)
    x = _vector(values, "values")
    estimate = float(x[0] + (x - x[0]).mean())
    low, high = _percentiles(_bootstrap_means(x, n_resamples, seed), confidence)
    return ConfidenceInterval(estimate, low, high, confidence, n_resamples)


def paired_randomization_test(
    variant: ArrayLike,
    baseline: ArrayLike,
    *,
    n_resamples: int = 10_000,
    seed: int = DEFAULT_SEED,
) -> float:
    """Two-sided p-value of the paired sign-flip randomisation test of mean(variant - baseline).

    Exact (all 2**Q sign assignments) when 2**Q <= n_resamples, Monte Carlo otherwise; see the
    module docstring for the exact definition.
    """
    _check(n_resamples)
    a, b = _paired(variant, baseline)
    d = a - b
    n = d.size
    observed = abs(d.sum())
    threshold = observed - 100 * np.finfo(np.float64).eps * observed
    total = d.sum()
    # A sign vector s = 2 * flips - 1 gives sum(s * d) = 2 * (flips @ d) - sum(d).
    if n < 63 and 2**n <= n_resamples:
        codes = np.arange(2**n, dtype=np.int64)[:, None]
        flips = ((codes >> np.arange(n)) & 1).astype(np.float64)
        count = int(np.count_nonzero(np.abs(2 * (flips @ d) - total) >= threshold))
        return count / 2**n
    rng = np.random.default_rng(seed)
    count = 0
    for start, stop in _chunks(n_resamples, n):
        bits = rng.integers(0, 256, size=(stop - start, (n + 7) // 8), dtype=np.uint8)
        flips = np.unpackbits(bits, axis=1, count=n).astype(np.float64)  # uniform 0/1
        count += int(np.count_nonzero(np.abs(2 * (flips @ d) - total) >= threshold))
    return (1 + count) / (1 + n_resamples)


def _matrix(values: ArrayLike, name: str) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 2 or x.size == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array [items, columns], got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} must be finite")
    return x


def _draw_counts(rng: np.random.Generator, rows: int, n: int) -> np.ndarray:
    """[rows, n] float64: how often each of n items is drawn in each of `rows` resamples (the
    draws `bootstrap_ci` makes with the same generator)."""
    idx = rng.integers(0, n, size=(rows, n))
    flat = (idx + (np.arange(rows) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(np.float64)


def bootstrap_cis(
    values: ArrayLike,
    *,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = DEFAULT_SEED,
) -> list[ConfidenceInterval]:
    """`bootstrap_ci` of each column of `values` [Q, C], all on the same resamples of the Q rows.

    Column j gives what `bootstrap_ci(values[:, j], seed=seed)` gives, up to float rounding
    (a resample mean is summed in another order).
    """
    _check(n_resamples, confidence)
    x = _matrix(values, "values")
    n = x.shape[0]
    ref = x[0]
    dev = x - ref  # [Q, C]; a constant column then resamples to exactly its constant
    rng = np.random.default_rng(seed)
    means = np.empty((n_resamples, x.shape[1]), dtype=np.float64)
    for start, stop in _chunks(n_resamples, n):
        means[start:stop] = _draw_counts(rng, stop - start, n) @ dev / n  # [rows, C]
    means += ref
    out = []
    for j in range(x.shape[1]):
        low, high = _percentiles(means[:, j], confidence)
        estimate = float(ref[j] + dev[:, j].mean())
        out.append(ConfidenceInterval(estimate, low, high, confidence, n_resamples))
    return out


def paired_randomization_tests(
    variant: ArrayLike,
    baseline: ArrayLike,
    *,
    n_resamples: int = 10_000,
    seed: int = DEFAULT_SEED,
) -> np.ndarray:
    """`paired_randomization_test` of each column of `variant` [Q, C] against the same column of
    `baseline` [Q, C], all on the same sign flips -> [C] two-sided p-values."""
    _check(n_resamples)
    a, b = _matrix(variant, "variant"), _matrix(baseline, "baseline")
    if a.shape != b.shape:
        raise ValueError(f"variant and baseline must be paired (same shape), got {a.shape} and {b.shape}")
    d = a - b  # [Q, C]
    n = d.shape[0]
    total = d.sum(axis=0)  # [C]
    observed = np.abs(total)
    threshold = observed - 100 * np.finfo(np.float64).eps * observed
    if n < 63 and 2**n <= n_resamples:
        codes = np.arange(2**n, dtype=np.int64)[:, None]
        flips = ((codes >> np.arange(n)) & 1).astype(np.float64)  # [2**Q, Q]
        return np.count_nonzero(np.abs(2 * (flips @ d) - total) >= threshold, axis=0) / 2**n
    rng = np.random.default_rng(seed)
    count = np.zeros(d.shape[1], dtype=np.int64)
    for start, stop in _chunks(n_resamples, n):
        bits = rng.integers(0, 256, size=(stop - start, (n + 7) // 8), dtype=np.uint8)
        flips = np.unpackbits(bits, axis=1, count=n).astype(np.float64)  # [rows, Q] uniform 0/1
        count += np.count_nonzero(np.abs(2 * (flips @ d) - total) >= threshold, axis=0)
    return (1 + count) / (1 + n_resamples)


def compare_paired(
    variant: ArrayLike,
    baseline: ArrayLike,
    *,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = DEFAULT_SEED,
) -> PairedComparison:
    """Variant vs baseline on the same queries (per-query metric arrays in the same order).

    ``p_value``: `paired_randomization_test` (two-sided sign-flip test of the mean difference);
    ``difference_ci``: paired percentile-bootstrap CI of mean(variant - baseline).
    """
    _check(n_resamples, confidence)
    a, b = _paired(variant, baseline)
    ci = bootstrap_ci(a - b, n_resamples=n_resamples, confidence=confidence, seed=seed)
    return PairedComparison(
        baseline=float(b.mean()),
        variant=float(a.mean()),
        difference=ci.estimate,
        difference_ci=ci,
        p_value=paired_randomization_test(a, b, n_resamples=n_resamples, seed=seed),
        test="paired randomisation (sign-flip) test of the mean difference, two-sided; "
        "paired percentile bootstrap CI",
    )


# --- STS: correlations over pairs, bootstrap over pairs -------------------------------------------


def _midrank_table(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Rank of every original item within each resample, ties averaged (as `scipy.stats.rankdata`).

    `counts[r, j]` is how many times item j is drawn in resample r. Within resample r, item j's
    midrank is (#drawn items with a smaller value) + (#drawn items with an equal value + 1) / 2,
    read off a cumulative sum of the counts in value order - no per-resample sort needed.
    """
    rows, n = counts.shape
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    is_start = np.ones(n, dtype=bool)
    is_start[1:] = ordered[1:] != ordered[:-1]
    group = np.cumsum(is_start) - 1  # tie group of each position in value order
    start = np.flatnonzero(is_start)
    stop = np.append(start[1:], n)
    cum = np.zeros((rows, n + 1), dtype=np.float64)
    np.cumsum(counts[:, order], axis=1, out=cum[:, 1:])
    below, upto = cum[:, start], cum[:, stop]
    table = np.empty((rows, n), dtype=np.float64)
    table[:, order] = (below + (upto - below + 1) / 2)[:, group]
    return table


def _centred(x: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    if weights is None:
        return x - x.mean(axis=1, keepdims=True)
    return x - (weights * x).sum(axis=1, keepdims=True) / weights.sum(axis=1, keepdims=True)


def _correlation(xc: np.ndarray, yc: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Pearson r per row of centred x and y, item j of row r weighted by weights[r, j] if given.

    NaN where x or y is constant in the row (0/0).
    """
    wx = xc if weights is None else weights * xc
    sxy = np.einsum("ij,ij->i", wx, yc)
    sxx = np.einsum("ij,ij->i", wx, xc)
    syy = np.einsum("ij,ij->i", yc if weights is None else weights * yc, yc)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.clip(sxy / np.sqrt(sxx * syy), -1.0, 1.0)


def _resampled_correlations(
    systems: list[np.ndarray], gold: np.ndarray, metric: str, idx: np.ndarray
) -> np.ndarray:
    """(len(systems), rows) correlation of each system with gold on each resample idx[r] of the pairs.

    NaN where the resample is constant in the system or in gold.
    """
    rows, n = idx.shape
    out = np.empty((len(systems), rows), dtype=np.float64)
    if metric == "pearson":
        # On the resampled values themselves; a constant row is detected exactly (min == max)
        # because its centred values need not be exactly 0.
        g = gold[idx]
        gc, g_constant = _centred(g), np.ptp(g, axis=1) == 0
        for k, system in enumerate(systems):
            x = system[idx]
            out[k] = _correlation(_centred(x), gc)
            out[k, g_constant | (np.ptp(x, axis=1) == 0)] = np.nan
        return out
    # Spearman: weighted Pearson over the n original items, item j weighted by its multiplicity
    # in the resample, on its midrank within the resample. Ranks are half-integers and weights
    # integers, so a constant resample gives exactly 0 variance (-> NaN).
    counts = np.bincount((idx + (np.arange(rows) * n)[:, None]).ravel(), minlength=rows * n)
    counts = counts.reshape(rows, n).astype(np.float64)
    gc = _centred(_midrank_table(gold, counts), counts)
    for k, system in enumerate(systems):
        out[k] = _correlation(_centred(_midrank_table(system, counts), counts), gc, counts)
    return out


def _bootstrap_correlations(
    systems: list[np.ndarray], gold: np.ndarray, metric: str, n_resamples: int, seed: int
) -> np.ndarray:
    """(len(systems), n_resamples) correlations, every system on the same resamples of the pairs."""
    n = gold.size
    rng = np.random.default_rng(seed)
    out = np.empty((len(systems), n_resamples), dtype=np.float64)
    for start, stop in _chunks(n_resamples, n * (len(systems) + 2)):
        idx = rng.integers(0, n, size=(stop - start, n))
        out[:, start:stop] = _resampled_correlations(systems, gold, metric, idx)
    return out


def _sts_inputs(metric: str, gold: ArrayLike, *systems: tuple[ArrayLike, str]) -> tuple[np.ndarray, ...]:
    if metric not in STS_METRICS:
        raise ValueError(f"unknown STS metric {metric!r}; valid: {', '.join(STS_METRICS)}")
    g = _vector(gold, "gold")
    arrays = []
    for values, name in systems:
        x = _vector(values, name)
        if x.shape != g.shape:
            raise ValueError(f"{name} and gold must have the same length, got {x.size} and {g.size}")
        arrays.append(x)
    if g.size < 3:
        raise InvalidValueError("need at least 3 pairs to bootstrap a correlation")
    for x, name in [(g, "gold")] + [(x, name) for x, (_, name) in zip(arrays, systems, strict=True)]:
        if np.ptp(x) == 0:
            raise InvalidValueError(f"{name} is constant: the correlation is undefined")
    return (g, *arrays)


def sts_bootstrap_ci(
    predicted: ArrayLike,
    gold: ArrayLike,
    *,
    metric: str = "spearman",
    n_resamples: int = 2_000,
    confidence: float = 0.95,
    seed: int = DEFAULT_SEED,
) -> ConfidenceInterval:
    """Percentile-bootstrap CI of a correlation (``spearman`` or ``pearson``), resampling pairs.

    The estimate is `eval.metrics.sts_metrics` on all pairs.
    """
    _check(n_resamples, confidence)
    g, x = _sts_inputs(metric, gold, (predicted, "predicted"))
    estimate = sts_metrics(x, g, (metric,))[metric]
    r = _bootstrap_correlations([x], g, metric, n_resamples, seed)[0]
    r = r[np.isfinite(r)]
    if r.size == 0:
        raise InvalidValueError("the correlation is undefined on every resample")
    low, high = _percentiles(r, confidence)
    return ConfidenceInterval(estimate, low, high, confidence, int(r.size))


def sts_paired_bootstrap(
    variant: ArrayLike,
    baseline: ArrayLike,
    gold: ArrayLike,
    *,
    metric: str = "spearman",
    n_resamples: int = 2_000,
    confidence: float = 0.95,
    seed: int = DEFAULT_SEED,
) -> PairedComparison:
    """Paired bootstrap over pairs of the correlation difference variant - baseline.

    Both systems are re-scored on the same resamples of the pairs; CI = percentile interval of
    the resampled differences, p = two-sided null-shifted bootstrap test (module docstring).
    """
    _check(n_resamples, confidence)
    g, a, b = _sts_inputs(metric, gold, (variant, "variant"), (baseline, "baseline"))
    r_variant = sts_metrics(a, g, (metric,))[metric]
    r_baseline = sts_metrics(b, g, (metric,))[metric]
    observed = r_variant - r_baseline
    r = _bootstrap_correlations([a, b], g, metric, n_resamples, seed)
    deltas = r[0] - r[1]
    deltas = deltas[np.isfinite(deltas)]
    if deltas.size == 0:
        raise InvalidValueError("the correlation is undefined on every resample")
    threshold = abs(observed) - 100 * np.finfo(np.float64).eps * abs(observed)
    p_value = (1 + int(np.count_nonzero(np.abs(deltas - observed) >= threshold))) / (1 + deltas.size)
    low, high = _percentiles(deltas, confidence)
    return PairedComparison(
        baseline=r_baseline,
        variant=r_variant,
        difference=observed,
        difference_ci=ConfidenceInterval(observed, low, high, confidence, int(deltas.size)),
        p_value=p_value,
        test=f"paired bootstrap over pairs of the {metric} difference (null-shifted, two-sided); "
        "percentile CI",
    )
