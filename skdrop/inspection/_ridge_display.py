"""Plot of :func:`compare_with_ridge` and :func:`compare_with_logistic`: paths
and scores on one penalty axis."""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch

from ..linear_model import (
    DropoutLinearRegression,
    DropoutLinearRegressionCV,
    DropoutLogisticRegression,
    DropoutLogisticRegressionCV,
    algorithm_settings,
)
from ..utils import axes_array, renamed_arguments, renamed_parameters
from ._logistic_comparison import compare_with_logistic
from ._ridge_comparison import compare_with_ridge


class RidgeComparisonDisplay:
    """Coefficient paths and CV scores of dropout and its L2 counterpart.

    Both panels share one horizontal axis, the effective penalty: for
    regression the alpha of a :class:`~sklearn.linear_model.Ridge` on
    standardized columns with the same total penalty as each dropout rate,
    for classification the matched ``1 / C`` of a
    :class:`~sklearn.linear_model.LogisticRegression` (see
    :func:`~skdrop.inspection.compare_with_logistic`); the top axis reads the
    rate.  The left panel draws the coefficients in standardized units,
    dropout solid and the L2 model dashed in the same color (with more than
    two classes, the size of each feature's coefficients over the classes:
    the norm of the class-centered coefficients); the right one the mean
    held-out score of each with one standard deviation over the splits, and
    the strength that cross-validation picks for the L2 model.  Create it
    with :meth:`from_estimator` or :meth:`from_results`.  Read more in the
    :ref:`user guide <ridge_comparison>`.

    Parameters
    ----------
    result : Bunch
        What :func:`~skdrop.inspection.compare_with_ridge` or
        :func:`~skdrop.inspection.compare_with_logistic` returns.

    Attributes
    ----------
    ax_ : ndarray of matplotlib Axes of shape (2,)
        The coefficient panel and the score panel.
    figure_ : matplotlib Figure
        The figure holding them.
    lines_ : dict
        ``"dropout"`` and ``"ridge"`` (the L2 model, also for
        classification): the coefficient path lines, one per feature.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_diabetes
    >>> from skdrop.inspection import RidgeComparisonDisplay, compare_with_ridge
    >>> X, y = load_diabetes(return_X_y=True)
    >>> result = compare_with_ridge(X, y, input_dropouts=[0.0, 0.2, 0.5, 0.8])
    >>> display = RidgeComparisonDisplay.from_results(result)
    >>> len(display.lines_["dropout"])
    10
    """

    def __init__(self, *, result):
        self.result = result

    def plot(self, ax=None):
        """Draw both panels.

        Parameters
        ----------
        ax : sequence of two matplotlib Axes, default=None
            Where to draw the coefficient paths and the scores; None makes a
            new figure.

        Returns
        -------
        display : RidgeComparisonDisplay
        """
        view = _view(self.result)
        ax_coef, ax_score = axes_array(ax, 2, figsize=(11.0, 4.2))
        self.lines_ = _plot_paths(ax_coef, view)
        _plot_scores(ax_score, view)
        for ax in (ax_coef, ax_score):
            ax.set_xlabel(view.xlabel)
            _rate_axis(ax, view.x, view.dropouts)
        self.ax_ = np.array([ax_coef, ax_score], dtype=object)
        self.figure_ = ax_coef.figure
        return self

    @classmethod
    def from_results(cls, result, *, ax=None):
        """Plot the result of :func:`~skdrop.inspection.compare_with_ridge`.

        Parameters
        ----------
        result : Bunch
            From :func:`~skdrop.inspection.compare_with_ridge` or
            :func:`~skdrop.inspection.compare_with_logistic`.
        ax : sequence of two matplotlib Axes, default=None
            Where to draw; None makes a new figure.

        Returns
        -------
        display : RidgeComparisonDisplay
        """
        return cls(result=result).plot(ax=ax)

    @classmethod
    @renamed_arguments(dropouts="input_dropouts")
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        input_dropouts=None,
        cv=5,
        scoring=None,
        n_jobs=None,
        ax=None,
    ):
        """Compare a dropout linear model's settings with its L2 twin and plot.

        Parameters
        ----------
        estimator : DropoutLinearRegression, DropoutLogisticRegression or \
their CV versions
            Supplies ``feature_groups`` (and a logistic model's ``solver``
            and ``approximation``) and, for a CV estimator, the rates
            (``input_dropouts``);
            fitted or not, it is not changed.  A regressor is compared with
            :func:`~skdrop.inspection.compare_with_ridge`, a classifier with
            :func:`~skdrop.inspection.compare_with_logistic`.
        X : array-like of shape (n_samples, n_features)
            Numeric data.
        y : array-like of shape (n_samples,)
            Target, or class labels.
        input_dropouts : array-like of float, default=None
            Rates to compare; None takes the CV estimator's grid, else the
            default grid of the comparison.  (``dropouts``, its name before
            0.3, works until 0.4 with a ``FutureWarning``.)
        cv, scoring, n_jobs
            As in the comparison function.
        ax : sequence of two matplotlib Axes, default=None
            Where to draw; None makes a new figure.

        Returns
        -------
        display : RidgeComparisonDisplay
        """
        linear = (DropoutLinearRegression, DropoutLinearRegressionCV)
        logistic = (DropoutLogisticRegression, DropoutLogisticRegressionCV)
        if not isinstance(estimator, linear + logistic):
            raise TypeError(
                "RidgeComparisonDisplay.from_estimator needs a "
                "DropoutLinearRegression, DropoutLogisticRegression or their CV "
                "versions, got "
                f"{type(estimator).__name__}"
            )
        params = estimator.get_params(deep=False)
        if not params["fit_intercept"]:
            model = "Ridge" if isinstance(estimator, linear) else "LogisticRegression"
            raise ValueError(
                f"the comparison fits with an intercept, as {model} does by "
                "default; this estimator has fit_intercept=False"
            )
        if input_dropouts is None:
            # The grid under its name before 0.3 too (with its warning).
            grid = renamed_parameters(estimator, {"dropouts": "input_dropouts"})
            input_dropouts = grid.get("input_dropouts")
        common = dict(
            input_dropouts=input_dropouts,
            feature_groups=params["feature_groups"],
            cv=cv,
            scoring=scoring,
            n_jobs=n_jobs,
        )
        if isinstance(estimator, linear):
            result = compare_with_ridge(X, y, **common)
        else:
            algorithm = algorithm_settings(
                type(estimator).__name__,
                params["solver"],
                params["approximation"],
                params["objective"],
            )
            result = compare_with_logistic(X, y, **algorithm, **common)
        return cls.from_results(result, ax=ax)


