"""DropoutLogisticRegression(+CV): the estimators against plain logistic
regression, against the true (Monte Carlo) dropout minimizer, and against
GridSearchCV."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdrop import DropoutLogisticRegression, DropoutLogisticRegressionCV


@pytest.fixture(scope="module")
def cancer10():
    """150 rows and 10 standardized features of the breast-cancer table: not
    separable, so every rate has a finite minimizer."""
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)[:, :10]
    rows = np.random.default_rng(0).choice(len(X), 150, replace=False)
    return X[rows], y[rows]


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def _expected_failures(estimator):
    if estimator.solver == "sgd":
        return {
            "check_sample_weight_equivalence_on_dense_data": (
                "sgd draws random masks and batches; weights and repeated rows "
                "agree in expectation, not bitwise (L-BFGS passes)"
            )
        }
    return {}


@parametrize_with_checks(
    [
        DropoutLogisticRegression(),
        DropoutLogisticRegression(approximation="quadratic"),
        DropoutLogisticRegression(solver="sgd", max_iter=20, tol=0, random_state=0),
        DropoutLogisticRegressionCV(input_dropouts=[0.1, 0.5], cv=3),
    ],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        # The checks' tiny random tables are nearly separable.
        warnings.filterwarnings("ignore", "approximation='quadratic'", UserWarning)
        check(estimator)


@pytest.mark.parametrize("objective", ["gaussian", "quadratic"])
@pytest.mark.parametrize("table", ["cancer10", "wine"])
def test_rate_zero_is_unpenalized_logistic_regression(objective, table, request):
    X, y = request.getfixturevalue(table)
    if table == "wine":
        X = X[:, :4]  # not separable on four features
    model = DropoutLogisticRegression(0.0, approximation=objective, tol=1e-10).fit(X, y)
    plain = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, y)
    # Both stop on a gradient or relative-decrease tolerance (1e-6 apart).
    np.testing.assert_allclose(
        model.predict_proba(X), plain.predict_proba(X), atol=1e-5
    )
    assert model.coef_.shape == plain.coef_.shape
    assert model.intercept_.shape == plain.intercept_.shape


def test_sgd_at_rate_zero_is_logistic_regression(cancer10):
    """Averaged SGD (full batch, decaying steps) at rate 0 reaches the
    unpenalized solution.  On two features its coefficients are moderate
    (|w| < 4); on ten they reach 30, where 4000 steps of SGD fall short."""
    X, y = cancer10
    X = X[:, :2]
    model = DropoutLogisticRegression(
        0.0, solver="sgd", batch_size=150, max_iter=4000, tol=0, random_state=0
    ).fit(X, y)
    plain = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(
        model.predict_proba(X), plain.predict_proba(X), atol=1e-5
    )


def _monte_carlo_minimizer(X, y, rate, n_masks, seed):
    """The minimizer of the dropout objective averaged over fixed masks
    (``n_masks`` per row): L-BFGS on the exact gradient of that average."""
    rng = np.random.default_rng(seed)
    keep = 1.0 - rate
    Xm = (X * (rng.random((n_masks, *X.shape)) < keep) / keep).reshape(-1, X.shape[1])
    ym = np.tile(y.astype(float), n_masks)

    def value_grad(t):
        s = Xm @ t[:-1] + t[-1]
        r = expit(s) - ym
        value = np.mean(np.logaddexp(0, s) - ym * s)
        return value, np.append(Xm.T @ r, r.sum()) / len(ym)

    opt = minimize(
        value_grad,
        np.zeros(X.shape[1] + 1),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-10},
    )
    return opt.x


def _distance(model, reference):
    params = np.append(model.coef_[0], model.intercept_)
    return np.linalg.norm(params - reference) / np.linalg.norm(reference)


def test_sgd_reaches_the_dropout_minimizer(cancer10):
    """At rate 0.3 the reference is the minimizer over 4000 fixed masks per
    row (600,000 masked rows; two mask seeds give minimizers 0.9% apart).
    Averaged SGD lands within 1.4% of it (measured), the deterministic
    objectives farther: Gaussian 4.0%, quadratic 12.7% (measured); these are
    the distances the user guide states.  Tolerances: the reference's own
    spread and SGD's remaining noise."""
    X, y = cancer10
    reference = _monte_carlo_minimizer(X, y, 0.3, 4000, seed=0)
    sgd = DropoutLogisticRegression(
        0.3, solver="sgd", batch_size=150, max_iter=5000, tol=0, random_state=0
    ).fit(X, y)
    gaussian = DropoutLogisticRegression(0.3, tol=1e-10).fit(X, y)
    quadratic = DropoutLogisticRegression(
        0.3, approximation="quadratic", tol=1e-10
    ).fit(X, y)
    d_sgd, d_gauss, d_quad = (
        _distance(m, reference) for m in (sgd, gaussian, quadratic)
    )
    assert d_sgd < 0.03
    assert d_gauss == pytest.approx(0.040, abs=0.015)
    assert d_quad == pytest.approx(0.127, abs=0.015)
    assert d_sgd < d_gauss < d_quad


