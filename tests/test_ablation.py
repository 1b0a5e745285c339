"""ablation_importance: refit, mask and permutation, groups, the linear fast path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import LinAlgWarning
from sklearn import get_config
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.datasets import load_diabetes
from sklearn.dummy import DummyRegressor
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, get_scorer, r2_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    RobustScaler,
    StandardScaler,
)

from skdrop import (
    DropoutLinearRegression,
    DropoutLogisticRegression,
    DropoutLogisticRegressionCV,
    DropoutMLPClassifier,
    DropoutMLPRegressor,
)
from skdrop.datasets import load_penguins
from skdrop.inspection import _ablation as ablation_module
from skdrop.inspection import ablation_importance

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def hand_refit_loop(estimator, X, y, units, scoring="r2", n_splits=5, seeds=None):
    """Drop-column importance written out: the reference for the tool.

    ``seeds`` gives the ``random_state`` of every fit of each split."""
    scorer = get_scorer(scoring)
    X = np.asarray(X, dtype=float)
    out = np.empty((len(units), n_splits))
    for s, (train, test) in enumerate(KFold(n_splits).split(X)):
        if seeds is not None:
            estimator = clone(estimator).set_params(random_state=int(seeds[s]))
        base = clone(estimator).fit(X[train], y[train])
        baseline = scorer(base, X[test], y[test])
        for u, unit in enumerate(units):
            keep = np.setdiff1d(np.arange(X.shape[1]), unit)
            model = clone(estimator).fit(X[train][:, keep], y[train])
            out[u, s] = baseline - scorer(model, X[test][:, keep], y[test])
    return out


def test_refit_matches_a_hand_written_loop(diabetes):
    X, y = diabetes
    result = ablation_importance(Ridge(alpha=0.1), X, y, cv=KFold(5), scoring="r2")
    expected = hand_refit_loop(Ridge(alpha=0.1), X, y, [[j] for j in range(10)])
    np.testing.assert_allclose(result.importances, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(result.importances_mean, expected.mean(axis=1))
    np.testing.assert_allclose(result.importances_std, expected.std(axis=1))
    assert list(result.feature_names) == [f"x{j}" for j in range(10)]
    assert result.method == "refit" and result.scoring == "r2"


def test_refit_matches_a_hand_written_loop_for_an_mlp(diabetes):
    X, y = diabetes
    X, y = X[:200, :4], (y[:200] - y.mean()) / y.std()
    mlp = DropoutMLPRegressor(
        (8,), input_dropout=0.1, max_iter=20, random_state=3, learning_rate_init=0.01
    )
    result = ablation_importance(mlp, X, y, cv=KFold(5), scoring="r2", random_state=0)
    seeds = result.split_seeds
    assert len(set(seeds)) == 5 and 3 not in seeds  # the tool's seeds, not 3
    expected = hand_refit_loop(mlp, X, y, [[j] for j in range(4)], seeds=seeds)
    np.testing.assert_allclose(result.importances, expected, atol=1e-12)


@pytest.mark.parametrize("dataset", ["diabetes", "cancer_regression"])
@pytest.mark.parametrize("dropout", [0.0, 0.1, 0.6])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_linear_fast_path_equals_the_refit_loop(
    request, dataset, dropout, fit_intercept, monkeypatch
):
    X, y = request.getfixturevalue(dataset)
    model = DropoutLinearRegression(dropout, fit_intercept=fit_intercept)
    slow = refit_loop(model, X, y, monkeypatch, cv=KFold(4))
    if not (dataset == "cancer_regression" and dropout == 0.0):
        # Unpenalized least squares on the breast-cancer columns is too
        # ill-conditioned for a downdate (rcond < 1e-8): that case refits.
        monkeypatch.setattr(ablation_module, "_refit_score", _must_not_refit)
    fast = ablation_importance(model, X, y, cv=KFold(4))
    np.testing.assert_allclose(fast.baseline_scores, slow.baseline_scores, atol=1e-12)
    np.testing.assert_allclose(fast.importances, slow.importances, rtol=0, atol=1e-8)


class NoShortcut(DropoutLinearRegression):
    """The same model without exact refits to offer: ablation refits it."""

    def drop_column_refits(self, X, y, column_groups, sample_weight=None):
        return None


def refit_loop(estimator, X, y, monkeypatch, **kwargs):
    """ablation_importance with the linear fast path switched off."""
    if isinstance(estimator, Pipeline):
        estimator = clone(estimator)
        name, final = estimator.steps[-1]
        estimator.steps[-1] = (name, NoShortcut(**final.get_params(deep=False)))
    else:
        estimator = NoShortcut(**estimator.get_params(deep=False))
    return ablation_importance(estimator, X, y, **kwargs)


def _must_not_refit(*args, **kwargs):
    raise AssertionError("the linear fast path refitted")


def test_linear_fast_path_with_groups_and_two_targets(diabetes_one_hot, monkeypatch):
    X, y, groups = diabetes_one_hot
    Y = np.column_stack([y, X["bmi"] * 3.0 + np.sin(y)])
    X = X.drop(columns="bmi")
    model = DropoutLinearRegression(0.3, feature_groups=groups)
    slow = refit_loop(model, X, Y, monkeypatch, cv=KFold(5))
    monkeypatch.setattr(ablation_module, "_refit_score", _must_not_refit)
    fast = ablation_importance(model, X, Y, cv=KFold(5))
    assert [list(u) for u in fast.feature_groups] == [
        list(u) for u in slow.feature_groups
    ]
    np.testing.assert_allclose(fast.importances, slow.importances, atol=1e-8)
    assert list(fast.feature_names[:2]) == ["sex", "age"]


def test_linear_fast_path_falls_back_on_a_singular_system(diabetes, monkeypatch):
    X, y = diabetes
    X = np.column_stack([X, X[:, 0]])  # a duplicated column, no penalty
    model = DropoutLinearRegression(0.0)
    with pytest.warns(LinAlgWarning):
        slow = refit_loop(model, X, y, monkeypatch, cv=KFold(3))
    with pytest.warns(LinAlgWarning):
        fast = ablation_importance(model, X, y, cv=KFold(3))
    np.testing.assert_allclose(fast.importances, slow.importances, atol=1e-10)


def test_groups_remove_whole_blocks(diabetes_one_hot):
    X, y, groups = diabetes_one_hot
    result = ablation_importance(
        Ridge(alpha=1.0),
        X,
        y,
        cv=KFold(5),
        feature_groups={"sex": groups[0], "age": groups[1]},
    )
    names = list(X.columns)
    units = [[names.index(c) for c in g] for g in groups]
    units += [[j] for j in range(len(names)) if not any(j in u for u in units)]
    units.sort(key=lambda u: u[0])
    expected = hand_refit_loop(Ridge(alpha=1.0), X, y, units)
    np.testing.assert_allclose(result.importances, expected, atol=1e-12)
    assert [list(u) for u in result.feature_groups] == units
    assert list(result.feature_names[:2]) == ["sex", "age"]


def test_default_groups_come_from_the_estimator(diabetes_one_hot):
    X, y, groups = diabetes_one_hot
    model = DropoutLinearRegression(0.2, feature_groups=groups)
    own = ablation_importance(model, X, y, cv=KFold(5))
    given = ablation_importance(
        DropoutLinearRegression(0.2, feature_groups=groups),
        X,
        y,
        cv=KFold(5),
        feature_groups=groups,
    )
    assert len(own.feature_groups) == X.shape[1] - len(groups[0]) - len(groups[1]) + 2
    np.testing.assert_allclose(own.importances, given.importances, atol=1e-12)


def test_a_categorical_column_is_one_unit_and_mask_means_missing():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    y = y.to_numpy()
    X = X.assign(sex=np.where(X["sex"] > 0, "m", "f"))
    model = DropoutLinearRegression(0.2)
    refit = ablation_importance(model, X, y, cv=KFold(5))
    assert list(refit.feature_names) == list(X.columns)
    assert [len(u) for u in refit.feature_groups] == [1] * 10
    scorer = get_scorer("r2")
    sex = list(X.columns).index("sex")
    for s, (train, test) in enumerate(KFold(5).split(X)):
        full = clone(model).fit(X.iloc[train], y[train])
        assert full.coef_.shape == (11,)  # sex is a two-column block
        without = clone(model).fit(X.iloc[train].drop(columns="sex"), y[train])
        expected = scorer(full, X.iloc[test], y[test]) - scorer(
            without, X.iloc[test].drop(columns="sex"), y[test]
        )
        assert refit.importances[sex, s] == pytest.approx(expected, abs=1e-12)

    mask = ablation_importance(model, X, y, cv=KFold(5), method="mask")
    for s, (train, test) in enumerate(KFold(5).split(X)):
        fitted = clone(model).fit(X.iloc[train], y[train])
        blanked = X.iloc[test].assign(sex=None)
        expected = scorer(fitted, X.iloc[test], y[test]) - scorer(
            fitted, blanked, y[test]
        )
        assert mask.importances[sex, s] == pytest.approx(expected, abs=1e-12)


def test_mask_matches_zeroed_columns(diabetes):
    X, y = diabetes
    model = DropoutLinearRegression(0.3)
    result = ablation_importance(model, X, y, cv=KFold(5), method="mask")
    scorer = get_scorer("r2")
    for s, (train, test) in enumerate(KFold(5).split(X)):
        fitted = clone(model).fit(X[train], y[train])
        base = scorer(fitted, X[test], y[test])
        assert result.baseline_scores[s] == pytest.approx(base, abs=1e-12)
        for j in range(X.shape[1]):
            zeroed = X[test].copy()
            zeroed[:, j] = 0.0
            expected = base - scorer(fitted, zeroed, y[test])
            assert result.importances[j, s] == pytest.approx(expected, abs=1e-12)


def test_permutation_is_reproducible_and_sees_a_noise_column(diabetes):
    X, y = diabetes
    rng = np.random.default_rng(0)
    X = np.column_stack([X, rng.normal(size=len(y))])
    model = DropoutLinearRegression(0.1)
    a = ablation_importance(model, X, y, method="permutation", random_state=1)
    b = ablation_importance(model, X, y, method="permutation", random_state=1)
    np.testing.assert_array_equal(a.importances, b.importances)
    # The noise column's coefficient is tiny: permuting it costs ~nothing,
    # while the strongest features (bmi, s5) cost several points of R^2.
    assert abs(a.importances_mean[-1]) < 0.005
    assert a.importances_mean[[2, 8]].min() > 0.05


def test_prefit_mask_scores_the_given_model(diabetes):
    X, y = diabetes
    fitted = DropoutLinearRegression(0.2).fit(X[:300], y[:300])
    result = ablation_importance(fitted, X[300:], y[300:], cv="prefit", method="mask")
    assert result.importances.shape == (10, 1)
    base = fitted.score(X[300:], y[300:])
    assert result.baseline_scores[0] == pytest.approx(base)
    zeroed = X[300:].copy()
    zeroed[:, 2] = 0.0
    assert result.importances[2, 0] == pytest.approx(
        base - fitted.score(zeroed, y[300:])
    )


def test_prefit_needs_a_fitted_estimator_and_no_refit(diabetes):
    X, y = diabetes
    with pytest.raises(NotFittedError, match="needs a fitted estimator"):
        ablation_importance(DropoutLinearRegression(), X, y, cv="prefit", method="mask")
    with pytest.raises(ValueError, match=r"cv='prefit'.*not method='refit'"):
        ablation_importance(
            DropoutLinearRegression().fit(X, y), X, y, cv="prefit", method="refit"
        )


def test_removing_every_column_leaves_the_best_constant(diabetes):
    X, y = diabetes
    result = ablation_importance(
        Ridge(), X, y, cv=KFold(5), feature_groups=[list(range(10))]
    )
    scorer = get_scorer("r2")
    for s, (train, test) in enumerate(KFold(5).split(X)):
        base = scorer(Ridge().fit(X[train], y[train]), X[test], y[test])
        const = scorer(DummyRegressor().fit(X[train], y[train]), X[test], y[test])
        assert result.importances[0, s] == pytest.approx(base - const, abs=1e-12)


def test_column_naming_parameters_follow_a_removed_column():
    model = DropoutLinearRegression(
        feature_groups=[[0, 1], [4, 5]], categorical_features=[3, 5]
    )
    adjusted = ablation_module._without_columns(clone(model), [2], np.zeros((3, 6)))
    assert adjusted.feature_groups == [[0, 1], [3, 4]]
    assert adjusted.categorical_features == [2, 4]
    adjusted = ablation_module._without_columns(clone(model), [4], np.zeros((3, 6)))
    assert adjusted.feature_groups == [[0, 1], [4]]
    frame = pd.DataFrame(np.zeros((2, 3)), columns=["a", "b", "c"])
    named = DropoutLinearRegression(feature_groups=[["a", "b"]])
    assert ablation_module._without_columns(named, [0], frame).feature_groups == [["b"]]
    assert (
        ablation_module._without_columns(
            DropoutLinearRegression(feature_groups=[["a"]]), [0], frame
        ).feature_groups
        is None
    )


def test_parallel_equals_serial_and_random_state_fixes_the_fits(diabetes):
    X, y = diabetes
    X, y = X[:150, :3], (y[:150] - y.mean()) / y.std()
    mlp = DropoutMLPRegressor((8,), input_dropout=0.2, max_iter=15)
    serial = ablation_importance(mlp, X, y, cv=3, random_state=0)
    parallel = ablation_importance(mlp, X, y, cv=3, random_state=0, n_jobs=2)
    np.testing.assert_array_equal(serial.importances, parallel.importances)
    np.testing.assert_array_equal(serial.baseline_scores, parallel.baseline_scores)


def test_classifier_uses_stratified_splits_and_accuracy(rng):
    # Sorted by class: unstratified folds would hold one class each.
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] + 0.1 * rng.normal(size=120) > 0).astype(int)
    order = np.argsort(y, kind="stable")
    X, y = X[order], y[order]
    result = ablation_importance(LogisticRegression(), X, y, cv=4)
    expected = np.empty((3, 4))
    baselines = np.empty(4)
    for s, (train, test) in enumerate(StratifiedKFold(4).split(X, y)):
        base = LogisticRegression().fit(X[train], y[train])
        baselines[s] = accuracy_score(y[test], base.predict(X[test]))
        for j in range(3):
            keep = [k for k in range(3) if k != j]
            model = LogisticRegression().fit(X[train][:, keep], y[train])
            accuracy = accuracy_score(y[test], model.predict(X[test][:, keep]))
            expected[j, s] = baselines[s] - accuracy
    np.testing.assert_array_equal(result.baseline_scores, baselines)
    np.testing.assert_allclose(result.importances, expected, rtol=0, atol=1e-15)
    assert result.importances_mean[0] > 0.2
    assert np.abs(result.importances_mean[1:]).max() < 0.05
    # With a random_state the folds are shuffled, and still stratified: each
    # test part holds the classes in the proportions of y, to one row.
    model = LogisticRegression()
    splits = ablation_module._splits(model, X, y, 4, 0, np.random.RandomState(0))
    assert any(
        not np.array_equal(t, u)
        for (_, t), (_, u) in zip(splits, StratifiedKFold(4).split(X, y), strict=True)
    )
    share = y.mean()
    for _, test in splits:
        assert abs(y[test].sum() - share * len(test)) <= 1


def test_mask_with_a_classifier_scores_accuracy_on_stratified_splits(rng):
    X = rng.normal(size=(90, 3))
    y = (X[:, 0] > 0).astype(int)
    clf = DropoutMLPClassifier((4,), max_iter=5, random_state=0)
    # random_state=None: unshuffled folds, fit seeds from fresh entropy.
    masked = ablation_importance(clf, X, y, cv=3, method="mask")
    for s, (train, test) in enumerate(StratifiedKFold(3).split(X, y)):
        seeded = clone(clf).set_params(random_state=int(masked.split_seeds[s]))
        fitted = seeded.fit(X[train], y[train])
        base = accuracy_score(y[test], fitted.predict(X[test]))
        zeroed = X[test].copy()
        zeroed[:, 0] = 0.0
        expected = base - accuracy_score(y[test], fitted.predict(zeroed))
        assert masked.importances[0, s] == pytest.approx(expected, abs=1e-15)


def test_verbose_shows_a_progress_bar(diabetes, capsys):
    X, y = diabetes
    ablation_importance(Ridge(), X[:, :3], y, cv=2, verbose=True)
    assert "ablation (refit)" in capsys.readouterr().err


def test_to_frame(diabetes):
    X, y = diabetes
    frame = ablation_importance(Ridge(), X, y, cv=3).to_frame()
    assert list(frame.columns) == [
        "importance_mean",
        "importance_std",
        "ci_low",
        "ci_high",
        "distinguishable",
        "split0",
        "split1",
        "split2",
    ]
    assert frame.index.name == "feature" and len(frame) == 10
    assert frame["distinguishable"].dtype == bool


def test_bad_input_errors(diabetes):
    X, y = diabetes
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(10)])
    with pytest.raises(ValueError, match="unknown column 'nope'"):
        ablation_importance(Ridge(), frame, y, feature_groups=[["f0", "nope"]])
    with pytest.raises(ValueError, match="column index 12, out of range"):
        ablation_importance(Ridge(), X, y, feature_groups=[[1, 12]])
    with pytest.raises(ValueError, match="must not overlap"):
        ablation_importance(Ridge(), X, y, feature_groups=[[0, 1], [1, 2]])
    with pytest.raises(ValueError, match="'scoring' parameter"):
        ablation_importance(Ridge(), X, y, scoring="not_a_metric")
    with pytest.raises(ValueError, match="'method' parameter"):
        ablation_importance(Ridge(), X, y, method="drop")
    with pytest.raises(ValueError, match="different numbers of rows"):
        ablation_importance(Ridge(), X, y[:-1])
    with pytest.raises(ValueError, match="must be 2-d"):
        ablation_importance(Ridge(), X[:, 0], y)


@pytest.mark.parametrize("scoring", ["r2", "neg_mean_absolute_error"])
def test_linear_fast_path_with_a_named_scorer(cancer_regression, scoring, monkeypatch):
    X, y = cancer_regression
    y = y.copy()
    y[:5] = y[0]
    model = DropoutLinearRegression(0.3)
    slow = refit_loop(model, X, y, monkeypatch, cv=KFold(3), scoring=scoring)
    monkeypatch.setattr(ablation_module, "_refit_score", _must_not_refit)
    fast = ablation_importance(model, X, y, cv=KFold(3), scoring=scoring)
    np.testing.assert_allclose(fast.importances, slow.importances, atol=1e-8)


def _must_not_offer(*args, **kwargs):
    raise AssertionError("drop_column_refits was asked for a non-exact case")


@pytest.mark.parametrize(
    "steps",
    [
        [StandardScaler()],
        [MinMaxScaler()],
        [MaxAbsScaler()],
        [RobustScaler()],
        ["passthrough", StandardScaler(with_mean=False)],
        [],
    ],
    ids=["standard", "minmax", "maxabs", "robust", "passthrough+scale", "final-only"],
)
def test_linear_fast_path_in_a_pipeline_of_column_wise_steps(
    cancer_regression, steps, monkeypatch
):
    X, y = cancer_regression
    pipe = make_pipeline(*steps, DropoutLinearRegression(0.2))
    groups = [[0, 3, 4], [10, 11]]
    slow = refit_loop(pipe, X, y, monkeypatch, cv=KFold(4), feature_groups=groups)
    # The refit loop really refits the scaler: a hand-written loop agrees.
    units = [list(u) for u in slow.feature_groups]
    expected = hand_refit_loop(pipe, X, y, units, n_splits=4)
    np.testing.assert_allclose(slow.importances, expected, rtol=0, atol=1e-12)
    monkeypatch.setattr(ablation_module, "_refit_score", _must_not_refit)
    fast = ablation_importance(pipe, X, y, cv=KFold(4), feature_groups=groups)
    np.testing.assert_allclose(fast.baseline_scores, slow.baseline_scores, atol=1e-12)
    # Both solve systems with condition numbers up to 1e8 (the downdate's
    # limit), so they agree to about 1e8 * eps * |score| ~ 1e-8.
    np.testing.assert_allclose(fast.importances, slow.importances, rtol=0, atol=1e-8)


def test_pipeline_with_a_row_wise_step_refits(diabetes, monkeypatch):
    # Normalizer scales each row by its norm over all columns: without a
    # column the other columns change, so the downdate would not be a refit.
    X, y = diabetes
    pipe = make_pipeline(Normalizer(), DropoutLinearRegression(0.1))
    monkeypatch.setattr(DropoutLinearRegression, "drop_column_refits", _must_not_offer)
    result = ablation_importance(pipe, X, y, cv=KFold(3))
    expected = hand_refit_loop(pipe, X, y, [[j] for j in range(10)], n_splits=3)
    np.testing.assert_allclose(result.importances, expected, rtol=0, atol=1e-12)


def test_which_pipelines_are_offered_exact_refits():
    from skdrop.inspection._exact_refits import exact_refits_offered

    linear = DropoutLinearRegression(0.2)
    assert exact_refits_offered(linear)
    assert exact_refits_offered(make_pipeline(StandardScaler(), linear))
    assert exact_refits_offered(make_pipeline("passthrough", RobustScaler(), linear))
    assert not exact_refits_offered(Ridge())
    assert not exact_refits_offered(make_pipeline(StandardScaler(), Ridge()))
    assert not exact_refits_offered(make_pipeline(Normalizer(), linear))
    # Its groups name transformed columns, which a refit does not adjust.
    grouped = DropoutLinearRegression(feature_groups=[[0, 1]])
    assert not exact_refits_offered(make_pipeline(StandardScaler(), grouped))

    class MyScaler(StandardScaler):  # a subclass may transform differently
        pass

    assert not exact_refits_offered(make_pipeline(MyScaler(), linear))


def test_an_estimator_declining_on_one_split_refits_that_split(diabetes, monkeypatch):
    X, y = diabetes
    model = DropoutLinearRegression(0.2)
    original = DropoutLinearRegression.drop_column_refits
    calls = []

    def declines_second(self, X, y, column_groups, sample_weight=None):
        calls.append(len(X))
        return None if len(calls) == 2 else original(self, X, y, column_groups)

    monkeypatch.setattr(DropoutLinearRegression, "drop_column_refits", declines_second)
    mixed = ablation_importance(model, X, y, cv=KFold(3))
    assert len(calls) == 3
    slow = refit_loop(model, X, y, monkeypatch, cv=KFold(3))
    np.testing.assert_allclose(mixed.importances, slow.importances, atol=1e-10)


def test_exact_refits_skip_the_checks_the_baseline_did(diabetes):
    X, y = diabetes
    checked = []

    def scorer(model, X_test, y_test):
        checked.append(not get_config()["assume_finite"])
        if len(checked) == 2:  # the first refit: scored again, with checks
            return np.nan
        return r2_score(y_test, model.predict(X_test))

    model = DropoutLinearRegression(0.1)
    result = ablation_importance(model, X, y, cv=KFold(2), scoring=scorer)
    # Per split the baseline with checks, then ten refits without; the NaN
    # score of the first refit is taken again after them, with checks.
    assert checked[:12] == [True] + [False] * 10 + [True]
    assert checked[12:] == [True] + [False] * 10
    assert get_config()["assume_finite"] is False
    plain = ablation_importance(model, X, y, cv=KFold(2))
    np.testing.assert_allclose(result.importances, plain.importances, atol=1e-15)


# Common random numbers, repeats and intervals ---------------------------------

FITS = []  # (random_state, n_columns, training rows) of every SeedRecorder fit


class SeedRecorder(RegressorMixin, BaseEstimator):
    """Predicts the training mean and records the seed it was fitted with."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y):
        X = np.asarray(X)
        FITS.append((self.random_state, X.shape[1], frozenset(np.asarray(y).tolist())))
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


