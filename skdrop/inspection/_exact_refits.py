"""Drop-column refits that an estimator computes exactly without refitting.

An estimator offers them through a ``drop_column_refits(X, y, column_groups)``
method that returns one fitted model per group of columns left out, each the
model ``fit`` would give without those columns, or ``None`` when it has no
exact shortcut (:meth:`skdrop.DropoutLinearRegression.drop_column_refits`);
an empty group leaves no column out, so that the fit on every column comes
from the same pass over the training data.
:func:`~skdrop.inspection.ablation_importance` asks for them through that
method only, so any estimator can offer them.  It scores the refits on the
held-out data that the scorer checked once for the fit on every column,
without repeating those checks.

In a :class:`~sklearn.pipeline.Pipeline` the method belongs to the last step,
which sees transformed columns.  Refitting the pipeline without a column of
``X`` refits the transformers too, so the shortcut is exact only when that
refit transforms the other columns exactly as before and the column left out
maps to one known column of the last step's input.  That holds for the
column-wise, one-to-one transformers in ``COLUMN_WISE`` (each column is
scaled with statistics of that column alone) and for ``"passthrough"``; any
other step, or a last step with ``feature_groups`` (which name transformed
columns and are not adjusted to a column left out), means a plain refit.
"""

from __future__ import annotations

import numpy as np
from sklearn import config_context
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    MaxAbsScaler,
    MinMaxScaler,
    RobustScaler,
    StandardScaler,
)
from sklearn.utils import _safe_indexing

#: Transformers whose output column ``j`` depends on input column ``j`` alone,
#: both in ``fit`` and in ``transform``: leaving column ``j`` out of a refit
#: leaves every other output column as it was.  Exact types: a subclass may
#: transform differently.
COLUMN_WISE = (StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler)


def exact_refits_offered(estimator) -> bool:
    """Whether ``estimator`` (or the last step of a Pipeline of column-wise
    transformers) has a ``drop_column_refits`` method that can be exact."""
    final = estimator
    if isinstance(estimator, Pipeline):
        final = estimator.steps[-1][1]
        for _, step in estimator.steps[:-1]:
            if not (step is None or step == "passthrough" or type(step) in COLUMN_WISE):
                return False
        params = final.get_params(deep=False) if hasattr(final, "get_params") else {}
        if params.get("feature_groups") is not None:
            return False
    return callable(getattr(final, "drop_column_refits", None))


def exact_refit_scores(estimator, model, X, y, train, test, units, scorer):
    """Held-out scores of the estimator fitted on ``train`` and of the refits
    without each unit, or None when the estimator declines.

    ``model`` is that fit when there is one already; None asks
    ``drop_column_refits`` for it too (an empty group), from the same
    statistics of the training part.  A unit with every column is scored by
    the caller (the best constant); here its score is NaN.
    """
    X_test, y_test = _safe_indexing(X, test), _safe_indexing(y, test)
    n_features = X.shape[1]
    partial = [u for u in units if len(u) < n_features]
    fitted = _refits(estimator, model, X, y, train, partial)
    if fitted is None:
        return None
    model, head, refits = fitted
    # The baseline scoring validates the held-out data; the refits see the
    # same values, transformed alike, without some columns.
    baseline = scorer(model, X_test, y_test)
    if head is not None:
        X_test = head.transform(X_test)
    scores = np.full(len(units), np.nan)
    refitted = [k for k, u in enumerate(units) if len(u) < n_features]
    scores[refitted] = _validated_scores(refits, partial, X_test, y_test, scorer)
    return baseline, scores


def _refits(estimator, model, X, y, train, units):
    """The fit on ``train`` (``model`` or a new one), its fitted transformers
    (None outside a Pipeline), and the refits without each unit; or None."""
    X_train, y_train = _safe_indexing(X, train), _safe_indexing(y, train)
    final, head = estimator, None
    if isinstance(estimator, Pipeline):
        final = estimator.steps[-1][1]
    if isinstance(estimator, Pipeline) and len(estimator.steps) > 1:
        if model is None:
            head = clone(estimator)[:-1]
            X_train = head.fit_transform(X_train, y_train)
        else:
            head = model[:-1]
            X_train = head.transform(X_train)
        if X_train.shape[1] != X.shape[1]:  # not one output column per input
            return None
    asked = units if model is not None else [np.empty(0, dtype=np.intp), *units]
    refits = clone(final).drop_column_refits(X_train, y_train, asked)
    if refits is None:
        return None
    if model is None:
        model = refits.pop(0)  # no column left out: the fit on every column
        if head is not None:
            steps = [*head.steps, (estimator.steps[-1][0], model)]
            model = clone(estimator).set_params(steps=steps)
    return model, head, refits


def _validated_scores(refits, units, X_test, y_test, scorer):
    """The scores of ``refits`` on ``X_test`` without each unit's columns.

    ``X_test`` and ``y_test`` have passed a scorer's checks once: the
    refits skip the finiteness scans and parameter checks of the same data.
    A score that is not finite is taken again with every check, so that it
    fails, if it does, as a refit's would.
    """
    if isinstance(X_test, np.ndarray):
        X_test = np.asfortranarray(X_test)  # columns copy out as blocks
    n_features = X_test.shape[1]
    held_out = []
    for unit in units:
        keep = np.ones(n_features, dtype=bool)
        keep[unit] = False
        held_out.append(np.flatnonzero(keep))
    scores = np.empty(len(units))
    with config_context(assume_finite=True, skip_parameter_validation=True):
        for k, (refit, keep) in enumerate(zip(refits, held_out, strict=True)):
            scores[k] = scorer(refit, _columns(X_test, keep), y_test)
    for k in np.flatnonzero(~np.isfinite(scores)):
        scores[k] = scorer(refits[k], _columns(X_test, held_out[k]), y_test)
    return scores


def _columns(X, keep):
    """The columns ``keep`` (increasing) of ``X``; of a Fortran-ordered array,
    copied run by run of consecutive columns."""
    if not (isinstance(X, np.ndarray) and X.flags.f_contiguous):
        return _safe_indexing(X, keep, axis=1)
    out = np.empty((X.shape[0], len(keep)), dtype=X.dtype, order="F")
    at = 0
    for run in np.split(keep, np.flatnonzero(np.diff(keep) != 1) + 1):
        out[:, at : at + len(run)] = X[:, run[0] : run[-1] + 1]
        at += len(run)
    return out
