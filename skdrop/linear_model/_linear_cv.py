"""Dropout linear regression with the rate chosen by cross-validation."""

from __future__ import annotations

import contextlib
import time
from numbers import Integral
from typing import ClassVar

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import check_scoring
from sklearn.model_selection import GridSearchCV, check_cv
from sklearn.utils.validation import check_is_fitted

from ..utils import (
    DEPRECATED,
    ERROR_SCORE_CONSTRAINT,
    SearchScoreMixin,
    atomic_fit,
    best_candidate,
    check_dropout_grid,
    cv_results,
    renamed_entry,
    set_params_of_init,
)
from ._base import (
    GRID_CONSTRAINTS,
    INPUT_CONSTRAINTS,
    LinearDropoutBase,
    as_columns,
    check_split_weights,
    loo_scores,
)
from ._closed_form import build_system, dropout_lambda, loo_residuals, solve_system
from ._linear import DropoutLinearRegression, _LinearRegression

_DEFAULT_DROPOUTS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


class DropoutLinearRegressionCV(
    SearchScoreMixin, RegressorMixin, _LinearRegression, LinearDropoutBase
):
    """Dropout linear regression with the dropout rate chosen by cross-validation.

    With ``cv=None`` (the default) every rate is scored by exact, efficient
    leave-one-out: one eigendecomposition serves the whole grid, so trying
    30 rates costs about two fits.  With ``cv`` given, the result is the same
    as ``GridSearchCV(DropoutLinearRegression(), {"input_dropout":
    input_dropouts})``.  Either way the search is read as GridSearchCV's:
    ``cv_results_``, ``best_params_``, ``best_score_``.  Read more in the
    :ref:`user guide <linear_dropout_cv>`.

    Parameters
    ----------
    input_dropouts : array-like of float, default=(0, 0.05, 0.1, 0.2, ..., 0.9, 0.95)
        Dropout rates to try, each in [0, 1).
    fit_intercept, feature_groups, categorical_features, max_categories
        As in :class:`DropoutLinearRegression`.
    cv : int, cross-validation generator or iterable, default=None
        ``None`` uses efficient leave-one-out (it needs at least two samples
        of positive weight).  Otherwise any ``cv`` accepted by
        :class:`~sklearn.model_selection.GridSearchCV`.
    scoring : str or callable, default=None
        Scorer to maximize.  ``None`` means the negative mean squared error
        for leave-one-out and R^2 (the estimator's ``score``) with ``cv``.
    store_cv_results : bool, default=False
        With ``cv=None``, keep the per-sample leave-one-out values in
        ``loo_values_``.
    error_score : "raise" or float, default=np.nan
        As in :class:`~sklearn.model_selection.GridSearchCV`: the score of a
        fit that fails (with a :class:`~sklearn.exceptions.FitFailedWarning`),
        or ``"raise"``.  Leave-one-out solves all rates at once: an error
        there is raised whatever ``error_score`` is.
    n_jobs : int, default=None
        Parallel fits of the search with ``cv`` given, as
        :class:`~sklearn.model_selection.GridSearchCV`'s ``n_jobs``;
        leave-one-out runs in one process.
    dropouts : array-like of float
        Deprecated since 0.3, removed in 0.4: the old name of
        ``input_dropouts``.

    Attributes
    ----------
    cv_results_ : dict of ndarray
        In :class:`~sklearn.model_selection.GridSearchCV`'s layout (load it
        with ``pandas.DataFrame``): ``param_input_dropout``, ``params``,
        ``mean_test_score``, ``std_test_score``, ``rank_test_score`` and the
        fit and score times.  With ``cv`` given it is the search's, with
        ``split<k>_test_score`` for each split.  Leave-one-out has no split
        columns (one per row, most of them undefined for a scorer such as
        R^2): ``mean_test_score`` is the score of all leave-one-out
        predictions together, ``std_test_score`` the standard deviation of
        the rows' negative squared errors (NaN with ``scoring``), and the
        times are the shared solve's, split evenly over the rates.
    best_params_ : dict
        ``{"input_dropout": rate}``, the chosen rate.
    best_index_ : int
        Its row in ``cv_results_``.
    best_score_ : float
        Its mean cross-validated score.
    scorer_ : callable
        The scorer used: ``scoring``, or without it the negative mean
        squared error for leave-one-out and R^2 with ``cv`` (built when
        read, so that a saved model holds no scorer).
    n_splits_ : int
        Number of splits (the number of rows for leave-one-out).
    refit_time_ : float
        Seconds spent refitting on all rows at the chosen rate.

        A model loaded from a file saved before 0.3 has ``cv_results_``
        built from its mean scores (no split columns; times and
        ``std_test_score`` NaN), ``refit_time_`` NaN and, after
        leave-one-out without ``store_cv_results``, no ``n_splits_`` (the
        file does not record the number of rows).
    loo_values_ : ndarray of shape (n_samples, n_dropouts) or \
(n_samples, n_targets, n_dropouts)
        With ``cv=None`` and ``store_cv_results=True``: squared leave-one-out
        errors when ``scoring`` is None, else leave-one-out predictions.
    input_dropout_ : ndarray of shape (n_features,)
        The rate of each original column in the refitted model.
    coef_, intercept_, penalty_, n_features_in_, feature_names_in_, \
categories_, feature_groups_
        Of the model refitted on all rows at the chosen rate, as in
        :class:`DropoutLinearRegression`.
    dropout_ : float
        Deprecated since 0.3, removed in 0.4: ``best_params_["input_dropout"]``.
    scores_ : ndarray of shape (n_dropouts,)
        Deprecated since 0.3, removed in 0.4:
        ``cv_results_["mean_test_score"]``.

    Notes
    -----
    The leave-one-out errors hold the penalty matrix ``B`` at its value on all
    rows: each left-out fit solves ``min sum_{j != i} s_j (y_j - b - x_j w)^2
    + lam w' B w``.  Refitting :class:`DropoutLinearRegression` on ``n - 1``
    rows would recompute ``B`` without row ``i``, a relative change of order
    ``1 / n`` in the penalty.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from skdrop import DropoutLinearRegressionCV
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = DropoutLinearRegressionCV(input_dropouts=[0.0, 0.1, 0.2, 0.5])
    >>> model.fit(X, y).best_params_
    {'input_dropout': 0.0}
    """

    _parameter_constraints: ClassVar[dict] = {
        **GRID_CONSTRAINTS,
        **INPUT_CONSTRAINTS,
        "cv": ["cv_object"],  # which includes None
        "scoring": [str, callable, None],
        "store_cv_results": ["boolean"],
        "error_score": ERROR_SCORE_CONSTRAINT,
        "n_jobs": [Integral, None],
    }

    dropout_ = renamed_entry("best_params_", "input_dropout")
    scores_ = renamed_entry("cv_results_", "mean_test_score")

    def __init__(
        self,
        input_dropouts=_DEFAULT_DROPOUTS,
        *,
        fit_intercept=True,
        feature_groups=None,
        categorical_features="from_dtype",
        max_categories=None,
        cv=None,
        scoring=None,
        store_cv_results=False,
        error_score=np.nan,
        n_jobs=None,
        dropouts=DEPRECATED,
    ):
        set_params_of_init(self, locals())

    @property
    def scorer_(self):
        check_is_fitted(self, "cv_results_")
        if self.scoring is None and self.cv is None:
            return check_scoring(self, scoring="neg_mean_squared_error")
        return check_scoring(self, scoring=self.scoring)

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, groups=None):
        """Choose the dropout rate and fit the model at that rate.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative sample weights.
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group splitter given as ``cv`` (such as
            :class:`~sklearn.model_selection.GroupKFold`); ignored by
            leave-one-out and by splitters that take no groups, as in
            :class:`~sklearn.model_selection.GridSearchCV`.

        Returns
        -------
        self : DropoutLinearRegressionCV
            The fitted estimator.
        """
        rates = check_dropout_grid(self._settings()["input_dropouts"], "input_dropouts")
        if self.cv is not None and self.store_cv_results:
            raise ValueError(
                "store_cv_results=True needs cv=None (leave-one-out); "
                f"got cv={self.cv!r}"
            )
        X, y, sample_weight, feature_groups = self._validate_fit_data(
            X, y, sample_weight
        )
        y, single = as_columns(y)
        self.__dict__.pop("loo_values_", None)
        if self.cv is not None:
            self._fit_grid_search(
                X, y, single, sample_weight, feature_groups, rates, groups
            )
        else:
            self._fit_loo(X, y, single, sample_weight, feature_groups, rates)
        self._set_input_dropout(self.best_params_["input_dropout"])
        return self

    def _migrate_fitted(self, old):
        """A pre-0.3 search: ``cv_results_`` built from its mean scores
        (``scores_``), as leave-one-out's (no split columns; times and
        ``std_test_score`` NaN: not recorded), its leave-one-out values
        (the old array ``cv_results_``) as ``loo_values_``, and
        ``refit_time_`` NaN.  ``n_splits_``: the rows of ``loo_values_``,
        the splits of an int or splitter ``cv``; absent when the file
        cannot tell (leave-one-out without ``store_cv_results``)."""
        rates = check_dropout_grid(self.input_dropouts, "input_dropouts")
        scores = np.asarray(old["scores_"], dtype=np.float64)
        nan = np.full(len(rates), np.nan)
        self._set_loo_results(rates, scores, nan, (np.nan, np.nan))
        self.refit_time_ = np.nan
        values = old.get("cv_results_")
        if values is not None:
            self.loo_values_ = values
            self.n_splits_ = len(values)
        elif self.cv is not None:
            with contextlib.suppress(TypeError, ValueError, AttributeError):
                self.n_splits_ = check_cv(self.cv).get_n_splits()

    def _fit_loo(self, X, y, single, sample_weight, groups, rates):
        n_weighted = X.shape[0] if sample_weight is None else np.sum(sample_weight > 0)
        if n_weighted < 2:
            # Leaving out the only row leaves nothing to fit: every rate
            # would score the same and the choice would be arbitrary.
            raise ValueError(
                "cv=None (leave-one-out) needs at least 2 samples of positive "
                f"weight, got {n_weighted} sample{'' if n_weighted == 1 else 's'}"
            )
        start = time.perf_counter()
        system, Xc, yc = build_system(X, y, sample_weight, groups, self.fit_intercept)
        lams = [dropout_lambda(p) for p in rates]
        residuals = loo_residuals(
            system, Xc, yc, sample_weight, groups, lams, self.fit_intercept
        )
        del Xc, yc
        fit_time = time.perf_counter() - start
        start = time.perf_counter()
        scores, stored = loo_scores(self, residuals, y, single, sample_weight)
        score_time = time.perf_counter() - start
        std = _loo_std(self, stored, sample_weight)
        self._set_loo_results(rates, scores, std, (fit_time, score_time))
        self.n_splits_ = X.shape[0]
        start = time.perf_counter()
        coef = solve_system(system, lams[self.best_index_])
        intercept = system.y_offset - system.x_offset @ coef
        self._set_solution(coef, intercept, system.penalty, single)
        self.refit_time_ = time.perf_counter() - start
        if self.store_cv_results:
            self.loo_values_ = stored[:, 0, :] if single else stored

    def _set_loo_results(self, rates, scores, std, times):
        """``cv_results_`` and the choice from each rate's leave-one-out
        score (``times``: the shared solve's and scoring's seconds, split
        evenly over the rates), or a ``ValueError`` when no rate has a
        finite score."""
        if not np.isfinite(scores).any():
            raise ValueError(
                f"every rate scored {scores[0]} in leave-one-out (cv=None) with "
                f"scoring={self.scoring!r}, on all the rows' leave-one-out "
                "predictions together; no rate can be chosen. Check the "
                "scorer, or pass another scoring"
            )
        params = [{"input_dropout": float(p)} for p in rates]
        fit_times, score_times = (
            np.full((len(rates), 1), t / len(rates)) for t in times
        )
        results = cv_results(params, scores[:, None], fit_times, score_times)
        del results["split0_test_score"]  # one column per row would be n columns
        results["std_test_score"] = std
        self.cv_results_ = results
        self.best_index_, self.best_score_, self.best_params_ = best_candidate(results)

    def _fit_grid_search(
        self, X, y, single, sample_weight, feature_groups, rates, groups
    ):
        # Groups are passed as resolved indices: the search sees numpy arrays.
        inner = DropoutLinearRegression(
            fit_intercept=self.fit_intercept,
            feature_groups=[g.tolist() for g in feature_groups if len(g) > 1] or None,
            categorical_features=None,
        )
        target = y[:, 0] if single else y
        # Resolved once (a generator of splits can be read only once): the
        # weights and the test folds are checked on the splits of the search.
        cv = check_cv(self.cv)
        splits = list(cv.split(X, target, groups))
        if sample_weight is not None:
            check_split_weights(sample_weight, splits, self.cv)
        search = GridSearchCV(
            inner,
            {"input_dropout": [float(p) for p in rates]},
            cv=splits,
            scoring=self.scoring,
            error_score=self.error_score,
            n_jobs=self.n_jobs,
        )
        params = {} if sample_weight is None else {"sample_weight": sample_weight}
        search.fit(X, target, **params)
        _check_finite_scores(search.cv_results_["mean_test_score"], splits, self)
        best = search.best_estimator_
        self.cv_results_ = search.cv_results_
        self.best_params_ = search.best_params_
        self.best_index_ = int(search.best_index_)
        self.best_score_ = float(search.best_score_)
        self.n_splits_ = search.n_splits_
        self.refit_time_ = search.refit_time_
        self.coef_ = best.coef_
        self.intercept_ = best.intercept_
        self.penalty_ = best.penalty_


def _loo_std(search, stored, sample_weight):
    """The weighted standard deviation over rows of each rate's negative
    squared leave-one-out error (averaged over targets); NaN with a scorer,
    which scores the rows only together."""
    n_rates = stored.shape[2]
    if search.scoring is not None:
        return np.full(n_rates, np.nan)
    per_row = -stored.mean(axis=1)  # (n_samples, n_rates)
    weights = np.ones(len(per_row)) if sample_weight is None else sample_weight
    mean = weights @ per_row / weights.sum()
    return np.sqrt(weights @ (per_row - mean) ** 2 / weights.sum())


def _check_finite_scores(mean, splits, search):
    """A ``ValueError`` when no rate has a finite mean score: GridSearchCV
    would pick the first rate without a reason."""
    if np.isfinite(mean).any():
        return
    smallest = min(len(test) for _, test in splits)
    raise ValueError(
        f"every rate scored {mean[0]} with cv={search.cv!r} and "
        f"scoring={search.scoring!r} (its smallest test fold has {smallest} "
        f"row{'' if smallest == 1 else 's'}, too few for scores such as R^2); "
        "no rate can be chosen. Use fewer, larger folds or another scoring"
    )