class SeededScaler(StandardScaler):
    """A transformer with a ``random_state`` of its own, which it records."""

    def __init__(self, random_state=None):
        super().__init__()
        self.random_state = random_state

    def fit(self, X, y=None):
        FITS.append(("scaler", self.random_state, np.asarray(X).shape[1]))
        return super().fit(X, y)


def _fits_by_split(n_units):
    """The recorded fits grouped by training rows: {rows: [(seed, n_cols)]}."""
    by_split = {}
    for seed, n_columns, rows in FITS:
        by_split.setdefault(rows, []).append((seed, n_columns))
    for fits in by_split.values():
        # The baseline on every column and one refit without each unit.
        assert sorted(n for _, n in fits) == [3] * n_units + [4]
    return by_split


@pytest.mark.parametrize("random_state", [None, 0])
@pytest.mark.parametrize("n_repeats", [1, 2])
def test_fits_of_a_split_share_a_seed_and_splits_differ(random_state, n_repeats):
    X = np.random.default_rng(0).normal(size=(40, 4))
    y = np.arange(40.0)  # distinct targets: the training rows name the split
    FITS.clear()
    result = ablation_importance(
        SeedRecorder(random_state=7),
        X,
        y,
        cv=4,
        n_repeats=n_repeats,
        random_state=random_state,
    )
    by_split = _fits_by_split(4)
    assert len(by_split) == 4 * n_repeats  # repeats draw new splits
    seeds = [{seed for seed, _ in fits} for fits in by_split.values()]
    assert all(len(s) == 1 for s in seeds)  # one seed within a split
    seeds = [s.pop() for s in seeds]
    assert len(set(seeds)) == len(seeds)  # and another in every split
    # In the order of the splits, as the result reports them; the
    # estimator's own random_state=7 is replaced.
    assert seeds == [int(s) for s in result.split_seeds]
    assert 7 not in seeds
    FITS.clear()
    again = ablation_importance(
        SeedRecorder(), X, y, cv=4, n_repeats=n_repeats, random_state=random_state
    )
    if random_state is None:  # fresh entropy each call
        assert set(again.split_seeds).isdisjoint(result.split_seeds)
    else:
        np.testing.assert_array_equal(again.split_seeds, result.split_seeds)


