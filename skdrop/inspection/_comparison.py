"""What :func:`compare_with_ridge` and :func:`compare_with_logistic` share:
the numeric table, the held-out scores of dropout and of its matched
penalty on the same splits, and the one-row-per-rate table of a result."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler
from sklearn.utils import _safe_indexing
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_array


def numeric_table(X, caller, model):
    """``X`` as float64: a DataFrame (to keep names), an array, and its
    column names."""
    names = [str(c) for c in X.columns] if hasattr(X, "columns") else None
    try:
        X_arr = check_array(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{caller} needs numeric X, as {model} does: one-hot encode "
            "categorical columns first (for instance with a ColumnTransformer) "
            "and pass their blocks as feature_groups=skdrop.one_hot_groups"
            f"(transformer). The conversion failed with: {exc}"
        ) from exc
    if names is None:
        return X_arr, X_arr, [f"x{j}" for j in range(X_arr.shape[1])]
    return pd.DataFrame(X_arr, columns=names), X_arr, names


def check_same_rows(X_arr, y):
    """A ``ValueError`` when ``X`` and ``y`` differ in their number of rows."""
    if y.shape[0] != X_arr.shape[0]:
        raise ValueError(
            f"X and y have different numbers of rows: {X_arr.shape[0]} and {y.shape[0]}"
        )


def paired_cv_scores(X, y, splits, rates, fit_pair, scorer, n_jobs):
    """Held-out scores of dropout and of its matched model, each of shape
    (n_rates, n_splits).

    ``fit_pair(p, X_train, y_train, Xs_train, scale)`` returns both fitted
    at rate ``p``: the dropout model on ``X_train``, the matched one on
    ``Xs_train``, standardized by the training part of the split (column
    standard deviations ``scale``).
    """
    per_split = Parallel(n_jobs=n_jobs)(
        delayed(_split_scores)(X, y, train, test, rates, fit_pair, scorer)
        for train, test in splits
    )
    both = np.array(per_split)  # (n_splits, 2, n_rates)
    return both[:, 0].T, both[:, 1].T


def _split_scores(X, y, train, test, rates, fit_pair, scorer):
    X_train, X_test = _safe_indexing(X, train), _safe_indexing(X, test)
    y_train, y_test = y[train], y[test]
    scaler = StandardScaler().fit(np.asarray(X_train))
    Xs_train = scaler.transform(np.asarray(X_train))
    Xs_test = scaler.transform(np.asarray(X_test))
    scores = []
    for p in rates:
        model, matched = fit_pair(p, X_train, y_train, Xs_train, scaler.scale_)
        scores.append((scorer(model, X_test, y_test), scorer(matched, Xs_test, y_test)))
    return np.array(scores).T


def rate_frame(result, matched, columns, labels):
    """One row per rate: the rate, ``lam``, ``columns``, the mean and
    standard deviation of both models' scores, then the coefficients of
    both (``coef_<label>`` and ``<matched>_coef_<label>``)."""
    frame = pd.DataFrame({"dropout": result.dropouts, "lam": result.lambdas, **columns})
    for prefix in ("dropout", matched):
        scores = result[f"{prefix}_cv_scores"]
        frame[f"{prefix}_cv_mean"] = scores.mean(axis=1)
        frame[f"{prefix}_cv_std"] = scores.std(axis=1)
    coefs = [
        pd.DataFrame(
            result[key].reshape(len(result.dropouts), -1),
            columns=[f"{key}_{label}" for label in labels],
        )
        for key in ("coef", f"{matched}_coef")
    ]
    return pd.concat([frame, *coefs], axis=1)
