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
import scipy.sparse as sp
from sklearn.preprocessing import OneHotEncoder
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
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def is_categorical_dtype(dtype) -> bool:
    """Whether a pandas dtype holds categories: category, object or string."""
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
        return np.array([is_categorical_dtype(d) for d in X.dtypes], dtype=bool)
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


def _column(X, j) -> np.ndarray:
    if hasattr(X, "iloc"):
        return X.iloc[:, j].to_numpy(dtype=object)
    return np.asarray(X)[:, j].astype(object)


def _missing(values: np.ndarray) -> np.ndarray:
    return np.asarray(pd.isna(values), dtype=bool)


# The kinds of value a categorical column may hold, from pandas' inference:
# numbers of any width are one kind (1 and 1.0 are one level), text another.
_KINDS = {
    "string": "string",
    "integer": "number",
    "floating": "number",
    "mixed-integer-float": "number",
    "boolean": "boolean",
}


def _typed(values: np.ndarray, name: str, fitted: str | None = None):
    """The kind of the non-missing ``values`` and an array of them that
    OneHotEncoder sorts natively (unicode, numbers, else objects).

    A column holding several kinds, or another kind than in ``fit``, is an
    error: casting would make the number 1 and the string "1" one level
    again, and OneHotEncoder itself refuses mixed types.
    """
    inferred = pd.api.types.infer_dtype(values, skipna=False)
    kind = _KINDS.get(inferred, inferred)
    if kind.startswith("mixed"):
        types = ", ".join(sorted({type(v).__name__ for v in values}))
        raise ValueError(
            f"categorical column {name} mixes value types ({types}); the number 1 "
            "and the string '1' are different levels, so convert the column to "
            "one type first, for example with .astype(str)"
        )
    if fitted is not None and kind != fitted:
        raise ValueError(
            f"categorical column {name} held {fitted} values in fit but holds "
            f"{kind} values now; the number 1 and the string '1' are different "
            "levels, so convert the column to the type it had in fit"
        )
    if kind == "string":
        return kind, values.astype(str)
    if kind in ("number", "boolean"):
        return kind, np.asarray(values.tolist())
    return kind, values