def test_every_random_state_of_a_pipeline_gets_the_split_seed():
    X = np.random.default_rng(0).normal(size=(30, 4))
    y = np.arange(30.0)
    pipe = make_pipeline(SeededScaler(random_state=1), SeedRecorder(random_state=2))
    FITS.clear()
    result = ablation_importance(pipe, X, y, cv=3, random_state=0)
    scalers = [f for f in FITS if f[0] == "scaler"]
    FITS[:] = [f for f in FITS if f[0] != "scaler"]
    by_split = _fits_by_split(4)
    # Fits run split by split: the scaler of each fit took the same seed as
    # the regressor after it.
    assert [seed for _, seed, _ in scalers] == [
        seed for fits in by_split.values() for seed, _ in fits
    ]
    assert [seed for seed, _, _ in FITS[::5]] == [int(s) for s in result.split_seeds]


def test_repeats_draw_new_splits_and_keep_the_first(diabetes):
    X, y = diabetes
    cv = KFold(5, shuffle=True, random_state=0)
    once = ablation_importance(Ridge(), X, y, cv=cv)
    twice = ablation_importance(Ridge(), X, y, cv=cv, n_repeats=2, random_state=0)
    assert twice.importances.shape == (10, 10)
    assert list(twice.to_frame().columns[-10:]) == [f"split{s}" for s in range(10)]
    # The splitter as given first, then with a new random_state.
    np.testing.assert_allclose(twice.importances[:, :5], once.importances, atol=1e-12)
    assert not np.allclose(twice.baseline_scores[5:], once.baseline_scores)
    assert cv.random_state == 0  # the user's splitter is left as it was
    # An integer cv is shuffled anew in each repeat, with or without a seed.
    for random_state in (None, 3):
        result = ablation_importance(
            Ridge(), X, y, cv=3, n_repeats=3, random_state=random_state
        )
        assert result.importances.shape == (10, 9)
        assert len(np.unique(result.baseline_scores.round(12))) == 9


