"""What the cross-validated estimators share with
:class:`~sklearn.model_selection.GridSearchCV`: the ``cv_results_`` table and
its ranking of the candidates."""

from __future__ import annotations

import copy
import inspect
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from numbers import Real
from traceback import format_exc
from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics._scorer import _Scorer
from sklearn.utils._param_validation import StrOptions

#: ``error_score`` as :class:`~sklearn.model_selection.GridSearchCV` takes it.
ERROR_SCORE_CONSTRAINT = [StrOptions({"raise"}), Real]


def cv_results(
    params: Sequence[Mapping[str, Any]],
    test_scores: np.ndarray,
    fit_times: np.ndarray,
    score_times: np.ndarray,
) -> dict[str, Any]:
    """``cv_results_`` in :class:`~sklearn.model_selection.GridSearchCV`'s
    layout.

    Parameters
    ----------
    params : sequence of dict
        The candidates' parameters, one dict per candidate, each with the
        same names; each name gets a ``param_<name>`` column.
    test_scores, fit_times, score_times : ndarray of shape \
(n_candidates, n_splits)
        Each candidate's test score (NaN for a failed fit), fit time and
        score time on each split.

    Returns
    -------
    results : dict
        ``mean_fit_time``, ``std_fit_time``, ``mean_score_time``,
        ``std_score_time``, ``param_<name>``, ``params``,
        ``split<k>_test_score``, ``mean_test_score``, ``std_test_score`` and
        ``rank_test_score``, in this order.  A non-finite mean score gives
        GridSearchCV's ``UserWarning``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdrop.utils._search import cv_results
    >>> scores = np.array([[0.8, 0.9], [0.9, 0.8], [np.nan, 0.7]])
    >>> times = np.ones_like(scores)
    >>> results = cv_results([{"a": 1}, {"a": 2}, {"a": 3}], scores, times, times)
    >>> results["rank_test_score"].tolist()
    [1, 1, 3]
    """
    results: dict[str, Any] = {
        "mean_fit_time": fit_times.mean(axis=1),
        "std_fit_time": fit_times.std(axis=1),
        "mean_score_time": score_times.mean(axis=1),
        "std_score_time": score_times.std(axis=1),
    }
    for name in params[0] if len(params) else ():
        results[f"param_{name}"] = _param_column([p[name] for p in params])
    results["params"] = list(params)
    for k in range(test_scores.shape[1]):
        results[f"split{k}_test_score"] = test_scores[:, k]
    mean = test_scores.mean(axis=1)
    if not np.isfinite(mean).all():
        # GridSearchCV's warning, word for word.
        warnings.warn(
            f"One or more of the test scores are non-finite: {mean}",
            UserWarning,
            stacklevel=2,
        )
    results["mean_test_score"] = mean
    results["std_test_score"] = test_scores.std(axis=1)
    results["rank_test_score"] = rank_scores(mean)
    return results


def best_candidate(results: Mapping[str, Any]) -> tuple[int, float, dict[str, Any]]:
    """``best_index_``, ``best_score_`` and ``best_params_`` from a
    ``cv_results_`` table: the first candidate of rank 1, as in
    :class:`~sklearn.model_selection.GridSearchCV`.

    Examples
    --------
    >>> import numpy as np
    >>> from skdrop.utils._search import best_candidate, cv_results
    >>> scores = np.array([[0.8, 0.9], [0.9, 0.9]])
    >>> results = cv_results([{"a": 1}, {"a": 2}], scores, scores, scores)
    >>> best_candidate(results)
    (1, 0.9, {'a': 2})
    """
    index = int(np.argmin(results["rank_test_score"]))
    score = float(results["mean_test_score"][index])
    return index, score, dict(results["params"][index])


def score_or_error_score(
    scorer: Any,
    estimator: Any,
    X: Any,
    y: Any,
    error_score: float | str,
    *,
    passes: tuple[type[BaseException], ...] = (),
    **kwargs: Any,
) -> float:
    """``scorer(estimator, X, y, **kwargs)``, with GridSearchCV's rule for a
    scorer that raises: ``error_score`` and a ``UserWarning`` with the
    traceback, or the error itself with ``error_score="raise"``.

    ``passes`` are errors the caller handles itself (re-raised as they are),
    such as a network's non-finite outputs, which count as a failed fit.

    Examples
    --------
    >>> import warnings
    >>> from skdrop.utils._search import score_or_error_score
    >>> def refuse(estimator, X, y):
    ...     raise ValueError("no")
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", UserWarning)
    ...     score_or_error_score(refuse, None, [[0]], [0], -1.0)
    -1.0
    """
    try:
        return float(scorer(estimator, X, y, **kwargs))
    except passes:
        raise
    except Exception:
        if error_score == "raise":
            raise
        warnings.warn(
            "Scoring failed. The score on this train-test partition for these "
            f"parameters will be set to {error_score}. Details: \n{format_exc()}",
            UserWarning,
            stacklevel=2,
        )
        return float(error_score)


