"""The regressors' predictive distribution: the noise variance of the
target, estimated by maximum likelihood around the Monte Carlo dropout
passes, and the Gaussian intervals it gives."""

from __future__ import annotations

from numbers import Real

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.stats import norm
from sklearn.utils.validation import check_is_fitted

from .._engine import mc_predict_raw, predict_raw
from ._base import _finite

# Monte Carlo passes behind ``predict(X, return_std=True)``.
RETURN_STD_SAMPLES = 50
# The noise variance is estimated from at most this many rows, with this many
# Monte Carlo passes: a standard error of about 1.5% of the variance.
NOISE_ROWS = 10_000
NOISE_PASSES = 50
# Floor of the estimated noise variance, of the standardized target.
_NOISE_FLOOR = 1e-6


class PredictiveDistributionMixin:
    """``predict`` and ``predict_interval`` of the regressors, from their
    ``_mean_prediction(X)`` and ``_predictive_moments(X, include_noise,
    n_samples)``."""

    def predict(
        self, X, return_std=False, *, include_noise=True, n_samples=RETURN_STD_SAMPLES
    ):
        """Predict with the evaluation-mode network, or with MC dropout.

        The CV estimators predict with the mean of ``estimators_`` or with
        ``best_estimator_``; for ``return_std`` each of the k networks makes
        ``ceil(n_samples / k)`` passes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        return_std : bool, default=False
            Also return the predictive standard deviation from
            ``n_samples`` Monte Carlo dropout passes (Gal and Ghahramani
            2016); the mean returned is then their average, which
            approximates the predictive mean.  The masks are seeded from
            ``random_state``, so repeated calls agree.
        include_noise : bool, default=True
            With ``return_std``: the total predictive standard deviation,
            ``sqrt(Var_t f_t(x) + noise)``, where the noise is
            ``noise_variance_`` (``loss="squared_error"``) or the mean over
            the passes of the predicted variance (``loss="gaussian_nll"``).
            False gives the model (epistemic) part ``sqrt(Var_t f_t(x))``
            only: what ``return_std`` returned before the noise was added
            (of dropout and, for an ensemble, of its networks).
        n_samples : int, default=50
            Monte Carlo passes behind ``return_std``.

        Returns
        -------
        y_mean : ndarray of shape (n_samples,) or (n_samples, n_targets)
        y_std : ndarray of the same shape
            Only with ``return_std=True``.
        """
        if return_std:
            mean, variance = self._predictive_moments(X, include_noise, n_samples)
            return mean, np.sqrt(variance)
        return self._mean_prediction(X)

    def predict_interval(
        self, X, coverage=0.9, *, include_noise=True, n_samples=RETURN_STD_SAMPLES
    ):
        """Central prediction intervals from the Gaussian predictive
        distribution of Monte Carlo dropout.

        The bounds are ``mean -/+ z * std`` with ``z`` the standard normal
        quantile at ``(1 + coverage) / 2`` and ``mean, std`` those of
        ``predict(X, return_std=True)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        coverage : float, default=0.9
            The probability, in (0, 1), that the interval holds the target
            under the predictive distribution.
        include_noise : bool, default=True
            As in :meth:`predict`: False gives intervals of the model
            (epistemic) uncertainty only, which need dropout to be nonzero
            (or the networks of an ensemble).
        n_samples : int, default=50
            Monte Carlo passes.

        Returns
        -------
        intervals : ndarray of shape (n_samples, 2) or (n_samples, n_targets, 2)
            Lower and upper bounds on the last axis.

        Examples
        --------
        >>> from sklearn.datasets import load_diabetes
        >>> from skdrop import DropoutMLPRegressor
        >>> from skdrop.metrics import interval_coverage
        >>> X, y = load_diabetes(return_X_y=True)
        >>> reg = DropoutMLPRegressor(
        ...     hidden_layer_sizes=(32,), hidden_dropout=0.1, early_stopping=True,
        ...     learning_rate_init=0.01, random_state=0,
        ... ).fit(X[:350], y[:350])
        >>> intervals = reg.predict_interval(X[350:], coverage=0.9)
        >>> intervals.shape
        (92, 2)
        >>> lower, upper = intervals.T
        >>> 0.75 < interval_coverage(y[350:], lower, upper) <= 1.0
        True
        """
        check_coverage(coverage)
        check_is_fitted(self)
        if not include_noise:
            self._check_model_spread()
        mean, variance = self._predictive_moments(X, include_noise, n_samples)
        return gaussian_interval(mean, variance, coverage)

    def _check_model_spread(self):
        """Intervals of the model's spread only need passes that differ:
        those of an ensemble's networks do."""


def check_coverage(coverage):
    if (
        not isinstance(coverage, Real)
        or isinstance(coverage, bool)
        or not 0 < coverage < 1
    ):
        raise ValueError(f"coverage must be a float in (0, 1), got {coverage!r}")


def gaussian_interval(mean, variance, coverage):
    """``[mean - z sd, mean + z sd]`` on a new last axis, ``z`` the normal
    quantile at ``(1 + coverage) / 2`` (checked by the caller)."""
    half = norm.ppf(0.5 + coverage / 2) * np.sqrt(variance)
    return np.stack([mean - half, mean + half], axis=-1)


