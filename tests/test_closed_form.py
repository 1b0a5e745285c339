"""The exact solver: ridge identities, leave-one-out and degenerate designs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import LinAlgWarning
from sklearn.linear_model import Ridge

from skdrop.linear_model._closed_form import (
    build_system,
    dropout_lambda,
    loo_residuals,
    penalty_root_inverse,
    removal_solutions,
    solve_system,
    uncentered_penalty,
)
from tests._reference import brute_force_loo


def _singletons(n_features):
    return [np.array([j]) for j in range(n_features)]


def _fit(X, y, p, groups=None, sample_weight=None, fit_intercept=True):
    groups = _singletons(X.shape[1]) if groups is None else groups
    system, _, _ = build_system(
        X, y.reshape(len(y), -1), sample_weight, groups, fit_intercept
    )
    coef = solve_system(system, dropout_lambda(p))
    return coef, system.y_offset - system.x_offset @ coef, system


def test_dropout_lambda():
    assert dropout_lambda(0.0) == 0.0
    assert dropout_lambda(0.5) == pytest.approx(1.0)
    assert dropout_lambda(0.2) == pytest.approx(0.25)


@pytest.mark.parametrize("p", [0.05, 0.2, 0.5, 0.9])
def test_equals_ridge_on_uncentered_scaled_columns(cancer_regression, p):
    X, y = cancer_regression
    coef, intercept, _ = _fit(X, y, p)
    scale = np.sqrt((X**2).sum(axis=0))
    ridge = Ridge(alpha=dropout_lambda(p), solver="cholesky").fit(X / scale, y)
    np.testing.assert_allclose(coef[:, 0], ridge.coef_ / scale, rtol=1e-8)
    np.testing.assert_allclose(intercept[0], ridge.intercept_, rtol=1e-8)


def test_centered_diagonal_would_be_wrong(cancer_regression):
    """The masks act on uncentered X: a centered penalty changes w a lot."""
    X, y = cancer_regression
    p = 0.2
    coef, _, _ = _fit(X, y, p)
    centered_scale = np.sqrt(((X - X.mean(axis=0)) ** 2).sum(axis=0))
    wrong = Ridge(alpha=dropout_lambda(p)).fit(X / centered_scale, y)
    wrong_coef = wrong.coef_ / centered_scale
    rel = np.linalg.norm(wrong_coef - coef[:, 0]) / np.linalg.norm(coef[:, 0])
    assert rel > 0.1


def test_all_zero_and_constant_columns_get_zero_coefficient(diabetes):
    X, y = diabetes
    X = np.column_stack([X, np.zeros(len(X)), np.full(len(X), 3.0)])
    for p in [0.0, 0.3]:
        coef, intercept, _ = _fit(X, y, p)
        assert np.all(np.isfinite(coef)) and np.isfinite(intercept).all()
        assert coef[-2, 0] == 0.0 and coef[-1, 0] == 0.0
        reference, _, _ = _fit(X[:, :-2], y, p)
        if p == 0.0:
            np.testing.assert_allclose(coef[:-2], reference, rtol=1e-8)


def test_collinear_without_dropout_warns_and_gives_min_norm(diabetes):
    X, y = diabetes
    X = np.column_stack([X, X[:, 0]])
    with pytest.warns(LinAlgWarning, match="minimum-norm"):
        coef, intercept, _ = _fit(X, y, 0.0)
    # Both copies share the weight of the original column equally.
    reference, ref_intercept, _ = _fit(X[:, :-1], y, 0.0)
    np.testing.assert_allclose(coef[0] + coef[-1], reference[0], rtol=1e-8)
    np.testing.assert_allclose(coef[0], coef[-1], rtol=1e-8)
    np.testing.assert_allclose(intercept, ref_intercept, rtol=1e-8)


def test_dropout_makes_collinear_design_solvable(diabetes):
    X, y = diabetes
    X = np.column_stack([X, X[:, 0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        coef, _, _ = _fit(X, y, 0.2)
    np.testing.assert_allclose(coef[0], coef[-1], rtol=1e-8)


def test_penalty_root_inverse_whitens_blocks(diabetes_one_hot):
    X, _, groups = diabetes_one_hot
    Xv = X.to_numpy()
    cols = list(X.columns)
    idx = [np.array([cols.index(c) for c in g]) for g in groups]
    rest = [np.array([j]) for j in range(Xv.shape[1]) if all(j not in g for g in idx)]
    all_groups = idx + rest
    B = uncentered_penalty(Xv, None, all_groups)
    T = penalty_root_inverse(B, all_groups, Xv.shape[1])
    np.testing.assert_allclose(T.T @ B @ T, np.eye(T.shape[1]), atol=1e-10)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_loo_equals_brute_force(diabetes, fit_intercept, weighted):
    X, y = diabetes
    X, y = X[:150], y[:150]
    weights = np.random.default_rng(0).uniform(0.2, 3.0, len(y)) if weighted else None
    groups = _singletons(X.shape[1])
    rates = [0.0, 0.1, 0.3, 0.6, 0.9]
    system, Xc, yc = build_system(X, y[:, None], weights, groups, fit_intercept)
    residuals = loo_residuals(
        system,
        Xc,
        yc,
        weights,
        groups,
        [dropout_lambda(p) for p in rates],
        fit_intercept,
    )
    for r, p in enumerate(rates):
        expected = y - brute_force_loo(X, y, p, groups, weights, fit_intercept)
        np.testing.assert_allclose(residuals[:, 0, r], expected, rtol=1e-8, atol=1e-8)


@settings(max_examples=25, deadline=None)
@given(
    n_samples=st.integers(3, 40),
    n_features=st.integers(1, 8),
    p=st.floats(0.01, 0.95),
    seed=st.integers(0, 2**16),
)
def test_property_ridge_equivalence_and_loo(n_samples, n_features, p, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features)) * rng.uniform(0.1, 10, n_features)
    X += rng.normal(size=n_features) * 3  # uncentered columns
    y = X @ rng.normal(size=n_features) + rng.normal(size=n_samples)
    coef, _, system = _fit(X, y, p)
    scale = np.sqrt((X**2).sum(axis=0))
    ridge = Ridge(alpha=dropout_lambda(p), solver="svd").fit(X / scale, y)
    np.testing.assert_allclose(coef[:, 0], ridge.coef_ / scale, rtol=1e-6, atol=1e-8)

    groups = _singletons(n_features)
    _, Xc, yc = build_system(X, y[:, None], None, groups, True)
    loo = loo_residuals(system, Xc, yc, None, groups, [dropout_lambda(p)])
    expected = y - brute_force_loo(X, y, p, groups)
    np.testing.assert_allclose(loo[:, 0, 0], expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dataset", ["diabetes", "cancer_regression"])
def test_removal_solutions_equal_solving_without_the_columns(request, dataset):
    X, y = request.getfixturevalue(dataset)
    d = X.shape[1]
    groups = [np.array([j]) for j in range(d)]
    system, _, _ = build_system(X, y[:, None], None, groups, True)
    units = [np.array([0]), np.array([1, 3]), np.arange(d - 1)]
    solved = removal_solutions(system, 0.25, units)
    assert solved is not None
    full, coefs = solved
    np.testing.assert_allclose(full, solve_system(system, 0.25), rtol=1e-10)
    for unit, coef in zip(units, coefs, strict=True):
        keep = np.setdiff1d(np.arange(d), unit)
        sub, _, _ = build_system(
            X[:, keep], y[:, None], None, groups[: len(keep)], True
        )
        expected = solve_system(sub, 0.25)
        np.testing.assert_allclose(coef[keep], expected, rtol=1e-9, atol=1e-12)
        assert (coef[unit] == 0).all()


def test_removal_solutions_decline_a_singular_system(diabetes):
    X, y = diabetes
    X = np.column_stack([X, X[:, :1]])
    groups = [np.array([j]) for j in range(X.shape[1])]
    system, _, _ = build_system(X, y[:, None], None, groups, True)
    assert removal_solutions(system, 0.0, [np.array([0])]) is None
    assert removal_solutions(system, 0.1, [np.array([0])]) is not None
