"""DropoutMLPClassifierCV and DropoutMLPRegressorCV, and the member engine."""

from __future__ import annotations

import pickle
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning, FitFailedWarning
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    LeaveOneOut,
    StratifiedKFold,
    cross_val_score,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdrop import (
    DropoutMLPClassifier,
    DropoutMLPClassifierCV,
    DropoutMLPRegressor,
    DropoutMLPRegressorCV,
)
from skdrop._engine import MLPConfig, NetworkSpec, build_trainer, train
from skdrop._engine._spec import MemberPlan
from skdrop._engine._trainer import MLPTrainer

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Small grids, few epochs: the tests check equalities, not learning.
SMALL = dict(
    hidden_layer_sizes=(16,),
    input_dropouts=[0.0, 0.2],
    hidden_dropouts=[0.0, 0.4],
    cv=2,
    max_iter=8,
    learning_rate_init=0.01,
    random_state=0,
)
# Float32 training: a member and a single fit sum their products in another
# order, so weights agree to a few float32 ulps of their O(1) size after a
# few hundred steps.
WEIGHT_TOL = 2e-5


def _plain_kwargs(cv_estimator, **rates):
    names = set(cv_estimator._plain().get_params())
    params = {k: v for k, v in cv_estimator.get_params().items() if k in names}
    return {**params, **rates}


def _assert_same_network(a, b, tol=WEIGHT_TOL):
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_allclose(wa, wb, atol=tol, rtol=0)


# --- scikit-learn's estimator checks --------------------------------------


def _expected_failures(estimator):
    return {
        "check_sample_weight_equivalence_on_dense_data": (
            "repeated rows change the folds; and mini-batch training agrees with "
            "integer weights in expectation only"
        ),
        "check_sample_weight_equivalence_on_sparse_data": (
            "as on dense data: a sparse X trains as its dense copy"
        ),
    }


