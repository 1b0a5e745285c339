"""IntervalCalibrationDisplay with the Agg backend: coverage of calibrated and
over-confident Gaussian intervals, estimators, weights, the plot, errors."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from scipy.stats import norm
from sklearn.exceptions import NotFittedError
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.linear_model import BayesianRidge, LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdrop import DropoutMLPRegressor
from skdrop.metrics import (
    IntervalCalibrationDisplay,
    interval_coverage,
    mean_interval_width,
)

DEFAULT_LEVELS = np.arange(1, 20) / 20


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def gaussian_draws():
    """y drawn exactly from N(mean, std^2), with means and stds varying."""
    rng = np.random.default_rng(0)
    n = 20000
    mean = rng.normal(scale=3.0, size=n)
    std = rng.uniform(0.1, 4.0, size=n)
    y = rng.normal(mean, std)
    return y, mean, std


@pytest.fixture
def small(rng):
    y = rng.normal(size=30)
    mean = y + rng.normal(scale=0.5, size=30)
    std = rng.uniform(0.2, 1.5, size=30)
    return y, mean, std


def test_calibrated_intervals_follow_the_diagonal(gaussian_draws):
    y, mean, std = gaussian_draws
    display = IntervalCalibrationDisplay.from_predictions(y, mean, std)
    n = len(y)
    np.testing.assert_array_equal(display.nominal, DEFAULT_LEVELS)
    # Each observed coverage is a binomial share: within 4 standard errors.
    tolerance = 4 * np.sqrt(DEFAULT_LEVELS * (1 - DEFAULT_LEVELS) / n)
    assert (np.abs(display.observed - DEFAULT_LEVELS) <= tolerance).all()
    # The mean width is 2 z mean(std), z the central quantile.
    z = norm.ppf((1 + DEFAULT_LEVELS) / 2)
    np.testing.assert_allclose(display.mean_width, 2 * z * std.mean(), rtol=1e-12)


def test_overconfident_intervals_fall_below_the_diagonal(gaussian_draws):
    y, mean, std = gaussian_draws
    display = IntervalCalibrationDisplay.from_predictions(y, mean, 0.5 * std)
    high = display.nominal >= 0.1
    assert (display.observed[high] < display.nominal[high]).all()
    # Twice too wide: above the diagonal (under-confident).
    wide = IntervalCalibrationDisplay.from_predictions(y, mean, 2.0 * std)
    assert (wide.observed > wide.nominal).all()


def test_each_level_is_interval_coverage_of_the_central_interval(small):
    y, mean, std = small
    levels = [0.9, 0.5]
    display = IntervalCalibrationDisplay.from_predictions(y, mean, std, levels=levels)
    np.testing.assert_array_equal(display.nominal, [0.5, 0.9])  # sorted
    for level, observed, width in zip(
        display.nominal, display.observed, display.mean_width, strict=True
    ):
        half = norm.ppf((1 + level) / 2) * std
        inside = np.mean((mean - half <= y) & (y <= mean + half))
        assert observed == pytest.approx(inside, abs=1e-15)
        assert observed == interval_coverage(y, mean - half, mean + half)
        assert width == pytest.approx(mean_interval_width(mean - half, mean + half))


def test_two_dimensional_targets_average_over_outputs(rng):
    y = rng.normal(size=(40, 3))
    mean = y + rng.normal(scale=0.7, size=(40, 3))
    std = rng.uniform(0.3, 1.5, size=(40, 3))
    display = IntervalCalibrationDisplay.from_predictions(y, mean, std)
    per_output = [
        IntervalCalibrationDisplay.from_predictions(
            y[:, j], mean[:, j], std[:, j]
        ).observed
        for j in range(3)
    ]
    np.testing.assert_allclose(display.observed, np.mean(per_output, axis=0))


def test_from_estimator_is_from_predictions_of_predict(diabetes):
    X, y = diabetes
    model = BayesianRidge().fit(X[:300], y[:300])
    display = IntervalCalibrationDisplay.from_estimator(model, X[300:], y[300:])
    mean, std = model.predict(X[300:], return_std=True)
    expected = IntervalCalibrationDisplay.from_predictions(y[300:], mean, std)
    np.testing.assert_array_equal(display.nominal, expected.nominal)
    np.testing.assert_array_equal(display.observed, expected.observed)
    np.testing.assert_array_equal(display.mean_width, expected.mean_width)
    assert display.estimator_name == "BayesianRidge"
    assert display.line_.get_label() == "BayesianRidge"
    named = IntervalCalibrationDisplay.from_estimator(
        model, X[300:], y[300:], name="Bayesian ridge"
    )
    assert named.line_.get_label() == "Bayesian ridge"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    "model",
    [
        make_pipeline(StandardScaler(), BayesianRidge()),
        GaussianProcessRegressor(alpha=0.5, normalize_y=True),
        DropoutMLPRegressor(
            (16,), hidden_dropout=0.1, max_iter=5, random_state=0, n_iter_no_change=5
        ),
    ],
    ids=["pipeline", "gaussian-process", "dropout-mlp"],
)
def test_from_estimator_takes_other_regressors(diabetes, model):
    X, y = diabetes
    X, y = X[:120], y[:120]
    model.fit(X, y)
    display = IntervalCalibrationDisplay.from_estimator(model, X, y, levels=[0.5, 0.9])
    assert display.observed.shape == (2,)
    assert ((display.observed >= 0) & (display.observed <= 1)).all()
    assert (np.diff(display.mean_width) > 0).all()


def test_integer_weights_equal_repeated_rows(small):
    y, mean, std = small
    weights = np.arange(len(y)) % 4  # zeros drop rows
    weighted = IntervalCalibrationDisplay.from_predictions(
        y, mean, std, sample_weight=weights
    )
    rows = np.repeat(np.arange(len(y)), weights)
    repeated = IntervalCalibrationDisplay.from_predictions(
        y[rows], mean[rows], std[rows]
    )
    np.testing.assert_allclose(weighted.observed, repeated.observed, rtol=1e-12)
    np.testing.assert_allclose(weighted.mean_width, repeated.mean_width, rtol=1e-12)
    unweighted = IntervalCalibrationDisplay.from_predictions(y, mean, std)
    assert not np.allclose(weighted.observed, unweighted.observed)


def test_plot_attributes_labels_and_reference_line(small):
    y, mean, std = small
    display = IntervalCalibrationDisplay.from_predictions(
        y, mean, std, name="model", color="C3"
    )
    ax = display.ax_
    assert display.figure_ is ax.figure
    np.testing.assert_array_equal(display.line_.get_xdata(), display.nominal)
    np.testing.assert_array_equal(display.line_.get_ydata(), display.observed)
    assert display.line_.get_color() == "C3"
    assert ax.get_xlabel() == "Expected (nominal) coverage"
    assert ax.get_ylabel() == "Observed coverage"
    assert ax.get_xlim() == ax.get_ylim() == (0.0, 1.0)
    assert len(ax.get_lines()) == 2
    reference = ax.get_lines()[0]
    np.testing.assert_array_equal(reference.get_xdata(), [0, 1])
    np.testing.assert_array_equal(reference.get_ydata(), [0, 1])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Perfectly calibrated", "model"]


def test_plot_on_given_axes_without_reference_line(small):
    y, mean, std = small
    fig, ax = plt.subplots()
    display = IntervalCalibrationDisplay.from_predictions(
        y, mean, std, ax=ax, ref_line=False
    )
    assert display.ax_ is ax
    assert display.figure_ is fig
    assert ax.get_lines() == [display.line_]
    assert ax.get_legend() is None  # nothing labeled


def test_curves_share_one_reference_line(small):
    y, mean, std = small
    first = IntervalCalibrationDisplay.from_predictions(y, mean, std, name="a")
    second = IntervalCalibrationDisplay(
        nominal=first.nominal, observed=first.observed / 2, estimator_name="b"
    ).plot(first.ax_)
    assert second.ax_ is first.ax_
    assert len(first.ax_.get_lines()) == 3
    legend = [t.get_text() for t in first.ax_.get_legend().get_texts()]
    assert legend == ["Perfectly calibrated", "a", "b"]
    # plot's name overrides estimator_name.
    third = second.plot(name="c")
    assert third.line_.get_label() == "c"


@pytest.mark.parametrize(
    ("levels", "match"),
    [
        ([0.0, 0.5], "strictly between 0 and 1, got 0.0"),
        ([0.5, 1.0], "strictly between 0 and 1, got 1.0"),
        ([-0.2], "strictly between 0 and 1, got -0.2"),
        ([0.5, np.nan], "strictly between 0 and 1, got nan"),
        ([], "non-empty 1-d"),
        ([[0.5, 0.9]], "non-empty 1-d"),
    ],
)
def test_bad_levels(small, levels, match):
    y, mean, std = small
    with pytest.raises(ValueError, match=match):
        IntervalCalibrationDisplay.from_predictions(y, mean, std, levels=levels)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda s: np.where(np.arange(s.size) == 3, 0.0, s), "y_std must be > 0"),
        (lambda s: -s, "y_std must be > 0"),
        (lambda s: np.where(np.arange(s.size) == 3, np.nan, s), "y_std must be finite"),
        (lambda s: np.where(np.arange(s.size) == 3, np.inf, s), "y_std must be finite"),
        (lambda s: s[:-1], "y_std must have the shape of y_true"),
        (lambda s: None, "y_std is required"),
    ],
)
def test_bad_std(small, change, match):
    y, mean, std = small
    with pytest.raises(ValueError, match=match):
        IntervalCalibrationDisplay.from_predictions(y, mean, change(std))


def test_mismatched_shapes_and_weights(small):
    y, mean, std = small
    with pytest.raises(ValueError, match="y_mean must have the shape of y_true"):
        IntervalCalibrationDisplay.from_predictions(y, mean[:-1], std)
    with pytest.raises(ValueError, match="y_mean must have the shape of y_true"):
        IntervalCalibrationDisplay.from_predictions(y, mean[:, None], std)
    with pytest.raises(ValueError, match="y_true must be finite"):
        IntervalCalibrationDisplay.from_predictions(np.full_like(y, np.nan), mean, std)
    with pytest.raises(ValueError, match="sample_weight"):
        IntervalCalibrationDisplay.from_predictions(
            y, mean, std, sample_weight=np.ones(len(y) + 1)
        )


def test_estimator_without_return_std(diabetes):
    X, y = diabetes
    with pytest.raises(
        TypeError, match=r"LinearRegression\.predict does not take return_std"
    ):
        IntervalCalibrationDisplay.from_estimator(LinearRegression().fit(X, y), X, y)
    # A pipeline passes return_std on to its last step, which refuses it.
    pipeline = make_pipeline(StandardScaler(), LinearRegression()).fit(X, y)
    with pytest.raises(TypeError, match=r"Pipeline\.predict refused it"):
        IntervalCalibrationDisplay.from_estimator(pipeline, X, y)


def test_unfitted_estimator(diabetes):
    X, y = diabetes
    with pytest.raises(NotFittedError):
        IntervalCalibrationDisplay.from_estimator(BayesianRidge(), X, y)
    with pytest.raises(NotFittedError):
        IntervalCalibrationDisplay.from_estimator(DropoutMLPRegressor(), X, y)
