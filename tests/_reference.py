"""Slow, obviously correct reference implementations for the tests.

They use numpy alone, from first principles (docs/user_guide/linear_dropout.rst):
nothing from skdrop, so that a bug in the library's penalty or rate cannot
move the reference along with it.
"""

from __future__ import annotations

import numpy as np


def dropout_penalty(X, p, groups, sample_weight=None):
    """``lam * B``: the expected extra squared loss of inverted dropout.

    With keep rate ``q = 1 - p`` and masks ``r ~ Bernoulli(q)``, one per row
    and group, ``x~_g = r_g x_g / q`` has ``E x~ = x`` and
    ``Var(x~_g . w_g) = (p / q) (x_g . w_g)^2``; summed over the weighted rows
    the penalty is ``lam * sum_g w_g' X_g' S X_g w_g`` with ``lam = p / q``,
    on the uncentered X (the masks act on the raw columns).
    """
    weights = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    B = np.zeros((X.shape[1], X.shape[1]))
    for g in groups:
        Xg = X[:, g]
        B[np.ix_(g, g)] = np.einsum("i,ij,ik->jk", weights, Xg, Xg)
    return p / (1.0 - p) * B


def brute_force_loo(X, y, p, groups, sample_weight=None, fit_intercept=True):
    """Leave each row out, refit with the full-data penalty, predict it."""
    n = X.shape[0]
    weights = np.ones(n) if sample_weight is None else sample_weight
    penalty = dropout_penalty(X, p, groups, sample_weight)
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
        A = Xc.T @ (Xc * si[:, None]) + penalty
        w = np.linalg.lstsq(A, Xc.T @ (si * (yi - ym)), rcond=None)[0]
        predictions[i] = (X[i] - xm) @ w + ym
    return predictions