def _view(r) -> Bunch:
    """What the two panels draw, read from either kind of result."""
    scale = np.asarray(r.feature_scale, dtype=float)
    if r.get("task") != "classification":
        tuned = None
        if np.isfinite(r.ridgecv_alpha):
            tuned = (
                float(r.ridgecv_alpha),
                f"RidgeCV alpha={r.ridgecv_alpha:.3g} ({r.ridgecv_score:.3f})",
            )
        return Bunch(
            x=np.asarray(r.ridge_alpha, dtype=float),
            dropouts=r.dropouts,
            coef=r.coef * scale,
            l2_coef=r.ridge_coef * scale,
            l2_name="ridge",
            coef_label="coefficient (standardized units)",
            xlabel="ridge alpha on standardized columns (effective penalty)",
            dropout_cv=r.dropout_cv_scores,
            l2_cv=r.ridge_cv_scores,
            l2_cv_label="ridge (same total penalty)",
            best_dropout=r.best_dropout,
            best_dropout_score=r.best_dropout_score,
            tuned=tuned,
            feature_names=r.feature_names,
            scoring=r.scoring,
        )
    tuned = None
    if np.isfinite(r.l2cv_C):
        tuned = (
            1.0 / float(r.l2cv_C),
            f"LogisticRegression, tuned C={r.l2cv_C:.3g} ({r.l2cv_score:.3f})",
        )
    binary = r.coef.shape[1] == 1
    return Bunch(
        x=np.asarray(r.l2_alpha, dtype=float),
        dropouts=r.dropouts,
        coef=_feature_paths(r.coef) * scale,
        l2_coef=_feature_paths(r.l2_coef) * scale,
        l2_name="L2 logistic",
        coef_label=(
            f"coefficient of {r.classes[1]!s} (standardized units)"
            if binary
            else "size of the class-centered coefficients (standardized units)"
        ),
        xlabel="L2 strength 1/C on standardized columns (matched penalty)",
        dropout_cv=r.dropout_cv_scores,
        l2_cv=r.l2_cv_scores,
        l2_cv_label="L2 logistic (same total penalty)",
        best_dropout=r.best_dropout,
        best_dropout_score=r.best_dropout_score,
        tuned=tuned,
        feature_names=r.feature_names,
        scoring=r.scoring,
    )


