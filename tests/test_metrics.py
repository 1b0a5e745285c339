"""skdrop.metrics against hand computations, scipy and numerical integrals."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import cross_val_score

import skdrop.metrics
from skdrop.metrics import (
    gaussian_crps,
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
        assert gaussian_crps(y[i : i + 1], mean[i : i + 1], std[i : i + 1]) == (
            pytest.approx(value, rel=1e-7)
        )


def test_crps_tends_to_the_absolute_error(predictions):
    y, mean, _ = predictions
    tiny = np.full_like(y, 1e-9)
    assert gaussian_crps(y, mean, tiny) == pytest.approx(
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
    # the bounds themselves count as inside
    assert interval_coverage([1.0], [1.0], [1.0]) == 1.0


def test_no_pair_in_place_of_two_arguments(predictions):
    """An (n, 2) array of [lower, upper] is no longer a second form."""
    y, mean, std = predictions
    pair = np.column_stack([mean - std, mean + std])
    with pytest.raises(TypeError, match="y_upper"):
        interval_coverage(y, pair)
    with pytest.raises(TypeError, match="y_upper"):
        mean_interval_width(pair)
    with pytest.raises(TypeError, match="y_std"):
        gaussian_nll(y, np.column_stack([mean, std]))


@pytest.mark.parametrize(
    "metric",
    [
        lambda y, m, s, w: gaussian_nll(y, m, s, sample_weight=w),
        lambda y, m, s, w: gaussian_crps(y, m, s, sample_weight=w),
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


def test_interval_scorer_splits_predict_interval():
    """The callable scorer of interval_coverage's Notes."""

    def coverage(estimator, X, y):
        return interval_coverage(y, *estimator.predict_interval(X).T)

    X = np.zeros((8, 1))
    y = np.array([0.0, 0.5, 2.0, -3.0] * 2)
    scores = cross_val_score(_IntervalRegressor(), X, y, cv=2, scoring=coverage)
    np.testing.assert_array_equal(scores, [0.5, 0.5])


def test_bad_input(predictions):
    y, mean, std = predictions
    with pytest.raises(ValueError, match=r"y_std must be > 0 on every row, got 0\.0"):
        gaussian_nll(y, mean, np.where(np.arange(y.size) == 3, 0.0, std))
    with pytest.raises(ValueError, match="noise_std must be > 0"):
        mc_gaussian_nll(y, np.stack([mean]), -1.0)
    with pytest.raises(ValueError, match="y_mean must have the shape of y_true"):
        gaussian_crps(y, mean[:-1], std[:-1])
    with pytest.raises(ValueError, match="y_lower must be <= y_upper"):
        interval_coverage(y, mean + 1, mean - 1)
    with pytest.raises(ValueError, match=r"y_true\[0\] is nan \(1 such values\)"):
        gaussian_nll(np.where(np.arange(y.size) == 0, np.nan, y), mean, std)
    with pytest.raises(ValueError, match=r"y_std\[2\] is inf"):
        gaussian_nll(y, mean, np.where(np.arange(y.size) == 2, np.inf, std))
    with pytest.raises(ValueError, match="y_samples must have shape"):
        mc_gaussian_nll(y, mean, 1.0)
    with pytest.raises(ValueError, match="non-zero"):
        mean_interval_width(mean, mean + 1, sample_weight=np.zeros(y.size))


# Every public metric, called on (y_true, y_mean, y_std) rows of any shape.
METRICS = {
    "gaussian_nll": lambda y, m, s, **kw: gaussian_nll(y, m, s, **kw),
    "gaussian_crps": lambda y, m, s, **kw: gaussian_crps(y, m, s, **kw),
    "mc_gaussian_nll": lambda y, m, s, **kw: mc_gaussian_nll(
        y, np.stack([m, m + s]), 1.0, **kw
    ),
    "interval_coverage": lambda y, m, s, **kw: interval_coverage(y, m - s, m + s, **kw),
    "mean_interval_width": lambda y, m, s, **kw: mean_interval_width(
        m - s, m + s, **kw
    ),
}


def test_metrics_cover_the_public_functions():
    public = {n for n in skdrop.metrics.__all__ if not n.endswith("Display")}
    assert public == set(METRICS)


@pytest.mark.parametrize("name", METRICS)
def test_empty_input_is_named(name):
    """Not scikit-learn's "Sample weights must contain ... non-zero" (bad
    input 7): the first empty argument and what is needed."""
    empty = np.zeros(0)
    argument = "y_lower" if name == "mean_interval_width" else "y_true"
    with pytest.raises(ValueError, match=rf"{argument} is empty \(shape \(0,\)\)"):
        METRICS[name](empty, empty, empty + 1.0)
    with pytest.raises(ValueError, match="is empty"):
        METRICS[name](np.zeros((3, 0)), np.zeros((3, 0)), np.ones((3, 0)))