def test_quadratic_warns_where_its_expansion_fails(wine):
    """Wine's classes are separable: the quadratic penalty fades on the
    confident rows and its solution's objective is far from the Gaussian's."""
    X, y = wine
    with pytest.warns(UserWarning, match="second-order objective"):
        DropoutLogisticRegression(0.3, approximation="quadratic").fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DropoutLogisticRegression(0.3).fit(X, y)


@pytest.mark.parametrize("objective", ["gaussian", "quadratic"])
def test_sample_weight_is_repeated_rows(cancer10, objective):
    X, y = cancer10
    counts = np.random.default_rng(2).integers(0, 3, len(y))
    keep = counts > 0
    rows = np.repeat(np.arange(len(y)), counts)
    est = DropoutLogisticRegression(0.4, approximation=objective, tol=1e-9)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "approximation='quadratic'", UserWarning)
        weighted = clone(est).fit(X[keep], y[keep], sample_weight=counts[keep])
        repeated = clone(est).fit(X[rows], y[rows])
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-5, atol=1e-6)


def test_class_weight_is_sample_weight(cancer10):
    X, y = cancer10
    balanced = DropoutLogisticRegression(class_weight="balanced", tol=1e-9).fit(X, y)
    share = np.bincount(y) / len(y)
    weights = 1.0 / (2 * share[y])
    weighted = DropoutLogisticRegression(tol=1e-9).fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(balanced.coef_, weighted.coef_, rtol=1e-6)


@pytest.mark.parametrize("objective", ["gaussian", "quadratic"])
def test_sparse_equals_dense(wine, objective):
    X, y = wine
    X = np.where(np.abs(X) < 0.5, 0.0, X)
    est = DropoutLogisticRegression(0.2, approximation=objective, tol=1e-9)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "approximation='quadratic'", UserWarning)
        dense = clone(est).fit(X, y)
        sparse = clone(est).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(
        sparse.predict_proba(sp.csr_matrix(X)), dense.predict_proba(X), atol=1e-8
    )


@pytest.mark.parametrize("objective", ["gaussian", "quadratic"])
def test_categorical_block_equals_one_hot_columns(objective):
    """A categorical column is one-hot encoded and dropped as one group;
    because a row has one nonzero in the block, that equals dropping the
    one-hot columns one by one."""
    rng = np.random.default_rng(5)
    n = 300
    level = rng.choice(["a", "b", "c", "d"], n)
    x = rng.normal(size=n)
    logit = x + (level == "a") * 1.5 - (level == "d")
    y = rng.random(n) < expit(logit)
    frame = pd.DataFrame({"x": x, "level": pd.Categorical(level)})
    grouped = DropoutLogisticRegression(0.3, approximation=objective, tol=1e-10).fit(
        frame, y
    )
    one_hot = np.column_stack([x, pd.get_dummies(level).to_numpy(float)])
    alone = DropoutLogisticRegression(0.3, approximation=objective, tol=1e-10).fit(
        one_hot, y
    )
    assert [len(g) for g in grouped.feature_groups_] == [1, 4]
    np.testing.assert_allclose(grouped.coef_, alone.coef_, rtol=1e-6, atol=1e-8)


def test_convergence_warning(wine):
    X, y = wine
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        model = DropoutLogisticRegression(max_iter=2).fit(X, y)
    assert model.n_iter_.tolist() == [2]


