"""The linear regressions' issue-27 interface: GridSearchCV's search
attributes on the CV (leave-one-out and folds), the renamed parameters and
attributes, old pickles, and ``partial_fit`` with ``solver="sgd"``."""

from __future__ import annotations

import copy
import inspect
import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import FitFailedWarning
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, LeaveOneOut

import skdrop.linear_model._closed_form as closed_form
from skdrop import (
    DropoutLinearRegression,
    DropoutLinearRegressionCV,
    DropoutLogisticRegression,
    DropoutLogisticRegressionCV,
)
from skdrop.datasets import load_penguins

RATES = [0.0, 0.1, 0.4, 0.8]
LOO_KEYS = [
    "mean_fit_time",
    "std_fit_time",
    "mean_score_time",
    "std_score_time",
    "param_input_dropout",
    "params",
    "mean_test_score",
    "std_test_score",
    "rank_test_score",
]


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = X @ [1.0, -2.0, 0.5, 0.0] + rng.normal(size=60)
    return X, y


# --- the search interface ----------------------------------------------------


def test_loo_cv_results_have_gridsearch_columns_without_splits(table):
    X, y = table
    model = DropoutLinearRegressionCV(input_dropouts=RATES).fit(X, y)
    assert list(model.cv_results_) == LOO_KEYS
    frame = pd.DataFrame(model.cv_results_)
    assert frame.shape == (len(RATES), len(LOO_KEYS))
    assert model.cv_results_["params"] == [{"input_dropout": p} for p in RATES]
    best = int(np.argmax(model.cv_results_["mean_test_score"]))
    assert model.best_index_ == best
    assert model.best_params_ == {"input_dropout": RATES[best]}
    assert model.best_score_ == model.cv_results_["mean_test_score"][best]
    assert model.cv_results_["rank_test_score"][best] == 1
    assert model.n_splits_ == len(y)
    assert model.refit_time_ >= 0.0
    np.testing.assert_array_equal(model.input_dropout_, np.full(4, RATES[best]))
    # scorer_ is the default's scorer: it scores the refitted model as the
    # negative mean squared error.
    mse = np.mean((model.predict(X) - y) ** 2)
    assert model.scorer_(model, X, y) == pytest.approx(-mse)
    assert not hasattr(model, "loo_values_")  # store_cv_results=False


def test_loo_std_is_the_rows_spread(table):
    """std_test_score: the spread of the rows' negative squared errors; NaN
    with a scorer, which scores all rows together."""
    X, y = table
    model = DropoutLinearRegressionCV(input_dropouts=RATES, store_cv_results=True)
    model.fit(X, y)
    np.testing.assert_allclose(
        model.cv_results_["std_test_score"], model.loo_values_.std(axis=0)
    )
    scored = DropoutLinearRegressionCV(input_dropouts=RATES, scoring="r2").fit(X, y)
    assert np.isnan(scored.cv_results_["std_test_score"]).all()


def test_cv_results_kept_with_folds_and_two_targets(table):
    """With cv given the search's results stay (they were deleted), and a
    2-target y gives 2-d results that pandas loads."""
    X, y = table
    Y = np.column_stack([y, -y])
    model = DropoutLinearRegressionCV(input_dropouts=RATES, cv=3).fit(X, Y)
    frame = pd.DataFrame(model.cv_results_)
    assert frame.shape[0] == len(RATES)
    assert {"split0_test_score", "split2_test_score"} <= set(frame.columns)
    assert model.n_splits_ == 3
    loo = DropoutLinearRegressionCV(input_dropouts=RATES).fit(X, Y)
    assert pd.DataFrame(loo.cv_results_).shape == (len(RATES), len(LOO_KEYS))


def test_groups_reach_the_splitter(table):
    X, y = table
    groups = np.repeat(np.arange(6), 10)
    model = DropoutLinearRegressionCV(input_dropouts=RATES, cv=GroupKFold(3))
    model.fit(X, y, groups=groups)
    search = GridSearchCV(
        DropoutLinearRegression(), {"input_dropout": RATES}, cv=GroupKFold(3)
    ).fit(X, y, groups=groups)
    for key in ("split0_test_score", "mean_test_score", "rank_test_score"):
        np.testing.assert_array_equal(model.cv_results_[key], search.cv_results_[key])
    # Leave-one-out takes no groups, as a splitter without groups ignores them.
    loo = DropoutLinearRegressionCV(input_dropouts=RATES)
    np.testing.assert_array_equal(
        loo.fit(X, y, groups=groups).cv_results_["mean_test_score"],
        clone(loo).fit(X, y).cv_results_["mean_test_score"],
    )


