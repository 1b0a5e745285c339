"""Scores of Gaussian predictive distributions and of prediction intervals.

Each metric averages a per-value score over rows (weighted by
``sample_weight``) for each output, then over outputs as ``multioutput``
asks, as scikit-learn's regression metrics do:

* ``gaussian_nll``: ``1/2 log(2 pi s^2) + (y - m)^2 / (2 s^2)``;
* ``mc_gaussian_nll``: the negative log of the mixture of ``T`` Gaussians
  ``N(f_t, s^2)`` around Monte Carlo predictions ``f_t``, ``-logsumexp_t(
  -(y - f_t)^2 / (2 s^2)) + log T + 1/2 log(2 pi s^2)`` (Gal and Ghahramani
  2016, the "test log-likelihood" of their tables with the sign changed);
* ``gaussian_crps``: the continuous ranked probability score of ``N(m,
  s^2)``, ``s [z (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi)]`` with ``z = (y -
  m) / s`` (Gneiting and Raftery 2007);
* ``interval_coverage``: the share of rows with ``lower <= y <= upper``;
* ``mean_interval_width``: the mean of ``upper - lower``.

Lower is better for the first three.  The names put the distribution first
(``gaussian_nll``, as the regressors' ``loss="gaussian_nll"``); the 0.2 name
``crps_gaussian`` and the arguments ``mean``, ``std``, ``samples``,
``lower`` and ``upper`` still work until 0.4, with a ``FutureWarning``.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
from scipy.special import logsumexp
from scipy.stats import norm
from sklearn.utils._param_validation import StrOptions, validate_params
from sklearn.utils.validation import _check_sample_weight

from ..utils import renamed_arguments

MULTIOUTPUT = ("raw_values", "uniform_average")
_COMMON = {
    "sample_weight": ["array-like", None],
    "multioutput": [StrOptions(set(MULTIOUTPUT)), "array-like"],
}
_GAUSSIAN = {
    "y_true": ["array-like"],
    "y_mean": ["array-like"],
    "y_std": ["array-like"],
}
_BOUNDS = {"y_lower": ["array-like"], "y_upper": ["array-like"]}


def _as_float(name, values):
    """``values`` as a finite float array of shape (n_samples,) or
    (n_samples, n_outputs), with at least one value."""
    array = np.asarray(values)
    if array.dtype.kind in "USc":
        example = f" such as {str(array.ravel()[0])!r}" if array.size else ""
        raise ValueError(
            f"{name} must hold real numbers (int or float), got values of dtype "
            f"{array.dtype}{example}"
        )
    try:
        array = array.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must hold real numbers (int or float); converting it to "
            f"float failed: {exc}"
        ) from None
    if array.ndim not in (1, 2):
        raise ValueError(
            f"{name} must be 1-d (n_samples,) or 2-d (n_samples, n_outputs), "
            f"got shape {array.shape}"
        )
    if array.size == 0:
        raise ValueError(
            f"{name} is empty (shape {array.shape}): a metric needs at least "
            "one sample and one output"
        )
    bad = ~np.isfinite(array)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} must be finite, but {name}[{', '.join(map(str, where))}] is "
            f"{array[where]} ({int(bad.sum())} such values)"
        )
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


def _output_weights(multioutput, n_outputs):
    """None for a uniform average, or the weights of the outputs."""
    if isinstance(multioutput, str):
        return None
    weights = np.asarray(multioutput, dtype=np.float64)
    if weights.shape != (n_outputs,):
        raise ValueError(
            f"multioutput must hold one weight per output ({n_outputs}), got "
            f"shape {weights.shape}"
        )
    if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(
            "multioutput weights must be finite, >= 0 and not all 0, got "
            f"{weights.tolist()}"
        )
    return weights


def _average(scores, sample_weight, multioutput):
    """The weighted mean over rows of a (n_samples,) or (n_samples,
    n_outputs) score: per output for ``"raw_values"``, else averaged over
    the outputs (uniformly, or with the ``multioutput`` weights)."""
    columns = scores.reshape(len(scores), -1)
    output_weights = _output_weights(multioutput, columns.shape[1])
    weights = _check_sample_weight(sample_weight, columns, ensure_non_negative=True)
    per_output = np.average(columns, axis=0, weights=weights)
    if isinstance(multioutput, str) and multioutput == "raw_values":
        return per_output
    return float(np.average(per_output, weights=output_weights))


def _gaussian_inputs(y_true, y_mean, y_std):
    """``y_true``, ``y_mean`` and ``y_std`` as checked float arrays of one
    shape (``y_std > 0``)."""
    y = _as_float("y_true", y_true)
    m, s = _as_float("y_mean", y_mean), _as_float("y_std", y_std)
    _same_shape("y_true", y, y_mean=m, y_std=s)
    _positive("y_std", s)
    return y, m, s


@renamed_arguments(mean="y_mean", std="y_std")
@validate_params(_GAUSSIAN | _COMMON, prefer_skip_nested_validation=True)
def gaussian_nll(
    y_true, y_mean, y_std, *, sample_weight=None, multioutput="uniform_average"
):
    """Mean negative log-likelihood of ``y_true`` under ``N(y_mean, y_std^2)``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed values.
    y_mean : array-like of the shape of ``y_true``
        Predictive means.
    y_std : array-like of the shape of ``y_true``
        Predictive standard deviations, each > 0.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.
    multioutput : {"raw_values", "uniform_average"} or array-like of shape \
            (n_outputs,), default="uniform_average"
        How the outputs' scores combine: ``"raw_values"`` returns each, an
        array averages them with these weights.

    Returns
    -------
    nll : float or ndarray of shape (n_outputs,)
        ``mean_i [1/2 log(2 pi std_i^2) + (y_i - mean_i)^2 / (2 std_i^2)]``;
        lower is better.

    Examples
    --------
    >>> from skdrop.metrics import gaussian_nll
    >>> round(gaussian_nll([0.0, 1.0], [0.0, 0.0], [1.0, 1.0]), 4)
    1.1689
    >>> gaussian_nll([[0.0, 1.0]], [[0.0, 0.0]], [[1.0, 1.0]],
    ...              multioutput="raw_values").round(4)
    array([0.9189, 1.4189])
    """
    y, m, s = _gaussian_inputs(y_true, y_mean, y_std)
    return _average(-norm.logpdf(y, loc=m, scale=s), sample_weight, multioutput)


@renamed_arguments(samples="y_samples")
@validate_params(
    {"y_true": ["array-like"], "y_samples": ["array-like"]}
    | {"noise_std": [Real, "array-like"]}
    | _COMMON,
    prefer_skip_nested_validation=True,
)
def mc_gaussian_nll(
    y_true, y_samples, noise_std, *, sample_weight=None, multioutput="uniform_average"
):
    """Mean negative log-likelihood of ``y_true`` under the mixture of
    Gaussians around Monte Carlo predictions (Gal and Ghahramani 2016).

    Each row's predictive density is ``1/T sum_t N(y; f_t, noise_std^2)``
    over the ``T`` stochastic forward passes ``f_t``; computed with
    ``logsumexp``, as their test log-likelihood (with the sign changed).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed values.
    y_samples : array-like of shape (n_passes, n_samples) or \
            (n_passes, n_samples, n_outputs)
        The predictions of the Monte Carlo passes, as ``mc_predict``
        returns them.
    noise_std : float or array-like broadcastable to ``y_true``
        Standard deviation of the observation noise, ``tau^(-1/2)``, > 0.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.
    multioutput : {"raw_values", "uniform_average"} or array-like of shape \
            (n_outputs,), default="uniform_average"
        How the outputs' scores combine, as in :func:`gaussian_nll`.

    Returns
    -------
    nll : float or ndarray of shape (n_outputs,)
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
    f = np.asarray(y_samples, dtype=np.float64)
    if f.ndim != y.ndim + 1 or f.shape[1:] != y.shape or f.shape[0] < 1:
        raise ValueError(
            f"y_samples must have shape (n_passes, *{y.shape}), got {f.shape}"
        )
    if not np.isfinite(f).all():
        raise ValueError("y_samples must be finite; it holds NaN or infinity")
    s = np.broadcast_to(np.asarray(noise_std, dtype=np.float64), y.shape)
    _positive("noise_std", s)
    log_densities = norm.logpdf(y[None], loc=f, scale=s[None])
    per_value = -(logsumexp(log_densities, axis=0) - np.log(f.shape[0]))
    return _average(per_value, sample_weight, multioutput)