def _feature_paths(coef):
    """(n_rates, n_features) from (n_rates, n_rows, n_features): the one row
    of a binary model, else the norm over classes of the coefficients centered
    across classes (the part both models' penalties see)."""
    if coef.shape[1] == 1:
        return coef[:, 0, :]
    centered = coef - coef.mean(axis=1, keepdims=True)
    return np.sqrt((centered**2).sum(axis=1))


def _plot_paths(ax, v):
    """Coefficient paths in standardized units: dropout solid, L2 dashed."""
    from matplotlib.lines import Line2D

    colors = _colors(len(v.feature_names))
    lines = {"dropout": [], "ridge": []}
    for j, name in enumerate(v.feature_names):
        (line,) = ax.plot(v.x, v.coef[:, j], color=colors[j], lw=1.8, label=str(name))
        lines["dropout"].append(line)
        (line,) = ax.plot(v.x, v.l2_coef[:, j], color=colors[j], lw=1.1, ls="--")
        lines["ridge"].append(line)
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_ylabel(v.coef_label)
    style = [
        Line2D([], [], color="0.3", lw=1.8, label="dropout"),
        Line2D([], [], color="0.3", lw=1.1, ls="--", label=v.l2_name),
    ]
    features = lines["dropout"] if len(v.feature_names) <= 12 else []
    ax.legend(handles=style + features, fontsize="small", ncols=2)
    return lines


def _plot_scores(ax, v):
    """Mean held-out scores with one standard deviation, and the choices."""
    x = v.x
    for scores, label, style in (
        (v.dropout_cv, "dropout", "-"),
        (v.l2_cv, v.l2_cv_label, "--"),
    ):
        mean, std = scores.mean(axis=1), scores.std(axis=1)
        (line,) = ax.plot(x, mean, ls=style, marker="o", ms=3, label=label)
        ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.15)
    best_x = x[int(np.argmax(v.dropout_cv.mean(axis=1)))]
    ax.axvline(
        best_x,
        color="C0",
        lw=1,
        ls=":",
        label=f"best dropout p={v.best_dropout:g} ({v.best_dropout_score:.3f})",
    )
    if v.tuned is not None:
        ax.axvline(v.tuned[0], color="C1", lw=1, ls=":", label=v.tuned[1])
    ax.set_ylabel(f"held-out {v.scoring}")
    ax.legend(fontsize="small", loc="best")


def _rate_axis(ax, x, dropouts):
    """A symlog penalty axis, and the dropout rates on a twin axis on top at
    their own penalties (the x of each rate): an exact reading of the
    shared axis."""
    from matplotlib.ticker import NullLocator

    finite = np.isfinite(x)
    positive = x[finite & (x > 0)]
    if not positive.size:
        return
    ax.set_xscale("symlog", linthresh=float(positive.min()))
    low = 0.0 if x[finite].min() == 0 else positive.min() / 1.5
    ax.set_xlim(low, positive.max() * 1.5)
    top = ax.twiny()
    top.set_xscale("symlog", linthresh=float(positive.min()))
    top.set_xlim(ax.get_xlim())
    ticks = _spread_rates(dropouts, x)
    top.set_xticks([t for _, t in ticks], labels=[f"{p:g}" for p, _ in ticks])
    top.xaxis.set_minor_locator(NullLocator())
    top.set_xlabel("dropout rate p")


def _spread_rates(rates, x) -> list[tuple[float, float]]:
    """(rate, penalty) ticks for the top axis, penalties at least 4x apart."""
    ticks: list[tuple[float, float]] = []
    last = 0.0
    pairs = sorted(
        (float(a), float(p))
        for p, a in zip(rates, x, strict=True)
        if p > 0 and np.isfinite(a) and a > 0
    )
    for alpha, p in pairs:
        if not ticks or alpha >= 4.0 * last:
            ticks.append((p, alpha))
            last = alpha
    return ticks


def _colors(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(j % cmap.N) for j in range(n)]
