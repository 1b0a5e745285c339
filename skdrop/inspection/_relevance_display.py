"""Learned input dropout relevance against drop-column importance, as a plot."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
from sklearn.base import clone
from sklearn.utils import Bunch

from ..utils import pyplot
from ._ablation import ablation_importance
from ._ablation_result import rank_correlation
from ._relevance import dropout_relevance

# Features whose percentile ranks under the two measures differ by more than
# this are marked as disagreeing: high by one, low by the other.
DISAGREEMENT = 0.5


class DropoutRelevanceDisplay:
    """Learned dropout relevance (x) against ablation importance (y).

    Each feature is a point: its learned input keep probability from
    :func:`~skdrop.inspection.dropout_relevance` against its drop-column
    importance from :func:`~skdrop.inspection.ablation_importance`, with the
    importance's interval over splits as a vertical bar.  For a CV ensemble
    (``refit="ensemble"``) the keep probability is the mean over its fold
    networks, with one standard deviation over them as a horizontal bar.
    Points whose
    percentile ranks under the two measures differ by more than one half
    (relevant by one, not by the other) are circled and named in
    ``disagreements_``; the Spearman rank correlation is in the title.
    Create it with :meth:`from_estimator` or :meth:`from_results`.  Read
    more in the :ref:`user guide <dropout_vs_removal>`.

    Parameters
    ----------
    relevance : Bunch
        What :func:`~skdrop.inspection.dropout_relevance` returns.
    ablation : Bunch
        What :func:`~skdrop.inspection.ablation_importance` returns, for the
        same features in the same order (one unit per feature).

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    points_ : matplotlib PathCollection
        The features.
    disagreements_ : list of str
        The features the two measures rank far apart.
    rank_correlation_ : float
        Spearman correlation of keep probability and mean importance.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdrop import DropoutMLPRegressor
    >>> from skdrop.inspection import DropoutRelevanceDisplay
    >>> X, y = load_diabetes(return_X_y=True, as_frame=True)
    >>> X[:] = StandardScaler().fit_transform(X)
    >>> model = DropoutMLPRegressor(
    ...     (32,), input_dropout="learned", hidden_dropout=0.1,
    ...     learning_rate_init=0.01, max_iter=60, random_state=0,
    ... ).fit(X, y)
    >>> display = DropoutRelevanceDisplay.from_estimator(
    ...     model, X, y, cv=3, random_state=0
    ... )
    >>> len(display.points_.get_offsets())
    10
    """

    def __init__(self, *, relevance, ablation):
        self.relevance = relevance
        self.ablation = ablation

    def plot(self, ax=None, *, annotate=True):
        """Draw the points.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; None makes a new figure.
        annotate : bool, default=True
            Write each feature's name beside its point.

        Returns
        -------
        display : DropoutRelevanceDisplay
        """
        relevance, ablation = self.relevance, self.ablation
        x = np.asarray(relevance.keep_probability, dtype=float)
        y = np.asarray(ablation.importances_mean, dtype=float)
        if x.shape != y.shape:
            raise ValueError(
                f"relevance has {x.size} features but ablation has {y.size} units: "
                "give an ablation of each feature on its own"
            )
        names = [str(n) for n in relevance.feature_names]
        theirs = [str(n) for n in getattr(ablation, "feature_names", names)]
        order = _matching(names, theirs)
        x, names = x[order], [names[k] for k in order]
        spread = relevance.get("rate_std")
        x_err = None if spread is None else np.asarray(spread, dtype=float)[order]
        low, high = _interval(ablation)
        if ax is None:
            _, ax = pyplot().subplots(figsize=(6.4, 4.8), layout="constrained")
        ax.errorbar(
            x,
            y,
            xerr=x_err,
            yerr=np.vstack([y - low, high - y]),
            fmt="none",
            ecolor="0.6",
            elinewidth=1,
            zorder=1,
        )
        self.points_ = ax.scatter(x, y, color="C0", zorder=2, label="feature")
        apart = _disagreeing(x, y)
        self.disagreements_ = [n for n, d in zip(names, apart, strict=True) if d]
        if apart.any():
            ax.scatter(
                x[apart],
                y[apart],
                s=220,
                facecolors="none",
                edgecolors="C3",
                linewidths=1.5,
                zorder=3,
                label="ranked far apart",
            )
        if annotate:
            for xi, yi, name in zip(x, y, names, strict=True):
                ax.annotate(
                    name,
                    (xi, yi),
                    xytext=(4, 3),
                    textcoords="offset points",
                    fontsize=8,
                )
        ax.axhline(0.0, color="0.8", linewidth=1, zorder=0)
        ax.set_xlabel("learned keep probability (1 - input dropout rate)")
        ax.set_ylabel(f"ablation importance ({ablation.scoring})")
        # By position: ``x`` follows the ablation's order.
        mean_only = Bunch(importances_mean=y)
        self.rank_correlation_ = rank_correlation(mean_only, Bunch(importances_mean=x))
        ax.set_title(f"Spearman rank correlation {self.rank_correlation_:.2f}")
        ax.legend(loc="best", fontsize=8)
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_results(cls, relevance, ablation, *, ax=None, annotate=True):
        """Plot results computed already.

        Parameters
        ----------
        relevance : Bunch
            From :func:`~skdrop.inspection.dropout_relevance`.
        ablation : Bunch
            From :func:`~skdrop.inspection.ablation_importance`, one unit
            per feature.
        ax : matplotlib Axes, default=None
        annotate : bool, default=True

        Returns
        -------
        display : DropoutRelevanceDisplay
        """
        return cls(relevance=relevance, ablation=ablation).plot(ax, annotate=annotate)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        cv=5,
        scoring=None,
        n_repeats=1,
        random_state=None,
        n_jobs=None,
        ax=None,
        annotate=True,
    ):
        """Relevance of a fitted network next to the ablation importance of
        refits of it.

        Parameters
        ----------
        estimator : DropoutMLPClassifier, DropoutMLPRegressor, their CV \
