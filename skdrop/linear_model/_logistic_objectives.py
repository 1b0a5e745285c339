"""Objectives of logistic regression trained with input dropout, and their
L-BFGS solver (numpy and scipy only).

Inverted Bernoulli dropout of rate ``p`` on the inputs makes the scores of a
row random, ``s~ = b + W' (x * r / (1 - p))`` with ``r`` the keep mask.  They
have mean ``m = b + W' x`` and covariance ``C = lam sum_j x_j^2 w_j w_j'``
(``w_j`` the j-th row of ``W``, ``lam = p / (1 - p)``); with groups, one mask
per group, a group ``g`` contributes ``u_g u_g'`` with ``u_g = W_g' x_g``.
The dropout objective is the expected loss ``E[lse(s~)] - m_y`` (binary:
``E[softplus(s~)] - y m``); it has no closed form.  This module holds two
deterministic approximations of it, each with its exact gradient, and the
Monte Carlo average they are tested against.

* **Quadratic** (Wager, Wang & Liang 2013): the second-order expansion of the
  loss around ``m``, ``lse(m) - m_y + 1/2 tr(H C)`` with ``H = diag(pi) - pi
  pi'`` the softmax Hessian, ``pi = softmax(m)``: an adaptive L2 penalty,
  ``lam/2 sum_j x_j^2 Var_pi(w_j)``, the variance of the row ``w_j`` under
  the predicted class probabilities (binary: ``lam/2 pi (1 - pi) sum_j x_j^2
  w_j^2``).  Like the dropout objective, it does not change when a constant
  is added to every class's coefficient of a feature.
* **Gaussian** (Wang & Manning 2013, "fast dropout"): ``s~`` taken as normal,
  ``N(m, C)``.  Binary: ``E[softplus(s~)]`` by 20-node Gauss-Hermite
  quadrature.  Multinomial: the expectation of ``lse`` by the symmetric
  degree-3 cubature, ``2K`` points ``m +- sqrt(K) L e_k`` with ``L L' = C``
  (Cholesky), exact for cubic polynomials.

Every objective is the weighted *mean* over rows.  Binary problems have one
column of coefficients (the sigmoid), multinomial ones ``K`` (the softmax).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.special import expit, logsumexp

from ..utils import minimize_lbfgs

Array = NDArray[np.float64]
Matrix = Any  # a dense array or a scipy sparse matrix (CSR)
Objective = Callable[..., tuple[float, Array, Any]]

# Gauss-Hermite nodes for E[f(Z)], Z ~ N(0, 1): E f(Z) ~ sum_k h_k f(g_k).
_NODES, _WEIGHTS = np.polynomial.hermite.hermgauss(20)
GAUSS_NODES = np.sqrt(2.0) * _NODES
GAUSS_WEIGHTS = _WEIGHTS / np.sqrt(np.pi)
# Rows per chunk of the multinomial Gaussian objective (K x K per row).
_CHUNK = 8192
# Dense input is evaluated in blocks of rows of about this many bytes: each
# block (and its square, made on the fly) stays in cache from the forward
# products to the gradient's, so one evaluation reads X from memory once.
_BLOCK_BYTES = 4_000_000
_SPARSE_BLOCK_ROWS = 16_384
# Jitter of the score covariance before its Cholesky factor, relative to its
# mean diagonal, plus an absolute floor for rows with no variance.
_JITTER = 1e-10


def _softplus(s: Array) -> Array:
    out: Array = np.logaddexp(0.0, s)
    return out


def _lse_softmax(s: Array) -> tuple[Array, Array]:
    """``logsumexp`` and ``softmax`` over the last axis from one pass of
    exponentials (scipy's pair computes them twice)."""
    top = s.max(axis=-1, keepdims=True)
    e = np.exp(s - top)
    total = e.sum(axis=-1, keepdims=True)
    lse: Array = (top + np.log(total))[..., 0]
    return lse, e / total


def _sigmoid_softplus(s: Array) -> tuple[Array, Array]:
    """``sigmoid(s)`` and ``softplus(s)`` from one exponential, ``e =
    exp(-|s|)``: ``softplus = max(s, 0) + log1p(e)`` and ``sigmoid = 1 / (1
    + e)`` or ``e / (1 + e)``; stable for any ``s``."""
    e = np.exp(-np.abs(s))
    inv = 1.0 / (1.0 + e)
    sig = np.where(s >= 0, inv, e * inv)
    softplus = np.maximum(s, 0.0) + np.log1p(e)
    return sig, softplus


@dataclass
class DropoutDesign:
    """The rows as every objective needs them, built once per fit.

    ``X`` (dense or CSR), ``X2`` the squares of the columns that are dropped
    alone (zero in the columns of multi-column groups), ``blocks`` the
    columns of each multi-column group and ``weights`` the row weights
    divided by their sum (so sums over rows are weighted means).  A dense
    design keeps no ``X2``: :meth:`blocks_of_rows` squares each block of
    rows when it is used; a sparse one is cut into blocks of rows too.
    """

    X: Matrix
    X2: Matrix
    blocks: list[NDArray[np.intp]]
    weights: Array
    _rows: NDArray[np.intp] | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        X: Matrix,
        sample_weight: Array | None = None,
        groups: list[NDArray[np.intp]] | None = None,
    ) -> DropoutDesign:
        n = X.shape[0]
        w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
        blocks = [np.asarray(g, np.intp) for g in (groups or []) if len(g) > 1]
        if sp.issparse(X):
            X = sp.csr_matrix(X, dtype=np.float64)
            X2 = X.multiply(X).tocsr()
            if blocks:
                alone = np.ones(X.shape[1])
                alone[np.concatenate(blocks)] = 0.0
                X2 = (X2 @ sp.diags(alone)).tocsr()
            X2.eliminate_zeros()
            rows = np.repeat(np.arange(n, dtype=np.intp), np.diff(X2.indptr))
        else:
            X = np.asarray(X, dtype=np.float64)
            X2 = None
            rows = None
        return cls(X, X2, blocks, w / w.sum(), rows)

    def row_blocks(self, n_parts: int) -> list[list[slice]]:
        """Consecutive blocks of rows, dealt into at most ``n_parts`` runs of
        neighbouring blocks; a sparse design is one block."""
        n, d = self.X.shape
        if self.X2 is not None:  # sparse: blocks bound the (rows, K, K) arrays
            step = min(n, _SPARSE_BLOCK_ROWS)
        else:
            step = min(n, max(256, _BLOCK_BYTES // (8 * max(d, 1))))
        blocks = [slice(a, min(a + step, n)) for a in range(0, n, step)]
        n_parts = max(1, min(n_parts, len(blocks)))
        edges = np.linspace(0, len(blocks), n_parts + 1).round().astype(int)
        return [blocks[a:b] for a, b in itertools.pairwise(edges)]

    def blocks_of_rows(
        self, rows_list: list[slice]
    ) -> Iterator[tuple[slice, DropoutDesign]]:
        """``(rows, design)`` of each block in ``rows_list``, with its
        squares."""
        if self.X2 is not None:
            for rows in rows_list:
                if rows.stop - rows.start == self.X.shape[0]:
                    yield rows, self
                    continue
                X2b = self.X2[rows]
                counts = np.diff(X2b.indptr)
                index = np.repeat(np.arange(X2b.shape[0], dtype=np.intp), counts)
                block = DropoutDesign(
                    self.X[rows], X2b, self.blocks, self.weights[rows], index
                )
                yield rows, block
            return
        grouped = np.concatenate(self.blocks) if self.blocks else None
        # One buffer for the squares of every block: a fresh array per block
        # costs more in page faults than the squaring itself.
        step = max(r.stop - r.start for r in rows_list)
        buffer = np.empty((step, self.X.shape[1]))
        for rows in rows_list:
            Xb = self.X[rows]
            X2b = np.multiply(Xb, Xb, out=buffer[: Xb.shape[0]])
            if grouped is not None:
                X2b[:, grouped] = 0.0
            yield rows, DropoutDesign(Xb, X2b, self.blocks, self.weights[rows])

    def block_scores(self, coef: Array) -> list[Array]:
        """``u_g = X_g W_g`` of each multi-column group, (n_samples, K)."""
        return [np.asarray(self.X[:, g] @ coef[g]) for g in self.blocks]

    def block_pullback(self, coef_grad: Array, dus: list[Array]) -> None:
        """Add ``X_g' du_g`` to the rows of each group in ``coef_grad``."""
        for g, du in zip(self.blocks, dus, strict=True):
            coef_grad[g] += np.asarray(self.X[:, g].T @ du)


def _squares_times(
    design: DropoutDesign, pi: Array, coef: Array
) -> tuple[Matrix, Array]:
    """``XB = X2 * B`` elementwise with ``B = pi W'`` (the probability-
    weighted mean of each row of ``W``), and ``sum_j X2_ij B_ij^2`` per row.
    A sparse ``X2`` only needs ``B`` at its nonzeros."""
    X2 = design.X2
    if sp.issparse(X2):
        assert design._rows is not None
        cols = X2.indices
        means = np.einsum("ik,ik->i", pi[design._rows], coef[cols])
        XB = sp.csr_matrix((X2.data * means, cols, X2.indptr), shape=X2.shape)
        cross: Array = np.bincount(
            design._rows, weights=XB.data * means, minlength=X2.shape[0]
        ).astype(np.float64)
        return XB, cross
    B = pi @ coef.T
    XB = X2 * B
    return XB, np.einsum("ij,ij->i", XB, B)


# --------------------------------------------------------------------------
# Binary (one column of coefficients, y in {0, 1})


def _binary_second_moment(
    coef: Array, design: DropoutDesign
) -> tuple[Array, Callable[[Array], Array]]:
    """``q_i = sum_j x_ij^2 w_j^2 + sum_g (x_ig . w_g)^2`` (the score
    variance over ``lam``) and its pullback ``r -> d(r . q)/dw``."""
    us = design.block_scores(coef[:, None])
    q = np.asarray(design.X2 @ (coef * coef)) + sum(
        (u[:, 0] ** 2 for u in us), np.zeros(design.X.shape[0])
    )

    def pullback(r: Array) -> Array:
        grad: Array = 2.0 * coef * np.asarray(design.X2.T @ r)
        grad2 = grad[:, None]
        design.block_pullback(grad2, [2.0 * r[:, None] * u for u in us])
        return grad

    return q, pullback


def _quadratic_objective_block(
    coef: Array, intercept: float, design: DropoutDesign, y: Array, lam: float
) -> tuple[float, Array, float]:
    """Wager et al.'s second-order dropout objective (binary), its gradient
    in the coefficients and in the intercept.

    ``sum_i s_i [softplus(m_i) - y_i m_i + lam/2 pi_i (1 - pi_i) q_i]``.  The
    penalty depends on ``w`` also through ``pi_i``: its gradient has the term
    ``lam/2 q_i pi_i (1 - pi_i) (1 - 2 pi_i) x_i`` besides the pullback of
    ``q``.
    """
    s = design.weights
    m = np.asarray(design.X @ coef) + intercept
    pi = expit(m)
    curvature = pi * (1.0 - pi)
    q, pullback = _binary_second_moment(coef, design)
    value = s @ (_softplus(m) - y * m + 0.5 * lam * curvature * q)
    dm = (pi - y) + 0.5 * lam * q * curvature * (1.0 - 2.0 * pi)
    grad = np.asarray(design.X.T @ (s * dm)) + 0.5 * lam * pullback(s * curvature)
    return float(value), grad, float(s @ dm)


def _gaussian_objective_block(
    coef: Array, intercept: float, design: DropoutDesign, y: Array, lam: float
) -> tuple[float, Array, float]:
    """The fast-dropout objective (binary): ``E[softplus(S)] - y m`` with
    ``S ~ N(m, v)``, ``v = lam q``, by 20-node Gauss-Hermite quadrature; its
    gradient in the coefficients and in the intercept.

    The gradient is that of the quadrature itself: ``d E/dm = sum_k h_k
    sigmoid(S_k)``, ``d E/dv = sum_k h_k sigmoid(S_k) g_k / (2 sqrt v)``.
    """
    s = design.weights
    m = np.asarray(design.X @ coef) + intercept
    q, pullback = _binary_second_moment(coef, design)
    v = lam * q
    root = np.sqrt(v)
    scores = m[:, None] + root[:, None] * GAUSS_NODES[None, :]
    sig, softplus = _sigmoid_softplus(scores)
    value = s @ (softplus @ GAUSS_WEIGHTS - y * m)
    dm = sig @ GAUSS_WEIGHTS - y
    # The exact derivative of the quadrature (what L-BFGS needs); where v
    # vanishes, its limit 1/2 E[sigmoid'(S)] (the heat equation).
    small = root < 1e-6
    dv = np.empty_like(v)
    dv[~small] = (sig[~small] @ (GAUSS_WEIGHTS * GAUSS_NODES)) / (2.0 * root[~small])
    tiny = sig[small]
    dv[small] = 0.5 * ((tiny * (1.0 - tiny)) @ GAUSS_WEIGHTS)
    grad = np.asarray(design.X.T @ (s * dm)) + lam * pullback(s * dv)
    return float(value), grad, float(s @ dm)


# --------------------------------------------------------------------------
# Multinomial (K columns of coefficients, Y one-hot)


def _multinomial_quadratic_objective_block(
    coef: Array, intercept: Array, design: DropoutDesign, Y: Array, lam: float
) -> tuple[float, Array, Array]:
    """The second-order objective with the full softmax Hessian, its
    gradient in the coefficients (d, K) and in the intercepts (K,).

    ``sum_i s_i [lse(m_i) - m_iy + lam/2 P_i]`` with ``P_i = sum_j x_ij^2
    (sum_k pi_ik W_jk^2 - (pi_i . w_j)^2) + sum_g (sum_k pi_ik u_gk^2 -
    (pi_i . u_g)^2)``; ``P`` depends on ``W`` directly and through ``pi``.
    """
    s = design.weights
    X = design.X
    m = np.asarray(X @ coef) + intercept
    lse, pi = _lse_softmax(m)
    A = np.asarray(design.X2 @ (coef * coef))  # sum_j x^2 W_jk^2
    XB, cross = _squares_times(design, pi, coef)  # x_ij^2 (pi_i . w_j)
    XBW = np.asarray(XB @ coef)
    P = np.einsum("ik,ik->i", pi, A) - cross
    dP_dpi = A - 2.0 * XBW
    us = design.block_scores(coef)
    for u in us:
        mean_u = np.einsum("ik,ik->i", pi, u)
        P += np.einsum("ik,ik->i", pi, u * u) - mean_u**2
        dP_dpi += u * u - 2.0 * mean_u[:, None] * u
    value = s @ (lse - np.einsum("ik,ik->i", Y, m) + 0.5 * lam * P)
    # Through pi = softmax(m): dP/dm = pi * (dP/dpi - pi . dP/dpi).
    centered = dP_dpi - np.einsum("ik,ik->i", pi, dP_dpi)[:, None]
    dm = (pi - Y) + 0.5 * lam * pi * centered
    sdm = s[:, None] * dm
    grad = np.asarray(X.T @ sdm)
    spi = s[:, None] * pi
    # Direct: dP_i/dW_jk = 2 x_ij^2 pi_ik (W_jk - pi_i . w_j).
    grad += lam * (coef * np.asarray(design.X2.T @ spi) - np.asarray(XB.T @ spi))
    dus = []
    for u in us:
        mean_u = np.einsum("ik,ik->i", pi, u)
        dus.append(lam * spi * (u - mean_u[:, None]))
    design.block_pullback(grad, dus)
    return float(value), grad, sdm.sum(axis=0)


def _cholesky_backward(L: Array, L_bar: Array) -> Array:
    """The symmetric gradient in ``C`` of a function of ``L = chol(C)``
    (Murray 2016): ``C_bar = L^-T Phi(L' L_bar) L^-1``, symmetrized, with
    ``Phi`` the lower triangle with its diagonal halved; batched."""
    P = np.tril(np.swapaxes(L, -1, -2) @ np.tril(L_bar))
    idx = np.arange(L.shape[-1])
    P[..., idx, idx] *= 0.5
    inv = np.linalg.inv(L)  # K x K per row: cheaper than two batched solves
    S = np.swapaxes(inv, -1, -2) @ P @ inv
    out: Array = 0.5 * (S + np.swapaxes(S, -1, -2))
    return out


def _multinomial_gaussian_objective_block(
    coef: Array, intercept: Array, design: DropoutDesign, Y: Array, lam: float
) -> tuple[float, Array, Array]:
    """The fast-dropout objective for the softmax: ``E[lse(S)] - m_y`` with
    ``S ~ N(m, C)`` by the symmetric degree-3 cubature, ``1/(2K) sum_k
    [lse(m + sqrt(K) L e_k) + lse(m - sqrt(K) L e_k)]``, ``L = chol(C)``;
    its exact gradient through the Cholesky factor."""
    s = design.weights
    n, K = design.X.shape[0], coef.shape[1]
    m = np.asarray(design.X @ coef) + intercept
    # lse(m + z) - lse(m + P z) = mean(z) has mean zero (P the centering of
    # the classes), so the covariance of the centered coefficients gives the
    # same exact objective; with it the cubature, too, ignores a constant
    # added to every class's coefficient of a feature.
    centered = coef - coef.mean(axis=1, keepdims=True)
    # C is symmetric: only the K (K + 1) / 2 products k <= l are computed.
    upper, lower = np.triu_indices(K)
    pairs = centered[:, upper] * centered[:, lower]
    C = np.empty((n, K, K))
    C_upper = lam * np.asarray(design.X2 @ pairs)
    C[:, upper, lower] = C_upper
    C[:, lower, upper] = C_upper
    us = design.block_scores(centered)
    for u in us:
        C += lam * u[:, :, None] * u[:, None, :]
    idx = np.arange(K)
    jitter = _JITTER * (np.trace(C, axis1=1, axis2=2) / K + 1e-2)
    C[:, idx, idx] += jitter[:, None]
    radius = np.sqrt(K)
    values = np.empty(n)
    dm = np.empty((n, K))
    C_bar = np.empty((n, K, K))
    for start in range(0, n, _CHUNK):
        rows = slice(start, start + _CHUNK)
        L = np.asarray(np.linalg.cholesky(C[rows]), dtype=np.float64)
        offsets = radius * np.swapaxes(L, 1, 2)  # [i, k, class]: column k of L
        mm = m[rows, None, :]
        points = np.concatenate([mm + offsets, mm - offsets], axis=1)  # (r, 2K, K)
        lse, probs = _lse_softmax(points)
        values[rows] = lse.mean(axis=1)
        dm[rows] = probs.mean(axis=1)
        # d value / d L[:, c, k] = radius / (2K) (p+_k - p-_k)[c]
        L_bar = np.swapaxes(probs[:, :K] - probs[:, K:], 1, 2) * (radius / (2 * K))
        C_bar[rows] = _cholesky_backward(L, L_bar)
    value = s @ (values - np.einsum("ik,ik->i", Y, m))
    sdm = s[:, None] * (dm - Y)
    grad = np.asarray(design.X.T @ sdm)
    # dC = lam sum_j x_j^2 (dw_j w_j' + w_j dw_j') -> 2 lam sum_i s_i x^2 C_bar w_j,
    # from the k <= l entries of the symmetric C_bar.
    T_upper = np.asarray(design.X2.T @ (s[:, None] * C_bar[:, upper, lower]))
    T = np.empty((T_upper.shape[0], K, K))
    T[:, upper, lower] = T_upper
    T[:, lower, upper] = T_upper
    spread = 2.0 * lam * np.einsum("jkl,jl->jk", T, centered)
    design.block_pullback(
        spread,
        [2.0 * lam * s[:, None] * np.einsum("ikl,il->ik", C_bar, u) for u in us],
    )
    grad += spread - spread.mean(axis=1, keepdims=True)  # through the centering
    return float(value), grad, sdm.sum(axis=0)


# --------------------------------------------------------------------------
# Whole designs


def _by_blocks(block_objective: Objective) -> Objective:
    """The objective over a whole design: the sum of ``block_objective``
    over its blocks of rows (the row weights are already normalized).

    With ``n_threads > 1`` the blocks are dealt to that many threads (numpy
    releases the GIL in its products and ufuncs).  The blocks' terms are
    summed in block order whatever the number of threads, so that a fit
    gives the same bits on any machine and in any joblib worker.
    """

    def objective(
        coef: Array,
        intercept: Any,
        design: DropoutDesign,
        Y: Array,
        lam: float,
        n_threads: int = 1,
    ) -> tuple[float, Array, Any]:
        def run(rows_list: list[slice]) -> list[tuple[float, Array, Any]]:
            return [
                block_objective(coef, intercept, block, Y[rows], lam)
                for rows, block in design.blocks_of_rows(rows_list)
            ]

        parts = design.row_blocks(n_threads)
        if len(parts) == 1:
            terms = run(parts[0])
        else:
            with ThreadPoolExecutor(len(parts)) as pool:
                terms = [term for part in pool.map(run, parts) for term in part]
        value = 0.0
        grad = np.zeros_like(coef)
        grad_b: Any = 0.0
        for v, g, gb in terms:
            value += v
            grad += g
            grad_b = grad_b + gb
        return float(value), grad, grad_b

    objective.__doc__ = block_objective.__doc__
    return objective


quadratic_objective = _by_blocks(_quadratic_objective_block)
gaussian_objective = _by_blocks(_gaussian_objective_block)
multinomial_quadratic_objective = _by_blocks(_multinomial_quadratic_objective_block)
multinomial_gaussian_objective = _by_blocks(_multinomial_gaussian_objective_block)


# --------------------------------------------------------------------------
# Monte Carlo reference


def monte_carlo_objective(
    coef: Array,
    intercept: Array | float,
    X: Array,
    y: Array,
    dropout: float,
    n_masks: int,
    rng: np.random.Generator,
    sample_weight: Array | None = None,
    groups: list[NDArray[np.intp]] | None = None,
    chunk: int = 256,
) -> tuple[float, float]:
    """The dropout objective averaged over ``n_masks`` real masks per row:
    ``(mean, standard error)`` of the weighted mean loss.

    Binary with a 1-D ``coef`` and ``y`` in {0, 1}; multinomial with ``coef``
    of shape (d, K) and ``y`` the class index of each row.  ``groups``: one
    mask per group of columns (default: one per column).
    """
    s = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight)
    s = s / s.sum()
    keep = 1.0 - dropout
    group_of = np.arange(X.shape[1])
    n_units = X.shape[1]
    if groups is not None:
        n_units = len(groups)
        for k, g in enumerate(groups):
            group_of[np.asarray(g)] = k
    sums = np.zeros(2)
    done = 0
    while done < n_masks:
        k = min(chunk, n_masks - done)
        masks = (rng.random((k, X.shape[0], n_units)) < keep)[:, :, group_of]
        scores = (X * masks / keep) @ coef + intercept
        if np.ndim(coef) == 1:
            rows = _softplus(scores) - y * scores
        else:
            index = np.asarray(y, dtype=np.intp)[None, :, None]
            picked = np.take_along_axis(scores, index, axis=2)[:, :, 0]
            rows = logsumexp(scores, axis=2) - picked
        losses = rows @ s  # one per draw
        sums += losses.sum(), (losses * losses).sum()
        done += k
    mean = sums[0] / n_masks
    var = max(sums[1] / n_masks - mean * mean, 0.0)
    return float(mean), float(np.sqrt(var / n_masks))


# --------------------------------------------------------------------------
# Solver

OBJECTIVES: dict[tuple[str, bool], Objective] = {
    ("quadratic", False): quadratic_objective,
    ("gaussian", False): gaussian_objective,
    ("quadratic", True): multinomial_quadratic_objective,
    ("gaussian", True): multinomial_gaussian_objective,
}


@dataclass
class LogisticSolution:
    """What :func:`fit_dropout_logistic` returns: coefficients (d, K'),
    intercepts (K',), iterations, convergence, the loss per iteration, and
    whether a ``KeyboardInterrupt`` stopped L-BFGS (the coefficients are
    then its last accepted iterate)."""

    coef: Array
    intercept: Array
    n_iter: int
    converged: bool
    message: str
    loss_curve: list[float]
    interrupted: bool = False


def fit_dropout_logistic(
    design: DropoutDesign,
    Y: Array,
    lam: float,
    objective: str,
    *,
    fit_intercept: bool,
    coef_init: Array | None,
    intercept_init: Array | None,
    max_iter: int,
    tol: float,
    col_scale: Array | None = None,
    n_threads: int = 1,
    progress: Callable[[int, float], None] | None = None,
) -> LogisticSolution:
    """Minimize a deterministic dropout objective with L-BFGS (scipy).

    L-BFGS works on ``coef / col_scale`` (``col_scale`` per feature, default
    1): with ``col_scale`` the inverse root mean square of each column, as
    if the columns had unit second moment, which the dropout objectives do
    not depend on, without copying ``X``.  ``coef_init`` and the returned
    coefficients are in the caller's units.

    ``Y`` is ``y`` in {0, 1} of shape (n,) for two classes (one column of
    coefficients), else the one-hot (n, K) matrix.  Stops as
    :class:`~sklearn.linear_model.LogisticRegression` does with ``lbfgs``:
    when the largest gradient entry is below ``tol`` or after ``max_iter``
    iterations.  ``n_threads`` threads share the blocks of rows of a dense
    design.  A ``KeyboardInterrupt`` stops L-BFGS at its last accepted
    iterate, reported as ``interrupted``.
    """
    multinomial = Y.ndim == 2
    func = OBJECTIVES[objective, multinomial]
    d = design.X.shape[1]
    K = Y.shape[1] if multinomial else 1
    scale = np.ones((d, 1)) if col_scale is None else col_scale.reshape(d, 1)
    coef0 = np.zeros((d, K)) if coef_init is None else coef_init.reshape(d, K) / scale
    b0 = np.zeros(K) if intercept_init is None else intercept_init.reshape(K)
    start = np.concatenate([coef0.ravel(), b0 if fit_intercept else []])
    n_coef = d * K

    def unpack(params: Array) -> tuple[Array, Array]:
        coef = params[:n_coef].reshape(d, K) * scale
        b = params[n_coef:] if fit_intercept else b0
        return coef, b

    def value_and_grad(params: Array) -> tuple[float, Array]:
        coef, b = unpack(params)
        if multinomial:
            value, g, gb = func(coef, b, design, Y, lam, n_threads)
        else:
            value, g, gb = func(coef[:, 0], float(b[0]), design, Y, lam, n_threads)
        g = np.reshape(g, (d, K)) * scale
        parts = [np.ravel(g)] + ([np.atleast_1d(gb)] if fit_intercept else [])
        return value, np.concatenate(parts)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow in exp
        opt = minimize_lbfgs(
            value_and_grad,
            start,
            max_iter=max_iter,
            max_fun=max(15000, 2 * max_iter),
            tol=tol,
            ftol=64 * np.finfo(float).eps,
            progress=progress,
        )
    coef, b = unpack(opt.x)
    return LogisticSolution(
        coef=coef.copy(),
        intercept=np.array(b, dtype=np.float64),
        n_iter=opt.n_iter,
        converged=opt.converged,
        message=opt.message,
        loss_curve=opt.losses,
        interrupted=opt.interrupted,
    )