@pytest.mark.parametrize("name", METRICS)
@pytest.mark.parametrize(
    "strings, message",
    [
        (["a", "b", "c"], r"{0} must hold real numbers \(int or float\), got .* 'a'"),
        ("abc", r"The '{0}' parameter of \w+ must be an array-like"),
    ],
)
def test_string_y_true_is_named(name, strings, message):
    """A string target names y_true (the first argument, y_lower, of
    mean_interval_width) and what it must hold (bad input 7)."""
    first = "y_lower" if name == "mean_interval_width" else "y_true"
    with pytest.raises(ValueError, match=message.format(first)):
        if name == "mean_interval_width":
            mean_interval_width(strings, np.ones(3))
        else:
            METRICS[name](strings, np.zeros(3), np.ones(3))


def test_object_y_true_that_is_not_numeric():
    y = np.array([1.0, "a", 2.0], dtype=object)
    with pytest.raises(ValueError, match=r"y_true must hold real numbers .* 'a'"):
        gaussian_nll(y, np.zeros(3), np.ones(3))


@pytest.mark.parametrize("name", METRICS)
def test_multioutput_as_scikit_learn(name, predictions):
    """raw_values gives each output's score, weights average them, and the
    default is their plain mean; a 1-d target is one output."""
    y, mean, std = predictions
    metric = METRICS[name]
    Y = np.column_stack([y, 2 * y + 1])
    M = np.column_stack([mean, 2 * mean])
    S = np.column_stack([std, 3 * std])
    each = [metric(Y[:, k], M[:, k], S[:, k]) for k in range(2)]
    raw = metric(Y, M, S, multioutput="raw_values")
    assert raw.shape == (2,)
    np.testing.assert_allclose(raw, each, rtol=1e-12)
    assert metric(Y, M, S) == pytest.approx(np.mean(each), rel=1e-12)
    weighted = metric(Y, M, S, multioutput=[1.0, 3.0])
    assert weighted == pytest.approx((each[0] + 3 * each[1]) / 4, rel=1e-12)
    assert metric(y, mean, std, multioutput="raw_values").shape == (1,)
    with pytest.raises(ValueError, match=r"one weight per output \(2\)"):
        metric(Y, M, S, multioutput=[1.0])
    with pytest.raises(ValueError, match="not all 0"):
        metric(Y, M, S, multioutput=[0.0, 0.0])
    with pytest.raises(ValueError, match="'multioutput' parameter"):
        metric(Y, M, S, multioutput="variance_weighted")


def test_old_function_name_warns_and_agrees(predictions):
    y, mean, std = predictions
    with pytest.warns(
        FutureWarning, match="'crps_gaussian' was renamed 'gaussian_crps'"
    ):
        old = skdrop.metrics.crps_gaussian(y, mean, std)
    assert old == gaussian_crps(y, mean, std)


@pytest.mark.parametrize(
    "call, old, new",
    [
        (lambda y, m, s: gaussian_nll(y, mean=m, y_std=s), "mean", "y_mean"),
        (lambda y, m, s: gaussian_crps(y, m, std=s), "std", "y_std"),
        (
            lambda y, m, s: mc_gaussian_nll(y, samples=m[None], noise_std=1.0),
            "samples",
            "y_samples",
        ),
        (
            lambda y, m, s: interval_coverage(y, lower=m - s, y_upper=m + s),
            "lower",
            "y_lower",
        ),
        (lambda y, m, s: mean_interval_width(m - s, upper=m + s), "upper", "y_upper"),
    ],
)
def test_old_argument_names_warn_and_agree(predictions, call, old, new):
    y, mean, std = predictions
    with pytest.warns(FutureWarning, match=f"'{old}' was renamed '{new}'"):
        value = call(y, mean, std)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        expected = {
            "y_mean": lambda: gaussian_nll(y, mean, std),
            "y_std": lambda: gaussian_crps(y, mean, std),
            "y_samples": lambda: mc_gaussian_nll(y, mean[None], 1.0),
            "y_lower": lambda: interval_coverage(y, mean - std, mean + std),
            "y_upper": lambda: mean_interval_width(mean - std, mean + std),
        }[new]()
    assert value == expected


def test_old_and_new_argument_name_together(predictions):
    y, mean, std = predictions
    with pytest.raises(ValueError, match="got both 'mean' and its new name 'y_mean'"):
        gaussian_nll(y, y_mean=mean, mean=mean, y_std=std)