class CategoricalEncoder:
    """One-hot encoding of the categorical columns, numeric ones kept in place.

    Each categorical column has its own
    :class:`~sklearn.preprocessing.OneHotEncoder` with
    ``handle_unknown="ignore"``, fitted on the column's non-missing values, so
    that a missing value is no level: it and an unseen level encode to an
    all-zero block.

    Parameters
    ----------
    categorical : ndarray of bool
        Which columns are categorical.
    max_categories : int or None
        At most this many encoded columns per feature: OneHotEncoder's
        ``max_categories``, the rarest levels sharing one "infrequent" column.
    """

    def __init__(self, categorical: np.ndarray, max_categories: int | None) -> None:
        self.categorical = categorical
        self.max_categories = max_categories

    def _name(self, j: int) -> str:
        return repr(self.names[j]) if self.names is not None else str(j)

    def fit(self, X) -> CategoricalEncoder:
        self.names = [str(c) for c in X.columns] if hasattr(X, "columns") else None
        self.kinds: dict[int, str] = {}
        self.encoders: dict[int, OneHotEncoder] = {}
        self.levels: dict[int, list] = {}
        groups = []
        width = 0
        for j in range(len(self.categorical)):
            size = self._fit_column(j, _column(X, j)) if self.categorical[j] else 1
            groups.append(np.arange(width, width + size, dtype=np.intp))
            width += size
        if width == 0:
            shown = ", ".join(self._name(j) for j in range(len(self.categorical)))
            raise ValueError(
                "every column of X is categorical and missing in every row "
                f"(columns {shown}): one-hot encoding leaves no column to fit on"
            )
        if width > MAX_ENCODED_COLUMNS:
            wide = sorted(
                ((len(g), j) for j, g in enumerate(groups) if self.categorical[j]),
                reverse=True,
            )
            shown = ", ".join(
                f"column {self._name(j)}: {n} columns" for n, j in wide[:5]
            )
            raise ValueError(
                f"one-hot encoding the categorical columns gives {width} columns, "
                f"more than the limit of {MAX_ENCODED_COLUMNS} ({shown}); pass "
                "max_categories to pool rare levels"
            )
        self.groups = groups
        self.width = width
        return self

    def _fit_column(self, j: int, values: np.ndarray) -> int:
        """Fit the encoder of column ``j``; the number of columns it emits."""
        present = values[~_missing(values)]
        self.levels[j] = []
        if not len(present):
            return 0
        self.kinds[j], typed = _typed(present, self._name(j))
        encoder = OneHotEncoder(
            handle_unknown="ignore", max_categories=self.max_categories
        ).fit(typed.reshape(-1, 1))
        levels = encoder.categories_[0]
        # infrequent_categories_ exists only where pooling is enabled.
        pooled = None
        if self.max_categories is not None:
            pooled = encoder.infrequent_categories_[0]
        if pooled is None:
            self.levels[j] = levels.tolist()
        else:
            kept = levels[~np.isin(levels, pooled)]
            self.levels[j] = [*kept.tolist(), "infrequent"]
        self.encoders[j] = encoder
        return len(self.levels[j])

    def _numeric(self, X) -> tuple[np.ndarray, np.ndarray]:
        """The encoded positions and float64 values of the numeric columns."""
        numeric = np.flatnonzero(~np.asarray(self.categorical))
        positions = np.asarray([self.groups[j][0] for j in numeric], dtype=np.intp)
        values = np.empty((X.shape[0], len(numeric)))
        for k, j in enumerate(numeric):
            try:
                values[:, k] = np.asarray(
                    X.iloc[:, j] if hasattr(X, "iloc") else np.asarray(X)[:, j],
                    dtype=np.float64,
                )
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"column {self._name(j)} is numeric for this estimator but "
                    "holds non-numeric values; list it in categorical_features"
                ) from exc
            if np.isnan(values[:, k]).any():
                raise ValueError(
                    f"numeric column {self._name(j)} contains missing values "
                    "(NaN); impute them first, for example with "
                    "sklearn.impute.SimpleImputer in a Pipeline"
                )
        return positions, values

    def _ones(self, j: int, X) -> tuple[np.ndarray, np.ndarray]:
        """Rows and encoded columns of the 1s of categorical column ``j``."""
        values = _column(X, j)
        rows = np.flatnonzero(~_missing(values))
        if j not in self.encoders or not len(rows):
            return rows[:0], rows[:0]
        _, typed = _typed(values[rows], self._name(j), self.kinds[j])
        hot = self.encoders[j].transform(typed.reshape(-1, 1))
        # At most one 1 per row; unseen levels have none.
        return rows[np.diff(hot.indptr) > 0], self.groups[j][0] + hot.indices

    def transform(self, X, dtype=np.float64, sparse: bool = False):
        """Encode ``X`` into a dense ``dtype`` array, or a CSR matrix.

        The 1s are written straight into the output: a wide encoding costs
        one array of ``dtype``, or only its nonzeros when ``sparse``.  float32
        falls back to float64 where a numeric column exceeds float32's range,
        so that the caller's range check can name it.
        """
        positions, numeric = self._numeric(X)
        if dtype == np.float32 and np.abs(numeric).max(initial=0) > _FLOAT32_MAX:
            dtype = np.float64
        ones = [self._ones(j, X) for j in self.encoders]
        n = X.shape[0]
        if sparse:
            rows = np.concatenate(
                [np.repeat(np.arange(n), len(positions))] + [r for r, _ in ones]
            )
            cols = np.concatenate([np.tile(positions, n)] + [c for _, c in ones])
            data = np.ones(len(rows), dtype=dtype)
            data[: numeric.size] = numeric.ravel()
            return sp.csr_matrix((data, (rows, cols)), shape=(n, self.width))
        out = np.zeros((n, self.width), dtype=dtype)
        out[:, positions] = numeric
        for rows, cols in ones:
            out[rows, cols] = 1.0
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
    for j, levels in encoder.levels.items():
        estimator.categories_[names[j] if names is not None else j] = list(levels)
    estimator._encoder = encoder


def _explain_text(X: object, exc: ValueError) -> None:
    """Re-raise numpy's "could not convert string to float" with the way out,
    when it comes from text in X that no categorical column encodes."""
    if "could not convert" not in str(exc):
        return
    if hasattr(X, "dtypes"):
        text = any(is_categorical_dtype(d) for d in X.dtypes)
    else:
        try:
            text = np.asarray(X).dtype.kind in "USO"
        except (TypeError, ValueError):
            text = False
    if text:
        raise ValueError(
            f"X has non-numeric values ({exc}); list those columns in "
            "categorical_features to one-hot encode them (categorical_features="
            "'from_dtype' does so for a DataFrame's category, object and string "
            "columns)"
        ) from exc


