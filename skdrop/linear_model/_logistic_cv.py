"""Dropout logistic regression with the rate chosen by cross-validation."""

from __future__ import annotations

import inspect
import time
import warnings
from contextlib import contextmanager
from numbers import Integral
from typing import ClassVar

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from ..exceptions import FitInterrupted
from ..utils import (
    DEPRECATED,
    ERROR_SCORE_CONSTRAINT,
    SearchScoreMixin,
    atomic_fit,
    best_candidate,
    check_device_name,
    check_dropout_grid,
    cv_results,
    progress_bar,
    renamed_entry,
    score_or_error_score,
    scorer_knowing_classes,
    set_params_of_init,
    warn_or_raise_fit_failures,
)
from ._base import (
    GRID_CONSTRAINTS,
    RENAMED,
    LinearDropoutBase,
    check_split_weights,
)
from ._logistic import DropoutLogisticRegression, _ScaledDesign
from ._logistic_base import _check_sparse_for_sgd, _LogisticClassification, _targets

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
# The plain estimator's parameters that the search passes on to each fit.
_SHARED = [
    name
    for name in inspect.signature(DropoutLogisticRegression).parameters
    if name not in RENAMED and name not in ("input_dropout", "objective")
]


class DropoutLogisticRegressionCV(
    SearchScoreMixin, ClassifierMixin, _LogisticClassification, LinearDropoutBase
):
    """Dropout logistic regression with the rate chosen by cross-validation.

    Every fold fits the whole grid of rates on one prepared design, each fit
    starting from the previous rate's solution (largest rate first), then
    the chosen rate is refitted on all rows.  The scores equal those of
    ``GridSearchCV(DropoutLogisticRegression(), {"input_dropout":
    input_dropouts})`` with the same folds, up to the solver tolerance,
    except that categorical columns are encoded once on all rows (with
    ``max_categories``, which levels are pooled can then differ from a
    search that encodes each training fold).  Read more in the
    :ref:`user guide <logistic_dropout_cv>`.

    Parameters
    ----------
    input_dropouts : array-like of float, default=(0.001, 0.0026, ..., 0.92, 0.97)
        Dropout rates to try, each in [0, 1).  The default has 12 rates
        evenly spaced in ``log(p / (1 - p))`` (the penalty strength) from
        1e-3 to 30.  Rate 0 is left out: without a penalty, separable folds
        have no finite solution.
    solver : {"lbfgs", "sgd"}, default="lbfgs"
        As in :class:`DropoutLogisticRegression`.
    approximation : {"gaussian", "quadratic"}, default="gaussian"
        As in :class:`DropoutLogisticRegression`.
    cv : int, cross-validation generator or iterable, default=None
        As in :class:`~sklearn.model_selection.GridSearchCV`: ``None`` is
        5-fold stratified.
    scoring : str or callable, default=None
        Scorer to maximize; ``None`` is ``"neg_log_loss"``.  Log loss rather
        than accuracy: the rate sets how confident the probabilities are,
        which accuracy barely sees, and accuracy's steps make ties across
        neighbouring rates common on small tables.
    feature_groups, categorical_features, max_categories, fit_intercept
        As in :class:`DropoutLogisticRegression`.
    class_weight : dict, "balanced" or None, default=None
        As in :class:`DropoutLogisticRegression`.  ``"balanced"`` weights
        are computed once from all rows and used in every fold and the
        refit, as :class:`~sklearn.linear_model.LogisticRegressionCV` does
        (not from each training fold, as ``GridSearchCV`` would).
    max_iter, tol, batch_size, step_fraction, random_state, device, verbose
        As in :class:`DropoutLogisticRegression`.
    error_score : "raise" or float, default=np.nan
        As in :class:`~sklearn.model_selection.GridSearchCV`: the score of a
        fit that fails, with a :class:`~sklearn.exceptions.FitFailedWarning`
        (a ``ValueError`` when all fail), or ``"raise"`` to raise at once.
    n_jobs : int, default=None
        Folds fitted in parallel by joblib, as GridSearchCV's ``n_jobs``
        (``solver="sgd"``: each fold and rate).  With ``solver="lbfgs"`` a
        fold's rates stay one sequential path, each fit starting from the
        previous solution.  The results equal those of ``n_jobs=None``.
    dropouts, objective, learning_rate_init
        Deprecated since 0.3, removed in 0.4: the old names of
        ``input_dropouts``, of ``solver`` and ``approximation``, and of
        ``step_fraction``.

    Attributes
    ----------
    cv_results_ : dict of ndarray
        As :class:`~sklearn.model_selection.GridSearchCV` stores it: keys
        ``params``, ``param_input_dropout``, ``split{k}_test_score``,
        ``mean_test_score``, ``std_test_score``, ``rank_test_score`` and the
        fit and score times.
    best_params_ : dict
        ``{"input_dropout": rate}``, the chosen rate.
    best_index_ : int
        Its row in ``cv_results_``.
    best_score_ : float
        Its mean cross-validated score.
    scorer_ : callable
        The scorer used (built from ``scoring`` when read, so that a saved
        model holds no scorer).
    n_splits_ : int
        Number of splits.
    refit_time_ : float
        Seconds spent refitting on all rows at the chosen rate (NaN in a
        model loaded from a file saved before 0.3, which did not record it).
    input_dropout_ : ndarray of shape (n_features,)
        The rate of each original column in the refitted model.
    classes_, coef_, intercept_, n_iter_, loss_curve_, n_features_in_, \
feature_names_in_, categories_, feature_groups_
        Of the model refitted on all rows at the chosen rate, as in
        :class:`DropoutLogisticRegression`.
    dropout_ : float
        Deprecated since 0.3, removed in 0.4: ``best_params_["input_dropout"]``.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdrop import DropoutLogisticRegressionCV
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> search = DropoutLogisticRegressionCV(input_dropouts=[0.05, 0.2, 0.5, 0.8])
    >>> model = make_pipeline(StandardScaler(), search).fit(X, y)
    >>> model[-1].best_params_
    {'input_dropout': 0.2}
    """

    _parameter_constraints: ClassVar[dict] = {
        **{
            k: v
            for k, v in DropoutLogisticRegression._parameter_constraints.items()
            if k not in ("input_dropout", "dropout")
        },
        **GRID_CONSTRAINTS,
        "cv": ["cv_object"],
        "scoring": [str, callable, None],
        "error_score": ERROR_SCORE_CONSTRAINT,
        "n_jobs": [Integral, None],
    }

    dropout_ = renamed_entry("best_params_", "input_dropout")

    def __init__(
        self,
        input_dropouts=_DEFAULT_DROPOUTS,
        *,
        solver="lbfgs",
        approximation="gaussian",
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
        step_fraction=0.5,
        random_state=None,
        device="cpu",
        verbose=False,
        error_score=np.nan,
        n_jobs=None,
        dropouts=DEPRECATED,
        objective=DEPRECATED,
        learning_rate_init=DEPRECATED,
    ):
        set_params_of_init(self, locals())

    @property
    def scorer_(self):
        check_is_fitted(self, "cv_results_")
        scoring = "neg_log_loss" if self.scoring is None else self.scoring
        return scorer_knowing_classes(
            check_scoring(self, scoring=scoring), self.classes_
        )

    def _migrate_fitted(self, old):
        """A pre-0.3 search: its ``cv_results_`` under the new parameter
        name, and the search attributes it lacked (``refit_time_`` NaN:
        not recorded)."""
        new_key = {"param_dropout": "param_input_dropout", "dropout": "input_dropout"}
        results = {new_key.get(k, k): v for k, v in self.cv_results_.items()}
        results["params"] = [
            {new_key.get(k, k): v for k, v in params.items()}
            for params in results["params"]
        ]
        self.cv_results_ = results
        self.best_index_, self.best_score_, self.best_params_ = best_candidate(results)
        self.n_splits_ = sum(
            key.startswith("split") and key.endswith("_test_score") for key in results
        )
        self.refit_time_ = np.nan

    def _single(self, rate, groups, settings):
        """The plain estimator on the encoded input, at one rate."""
        params = {k: getattr(self, k) for k in _SHARED}
        params.update(
            input_dropout=float(rate),
            solver=settings["solver"],
            approximation=settings["approximation"],
            step_fraction=settings["step_fraction"],
            feature_groups=[g.tolist() for g in groups if len(g) > 1] or None,
            categorical_features=None,
            max_categories=None,
            class_weight=None,  # already in the row weights
            verbose=False,
        )
        return DropoutLogisticRegression(**params)

    @atomic_fit
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, groups=None):
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
        groups : array-like of shape (n_samples,), default=None
            Group labels for a group splitter given as ``cv`` (such as
            :class:`~sklearn.model_selection.GroupKFold`); ignored by
            splitters that take no groups, as in GridSearchCV.

        Returns
        -------
        self : DropoutLogisticRegressionCV
            The fitted estimator.
        """
        settings = self._settings()
        rates = check_dropout_grid(settings["input_dropouts"], "input_dropouts")
        _check_sparse_for_sgd(settings["solver"], X)
        check_device_name(self.device)
        given_weight = sample_weight is not None
        X, y, sample_weight, feature_groups = self._validate_fit_data(
            X, y, sample_weight
        )
        splits = list(check_cv(self.cv, y, classifier=True).split(X, y, groups))
        _check_fold_classes(y, splits, self.classes_, self.cv)
        if given_weight:
            check_split_weights(sample_weight, splits, self.cv)
        # Told the classes: a test fold may miss one (neg_log_loss's labels).
        scorer = scorer_knowing_classes(
            check_scoring(
                self._single(rates[0], feature_groups, settings),
                scoring="neg_log_loss" if self.scoring is None else self.scoring,
            ),
            self.classes_,
        )
        weigh_scores = given_weight and _scorer_takes_weights(scorer, self)
        # The class weights from all rows, as LogisticRegressionCV (and the
        # MLP CV) compute them: "balanced" is the same in every fold.
        fit_weight = self._row_weights(sample_weight, y)
        data = (X, y, sample_weight, fit_weight, feature_groups, scorer, weigh_scores)
        # Largest rate first: the most regularized solution is the easiest
        # start, and each next one is a small step from it.
        order = [int(r) for r in np.argsort(-rates, kind="stable")]
        paths = [order] if settings["solver"] == "lbfgs" else [[r] for r in order]
        tasks = [(k, path) for k in range(len(splits)) for path in paths]
        bar = progress_bar(
            total=len(splits) * len(rates),
            verbose=self.verbose,
            desc="dropout CV",
            unit="fit",
        )
        shape = (len(rates), len(splits))
        scores, fit_times, score_times = (np.empty(shape) for _ in range(3))
        errors: list[str | None] = [None] * scores.size
        with bar, _interruption_of(self):
            jobs = Parallel(n_jobs=self.n_jobs, return_as="generator")(
                delayed(_fold_path)(self, data, splits[k], rates, path, settings)
                for k, path in tasks
            )
            for (k, _), results in zip(tasks, jobs, strict=True):
                for r, (score, fit_time, score_time, error) in results.items():
                    scores[r, k], fit_times[r, k] = score, fit_time
                    score_times[r, k] = score_time
                    errors[r * len(splits) + k] = error
                    bar.update(1)
        warn_or_raise_fit_failures(errors, self.error_score)
        self._set_results(rates, scores, fit_times, score_times)
        self._refit(X, y, fit_weight, feature_groups, settings)
        return self

    def _set_results(self, rates, scores, fit_times, score_times):
        """``cv_results_`` and the choice, or a ``ValueError`` when no rate
        has a finite mean score."""
        params = [{"input_dropout": float(p)} for p in rates]
        self.cv_results_ = cv_results(params, scores, fit_times, score_times)
        mean = self.cv_results_["mean_test_score"]
        if not np.isfinite(mean).any():
            raise ValueError(
                f"every rate scored {mean[0]} in cross-validation with "
                f"cv={self.cv!r} and scoring={self.scoring!r}; no rate can be "
                "chosen"
            )
        self.best_index_, self.best_score_, self.best_params_ = best_candidate(
            self.cv_results_
        )
        self.n_splits_ = scores.shape[1]

    def _refit(self, X, y, fit_weight, groups, settings):
        """The chosen rate refitted on all rows (``fit_weight``: the row
        weights with the class weights); its solution copied here."""
        start = time.perf_counter()
        rate = self.best_params_["input_dropout"]
        final = self._single(rate, groups, settings)
        final.classes_ = self.classes_
        Y = _targets(y, self.classes_)
        with _interruption_of(self):
            own = final._settings()
            if settings["solver"] == "sgd":
                final._fit_sgd_solution(X, Y, fit_weight, groups, own)
            else:
                problem = _ScaledDesign.build(X, fit_weight, groups)
                final._fit_design(problem, Y, own)
        for name in ("coef_", "intercept_", "n_iter_", "loss_curve_"):
            setattr(self, name, getattr(final, name))
        self._set_input_dropout(rate)
        self.refit_time_ = time.perf_counter() - start


def _fold_path(search, data, split, rates, path, settings):
    """Fit the rates ``path`` (indices into ``rates``) on one split, each
    started from the previous solution, and score them: ``{r: (score,
    fit_time, score_time, error)}``: a failed fit scores ``error_score``
    and gives its error's text (None for a fit that succeeded), or raises
    with ``error_score="raise"``."""
    X, y, sample_weight, fit_weight, groups, scorer, weigh_scores = data
    train, test = split
    weights = fit_weight[train]
    test_weight = {"sample_weight": sample_weight[test]} if weigh_scores else {}
    Y = _targets(y[train], search.classes_)
    start = time.perf_counter()
    problem = (
        None
        if settings["solver"] == "sgd"
        else _ScaledDesign.build(X[train], weights, groups)
    )
    setup = (time.perf_counter() - start) / len(path)
    out = {}
    previous = None
    for r in path:
        start = time.perf_counter()
        model = search._single(rates[r], groups, settings)
        # What fit's validation would record, from the fold's own rows.
        model.n_features_in_ = X.shape[1]
        model.classes_ = search.classes_
        model.categories_ = {}
        model.feature_groups_ = groups
        own = model._settings()
        try:
            if problem is None:
                model._fit_sgd_solution(X[train], Y, weights, groups, own)
            else:
                model._fit_design(problem, Y, own, init=previous)
                previous = (model.coef_, model.intercept_)
        except (FitInterrupted, KeyboardInterrupt):
            raise
        except Exception as exc:
            if search.error_score == "raise":
                raise
            error = f"{type(exc).__name__}: {exc}"
            out[r] = (search.error_score, time.perf_counter() - start, 0.0, error)
            previous = None
            continue
        fit_time = time.perf_counter() - start + setup
        start = time.perf_counter()
        score = score_or_error_score(
            scorer, model, X[test], y[test], search.error_score, **test_weight
        )
        out[r] = (score, fit_time, time.perf_counter() - start, None)
    return out


def _check_fold_classes(y, splits, classes, cv):
    """A ``ValueError`` naming a class that a training part lacks, with
    advice that fits: a class of one row cannot be split at all; a larger
    one needs a stratified cv."""
    for k, (train, _) in enumerate(splits):
        missing = np.setdiff1d(classes, y[train])
        if not missing.size:
            continue
        label = missing.tolist()[0]
        n_rows = int(np.sum(y == label))
        why = (
            f"class {label!r} has {n_rows} row{'' if n_rows == 1 else 's'} in y, "
            f"too few for the {len(splits)} splits of cv={cv!r}: the training "
            f"part of split {k} holds none of it, and each training part needs "
            "every class."
        )
        if n_rows == 1:
            raise ValueError(
                f"{why} One row cannot be in both a training and a test "
                "part, with any number of folds: remove that class's row or "
                "merge it into another class."
            )
        raise ValueError(
            f"{why} Use a stratified cv (such as StratifiedKFold), which "
            "keeps rows of every class of at least 2 rows in each training "
            "part."
        )


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
