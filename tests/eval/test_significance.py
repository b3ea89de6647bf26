"""Tests of eval.significance: bootstrap CIs, paired randomisation test, STS paired bootstrap."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from eval.significance import (
    ConfidenceInterval,
    _resampled_correlations,
    bootstrap_ci,
    compare_paired,
    paired_randomization_test,
    sts_bootstrap_ci,
    sts_paired_bootstrap,
)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


# --- bootstrap CI of a mean ------------------------------------------------------------------------


def test_bootstrap_ci_of_a_constant_is_the_constant():
    ci = bootstrap_ci(np.full(500, 0.1))  # 0.1 is not exact in binary: no summation drift allowed
    assert (ci.estimate, ci.low, ci.high) == (0.1, 0.1, 0.1)
    assert ci.n_resamples == 10_000
    assert ci.confidence == 0.95


def test_bootstrap_ci_is_deterministic_and_seeded(rng):
    values = rng.random(1000)
    assert bootstrap_ci(values, n_resamples=2000) == bootstrap_ci(values, n_resamples=2000)
    assert bootstrap_ci(values, n_resamples=2000, seed=1) != bootstrap_ci(values, n_resamples=2000)


def test_bootstrap_ci_matches_the_normal_interval(rng):
    # For the mean of 2,000 uniform values the percentile interval is close to mean +- 1.96 * s / sqrt(n)
    values = rng.random(2000)
    ci = bootstrap_ci(values)
    assert ci.estimate == pytest.approx(values.mean(), abs=1e-12)
    half = 1.959964 * values.std(ddof=1) / np.sqrt(values.size)
    assert ci.low < ci.estimate < ci.high
    assert ci.low == pytest.approx(values.mean() - half, abs=0.1 * half)
    assert ci.high == pytest.approx(values.mean() + half, abs=0.1 * half)
    narrow = bootstrap_ci(values, confidence=0.5)
    assert ci.low < narrow.low < narrow.high < ci.high


def test_bootstrap_ci_rejects_bad_input():
    with pytest.raises(ValueError):
        bootstrap_ci([])
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, float("nan")])
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, 2.0], confidence=1.0)
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, 2.0], n_resamples=0)


# --- paired randomisation test -----------------------------------------------------------------------


def test_identical_systems(rng):
    a = rng.random(300)
    result = compare_paired(a, a.copy())
    assert result.p_value == 1.0
    assert (result.difference, result.difference_ci.low, result.difference_ci.high) == (0.0, 0.0, 0.0)
    assert paired_randomization_test(a[:5], a[:5]) == 1.0  # exact branch (2**5 assignments)


def test_clearly_better_system(rng):
    baseline = rng.random(200) * 0.5
    variant = baseline + 0.3
    result = compare_paired(variant, baseline)
    # Only the all-plus and all-minus sign vectors reach |mean| = 0.3 (probability 2 / 2**200):
    # none of the 10,000 draws does, so p = (1 + 0) / (1 + 10,000).
    assert result.p_value == 1 / 10_001
    assert result.p_value < 0.001
    assert result.difference == pytest.approx(0.3, abs=1e-12)
    assert result.difference_ci.low == pytest.approx(0.3, abs=1e-12)
    assert result.difference_ci.high == pytest.approx(0.3, abs=1e-12)
    assert result.variant - result.baseline == pytest.approx(0.3, abs=1e-12)


def test_exact_sign_flip_by_hand():
    # d = 1, 2, 3. The 8 signed sums: +6, +4, +2, 0, 0, -2, -4, -6; |sum| >= 6 in 2 of 8 -> p = 0.25
    assert paired_randomization_test([1.0, 2.0, 3.0], [0.0, 0.0, 0.0]) == 0.25
    # d = 1, 1, 1, 1: |sum| = 4 only for ++++ and ---- -> 2/16
    assert paired_randomization_test([2.0, 2.0, 2.0, 2.0], [1.0, 1.0, 1.0, 1.0]) == 0.125


def test_exact_branch_equals_scipy_permutation_test(rng):
    variant, baseline = rng.random(12), rng.random(12)
    ours = paired_randomization_test(variant, baseline)  # 2**12 = 4096 <= 10,000: exact
    reference = stats.permutation_test(
        (variant, baseline),
        lambda x, y, axis: np.mean(x - y, axis=axis),
        permutation_type="samples",
        vectorized=True,
        n_resamples=np.inf,
        alternative="two-sided",
    )
    assert ours == pytest.approx(reference.pvalue, abs=1e-12)


def test_monte_carlo_branch_close_to_exact():
    differences = 0.05 + 0.3 * np.sin(np.arange(16))  # mean 0.086, a borderline effect
    variant, baseline = differences + 0.5, np.full(16, 0.5)
    exact = paired_randomization_test(variant, baseline, n_resamples=2**16)  # all 65,536 sign vectors
    sampled = paired_randomization_test(variant, baseline, n_resamples=20_000)
    assert exact == pytest.approx(0.1266, abs=1e-4)
    assert sampled == pytest.approx(exact, abs=0.01)  # ~4 standard errors of the Monte Carlo estimate


def test_paired_test_is_deterministic(rng):
    a, b = rng.random(1000), rng.random(1000)
    assert paired_randomization_test(a, b, n_resamples=2000) == paired_randomization_test(
        a, b, n_resamples=2000
    )
    assert compare_paired(a, b, n_resamples=2000) == compare_paired(a, b, n_resamples=2000)
    assert compare_paired(a, b, n_resamples=2000, seed=1) != compare_paired(a, b, n_resamples=2000)


def test_full_size_run(rng):
    # 9,000 queries x 10,000 resamples (the size of the real test set), both tests.
    baseline = (rng.random(9000) < 0.6).astype(float)
    variant = np.where(rng.random(9000) < 0.1, 1.0, baseline)
    result = compare_paired(variant, baseline)
    assert result.difference_ci.low < result.difference < result.difference_ci.high
    assert result.difference_ci.low > 0
    assert result.p_value == 1 / 10_001


def test_paired_inputs_must_match():
    with pytest.raises(ValueError, match="paired"):
        compare_paired([1.0, 2.0], [1.0])


# --- STS: bootstrap over pairs -------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["spearman", "pearson"])
@pytest.mark.parametrize("n", [5, 60])
def test_resampled_correlations_equal_scipy(rng, metric, n):
    # STS-like gold 0..5 with ties, predictions rounded to create ties; n = 5 makes some resamples
    # constant, where scipy returns NaN.
    gold = rng.integers(0, 6, n).astype(float)
    predicted = np.round(gold + rng.normal(0, 1.5, n))
    idx = rng.integers(0, n, size=(200, n))
    ours = _resampled_correlations([predicted], gold, metric, idx)[0]
    function = stats.spearmanr if metric == "spearman" else stats.pearsonr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConstantInputWarning on the constant resamples
        reference = np.array([function(predicted[i], gold[i]).statistic for i in idx])
    assert np.array_equal(np.isnan(ours), np.isnan(reference))
    finite = ~np.isnan(reference)
    assert finite.sum() > 100
    np.testing.assert_allclose(ours[finite], reference[finite], rtol=0, atol=1e-12)


@pytest.fixture
def sts_data(rng):
    gold = rng.integers(0, 6, 300).astype(float)
    good = gold + rng.normal(0, 1.0, 300)
    noise = rng.normal(0, 1.0, 300)
    return gold, good, noise


@pytest.mark.parametrize("metric", ["spearman", "pearson"])
def test_sts_identical_systems(sts_data, metric):
    gold, good, _ = sts_data
    result = sts_paired_bootstrap(good, good.copy(), gold, metric=metric)
    assert result.p_value == 1.0
    assert (result.difference, result.difference_ci.low, result.difference_ci.high) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("metric", ["spearman", "pearson"])
def test_sts_clearly_better_system(sts_data, metric):
    gold, good, noise = sts_data
    result = sts_paired_bootstrap(good, noise, gold, metric=metric)
    function = stats.spearmanr if metric == "spearman" else stats.pearsonr
    assert result.variant == function(good, gold).statistic
    assert result.baseline == function(noise, gold).statistic
    assert result.difference == result.variant - result.baseline
    assert result.difference_ci.low < result.difference < result.difference_ci.high
    assert result.difference_ci.low > 0.5
    assert result.p_value == 1 / 2001  # no resample shifted to the null reaches the observed difference
    assert result.difference_ci.n_resamples == 2000


def test_sts_is_deterministic(sts_data):
    gold, good, noise = sts_data
    assert sts_paired_bootstrap(good, noise, gold) == sts_paired_bootstrap(good, noise, gold)
    assert sts_bootstrap_ci(good, gold) == sts_bootstrap_ci(good, gold)
    assert sts_bootstrap_ci(good, gold, seed=1) != sts_bootstrap_ci(good, gold)


def test_sts_bootstrap_ci(sts_data):
    gold, good, _ = sts_data
    ci = sts_bootstrap_ci(good, gold, metric="pearson")
    assert ci.estimate == stats.pearsonr(good, gold).statistic
    assert ci.low < ci.estimate < ci.high
    # a monotone transform has Spearman 1 on every resample (equal ranks): the CI is exactly [1, 1]
    assert sts_bootstrap_ci(np.exp(gold), gold) == ConfidenceInterval(1.0, 1.0, 1.0, 0.95, 2000)


def test_sts_full_size_run(rng):
    # 1,500 pairs x 2,000 resamples, Spearman (the slower one): well under a second on 2 cores
    gold = rng.random(1500) * 5
    result = sts_paired_bootstrap(gold + rng.normal(0, 1.5, 1500), gold + rng.normal(0, 1.6, 1500), gold)
    assert result.difference_ci.low < result.difference < result.difference_ci.high
    assert 0.0 < result.p_value <= 1.0


def test_sts_input_errors(sts_data):
    gold, good, _ = sts_data
    with pytest.raises(ValueError, match="spearman, pearson"):
        sts_paired_bootstrap(good, good, gold, metric="kendall")
    with pytest.raises(ValueError, match="same length"):
        sts_bootstrap_ci(good[:-1], gold)
    with pytest.raises(ValueError, match="constant"):
        sts_bootstrap_ci(good, np.ones_like(gold))