versions, or Pipeline
            Fitted with ``input_dropout="learned"`` (a CV estimator: having
            chosen it), as :func:`~skdrop.inspection.dropout_relevance`
            takes it; the ablation refits clones of it (with learned rates,
            as fitted; a CV estimator's clone runs its whole search on each
            refit, so give it a one-setting grid to keep that cheap).
        X, y : array-like
            The data of the ablation's cross-validation.
        cv, scoring, n_repeats, random_state, n_jobs
            As in :func:`~skdrop.inspection.ablation_importance`.
        ax : matplotlib Axes, default=None
        annotate : bool, default=True

        Returns
        -------
        display : DropoutRelevanceDisplay
        """
        relevance = dropout_relevance(estimator)
        ablation = ablation_importance(
            clone(estimator),
            X,
            y,
            cv=cv,
            scoring=scoring,
            n_repeats=n_repeats,
            random_state=random_state,
            n_jobs=n_jobs,
        )
        return cls.from_results(relevance, ablation, ax=ax, annotate=annotate)


def _interval(ablation):
    """The importances' interval: the result's own where it has one, else
    one standard deviation over splits."""
    mean = np.asarray(ablation.importances_mean, dtype=float)
    ci = getattr(ablation, "importances_ci", None)
    if ci is not None and np.isfinite(ci).all():
        ci = np.asarray(ci, dtype=float)
        return ci[:, 0], ci[:, 1]
    std = np.asarray(ablation.importances_std, dtype=float)
    return mean - std, mean + std


def _matching(names, theirs):
    """Positions in ``names`` of each of ``theirs``: the same columns, maybe
    reordered (a ColumnTransformer before the network) or with a
    ``transformer__`` prefix.  Columns named ``x0, x1, ...`` (arrays) pair by
    position; any other mismatch is an error rather than a silent pairing."""
    if names == theirs:
        return list(range(len(names)))
    stripped = [n.split("__", 1)[-1] for n in names]
    for candidates in (names, stripped):
        if sorted(candidates) == sorted(theirs) and len(set(candidates)) == len(
            candidates
        ):
            return [candidates.index(n) for n in theirs]
    generic = [f"x{j}" for j in range(len(names))]
    if names == generic or theirs == generic:
        return list(range(len(names)))
    raise ValueError(
        "the relevance and the ablation name different features "
        f"({names[:4]}... against {theirs[:4]}...): give both for the same "
        "columns of the network's input"
    )


def _disagreeing(x, y):
    """Whether each feature's percentile ranks under ``x`` and ``y`` differ
    by more than :data:`DISAGREEMENT`."""
    n = len(x)
    if n < 3:
        return np.zeros(n, dtype=bool)
    rx = (rankdata(x) - 1) / (n - 1)
    ry = (rankdata(y) - 1) / (n - 1)
    return np.abs(rx - ry) > DISAGREEMENT