def test_n_jobs_gives_the_same_search(table):
    X, y = table
    one = DropoutLinearRegressionCV(input_dropouts=RATES, cv=KFold(3)).fit(X, y)
    two = DropoutLinearRegressionCV(input_dropouts=RATES, cv=KFold(3), n_jobs=2)
    two.fit(X, y)
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        np.testing.assert_array_equal(one.cv_results_[key], two.cv_results_[key])
    np.testing.assert_array_equal(one.coef_, two.coef_)


def _fail_above(monkeypatch, limit):
    """Make the closed form fail for penalties above ``limit``."""
    original = closed_form.solve_system

    def solve(system, lam):
        if lam > limit:
            raise np.linalg.LinAlgError("made to fail")
        return original(system, lam)

    monkeypatch.setattr("skdrop.linear_model._linear.solve_system", solve)


@pytest.mark.filterwarnings("ignore:One or more of the test scores:UserWarning")
def test_error_score_as_gridsearch(table, monkeypatch):
    X, y = table
    _fail_above(monkeypatch, 1.0)  # rate 0.8 (lam 4) fails
    model = DropoutLinearRegressionCV(input_dropouts=RATES, cv=3)
    with pytest.warns(FitFailedWarning, match="3 fits failed out of a total of 12"):
        model.fit(X, y)
    assert np.isnan(model.cv_results_["mean_test_score"][-1])
    assert model.cv_results_["rank_test_score"][-1] == len(RATES)
    assert model.best_params_["input_dropout"] != 0.8
    with pytest.raises(np.linalg.LinAlgError, match="made to fail"):
        clone(model).set_params(error_score="raise").fit(X, y)
    scored = clone(model).set_params(error_score=-1.0)
    with pytest.warns(FitFailedWarning):
        scored.fit(X, y)
    assert scored.cv_results_["mean_test_score"][-1] == -1.0


def test_one_row_test_folds_do_not_pick_a_rate_silently(table):
    """Bad input 6: R^2 of one row is undefined; every rate scores NaN and
    the error names the cv instead of choosing rate 0."""
    X, y = table
    model = DropoutLinearRegressionCV(input_dropouts=[0.0, 0.5], cv=LeaveOneOut())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's R^2 warnings
        with pytest.raises(ValueError, match=r"cv=LeaveOneOut\(\).*1 row"):
            model.fit(X[:10], y[:10])
    # The exact leave-one-out (cv=None) scores all rows together: fine.
    DropoutLinearRegressionCV(input_dropouts=[0.0, 0.5], scoring="r2").fit(X, y)


def test_loo_scores_all_nan_is_an_error(table):
    X, y = table

    def nan_scorer(estimator, X, y):
        return np.nan

    model = DropoutLinearRegressionCV(input_dropouts=RATES, scoring=nan_scorer)
    with pytest.raises(ValueError, match=r"every rate scored nan in leave-one-out"):
        model.fit(X, y)


# --- renamed names -------------------------------------------------------------


def test_old_parameter_names_warn_and_work(table):
    X, y = table
    new = DropoutLinearRegression(input_dropout=0.3).fit(X, y)
    with pytest.warns(FutureWarning, match="'dropout' was renamed 'input_dropout'"):
        old = DropoutLinearRegression(dropout=0.3).fit(X, y)
    np.testing.assert_array_equal(old.coef_, new.coef_)
    with pytest.warns(FutureWarning, match="'dropouts' was renamed 'input_dropouts'"):
        search = DropoutLinearRegressionCV(dropouts=RATES).fit(X, y)
    assert search.cv_results_["params"][0] == {"input_dropout": 0.0}
    kwargs = dict(solver="sgd", max_iter=3, tol=0, random_state=0)
    with pytest.warns(FutureWarning, match="'learning_rate_init' was renamed"):
        old_sgd = DropoutLinearRegression(learning_rate_init=0.2, **kwargs).fit(X, y)
    new_sgd = DropoutLinearRegression(step_fraction=0.2, **kwargs).fit(X, y)
    np.testing.assert_array_equal(old_sgd.coef_, new_sgd.coef_)


