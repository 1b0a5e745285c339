"""Dropout logistic regression with the rate chosen by cross-validation."""

from __future__ import annotations

import inspect
import time
import warnings
from contextlib import contextmanager
from typing import ClassVar

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv

from ..exceptions import FitInterrupted
from ..utils import (
    atomic_fit,
    check_device_name,
    check_dropout_grid,
    cv_results,
    progress_bar,
)
from ._base import LinearDropoutBase, check_split_weights
from ._logistic import (
    DropoutLogisticRegression,
    _check_sparse_for_sgd,
    _LogisticClassification,
    _ScaledDesign,
    _targets,
)

# Evenly spaced in log lam, lam = p / (1 - p) from 1e-3 to 30 (the penalty
# strength), like LogisticRegressionCV's grid of C.
_DEFAULT_DROPOUTS = (
    0.001,
    0.0026,
    0.0065,
    0.016,
    0.04,
    0.097,
    0.22,
    0.42,
    0.65,
    0.82,
    0.92,
    0.97,
)


class DropoutLogisticRegressionCV(
    ClassifierMixin, _LogisticClassification, LinearDropoutBase
):
    """Dropout logistic regression with the rate chosen by cross-validation.

    Every fold fits the whole grid of rates on one prepared design, each fit
    starting from the previous rate's solution (largest rate first), then
    the chosen rate is refitted on all rows.  The scores equal those of
    ``GridSearchCV(DropoutLogisticRegression(), {"dropout": dropouts})``
    with the same folds, up to the solver tolerance, with two exceptions:
    categorical columns are encoded once on all rows (with
    ``max_categories``, which levels are pooled can then differ from a
    search that encodes each training fold), and a fit that fails stops the
    search (GridSearchCV records NaN).  Read more in the
    :ref:`user guide <logistic_dropout_cv>`.

    Parameters
    ----------
    dropouts : array-like of float, default=(0.001, 0.0026, ..., 0.92, 0.97)
        Dropout rates to try, each in [0, 1).  The default has 12 rates
        evenly spaced in ``log(p / (1 - p))`` (the penalty strength) from
        1e-3 to 30.  Rate 0 is left out: without a penalty, separable folds
        have no finite solution.
    objective : {"gaussian", "quadratic", "sgd"}, default="gaussian"
        As in :class:`DropoutLogisticRegression`.
    cv : int, cross-validation generator or iterable, default=None
        As in :class:`~sklearn.model_selection.GridSearchCV`: ``None`` is
        5-fold stratified.
    scoring : str or callable, default=None
        Scorer to maximize; ``None`` is ``"neg_log_loss"``.  Log loss rather
        than accuracy: the rate sets how confident the probabilities are,
        which accuracy barely sees, and accuracy's steps make ties across
        neighbouring rates common on small tables.
    feature_groups, categorical_features, max_categories, fit_intercept, \
class_weight, max_iter, tol, batch_size, learning_rate_init, random_state, \
device, verbose
        As in :class:`DropoutLogisticRegression`.

    Attributes
    ----------
    dropout_ : float
        The chosen rate.
    best_score_ : float
        Its mean cross-validated score.
    cv_results_ : dict of ndarray
        As :class:`~sklearn.model_selection.GridSearchCV` stores it: keys
        ``params``, ``param_dropout``, ``split{k}_test_score``,
        ``mean_test_score``, ``std_test_score``, ``rank_test_score`` and the
        fit and score times.
    classes_, coef_, intercept_, n_iter_, loss_curve_, n_features_in_, \
feature_names_in_, categories_, feature_groups_
        Of the model refitted on all rows at ``dropout_``, as in
        :class:`DropoutLogisticRegression`.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdrop import DropoutLogisticRegressionCV
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> search = DropoutLogisticRegressionCV(dropouts=[0.05, 0.2, 0.5, 0.8])
    >>> model = make_pipeline(StandardScaler(), search).fit(X, y)
    >>> float(model[-1].dropout_)
    0.2
    """

    _parameter_constraints: ClassVar[dict] = {
        **{
            k: v
            for k, v in DropoutLogisticRegression._parameter_constraints.items()
            if k != "dropout"
        },
        "dropouts": ["array-like"],
        "cv": ["cv_object"],
        "scoring": [str, callable, None],
    }

    def __init__(
        self,
        dropouts=_DEFAULT_DROPOUTS,
        *,
        objective="gaussian",
        cv=None,
        scoring=None,
        feature_groups=None,
        categorical_features="from_dtype",
        max_categories=None,
        fit_intercept=True,
        class_weight=None,
        max_iter=1000,
        tol=None,
        batch_size="auto",
        learning_rate_init=0.5,
        random_state=None,
        device="cpu",
        verbose=False,
    ):
        self.dropouts = dropouts
        self.objective = objective
        self.cv = cv
        self.scoring = scoring
        self.feature_groups = feature_groups
        self.categorical_features = categorical_features
        self.max_categories = max_categories
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def _single(self, dropout, groups):
        """The plain estimator on the encoded input, at one rate."""
        params = {
            k: getattr(self, k)
            for k in DropoutLogisticRegression._parameter_constraints
            if k != "dropout"
        }
        params.update(
            dropout=float(dropout),
            feature_groups=[g.tolist() for g in groups if len(g) > 1] or None,
            categorical_features=None,
            max_categories=None,
            class_weight=None,  # already in the row weights
            verbose=False,
        )
        return DropoutLogisticRegression(**params)

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Score every rate by cross-validation and refit the best on all rows.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the fits, and of the test scores when
            the scorer takes ``sample_weight`` (as
            :class:`~sklearn.model_selection.GridSearchCV` does in
            scikit-learn >= 1.7; a ``UserWarning`` otherwise).

        Returns
        -------
        self : DropoutLogisticRegressionCV
            The fitted estimator.
        """
        rates = check_dropout_grid(self.dropouts)
        _check_sparse_for_sgd(self.objective, X)
        check_device_name(self.device)
        given_weight = sample_weight is not None
        X, y, sample_weight, groups = self._validate_fit_data(X, y, sample_weight)
        cv = check_cv(self.cv, y, classifier=True)
        splits = list(cv.split(X, y))
        if given_weight:
            check_split_weights(sample_weight, splits, self.cv)
        scorer = check_scoring(
            self._single(rates[0], groups),
            scoring="neg_log_loss" if self.scoring is None else self.scoring,
        )
        weigh_scores = given_weight and _scorer_takes_weights(scorer, self)
        # Largest rate first: the most regularized solution is the easiest
        # start, and each next one is a small step from it.
        order = np.argsort(-rates, kind="stable")
        n_splits = len(splits)
        scores = np.empty((len(rates), n_splits))
        fit_times = np.empty_like(scores)
        score_times = np.empty_like(scores)
        bar = progress_bar(
            total=n_splits * len(rates),
            verbose=self.verbose,
            desc="dropout CV",
            unit="fit",
        )
        with bar, _interruption_of(self):
            for k, (train, test) in enumerate(splits):
                weights = self._row_weights(sample_weight[train], y[train])
                test_weight = (
                    {"sample_weight": sample_weight[test]} if weigh_scores else {}
                )
                fits = self._fit_path(X[train], y[train], weights, groups, rates, order)
                for r, (model, seconds) in fits.items():
                    fit_times[r, k] = seconds
                    start = time.perf_counter()
                    scores[r, k] = scorer(model, X[test], y[test], **test_weight)
                    score_times[r, k] = time.perf_counter() - start
                    bar.update(1)
        mean = scores.mean(axis=1)
        if not np.isfinite(mean).any():
            raise ValueError(f"every rate scored {mean[0]} in cross-validation")
        best = int(np.nanargmax(mean))
        params = [{"dropout": float(p)} for p in rates]
        self.cv_results_ = cv_results(params, scores, fit_times, score_times)
        self.dropout_ = float(rates[best])
        self.best_score_ = float(mean[best])
        final = self._single(rates[best], groups)
        final.classes_ = self.classes_
        sample_weight = self._row_weights(sample_weight, y)
        Y = _targets(y, self.classes_)
        with _interruption_of(self):
            if self.objective == "sgd":
                final._fit_sgd_solution(X, Y, sample_weight, groups)
            else:
                final._fit_design(_ScaledDesign.build(X, sample_weight, groups), Y)
        for name in ("coef_", "intercept_", "n_iter_", "loss_curve_"):
            setattr(self, name, getattr(final, name))
        return self

    def _fit_path(self, X, y, sample_weight, groups, rates, order):
        """Fitted copies of the plain estimator at every rate on one fold,
        each started from the previous one in ``order``, with their fit
        times."""
        classes = np.unique(y)
        if classes.size != self.classes_.size:
            raise ValueError(
                f"a training fold holds {classes.size} of the "
                f"{self.classes_.size} classes; use fewer folds or a "
                "stratified cv"
            )
        Y = _targets(y, classes)
        start = time.perf_counter()
        problem = (
            None
            if self.objective == "sgd"
            else _ScaledDesign.build(X, sample_weight, groups)
        )
        setup = time.perf_counter() - start
        out = {}
        previous = None
        for r in order:
            start = time.perf_counter()
            model = self._single(rates[r], groups)
            # What fit's validation would record, from the fold's own rows.
            model.n_features_in_ = X.shape[1]
            model.classes_ = classes
            model.categories_ = {}
            model.feature_groups_ = groups
            if problem is None:
                model._fit_sgd_solution(X, Y, sample_weight, groups)
            else:
                model._fit_design(problem, Y, init=previous)
                previous = (model.coef_, model.intercept_)
            out[int(r)] = (model, time.perf_counter() - start + setup / len(rates))
        return out


@contextmanager
def _interruption_of(search):
    """Turn a fold fit's or the refit's
    :class:`~skdrop.exceptions.FitInterrupted` (Ctrl-C in "sgd") into a
    ``KeyboardInterrupt`` of the search, so that its fit restores the search
    as it was (a search has no partial result)."""
    try:
        yield
    except FitInterrupted as exc:
        raise KeyboardInterrupt(
            f"{type(search).__name__}.fit was interrupted during a "
            "fold fit; the estimator is left as it was before fit"
        ) from exc


def _scorer_takes_weights(scorer, search):
    """Whether the scorer takes ``sample_weight``; a warning if not (the
    test scores then ignore the weights), as GridSearchCV does."""
    if hasattr(scorer, "_accept_sample_weight"):
        accept = scorer._accept_sample_weight()
    else:
        accept = "sample_weight" in inspect.signature(scorer).parameters
    if not accept:
        warnings.warn(
            f"The scoring {scorer} does not take sample_weight: the test "
            f"scores of {type(search).__name__} ignore the weights.",
            UserWarning,
            stacklevel=4,
        )
    return accept