@parametrize_with_checks(
    [
        DropoutMLPClassifierCV(**{**SMALL, "max_iter": 30}),
        DropoutMLPRegressorCV(**{**SMALL, "max_iter": 30}),
        DropoutMLPClassifierCV(**{**SMALL, "max_iter": 30, "refit": True}),
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# --- one member equals one fit ----------------------------------------------


@pytest.mark.parametrize(
    "dropout_type", ["bernoulli", "gaussian", "alpha", "dropconnect"]
)
@pytest.mark.parametrize("early_stopping", [False, True])
def test_member_equals_single_fit(wine, dropout_type, early_stopping):
    """A fold network of the grid is the network DropoutMLPClassifier fits on
    that fold's rows with the same random_state and rates."""
    X, y = wine
    train = np.flatnonzero(np.arange(len(y)) % 3 != 0)
    test = np.flatnonzero(np.arange(len(y)) % 3 == 0)
    activation = "selu" if dropout_type == "alpha" else "relu"
    params = dict(
        SMALL,
        hidden_layer_sizes=(16, 8),
        activation=activation,
        dropout_type=dropout_type,
        input_dropouts=[0.2],
        hidden_dropouts=[(0.3, 0.1)],
        cv=[(train, test)],
        early_stopping=early_stopping,
        n_iter_no_change=2,
        max_iter=15,
    )
    search = DropoutMLPClassifierCV(**params).fit(X, y)
    member = search.estimators_[0]
    single = DropoutMLPClassifier(
        **_plain_kwargs(search, input_dropout=0.2, hidden_dropout=(0.3, 0.1))
    ).fit(X[train], y[train])
    assert member.n_iter_ == single.n_iter_
    np.testing.assert_allclose(member.loss_curve_, single.loss_curve_, rtol=1e-5)
    if early_stopping:
        np.testing.assert_allclose(
            member.validation_scores_, single.validation_scores_, atol=1e-6
        )
    _assert_same_network(member, single)


@pytest.mark.parametrize("dropout_type", ["bernoulli", "gaussian"])
def test_member_equals_single_fit_with_feature_groups(wine, dropout_type):
    """Group input dropout (one mask per row and group) trains the same
    network as a member of the grid as alone on the member's fold."""
    X, y = wine
    groups = [[0, 1, 2], [3, 4], [5, 6, 7, 8]]
    folds = list(StratifiedKFold(2, shuffle=True, random_state=0).split(X, y))
    params = dict(
        SMALL,
        dropout_type=dropout_type,
        feature_groups=groups,
        input_dropouts=[0.3],
        hidden_dropouts=[0.2],
        cv=folds,
    )
    search = DropoutMLPClassifierCV(**params).fit(X, y)
    for (rows, _), member in zip(folds, search.estimators_, strict=True):
        single = DropoutMLPClassifier(
            **_plain_kwargs(search, input_dropout=0.3, hidden_dropout=0.2)
        ).fit(X[rows], y[rows])
        assert [list(g) for g in member.feature_groups_][:3] == groups
        _assert_same_network(member, single)


def test_member_equals_single_fit_regression_weighted(diabetes_scaled):
    X, y = diabetes_scaled
    rng = np.random.default_rng(0)
    weights = rng.integers(0, 3, len(y)).astype(float)
    folds = list(KFold(3, shuffle=True, random_state=0).split(X))
    search = DropoutMLPRegressorCV(
        **dict(SMALL, input_dropouts=[0.1], hidden_dropouts=[0.3], cv=folds)
    ).fit(X, y, sample_weight=weights)
    for (rows, _), member in zip(folds, search.estimators_, strict=True):
        single = DropoutMLPRegressor(
            **_plain_kwargs(search, input_dropout=0.1, hidden_dropout=0.3)
        ).fit(X[rows], y[rows], sample_weight=weights[rows])
        _assert_same_network(member, single)


def test_diverging_member_leaves_the_others_alone():
    """A member whose rows blow the loss up is reported; the other members
    are unaffected (the engine, directly)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    X[0] = 1e30  # float32 squares overflow: that member's loss is inf
    Y = X[:, :1].copy()
    Y[0] = 0
    spec = NetworkSpec(4, (8,), 1, "relu", (0.0, 0.0), "bernoulli", "inverted", False)
    config = MLPConfig(batch_size=50, n_iter_no_change=1000)
    clean = np.arange(1, 200)
    plans = [
        MemberPlan((0.0, 0.2), (1, 2, 3), np.arange(200)),
        MemberPlan((0.0, 0.2), (1, 2, 3), clean),
    ]
    fits = MLPTrainer.for_members(
        spec, plans, "identity", config, torch.device("cpu")
    ).fit_members(torch.from_numpy(X), torch.from_numpy(Y), None, 4)
    assert fits[0].error is not None and "diverged" in fits[0].error
    assert fits[1].error is None
    trainer = build_trainer(
        replace(spec, rates=(0.0, 0.2)),
        "identity",
        config,
        [1, 2, 3],
        torch.device("cpu"),
    )
    train(trainer, X[clean], Y[clean], None, 4)
    for a, b in zip(
        trainer.network.parameters(), fits[1].network.parameters(), strict=True
    ):
        torch.testing.assert_close(a, b, atol=WEIGHT_TOL, rtol=0)


@pytest.mark.parametrize("dropout_type", ["bernoulli", "gaussian", "dropconnect"])
def test_members_sharing_a_mask_stream_equal_their_single_fits(dropout_type):
    """Members with the same mask seed and rates share one stream while their
    batches have the same size, and get their own copy when they differ
    (folds of unequal size, or a member with a smaller batch): each still
    equals its single fit."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 5)).astype(np.float32)
    Y = (X[:, :1] - X[:, 1:2]).astype(np.float32)
    spec = NetworkSpec(
        5, (12, 6), 1, "relu", (0.0, 0.0, 0.0), dropout_type, "inverted", False
    )
    config = MLPConfig(batch_size=32, n_iter_no_change=1000)
    rates = (0.2, 0.3, 0.1)
    sizes = [250, 250, 249, 20, 250]
    plans = [
        MemberPlan(rates, (7, 8, 9 + k), np.sort(rng.choice(300, n, replace=False)))
        for k, n in enumerate(sizes)
    ]
    fits = MLPTrainer.for_members(
        spec, plans, "identity", config, torch.device("cpu")
    ).fit_members(torch.from_numpy(X), torch.from_numpy(Y), None, 3)
    for plan, fit in zip(plans, fits, strict=True):
        trainer = build_trainer(
            replace(spec, rates=rates),
            "identity",
            config,
            list(plan.seeds),
            torch.device("cpu"),
        )
        train(trainer, X[plan.rows], Y[plan.rows], None, 3)
        for a, b in zip(
            trainer.network.parameters(), fit.network.parameters(), strict=True
        ):
            torch.testing.assert_close(a, b, atol=WEIGHT_TOL, rtol=0)


def _diverging_table():
    """Rows whose first split's training fold holds a row that makes every
    network diverge."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = X[:, 0] + 0.1 * rng.normal(size=120)
    X[5] = 1e30
    folds = [
        (np.arange(0, 80), np.arange(80, 120)),  # trains on row 5
        (np.arange(40, 120), np.arange(0, 40)),
    ]
    return X, y, folds


def test_diverged_networks_score_error_score_as_grid_search_cv():
    """Networks that diverge score error_score with GridSearchCV's
    FitFailedWarning and non-finite warning; the ensemble cannot keep a
    failed fold network, so it says which."""
    X, y, folds = _diverging_table()
    search = DropoutMLPRegressorCV(**dict(SMALL, cv=folds, refit=False))
    with (
        pytest.warns(FitFailedWarning, match=r"4 fits failed out of a total of 8"),
        pytest.warns(UserWarning, match="test scores are non-finite"),
    ):
        search.fit(X, y)
    assert np.isnan(search.cv_results_["split0_test_score"]).all()
    assert np.isfinite(search.cv_results_["split1_test_score"]).all()
    assert search.best_index_ == 0
    search.set_params(error_score=-5.0)
    with pytest.warns(FitFailedWarning, match="set to -5.0"):
        search.fit(X, y)
    np.testing.assert_array_equal(search.cv_results_["split0_test_score"], -5.0)
    ensemble = search.set_params(refit="ensemble")
    with (
        pytest.warns(FitFailedWarning),
        pytest.raises(FloatingPointError, match=r"its network of split 0 failed"),
    ):
        ensemble.fit(X, y)


def test_error_score_raise_reraises_the_members_error():
    X, y, folds = _diverging_table()
    search = DropoutMLPRegressorCV(**dict(SMALL, cv=folds, error_score="raise"))
    with pytest.raises(
        FloatingPointError,
        match=r"input_dropout=0.0, hidden_dropout=0.0 on split 0 failed: The "
        r"training loss became inf",
    ):
        search.fit(X, y)


def test_every_fit_failing_is_an_error():
    X, y, folds = _diverging_table()
    search = DropoutMLPRegressorCV(**dict(SMALL, cv=folds[:1]))
    with pytest.raises(ValueError, match="All the 4 fits failed"):
        search.fit(X, y)


def test_a_scorer_returning_nan_is_not_a_divergence():
    """Issue 27, bad input 1: R^2 of one test row is NaN; the scores are
    NaN with GridSearchCV's warning, and the fit goes on."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3))
    y = X[:, 0]
    search = DropoutMLPRegressorCV(
        hidden_layer_sizes=(8,),
        input_dropouts=[0.0],
        hidden_dropouts=[0.0, 0.3],
        cv=LeaveOneOut(),
        max_iter=10,
        random_state=0,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X, y)
    messages = [str(w.message) for w in caught]
    assert "One or more of the test scores are non-finite: [nan nan]" in messages
    assert not any(isinstance(w.message, FitFailedWarning) for w in caught)
    assert np.isnan(search.cv_results_["mean_test_score"]).all()
    assert search.best_params_ == {"input_dropout": 0.0, "hidden_dropout": 0.0}
    assert search.predict(X).shape == (12,)


def test_a_scorer_that_raises_scores_error_score():
    X, y = np.random.default_rng(0).normal(size=(40, 3)), np.arange(40) % 2

    def broken(estimator, X, y):
        raise RuntimeError("no score today")

    search = DropoutMLPClassifierCV(**dict(SMALL, scoring=broken, error_score=0.25))
    with pytest.warns(UserWarning, match=r"Scoring failed.*set to 0.25"):
        search.fit(X, y)
    np.testing.assert_array_equal(search.cv_results_["mean_test_score"], 0.25)
    with pytest.raises(RuntimeError, match="no score today"):
        search.set_params(error_score="raise").fit(X, y)


def test_log_loss_with_a_class_missing_from_a_test_fold():
    """Issue 27, bad input 2: a class of 2 rows with cv=3 leaves one test
    fold without it; the scorer is told the fitted classes."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = np.r_[np.zeros(19), np.ones(19), [2, 2]].astype(int)
    search = DropoutMLPClassifierCV(**dict(SMALL, cv=3, scoring="neg_log_loss"))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        # StratifiedKFold's own warning about the small class, as in
        # GridSearchCV.
        warnings.filterwarnings("ignore", "The least populated class")
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.scorer_._kwargs["labels"].tolist() == [0, 1, 2]


# --- the same scores as GridSearchCV ------------------------------------------


def _grid_search(search, X, y):
    plain = search._plain(**_plain_kwargs(search))
    grid = {
        "input_dropout": list(search.input_dropouts),
        "hidden_dropout": list(search.hidden_dropouts),
    }
    return GridSearchCV(plain, grid, cv=search.cv, scoring=search.scoring).fit(X, y)


def _by_params(results, key):
    return {
        (p["input_dropout"], p["hidden_dropout"]): v
        for p, v in zip(results["params"], results[key], strict=True)
    }


@pytest.mark.parametrize("table", ["wine", "diabetes_scaled"])
def test_same_scores_and_choice_as_grid_search(table, request):
    """On two real tables, cv_results_, the chosen rates and best_score_ are
    those of GridSearchCV over the plain estimator with the same folds and
    seeds."""
    X, y = request.getfixturevalue(table)
    classifier = table == "wine"
    folds = (StratifiedKFold if classifier else KFold)(3, shuffle=True, random_state=1)
    cls = DropoutMLPClassifierCV if classifier else DropoutMLPRegressorCV
    params = dict(SMALL, cv=list(folds.split(X, y)), max_iter=20)
    search = cls(**params).fit(X, y)
    grid = _grid_search(search, X, y)
    # One test row flipping class (accuracy) is a float32 rounding accident;
    # R^2 of nearly equal predictions agrees closely.
    tol = 1.0 / (len(y) // 3) + 1e-9 if classifier else 1e-4
    for k in range(3):
        ours = _by_params(search.cv_results_, f"split{k}_test_score")
        theirs = _by_params(grid.cv_results_, f"split{k}_test_score")
        assert ours.keys() == theirs.keys()
        for key in ours:
            assert abs(ours[key] - theirs[key]) <= tol, (key, ours[key], theirs[key])
    assert search.best_params_ == grid.best_params_
    assert search.best_index_ == grid.best_index_
    assert search.best_score_ == pytest.approx(grid.best_score_, abs=tol)


def test_cv_results_format():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 3))
    y = (X[:, 0] > 0).astype(int)
    search = DropoutMLPClassifierCV(**dict(SMALL, cv=3)).fit(X, y)
    frame = pd.DataFrame(search.cv_results_)
    assert len(frame) == 4
    for column in [
        "params",
        "mean_test_score",
        "std_test_score",
        "rank_test_score",
        "split0_test_score",
        "split2_test_score",
        "mean_fit_time",
        "param_input_dropout",
        "param_hidden_dropout",
    ]:
        assert column in frame
    best = frame["rank_test_score"].idxmin()
    assert search.best_index_ == best
    assert search.best_score_ == frame["mean_test_score"].max()
    np.testing.assert_allclose(
        frame["mean_test_score"],
        frame[[f"split{k}_test_score" for k in range(3)]].mean(axis=1),
    )
    epochs = frame[[f"split{k}_n_iter" for k in range(3)]].to_numpy()
    assert epochs.shape == (4, 3)
    assert (epochs >= 1).all()
    best = search.cv_results_["params"][search.best_index_]
    assert search.best_params_ == best
    assert search.n_splits_ == 3
    assert search.refit_time_ == 0.0
    # n_iter_ is an int, as on MLPClassifier: the most epochs a network of
    # the model ran.
    assert search.n_iter_ == max(e.n_iter_ for e in search.estimators_)
    assert search.n_iter_ == epochs[search.best_index_].max()
    X_test, y_test = X[:30], y[:30]
    assert search.scorer_(search, X_test, y_test) == search.score(X_test, y_test)


# --- refit ---------------------------------------------------------------------


def test_ensemble_predicts_the_mean_of_its_fold_networks(wine):
    X, y = wine
    search = DropoutMLPClassifierCV(**SMALL).fit(X, y)
    members = search.estimators_
    assert len(members) == 2
    assert all(isinstance(m, DropoutMLPClassifier) for m in members)
    proba = np.mean([m.predict_proba(X) for m in members], axis=0)
    np.testing.assert_allclose(search.predict_proba(X), proba)
    np.testing.assert_array_equal(
        search.predict(X), search.classes_[proba.argmax(axis=1)]
    )
    assert not hasattr(search, "best_estimator_")


def test_regressor_ensemble_mean_and_uncertainty(diabetes_scaled):
    X, y = diabetes_scaled
    search = DropoutMLPRegressorCV(**SMALL).fit(X, y)
    mean = np.mean([m.predict(X) for m in search.estimators_], axis=0)
    np.testing.assert_allclose(search.predict(X), mean)
    mu, std = search.predict(X[:5], return_std=True)
    assert mu.shape == std.shape == (5,)
    again = search.predict(X[:5], return_std=True)
    np.testing.assert_array_equal(std, again[1])
    # 7 passes, rounded up to 4 of each of the 2 fold networks.
    draws = search.mc_predict(X[:5], n_samples=7, random_state=0)
    assert draws.shape == (8, 5)


@pytest.mark.parametrize("n_samples", [1, 2, 7])
def test_monte_carlo_passes_use_every_fold_network_evenly(diabetes_scaled, n_samples):
    """Issue 27, bad input 5: without dropout the Monte Carlo mean is the
    ensemble's prediction, also for fewer passes than networks."""
    X, y = diabetes_scaled
    search = DropoutMLPRegressorCV(
        **dict(SMALL, input_dropouts=[0.0], hidden_dropouts=[0.0], cv=3)
    ).fit(X, y)
    mean, std = search.predict(X[:20], return_std=True, n_samples=n_samples)
    np.testing.assert_allclose(mean, search.predict(X[:20]), rtol=1e-12, atol=1e-12)
    draws = search.mc_predict(X[:20], n_samples=n_samples, random_state=0)
    assert len(draws) == 3 * -(-n_samples // 3)
    np.testing.assert_allclose(draws.mean(axis=0), search.predict(X[:20]), atol=1e-12)
    # The spread is the fold networks' disagreement plus the noise.
    members = np.stack([m.predict(X[:20]) for m in search.estimators_])
    np.testing.assert_allclose(
        std**2, members.var(axis=0) + search.noise_variance_[0], rtol=1e-9
    )


def test_refit_true_gives_a_plain_estimator(wine):
    X, y = wine
    search = DropoutMLPClassifierCV(
        **dict(SMALL, refit=True, early_stopping=True, n_iter_no_change=2, max_iter=30)
    )
    search.fit(X, y)
    best = search.best_estimator_
    assert type(best) is DropoutMLPClassifier
    assert best.input_dropout == search.best_params_["input_dropout"]
    assert best.hidden_dropout == search.best_params_["hidden_dropout"]
    np.testing.assert_array_equal(search.input_dropout_, best.input_dropout_)
    assert search.hidden_dropout_ == best.hidden_dropout_
    assert not best.early_stopping
    assert best.max_iter == search.refit_epochs_ == best.n_iter_ == search.n_iter_
    assert search.refit_time_ > 0
    np.testing.assert_array_equal(search.predict(X), best.predict(X))
    np.testing.assert_allclose(search.predict_proba(X), best.predict_proba(X))
    assert search.mc_predict(X[:3], n_samples=5).shape == (5, 3, 3)
    assert not hasattr(search, "estimators_")


def test_refit_false_scores_the_grid_only(wine):
    X, y = wine
    search = DropoutMLPClassifierCV(**dict(SMALL, refit=False)).fit(X, y)
    assert search.best_score_ > 0.5
    assert list(search.classes_) == [0, 1, 2]
    with pytest.raises(AttributeError, match="refit=False"):
        search.predict(X)
    # A refit after an ensemble fit forgets the fold networks.
    search.set_params(refit=True).fit(X, y)
    assert hasattr(search, "best_estimator_")
    assert not hasattr(search, "estimators_")


def test_nested_cross_validation(wine):
    X, y = wine
    inner = DropoutMLPClassifierCV(**SMALL)
    scores = cross_val_score(make_pipeline(StandardScaler(), inner), X, y, cv=2)
    assert scores.shape == (2,)
    assert np.all(scores > 0.6)
    outer = GridSearchCV(inner, {"alpha": [1e-4, 1e-2]}, cv=2).fit(X, y)
    assert outer.best_estimator_.cv_results_["params"]


# --- data, seeds, persistence ----------------------------------------------------


def test_bitwise_repeatable_with_an_int_seed(wine):
    X, y = wine
    a = DropoutMLPClassifierCV(**SMALL).fit(X, y)
    b = DropoutMLPClassifierCV(**SMALL).fit(X, y)
    for k in range(2):
        np.testing.assert_array_equal(
            a.cv_results_[f"split{k}_test_score"], b.cv_results_[f"split{k}_test_score"]
        )
    for ma, mb in zip(a.estimators_, b.estimators_, strict=True):
        _assert_same_network(ma, mb, tol=0)


def test_passes_of_max_members_give_the_same_networks(wine):
    X, y = wine
    whole = DropoutMLPClassifierCV(**SMALL).fit(X, y)
    parts = DropoutMLPClassifierCV(**dict(SMALL, max_members=3)).fit(X, y)
    np.testing.assert_allclose(
        whole.cv_results_["mean_test_score"],
        parts.cv_results_["mean_test_score"],
        atol=1.0 / len(y),
    )
    for ma, mb in zip(whole.estimators_, parts.estimators_, strict=True):
        _assert_same_network(ma, mb)


def test_pandas_categorical_columns():
    rng = np.random.default_rng(0)
    n = 150
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "colour": pd.Categorical(rng.choice(["red", "green", "blue"], n)),
        }
    )
    y = (frame["x"] + (frame["colour"] == "red") > 0.5).astype(int).to_numpy()
    search = DropoutMLPClassifierCV(**SMALL).fit(frame, y)
    assert list(search.feature_names_in_) == ["x", "colour"]
    assert search.predict(frame.iloc[:4]).shape == (4,)
    assert [len(g) for g in search.estimators_[0].feature_groups_] == [1, 3]


def test_pickle_and_skops_round_trip(wine, tmp_path):
    skops_io = pytest.importorskip("skops.io")
    X, y = wine
    search = DropoutMLPClassifierCV(**SMALL).fit(X, y)
    expected = search.predict_proba(X)
    loaded = pickle.loads(pickle.dumps(search))
    np.testing.assert_array_equal(loaded.predict_proba(X), expected)
    path = tmp_path / "search.skops"
    skops_io.dump(search, path)
    untrusted = skops_io.get_untrusted_types(file=path)
    restored = skops_io.load(path, trusted=untrusted)
    np.testing.assert_array_equal(restored.predict_proba(X), expected)


# --- bad input -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (dict(input_dropouts=[]), r"input_dropouts must be a non-empty list"),
        (
            dict(input_dropouts=[0.1, 1.0]),
            r"input_dropouts\[1\] must be in \[0, 1\), got 1.0",
        ),
        (dict(input_dropouts=[[0.1]]), r"input_dropouts must be a non-empty list"),
        (dict(hidden_dropouts=[]), r"hidden_dropouts must be a non-empty list"),
        (
            dict(hidden_dropouts=[0.2, 1]),
            r"hidden_dropouts\[1\] must hold rates in \[0, 1\)",
        ),
        (dict(hidden_dropouts=["high"]), r"hidden_dropouts\[0\] must be a rate"),
        (
            dict(hidden_dropouts=[0.1, np.nan]),
            r"hidden_dropouts\[1\] must be a rate in \[0, 1\), 'learned', .* got nan",
        ),
        (dict(input_dropouts=[np.nan]), r"input_dropouts\[0\] must be in \[0, 1\)"),
        (dict(n_jobs=1.5), r"'n_jobs' parameter"),
        (dict(error_score="ignore"), r"'error_score' parameter"),
        (
            dict(hidden_dropouts=[(0.1, 0.2)]),
            r"has 2 rates but hidden_layer_sizes has 1",
        ),
        (dict(hidden_dropouts=0.5), r"'hidden_dropouts' parameter .* array-like"),
        (dict(max_members="1KB"), r"max_members='1KB' cannot hold one network"),
        (
            dict(max_members="lots"),
            r"max_members must be a positive int, a memory size",
        ),
        (
            dict(cv=30),
            r"cv=30 makes stratified folds, which need 30 samples of some "
            r"class; the largest, 0, has 26",
        ),
        (dict(solver="lbfgs"), r"solver='lbfgs' needs a deterministic objective"),
    ],
)
def test_bad_input(params, message):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = (X[:, 0] > 0).astype(int)  # 26 of class 0, 24 of class 1
    with pytest.raises(ValueError, match=message):
        DropoutMLPClassifierCV(**{**SMALL, **params}).fit(X, y)