def test_old_and_new_name_together_is_an_error(table):
    X, y = table
    with pytest.raises(ValueError, match=r"input_dropout=0.1 and dropout=0.3"):
        DropoutLinearRegression(input_dropout=0.1, dropout=0.3).fit(X, y)
    with pytest.raises(ValueError, match=r"'dropouts' is the old name"):
        DropoutLinearRegressionCV(input_dropouts=[0.1], dropouts=[0.2]).fit(X, y)


def test_old_attributes_warn_and_read_the_new_ones(table):
    X, y = table
    model = DropoutLinearRegressionCV(input_dropouts=RATES).fit(X, y)
    with pytest.warns(FutureWarning, match=r"'dropout_' became best_params_"):
        assert model.dropout_ == model.best_params_["input_dropout"]
    with pytest.warns(FutureWarning, match=r"'scores_' became cv_results_"):
        scores = model.scores_
    np.testing.assert_array_equal(scores, model.cv_results_["mean_test_score"])


def test_input_dropout_is_per_original_column():
    X = load_penguins().dropna().drop(columns=["species", "year"])
    target = X.pop("body_mass_g")
    model = DropoutLinearRegression(input_dropout=0.3).fit(X, target)
    assert model.coef_.shape[0] > X.shape[1]  # one-hot columns
    np.testing.assert_array_equal(model.input_dropout_, np.full(X.shape[1], 0.3))


def test_pre_0_3_state_loads_with_the_new_names(table):
    """A pickle of an estimator saved before the renames: ``dropout`` in its
    state and no ``input_dropout``."""
    X, y = table
    fitted = DropoutLinearRegression(input_dropout=0.3).fit(X, y)
    state = fitted.__getstate__()
    state["dropout"] = state.pop("input_dropout")
    state["learning_rate_init"] = state.pop("step_fraction")
    del state["input_dropout_"], state["_sgd_state"]
    old = DropoutLinearRegression.__new__(DropoutLinearRegression)
    old.__setstate__(state)
    assert old.get_params()["input_dropout"] == 0.3
    assert old.get_params()["dropout"] == "deprecated"
    assert old.get_params()["step_fraction"] == 0.5
    np.testing.assert_array_equal(old.input_dropout_, np.full(4, 0.3))
    np.testing.assert_array_equal(old.predict(X), fitted.predict(X))
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # a refit uses new names
        clone(old).fit(X, y)


def test_pre_0_3_search_state_loads(table):
    X, y = table
    fitted = DropoutLinearRegressionCV(input_dropouts=RATES).fit(X, y)
    state = fitted.__getstate__()
    # What 0.2 stored: the old names, scores_ and dropout_, no search dict.
    state["dropouts"] = state.pop("input_dropouts")
    state["scores_"] = state.pop("cv_results_")["mean_test_score"]
    state["dropout_"] = state["best_params_"]["input_dropout"]
    for name in ("error_score", "n_jobs", "input_dropout_", "best_params_"):
        del state[name]
    for name in ("best_index_", "n_splits_", "refit_time_"):
        del state[name]
    old = DropoutLinearRegressionCV.__new__(DropoutLinearRegressionCV)
    old.__setstate__(state)
    assert old.get_params()["input_dropouts"] == RATES
    assert np.isnan(old.error_score) and old.n_jobs is None
    rate = fitted.best_params_["input_dropout"]
    np.testing.assert_array_equal(old.input_dropout_, np.full(4, rate))
    assert old.best_params_ == fitted.best_params_
    assert old.best_index_ == fitted.best_index_
    np.testing.assert_array_equal(
        old.cv_results_["mean_test_score"], fitted.cv_results_["mean_test_score"]
    )


# --- partial_fit -----------------------------------------------------------


