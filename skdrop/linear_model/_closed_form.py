"""Exact solutions of linear regression trained with input dropout.

With drop rate ``p`` and inverted masks ``x~ = r * x / (1 - p)``, the expected
squared loss is a ridge problem with a data-dependent penalty (Srivastava et
al. 2014, section 9.1)::

    E ||y - b - X~ w||^2 = ||y - b - X w||^2 + lam * w' B w,   lam = p / (1 - p)

where ``B`` is block diagonal with blocks ``X_g' S X_g`` of the *uncentered*,
weighted design, one block per dropout group (a diagonal when every column is
its own group).  This module holds the solvers; it uses numpy and scipy only.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import linalg
from scipy.linalg import LinAlgError, LinAlgWarning

Array = NDArray[np.float64]
IntArray = NDArray[np.intp]

# Rows per chunk in the leave-one-out sweep: bounds the temporary memory to a
# few chunk x n_features blocks that stay in cache between the products.
_LOO_CHUNK_ROWS = 512


def dropout_lambda(dropout: float) -> float:
    """Ridge strength ``p / (1 - p)`` equivalent to input dropout rate ``p``."""
    return dropout / (1.0 - dropout)


@dataclass(frozen=True)
class DropoutSystem:
    """Sufficient statistics of a dropout linear regression.

    Attributes
    ----------
    gram : ndarray of shape (n_features, n_features)
        ``Xc' S Xc`` with ``Xc`` the centered design (uncentered without an
        intercept); rows and columns of constant features are exactly zero.
    penalty : ndarray of shape (n_features,) or (n_features, n_features)
        ``B``: its diagonal when every group is a single column, else the
        dense block-diagonal matrix.
    xty : ndarray of shape (n_features, n_targets)
        ``Xc' S (y - y_offset)``.
    x_offset, y_offset : ndarray
        Weighted means subtracted from ``X`` and ``y`` (zeros without an
        intercept).
    weight_sum : float
        Sum of the sample weights.
    """

    gram: Array
    penalty: Array
    xty: Array
    x_offset: Array
    y_offset: Array
    weight_sum: float


def center_data(
    X: Array, y: Array, sample_weight: Array | None, fit_intercept: bool
) -> tuple[Array, Array, Array, Array, float]:
    """Subtract the weighted column means of ``X`` and ``y``.

    Returns ``Xc, yc, x_offset, y_offset, weight_sum``.  ``Xc`` is a new array
    when ``fit_intercept`` and ``X`` itself otherwise.
    """
    n_samples = X.shape[0]
    weight_sum = float(n_samples if sample_weight is None else sample_weight.sum())
    if not fit_intercept:
        return (
            X,
            y,
            np.zeros(X.shape[1]),
            np.zeros(y.shape[1]),
            weight_sum,
        )
    if sample_weight is None:
        x_offset = X.mean(axis=0)
        y_offset = y.mean(axis=0)
    else:
        x_offset = (sample_weight @ X) / weight_sum
        y_offset = (sample_weight @ y) / weight_sum
    return X - x_offset, y - y_offset, x_offset, y_offset, weight_sum


def _weighted_gram(Xc: Array, sample_weight: Array | None) -> Array:
    if sample_weight is None:
        return Xc.T @ Xc
    Xw = Xc * np.sqrt(sample_weight)[:, None]
    return Xw.T @ Xw


def build_system(
    X: Array,
    y: Array,
    sample_weight: Array | None,
    groups: Sequence[IntArray],
    fit_intercept: bool = True,
) -> tuple[DropoutSystem, Array, Array]:
    """Compute the statistics of the dropout objective in one pass over ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples, n_targets)
    sample_weight : ndarray of shape (n_samples,) or None
    groups : sequence of int arrays
        A partition of the columns; each group shares one dropout mask.
    fit_intercept : bool

    Returns
    -------
    system : DropoutSystem
    Xc, yc : ndarray
        The centered data, reused by the leave-one-out sweep.
    """
    Xc, yc, x_offset, y_offset, weight_sum = center_data(
        X, y, sample_weight, fit_intercept
    )
    gram = _weighted_gram(Xc, sample_weight)
    if sample_weight is None:
        xty = Xc.T @ yc
    else:
        xty = Xc.T @ (yc * sample_weight[:, None])
    if fit_intercept:
        constant = _zero_constant_features(gram, x_offset, X.shape[0], weight_sum)
        # Their cross products with y are round-off too: left in, a tiny
        # dropout rate would divide them by a penalty of the same size.
        xty[constant] = 0.0
        Xc[:, constant] = 0.0
    # The masks act on the uncentered X: its weighted second moments are the
    # centered ones plus the mean outer product.
    mean_outer = weight_sum * x_offset
    if all(len(g) == 1 for g in groups):
        penalty = np.diag(gram) + mean_outer * x_offset
    else:
        penalty = np.zeros_like(gram)
        for g in groups:
            block = np.ix_(g, g)
            penalty[block] = gram[block] + np.outer(mean_outer[g], x_offset[g])
    system = DropoutSystem(gram, penalty, xty, x_offset, y_offset, weight_sum)
    return system, Xc, yc


def uncentered_penalty(
    X: Array, sample_weight: Array | None, groups: Sequence[IntArray]
) -> Array:
    """``B`` alone: the weighted uncentered second moments the masks act on.

    Its diagonal when every group is one column, else the block-diagonal
    matrix with blocks ``X_g' S X_g``.
    """
    weights = np.ones(X.shape[0]) if sample_weight is None else sample_weight
    if all(len(g) == 1 for g in groups):
        return np.asarray(weights @ (X * X), dtype=np.float64)
    penalty = np.zeros((X.shape[1], X.shape[1]))
    for g in groups:
        Xg = X[:, g]
        penalty[np.ix_(g, g)] = Xg.T @ (Xg * weights[:, None])
    return penalty


def _zero_constant_features(
    gram: Array, x_offset: Array, n_samples: int, weight_sum: float
) -> NDArray[np.bool_]:
    """Make centered constant columns exactly zero instead of round-off noise.

    Returns the mask of the constant columns.

    The bound follows scikit-learn's test for constant features: a variance
    below what summing ``n_samples`` rounded values can produce.
    """
    eps = np.finfo(np.float64).eps
    var = np.diag(gram) / weight_sum
    bound = n_samples * eps * var + (n_samples * x_offset * eps) ** 2
    constant = var <= bound
    gram[constant, :] = 0.0
    gram[:, constant] = 0.0
    return constant


def _penalty_matrix(penalty: Array) -> Array:
    return np.diag(penalty) if penalty.ndim == 1 else penalty


def solve_system(system: DropoutSystem, lam: float) -> Array:
    """Coefficients ``(gram + lam B)^-1 xty`` of shape (n_features, n_targets).

    Columns whose row of the system is zero (all-zero columns; constant
    columns without dropout) contribute nothing and get coefficient 0.  A
    singular or ill-conditioned system is solved by least squares with a
    :class:`scipy.linalg.LinAlgWarning`.
    """
    A = system.gram + lam * _penalty_matrix(system.penalty)
    coef = np.zeros_like(system.xty)
    active = np.flatnonzero(np.diag(A) > 0)
    if active.size == 0:
        return coef
    A_act = A[np.ix_(active, active)]
    b_act = system.xty[active]
    coef[active] = _solve_spd(A_act, b_act)
    return coef


def _solve_spd(A: Array, b: Array) -> Array:
    eps = np.finfo(np.float64).eps
    # Equilibrate (the diagonal is positive): the condition that matters is
    # that of the scaled matrix, not the columns' units, so features of
    # scales 1e-8 and 1e8 side by side are no reason for a warning.  The
    # least-squares fallback is minimum-norm in these scaled coordinates.
    scale = 1.0 / np.sqrt(np.diag(A))
    A = A * scale[:, None] * scale[None, :]
    b = b * scale[:, None]
    try:
        factor, lower = linalg.cho_factor(A, lower=False, check_finite=False)
        anorm = float(np.abs(A).sum(axis=0).max())
        rcond, info = linalg.lapack.dpocon(factor, anorm)
        if info == 0 and rcond >= eps:
            result: Array = linalg.cho_solve((factor, lower), b, check_finite=False)
            return result * scale[:, None]
        reason = f"ill-conditioned (rcond={rcond:.3g})"
    except LinAlgError:
        reason = "singular"
    warnings.warn(
        f"The dropout normal equations are {reason}: some combination of "
        "columns is neither identified by the data nor penalized (collinear "
        "columns with input_dropout=0, or linearly dependent columns inside one "
        "feature group, such as standardized one-hot columns); using the "
        "minimum-norm least-squares solution.",
        LinAlgWarning,
        stacklevel=3,
    )
    solution = linalg.lstsq(A, b, check_finite=False, lapack_driver="gelsd")[0]
    return np.asarray(solution * scale[:, None], dtype=np.float64)


def penalty_root_inverse(
    penalty: Array, groups: Sequence[IntArray], n_features: int
) -> Array:
    """A matrix ``T`` with ``T' B T = I`` on the range of ``B``.

    Substituting ``w = T v`` turns the penalty ``w' B w`` into ``||v||^2``:
    the dropout problem becomes an ordinary ridge in ``lam``.  Directions in
    the null space of ``B`` (all-zero columns, collinear columns of one group)
    carry no signal and are left out, so ``T`` has at most ``n_features``
    columns.
    """
    blocks: list[Array] = []
    rows: list[IntArray] = []
    eps = np.finfo(np.float64).eps
    for g in groups:
        if penalty.ndim == 1:  # every group is a single column
            if penalty[g[0]] > 0:
                blocks.append(np.array([[1.0 / np.sqrt(penalty[g[0]])]]))
                rows.append(g)
            continue
        evals, evecs = linalg.eigh(penalty[np.ix_(g, g)])
        keep = evals > evals.max(initial=0.0) * len(g) * eps
        if keep.any():
            blocks.append(evecs[:, keep] / np.sqrt(evals[keep]))
            rows.append(g)
    width = sum(b.shape[1] for b in blocks)
    T = np.zeros((n_features, width))
    col = 0
    for g, b in zip(rows, blocks, strict=True):
        T[g, col : col + b.shape[1]] = b
        col += b.shape[1]
    return T


def loo_residuals(
    system: DropoutSystem,
    Xc: Array,
    yc: Array,
    sample_weight: Array | None,
    groups: Sequence[IntArray],
    lams: Sequence[float],
    fit_intercept: bool = True,
) -> Array:
    """Exact leave-one-out residuals for every ``lam`` from one eigendecomposition.

    The penalty matrix ``B`` is held at its value on all rows (it is part of
    the model specification), so each left-out fit is the ridge problem
    ``min sum_{j != i} s_j (y_j - b - x_j w)^2 + lam w' B w``.  With ``w = T v``
    (``T' B T = I``) and ``H = T' Xc' S Xc T = V diag(ev) V'``, the hat matrix
    diagonal is ``s_i / S + s_i sum_k P_ik^2 / (ev_k + lam)`` with ``P = Xc T V``
    and the left-out residual is ``r_i / (1 - h_ii)``.

    Returns
    -------
    residuals : ndarray of shape (n_samples, n_targets, n_lams)
        ``y_i - yhat_{-i}`` for each sample, target and ``lam``.
    """
    T = penalty_root_inverse(system.penalty, groups, Xc.shape[1])
    H = T.T @ system.gram @ T
    evals, evecs = linalg.eigh(H)
    evals = np.clip(evals, 0.0, None)
    # Relative to the largest eigenvalue, not to 1: a feature with a large
    # mean and a small spread (a timestamp) has a real eigenvalue far below 1
    # in these whitened coordinates (T' B T = I, B uncentered).
    tiny = evals.max(initial=0.0) * H.shape[0] * np.finfo(np.float64).eps
    lam_arr = np.asarray(lams, dtype=np.float64)
    with np.errstate(divide="ignore", over="ignore"):
        shrink = np.where(
            evals[:, None] + lam_arr[None, :] > tiny,
            1.0 / (evals[:, None] + lam_arr[None, :]),
            0.0,
        )  # (d', n_lams); zero is the pseudo-inverse on null directions
    # A subnormal lam on a direction without data (every eigenvalue 0)
    # overflows 1 / lam; that direction's q is exactly 0, and so is its fit.
    shrink[~np.isfinite(shrink)] = 0.0
    M = T @ evecs  # (n_features, d')
    q = M.T @ system.xty  # (d', n_targets)
    n_targets = yc.shape[1]
    n_lams = lam_arr.size
    # Explicit sizes: d' is 0 when every column is all zero.
    fit_weights = (q[:, :, None] * shrink[:, None, :]).reshape(
        q.shape[0], n_targets * n_lams
    )

    n_samples = Xc.shape[0]
    out = np.empty((n_samples, n_targets, n_lams))
    weights = np.ones(n_samples) if sample_weight is None else sample_weight
    # Small chunks keep P in cache for the three products below, and the
    # skinny products run faster with the rates as the leading dimension.
    chunk = min(_LOO_CHUNK_ROWS, n_samples)
    P_buf = np.empty((chunk, M.shape[1]))
    P2_buf = np.empty_like(P_buf)
    shrink_t = np.ascontiguousarray(shrink.T)  # (n_lams, d')
    fit_weights_t = np.ascontiguousarray(fit_weights.T)  # (n_targets * n_lams, d')
    eps = np.finfo(np.float64).eps
    for start in range(0, n_samples, chunk):
        stop = min(start + chunk, n_samples)
        m = stop - start
        P, P2 = P_buf[:m], P2_buf[:m]
        np.matmul(Xc[start:stop], M, out=P)
        np.multiply(P, P, out=P2)
        s = weights[start:stop]
        one_minus_h = shrink_t @ P2.T  # (n_lams, m)
        one_minus_h *= -s
        one_minus_h += (1.0 - s / system.weight_sum) if fit_intercept else 1.0
        np.maximum(one_minus_h, eps, out=one_minus_h)
        fitted = (fit_weights_t @ P.T).reshape(n_targets, n_lams, m)
        np.subtract(yc[start:stop].T[:, None, :], fitted, out=fitted)
        fitted /= one_minus_h
        out[start:stop] = fitted.transpose(2, 0, 1)
    return out


def removal_solutions(
    system: DropoutSystem, lam: float, units: Sequence[IntArray]
) -> tuple[Array, list[Array]] | None:
    """Coefficients after removing each unit of columns, from one inverse.

    Removing the columns ``g`` from ``(gram + lam B) w = xty`` leaves the
    system restricted to the other columns ``R``, whose solution follows from
    ``C = (gram + lam B)^-1`` and the full solution ``w`` without a refit::

        w_R = w_R - C_Rg C_gg^-1 w_g

    (the inverse of a principal submatrix is a Schur complement of ``C``).
    ``B`` is block diagonal, so the restricted penalty is that of the data
    without the columns, and the centering of the other columns does not
    change: each result equals a refit on the remaining columns.

    Returns
    -------
    coef : ndarray of shape (n_features, n_targets)
        The solution with every column.
    coefs : list of ndarray of shape (n_features, n_targets)
        One per unit, zero on the unit's columns; an empty unit's is
        ``coef``, equal to what :func:`solve_system` gives.

        Both are replaced by ``None`` when the system is
        not safely positive definite (constant or all-zero columns without
        penalty, near collinearity): the downdate would amplify round-off, and
        the caller should refit instead.
    """
    A = system.gram + lam * _penalty_matrix(system.penalty)
    diag = np.diag(A)
    if not (diag > 0).all():
        return None
    # Equilibrate first: the accuracy of Cholesky depends on the condition
    # of the scaled matrix, not on the columns' units.
    scale = 1.0 / np.sqrt(diag)
    A_scaled = A * scale[:, None] * scale[None, :]
    try:
        factor, lower = linalg.cho_factor(A_scaled, lower=False, check_finite=False)
    except LinAlgError:
        return None
    anorm = float(np.abs(A_scaled).sum(axis=0).max())
    rcond, info = linalg.lapack.dpocon(factor, anorm)
    # cond * eps bounds the relative error of both the refit and the
    # downdate; past 1e-8 they could disagree in the digits that matter.
    if info != 0 or rcond < 1e-8:
        return None
    identity = np.eye(A.shape[0])
    inverse = linalg.cho_solve((factor, lower), identity, check_finite=False)
    inverse *= scale[:, None] * scale[None, :]
    # As solve_system computes it, so that removing no column gives the fit.
    b = system.xty * scale[:, None]
    coef = linalg.cho_solve((factor, lower), b, check_finite=False) * scale[:, None]
    out = []
    for g in units:
        if len(g) == 0:
            out.append(coef.copy())
            continue
        if len(g) == 1:  # rank one: the solve is a division
            j = int(g[0])
            shift = np.outer(inverse[:, j], coef[j] / inverse[j, j])
        else:
            shift = inverse[:, g] @ linalg.solve(
                inverse[np.ix_(g, g)], coef[g], assume_a="pos", check_finite=False
            )
        reduced = coef - shift
        reduced[g] = 0.0
        out.append(reduced)
    return coef, out
