"""The logistic regressions' issue-27 interface: GridSearchCV's search
attributes on the CV (error_score, groups, n_jobs), the class-count advice,
``solver`` and ``approximation`` in place of ``objective``, the other
renamed names, old pickles, and ``partial_fit`` with ``solver="sgd"``."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold
from sklearn.preprocessing import StandardScaler

from skdrop import DropoutLogisticRegression, DropoutLogisticRegressionCV

RATES = [0.05, 0.2, 0.5, 0.8]


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)[:, :6]
    rows = np.random.default_rng(0).choice(len(X), 200, replace=False)
    return X[rows], y[rows]


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 4))
    y = (X @ [1.0, -2.0, 0.5, 0.0] + rng.logistic(size=600) > 0).astype(int)
    return X, y


# --- the search interface ----------------------------------------------------


@pytest.mark.parametrize("solver", ["lbfgs", "sgd"])
def test_n_jobs_equals_the_sequential_search_bitwise(cancer, solver):
    X, y = cancer
    params = dict(input_dropouts=RATES, cv=3, solver=solver, random_state=0)
    if solver == "sgd":
        params.update(max_iter=5, tol=0)
    one = DropoutLogisticRegressionCV(**params).fit(X, y)
    two = DropoutLogisticRegressionCV(**params, n_jobs=2).fit(X, y)
    for key, value in one.cv_results_.items():
        if "time" not in key:
            np.testing.assert_array_equal(value, two.cv_results_[key], err_msg=key)
    np.testing.assert_array_equal(one.coef_, two.coef_)
    assert one.best_params_ == two.best_params_


def test_search_attributes(cancer):
    X, y = cancer
    model = DropoutLogisticRegressionCV(input_dropouts=RATES, cv=4).fit(X, y)
    frame = pd.DataFrame(model.cv_results_)
    assert frame.shape[0] == len(RATES) and "param_input_dropout" in frame
    best = model.best_index_
    assert model.cv_results_["rank_test_score"][best] == 1
    assert model.best_params_ == {"input_dropout": RATES[best]}
    assert model.best_score_ == model.cv_results_["mean_test_score"][best]
    assert model.n_splits_ == 4 and model.refit_time_ > 0
    assert model.scorer_(model, X, y) < 0  # neg_log_loss
    np.testing.assert_array_equal(model.input_dropout_, np.full(6, RATES[best]))
    assert model.n_iter_.shape == (1,)


def test_groups_reach_the_splitter(cancer):
    X, y = cancer
    groups = np.arange(len(y)) % 5
    model = DropoutLogisticRegressionCV(input_dropouts=RATES, cv=GroupKFold(5))
    model.set_params(tol=1e-9).fit(X, y, groups=groups)
    search = GridSearchCV(
        DropoutLogisticRegression(tol=1e-9),
        {"input_dropout": RATES},
        cv=GroupKFold(5),
        scoring="neg_log_loss",
    ).fit(X, y, groups=groups)
    np.testing.assert_allclose(
        model.cv_results_["split0_test_score"],
        search.cv_results_["split0_test_score"],
        rtol=1e-6,
    )


def _fail_at(monkeypatch, rate):
    """Make every L-BFGS fit at ``rate`` fail."""
    original = DropoutLogisticRegression._fit_design

    def fit_design(self, problem, Y, settings, init=None):
        if settings["input_dropout"] == rate:
            raise FloatingPointError("made to fail")
        return original(self, problem, Y, settings, init)

    monkeypatch.setattr(DropoutLogisticRegression, "_fit_design", fit_design)


def test_error_score_as_gridsearch(cancer, monkeypatch):
    """A failed fit scores error_score with a FitFailedWarning (it stopped
    the search); the other rates are still chosen among."""
    X, y = cancer
    _fail_at(monkeypatch, 0.5)
    model = DropoutLogisticRegressionCV(input_dropouts=RATES, cv=3)
    with pytest.warns(FitFailedWarning, match="3 fits failed out of a total of 12"):
        model.fit(X, y)
    assert np.isnan(model.cv_results_["mean_test_score"][2])
    assert model.cv_results_["rank_test_score"][2] == len(RATES)
    assert model.best_params_["input_dropout"] != 0.5
    with pytest.raises(FloatingPointError, match="made to fail"):
        clone(model).set_params(error_score="raise").fit(X, y)
    only = clone(model).set_params(input_dropouts=[0.5])
    with pytest.raises(ValueError, match="All the 3 fits failed"):
        only.fit(X, y)


def test_one_row_class_advice_names_the_class(cancer):
    """Bad input 9: a class of one row is too few for any number of folds;
    the error says so and names it (stratified cv was already used)."""
    X, y = cancer
    y = y.copy()
    y[7] = 2
    with pytest.raises(ValueError, match=r"class 2 has 1 row in y, too few") as error:
        DropoutLogisticRegressionCV(input_dropouts=RATES).fit(X, y)
    assert "with any number of folds" in str(error.value)
    assert "stratified" not in str(error.value)


def test_class_missing_from_a_test_fold_scores_neg_log_loss(cancer):
    """Bad input 2: a class of 2 rows with cv=3 leaves one test fold without
    it; neg_log_loss is told the classes rather than failing in
    scikit-learn with advice about a labels argument the user cannot reach."""
    X, y = cancer
    y = y.copy()
    y[[3, 7]] = 2
    search = DropoutLogisticRegressionCV(input_dropouts=RATES, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # StratifiedKFold's
        search.fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert np.isfinite(search.score(X, y))


def test_unstratified_cv_missing_a_class_advises_stratification(cancer):
    X, y = cancer
    order = np.argsort(y, kind="stable")  # the classes in two runs
    with pytest.raises(ValueError, match=r"Use a stratified cv"):
        DropoutLogisticRegressionCV(input_dropouts=RATES, cv=KFold(2)).fit(
            X[order], y[order]
        )


# --- renamed names -------------------------------------------------------------


@pytest.mark.parametrize(
    ("objective", "new"),
    [
        ("gaussian", dict(solver="lbfgs", approximation="gaussian")),
        ("quadratic", dict(solver="lbfgs", approximation="quadratic")),
        ("sgd", dict(solver="sgd")),
    ],
)
def test_objective_maps_to_solver_and_approximation(cancer, objective, new):
    X, y = cancer
    common = dict(input_dropout=0.3, max_iter=5, tol=0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # quadratic, near separable
        warnings.simplefilter("ignore", FutureWarning)
        reference = DropoutLogisticRegression(**common, **new).fit(X, y)
        with pytest.warns(FutureWarning, match="'objective' was replaced by"):
            old = DropoutLogisticRegression(**common, objective=objective).fit(X, y)
    np.testing.assert_array_equal(old.coef_, reference.coef_)


def test_objective_with_solver_is_an_error(cancer):
    X, y = cancer
    with pytest.raises(ValueError, match=r"objective='sgd' with solver='sgd'"):
        DropoutLogisticRegression(objective="sgd", solver="sgd").fit(X, y)


def test_old_names_on_the_search(cancer):
    X, y = cancer
    with pytest.warns(FutureWarning, match="'dropouts' was renamed"):
        model = DropoutLogisticRegressionCV(dropouts=[0.1, 0.4], cv=3).fit(X, y)
    with pytest.warns(FutureWarning, match=r"'dropout_' became best_params_"):
        assert model.dropout_ == model.best_params_["input_dropout"]
    with pytest.warns(FutureWarning, match="'learning_rate_init' was renamed"):
        DropoutLogisticRegressionCV(
            [0.1], cv=2, solver="sgd", max_iter=2, learning_rate_init=0.3
        ).fit(X, y)


def test_pre_0_3_state_loads_with_the_new_names(cancer):
    X, y = cancer
    fitted = DropoutLogisticRegression(input_dropout=0.3, approximation="quadratic")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fitted.fit(X, y)
    state = fitted.__getstate__()
    state["dropout"] = state.pop("input_dropout")
    state["objective"] = "quadratic"
    state["learning_rate_init"] = state.pop("step_fraction")
    for name in ("solver", "approximation", "input_dropout_", "_sgd_state"):
        del state[name]
    old = DropoutLogisticRegression.__new__(DropoutLogisticRegression)
    old.__setstate__(state)
    params = old.get_params()
    assert params["solver"] == "lbfgs" and params["approximation"] == "quadratic"
    assert params["objective"] == "deprecated" and params["input_dropout"] == 0.3
    np.testing.assert_array_equal(old.input_dropout_, np.full(6, 0.3))
    np.testing.assert_array_equal(old.predict_proba(X), fitted.predict_proba(X))


# --- partial_fit -----------------------------------------------------------


def test_partial_fit_over_chunks_approaches_fit(blobs):
    X, y = blobs
    fit = DropoutLogisticRegression(0.3, solver="sgd", random_state=0)
    fit.set_params(max_iter=3000, tol=0.003).fit(X, y)
    model = DropoutLogisticRegression(0.3, solver="sgd", batch_size=50, random_state=0)
    errors = []
    for epoch in range(60):
        for start in range(0, 600, 200):
            rows = slice(start, start + 200)
            model.partial_fit(X[rows], y[rows], classes=[0, 1])
        if epoch in (2, 59):
            errors.append(np.linalg.norm(model.coef_ - fit.coef_))
    errors = np.array(errors) / np.linalg.norm(fit.coef_)
    # Measured: 3.3% after 3 passes, 0.6% after 60.
    assert errors[1] < 0.015 and errors[1] < errors[0] / 3
    # n_iter_ is this call's epochs, as SGDClassifier's; the curve goes on.
    assert model.n_iter_.tolist() == [1] and len(model.loss_curve_) == 180


def test_partial_fit_takes_classes_missing_from_a_chunk(blobs):
    X, _ = blobs
    labels = np.array(["a", "b", "c"])[np.digitize(X[:, 0], [-0.5, 0.5])]
    model = DropoutLogisticRegression(solver="sgd", random_state=0)
    first = labels != "c"
    model.partial_fit(X[first], labels[first], classes=["a", "b", "c"])
    model.partial_fit(X, labels)
    assert model.classes_.tolist() == ["a", "b", "c"]
    assert model.predict_proba(X).shape == (600, 3)
    twin = pickle.loads(pickle.dumps(model))
    model.partial_fit(X, labels)
    twin.partial_fit(X, labels)
    np.testing.assert_array_equal(model.coef_, twin.coef_)


def test_partial_fit_sets_input_dropout_and_warns_on_restart(blobs):
    X, y = blobs
    model = DropoutLogisticRegression(0.1, solver="sgd", random_state=0)
    model.partial_fit(X, y, classes=[0, 1]).set_params(input_dropout=0.4)
    model.partial_fit(X, y)
    np.testing.assert_array_equal(model.input_dropout_, np.full(X.shape[1], 0.4))
    lbfgs = DropoutLogisticRegression().fit(X, y).set_params(solver="sgd")
    with pytest.warns(UserWarning, match="starts SGD afresh"):
        lbfgs.partial_fit(X, y, classes=[0, 1])


def test_partial_fit_errors(blobs):
    X, y = blobs
    assert not hasattr(DropoutLogisticRegression(), "partial_fit")
    with pytest.raises(AttributeError) as error:
        DropoutLogisticRegression(solver="lbfgs").partial_fit(X, y, classes=[0, 1])
    assert "needs solver='sgd', got solver='lbfgs'" in str(error.value.__cause__)
    model = DropoutLogisticRegression(solver="sgd", random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first"):
        model.partial_fit(X, y)
    with pytest.raises(ValueError, match=r"y has classes \[1\] that are not in"):
        model.partial_fit(X, y, classes=[0, 2])
    model.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2\] is not the same"):
        model.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="class_weight='balanced' is not supported"):
        clone(model).set_params(class_weight="balanced").partial_fit(
            X, y, classes=[0, 1]
        )
    assert model.n_iter_.tolist() == [1]


def test_input_dropout_is_per_original_column():
    from skdrop.datasets import load_penguins

    frame = load_penguins().dropna()
    X, y = frame.drop(columns=["species", "year"]), frame["species"]
    X = X.assign(
        **{c: (X[c] - X[c].mean()) / X[c].std() for c in X.select_dtypes("number")}
    )
    model = DropoutLogisticRegression(input_dropout=0.3).fit(X, y)
    assert model.coef_.shape[1] > X.shape[1]  # one-hot columns
    np.testing.assert_array_equal(model.input_dropout_, np.full(X.shape[1], 0.3))


def test_balanced_class_weight_is_computed_once_on_all_rows(cancer):
    """As LogisticRegressionCV: the same weights in every fold, so the
    search equals one given those weights as a dict."""
    X, y = cancer
    order = np.argsort(y, kind="stable")  # unshuffled folds: unequal class mixes
    X, y = X[order], y[order]
    counts = np.bincount(y)
    as_dict = {c: len(y) / (2 * counts[c]) for c in (0, 1)}
    common = {"input_dropouts": [0.1, 0.5], "cv": KFold(3)}
    balanced = DropoutLogisticRegressionCV(**common, class_weight="balanced")
    given = DropoutLogisticRegressionCV(**common, class_weight=as_dict)
    np.testing.assert_allclose(
        balanced.fit(X, y).cv_results_["mean_test_score"],
        given.fit(X, y).cv_results_["mean_test_score"],
    )
    np.testing.assert_allclose(balanced.coef_, given.coef_)


def test_n_jobs_takes_a_numpy_integer(cancer):
    X, y = cancer
    search = DropoutLogisticRegressionCV(input_dropouts=[0.2], n_jobs=np.int64(1))
    assert search.fit(X, y).n_splits_ == 5