def test_partial_fit_over_chunks_approaches_the_closed_form(table):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 4))
    y = X @ [1.0, -2.0, 0.5, 0.0] + rng.normal(size=600)
    exact = DropoutLinearRegression(0.3).fit(X, y)
    model = DropoutLinearRegression(0.3, solver="sgd", batch_size=50, random_state=0)
    errors = []
    for epoch in range(60):
        for start in range(0, 600, 200):
            model.partial_fit(X[start : start + 200], y[start : start + 200])
        if epoch in (2, 59):
            errors.append(np.linalg.norm(model.coef_ - exact.coef_))
    errors = np.array(errors) / np.linalg.norm(exact.coef_)
    # Measured: 4.8% after 3 passes, 0.8% after 60.
    assert errors[1] < 0.02 and errors[1] < errors[0] / 3
    # n_iter_ is this call's epochs, as SGDRegressor's; the curve goes on.
    assert model.n_iter_.tolist() == [1] and len(model.loss_curve_) == 180
    np.testing.assert_array_equal(model.input_dropout_, np.full(4, 0.3))


def test_partial_fit_continues_fit_and_pickles(table):
    X, y = table
    model = DropoutLinearRegression(solver="sgd", max_iter=5, tol=0, random_state=0)
    model.fit(X, y)
    twin = pickle.loads(pickle.dumps(model))
    model.partial_fit(X, y)
    twin.partial_fit(X, y)
    assert model.n_iter_.tolist() == [1] and len(model.loss_curve_) == 6
    np.testing.assert_array_equal(model.coef_, twin.coef_)


def test_partial_fit_sets_input_dropout_on_every_call(table):
    X, y = table
    model = DropoutLinearRegression(0.1, solver="sgd", random_state=0)
    model.partial_fit(X, y).set_params(input_dropout=0.4).partial_fit(X, y)
    np.testing.assert_array_equal(model.input_dropout_, np.full(X.shape[1], 0.4))


def test_partial_fit_after_closed_form_warns_it_restarts(table):
    X, y = table
    model = DropoutLinearRegression().fit(X, y).set_params(solver="sgd")
    with pytest.warns(UserWarning, match="starts SGD afresh"):
        model.partial_fit(X, y)


def test_partial_fit_errors(table):
    X, y = table
    assert not hasattr(DropoutLinearRegression(), "partial_fit")
    with pytest.raises(AttributeError) as error:
        DropoutLinearRegression(solver="closed_form").partial_fit(X, y)
    # As scikit-learn's MLPs: the cause says why the method is absent.
    assert "needs solver='sgd', got solver='closed_form'" in str(error.value.__cause__)
    model = DropoutLinearRegression(solver="sgd", random_state=0).partial_fit(X, y)
    with pytest.raises(ValueError, match="y has 2 target"):
        model.partial_fit(X, np.column_stack([y, y]))
    with pytest.raises(ValueError, match="X has 3 features"):
        model.partial_fit(X[:, :3], y)
    assert model.n_iter_.tolist() == [1]  # the failed calls left no trace


def _documented_parameters(estimator):
    """The names in the docstring's Parameters section, in order."""
    doc = inspect.getdoc(estimator)
    section = doc.split("Parameters\n----------\n")[1]
    section = re.split(r"\n\n\w+\n-+\n", section)[0]  # up to the next header
    # An entry starts unindented; a name list may wrap with a backslash.
    entries = section.replace("\\\n", "").splitlines()
    names = []
    for line in entries:
        if line and not line.startswith(" "):
            names += [n.strip() for n in line.split(" : ")[0].split(",")]
    return names


@pytest.mark.parametrize(
    "estimator",
    [
        DropoutLinearRegression,
        DropoutLinearRegressionCV,
        DropoutLogisticRegression,
        DropoutLogisticRegressionCV,
    ],
)
def test_docstring_parameters_follow_the_signature(estimator):
    assert _documented_parameters(estimator) == list(
        inspect.signature(estimator).parameters
    )


def test_n_jobs_takes_a_numpy_integer(table):
    X, y = table
    search = DropoutLinearRegressionCV(input_dropouts=[0.2], cv=2, n_jobs=np.int64(1))
    assert search.fit(X, y).n_splits_ == 2


def test_partial_fit_of_a_shallow_copy_leaves_the_original(table):
    X, y = table
    model = DropoutLinearRegression(solver="sgd", random_state=0).partial_fit(X, y)
    twin = pickle.loads(pickle.dumps(model))
    copy.copy(model).partial_fit(X, y)
    model.partial_fit(X, y)
    twin.partial_fit(X, y)
    np.testing.assert_array_equal(model.coef_, twin.coef_)
