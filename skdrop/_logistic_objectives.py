"""Deterministic objectives of logistic regression trained with input dropout.

Inverted Bernoulli dropout of rate ``p`` on the inputs makes the score of a
row ``s~ = b + (x * r / (1 - p)) . w`` random, with mean ``m = b + x . w``
and variance ``v = lam * sum_j x_j^2 w_j^2``, ``lam = p / (1 - p)``.  The
dropout objective is the expected logistic loss ``E[softplus(s~)] - y m``;
it has no closed form.  This module holds two deterministic approximations
of it (binary classes), each with its exact gradient, and the Monte Carlo
average they are tested against; it uses numpy and scipy only.

* **Quadratic** (Wager, Wang & Liang 2013): a second-order expansion of the
  loss around ``m``, ``softplus(m) - y m + 1/2 pi (1 - pi) v`` with
  ``pi = sigmoid(m)``: an adaptive L2 penalty.
* **Gaussian** (Wang & Manning 2013, "fast dropout"): ``s~`` taken as normal,
  ``N(m, v)``, and ``E[softplus(s~)]`` by Gauss-Hermite quadrature.

Every objective is the weighted *mean* over rows.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

Array = NDArray[np.float64]

# Gauss-Hermite nodes for E[f(Z)], Z ~ N(0, 1): E f(Z) ~ sum_k h_k f(g_k).
_NODES, _WEIGHTS = np.polynomial.hermite.hermgauss(20)
GAUSS_NODES = np.sqrt(2.0) * _NODES
GAUSS_WEIGHTS = _WEIGHTS / np.sqrt(np.pi)


def _softplus(s: Array) -> Array:
    out: Array = np.logaddexp(0.0, s)
    return out


def _weights(sample_weight: Array | None, n: int) -> tuple[Array, float]:
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    return w, float(w.sum())


def _rows(
    coef: Array, intercept: float, X: Array, sample_weight: Array | None
) -> tuple[Array, float, Array, Array]:
    """What both objectives start from: the row weights and their sum, the
    mean scores ``m`` and the squared design (for the score variances)."""
    s, total = _weights(sample_weight, X.shape[0])
    return s, total, X @ coef + intercept, X * X


def quadratic_objective(
    coef: Array,
    intercept: float,
    X: Array,
    y: Array,
    lam: float,
    sample_weight: Array | None = None,
) -> tuple[float, Array, float]:
    """Wager et al.'s second-order dropout objective, its gradient in the
    coefficients and in the intercept.

    ``mean_i s_i [softplus(m_i) - y_i m_i + lam/2 pi_i (1 - pi_i) q_i]`` with
    ``q_i = sum_j x_ij^2 w_j^2``.  The penalty depends on ``w`` also through
    ``pi_i``: its gradient has the term ``lam/2 q_i pi_i (1 - pi_i) (1 -
    2 pi_i) x_i`` besides ``lam pi_i (1 - pi_i) x_i^2 w``.
    """
    s, total, m, X2 = _rows(coef, intercept, X, sample_weight)
    pi = expit(m)
    curvature = pi * (1.0 - pi)
    q = X2 @ (coef * coef)
    value = s @ (_softplus(m) - y * m + 0.5 * lam * curvature * q) / total
    # d/dm of the row's objective, then the chain rule through m and q.
    dm = (pi - y) + 0.5 * lam * q * curvature * (1.0 - 2.0 * pi)
    grad = (X.T @ (s * dm) + lam * coef * (X2.T @ (s * curvature))) / total
    return float(value), grad, float(s @ dm / total)


def gaussian_objective(
    coef: Array,
    intercept: float,
    X: Array,
    y: Array,
    lam: float,
    sample_weight: Array | None = None,
) -> tuple[float, Array, float]:
    """The fast-dropout objective: ``E[softplus(S)] - y m`` with ``S ~ N(m,
    v)``, by 20-node Gauss-Hermite quadrature; its gradient in the
    coefficients and in the intercept.

    The gradient is that of the quadrature itself: ``d E/dm = sum_k h_k
    sigmoid(S_k)``, ``d E/dv = sum_k h_k sigmoid(S_k) g_k / (2 sqrt v)``,
    ``dv/dw_j = 2 lam x_j^2 w_j``.
    """
    s, total, m, X2 = _rows(coef, intercept, X, sample_weight)
    v = lam * (X2 @ (coef * coef))
    scores = m[:, None] + np.sqrt(v)[:, None] * GAUSS_NODES[None, :]
    sig = expit(scores)
    expected = _softplus(scores) @ GAUSS_WEIGHTS
    value = s @ (expected - y * m) / total
    dm = sig @ GAUSS_WEIGHTS - y
    # The exact derivative of the quadrature (what L-BFGS needs):
    # sum_k h_k sigmoid(S_k) g_k / (2 sqrt v); where v vanishes, its limit
    # 1/2 E[sigmoid'(S)] (the heat equation of the Gaussian).
    root = np.sqrt(v)
    small = root < 1e-6
    dv = np.empty_like(v)
    dv[~small] = (sig[~small] @ (GAUSS_WEIGHTS * GAUSS_NODES)) / (2.0 * root[~small])
    tiny = sig[small]
    dv[small] = 0.5 * ((tiny * (1.0 - tiny)) @ GAUSS_WEIGHTS)
    grad = (X.T @ (s * dm) + 2.0 * lam * coef * (X2.T @ (s * dv))) / total
    return float(value), grad, float(s @ dm / total)


def monte_carlo_objective(
    coef: Array,
    intercept: float,
    X: Array,
    y: Array,
    dropout: float,
    n_masks: int,
    rng: np.random.Generator,
    sample_weight: Array | None = None,
    chunk: int = 256,
) -> tuple[float, float]:
    """The dropout objective averaged over ``n_masks`` real masks per row:
    ``(mean, standard error)`` of the weighted mean loss."""
    s, total = _weights(sample_weight, X.shape[0])
    keep = 1.0 - dropout
    sums = np.zeros(2)
    done = 0
    while done < n_masks:
        k = min(chunk, n_masks - done)
        masks = rng.random((k, *X.shape)) < keep
        scores = (X * masks / keep) @ coef + intercept  # (k, n)
        losses = (_softplus(scores) - y * scores) @ s / total  # one per draw
        sums += losses.sum(), (losses * losses).sum()
        done += k
    mean = sums[0] / n_masks
    var = max(sums[1] / n_masks - mean * mean, 0.0)
    return float(mean), float(np.sqrt(var / n_masks))