def _validate(estimator, X, y, reset, check_params):
    if reset:
        fit_encoder(estimator, X)
    encoder = getattr(estimator, "_encoder", None)
    if encoder is None:
        try:
            return validate_data(estimator, X, y, reset=reset, **check_params)
        except ValueError as exc:
            _explain_text(X, exc)
            raise
    _check_feature_names(estimator, X, reset=reset)
    _check_n_features(estimator, X, reset=reset)
    # Encode straight into the narrowest float type the caller accepts (the
    # networks take float32), or sparse if it takes that.
    dtype = check_params.get("dtype")
    accepted = dtype if isinstance(dtype, (list, tuple)) else [dtype]
    encoded = encoder.transform(
        X,
        dtype=np.float32 if np.float32 in accepted else np.float64,
        sparse=bool(check_params.get("accept_sparse", False)),
    )
    if isinstance(y, str) and y == "no_validation":
        return check_array(encoded, **check_params)
    return check_X_y(encoded, y, **check_params)


def validate_X(estimator, X, *, reset, **check_params):
    """``validate_data`` that one-hot encodes the categorical columns.

    Feature names and counts refer to the original columns; the array
    returned is the encoded one, float32 if ``dtype`` allows it and CSR if
    ``accept_sparse`` does.
    """
    return _validate(estimator, X, "no_validation", reset, check_params)


def validate_X_y(estimator, X, y, *, reset, **check_params):
    """:func:`validate_X` for ``X`` and ``y`` together."""
    return _validate(estimator, X, y, reset, check_params)


def encoded_groups(estimator, feature_groups, X):
    """The dropout groups, as lists of columns of the encoded input.

    Each categorical block is one group, every other column its own, and
    ``feature_groups`` (names or indices of the original columns) merges the
    encoded columns of the features it lists.  Without user groups this maps
    each original feature to its encoded columns: ``feature_groups_``.
    """
    encoder = getattr(estimator, "_encoder", None)
    names = getattr(estimator, "feature_names_in_", None)
    n_original = X.shape[1] if encoder is None else len(encoder.groups)
    if isinstance(feature_groups, str):  # "from_names"
        if names is None:
            raise ValueError(
                "feature_groups='from_names' needs a pandas DataFrame with column "
                "names, for instance the output of a ColumnTransformer with "
                "set_output(transform='pandas')"
            )
        per_feature = (
            [[j] for j in range(n_original)]
            if encoder is None
            else [list(g) for g in encoder.groups]
        )
        numeric = [j for j, g in enumerate(per_feature) if len(g) == 1]
        columns = np.asarray(X)[:, [per_feature[j][0] for j in numeric]]
        found = groups_from_names([names[j] for j in numeric], columns)
        feature_groups = [[numeric[k] for k in block] for block in found]
    if encoder is None:
        return resolve_feature_groups(feature_groups, n_original, names)
    original = resolve_feature_groups(feature_groups, n_original, names)
    return [np.concatenate([encoder.groups[j] for j in g]) for g in original]


def _is_one_hot_block(X: np.ndarray, cols: list[int]) -> bool:
    """Binary columns with at most one 1 per row: what an encoder emits."""
    block = X[:, cols]
    if not np.isin(block, (0.0, 1.0)).all():
        return False
    return bool((block.sum(axis=1) <= 1.0).all())


