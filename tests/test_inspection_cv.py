"""loss_curves, dropout_relevance and the Displays on every CV estimator,
fitted on real tables: a CV ensemble shows its fold networks."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from skdrop import (
    DropoutLinearRegressionCV,
    DropoutLogisticRegressionCV,
    DropoutMLPClassifierCV,
    DropoutMLPRegressorCV,
)
from skdrop.inspection import (
    AblationImportanceDisplay,
    DropoutRelevanceDisplay,
    LossCurveDisplay,
    ablation_importance,
    dropout_relevance,
    loss_curves,
)
from skdrop.metrics import IntervalCalibrationDisplay

matplotlib.use("Agg")
import matplotlib.pyplot as plt

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# One learned setting: the ensemble is that setting's fold networks.
NETWORK = dict(
    hidden_layer_sizes=(8,),
    input_dropouts=["learned"],
    hidden_dropouts=[0.1],
    cv=3,
    max_iter=20,
    early_stopping=True,
    learning_rate_init=0.01,
    random_state=0,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def cancer():
    """Six standardized columns of the breast cancer table."""
    X, y = load_breast_cancer(return_X_y=True)
    X = X[:, :6]
    return (X - X.mean(axis=0)) / X.std(axis=0), y


@pytest.fixture(scope="module")
def searches(diabetes_scaled, cancer):
    """Each CV estimator at its defaults (refit="ensemble" for the networks),
    with the data it was fitted on."""
    X_r, y_r = diabetes_scaled
    X_c, y_c = cancer
    return {
        "DropoutMLPRegressorCV": (
            DropoutMLPRegressorCV(**NETWORK).fit(X_r, y_r),
            X_r,
            y_r,
        ),
        "DropoutMLPClassifierCV": (
            DropoutMLPClassifierCV(**NETWORK).fit(X_c, y_c),
            X_c,
            y_c,
        ),
        "DropoutLinearRegressionCV": (
            DropoutLinearRegressionCV().fit(X_r, y_r),
            X_r,
            y_r,
        ),
        "DropoutLogisticRegressionCV": (
            DropoutLogisticRegressionCV(cv=3).fit(X_c, y_c),
            X_c,
            y_c,
        ),
    }


ENSEMBLES = ["DropoutMLPRegressorCV", "DropoutMLPClassifierCV"]
LINEAR = ["DropoutLinearRegressionCV", "DropoutLogisticRegressionCV"]


@pytest.mark.parametrize("name", ENSEMBLES)
def test_loss_curves_of_an_ensemble_are_its_fold_networks(searches, name):
    search, _, _ = searches[name]
    assert search.refit == "ensemble"
    result = loss_curves(search)
    labels = [f"{name} fold {k}" for k in range(search.n_splits_)]
    assert list(result.curves) == labels
    for label, network in zip(labels, search.estimators_, strict=True):
        train, valid = result.curves[label]
        np.testing.assert_array_equal(train, network.loss_curve_)
        np.testing.assert_array_equal(valid, network.validation_loss_curve_)
        expected = network.validation_loss_curve_[-1] - network.loss_curve_[-1]
        assert result.gaps[label] == pytest.approx(expected)
    assert next(iter(loss_curves({"cv": search}).curves)) == "cv fold 0"
    display = LossCurveDisplay.from_estimator(search)
    assert list(display.lines_) == labels
    assert all(len(lines) == 2 for lines in display.lines_.values())


def test_loss_curves_of_a_refit_and_of_no_refit(diabetes_scaled):
    X, y = diabetes_scaled
    refit = DropoutMLPRegressorCV(**{**NETWORK, "refit": True}).fit(X, y)
    result = loss_curves(refit)
    (train, _) = result.curves["DropoutMLPRegressor"]
    np.testing.assert_array_equal(train, refit.best_estimator_.loss_curve_)
    scored = DropoutMLPRegressorCV(**{**NETWORK, "refit": False}).fit(X, y)
    with pytest.raises(ValueError, match="refit=False: it scored its grid"):
        loss_curves(scored)
    with pytest.raises(ValueError, match="refit=False"):
        dropout_relevance(scored)


def test_loss_curve_of_the_logistic_cv_is_its_refit(searches):
    search, _, _ = searches["DropoutLogisticRegressionCV"]
    result = loss_curves(search)
    (train, valid) = result.curves["DropoutLogisticRegressionCV"]
    np.testing.assert_array_equal(train, search.loss_curve_)
    assert valid is None and result.gaps["DropoutLogisticRegressionCV"] is None
    display = LossCurveDisplay.from_estimator(search)
    assert len(display.lines_["DropoutLogisticRegressionCV"]) == 1


def test_linear_cv_has_no_loss_curve(searches):
    search, _, _ = searches["DropoutLinearRegressionCV"]
    with pytest.raises(TypeError, match="DropoutLinearRegressionCV has no loss_curve_"):
        loss_curves(search)
    with pytest.raises(TypeError, match="closed form"):
        LossCurveDisplay.from_estimator(search)


@pytest.mark.parametrize("name", ENSEMBLES)
def test_relevance_of_an_ensemble_averages_its_fold_networks(searches, name):
    search, X, y = searches[name]
    result = dropout_relevance(search, X, y)
    rates = np.array([network.input_dropout_ for network in search.estimators_])
    np.testing.assert_allclose(result.rate, rates.mean(axis=0))
    np.testing.assert_allclose(result.rate_std, rates.std(axis=0))
    assert (result.rate_std > 0).any()  # the folds learned different rates
    assert list(result.to_frame().columns) == [
        "keep_probability",
        "rate",
        "rate_std",
        "loss_change",
    ]
    # The loss change is the ensemble's: its averaged prediction.
    dropped = X.copy()
    dropped[:, 0] = 0.0
    if name == "DropoutMLPRegressorCV":
        expected = np.mean((search.predict(dropped) - y) ** 2) - np.mean(
            (search.predict(X) - y) ** 2
        )
    else:
        proba = np.clip(search.predict_proba(dropped), 1e-300, None)
        full = np.clip(search.predict_proba(X), 1e-300, None)
        rows = np.arange(len(y))
        expected = np.mean(np.log(full[rows, y]) - np.log(proba[rows, y]))
    assert result.loss_change[0] == pytest.approx(expected, rel=1e-6)


def test_relevance_names_the_chosen_setting_without_learned_rates(diabetes_scaled):
    X, y = diabetes_scaled
    fixed = DropoutMLPRegressorCV(**{**NETWORK, "input_dropouts": [0.1]}).fit(X, y)
    with pytest.raises(
        ValueError, match=r"got input_dropout=0\.1 \(the setting its search chose\)"
    ):
        dropout_relevance(fixed)


@pytest.mark.parametrize("name", LINEAR)
def test_relevance_of_the_linear_cv_says_it_has_no_learned_rates(searches, name):
    search, X, y = searches[name]
    with pytest.raises(ValueError, match=f"{name} has no learned input dropout rates"):
        dropout_relevance(search, X, y)


def test_relevance_display_draws_the_spread_over_folds(searches):
    search, X, y = searches["DropoutMLPRegressorCV"]
    relevance = dropout_relevance(search)
    ablation = ablation_importance(search, X, y, cv=2, method="mask", random_state=0)
    display = DropoutRelevanceDisplay.from_results(relevance, ablation)
    bars = display.ax_.containers[0]
    assert bars.has_xerr and bars.has_yerr
    np.testing.assert_allclose(display.points_.get_offsets()[:, 0], 1 - relevance.rate)
    one = dropout_relevance(search.estimators_[0])
    assert one.rate_std is None
    bare = DropoutRelevanceDisplay.from_results(one, ablation)
    assert not bare.ax_.containers[0].has_xerr


def test_relevance_display_from_a_cv_estimator(diabetes_scaled):
    X, y = diabetes_scaled
    X = X[:, :4]
    search = DropoutMLPRegressorCV(**NETWORK).fit(X, y)
    display = DropoutRelevanceDisplay.from_estimator(search, X, y, cv=2, random_state=0)
    assert len(display.points_.get_offsets()) == 4
    assert display.ax_.containers[0].has_xerr


@pytest.mark.parametrize("name", ENSEMBLES + LINEAR)
def test_ablation_display_of_every_cv_estimator(searches, name):
    search, X, y = searches[name]
    display = AblationImportanceDisplay.from_estimator(
        search, X, y, method="mask", cv=2, random_state=0
    )
    assert len(display.result.importances_mean) == X.shape[1]
    assert np.isfinite(display.result.importances_mean).all()


def test_interval_calibration_display_of_the_regressor_ensemble(searches):
    search, X, y = searches["DropoutMLPRegressorCV"]
    display = IntervalCalibrationDisplay.from_estimator(search, X, y)
    assert display.line_.get_label() == "DropoutMLPRegressorCV"
    assert ((display.observed >= 0) & (display.observed <= 1)).all()
    linear, _, _ = searches["DropoutLinearRegressionCV"]
    with pytest.raises(TypeError, match="does not take return_std"):
        IntervalCalibrationDisplay.from_estimator(linear, X, y)