@pytest.mark.parametrize(
    ("scoring", "told"),
    [
        ("neg_log_loss", True),
        ("neg_brier_score", True),
        ("roc_auc_ovr", True),
        ("accuracy", False),  # labels of f1 and the like select classes
        ("f1_macro", False),
    ],
)
def test_scorers_told_the_classes(scoring, told):
    from sklearn.metrics import get_scorer

    from skdrop.utils import scorer_knowing_classes

    scorer = get_scorer(scoring)
    result = scorer_knowing_classes(scorer, np.array([0, 1, 2]))
    if told:
        assert result._kwargs["labels"].tolist() == [0, 1, 2]
        assert "labels" not in scorer._kwargs  # a copy
    else:
        assert result is scorer
    assert scorer_knowing_classes(scorer, None) is scorer


def test_a_model_saved_before_n_jobs_and_error_score_loads(wine):
    X, y = wine
    search = DropoutMLPClassifierCV(**SMALL).fit(X, y)
    state = search.__getstate__()
    del state["n_jobs"], state["error_score"]
    old = DropoutMLPClassifierCV.__new__(DropoutMLPClassifierCV)
    old.__setstate__(state)
    assert old.get_params()["n_jobs"] is None
    assert np.isnan(old.get_params()["error_score"])
    np.testing.assert_array_equal(old.predict(X), search.predict(X))