def test_cv_equals_grid_search(wine):
    """Warm starts along the grid reach the same solutions as cold fits, so
    the scores equal GridSearchCV's to the solver's tolerance.  (On four
    features: on all thirteen the classes separate, and at small rates the
    objective is too flat for two starts to meet.)"""
    X, y = wine
    X = X[:, :4]
    rates = [0.05, 0.2, 0.5, 0.8]
    folds = StratifiedKFold(4, shuffle=True, random_state=0)
    cv = DropoutLogisticRegressionCV(rates, cv=folds, tol=1e-9).fit(X, y)
    search = GridSearchCV(
        DropoutLogisticRegression(tol=1e-9),
        {"input_dropout": rates},
        cv=folds,
        scoring="neg_log_loss",
    ).fit(X, y)
    for key in ["mean_test_score", "std_test_score"] + [
        f"split{k}_test_score" for k in range(4)
    ]:
        np.testing.assert_allclose(
            cv.cv_results_[key], search.cv_results_[key], rtol=1e-6
        )
    np.testing.assert_array_equal(
        cv.cv_results_["rank_test_score"], search.cv_results_["rank_test_score"]
    )
    assert cv.cv_results_["params"] == search.cv_results_["params"]
    assert cv.best_params_ == search.best_params_
    assert cv.best_index_ == search.best_index_ and cv.n_splits_ == 4
    assert cv.best_score_ == pytest.approx(search.best_score_, rel=1e-6)
    np.testing.assert_allclose(
        cv.coef_, search.best_estimator_.coef_, rtol=1e-6, atol=1e-8
    )


def test_cv_with_accuracy_and_sample_weight(cancer10):
    X, y = cancer10
    weights = np.random.default_rng(0).uniform(0.5, 2, len(y))
    folds = StratifiedKFold(3, shuffle=True, random_state=1)
    cv = DropoutLogisticRegressionCV(
        [0.1, 0.4], cv=folds, scoring="accuracy", tol=1e-9
    ).fit(X, y, sample_weight=weights)
    search = GridSearchCV(
        DropoutLogisticRegression(tol=1e-9),
        {"input_dropout": [0.1, 0.4]},
        cv=folds,
    ).fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(
        cv.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"]
    )


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"input_dropout": 1.0}, "input_dropout"),
        ({"input_dropout": -0.1}, "input_dropout"),
        ({"solver": "exact"}, "solver"),
        ({"approximation": "sgd"}, "approximation"),
        ({"feature_groups": [[0, 99]]}, "99"),
    ],
)
def test_bad_parameters(cancer10, params, match):
    X, y = cancer10
    with pytest.raises(ValueError, match=match):
        DropoutLogisticRegression(**params).fit(X, y)


def test_bad_input(cancer10):
    X, y = cancer10
    with pytest.raises(ValueError, match="only one class: 1"):
        DropoutLogisticRegression().fit(X, np.ones(len(y), dtype=int))
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        DropoutLogisticRegression().fit(bad, y)
    bad[3, 2] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        DropoutLogisticRegression().fit(bad, y)
    with pytest.raises(ValueError, match=r"magnitude .* more than the"):
        DropoutLogisticRegression().fit(X * 1e300, y)
    with pytest.raises(TypeError, match="solver='sgd' needs dense X"):
        DropoutLogisticRegression(solver="sgd").fit(sp.csr_matrix(X), y)
    with pytest.raises(ValueError, match="continuous"):
        DropoutLogisticRegression().fit(X, X[:, 0])
    with pytest.raises(ValueError, match="input_dropouts must be in"):
        DropoutLogisticRegressionCV(input_dropouts=[0.1, 1.0]).fit(X, y)


def test_cv_scorer_without_sample_weight_warns(cancer10):
    """As GridSearchCV: weights go to the scorer only if it takes them."""
    X, y = cancer10
    weights = np.random.default_rng(0).uniform(0.5, 2, len(y))

    def hits(estimator, X, y):
        return float(np.mean(estimator.predict(X) == y))

    search = DropoutLogisticRegressionCV([0.1, 0.5], cv=3, scoring=hits)
    with pytest.warns(UserWarning, match="does not take sample_weight"):
        search.fit(X, y, sample_weight=weights)
    assert search.best_params_["input_dropout"] in (0.1, 0.5)


def test_fits_in_threads_leave_blas_threads_alone():
    """Fits in several threads (several blocks of rows each) leave the BLAS
    thread count as it was."""
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_info

    def blas_threads():
        return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 400))  # 9.6 MB: several blocks of rows
    y = (X[:, 0] + rng.normal(size=3000) > 0).astype(int)
    before = blas_threads()
    with ThreadPoolExecutor(2) as pool:
        fits = [
            pool.submit(DropoutLogisticRegression(max_iter=5).fit, X, y)
            for _ in range(3)
        ]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for f in fits:
                f.result()
    assert blas_threads() == before
