"""The result of :func:`ablation_importance` and its statistics: the
corrected resampled t interval of each importance and the rank correlation
of two sets of importances."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from scipy.stats import t as student_t
from sklearn.utils import Bunch


class AblationImportance(Bunch):
    """Result of :func:`ablation_importance`: a Bunch with a table view."""

    def to_frame(self):
        """The importances as a DataFrame, one row per feature or group.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``importance_mean``, ``importance_std``, the interval
            bounds ``ci_low`` and ``ci_high``, ``distinguishable`` (the
            interval excludes 0), and one column per split (``split0``,
            ``split1``, ..., repeats one after the other), indexed by
            feature name.
        """
        frame = pd.DataFrame(
            self.importances,
            index=pd.Index(self.feature_names, name="feature"),
            columns=[f"split{s}" for s in range(self.importances.shape[1])],
        )
        frame.insert(0, "distinguishable", self.distinguishable)
        frame.insert(0, "ci_high", self.importances_ci[:, 1])
        frame.insert(0, "ci_low", self.importances_ci[:, 0])
        frame.insert(0, "importance_std", self.importances_std)
        frame.insert(0, "importance_mean", self.importances_mean)
        return frame

    def rank_correlation(self, other):
        """Spearman rank correlation of the mean importances with another's.

        Parameters
        ----------
        other : Bunch
            Importances of the same features in the same order: another
            :func:`ablation_importance` result, or what
            :func:`sklearn.inspection.permutation_importance` returns.

        Returns
        -------
        rho : float
            In [-1, 1]; NaN when either set of means is constant.
        """
        return rank_correlation(self, other)


def rank_correlation(result, other) -> float:
    """Spearman correlation of two results' ``importances_mean``."""
    ours = np.asarray(result.importances_mean, dtype=np.float64)
    theirs = np.asarray(other.importances_mean, dtype=np.float64)
    if theirs.shape != ours.shape:
        raise ValueError(
            f"other has {theirs.size} importances but this result has "
            f"{ours.size}: they must rate the same features"
        )
    return float(spearmanr(ours, theirs)[0])


def corrected_t_interval(importances, test_train_ratio, confidence_level=0.95):
    """Nadeau and Bengio's corrected resampled t interval of each row's mean.

    Parameters
    ----------
    importances : array-like of shape (n_units, n_splits)
        One value per unit and resampled split.
    test_train_ratio : float
        Held-out rows over training rows of a split (the mean over splits).
    confidence_level : float, default=0.95
        Coverage of the interval.

    Returns
    -------
    interval : ndarray of shape (n_units, 2)
        Lower and upper bounds, ``mean -/+ t * sqrt(var * (1 / J +
        test_train_ratio))`` with the sample variance of the ``J`` splits and
        the t quantile with ``J - 1`` degrees of freedom; NaN when ``J < 2``.
    """
    values = np.asarray(importances, dtype=np.float64)
    n_splits = values.shape[1]
    if n_splits < 2:
        return np.full((values.shape[0], 2), np.nan)
    mean = values.mean(axis=1)
    # The splits share training rows, so their values are correlated and the
    # naive variance of the mean, var / J, is too small; the ratio term is
    # Nadeau and Bengio's estimate of what the correlation adds.
    variance = values.var(axis=1, ddof=1) * (1.0 / n_splits + test_train_ratio)
    half = student_t.ppf(0.5 + confidence_level / 2, n_splits - 1) * np.sqrt(variance)
    return np.column_stack([mean - half, mean + half])
