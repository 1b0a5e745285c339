"""Calibration plot of Gaussian prediction intervals: the coverage each
nominal level promises against the coverage it gets."""

from __future__ import annotations

import inspect

import numpy as np
from scipy.stats import norm
from sklearn.utils.validation import check_is_fitted

from ._uncertainty import _gaussian_inputs, interval_coverage, mean_interval_width

# 0.05, 0.10, ..., 0.95: k / 20 is the float nearest each decimal.
DEFAULT_LEVELS = np.arange(1, 20) / 20


class IntervalCalibrationDisplay:
    """Expected against observed coverage of Gaussian prediction intervals.

    For each nominal level ``c`` the interval of a row is the central interval
    of its Gaussian predictive distribution ``N(y_mean, y_std^2)``,
    ``y_mean +/- z y_std`` with ``z = norm.ppf((1 + c) / 2)``, and its observed
    coverage is the (weighted) share of rows with ``lower <= y <= upper``, as
    :func:`~skdrop.metrics.interval_coverage` computes it (averaged over
    outputs for 2-d targets).  The plot draws observed against nominal
    coverage with the diagonal ``y = x`` for perfect calibration: a curve
    below the diagonal means the intervals are too narrow (over-confident),
    one above it that they are too wide (under-confident).  Create it with
    :meth:`from_estimator` or :meth:`from_predictions`.  Read more in the
    :ref:`user guide <interval_calibration>`.

    Parameters
    ----------
    nominal : array-like of shape (n_levels,)
        The nominal (expected) coverage of each level, in (0, 1).
    observed : array-like of shape (n_levels,)
        The observed coverage at each level, in [0, 1].
    mean_width : array-like of shape (n_levels,), default=None
        The mean width of the intervals at each level, in the units of ``y``
        (from :func:`~skdrop.metrics.mean_interval_width`); stored, not
        drawn.
    estimator_name : str, default=None
        Label of the curve in the legend; None draws it without one.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The calibration curve.
    ax_ : matplotlib Axes
        The axes with the curve.
    figure_ : matplotlib Figure
        The figure holding them.

    See Also
    --------
    skdrop.metrics.interval_coverage : The observed coverage of one interval.
    sklearn.calibration.CalibrationDisplay : The same idea for classifiers.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.linear_model import BayesianRidge
    >>> from skdrop.metrics import IntervalCalibrationDisplay
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = BayesianRidge().fit(X[:300], y[:300])
    >>> display = IntervalCalibrationDisplay.from_estimator(
    ...     model, X[300:], y[300:], levels=[0.5, 0.8, 0.9, 0.95]
    ... )
    >>> display.nominal
    array([0.5 , 0.8 , 0.9 , 0.95])
    >>> display.observed.round(3)  # near the nominal levels: well calibrated
    array([0.549, 0.789, 0.908, 0.965])
    >>> display.line_.get_label()
    'BayesianRidge'
    """

    def __init__(self, *, nominal, observed, mean_width=None, estimator_name=None):
        self.nominal = nominal
        self.observed = observed
        self.mean_width = mean_width
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, name=None, ref_line=True, **kwargs):
        """Draw observed against nominal coverage.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; None makes a new figure.
        name : str, default=None
            Label of the curve in the legend; None takes ``estimator_name``,
            and draws no label if that is None too.
        ref_line : bool, default=True
            Draw the diagonal of perfect calibration (once per axes).
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for the curve, over
            the default ``marker="o"``.

        Returns
        -------
        display : IntervalCalibrationDisplay
        """
        from ..utils import axes_array

        (ax,) = axes_array(ax, 1, figsize=(5.0, 5.0))
        name = self.estimator_name if name is None else name
        line_kwargs = {"marker": "o"}
        if name is not None:
            line_kwargs["label"] = name
        line_kwargs.update(kwargs)

        ref_label = "Perfectly calibrated"
        if ref_line and ref_label not in ax.get_legend_handles_labels()[1]:
            ax.plot([0, 1], [0, 1], color="0.4", ls=":", lw=1, label=ref_label)
        (self.line_,) = ax.plot(self.nominal, self.observed, **line_kwargs)
        ax.set(
            xlabel="Expected (nominal) coverage",
            ylabel="Observed coverage",
            xlim=(0, 1),
            ylim=(0, 1),
        )
        ax.set_aspect("equal", adjustable="box")
        if ax.get_legend_handles_labels()[1]:
            ax.legend(loc="upper left")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_mean,
        y_std,
        *,
        levels=None,
        sample_weight=None,
        ax=None,
        name=None,
        ref_line=True,
        **kwargs,
    ):
        """Plot the calibration of Gaussian predictions' central intervals.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Observed values.
        y_mean : array-like of the shape of ``y_true``
            Predictive means.
        y_std : array-like of the shape of ``y_true``
            Predictive standard deviations, finite and > 0.
        levels : array-like of shape (n_levels,), default=None
            Nominal coverages, each strictly between 0 and 1, drawn in
            increasing order; None takes 0.05, 0.10, ..., 0.95.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights.
        ax : matplotlib Axes, default=None
            Where to draw; None makes a new figure.
        name : str, default=None
            Label of the curve in the legend; None draws it without one.
        ref_line : bool, default=True
            Draw the diagonal of perfect calibration.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for the curve.

        Returns
        -------
        display : IntervalCalibrationDisplay
        """
        nominal = _check_levels(levels)
        if y_std is None:
            raise ValueError("y_std is required: the predictive standard deviations")
        y, mean, std = _gaussian_inputs(y_true, y_mean, y_std)

        observed = np.empty_like(nominal)
        mean_width = np.empty_like(nominal)
        for k, level in enumerate(nominal):
            half = norm.ppf((1 + level) / 2) * std
            lower, upper = mean - half, mean + half
            observed[k] = interval_coverage(
                y, lower, upper, sample_weight=sample_weight
            )
            mean_width[k] = mean_interval_width(
                lower, upper, sample_weight=sample_weight
            )
        display = cls(
            nominal=nominal,
            observed=observed,
            mean_width=mean_width,
            estimator_name=name,
        )
        return display.plot(ax=ax, ref_line=ref_line, **kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        levels=None,
        sample_weight=None,
        ax=None,
        name=None,
        ref_line=True,
        **kwargs,
    ):
        """Plot the calibration of a fitted regressor's Gaussian intervals.

        The predictive means and standard deviations are
        ``estimator.predict(X, return_std=True)``; the rest is
        :meth:`from_predictions`.

        Parameters
        ----------
        estimator : fitted regressor
            Its ``predict`` takes ``return_std`` and then returns ``(mean,
            std)``, as :class:`~sklearn.linear_model.BayesianRidge`,
            :class:`~sklearn.gaussian_process.GaussianProcessRegressor` and
            :class:`~skdrop.DropoutMLPRegressor` do.
        X : array-like of shape (n_samples, n_features)
            Input data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Observed values.
        levels : array-like of shape (n_levels,), default=None
            Nominal coverages, each strictly between 0 and 1; None takes
            0.05, 0.10, ..., 0.95.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights.
        ax : matplotlib Axes, default=None
            Where to draw; None makes a new figure.
        name : str, default=None
            Label of the curve in the legend; None takes the estimator's
            class name.
        ref_line : bool, default=True
            Draw the diagonal of perfect calibration.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for the curve.

        Returns
        -------
        display : IntervalCalibrationDisplay
        """
        estimator_name = type(estimator).__name__
        if not _takes_return_std(estimator):
            raise TypeError(
                "IntervalCalibrationDisplay.from_estimator needs a regressor "
                "whose predict takes return_std=True and returns (mean, std); "
                f"{estimator_name}.predict does not take return_std"
            )
        check_is_fitted(estimator)
        try:
            y_mean, y_std = estimator.predict(X, return_std=True)
        except TypeError as exc:
            if "return_std" not in str(exc):
                raise
            raise TypeError(
                "IntervalCalibrationDisplay.from_estimator needs a regressor "
                "whose predict takes return_std=True; "
                f"{estimator_name}.predict refused it: {exc}"
            ) from exc
        return cls.from_predictions(
            y,
            y_mean,
            y_std,
            levels=levels,
            sample_weight=sample_weight,
            ax=ax,
            name=estimator_name if name is None else name,
            ref_line=ref_line,
            **kwargs,
        )


def _check_levels(levels) -> np.ndarray:
    """The nominal levels as a sorted float array, each in (0, 1)."""
    if levels is None:
        return DEFAULT_LEVELS.copy()
    nominal = np.asarray(levels, dtype=np.float64)
    if nominal.ndim != 1 or nominal.size == 0:
        raise ValueError(
            f"levels must be a non-empty 1-d array of coverages, got shape "
            f"{nominal.shape}"
        )
    inside = np.isfinite(nominal) & (nominal > 0) & (nominal < 1)
    if not inside.all():
        bad = nominal[~inside][0]
        raise ValueError(
            f"levels must lie strictly between 0 and 1, got {float(bad)!r}"
        )
    return np.sort(nominal)


def _takes_return_std(estimator) -> bool:
    """Whether ``estimator.predict`` has a ``return_std`` parameter (or takes
    ``**kwargs``, as a :class:`~sklearn.pipeline.Pipeline` passing them on
    to its last step does; the call itself then says if that step refuses)."""
    predict = getattr(estimator, "predict", None)
    if predict is None:
        return False
    try:
        parameters = inspect.signature(predict).parameters
    except (TypeError, ValueError):  # no signature to read: let the call decide
        return True
    return "return_std" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )
