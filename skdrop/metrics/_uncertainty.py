"""Scores of Gaussian predictive distributions and of prediction intervals.

Each metric is the weighted mean over rows (and over outputs, for 2-d
targets) of a per-row score:

* ``gaussian_nll``: ``1/2 log(2 pi s^2) + (y - m)^2 / (2 s^2)``;
* ``mc_gaussian_nll``: the negative log of the mixture of ``T`` Gaussians
  ``N(f_t, s^2)`` around Monte Carlo predictions ``f_t``, ``-logsumexp_t(
  -(y - f_t)^2 / (2 s^2)) + log T + 1/2 log(2 pi s^2)`` (Gal and Ghahramani
  2016, the "test log-likelihood" of their tables with the sign changed);
* ``crps_gaussian``: the continuous ranked probability score of ``N(m,
  s^2)``, ``s [z (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi)]`` with ``z = (y -
  m) / s`` (Gneiting and Raftery 2007);
* ``interval_coverage``: the share of rows with ``lower <= y <= upper``;
* ``mean_interval_width``: the mean of ``upper - lower``.

Lower is better for the first three.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp
from scipy.stats import norm
from sklearn.utils.validation import _check_sample_weight, check_consistent_length


def _as_float(name, values):
    array = np.asarray(values, dtype=np.float64)
    if array.ndim not in (1, 2):
        raise ValueError(
            f"{name} must be 1-d (n_samples,) or 2-d (n_samples, n_outputs), "
            f"got shape {array.shape}"
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite; it holds NaN or infinity")
    return array


def _same_shape(reference_name, reference, **others):
    for name, array in others.items():
        if array.shape != reference.shape:
            raise ValueError(
                f"{name} must have the shape of {reference_name}, "
                f"{reference.shape}, got {array.shape}"
            )


def _positive(name, std):
    if (std <= 0).any():
        raise ValueError(f"{name} must be > 0 on every row, got {float(std.min())!r}")


def _weighted_mean(per_row, sample_weight):
    """Weighted mean over rows of a (n,) or (n, n_outputs) score, averaged
    over outputs."""
    weights = _check_sample_weight(sample_weight, per_row, ensure_non_negative=True)
    rows = per_row if per_row.ndim == 1 else per_row.mean(axis=1)
    return float(np.average(rows, weights=weights))


def _split_pair(name, first, second, names=("mean", "std")):
    """``(first, second)``, or the two columns of ``first`` when ``second``
    is None (the output of a method returning both, for ``make_scorer``)."""
    if second is not None:
        return first, second
    pair = np.asarray(first, dtype=np.float64)
    if pair.ndim != 2 or pair.shape[1] != 2:
        raise ValueError(
            f"{name} without {names[1]} needs an (n_samples, 2) array of "
            f"[{names[0]}, {names[1]}] columns, got shape {pair.shape}"
        )
    return pair[:, 0], pair[:, 1]


def _gaussian_inputs(y_true, mean, std, names=("mean", "std")):
    """``y_true``, ``mean`` and ``std`` as checked float arrays of one shape
    (``std > 0``), named ``names`` in the errors."""
    y, m, s = (
        _as_float(n, v)
        for n, v in zip(("y_true", *names), (y_true, mean, std), strict=True)
    )
    _same_shape("y_true", y, **{names[0]: m, names[1]: s})
    _positive(names[1], s)
    return y, m, s


def gaussian_nll(y_true, mean, std=None, *, sample_weight=None):
    """Mean negative log-likelihood of ``y_true`` under ``N(mean, std^2)``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed values.
    mean : array-like of the shape of ``y_true``
        Predictive means; or, with ``std=None``, an (n_samples, 2) array of
        ``[mean, std]`` columns (1-d targets).
    std : array-like of the shape of ``y_true``, default=None
        Predictive standard deviations, each > 0.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.

    Returns
    -------
    nll : float
        ``mean_i [1/2 log(2 pi std_i^2) + (y_i - mean_i)^2 / (2 std_i^2)]``;
        lower is better.

    Examples
    --------
    >>> from skdrop.metrics import gaussian_nll
    >>> round(gaussian_nll([0.0, 1.0], [0.0, 0.0], [1.0, 1.0]), 4)
    1.1689
    """
    y, m, s = _gaussian_inputs(y_true, *_split_pair("gaussian_nll", mean, std))
    per_row = -norm.logpdf(y, loc=m, scale=s)
    return _weighted_mean(per_row, sample_weight)


def mc_gaussian_nll(y_true, samples, noise_std, *, sample_weight=None):
    """Mean negative log-likelihood of ``y_true`` under the mixture of
    Gaussians around Monte Carlo predictions (Gal and Ghahramani 2016).

    Each row's predictive density is ``1/T sum_t N(y; f_t, noise_std^2)``
    over the ``T`` stochastic forward passes ``f_t``; computed with
    ``logsumexp``, as their test log-likelihood (with the sign changed).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed values.
    samples : array-like of shape (n_passes, n_samples) or \
            (n_passes, n_samples, n_outputs)
        The predictions of the Monte Carlo passes.
    noise_std : float or array-like broadcastable to ``y_true``
        Standard deviation of the observation noise, ``tau^(-1/2)``, > 0.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.

    Returns
    -------
    nll : float
        Lower is better; ``-nll`` is Gal and Ghahramani's test
        log-likelihood.

    Examples
    --------
    >>> import numpy as np
    >>> from skdrop.metrics import gaussian_nll, mc_gaussian_nll
    >>> passes = np.zeros((3, 2))  # three passes that agree: one Gaussian
    >>> bool(np.isclose(mc_gaussian_nll([0.0, 1.0], passes, 1.0),
    ...                 gaussian_nll([0.0, 1.0], [0.0, 0.0], [1.0, 1.0])))
    True
    """
    y = _as_float("y_true", y_true)
    f = np.asarray(samples, dtype=np.float64)
    if f.ndim != y.ndim + 1 or f.shape[1:] != y.shape or f.shape[0] < 1:
        raise ValueError(
            f"samples must have shape (n_passes, *{y.shape}), got {f.shape}"
        )
    if not np.isfinite(f).all():
        raise ValueError("samples must be finite; it holds NaN or infinity")
    s = np.broadcast_to(np.asarray(noise_std, dtype=np.float64), y.shape)
    _positive("noise_std", s)
    log_densities = norm.logpdf(y[None], loc=f, scale=s[None])
    per_row = -(logsumexp(log_densities, axis=0) - np.log(f.shape[0]))
    return _weighted_mean(per_row, sample_weight)


def crps_gaussian(y_true, mean, std=None, *, sample_weight=None):
    """Mean continuous ranked probability score of ``N(mean, std^2)``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed values.
    mean : array-like of the shape of ``y_true``
        Predictive means; or, with ``std=None``, an (n_samples, 2) array of
        ``[mean, std]`` columns.
    std : array-like of the shape of ``y_true``, default=None
        Predictive standard deviations, each > 0.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.

    Returns
    -------
    crps : float
        ``mean_i std_i [z_i (2 Phi(z_i) - 1) + 2 phi(z_i) - 1 / sqrt(pi)]``,
        ``z_i = (y_i - mean_i) / std_i``; in the units of ``y``, lower is
        better.  It tends to the absolute error as ``std`` tends to 0.

    Examples
    --------
    >>> from skdrop.metrics import crps_gaussian
    >>> round(crps_gaussian([0.0], [0.0], [1.0]), 4)  # (sqrt(2) - 1) / sqrt(pi)
    0.2337
    """
    y, m, s = _gaussian_inputs(y_true, *_split_pair("crps_gaussian", mean, std))
    z = (y - m) / s
    per_row = s * (
        z * (2.0 * norm.cdf(z) - 1.0) + 2.0 * norm.pdf(z) - 1.0 / np.sqrt(np.pi)
    )
    return _weighted_mean(per_row, sample_weight)


def _interval(name, y_true, lower, upper):
    lower, upper = _split_pair(name, lower, upper, ("lower", "upper"))
    lo, hi = _as_float("lower", lower), _as_float("upper", upper)
    _same_shape("lower", lo, upper=hi)
    if (lo > hi).any():
        k = int(np.flatnonzero((lo > hi).ravel())[0])
        raise ValueError(
            f"lower must be <= upper on every row, got lower={lo.ravel()[k]!r} > "
            f"upper={hi.ravel()[k]!r} at position {k}"
        )
    if y_true is not None:
        y = _as_float("y_true", y_true)
        _same_shape("y_true", y, lower=lo)
        check_consistent_length(y, lo, hi)
        return y, lo, hi
    return None, lo, hi


def interval_coverage(y_true, lower, upper=None, *, sample_weight=None):
    """Share of rows whose value lies in its interval, ``lower <= y <= upper``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed values.
    lower : array-like of the shape of ``y_true``
        Lower bounds; or, with ``upper=None``, an (n_samples, 2) array of
        ``[lower, upper]`` columns (what a ``predict_interval`` method
        returns, for ``make_scorer(interval_coverage,
        response_method=("predict_interval",))``).
    upper : array-like of the shape of ``y_true``, default=None
        Upper bounds, each >= its lower bound.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.

    Returns
    -------
    coverage : float
        In [0, 1]; compare it with the nominal coverage of the intervals.

    Examples
    --------
    >>> from skdrop.metrics import interval_coverage
    >>> interval_coverage([0.0, 1.0, 5.0], [-1.0, 0.0, 0.0], [1.0, 2.0, 4.0])
    0.6666666666666666
    """
    y, lo, hi = _interval("interval_coverage", y_true, lower, upper)
    inside = ((lo <= y) & (y <= hi)).astype(np.float64)
    return _weighted_mean(inside, sample_weight)


def mean_interval_width(lower, upper=None, *, sample_weight=None):
    """Mean width ``upper - lower`` of prediction intervals.

    Parameters
    ----------
    lower : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Lower bounds; or, with ``upper=None``, an (n_samples, 2) array of
        ``[lower, upper]`` columns.
    upper : array-like of the shape of ``lower``, default=None
        Upper bounds, each >= its lower bound.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.

    Returns
    -------
    width : float
        In the units of ``y``.

    Examples
    --------
    >>> from skdrop.metrics import mean_interval_width
    >>> mean_interval_width([-1.0, 0.0], [1.0, 3.0])
    2.5
    """
    _, lo, hi = _interval("mean_interval_width", None, lower, upper)
    return _weighted_mean(hi - lo, sample_weight)
