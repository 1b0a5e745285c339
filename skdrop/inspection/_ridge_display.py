"""Plot of :func:`compare_with_ridge`: paths and scores on one penalty axis."""

from __future__ import annotations

import numpy as np

from .._linear import DropoutLinearRegression, DropoutLinearRegressionCV
from ._plotting import axes_array
from ._ridge_comparison import compare_with_ridge


class RidgeComparisonDisplay:
    """Coefficient paths and CV scores of dropout and ridge regression.

    Both panels share one horizontal axis, the effective penalty: the alpha of
    a :class:`~sklearn.linear_model.Ridge` on standardized columns with the
    same total penalty as each dropout rate (its top axis reads the rate).
    The left panel draws the coefficients in standardized units, dropout
    solid and ridge dashed in the same color; the right one the mean held-out
    score of each with one standard deviation over the splits.  Create it with
    :meth:`from_estimator` or :meth:`from_results`.  Read more in the
    :ref:`user guide <ridge_comparison>`.

    Parameters
    ----------
    result : Bunch
        What :func:`~skdrop.inspection.compare_with_ridge` returns.

    Attributes
    ----------
    ax_ : ndarray of matplotlib Axes of shape (2,)
        The coefficient panel and the score panel.
    figure_ : matplotlib Figure
        The figure holding them.
    lines_ : dict
        ``"dropout"`` and ``"ridge"``: the coefficient path lines, one per
        feature.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_diabetes
    >>> from skdrop.inspection import RidgeComparisonDisplay, compare_with_ridge
    >>> X, y = load_diabetes(return_X_y=True)
    >>> result = compare_with_ridge(X, y, dropouts=[0.0, 0.2, 0.5, 0.8])
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
        r = self.result
        ax_coef, ax_score = axes_array(ax, 2, figsize=(11.0, 4.2))
        x = np.asarray(r.ridge_alpha, dtype=float)
        self.lines_ = _plot_paths(ax_coef, r, x)
        _plot_scores(ax_score, r, x)
        for ax in (ax_coef, ax_score):
            ax.set_xlabel("ridge alpha on standardized columns (effective penalty)")
            _rate_axis(ax, x, r.dropouts, float(r.alpha_per_lambda))
        self.ax_ = np.array([ax_coef, ax_score], dtype=object)
        self.figure_ = ax_coef.figure
        return self

    @classmethod
    def from_results(cls, result, *, ax=None):
        """Plot the result of :func:`~skdrop.inspection.compare_with_ridge`.

        Parameters
        ----------
        result : Bunch
            From :func:`~skdrop.inspection.compare_with_ridge`.
        ax : sequence of two matplotlib Axes, default=None
            Where to draw; None makes a new figure.

        Returns
        -------
        display : RidgeComparisonDisplay
        """
        return cls(result=result).plot(ax=ax)

    @classmethod
    def from_estimator(
        cls, estimator, X, y, *, dropouts=None, cv=5, scoring=None, n_jobs=None, ax=None
    ):
        """Compare a dropout linear regression's settings with ridge and plot.

        Parameters
        ----------
        estimator : DropoutLinearRegression or DropoutLinearRegressionCV
            Supplies ``feature_groups`` and, for the CV estimator, the rates
            (``dropouts``); fitted or not, it is not changed.
        X : array-like of shape (n_samples, n_features)
            Numeric data.
        y : array-like of shape (n_samples,)
            Target.
        dropouts : array-like of float, default=None
            Rates to compare; None takes the CV estimator's grid, else the
            default grid of :func:`~skdrop.inspection.compare_with_ridge`.
        cv, scoring, n_jobs
            As in :func:`~skdrop.inspection.compare_with_ridge`.
        ax : sequence of two matplotlib Axes, default=None
            Where to draw; None makes a new figure.

        Returns
        -------
        display : RidgeComparisonDisplay
        """
        if not isinstance(
            estimator, (DropoutLinearRegression, DropoutLinearRegressionCV)
        ):
            raise TypeError(
                "RidgeComparisonDisplay.from_estimator needs a DropoutLinearRegression "
                f"or DropoutLinearRegressionCV, got {type(estimator).__name__}"
            )
        params = estimator.get_params(deep=False)
        if not params["fit_intercept"]:
            raise ValueError(
                "compare_with_ridge fits with an intercept, as Ridge does by "
                "default; this estimator has fit_intercept=False"
            )
        if dropouts is None:
            dropouts = params.get("dropouts")
        result = compare_with_ridge(
            X,
            y,
            dropouts=dropouts,
            feature_groups=params["feature_groups"],
            cv=cv,
            scoring=scoring,
            n_jobs=n_jobs,
        )
        return cls.from_results(result, ax=ax)


def _plot_paths(ax, r, x):
    """Coefficient paths in standardized units: dropout solid, ridge dashed."""
    from matplotlib.lines import Line2D

    scale = r.feature_scale
    colors = _colors(len(r.feature_names))
    lines = {"dropout": [], "ridge": []}
    for j, name in enumerate(r.feature_names):
        (line,) = ax.plot(
            x, r.coef[:, j] * scale[j], color=colors[j], lw=1.8, label=str(name)
        )
        lines["dropout"].append(line)
        (line,) = ax.plot(
            x, r.ridge_coef[:, j] * scale[j], color=colors[j], lw=1.1, ls="--"
        )
        lines["ridge"].append(line)
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.set_ylabel("coefficient (standardized units)")
    style = [
        Line2D([], [], color="0.3", lw=1.8, label="dropout"),
        Line2D([], [], color="0.3", lw=1.1, ls="--", label="ridge"),
    ]
    features = lines["dropout"] if len(r.feature_names) <= 12 else []
    ax.legend(handles=style + features, fontsize="small", ncols=2)
    return lines


def _plot_scores(ax, r, x):
    """Mean held-out scores with one standard deviation, and the choices."""
    for scores, label, style in (
        (r.dropout_cv_scores, "dropout", "-"),
        (r.ridge_cv_scores, "ridge (same total penalty)", "--"),
    ):
        mean, std = scores.mean(axis=1), scores.std(axis=1)
        (line,) = ax.plot(x, mean, ls=style, marker="o", ms=3, label=label)
        ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.15)
    best_x = x[int(np.argmax(r.dropout_cv_scores.mean(axis=1)))]
    ax.axvline(
        best_x,
        color="C0",
        lw=1,
        ls=":",
        label=f"best dropout p={r.best_dropout:g} ({r.best_dropout_score:.3f})",
    )
    if np.isfinite(r.ridgecv_alpha):
        ax.axvline(
            r.ridgecv_alpha,
            color="C1",
            lw=1,
            ls=":",
            label=f"RidgeCV alpha={r.ridgecv_alpha:.3g} ({r.ridgecv_score:.3f})",
        )
    ax.set_ylabel(f"held-out {r.scoring}")
    ax.legend(fontsize="small", loc="best")


def _rate_axis(ax, x, dropouts, alpha_per_lambda):
    """A symlog penalty axis, and the dropout rates on a twin axis on top at
    their alphas: an exact reading of the shared axis."""
    from matplotlib.ticker import NullLocator

    positive = x[x > 0]
    if not positive.size:
        return
    ax.set_xscale("symlog", linthresh=float(positive.min()))
    ax.set_xlim(0.0 if x.min() == 0 else positive.min() / 1.5, x.max() * 1.5)
    top = ax.twiny()
    top.set_xscale("symlog", linthresh=float(positive.min()))
    top.set_xlim(ax.get_xlim())
    rates = _spread_rates(dropouts, alpha_per_lambda)
    top.set_xticks(
        [alpha_per_lambda * p / (1.0 - p) for p in rates],
        labels=[f"{p:g}" for p in rates],
    )
    top.xaxis.set_minor_locator(NullLocator())
    top.set_xlabel("dropout rate p")


def _spread_rates(rates, alpha_per_lambda: float) -> list[float]:
    """Rates for the top axis whose alphas are at least 4x apart."""
    ticks: list[float] = []
    last = 0.0
    for p in sorted(float(p) for p in rates if p > 0):
        alpha = alpha_per_lambda * p / (1.0 - p)
        if not ticks or alpha >= 4.0 * last:
            ticks.append(p)
            last = alpha
    return ticks


def _colors(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(j % cmap.N) for j in range(n)]
