"""Plot of :func:`ablation_importance`, alone or next to other importances."""

from __future__ import annotations

from numbers import Integral

import numpy as np

from ..utils import axes_array, seed_from_random_state
from ._ablation import ablation_importance
from ._ablation_result import rank_correlation

_METHODS = ("refit", "mask", "permutation")
_MUTED = "0.82"  # light grey: a bar whose interval covers 0


class AblationImportanceDisplay:
    """Horizontal bars of feature importances with their confidence intervals.

    The features are sorted by the main result's mean importance, the most
    important at the top; each bar's whisker is the result's interval
    (``importances_ci``), or one standard deviation over the splits for a
    result without one (:func:`sklearn.inspection.permutation_importance`).
    A bar whose interval covers 0 is drawn muted, grey and hatched, with a
    legend entry "not distinguishable from 0": at a glance, the features the
    data cannot tell from useless.  Other importances of the same features
    (the other ablation methods, or
    :func:`sklearn.inspection.permutation_importance`) are drawn beside it,
    with their Spearman rank correlation to the main result in the legend
    when given (:meth:`from_estimator` and :meth:`from_results` compute it
    with the result's ``rank_correlation``).  Create it with
    :meth:`from_estimator` or :meth:`from_results`.  Read more in the
    :ref:`user guide <ablation_importance>`.

    Parameters
    ----------
    result : Bunch
        What :func:`~skdrop.inspection.ablation_importance` returns.
    others : dict of str to Bunch, default=None
        More importances of the same features in the same order, by label:
        anything with ``importances_mean`` and ``importances_std`` of the same
        length (and, if it has them, the same ``feature_names``).
    rank_correlations : dict of str to float, default=None
        Spearman correlation of each of ``others`` with the main result, shown
        in the legend.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes with the bars.
    figure_ : matplotlib Figure
        The figure holding them.
    bars_ : list of matplotlib BarContainer
        The main result's bars, then those of ``others`` in order.
    muted_ : list of ndarray of bool
        For each entry of ``bars_``, which of its bars are drawn muted (an
        interval that covers 0, or none to show), in the order of the bars.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_diabetes
    >>> from skdrop import DropoutLinearRegression
    >>> from skdrop.inspection import AblationImportanceDisplay
    >>> X, y = load_diabetes(return_X_y=True, as_frame=True)
    >>> display = AblationImportanceDisplay.from_estimator(
    ...     DropoutLinearRegression(0.1), X, y, compare=["mask"]
    ... )
    >>> sorted(display.rank_correlations)
    ['mask']
    """

    def __init__(self, *, result, others=None, rank_correlations=None):
        self.result = result
        self.others = others
        self.rank_correlations = rank_correlations

    def plot(self, ax=None, *, max_features=None):
        """Draw the bars.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; None makes a new figure.
        max_features : int, default=None
            Show only this many of the most important features.

        Returns
        -------
        display : AblationImportanceDisplay
        """
        main = self.result
        others = _check_others(main, self.others)
        correlations = self.rank_correlations or {}
        order = np.argsort(main.importances_mean, kind="stable")[::-1]
        if max_features is not None:
            if max_features < 1:
                raise ValueError(f"max_features must be at least 1, got {max_features}")
            order = order[:max_features]
        n_show = len(order)
        (ax,) = axes_array(
            ax, 1, figsize=(7.0, 1.2 + 0.32 * n_show * (1 + len(others)))
        )
        series = [(f"{getattr(main, 'method', 'ablation')} (main)", main)]
        series += [
            (
                f"{label} (Spearman {correlations[label]:.2f})"
                if label in correlations
                else label,
                o,
            )
            for label, o in others.items()
        ]
        height = 0.8 / len(series)
        positions = np.arange(n_show)[::-1].astype(float)
        self.bars_, self.muted_ = [], []
        for k, (label, res) in enumerate(series):
            offset = 0.4 - height * (k + 0.5)
            means = np.asarray(res.importances_mean, dtype=np.float64)[order]
            whiskers, muted = _whiskers(res, order)
            bars = ax.barh(
                positions + offset,
                means,
                height=height,
                xerr=whiskers,
                color=f"C{k}",
                error_kw={"elinewidth": 1, "capsize": 2, "ecolor": "0.25"},
                label=label,
            )
            for patch, dim in zip(bars.patches, muted, strict=True):
                if dim:
                    patch.set(facecolor=_MUTED, edgecolor=f"C{k}", hatch="///")
            self.bars_.append(bars)
            self.muted_.append(muted)
        ax.set_yticks(positions, labels=[str(n) for n in _names(main)[order]])
        ax.axvline(0.0, color="0.4", lw=0.8)
        scoring = getattr(main, "scoring", "score")
        ax.set_xlabel(f"decrease in held-out {scoring}")
        handles, labels = ax.get_legend_handles_labels()
        if any(m.any() for m in self.muted_):
            from matplotlib.patches import Patch

            # The level of the first series with a muted bar.
            level = next(
                getattr(r, "confidence_level", 0.95)
                for (_, r), m in zip(series, self.muted_, strict=True)
                if m.any()
            )
            handles.append(Patch(facecolor=_MUTED, edgecolor="0.4", hatch="///"))
            labels.append(f"not distinguishable from 0 ({100 * level:g}% interval)")
        ax.legend(handles, labels, fontsize="small", loc="lower right")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_results(cls, result, *, others=None, ax=None, max_features=None):
        """Plot importances already computed.

        Parameters
        ----------
        result : Bunch
            From :func:`~skdrop.inspection.ablation_importance`.
        others : dict of str to Bunch, default=None
            Importances of the same features to draw beside it, such as
            another method of :func:`~skdrop.inspection.ablation_importance`
            or :func:`sklearn.inspection.permutation_importance`.
        ax : matplotlib Axes, default=None
            Where to draw; None makes a new figure.
        max_features : int, default=None
            Show only this many of the most important features.

        Returns
        -------
        display : AblationImportanceDisplay
        """
        others = _check_others(result, others)
        correlations = {
            label: rank_correlation(result, other) for label, other in others.items()
        }
        display = cls(result=result, others=others, rank_correlations=correlations)
        return display.plot(ax=ax, max_features=max_features)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        method="refit",
        compare=(),
        feature_groups=None,
        cv=5,
        scoring=None,
        n_jobs=None,
        random_state=None,
        n_repeats=1,
        confidence_level=0.95,
        verbose=False,
        ax=None,
        max_features=None,
    ):
        """Compute ablation importance (and others to compare) and plot it.

        Parameters
        ----------
        estimator, X, y, feature_groups, cv, scoring, n_jobs, random_state, \
n_repeats, confidence_level, verbose
            As in :func:`~skdrop.inspection.ablation_importance`.
        method : {"refit", "mask", "permutation"}, default="refit"
            The main result's method.
        compare : sequence of {"refit", "mask", "permutation"}, default=()
            Other methods to compute on the same splits, with the same seeds,
            and draw beside it.  A ``random_state`` that is not an int (None
            included) gives one seed to all the methods, so an integer ``cv``
            is shuffled.
        ax : matplotlib Axes, default=None
            Where to draw; None makes a new figure.
        max_features : int, default=None
            Show only this many of the most important features.

        Returns
        -------
        display : AblationImportanceDisplay
        """
        compare = [compare] if isinstance(compare, str) else list(compare)
        for other in compare:
            if other not in _METHODS or other == method:
                allowed = [m for m in _METHODS if m != method]
                raise ValueError(
                    f"compare must list methods among {allowed}, got {other!r}"
                )

        if compare and not isinstance(random_state, Integral):
            # One seed for every method: the same splits and fit seeds.
            random_state = seed_from_random_state(random_state) % 2**32

        def compute(m):
            return ablation_importance(
                estimator,
                X,
                y,
                feature_groups=feature_groups,
                cv=cv,
                scoring=scoring,
                n_jobs=n_jobs,
                random_state=random_state,
                method=m,
                n_repeats=n_repeats,
                confidence_level=confidence_level,
                verbose=verbose,
            )

        result = compute(method)
        others = {m: compute(m) for m in compare}
        return cls.from_results(result, others=others, ax=ax, max_features=max_features)