def test_repeats_need_splits_that_can_be_drawn_anew(diabetes):
    X, y = diabetes
    splits = list(KFold(3).split(X))
    with pytest.raises(ValueError, match="a fixed list of 3 splits cannot draw"):
        ablation_importance(Ridge(), X, y, cv=splits, n_repeats=2)
    with pytest.raises(ValueError, match=r"cv=KFold\(.*shuffle=False.*cannot draw"):
        ablation_importance(Ridge(), X, y, cv=KFold(3), n_repeats=2)
    # A fixed list of splits is fine without repeats.
    result = ablation_importance(Ridge(), X, y, cv=splits)
    assert result.importances.shape == (10, 3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_repeats": 0}, "n_repeats must be a positive int, got 0"),
        ({"n_repeats": True}, "n_repeats must be a positive int, got True"),
        ({"confidence_level": 1.5}, r"confidence_level must be in \(0, 1\), got 1.5"),
        ({"confidence_level": 0}, r"confidence_level must be in \(0, 1\), got 0"),
        ({"confidence_level": np.nan}, r"must be in \(0, 1\), got nan"),
    ],
)
def test_bad_repeats_and_confidence_level(diabetes, kwargs, message):
    X, y = diabetes
    with pytest.raises(ValueError, match=message):
        ablation_importance(Ridge(), X, y, **kwargs)


