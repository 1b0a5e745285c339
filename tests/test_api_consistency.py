"""One API across the public estimators: fitted attributes' names and types,
the search interface of every CV estimator, ``error_score``, ``groups``,
``class_weight`` and ``partial_fit`` where they apply.

Each case is small (a few epochs, two rates, real data): the tests check the
interface, not learning.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.metrics import get_scorer
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from skdrop import (
    DropoutLinearRegression,
    DropoutLinearRegressionCV,
    DropoutLogisticRegression,
    DropoutLogisticRegressionCV,
    DropoutMLPClassifier,
    DropoutMLPClassifierCV,
    DropoutMLPRegressor,
    DropoutMLPRegressorCV,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

_MLP = dict(hidden_layer_sizes=(8,), max_iter=10, random_state=0)
_MLP_CV = dict(_MLP, input_dropouts=[0.0, 0.2], hidden_dropouts=[0.0], cv=3)
_LINEAR_CV = dict(input_dropouts=[0.0, 0.2], cv=3)

PLAIN = [
    DropoutMLPClassifier(**_MLP),
    DropoutMLPRegressor(**_MLP),
    DropoutLinearRegression(),
    DropoutLinearRegression(solver="sgd", max_iter=20, random_state=0),
    DropoutLogisticRegression(),
    DropoutLogisticRegression(solver="sgd", max_iter=20, random_state=0),
]
SEARCH = [
    DropoutMLPClassifierCV(**_MLP_CV),
    DropoutMLPRegressorCV(**_MLP_CV),
    DropoutLinearRegressionCV(**_LINEAR_CV),
    DropoutLogisticRegressionCV(**_LINEAR_CV),
]
SEARCH_ATTRIBUTES = (
    "cv_results_",
    "best_params_",
    "best_index_",
    "best_score_",
    "scorer_",
    "n_splits_",
    "refit_time_",
)


def _ids(estimators):
    return [
        type(e).__name__ + (f"[{e.solver}]" if hasattr(e, "solver") else "")
        for e in estimators
    ]


@pytest.fixture(scope="module")
def data():
    """Real tables, a few columns and rows: breast cancer (classes) and
    diabetes (a target), standardized."""
    Xc, yc = load_breast_cancer(return_X_y=True)
    Xr, yr = load_diabetes(return_X_y=True)
    rows = np.random.default_rng(0).permutation(len(yc))[:150]
    return {
        "classifier": (StandardScaler().fit_transform(Xc[rows, :6]), yc[rows]),
        "regressor": (StandardScaler().fit_transform(Xr[:150]), yr[:150]),
    }


def _xy(estimator, data):
    return data["classifier" if is_classifier(estimator) else "regressor"]


def _is_network(estimator):
    return "MLP" in type(estimator).__name__


def _check_rates(estimator, n_features):
    rates = estimator.input_dropout_
    assert isinstance(rates, np.ndarray), type(rates)
    assert rates.dtype.kind == "f" and rates.shape == (n_features,)
    if _is_network(estimator):
        hidden = estimator.hidden_dropout_
        assert isinstance(hidden, list)
        assert len(hidden) == len(estimator.hidden_layer_sizes)


def _check_n_iter(estimator):
    """``n_iter_`` has the type of the scikit-learn counterpart's: an int on
    the networks (MLPClassifier), an array on the logistic models
    (LogisticRegression), None or absent on the closed-form linear models
    (Ridge, RidgeCV) and an array for their SGD solver."""
    name = type(estimator).__name__
    if _is_network(estimator):
        assert isinstance(estimator.n_iter_, int), (name, estimator.n_iter_)
    elif "Logistic" in name:
        assert isinstance(estimator.n_iter_, np.ndarray), (name, estimator.n_iter_)
    elif getattr(estimator, "solver", "closed_form") == "sgd":
        assert isinstance(estimator.n_iter_, np.ndarray), (name, estimator.n_iter_)
    else:
        assert getattr(estimator, "n_iter_", None) is None, (name, estimator.n_iter_)


@pytest.mark.parametrize("estimator", PLAIN + SEARCH, ids=_ids(PLAIN + SEARCH))
def test_fitted_attributes(estimator, data):
    X, y = _xy(estimator, data)
    estimator = clone(estimator).fit(X, y)
    assert estimator.n_features_in_ == X.shape[1]
    _check_rates(estimator, X.shape[1])
    _check_n_iter(estimator)
    if is_classifier(estimator):
        np.testing.assert_array_equal(estimator.classes_, np.unique(y))


@pytest.mark.parametrize("search", SEARCH, ids=_ids(SEARCH))
def test_search_interface(search, data):
    X, y = _xy(search, data)
    search = clone(search).fit(X, y)
    for name in SEARCH_ATTRIBUTES:
        assert hasattr(search, name), name
    table = pd.DataFrame(search.cv_results_)
    assert len(table) == len(search.cv_results_["params"])
    for column in ("params", "mean_test_score", "std_test_score", "rank_test_score"):
        assert column in table
    assert "param_input_dropout" in table
    for k in range(search.n_splits_):
        assert f"split{k}_test_score" in table
    assert search.n_splits_ == 3
    best = search.best_index_
    assert search.best_params_ == search.cv_results_["params"][best]
    assert search.best_score_ == pytest.approx(table["mean_test_score"][best])
    assert table["rank_test_score"][best] == 1
    assert callable(search.scorer_)
    assert isinstance(search.refit_time_, float) and search.refit_time_ >= 0
    # scoring=None: accuracy or R^2, as LogisticRegressionCV and RidgeCV;
    # a given scoring: scorer_, as GridSearchCV.
    default = "accuracy" if is_classifier(search) else "r2"
    assert search.score(X, y) == pytest.approx(get_scorer(default)(search, X, y))
    given = clone(search).set_params(scoring="explained_variance").fit(X, y)
    assert given.score(X, y) == pytest.approx(given.scorer_(given, X, y))


def _failing_scorer(rate):
    """A scorer that fails for the networks at input rate ``rate``."""

    def score(estimator, X, y):
        if np.isclose(np.mean(_given_input_rate(estimator)), rate):
            raise ValueError("this scorer refuses the rate")
        return -float(np.mean((estimator.predict(X) - y) ** 2))

    return score


def _given_input_rate(estimator):
    return estimator.get_params()["input_dropout"]


@pytest.mark.parametrize("search", SEARCH, ids=_ids(SEARCH))
def test_error_score(search, data):
    """A setting that fails scores ``error_score`` with a warning; ``"raise"``
    re-raises its error, as in GridSearchCV."""
    X, y = _xy(search, data)
    search = clone(search).set_params(scoring=_failing_scorer(0.2))
    with pytest.warns(Warning):
        search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isnan(scores[1]) and np.isfinite(scores[0])
    assert search.best_params_["input_dropout"] == 0.0

    search.set_params(error_score=-1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y)
    assert search.cv_results_["mean_test_score"][1] == -1.0

    search.set_params(error_score="raise")
    with pytest.raises(ValueError, match="refuses the rate"):
        search.fit(X, y)


@pytest.mark.parametrize("search", SEARCH, ids=_ids(SEARCH))
def test_groups(search, data):
    """``groups`` reaches a group splitter: the same scores as its folds given
    as a list."""
    X, y = _xy(search, data)
    groups = np.arange(len(y)) % 7
    by_groups = clone(search).set_params(cv=GroupKFold(3)).fit(X, y, groups=groups)
    folds = list(GroupKFold(3).split(X, y, groups))
    by_list = type(search)(**{**search.get_params(), "cv": folds}).fit(X, y)
    np.testing.assert_array_equal(
        by_groups.cv_results_["mean_test_score"], by_list.cv_results_["mean_test_score"]
    )


CLASSIFIERS = [e for e in PLAIN + SEARCH if is_classifier(e)]


@pytest.mark.parametrize("estimator", CLASSIFIERS, ids=_ids(CLASSIFIERS))
def test_class_weight(estimator, data):
    """``class_weight="balanced"`` is the same as the balanced row weights."""
    X, y = data["classifier"]
    weighted = clone(estimator).set_params(class_weight="balanced")
    by_classes = weighted.fit(X, y).predict_proba(X)
    by_rows = (
        clone(estimator)
        .fit(X, y, sample_weight=compute_sample_weight("balanced", y))
        .predict_proba(X)
    )
    np.testing.assert_allclose(by_classes, by_rows, rtol=1e-5, atol=1e-6)


INCREMENTAL = [
    DropoutMLPClassifier(**_MLP),
    DropoutMLPRegressor(**_MLP),
    DropoutLinearRegression(solver="sgd", random_state=0),
    DropoutLogisticRegression(solver="sgd", random_state=0),
]


@pytest.mark.parametrize("estimator", INCREMENTAL, ids=_ids(INCREMENTAL))
def test_partial_fit(estimator, data):
    """``partial_fit`` over chunks: classes on the first call, the fitted
    attributes of ``fit``, and each call changes the model."""
    X, y = _xy(estimator, data)
    kwargs = {"classes": np.unique(y)} if is_classifier(estimator) else {}
    estimator = clone(estimator)
    estimator.partial_fit(X[:75], y[:75], **kwargs)
    first = estimator.predict(X).copy()
    estimator.partial_fit(X[75:], y[75:])
    assert estimator.n_features_in_ == X.shape[1]
    _check_rates(estimator, X.shape[1])
    assert not np.array_equal(first, estimator.predict(X)) or is_classifier(estimator)


NOT_INCREMENTAL = [
    DropoutLinearRegression(),
    DropoutLogisticRegression(),
]


@pytest.mark.parametrize("estimator", NOT_INCREMENTAL, ids=_ids(NOT_INCREMENTAL))
def test_partial_fit_needs_sgd(estimator, data):
    X, y = _xy(estimator, data)
    kwargs = {"classes": np.unique(y)} if is_classifier(estimator) else {}
    with pytest.raises(AttributeError, match="partial_fit") as error:
        clone(estimator).partial_fit(X, y, **kwargs)
    # As on scikit-learn's MLP: the method is absent, its cause says why.
    assert "solver" in str(error.value.__cause__)
