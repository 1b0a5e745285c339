"""Slow, obviously correct reference implementations for the tests."""

from __future__ import annotations

import numpy as np

from skdrop._closed_form import dropout_lambda, uncentered_penalty


def brute_force_loo(X, y, p, groups, sample_weight=None, fit_intercept=True):
    """Leave each row out, refit with the full-data penalty, predict it."""
    n = X.shape[0]
    weights = np.ones(n) if sample_weight is None else sample_weight
    B = uncentered_penalty(X, sample_weight, groups)
    B = np.diag(B) if B.ndim == 1 else B
    lam = dropout_lambda(p)
    predictions = np.empty(n)
    for i in range(n):
        keep = np.arange(n) != i
        Xi, yi, si = X[keep], y[keep], weights[keep]
        if fit_intercept:
            xm = si @ Xi / si.sum()
            ym = si @ yi / si.sum()
        else:
            xm, ym = np.zeros(X.shape[1]), 0.0
        Xc = Xi - xm
        A = Xc.T @ (Xc * si[:, None]) + lam * B
        w = np.linalg.lstsq(A, Xc.T @ (si * (yi - ym)), rcond=None)[0]
        predictions[i] = (X[i] - xm) @ w + ym
    return predictions