def test_bad_types_of_repeats_and_confidence_level(diabetes):
    X, y = diabetes
    with pytest.raises(TypeError, match="'n_repeats' parameter"):
        ablation_importance(Ridge(), X, y, n_repeats=2.0)
    with pytest.raises(TypeError, match="'confidence_level' parameter"):
        ablation_importance(Ridge(), X, y, confidence_level="95%")


# Student's t quantiles t(0.975; 4), t(0.95; 9) and t(0.75; 4), written out
# rather than asked of scipy as the code under test does.
T_975_4 = 2.776445105197793
T_95_9 = 1.833112932656237
T_75_4 = 0.740697084112683


def test_corrected_t_interval_by_hand():
    values = np.array([[0.10, 0.30, 0.20, 0.40, 0.00], [0.0, 0.0, 0.0, 0.0, 0.0]])
    interval = ablation_module.corrected_t_interval(values, 0.25, 0.95)
    # Mean 0.2, sample variance 0.025, corrected by (1/5 + 1/4).
    half = T_975_4 * np.sqrt(0.025 * (0.2 + 0.25))
    np.testing.assert_allclose(interval[0], [0.2 - half, 0.2 + half], rtol=1e-12)
    np.testing.assert_array_equal(interval[1], [0.0, 0.0])
    # The uncorrected interval would be sqrt(0.45 / 0.2) = 1.5 times narrower.
    naive = T_975_4 * np.sqrt(0.025 / 5)
    assert half / naive == pytest.approx(1.5)
    ten = np.tile(values[:1], 2)  # J = 10: 9 degrees of freedom
    interval = ablation_module.corrected_t_interval(ten, 0.5, 0.9)
    half = T_95_9 * np.sqrt(ten.var(ddof=1) * (0.1 + 0.5))
    np.testing.assert_allclose(interval[0], [0.2 - half, 0.2 + half], rtol=1e-12)
    one = ablation_module.corrected_t_interval(values[:, :1], 0.25)
    assert np.isnan(one).all()