@renamed_arguments(mean="y_mean", std="y_std")
@validate_params(_GAUSSIAN | _COMMON, prefer_skip_nested_validation=True)
def gaussian_crps(
    y_true, y_mean, y_std, *, sample_weight=None, multioutput="uniform_average"
):
    """Mean continuous ranked probability score of ``N(y_mean, y_std^2)``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed values.
    y_mean : array-like of the shape of ``y_true``
        Predictive means.
    y_std : array-like of the shape of ``y_true``
        Predictive standard deviations, each > 0.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.
    multioutput : {"raw_values", "uniform_average"} or array-like of shape \
            (n_outputs,), default="uniform_average"
        How the outputs' scores combine, as in :func:`gaussian_nll`.

    Returns
    -------
    crps : float or ndarray of shape (n_outputs,)
        ``mean_i std_i [z_i (2 Phi(z_i) - 1) + 2 phi(z_i) - 1 / sqrt(pi)]``,
        ``z_i = (y_i - mean_i) / std_i``; in the units of ``y``, lower is
        better.  It tends to the absolute error as ``y_std`` tends to 0.

    Examples
    --------
    >>> from skdrop.metrics import gaussian_crps
    >>> round(gaussian_crps([0.0], [0.0], [1.0]), 4)  # (sqrt(2) - 1) / sqrt(pi)
    0.2337
    """
    y, m, s = _gaussian_inputs(y_true, y_mean, y_std)
    z = (y - m) / s
    per_value = s * (
        z * (2.0 * norm.cdf(z) - 1.0) + 2.0 * norm.pdf(z) - 1.0 / np.sqrt(np.pi)
    )
    return _average(per_value, sample_weight, multioutput)