class SearchScoreMixin:
    """``score`` through ``scorer_`` when ``scoring`` is given, as in
    :class:`~sklearn.model_selection.GridSearchCV`; accuracy or R^2 with
    ``scoring=None``, as ``LogisticRegressionCV`` and ``RidgeCV`` (listed
    before scikit-learn's ``ClassifierMixin`` or ``RegressorMixin``, whose
    ``score`` it extends)."""

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """The fitted model's score on ``X``, ``y`` by ``scorer_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, passed to the scorer when given.

        Returns
        -------
        score : float
            ``scorer_(self, X, y)`` (greater is better) when ``scoring`` is
            given; with ``scoring=None``, the mean accuracy of a classifier
            or the R^2 of a regressor, whatever default the search ranked by.
        """
        if self.scoring is None:  # type: ignore[attr-defined]
            # Accuracy or R^2, as RidgeCV and LogisticRegressionCV (and a
            # passthrough scorer_, which would call back here).
            return float(super().score(X, y, sample_weight))  # type: ignore[misc]
        scorer = self.scorer_  # type: ignore[attr-defined]
        if sample_weight is None:
            return float(scorer(self, X, y))
        return float(scorer(self, X, y, sample_weight=sample_weight))


def warn_or_raise_fit_failures(
    errors: Sequence[str | None], error_score: float | str
) -> None:
    """GridSearchCV's rule for failed fits, given one entry per fit (``None``
    where it succeeded, else the error's text).

    Some failures give one :class:`~sklearn.exceptions.FitFailedWarning` that
    counts them and groups them by message; when every fit failed, a
    ``ValueError``.  With ``error_score="raise"`` the caller re-raises at the
    failure itself, so nothing reaches here.

    Examples
    --------
    >>> import warnings
    >>> from skdrop.utils._search import warn_or_raise_fit_failures
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_or_raise_fit_failures([None, "diverged"], float("nan"))
    >>> print(str(caught[0].message).splitlines()[1])
    1 fits failed out of a total of 2.
    """
    failed = [error for error in errors if error is not None]
    if not failed:
        return
    delimiter = "-" * 80 + "\n"
    summary = "\n".join(
        f"{delimiter}{n} fits failed with the following error:\n{error}"
        for error, n in Counter(failed).items()
    )
    if len(failed) == len(errors):
        raise ValueError(
            f"\nAll the {len(errors)} fits failed.\n"
            "It is very likely that your model is misconfigured.\n"
            "You can try to debug the error by setting error_score='raise'.\n\n"
            f"Below are more details about the failures:\n{summary}"
        )
    warnings.warn(
        f"\n{len(failed)} fits failed out of a total of {len(errors)}.\n"
        "The score on these train-test partitions for these parameters will be "
        f"set to {error_score}.\n"
        "If these failures are not expected, you can try to debug them by "
        "setting error_score='raise'.\n\n"
        f"Below are more details about the failures:\n{summary}",
        FitFailedWarning,
        stacklevel=3,
    )


def scorer_knowing_classes(scorer: Any, classes: Any) -> Any:
    """``scorer`` told the fitted ``classes`` when its metric scores class
    probabilities or decision values and takes ``labels``
    (:func:`~sklearn.metrics.log_loss`, ``brier_score_loss``,
    ``top_k_accuracy_score``, ...); any other scorer as it is.

    A test fold that misses a class then scores against every column the
    model predicts, rather than failing with "please provide the true labels
    explicitly through the labels argument", an argument the user of a CV
    estimator cannot reach.  Labels set on the scorer are kept.

    Parameters
    ----------
    scorer : callable
        As :func:`~sklearn.metrics.check_scoring` returns it.
    classes : array-like or None
        The fitted ``classes_``, in the order of the model's columns; None
        (a regressor, a multilabel target) returns ``scorer`` itself.

    Returns
    -------
    scorer : callable

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> from sklearn.metrics import get_scorer
    >>> from skdrop.utils._search import scorer_knowing_classes
    >>> model = DummyClassifier().fit([[0]] * 4, [0, 1, 2, 2])
    >>> scorer = scorer_knowing_classes(get_scorer("neg_log_loss"), model.classes_)
    >>> round(scorer(model, [[0], [0]], [2, 2]), 3)  # no row of class 0 or 1
    -0.693
    """
    if classes is None or not isinstance(scorer, _Scorer):
        return scorer
    methods = scorer._response_method
    methods = (methods,) if isinstance(methods, str) else tuple(methods)
    if "predict" in methods or "labels" in scorer._kwargs:
        return scorer
    if "labels" not in inspect.signature(scorer._score_func).parameters:
        return scorer
    told = copy.copy(scorer)
    told._kwargs = {**scorer._kwargs, "labels": np.asarray(classes)}
    return told


def rank_scores(mean: np.ndarray) -> np.ndarray:
    """GridSearchCV's ``rank_test_score``: 1 for the best mean score, ties
    sharing the smallest rank, NaN scores last (all 1 when every score is
    NaN)."""
    if np.isnan(mean).all():
        return np.ones_like(mean, dtype=np.int32)
    # Below every score (infinite ones kept as they are).
    filled = np.where(np.isnan(mean), np.nanmin(mean) - 1, mean)
    ranks: np.ndarray = rankdata(-filled, method="min")
    return ranks.astype(np.int32, copy=False)


def _param_column(values: list[Any]) -> np.ma.MaskedArray:
    """One ``param_<name>`` column: an object array (a tuple stays one
    entry), nothing masked."""
    column = np.ma.MaskedArray(np.empty(len(values), dtype=object), mask=False)
    for k, value in enumerate(values):
        column[k] = value
    return column