def test_result_intervals_are_the_corrected_t_over_the_splits(diabetes):
    X, y = diabetes
    X = np.column_stack([X, np.random.default_rng(0).normal(size=len(y))])
    result = ablation_importance(Ridge(alpha=0.1), X, y, cv=KFold(5))
    values = result.importances
    # KFold(5) of 442 rows: test parts of 89, 89, 88, 88, 88 rows.
    ratio = np.mean([89 / 353] * 2 + [88 / 354] * 3)
    half = T_975_4 * np.sqrt(values.var(axis=1, ddof=1) * (1 / 5 + ratio))
    mean = values.mean(axis=1)
    expected = np.column_stack([mean - half, mean + half])
    np.testing.assert_allclose(result.importances_ci, expected, rtol=1e-12)
    np.testing.assert_array_equal(
        result.distinguishable, (expected[:, 0] > 0) | (expected[:, 1] < 0)
    )
    assert result.confidence_level == 0.95
    assert result.distinguishable[2] and not result.distinguishable[-1]  # bmi, noise
    frame = result.to_frame()
    np.testing.assert_array_equal(frame["ci_low"], result.importances_ci[:, 0])
    np.testing.assert_array_equal(frame["distinguishable"], result.distinguishable)
    # A lower level gives a narrower interval around the same mean.
    wide = result.importances_ci[:, 1] - result.importances_ci[:, 0]
    lower = ablation_importance(
        Ridge(alpha=0.1), X, y, cv=KFold(5), confidence_level=0.5
    )
    narrow = lower.importances_ci[:, 1] - lower.importances_ci[:, 0]
    np.testing.assert_allclose(narrow / wide, T_75_4 / T_975_4, rtol=1e-12)