def _whiskers(result, order):
    """Whisker lengths (2, n) below and above each mean, and which bars to
    mute: the interval where the result has one, else one standard deviation
    and nothing muted."""
    means = np.asarray(result.importances_mean, dtype=np.float64)[order]
    interval = getattr(result, "importances_ci", None)
    if interval is None:
        std = np.asarray(result.importances_std, dtype=np.float64)[order]
        return np.vstack([std, std]), np.zeros(len(order), dtype=bool)
    interval = np.asarray(interval, dtype=np.float64)[order]
    # No interval (a single split): no whisker, and nothing to call distinct.
    whiskers = np.nan_to_num(np.abs(interval - means[:, None]).T, nan=0.0)
    distinct = getattr(result, "distinguishable", None)
    if distinct is None:
        distinct = (interval[:, 0] > 0) | (interval[:, 1] < 0)
    else:
        distinct = np.asarray(distinct, dtype=bool)[order]
    return whiskers, ~distinct


def _names(result) -> np.ndarray:
    names = getattr(result, "feature_names", None)
    if names is None:
        return np.array([f"x{j}" for j in range(len(result.importances_mean))])
    return np.asarray(names, dtype=object)


def _check_others(main, others) -> dict:
    if others is None:
        return {}
    if not isinstance(others, dict):
        raise TypeError(
            "others must be a dict from a label to an importance result, got "
            f"{type(others).__name__}"
        )
    n = len(main.importances_mean)
    main_names = [str(v) for v in _names(main)]
    for label, other in others.items():
        if not hasattr(other, "importances_mean") or not hasattr(
            other, "importances_std"
        ):
            raise TypeError(
                f"others[{label!r}] needs importances_mean and importances_std, as "
                "ablation_importance and permutation_importance return"
            )
        if len(other.importances_mean) != n:
            raise ValueError(
                f"others[{label!r}] has {len(other.importances_mean)} importances "
                f"but the main result has {n}: they must rate the same features "
                "(with feature groups, compare ablation methods rather than "
                "permutation_importance, which permutes single columns)"
            )
        names = getattr(other, "feature_names", None)
        if names is not None and [str(v) for v in names] != main_names:
            raise ValueError(
                f"others[{label!r}] rates the features {list(names)} but the main "
                f"result rates {main_names}"
            )
    return dict(others)
