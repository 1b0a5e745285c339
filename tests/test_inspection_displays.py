"""The inspection Displays with the Agg backend."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from scipy.stats import spearmanr
from sklearn.exceptions import NotFittedError
from sklearn.inspection import permutation_importance
from sklearn.linear_model import Ridge

from skdrop import (
    DropoutLinearRegression,
    DropoutLinearRegressionCV,
    DropoutLogisticRegression,
    DropoutLogisticRegressionCV,
    DropoutMLPClassifier,
    DropoutMLPRegressor,
)
from skdrop.inspection import (
    AblationImportanceDisplay,
    LossCurveDisplay,
    RidgeComparisonDisplay,
    ablation_importance,
    compare_with_logistic,
    compare_with_ridge,
    loss_curves,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def ridge_result(request):
    X, y = request.getfixturevalue("cancer_regression")
    return compare_with_ridge(X, y, input_dropouts=[0.0, 0.1, 0.5, 0.9], cv=3)


def test_ridge_display_from_results(ridge_result):
    display = RidgeComparisonDisplay.from_results(ridge_result)
    assert display.ax_.shape == (2,)
    assert display.figure_ is display.ax_[0].figure
    n_features = len(ridge_result.feature_names)
    assert len(display.lines_["dropout"]) == len(display.lines_["ridge"]) == n_features
    # Both paths share the x positions: the matched alphas.
    x = display.lines_["dropout"][0].get_xdata()
    np.testing.assert_allclose(x, ridge_result.ridge_alpha)
    np.testing.assert_allclose(
        display.lines_["ridge"][3].get_ydata(),
        ridge_result.ridge_coef[:, 3] * ridge_result.feature_scale[3],
    )
    assert "held-out r2" in display.ax_[1].get_ylabel()


def test_ridge_display_on_given_axes(ridge_result):
    fig, axes = plt.subplots(2, 1)
    display = RidgeComparisonDisplay(result=ridge_result).plot(ax=axes)
    assert display.figure_ is fig
    with pytest.raises(ValueError, match="ax must hold 2 matplotlib Axes, got 1"):
        RidgeComparisonDisplay(result=ridge_result).plot(ax=axes[0])


def test_ridge_display_from_estimator(diabetes):
    X, y = diabetes
    display = RidgeComparisonDisplay.from_estimator(
        DropoutLinearRegressionCV(input_dropouts=[0.0, 0.3, 0.6]), X, y, cv=3
    )
    assert list(display.result.dropouts) == [0.0, 0.3, 0.6]
    with pytest.raises(TypeError, match="needs a DropoutLinearRegression"):
        RidgeComparisonDisplay.from_estimator(Ridge(), X, y)
    with pytest.raises(ValueError, match="fit_intercept=False"):
        RidgeComparisonDisplay.from_estimator(
            DropoutLinearRegression(fit_intercept=False), X, y
        )


@pytest.fixture(scope="module")
def logistic_results():
    """Binary and three-class comparisons on small raw tables."""
    from sklearn.datasets import load_breast_cancer

    from skdrop.datasets import load_penguins

    X, y = load_breast_cancer(return_X_y=True)
    binary = compare_with_logistic(X[:, :4], y, input_dropouts=[0.1, 0.3, 0.6], cv=3)
    frame = load_penguins().dropna(subset=["bill_length_mm", "flipper_length_mm"])
    X3 = frame[["bill_length_mm", "flipper_length_mm"]]
    three = compare_with_logistic(X3, frame["species"], input_dropouts=[0.1, 0.5], cv=3)
    return binary, three


def test_ridge_display_draws_a_binary_logistic_comparison(logistic_results):
    result = logistic_results[0]
    display = RidgeComparisonDisplay.from_results(result)
    assert len(display.lines_["dropout"]) == len(display.lines_["ridge"]) == 4
    # The shared axis is the matched L2 strength 1 / C.
    np.testing.assert_allclose(
        display.lines_["ridge"][2].get_xdata(), 1 / result.l2_C, rtol=1e-12
    )
    np.testing.assert_allclose(
        display.lines_["dropout"][2].get_ydata(),
        result.coef[:, 0, 2] * result.feature_scale[2],
    )
    assert "1/C" in display.ax_[0].get_xlabel()
    assert "coefficient of 1" in display.ax_[0].get_ylabel()
    assert "held-out neg_log_loss" in display.ax_[1].get_ylabel()
    labels = [t.get_text() for t in display.ax_[1].get_legend().get_texts()]
    assert any(label.startswith("LogisticRegression, tuned C=") for label in labels)
    assert "L2 logistic (same total penalty)" in labels
    # The top axis reads the rates at their own matched strengths.
    top = display.ax_[0].figure.axes[-2]
    assert top.get_xticklabels()[0].get_text() == "0.1"
    assert top.get_xticks()[0] == pytest.approx(result.l2_alpha[0])


def test_ridge_display_draws_class_centered_sizes_for_three_classes(
    logistic_results,
):
    result = logistic_results[1]
    display = RidgeComparisonDisplay.from_results(result)
    assert len(display.lines_["dropout"]) == 2
    centered = result.l2_coef - result.l2_coef.mean(axis=1, keepdims=True)
    size = np.sqrt((centered[:, :, 1] ** 2).sum(axis=1)) * result.feature_scale[1]
    np.testing.assert_allclose(display.lines_["ridge"][1].get_ydata(), size)
    assert "class-centered" in display.ax_[0].get_ylabel()


def test_ridge_display_from_a_logistic_estimator():
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    X = X[:, :3]
    display = RidgeComparisonDisplay.from_estimator(
        DropoutLogisticRegressionCV(input_dropouts=[0.2, 0.5]), X, y, cv=3
    )
    assert list(display.result.dropouts) == [0.2, 0.5]
    assert display.result.task == "classification"
    with pytest.raises(ValueError, match="as LogisticRegression does"):
        RidgeComparisonDisplay.from_estimator(
            DropoutLogisticRegression(fit_intercept=False), X, y
        )


@pytest.fixture(scope="module")
def ablation_results(request):
    X, y = request.getfixturevalue("diabetes")
    model = DropoutLinearRegression(0.2)
    return {
        m: ablation_importance(model, X, y, cv=3, method=m, random_state=0)
        for m in ("refit", "mask", "permutation")
    }


def test_ablation_display_sorted_bars_and_rank_correlations(ablation_results):
    main = ablation_results["refit"]
    others = {"mask": ablation_results["mask"]}
    display = AblationImportanceDisplay.from_results(main, others=others)
    assert display.figure_ is display.ax_.figure
    assert len(display.bars_) == 2
    widths = [bar.get_width() for bar in display.bars_[0]]
    assert widths == sorted(widths, reverse=True)
    ticks = display.ax_.get_yticks()
    labels = [t.get_text() for t in display.ax_.get_yticklabels()]
    order = np.argsort(main.importances_mean)[::-1]
    # Read top down, the labels go from the most to the least important.
    top_down = [
        label for _, label in sorted(zip(ticks, labels, strict=True), reverse=True)
    ]
    assert top_down == [f"x{j}" for j in order]
    expected = spearmanr(main.importances_mean, others["mask"].importances_mean)[0]
    assert display.rank_correlations["mask"] == pytest.approx(expected)
    assert main.rank_correlation(others["mask"]) == pytest.approx(expected)
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend[1] == f"mask (Spearman {expected:.2f})"
    # Built by hand without correlations, the display draws none.
    bare = AblationImportanceDisplay(result=main, others=others).plot()
    legend = [t.get_text() for t in bare.ax_.get_legend().get_texts()]
    assert legend[1] == "mask"


def _ranks(values):
    return np.argsort(np.argsort(values))


def test_ablation_display_with_permutation_importance(diabetes, ablation_results):
    X, y = diabetes
    fitted = DropoutLinearRegression(0.2).fit(X, y)
    perm = permutation_importance(fitted, X, y, n_repeats=3, random_state=0)
    display = AblationImportanceDisplay.from_results(
        ablation_results["refit"],
        others={"permutation_importance": perm},
        max_features=4,
    )
    assert len(display.bars_[1]) == 4
    # Spearman's rho is Pearson's on the ranks (the means have no ties).
    refit_ranks = _ranks(ablation_results["refit"].importances_mean)
    perm_ranks = _ranks(perm.importances_mean)
    assert len(set(refit_ranks)) == len(set(perm_ranks)) == 10
    expected = np.corrcoef(refit_ranks, perm_ranks)[0, 1]
    rho = display.rank_correlations["permutation_importance"]
    assert rho == pytest.approx(expected, rel=1e-12)
    # Both rate bmi and s5 (columns 2 and 8) as the two most important.
    assert set(np.argsort(perm.importances_mean)[-2:]) == {2, 8}
    assert rho > 0.5


def test_ablation_display_from_estimator(diabetes):
    X, y = diabetes
    display = AblationImportanceDisplay.from_estimator(
        DropoutLinearRegression(0.2), X, y, compare=["mask", "permutation"], cv=3
    )
    assert set(display.rank_correlations) == {"mask", "permutation"}
    assert len(display.bars_) == 3
    with pytest.raises(ValueError, match="compare must list methods among"):
        AblationImportanceDisplay.from_estimator(
            DropoutLinearRegression(), X, y, compare=["refit"]
        )


def test_ablation_display_rejects_mismatched_results(ablation_results):
    main = ablation_results["refit"]
    short = ablation_importance(
        Ridge(), np.ones((20, 3)) + np.arange(20)[:, None] ** [1, 2, 3], np.arange(20.0)
    )
    with pytest.raises(
        ValueError, match="has 3 importances but the main result has 10"
    ):
        AblationImportanceDisplay.from_results(main, others={"other": short})
    with pytest.raises(TypeError, match="needs importances_mean"):
        AblationImportanceDisplay.from_results(main, others={"other": {"a": 1}})
    with pytest.raises(TypeError, match="others must be a dict"):
        AblationImportanceDisplay.from_results(main, others=[main])
    with pytest.raises(ValueError, match="max_features must be at least 1"):
        AblationImportanceDisplay.from_results(main, max_features=0)


@pytest.fixture(scope="module")
def two_networks():
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return {
        f"p={p}": DropoutMLPClassifier(
            (32,), hidden_dropout=p, early_stopping=True, max_iter=25, random_state=0
        ).fit(X, y)
        for p in (0.0, 0.5)
    }


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_loss_curve_display_plots_curves_and_gaps(two_networks):
    display = LossCurveDisplay.from_estimator(two_networks)
    assert display.figure_ is display.ax_.figure
    for label, model in two_networks.items():
        train, valid = display.lines_[label]
        np.testing.assert_allclose(train.get_ydata(), model.loss_curve_)
        np.testing.assert_allclose(valid.get_ydata(), model.validation_loss_curve_)
        expected = model.validation_loss_curve_[-1] - model.loss_curve_[-1]
        assert display.result.gaps[label] == pytest.approx(expected)
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    gap = display.result.gaps["p=0.5"]
    assert f"p=0.5: validation (final gap {gap:+.3g})" in legend


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_loss_curve_display_accepts_lists_pipelines_and_sklearn(diabetes):
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = diabetes
    ours = make_pipeline(
        StandardScaler(), DropoutMLPRegressor((8,), max_iter=5, random_state=0)
    ).fit(X, y)
    theirs = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    theirs.fit(X, y)
    display = LossCurveDisplay.from_estimator([ours, theirs], log_scale=True)
    assert list(display.result.gaps) == ["DropoutMLPRegressor", "MLPRegressor"]
    assert display.result.gaps["MLPRegressor"] is None  # no validation loss
    assert display.ax_.get_yscale() == "log"
    with pytest.raises(ValueError, match="names has 1 entries for 2 estimators"):
        LossCurveDisplay.from_estimator([ours, theirs], names=["a"])
    with pytest.raises(TypeError, match="Ridge has no loss_curve_"):
        LossCurveDisplay.from_estimator(Ridge().fit(X, y))
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(DropoutMLPRegressor())


def test_loss_curves_of_recorded_pairs_and_their_display():
    train, valid = [1.0, 0.6, 0.5], [1.1, 0.9, 0.8]
    result = loss_curves({"a": (train, valid), "b": (train, None)})
    assert result.gaps == {"a": pytest.approx(0.8 - 0.5), "b": None}
    np.testing.assert_array_equal(result.curves["a"][1], valid)
    assert loss_curves([(train, valid)]).gaps == {"curve": pytest.approx(0.3)}
    display = LossCurveDisplay.from_results(result)
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend == ["a: training", "a: validation (final gap +0.3)", "b: training"]
    with pytest.raises(ValueError, match=r"a pair .* got a tuple of 3"):
        loss_curves({"a": (train, valid, valid)})


def test_ridge_display_reads_the_estimators_old_names():
    """An estimator set with ``dropouts`` / ``objective`` (before 0.3) is
    compared at those settings, with their FutureWarnings."""
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    X = X[:150, :3]
    y = y[:150]
    search = DropoutLogisticRegressionCV(dropouts=[0.2, 0.5], objective="quadratic")
    with pytest.warns(FutureWarning) as caught:
        display = RidgeComparisonDisplay.from_estimator(search, X, y, cv=2)
    messages = " ".join(str(w.message) for w in caught)
    assert "'dropouts' was renamed" in messages and "objective='quadratic'" in messages
    assert list(display.result.dropouts) == [0.2, 0.5]