def test_prefit_has_no_interval(diabetes):
    X, y = diabetes
    fitted = DropoutLinearRegression(0.2).fit(X[:300], y[:300])
    result = ablation_importance(fitted, X[300:], y[300:], cv="prefit", method="mask")
    assert np.isnan(result.importances_ci).all()
    assert not result.distinguishable.any()
    assert result.split_seeds is None
    assert fitted.get_params()["input_dropout"] == 0.2  # the given model untouched
    with pytest.raises(ValueError, match="n_repeats=2 has nothing to repeat"):
        ablation_importance(
            fitted, X[300:], y[300:], cv="prefit", method="mask", n_repeats=2
        )


@pytest.fixture(scope="module")
def penguins_with_noise():
    """Three measurements of the bundled penguins, standardized, and a column
    of pure noise; the species to predict."""
    frame = load_penguins()
    columns = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm"]
    frame = frame.dropna(subset=columns)
    X = frame[columns].to_numpy(dtype=float)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    noise = np.random.default_rng(0).normal(size=len(X))
    return np.column_stack([X, noise]), frame["species"].to_numpy()


@pytest.fixture(scope="module")
def penguin_importances(penguins_with_noise):
    X, y = penguins_with_noise
    mlp = DropoutMLPClassifier((16,), max_iter=30, learning_rate_init=0.01)
    return [
        ablation_importance(
            mlp, X, y, cv=3, n_repeats=2, random_state=seed, scoring="accuracy"
        )
        for seed in range(3)
    ]


