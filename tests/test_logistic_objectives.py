"""Deterministic objectives of dropout logistic regression (binary) against
their gradients and against the Monte Carlo dropout objective."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from skdrop._logistic_objectives import (
    gaussian_objective,
    monte_carlo_objective,
    quadratic_objective,
)

OBJECTIVES = {"quadratic": quadratic_objective, "gaussian": gaussian_objective}


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


@pytest.mark.parametrize("name", list(OBJECTIVES))
@pytest.mark.parametrize("rate", [0.1, 0.5])
def test_gradients_match_finite_differences(cancer_at_fixed_w, name, rate):
    X, y, coef, intercept = cancer_at_fixed_w
    lam = rate / (1 - rate)
    weights = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    objective = OBJECTIVES[name]
    _, grad, grad_b = objective(coef, intercept, X, y, lam, weights)
    h = 1e-6
    for j in range(len(coef)):
        step = np.zeros_like(coef)
        step[j] = h
        up = objective(coef + step, intercept, X, y, lam, weights)[0]
        down = objective(coef - step, intercept, X, y, lam, weights)[0]
        assert grad[j] == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-8)
    up = objective(coef, intercept + h, X, y, lam, weights)[0]
    down = objective(coef, intercept - h, X, y, lam, weights)[0]
    assert grad_b == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-8)


@pytest.mark.parametrize("name", list(OBJECTIVES))
def test_rate_zero_is_the_logistic_loss(cancer_at_fixed_w, name):
    X, y, coef, intercept = cancer_at_fixed_w
    value, grad, _ = OBJECTIVES[name](coef, intercept, X, y, 0.0)
    m = X @ coef + intercept
    loss = np.mean(np.logaddexp(0, m) - y * m)
    assert value == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(grad, X.T @ (expit(m) - y) / len(y), rtol=1e-10)


# Measured with 10^5 masks (seed 1) on the fixture: (rate, relative error of
# the quadratic objective, of the Gaussian one) against the Monte Carlo mean.
MEASURED = [(0.1, -0.0021, -0.0018), (0.3, -0.0083, -0.0045), (0.5, -0.0157, 0.0020)]


@pytest.mark.parametrize(("rate", "quadratic_error", "gaussian_error"), MEASURED)
def test_objectives_against_monte_carlo(
    cancer_at_fixed_w, rate, quadratic_error, gaussian_error
):
    """The quadratic objective underestimates the dropout loss by a relative
    error that grows with the rate (0.2% at 0.1, 1.6% at 0.5); the Gaussian
    one stays within 0.5%, closer for every rate >= 0.3.  Tolerances: three
    Monte Carlo standard errors, plus rounding of the measured curve."""
    X, y, coef, intercept = cancer_at_fixed_w
    lam = rate / (1 - rate)
    mc, se = monte_carlo_objective(
        coef, intercept, X, y, rate, 100_000, np.random.default_rng(1)
    )
    tol = 3 * se / mc + 1e-4
    quadratic = quadratic_objective(coef, intercept, X, y, lam)[0]
    gaussian = gaussian_objective(coef, intercept, X, y, lam)[0]
    assert (quadratic - mc) / mc == pytest.approx(quadratic_error, abs=tol)
    assert (gaussian - mc) / mc == pytest.approx(gaussian_error, abs=tol)
    if rate >= 0.3:
        assert abs(gaussian - mc) < abs(quadratic - mc)


def test_sample_weights_are_repeated_rows(cancer_at_fixed_w):
    X, y, coef, intercept = cancer_at_fixed_w
    counts = np.random.default_rng(2).integers(0, 4, len(y))
    keep = counts > 0
    repeated = np.repeat(np.arange(len(y)), counts)
    for objective in OBJECTIVES.values():
        weighted = objective(coef, intercept, X[keep], y[keep], 0.5, counts[keep])
        plain = objective(coef, intercept, X[repeated], y[repeated], 0.5)
        assert weighted[0] == pytest.approx(plain[0], rel=1e-12)
        np.testing.assert_allclose(weighted[1], plain[1], rtol=1e-10)