def fitted_noise(estimator, n_outputs):
    """The estimator's ``noise_variance_`` checked (a user may have set it),
    one per output."""
    if getattr(estimator, "noise_variance_", None) is None:
        raise ValueError(
            f"This {type(estimator).__name__} has no noise_variance_ (it was "
            "saved by a skdrop version without noise estimates, or the attribute "
            "was set to None), so it cannot give the total predictive "
            "uncertainty; refit it, set noise_variance_ to a positive float, or pass "
            "include_noise=False for the model uncertainty only"
        )
    return given_noise(estimator.noise_variance_, n_outputs, "noise_variance_")


def is_auto(value):
    return isinstance(value, str) and value == "auto"


def given_noise(value, n_outputs, name):
    """A given noise variance as one positive finite float64 per output."""
    try:
        values = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be 'auto', a positive float or one per target, got {value!r}"
        ) from exc
    if values.ndim > 1 or values.size == 0:
        raise ValueError(
            f"{name} must be a positive float or a 1-d array of one per target, "
            f"got shape {values.shape}"
        )
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise ValueError(f"{name} must be > 0 and finite, got {value!r}")
    if values.ndim == 0 or values.shape[0] == 1:
        return np.full(n_outputs, float(values.reshape(-1)[0]))
    if values.shape[0] != n_outputs:
        raise ValueError(
            f"{name} has {values.shape[0]} values but the target has "
            f"{n_outputs} outputs; give one per output or a single float"
        )
    return values.copy()


def estimate_noise(network, X, Y, sample_weight, *, passes, seeds):
    """Per output, the maximum-likelihood noise variance of the standardized
    target ``Y`` around ``passes`` Monte Carlo passes of ``network`` (around
    its evaluation-mode prediction for one pass), on at most ``NOISE_ROWS``
    of the rows of positive weight (drawn with ``seeds[0]``; ``seeds[1]``
    seeds the masks).  Returns the estimate and the number of rows."""
    if sample_weight is not None:
        # Rows of weight 0 tell nothing about the noise.
        keep = np.asarray(sample_weight) > 0
        X, Y, sample_weight = X[keep], Y[keep], sample_weight[keep]
    n_rows = X.shape[0]
    if n_rows > NOISE_ROWS:
        rng = np.random.default_rng(seeds[0])
        rows = np.sort(rng.choice(n_rows, NOISE_ROWS, replace=False))
        X, Y = X[rows], Y[rows]
        sample_weight = None if sample_weight is None else sample_weight[rows]
    if X.shape[0] == 0:
        raise ValueError(
            "The noise variance needs rows with a positive sample_weight; every "
            "row it could use has weight 0. Give some rows a positive weight or "
            "set noise_variance to a positive value."
        )
    if passes == 1:
        # The evaluation-mode prediction (no masks).
        raw = _finite(predict_raw(network, X))[None]
    else:
        raw = _finite(mc_predict_raw(network, X, passes, seeds[1]))
    means = raw[:, :, : Y.shape[1]]
    center, model_var = means.mean(axis=0), means.var(axis=0)
    residual = np.asarray(Y, dtype=np.float64) - center
    weights = None if sample_weight is None else np.asarray(sample_weight, float)
    estimate = np.array(
        [
            noise_variance_mle(residual[:, j], model_var[:, j], weights)
            for j in range(Y.shape[1])
        ]
    )
    return estimate, n_rows


def noise_variance_mle(residual, model_variance, sample_weight=None):
    """Maximum-likelihood noise variance ``s`` of the residuals ``r_i = y_i -
    mean_i`` of a predictive distribution ``N(mean_i, m_i + s)``.

    Minimizes ``sum_i w_i [log(m_i + s) + r_i^2 / (m_i + s)]`` over ``s >
    0``, with ``m_i`` the model (Monte Carlo) variance of row ``i``; where
    every ``m_i`` is 0 this is the weighted mean of ``r_i^2``.  The result
    is at least ``_NOISE_FLOOR``.
    """
    r2 = np.square(np.asarray(residual, dtype=np.float64))
    m = np.asarray(model_variance, dtype=np.float64)
    w = np.ones_like(r2) if sample_weight is None else np.asarray(sample_weight)
    if not w.sum() > 0:
        raise ValueError(
            "noise_variance_mle needs a positive total sample_weight, got "
            f"{float(w.sum())!r}"
        )
    w = w / w.sum()
    mean_r2 = float(w @ r2)
    if not (m > 0).any():
        return max(mean_r2, _NOISE_FLOOR)

    def objective(log_s):
        v = m + np.exp(log_s)
        return float(w @ (np.log(v) + r2 / v))

    # Past max r^2 every row's term grows with s: the minimizer is below it.
    # A grid on log s finds the best basin (the sum need not be unimodal),
    # then a bounded search refines it.
    low = np.log(_NOISE_FLOOR)
    high = np.log(max(float(r2.max()), _NOISE_FLOOR)) + 1e-9
    if high <= low:
        return _NOISE_FLOOR
    grid = np.linspace(low, high, 65)
    values = [objective(g) for g in grid]
    k = int(np.argmin(values))
    found = minimize_scalar(
        objective,
        bounds=(grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]),
        method="bounded",
        options={"xatol": 1e-8},
    )
    best = found.x if found.fun <= values[k] else grid[k]
    return float(np.exp(best))
