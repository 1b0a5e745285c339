"""skdrop.metrics against hand computations, scipy and numerical integrals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import make_scorer

from skdrop.metrics import (
    crps_gaussian,
    gaussian_nll,
    interval_coverage,
    mc_gaussian_nll,
    mean_interval_width,
)


@pytest.fixture
def predictions():
    rng = np.random.default_rng(0)
    y = rng.normal(size=50)
    mean = y + rng.normal(scale=0.5, size=50)
    std = rng.uniform(0.2, 2.0, size=50)
    return y, mean, std


def test_gaussian_nll_is_scipys_log_density(predictions):
    y, mean, std = predictions
    hand = np.mean(0.5 * np.log(2 * np.pi * std**2) + (y - mean) ** 2 / (2 * std**2))
    assert gaussian_nll(y, mean, std) == pytest.approx(hand, rel=1e-12)
    assert gaussian_nll(y, mean, std) == pytest.approx(
        -norm.logpdf(y, mean, std).mean(), rel=1e-12
    )


def test_crps_matches_its_integral(predictions):
    """CRPS = integral of (F(x) - 1{x >= y})^2 dx, F the predictive cdf."""
    y, mean, std = predictions
    for i in range(5):

        def below(x, i=i):
            return norm.cdf(x, mean[i], std[i]) ** 2

        def above(x, i=i):
            return (1 - norm.cdf(x, mean[i], std[i])) ** 2

        value = integrate.quad(below, -np.inf, y[i])[0]
        value += integrate.quad(above, y[i], np.inf)[0]
        assert crps_gaussian(y[i : i + 1], mean[i : i + 1], std[i : i + 1]) == (
            pytest.approx(value, rel=1e-7)
        )


def test_crps_tends_to_the_absolute_error(predictions):
    y, mean, _ = predictions
    tiny = np.full_like(y, 1e-9)
    assert crps_gaussian(y, mean, tiny) == pytest.approx(
        np.abs(y - mean).mean(), rel=1e-6
    )


def test_mc_gaussian_nll_is_the_mixture_density(predictions):
    y, _, _ = predictions
    passes = np.random.default_rng(1).normal(size=(7, y.size)) + y
    noise = 0.8
    density = norm.pdf(y[None], passes, noise).mean(axis=0)
    assert mc_gaussian_nll(y, passes, noise) == pytest.approx(
        -np.log(density).mean(), rel=1e-12
    )
    # Gal and Ghahramani's form with tau = 1 / noise^2
    tau = 1 / noise**2
    ll = (
        np.log(np.exp(-0.5 * tau * (y[None] - passes) ** 2).sum(axis=0))
        - np.log(7)
        - 0.5 * np.log(2 * np.pi)
        + 0.5 * np.log(tau)
    )
    assert -mc_gaussian_nll(y, passes, noise) == pytest.approx(ll.mean(), rel=1e-12)


def test_intervals(predictions):
    y, mean, std = predictions
    lower, upper = mean - std, mean + std
    inside = (lower <= y) & (y <= upper)
    assert interval_coverage(y, lower, upper) == pytest.approx(inside.mean())
    assert mean_interval_width(lower, upper) == pytest.approx(2 * std.mean())
    pair = np.column_stack([lower, upper])
    assert interval_coverage(y, pair) == interval_coverage(y, lower, upper)
    assert mean_interval_width(pair) == mean_interval_width(lower, upper)
    # the bounds themselves count as inside
    assert interval_coverage([1.0], [1.0], [1.0]) == 1.0


@pytest.mark.parametrize(
    "metric",
    [
        lambda y, m, s, w: gaussian_nll(y, m, s, sample_weight=w),
        lambda y, m, s, w: crps_gaussian(y, m, s, sample_weight=w),
        lambda y, m, s, w: interval_coverage(y, m - s, m + s, sample_weight=w),
        lambda y, m, s, w: mean_interval_width(m - s, m + s, sample_weight=w),
        lambda y, m, s, w: mc_gaussian_nll(
            y, np.stack([m, m + s]), 1.0, sample_weight=w
        ),
    ],
)
def test_sample_weight_is_repeated_rows(predictions, metric):
    y, mean, std = predictions
    counts = np.random.default_rng(2).integers(0, 4, y.size)
    counts[0] = 1
    rows = np.repeat(np.arange(y.size), counts)
    weighted = metric(y, mean, std, counts)
    repeated = metric(y[rows], mean[rows], std[rows], None)
    assert weighted == pytest.approx(repeated, rel=1e-12)


def test_two_dimensional_targets_average_the_outputs(predictions):
    y, mean, std = predictions
    Y = np.column_stack([y, 2 * y])
    M = np.column_stack([mean, 2 * mean])
    S = np.column_stack([std, 2 * std])
    expected = 0.5 * (
        gaussian_nll(y, mean, std) + gaussian_nll(2 * y, 2 * mean, 2 * std)
    )
    assert gaussian_nll(Y, M, S) == pytest.approx(expected, rel=1e-12)


class _IntervalRegressor(RegressorMixin, BaseEstimator):
    """Predicts mean 0 and the interval [-1, 1]."""

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.zeros(len(X))

    def predict_interval(self, X):
        return np.column_stack([-np.ones(len(X)), np.ones(len(X))])


def test_usable_through_make_scorer():
    scorer = make_scorer(interval_coverage, response_method=("predict_interval",))
    X = np.zeros((4, 1))
    y = np.array([0.0, 0.5, 2.0, -3.0])
    assert scorer(_IntervalRegressor().fit(X, y), X, y) == 0.5


def test_bad_input(predictions):
    y, mean, std = predictions
    with pytest.raises(ValueError, match=r"std must be > 0 on every row, got 0\.0"):
        gaussian_nll(y, mean, np.where(np.arange(y.size) == 3, 0.0, std))
    with pytest.raises(ValueError, match="noise_std must be > 0"):
        mc_gaussian_nll(y, np.stack([mean]), -1.0)
    with pytest.raises(ValueError, match="mean must have the shape of y_true"):
        crps_gaussian(y, mean[:-1], std[:-1])
    with pytest.raises(ValueError, match="lower must be <= upper"):
        interval_coverage(y, mean + 1, mean - 1)
    with pytest.raises(ValueError, match="NaN or infinity"):
        gaussian_nll(np.where(np.arange(y.size) == 0, np.nan, y), mean, std)
    with pytest.raises(ValueError, match="samples must have shape"):
        mc_gaussian_nll(y, mean, 1.0)
    with pytest.raises(ValueError, match=r"\(n_samples, 2\) array"):
        interval_coverage(y, mean)
    with pytest.raises(ValueError, match="non-zero"):
        mean_interval_width(mean, mean + 1, sample_weight=np.zeros(y.size))
