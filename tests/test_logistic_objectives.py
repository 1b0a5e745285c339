"""Deterministic objectives of dropout logistic regression against their
gradients and against the Monte Carlo dropout objective."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, logsumexp, softmax
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from skdrop.linear_model._logistic_objectives import (
    OBJECTIVES,
    DropoutDesign,
    monte_carlo_objective,
)

NAMES = ("quadratic", "gaussian")


def objective(name, coef, intercept, X, y, lam, sample_weight=None, groups=None):
    """``(value, grad, grad_intercept)`` of objective ``name`` (binary for a
    1-d ``coef``, multinomial for a 2-d one with ``y`` the class indices)."""
    design = DropoutDesign.build(X, sample_weight, groups)
    multinomial = np.ndim(coef) == 2
    target = np.eye(coef.shape[1])[y] if multinomial else y
    return OBJECTIVES[name, multinomial](coef, intercept, design, target, lam)


@pytest.fixture(scope="module")
def cancer_at_fixed_w():
    """150 rows and 10 standardized features of the breast-cancer table, and
    the coefficients of an L2 logistic regression (C=0.1) on them."""
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)[:, :10]
    rows = np.random.default_rng(0).choice(len(X), 150, replace=False)
    X, y = X[rows], y[rows].astype(float)
    model = LogisticRegression(C=0.1).fit(X, y)
    return X, y, model.coef_[0], float(model.intercept_[0])


@pytest.fixture(scope="module")
def wine_at_fixed_w():
    """The wine table (178 rows, 13 standardized features, 3 classes) and the
    coefficients (13, 3) of an L2 multinomial logistic regression (C=0.1)."""
    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = LogisticRegression(C=0.1).fit(X, y)
    return X, y, model.coef_.T.copy(), model.intercept_.copy()


def _finite_differences(name, coef, intercept, X, y, lam, weights, groups, h=1e-6):
    def value(c, b):
        return objective(name, c, b, X, y, lam, weights, groups)[0]

    grad = np.zeros_like(coef)
    for index in np.ndindex(coef.shape):
        step = np.zeros_like(coef)
        step[index] = h
        grad[index] = (
            value(coef + step, intercept) - value(coef - step, intercept)
        ) / (2 * h)
    b = np.atleast_1d(np.asarray(intercept, dtype=float))
    grad_b = np.zeros_like(b)
    for k in range(b.size):
        step = np.zeros_like(b)
        step[k] = h
        up, down = b + step, b - step
        if np.ndim(intercept) == 0:
            up, down = float(up[0]), float(down[0])
        grad_b[k] = (value(coef, up) - value(coef, down)) / (2 * h)
    return grad, grad_b


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("rate", [0.1, 0.5])
@pytest.mark.parametrize("task", ["binary", "multinomial"])
@pytest.mark.parametrize("layout", ["dense", "sparse", "groups"])
def test_gradients_match_finite_differences(
    cancer_at_fixed_w, wine_at_fixed_w, name, rate, task, layout
):
    X, y, coef, intercept = cancer_at_fixed_w if task == "binary" else wine_at_fixed_w
    X = X[:60].copy()
    y = y[:60]
    X[np.random.default_rng(3).random(X.shape) < 0.3] = 0.0  # zeros for CSR
    groups = [np.array([0, 1]), np.array([2, 5, 6])] if layout == "groups" else None
    Xin = sp.csr_matrix(X) if layout == "sparse" else X
    lam = rate / (1 - rate)
    weights = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    _, grad, grad_b = objective(name, coef, intercept, Xin, y, lam, weights, groups)
    fd, fd_b = _finite_differences(name, coef, intercept, Xin, y, lam, weights, groups)
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(np.atleast_1d(grad_b), fd_b, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("name", NAMES)
def test_rate_zero_is_the_logistic_loss(cancer_at_fixed_w, wine_at_fixed_w, name):
    X, y, coef, intercept = cancer_at_fixed_w
    value, grad, _ = objective(name, coef, intercept, X, y, 0.0)
    m = X @ coef + intercept
    assert value == pytest.approx(np.mean(np.logaddexp(0, m) - y * m), rel=1e-12)
    np.testing.assert_allclose(grad, X.T @ (expit(m) - y) / len(y), rtol=1e-10)
    X, y, coef, intercept = wine_at_fixed_w
    value, grad, _ = objective(name, coef, intercept, X, y, 0.0)
    m = X @ coef + intercept
    loss = np.mean(logsumexp(m, axis=1) - m[np.arange(len(y)), y])
    assert value == pytest.approx(loss, rel=1e-9)
    Y = np.eye(3)[y]
    np.testing.assert_allclose(grad, X.T @ (softmax(m, axis=1) - Y) / len(y), atol=1e-9)


# Measured with 10^5 masks (seed 1) on the fixtures: (rate, relative error of
# the quadratic objective, of the Gaussian one) against the Monte Carlo mean.
MEASURED_BINARY = [
    (0.1, -0.0021, -0.0018),
    (0.3, -0.0083, -0.0045),
    (0.5, -0.0157, 0.0020),
]
MEASURED_MULTINOMIAL = [(0.1, -0.0281, -0.0244), (0.5, -0.1153, 0.0191)]


@pytest.mark.parametrize(("rate", "quadratic_error", "gaussian_error"), MEASURED_BINARY)
def test_binary_objectives_against_monte_carlo(
    cancer_at_fixed_w, rate, quadratic_error, gaussian_error
):
    """The quadratic objective underestimates the dropout loss by a relative
    error that grows with the rate (0.2% at 0.1, 1.6% at 0.5); the Gaussian
    one stays within 0.5%, closer for every rate >= 0.3.  Tolerances: three
    Monte Carlo standard errors, plus rounding of the measured curve."""
    X, y, coef, intercept = cancer_at_fixed_w
    _check_against_monte_carlo(
        X, y, coef, intercept, rate, quadratic_error, gaussian_error
    )


@pytest.mark.parametrize(
    ("rate", "quadratic_error", "gaussian_error"), MEASURED_MULTINOMIAL
)
def test_multinomial_objectives_against_monte_carlo(
    wine_at_fixed_w, rate, quadratic_error, gaussian_error
):
    """Three classes, a small loss (0.13 at rate 0.1): the quadratic
    objective's relative error grows from -2.8% at rate 0.1 to -11.5% at
    0.5 (-5.4%, -7.8%, -10.0% at 0.2, 0.3, 0.4); the Gaussian cubature's
    stays within 4% (-2.4%, -3.8%, -3.9%, -2.2%, +1.9%)."""
    X, y, coef, intercept = wine_at_fixed_w
    _check_against_monte_carlo(
        X, y, coef, intercept, rate, quadratic_error, gaussian_error
    )


def _check_against_monte_carlo(X, y, coef, intercept, rate, quad_error, gauss_error):
    lam = rate / (1 - rate)
    mc, se = monte_carlo_objective(
        coef, intercept, X, y, rate, 100_000, np.random.default_rng(1)
    )
    tol = 3 * se / mc + 1e-4
    quadratic = objective("quadratic", coef, intercept, X, y, lam)[0]
    gaussian = objective("gaussian", coef, intercept, X, y, lam)[0]
    assert (quadratic - mc) / mc == pytest.approx(quad_error, abs=tol)
    assert (gaussian - mc) / mc == pytest.approx(gauss_error, abs=tol)
    if rate >= 0.3:
        assert abs(gaussian - mc) < abs(quadratic - mc)


@pytest.mark.parametrize("task", ["binary", "multinomial"])
def test_sample_weights_are_repeated_rows(cancer_at_fixed_w, wine_at_fixed_w, task):
    X, y, coef, intercept = cancer_at_fixed_w if task == "binary" else wine_at_fixed_w
    counts = np.random.default_rng(2).integers(0, 4, len(y))
    keep = counts > 0
    repeated = np.repeat(np.arange(len(y)), counts)
    for name in NAMES:
        weighted = objective(name, coef, intercept, X[keep], y[keep], 0.5, counts[keep])
        plain = objective(name, coef, intercept, X[repeated], y[repeated], 0.5)
        assert weighted[0] == pytest.approx(plain[0], rel=1e-12)
        np.testing.assert_allclose(weighted[1], plain[1], rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("task", ["binary", "multinomial"])
def test_one_hot_groups_equal_elementwise_dropout(name, task):
    """A row has one nonzero in a one-hot block, so the block's score
    contribution has the same mean and variance whether the block is dropped
    as one group or column by column: identical objectives and gradients."""
    rng = np.random.default_rng(4)
    n = 80
    levels = rng.integers(0, 4, n)
    X = np.column_stack([rng.normal(size=(n, 3)), np.eye(4)[levels]])
    K = 1 if task == "binary" else 3
    y = rng.integers(0, 2 if K == 1 else K, n)
    coef = rng.normal(size=(7, K))
    coef = coef[:, 0] if K == 1 else coef
    intercept = 0.3 if K == 1 else rng.normal(size=K)
    y = y.astype(float) if K == 1 else y
    groups = [np.array([0]), np.array([1]), np.array([2]), np.arange(3, 7)]
    grouped = objective(name, coef, intercept, X, y, 0.6, None, groups)
    alone = objective(name, coef, intercept, X, y, 0.6)
    assert grouped[0] == pytest.approx(alone[0], rel=1e-12)
    np.testing.assert_allclose(grouped[1], alone[1], rtol=1e-10, atol=1e-14)
    # and agrees with real group masks: the Monte Carlo mean is the same
    mc_groups = monte_carlo_objective(
        coef, intercept, X, y, 0.375, 20_000, np.random.default_rng(5), groups=groups
    )
    mc_alone = monte_carlo_objective(
        coef, intercept, X, y, 0.375, 20_000, np.random.default_rng(6)
    )
    assert mc_groups[0] == pytest.approx(
        mc_alone[0], abs=4 * np.hypot(mc_groups[1], mc_alone[1])
    )


@pytest.mark.parametrize("name", NAMES)
def test_multinomial_objectives_ignore_a_shift_of_every_class(wine_at_fixed_w, name):
    """Adding a constant to every class's coefficient of a feature adds the
    same (random) amount to every score, which the softmax loss ignores."""
    X, y, coef, intercept = wine_at_fixed_w
    shift = np.random.default_rng(7).normal(size=(coef.shape[0], 1))
    base = objective(name, coef, intercept, X, y, 0.5)
    moved = objective(name, coef + shift, intercept + 1.0, X, y, 0.5)
    assert moved[0] == pytest.approx(base[0], rel=1e-10)
    np.testing.assert_allclose(base[1].sum(axis=1), 0.0, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("task", ["binary", "multinomial"])
def test_blocks_of_rows_add_up_to_the_whole(monkeypatch, name, task):
    """Dense designs are evaluated in blocks of rows (256 here: three blocks
    of the 569 rows); a CSR design in one.  Same values and gradients."""
    import skdrop.linear_model._logistic_objectives as objectives

    monkeypatch.setattr(objectives, "_BLOCK_BYTES", 1)
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    rng = np.random.default_rng(8)
    weights = rng.uniform(0.5, 2.0, len(y))
    groups = [np.array([0, 1, 2]), np.array([10, 20])]
    if task == "binary":
        coef, intercept, target = rng.normal(size=30) * 0.3, 0.2, y.astype(float)
    else:
        y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
        coef, intercept = rng.normal(size=(30, 3)) * 0.3, rng.normal(size=3)
        target = y
    dense = objective(name, coef, intercept, X, target, 0.7, weights, groups)
    sparse = objective(
        name, coef, intercept, sp.csr_matrix(X), target, 0.7, weights, groups
    )
    assert dense[0] == pytest.approx(sparse[0], rel=1e-12)
    np.testing.assert_allclose(dense[1], sparse[1], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(dense[2], sparse[2], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("multinomial", [False, True])
def test_threads_give_the_same_bits(monkeypatch, name, multinomial):
    """The blocks' terms are summed in block order for any number of
    threads: a fit in a joblib worker (fewer BLAS threads) gives the same
    bits as in the main process."""
    import skdrop.linear_model._logistic_objectives as objectives

    monkeypatch.setattr(objectives, "_BLOCK_BYTES", 1)  # blocks of 256 rows
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    X, y = np.vstack([X, 0.9 * X]), np.concatenate([y, y])  # five blocks
    rng = np.random.default_rng(3)
    design = DropoutDesign.build(X, rng.uniform(0.5, 2.0, len(y)))
    if multinomial:
        coef, intercept = rng.normal(size=(30, 3)) * 0.3, rng.normal(size=3)
        target = np.eye(3)[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)]
    else:
        coef, intercept, target = rng.normal(size=30) * 0.3, 0.2, y.astype(float)
    function = OBJECTIVES[name, multinomial]
    one = function(coef, intercept, design, target, 0.7, 1)
    for n_threads in (2, 3):
        other = function(coef, intercept, design, target, 0.7, n_threads)
        assert other[0] == one[0]
        np.testing.assert_array_equal(other[1], one[1])
        np.testing.assert_array_equal(other[2], one[2])


@pytest.mark.parametrize("name", NAMES)
def test_sparse_blocks_add_up_to_the_whole(monkeypatch, name):
    """A CSR design in blocks of 100 rows (six blocks of the 569) gives what
    one block gives."""
    import skdrop.linear_model._logistic_objectives as objectives

    X, y = load_breast_cancer(return_X_y=True)
    X = sp.csr_matrix(np.where(np.abs(X) > np.median(X, axis=0), X, 0.0))
    rng = np.random.default_rng(9)
    coef, intercept = rng.normal(size=(30, 3)) * 1e-3, rng.normal(size=3)
    y3 = (np.asarray(X[:, 0].todense()).ravel() > 15).astype(int) + y
    whole = objective(name, coef, intercept, X, y3, 0.5)
    monkeypatch.setattr(objectives, "_SPARSE_BLOCK_ROWS", 100)
    blocks = objective(name, coef, intercept, X, y3, 0.5)
    assert blocks[0] == pytest.approx(whole[0], rel=1e-12)
    np.testing.assert_allclose(blocks[1], whole[1], rtol=1e-10, atol=1e-16)