def _bounds(y_lower, y_upper):
    lo, hi = _as_float("y_lower", y_lower), _as_float("y_upper", y_upper)
    _same_shape("y_lower", lo, y_upper=hi)
    if (lo > hi).any():
        k = int(np.flatnonzero((lo > hi).ravel())[0])
        raise ValueError(
            f"y_lower must be <= y_upper on every row, got y_lower="
            f"{lo.ravel()[k]!r} > y_upper={hi.ravel()[k]!r} at position {k}"
        )
    return lo, hi


@renamed_arguments(lower="y_lower", upper="y_upper")
@validate_params(
    {"y_true": ["array-like"]} | _BOUNDS | _COMMON, prefer_skip_nested_validation=True
)
def interval_coverage(
    y_true, y_lower, y_upper, *, sample_weight=None, multioutput="uniform_average"
):
    """Share of rows whose value lies in its interval, ``lower <= y <= upper``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Observed values.
    y_lower : array-like of the shape of ``y_true``
        Lower bounds.
    y_upper : array-like of the shape of ``y_true``
        Upper bounds, each >= its lower bound.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.
    multioutput : {"raw_values", "uniform_average"} or array-like of shape \
            (n_outputs,), default="uniform_average"
        How the outputs' scores combine, as in :func:`gaussian_nll`.

    Returns
    -------
    coverage : float or ndarray of shape (n_outputs,)
        In [0, 1]; compare it with the nominal coverage of the intervals.

    Notes
    -----
    To score the ``(n_samples, 2)`` array of a ``predict_interval`` method
    in a search, pass a callable ``scoring(estimator, X, y)`` that splits
    its columns: ``interval_coverage(y, *estimator.predict_interval(X).T)``.

    Examples
    --------
    >>> from skdrop.metrics import interval_coverage
    >>> interval_coverage([0.0, 1.0, 5.0], [-1.0, 0.0, 0.0], [1.0, 2.0, 4.0])
    0.6666666666666666
    """
    y = _as_float("y_true", y_true)
    lo, hi = _bounds(y_lower, y_upper)
    _same_shape("y_true", y, y_lower=lo)
    inside = ((lo <= y) & (y <= hi)).astype(np.float64)
    return _average(inside, sample_weight, multioutput)


@renamed_arguments(lower="y_lower", upper="y_upper")
@validate_params(_BOUNDS | _COMMON, prefer_skip_nested_validation=True)
def mean_interval_width(
    y_lower, y_upper, *, sample_weight=None, multioutput="uniform_average"
):
    """Mean width ``y_upper - y_lower`` of prediction intervals.

    Parameters
    ----------
    y_lower : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Lower bounds.
    y_upper : array-like of the shape of ``y_lower``
        Upper bounds, each >= its lower bound.
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights.
    multioutput : {"raw_values", "uniform_average"} or array-like of shape \
            (n_outputs,), default="uniform_average"
        How the outputs' scores combine, as in :func:`gaussian_nll`.

    Returns
    -------
    width : float or ndarray of shape (n_outputs,)
        In the units of ``y``.

    Examples
    --------
    >>> from skdrop.metrics import mean_interval_width
    >>> mean_interval_width([-1.0, 0.0], [1.0, 3.0])
    2.5
    """
    lo, hi = _bounds(y_lower, y_upper)
    return _average(hi - lo, sample_weight, multioutput)