def groups_from_names(names, X: np.ndarray) -> list[list[int]]:
    """One-hot groups read from ``<transformer>__<feature>_<category>`` names.

    Columns from the same transformer whose names share a ``<feature>_``
    prefix form a candidate group; a candidate counts only if the data agree
    (0/1 columns with at most one 1 per row), which rules out numeric columns
    such as ``bill_length_mm`` and ``bill_depth_mm``.  Where two candidates
    overlap without one containing the other, the grouping cannot be told
    from the names and a ``ValueError`` says so.
    """
    names = [str(n) for n in names]
    candidates: dict[tuple[str, str], list[int]] = {}
    for j, name in enumerate(names):
        prefix, _, rest = name.rpartition("__") if "__" in name else ("", "", name)
        for k, char in enumerate(rest):
            if char == "_" and k > 0:
                candidates.setdefault((prefix, rest[:k]), []).append(j)
    valid = [
        sorted(cols)
        for cols in candidates.values()
        if len(cols) >= 2 and _is_one_hot_block(X, cols)
    ]
    # Keep the maximal blocks: a block inside a larger valid one is the same
    # feature read with a longer prefix (categories containing "_").
    maximal = [b for b in valid if not any(set(b) < set(other) for other in valid)]
    unique = [list(b) for b in {tuple(b) for b in maximal}]
    owner: dict[int, tuple[int, ...]] = {}
    for block in unique:
        for j in block:
            if j in owner and owner[j] != tuple(block):
                raise ValueError(
                    "feature_groups='from_names' cannot tell the one-hot groups "
                    f"apart: column {names[j]!r} fits both "
                    f"{[names[i] for i in owner[j]]} and {[names[i] for i in block]}; "
                    "pass feature_groups=skdrop.one_hot_groups(transformer) instead"
                )
            owner[j] = tuple(block)
    if not unique:
        raise ValueError(
            "feature_groups='from_names' found no one-hot block in the column "
            "names: it looks for columns named '<transformer>__<feature>_<category>' "
            "(or '<feature>_<category>') holding 0/1 values with at most one 1 "
            "per row, as OneHotEncoder writes with set_output(transform='pandas'). "
            "Pass feature_groups=skdrop.one_hot_groups(transformer) instead."
        )
    return sorted(unique, key=lambda b: b[0])


def _encoder_widths(encoder) -> list[int]:
    """Output columns per input feature of a fitted OneHotEncoder."""
    widths = getattr(encoder, "_n_features_outs", None)
    if widths is not None:
        return [int(w) for w in widths]
    # Older releases: count the feature's prefix in the output names.
    names_in = (
        list(encoder.feature_names_in_)
        if hasattr(encoder, "feature_names_in_")
        else [f"x{i}" for i in range(len(encoder.categories_))]
    )
    out = list(encoder.get_feature_names_out())
    return [sum(str(n).startswith(f"{f}_") for n in out) for f in names_in]


def one_hot_groups(transformer) -> list[list[int]]:
    """The dropout groups of a fitted encoder's output columns.

    Parameters
    ----------
    transformer : OneHotEncoder, ColumnTransformer or Pipeline
        Fitted.  Each feature a :class:`~sklearn.preprocessing.OneHotEncoder`
        encodes becomes one group of its output columns; every other output
        column of a :class:`~sklearn.compose.ColumnTransformer` is a group of
        its own.  A Pipeline counts as the encoder if its last step is one.

    Returns
    -------
    groups : list of list of int
        Column indices of the transformer's output, in order, one list per
        group: pass it as ``feature_groups`` to a skdrop estimator placed
        after the transformer.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.compose import make_column_transformer
    >>> from sklearn.preprocessing import OneHotEncoder, StandardScaler
    >>> from skdrop import one_hot_groups
    >>> X = pd.DataFrame({"size": [1.0, 2.0, 3.0], "color": ["r", "g", "b"],
    ...                   "shape": ["o", "x", "o"]})
    >>> prep = make_column_transformer(
    ...     (StandardScaler(), ["size"]), (OneHotEncoder(), ["color", "shape"])
    ... ).fit(X)
    >>> one_hot_groups(prep)
    [[0], [1, 2, 3], [4, 5]]
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder
    from sklearn.utils.validation import check_is_fitted

    def encoder_of(step):
        if isinstance(step, Pipeline):
            step = step.steps[-1][1]
        return step if isinstance(step, OneHotEncoder) else None

    encoder = encoder_of(transformer)
    if encoder is not None:
        check_is_fitted(encoder)
        groups, start = [], 0
        for width in _encoder_widths(encoder):
            groups.append(list(range(start, start + width)))
            start += width
        return [g for g in groups if g]
    if not isinstance(transformer, ColumnTransformer):
        raise TypeError(
            "one_hot_groups needs a fitted OneHotEncoder, ColumnTransformer or "
            f"Pipeline ending in a OneHotEncoder, got {type(transformer).__name__}"
        )
    check_is_fitted(transformer)
    groups = []
    for name, fitted, _ in transformer.transformers_:
        if name not in transformer.output_indices_:
            continue
        span = transformer.output_indices_[name]
        if span.stop == span.start:
            continue
        inner = encoder_of(fitted)
        if inner is None:
            groups.extend([j] for j in range(span.start, span.stop))
            continue
        start = span.start
        for width in _encoder_widths(inner):
            if width:
                groups.append(list(range(start, start + width)))
            start += width
    return sorted(groups, key=lambda g: g[0])