def test_a_noise_column_is_not_distinguishable_from_zero(penguin_importances):
    for result in penguin_importances:
        low, high = result.importances_ci[-1]
        assert low < 0 < high
        assert not result.distinguishable[-1]
        assert result.importances.shape == (4, 6)


def test_an_informative_column_keeps_its_sign(penguin_importances):
    # Bill length is what tells Adelie from Chinstrap penguins: without it a
    # refitted network loses about 0.16 of accuracy.
    for result in penguin_importances:
        assert result.importances_mean[0] > 0.1
        assert result.importances_ci[0, 0] > 0 and result.distinguishable[0]
        assert result.importances_mean[0] == result.importances_mean.max()


def _agg_axes():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure()
    FigureCanvasAgg(figure)
    return figure.subplots()


def test_display_mutes_units_whose_interval_covers_zero(diabetes):
    pytest.importorskip("matplotlib")
    from matplotlib.colors import to_rgba
    from sklearn.inspection import permutation_importance

    from skdrop.inspection import AblationImportanceDisplay

    X, y = diabetes
    result = ablation_importance(Ridge(alpha=0.1), X, y, cv=KFold(5))
    assert 0 < result.distinguishable.sum() < 10
    perm = permutation_importance(Ridge(alpha=0.1).fit(X, y), X, y, random_state=0)
    display = AblationImportanceDisplay.from_results(
        result, others={"permutation": perm}, ax=_agg_axes()
    )
    display.figure_.canvas.draw()
    order = np.argsort(result.importances_mean, kind="stable")[::-1]
    main = display.bars_[0]
    np.testing.assert_array_equal(display.muted_[0], ~result.distinguishable[order])
    for patch, muted in zip(main.patches, display.muted_[0], strict=True):
        assert (patch.get_hatch() == "///") == muted
        grey = patch.get_facecolor() == to_rgba("0.82")
        assert grey == muted
    # The whiskers are the intervals: one segment from low to high per bar.
    segments = main.errorbar.lines[2][0].get_segments()
    ends = np.array([[seg[0][0], seg[1][0]] for seg in segments])
    np.testing.assert_allclose(np.sort(ends, axis=1), result.importances_ci[order])
    # permutation_importance has no interval: std whiskers, nothing muted.
    assert not display.muted_[1].any()
    assert not any(p.get_hatch() for p in display.bars_[1].patches)
    segments = display.bars_[1].errorbar.lines[2][0].get_segments()
    widths = np.array([seg[1][0] - seg[0][0] for seg in segments])
    np.testing.assert_allclose(widths, 2 * perm.importances_std[order])
    legend = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert legend[-1] == "not distinguishable from 0 (95% interval)"
    # Another level is named as such; with nothing muted there is no entry.
    level = ablation_importance(
        Ridge(alpha=0.1), X, y, cv=KFold(5), confidence_level=0.8
    )
    labels = [
        t.get_text()
        for t in AblationImportanceDisplay.from_results(level, ax=_agg_axes())
        .ax_.get_legend()
        .get_texts()
    ]
    assert labels[-1] == "not distinguishable from 0 (80% interval)"
    strong = ablation_importance(
        Ridge(alpha=0.1), X, y, cv=KFold(5), feature_groups=[[2, 3, 8]]
    )
    strong.distinguishable[:] = True
    shown = AblationImportanceDisplay.from_results(strong, ax=_agg_axes())
    assert not any(
        "distinguishable" in t.get_text() for t in shown.ax_.get_legend().get_texts()
    )


@pytest.mark.parametrize(
    "estimator",
    [
        DropoutLogisticRegression(0.2),
        DropoutLogisticRegressionCV(input_dropouts=[0.05, 0.3], cv=3),
    ],
    ids=["plain", "cv"],
)
def test_dropout_logistic_regression_refits_as_a_hand_written_loop(
    penguins_with_noise, estimator
):
    X, y = penguins_with_noise
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    result = ablation_importance(estimator, X, y, cv=cv, scoring="neg_log_loss")
    scorer = get_scorer("neg_log_loss")
    expected = np.empty((4, 3))
    for s, (train, test) in enumerate(cv.split(X, y)):
        base = clone(estimator).fit(X[train], y[train])
        baseline = scorer(base, X[test], y[test])
        for j in range(4):
            keep = np.delete(np.arange(4), j)
            model = clone(estimator).fit(X[train][:, keep], y[train])
            expected[j, s] = baseline - scorer(model, X[test][:, keep], y[test])
    np.testing.assert_allclose(result.importances, expected, rtol=1e-9, atol=1e-12)
    # Bill length separates Adelie from Chinstrap: the largest loss, an
    # interval above 0; the noise column's interval covers 0.
    assert result.importances_mean.argmax() == 0
    assert result.importances_ci[0, 0] > 0
    low, high = result.importances_ci[3]
    assert low < 0 < high and not result.distinguishable[3]