def test_early_stopping_without_weighted_validation_rows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = X[:, 0]
    weights = np.zeros(60)
    weights[[0, 30]] = 1.0  # one weighted row per training fold
    search = DropoutMLPRegressorCV(**dict(SMALL, early_stopping=True))
    with pytest.raises(ValueError, match=r"sample_weight is zero on all \d+ rows"):
        search.fit(X, y, sample_weight=weights)


def test_lbfgs_and_batch_norm_members_train_one_by_one(wine):
    X, y = wine
    search = DropoutMLPClassifierCV(
        **dict(SMALL, solver="lbfgs", input_dropouts=[0.0], hidden_dropouts=[0.0])
    ).fit(X, y)
    train, _ = next(iter(StratifiedKFold(2).split(X, y)))
    single = DropoutMLPClassifier(
        **_plain_kwargs(search, input_dropout=0.0, hidden_dropout=0.0)
    ).fit(X[train], y[train])
    _assert_same_network(search.estimators_[0], single, tol=1e-10)
    search = DropoutMLPClassifierCV(**dict(SMALL, batch_norm=True)).fit(X, y)
    assert search.cv_results_["mean_test_score"].shape == (4,)


def test_verbose_progress_bar(wine, capsys):
    X, y = wine
    DropoutMLPClassifierCV(**dict(SMALL, verbose=True)).fit(X, y)
    assert "DropoutMLPClassifierCV" in capsys.readouterr().err


