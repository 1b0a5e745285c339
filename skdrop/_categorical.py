"""Categorical columns: one-hot blocks that input dropout treats as one unit.

The estimators accept ``categorical_features`` with the meaning it has in
:class:`~sklearn.ensemble.HistGradientBoostingClassifier`.  The columns it
names are one-hot encoded inside the estimator, and each encoded block is one
dropout group: one mask per row and categorical feature.  A category not seen
in ``fit``, or a missing value, encodes to an all-zero block, which is exactly
what a dropped group looks like, so the model has been trained for it.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.utils import check_array, check_X_y
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    validate_data,
)

from ._validation import resolve_feature_groups

# Largest number of encoded columns an estimator accepts; above it, pool rare
# levels with ``max_categories``.
MAX_ENCODED_COLUMNS = 10_000


def _is_categorical_dtype(dtype) -> bool:
    return (
        isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    )


def resolve_categorical(categorical_features, X) -> np.ndarray:
    """A boolean mask over the columns of ``X``, or a ``ValueError``."""
    is_frame = hasattr(X, "columns")
    n_features = X.shape[1] if hasattr(X, "shape") and len(X.shape) == 2 else None
    if categorical_features is None or n_features is None:
        return np.zeros(n_features or 0, dtype=bool)
    if isinstance(categorical_features, str):
        if categorical_features != "from_dtype":
            raise ValueError(
                "categorical_features must be 'from_dtype', a list of column names "
                "or indices, a boolean mask, or None, got "
                f"{categorical_features!r}"
            )
        if not is_frame:
            return np.zeros(n_features, dtype=bool)
        return np.array([_is_categorical_dtype(d) for d in X.dtypes], dtype=bool)
    values = list(categorical_features)
    mask = np.zeros(n_features, dtype=bool)
    if values and all(isinstance(v, (bool, np.bool_)) for v in values):
        if len(values) != n_features:
            raise ValueError(
                f"categorical_features as a boolean mask has {len(values)} entries "
                f"but X has {n_features} features"
            )
        return np.asarray(values, dtype=bool)
    names = [str(c) for c in X.columns] if is_frame else None
    for value in values:
        if isinstance(value, str):
            if names is None:
                raise ValueError(
                    f"categorical_features names column {value!r}, but X has no "
                    "column names; use column indices or a pandas DataFrame"
                )
            if value not in names:
                raise ValueError(
                    f"categorical_features names unknown column {value!r}; the "
                    f"columns are {names}"
                )
            mask[names.index(value)] = True
        elif isinstance(value, Integral):
            if not 0 <= int(value) < n_features:
                raise ValueError(
                    f"categorical_features has column index {value}, out of range "
                    f"for X with {n_features} features"
                )
            mask[int(value)] = True
        else:
            raise ValueError(
                "categorical_features must hold column names (str), indices (int) "
                f"or booleans, got {value!r}"
            )
    return mask


def _column(X, j):
    if hasattr(X, "iloc"):
        return X.iloc[:, j].to_numpy(dtype=object)
    return np.asarray(X)[:, j].astype(object)


def _missing(values: np.ndarray) -> np.ndarray:
    return np.asarray(pd.isna(values), dtype=bool)


class CategoricalEncoder:
    """One-hot encoding of the categorical columns, numeric ones kept in place.

    Parameters
    ----------
    categorical : ndarray of bool
        Which columns are categorical.
    max_categories : int or None
        At most this many encoded columns per feature: the most frequent
        ``max_categories - 1`` levels keep their own column and the others
        share one "infrequent" column, as in
        :class:`~sklearn.preprocessing.OneHotEncoder`.
    """

    def __init__(self, categorical: np.ndarray, max_categories: int | None) -> None:
        self.categorical = categorical
        self.max_categories = max_categories

    def fit(self, X) -> CategoricalEncoder:
        self.categories: dict[int, np.ndarray] = {}
        self.infrequent: dict[int, np.ndarray] = {}
        groups = []
        width = 0
        for j in range(len(self.categorical)):
            if not self.categorical[j]:
                groups.append(np.array([width], dtype=np.intp))
                width += 1
                continue
            values = _column(X, j)
            present = values[~_missing(values)]
            levels, counts = np.unique(present.astype(str), return_counts=True)
            kept, pooled = levels, levels[:0]
            if self.max_categories is not None and len(levels) > self.max_categories:
                order = np.argsort(-counts, kind="stable")
                kept = np.sort(levels[order[: self.max_categories - 1]])
                pooled = np.sort(levels[order[self.max_categories - 1 :]])
            self.categories[j] = kept
            self.infrequent[j] = pooled
            size = len(kept) + (1 if len(pooled) else 0)
            groups.append(np.arange(width, width + size, dtype=np.intp))
            width += size
        if width > MAX_ENCODED_COLUMNS:
            wide = sorted(
                ((len(g), j) for j, g in enumerate(groups) if self.categorical[j]),
                reverse=True,
            )
            shown = ", ".join(f"column {j}: {n} levels" for n, j in wide[:5])
            raise ValueError(
                f"one-hot encoding the categorical columns gives {width} columns, "
                f"more than the limit of {MAX_ENCODED_COLUMNS} ({shown}); pass "
                "max_categories to pool rare levels"
            )
        self.groups = groups
        self.width = width
        return self

    def transform(self, X) -> np.ndarray:
        n = X.shape[0]
        out = np.zeros((n, self.width), dtype=np.float64)
        for j, cols in enumerate(self.groups):
            if not self.categorical[j]:
                try:
                    column = np.asarray(
                        X.iloc[:, j] if hasattr(X, "iloc") else np.asarray(X)[:, j],
                        dtype=np.float64,
                    )
                except (TypeError, ValueError) as exc:
                    raise ValueError(
                        f"column {j} is numeric for this estimator but holds "
                        "non-numeric values; list it in categorical_features"
                    ) from exc
                if np.isnan(column).any():
                    raise ValueError(
                        f"numeric column {j} contains missing values (NaN); "
                        "impute them first, for example with "
                        "sklearn.impute.SimpleImputer in a Pipeline"
                    )
                out[:, cols[0]] = column
                continue
            values = _column(X, j)
            missing = _missing(values)
            text = values.astype(str)
            levels = self.categories[j]
            if len(levels):
                pos = np.minimum(np.searchsorted(levels, text), len(levels) - 1)
                known = ~missing & (levels[pos] == text)
                out[np.flatnonzero(known), cols[0] + pos[known]] = 1.0
            else:
                known = np.zeros(n, dtype=bool)
            if len(self.infrequent[j]):
                rare = ~missing & ~known & np.isin(text, self.infrequent[j])
                out[np.flatnonzero(rare), cols[-1]] = 1.0
        return out


def fit_encoder(estimator, X):
    """Resolve ``categorical_features`` on the training data and store the
    encoder (``None`` without categorical columns) on ``estimator``."""
    mask = resolve_categorical(estimator.categorical_features, X)
    estimator.categories_ = {}
    if not mask.any():
        estimator._encoder = None
        return
    encoder = CategoricalEncoder(mask, estimator.max_categories).fit(X)
    names = list(X.columns) if hasattr(X, "columns") else None
    for j, levels in encoder.categories.items():
        pooled = encoder.infrequent[j]
        key = names[j] if names is not None else j
        estimator.categories_[key] = (
            [*levels, "infrequent"] if len(pooled) else list(levels)
        )
    estimator._encoder = encoder


def validate_X(estimator, X, *, reset, **check_params):
    """``validate_data`` that one-hot encodes the categorical columns.

    Feature names and counts refer to the original columns; the array
    returned is the encoded one.
    """
    if reset:
        fit_encoder(estimator, X)
    encoder = getattr(estimator, "_encoder", None)
    if encoder is None:
        return validate_data(estimator, X, reset=reset, **check_params)
    _check_feature_names(estimator, X, reset=reset)
    _check_n_features(estimator, X, reset=reset)
    return check_array(encoder.transform(X), **check_params)


def validate_X_y(estimator, X, y, *, reset, **check_params):
    """:func:`validate_X` for ``X`` and ``y`` together."""
    if reset:
        fit_encoder(estimator, X)
    encoder = getattr(estimator, "_encoder", None)
    if encoder is None:
        return validate_data(estimator, X, y, reset=reset, **check_params)
    _check_feature_names(estimator, X, reset=reset)
    _check_n_features(estimator, X, reset=reset)
    return check_X_y(encoder.transform(X), y, **check_params)


def encoded_groups(estimator, feature_groups, n_features):
    """The dropout groups, as lists of columns of the encoded input.

    Each categorical block is one group, every other column its own, and
    ``feature_groups`` (names or indices of the original columns) merges the
    encoded columns of the features it lists.  Without user groups this maps
    each original feature to its encoded columns: ``feature_groups_``.
    """
    encoder = getattr(estimator, "_encoder", None)
    names = getattr(estimator, "feature_names_in_", None)
    if encoder is None:
        return resolve_feature_groups(feature_groups, n_features, names)
    original = resolve_feature_groups(feature_groups, len(encoder.groups), names)
    return [np.concatenate([encoder.groups[j] for j in g]) for g in original]