def test_warns_once_for_unconverged_members(wine):
    X, y = wine
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        DropoutMLPClassifierCV(**dict(SMALL, max_iter=2)).fit(X, y)
    messages = [str(w.message) for w in caught if "max_iter" in str(w.message)]
    assert len(messages) == 1
    assert "8 of the 8 networks" in messages[0]


@pytest.mark.parametrize("cls", [DropoutMLPClassifierCV, DropoutMLPRegressorCV])
def test_errors_name_the_cv_estimator(cls):
    """The plain estimators validate the data inside; their errors speak of
    the estimator the user called."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = np.arange(40) % 2
    search = cls(**SMALL)
    with pytest.raises(ValueError, match=rf"^{cls.__name__} requires y"):
        search.fit(X, None)
    search.fit(X, y)
    for method in ("predict", "mc_predict"):
        with pytest.raises(ValueError, match=rf"but {cls.__name__} is expecting 3"):
            getattr(search, method)(X[:, :2])
    with pytest.raises(ValueError, match=r"Input X contains NaN"):
        search.predict(np.full((2, 3), np.nan))


def test_feature_name_warning_names_the_cv_estimator_once():
    """Issue 27, bad input 10."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    y = (frame["a"] > 0).astype(int).to_numpy()
    search = DropoutMLPClassifierCV(**dict(SMALL, cv=3)).fit(frame, y)
    for method in ("predict", "predict_proba", "mc_predict"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            getattr(search, method)(frame.to_numpy())
        messages = [str(w.message) for w in caught]
        assert messages == [
            "X does not have valid feature names, but DropoutMLPClassifierCV was "
            "fitted with feature names"
        ], method


def test_gaussian_nll_members():
    """loss="gaussian_nll" passes to the members: scored by R^2 of their
    means, and return_std adds each network's predicted noise."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = X[:, 0] + rng.normal(size=120) * (0.2 + (X[:, 1] > 0))
    search = DropoutMLPRegressorCV(
        **dict(SMALL, loss="gaussian_nll", max_iter=30, hidden_dropouts=[0.0])
    ).fit(X, y)
    assert all(m.loss == "gaussian_nll" for m in search.estimators_)
    assert search.noise_variance_ is None
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    mean, std = search.predict(X[:10], return_std=True)
    np.testing.assert_allclose(mean, search.predict(X[:10]), atol=1e-12)
    parts = [m.predict(X[:10], return_std=True) for m in search.estimators_]
    pooled = np.mean([s**2 for _, s in parts], axis=0) + np.var(
        [m for m, _ in parts], axis=0
    )
    np.testing.assert_allclose(std**2, pooled, rtol=1e-9)
    _, model_std = search.predict(X[:10], return_std=True, include_noise=False)
    assert (model_std < std).all()
    refit = search.set_params(refit=True).fit(X, y)
    assert refit.best_estimator_.noise_variance_ is None
    assert refit.predict(X[:10], return_std=True)[1].shape == (10,)


def test_learned_rates_of_an_ensemble_are_its_networks_mean(wine):
    """input_dropout_ and hidden_dropout_ are the rates the model uses; the
    choice is in best_params_."""
    X, y = wine
    search = DropoutMLPClassifierCV(
        **dict(SMALL, input_dropouts=["learned"], hidden_dropouts=[0.1, "learned"])
    ).fit(X, y)
    members = search.estimators_
    np.testing.assert_allclose(
        search.input_dropout_, np.mean([m.input_dropout_ for m in members], axis=0)
    )
    assert search.input_dropout_.shape == (X.shape[1],)
    assert len(set(members[0].input_dropout_) | set(members[1].input_dropout_)) > 2
    expected = np.mean([m.hidden_dropout_ for m in members], axis=0).tolist()
    assert search.hidden_dropout_ == pytest.approx(expected)
    assert search.best_params_["input_dropout"] == "learned"
    fixed = DropoutMLPClassifierCV(**dict(SMALL, hidden_dropouts=[0.4])).fit(X, y)
    rate = fixed.best_params_["input_dropout"]
    np.testing.assert_array_equal(fixed.input_dropout_, np.full(X.shape[1], rate))
    assert fixed.hidden_dropout_ == [0.4]


def test_passes_as_joblib_jobs_equal_the_sequential_run(wine, monkeypatch):
    """n_jobs runs the passes of max_members as joblib jobs: the networks
    are those of the sequential run, bit for bit."""
    import threading

    from joblib import parallel_backend

    import skdrop.neural_network._grid as mlp_grid

    X, y = wine
    params = dict(SMALL, max_members=3, refit=True)
    serial = DropoutMLPClassifierCV(**params).fit(X, y)
    threads = []
    original = mlp_grid.train_members

    def recording(*args, **kwargs):
        threads.append(threading.current_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(mlp_grid, "train_members", recording)
    with parallel_backend("threading"):
        jobs = DropoutMLPClassifierCV(**params, n_jobs=2).fit(X, y)
    assert len(threads) == 3  # passes of 3, 3 and 2 members
    assert threading.main_thread() not in threads
    for k in range(2):
        key = f"split{k}_test_score"
        np.testing.assert_array_equal(jobs.cv_results_[key], serial.cv_results_[key])
    _assert_same_network(jobs.best_estimator_, serial.best_estimator_, tol=0)


def test_multi_output_regression(diabetes_scaled):
    X, y = diabetes_scaled
    Y = np.column_stack([y, 100 * y + 7])
    search = DropoutMLPRegressorCV(**SMALL).fit(X, Y)
    assert search.predict(X[:4]).shape == (4, 2)
    mean, std = search.predict(X[:4], return_std=True)
    assert mean.shape == std.shape == (4, 2)
    # Each member standardized each output with its fold's statistics.
    for (rows, _), member in zip(KFold(2).split(X), search.estimators_, strict=True):
        np.testing.assert_allclose(member.target_mean_, Y[rows].mean(axis=0))
        np.testing.assert_allclose(member.target_scale_, Y[rows].std(axis=0))


def test_a_memory_budget_trains_in_passes(wine, monkeypatch):
    import skdrop.neural_network._grid as mlp_grid

    X, y = wine
    whole = DropoutMLPClassifierCV(**SMALL).fit(X, y)
    sizes = []
    original = mlp_grid.train_members

    def counting(spec, plans, *args, **kwargs):
        sizes.append(len(plans))
        return original(spec, plans, *args, **kwargs)

    monkeypatch.setattr(mlp_grid, "train_members", counting)
    # About 95 kB per member here (16 hidden units, 13 inputs, batch 88).
    parts = DropoutMLPClassifierCV(**dict(SMALL, max_members="0.2MB")).fit(X, y)
    assert sizes == [2, 2, 2, 2]
    np.testing.assert_allclose(
        whole.cv_results_["mean_test_score"],
        parts.cv_results_["mean_test_score"],
        atol=1.0 / len(y),
    )


def test_members_stopping_early_keep_their_own_targets():
    """Regression members train on their fold's standardized target; after
    other members stop (and leave the stack) each still gets its own."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 3))
    y = X[:, 0] * 3 + 0.1 * rng.normal(size=150)
    y[:50] += 100  # the folds' target statistics differ a lot
    folds = [
        (np.arange(50, 150), np.arange(0, 50)),
        (np.arange(0, 100), np.arange(100, 150)),
        (np.r_[0:50, 100:150], np.arange(50, 100)),
    ]
    params = dict(
        SMALL,
        hidden_layer_sizes=(8,),
        input_dropouts=[0.0],
        hidden_dropouts=[0.0, 0.3],
        cv=folds,
        max_iter=60,
        n_iter_no_change=2,
        tol=1e-2,
    )
    search = DropoutMLPRegressorCV(**params).fit(X, y)
    epochs = np.column_stack([search.cv_results_[f"split{k}_n_iter"] for k in range(3)])
    assert len(set(epochs.ravel().tolist())) > 2  # ragged stops
    for k, (rows, test) in enumerate(folds):
        single = DropoutMLPRegressor(
            **_plain_kwargs(search, input_dropout=0.0, hidden_dropout=0.3)
        ).fit(X[rows], y[rows])
        assert epochs[1, k] == single.n_iter_
        ours = search.cv_results_[f"split{k}_test_score"][1]
        assert ours == pytest.approx(single.score(X[test], y[test]), rel=1e-5)


def test_validation_scores_over_several_chunks():
    """Validation rows are scored in chunks of a reused buffer: every chunk
    keeps its own outputs."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3)).astype(np.float32)
    Y = X[:, :1].copy()
    spec = NetworkSpec(
        3, (4096,), 1, "relu", (0.0, 0.0), "bernoulli", "inverted", False
    )
    config = MLPConfig(batch_size=50, n_iter_no_change=1000)
    rows, held = np.arange(100), np.arange(100, 400)  # 300 rows: 3 chunks
    plans = [MemberPlan((0.0, 0.0), (1, 2, 3 + k), rows, held) for k in range(8)]
    fits = MLPTrainer.for_members(
        spec, plans, "identity", config, torch.device("cpu")
    ).fit_members(torch.from_numpy(X), torch.from_numpy(Y), None, 3)
    trainer = build_trainer(spec, "identity", config, [1, 2, 3], torch.device("cpu"))
    result = train(
        trainer, X[rows], Y[rows], None, 3, validation=(X[held], Y[held], None)
    )
    np.testing.assert_allclose(
        fits[0].result.validation_scores, result.validation_scores, atol=1e-6
    )


def test_group_splitters_take_groups(wine):
    from sklearn.model_selection import GroupKFold

    X, y = wine
    groups = np.arange(len(y)) % 4
    search = DropoutMLPClassifierCV(**dict(SMALL, cv=GroupKFold(2))).fit(
        X, y, groups=groups
    )
    assert search.n_splits_ == 2
    folds = list(GroupKFold(2).split(X, y, groups))
    given = DropoutMLPClassifierCV(**dict(SMALL, cv=folds)).fit(X, y)
    for k in range(2):
        key = f"split{k}_test_score"
        np.testing.assert_array_equal(search.cv_results_[key], given.cv_results_[key])
    with pytest.raises(ValueError, match="'groups' parameter should not be None"):
        DropoutMLPClassifierCV(**dict(SMALL, cv=GroupKFold(2))).fit(X, y)


def test_a_fold_without_weight_is_an_error():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = X[:, 0]
    weights = np.ones(60)
    weights[:30] = 0.0
    folds = [
        (np.arange(0, 30), np.arange(30, 60)),
        (np.arange(30, 60), np.arange(0, 30)),
    ]
    with pytest.raises(ValueError, match="zero on every training row of split 0"):
        DropoutMLPRegressorCV(**dict(SMALL, cv=folds)).fit(X, y, sample_weight=weights)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_members_on_cuda_equal_single_fits_on_cuda(wine):
    """On a GPU the masks come from each member's torch generator, drawn in
    the single fit's order: a member still equals its single fit there."""
    X, y = wine
    search = DropoutMLPClassifierCV(**dict(SMALL, device="cuda")).fit(X, y)
    train, _ = next(iter(StratifiedKFold(2).split(X, y)))
    rates = search.cv_results_["params"][-1]
    single = DropoutMLPClassifier(**_plain_kwargs(search, **rates)).fit(
        X[train], y[train]
    )
    member = DropoutMLPClassifierCV(
        **dict(
            SMALL,
            device="cuda",
            input_dropouts=[rates["input_dropout"]],
            hidden_dropouts=[rates["hidden_dropout"]],
        )
    ).fit(X, y)
    _assert_same_network(member.estimators_[0], single, tol=1e-4)
