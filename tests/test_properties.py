"""Property tests: every estimator fits and predicts, or says what is wrong.

For random shapes (1 to thousands of rows, 1 to hundreds of columns), dtypes
(float32, float64, int, DataFrames with categorical, object and string
columns), dropout rates in [0, 1), feature-group layouts and seeds, ``fit``
either succeeds and the predictions are finite with the right shape, dtype
and labels, or it raises a ``ValueError`` (or ``TypeError``) whose message is
the one expected for that input.  Anything else (an exception from torch or
numpy, a NaN, a RuntimeWarning) is a bug of the library.

The number of examples comes from the hypothesis profile registered in
``conftest.py``: reproducible and quick by default,
``SKDROP_HYPOTHESIS_PROFILE=long`` for a longer random search.  Count the
cases with ``pytest tests/test_properties.py --hypothesis-show-statistics``.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import event, given
from hypothesis import strategies as st
from scipy.linalg import LinAlgWarning
from sklearn.exceptions import ConvergenceWarning

from skdrop import (
    DropoutLinearRegression,
    DropoutLinearRegressionCV,
    DropoutMLPClassifier,
    DropoutMLPRegressor,
)

# One to three epochs rarely converge.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# --- the data --------------------------------------------------------------

# Size classes: mostly tiny and small; wide and tall ones are rarer and
# bounded so that one example stays fast.
SIZES = {
    "one_row": ((1, 1), (1, 4)),
    "tiny": ((2, 8), (1, 4)),
    "small": ((9, 60), (1, 12)),
    "wide": ((1, 40), (13, 300)),
    "tall": ((61, 3000), (1, 6)),
}
SIZE_CLASSES = st.sampled_from(
    ["tiny"] * 5 + ["small"] * 4 + ["one_row", "wide", "tall"]
)
SCALES = st.sampled_from([1.0, 1e-8, 1e8, 1e-3, 1e3, "mixed"])
CONTAINERS = st.sampled_from(
    ["float64", "float32", "int64", "frame", "frame+categorical"]
)
COLUMN_KINDS = ("constant", "zero", "integer", "binary", "duplicate")
CATEGORICAL_KINDS = (
    "category",
    "object",
    "string",
    "object_missing",
    "single_level",
    "all_missing",
)
# Rates in [0, 1), with the extremes 0 and 0.99 drawn often.
RATES = st.one_of(st.sampled_from([0.0, 0.99]), st.floats(0.0, 0.99))
SEEDS = st.integers(0, 2**32 - 1)


@dataclass
class Case:
    """A data set with the facts that decide which errors are legitimate."""

    X: object
    y: np.ndarray
    sample_weight: np.ndarray | None = None
    feature_groups: list | None = None
    facts: dict = field(default_factory=dict)

    @property
    def n_rows(self):
        return self.facts["n_rows"]

    def rows(self, k):
        """The first ``k`` rows of X, in its own container."""
        return self.X.iloc[:k] if hasattr(self.X, "iloc") else self.X[:k]


def _numeric_block(draw, rng, n_rows, n_cols):
    """A float64 block with special columns, a scale and duplicated rows."""
    X = rng.normal(size=(n_rows, n_cols))
    specials = draw(
        st.lists(
            st.tuples(st.integers(0, n_cols - 1), st.sampled_from(COLUMN_KINDS)),
            max_size=3,
        )
    )
    for j, kind in specials:
        if kind == "constant":
            X[:, j] = 3.0
        elif kind == "zero":
            X[:, j] = 0.0
        elif kind == "integer":
            X[:, j] = rng.integers(-5, 6, n_rows)
        elif kind == "binary":
            X[:, j] = rng.integers(0, 2, n_rows)
        elif kind == "duplicate":
            X[:, j] = X[:, (j + 1) % n_cols]
    scale = draw(SCALES)
    if scale == "mixed":
        X *= 10.0 ** rng.uniform(-8, 8, n_cols)
    else:
        X *= scale
    if draw(st.booleans()):  # duplicated rows
        X = X[rng.integers(0, max(1, n_rows // 3), n_rows)]
    return X


def _categorical_column(rng, kind, n_rows, n_levels):
    levels = np.array([f"l{k}" for k in range(n_levels)], dtype=object)
    values = levels[rng.integers(0, n_levels, n_rows)]
    if kind == "category":
        return pd.Categorical(values)
    if kind == "string":
        return pd.array(values, dtype="string")
    if kind == "single_level":
        return pd.Series(["only"] * n_rows, dtype=object)
    if kind == "all_missing":
        return pd.Series([None] * n_rows, dtype=object)
    column = pd.Series(values, dtype=object)
    if kind == "object_missing":
        column[rng.random(n_rows) < 0.3] = None
    return column


def _name_blocks(names):
    """Whether two column names share a '<feature>_' prefix, which
    feature_groups='from_names' needs to find a one-hot block."""
    prefixes = [
        str(name)[: k + 1]
        for name in names
        for k in range(1, len(str(name)))
        if str(name)[k] == "_"
    ]
    return len(prefixes) > len(set(prefixes))


@st.composite
def datasets(draw, target):
    """A Case for ``target`` in {"regression", "classification"}."""
    seed = draw(SEEDS)
    rng = np.random.default_rng(seed)
    (row_lo, row_hi), (col_lo, col_hi) = SIZES[draw(SIZE_CLASSES)]
    n_rows = draw(st.integers(row_lo, row_hi))
    n_cols = draw(st.integers(col_lo, col_hi))
    container = draw(CONTAINERS)
    n_categorical = 0
    if container == "frame+categorical":
        n_categorical = draw(st.integers(1, 3))
        if draw(st.booleans()):
            n_cols = 0  # categorical columns only
    X = _numeric_block(draw, rng, n_rows, n_cols) if n_cols else np.empty((n_rows, 0))
    if container == "int64":
        X = np.rint(X).astype(np.int64)
    elif container == "float32":
        X = X.astype(np.float32)
    numeric = np.asarray(X, dtype=np.float64)
    cat_kinds = []
    if container.startswith("frame"):
        frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(n_cols)])
        for k in range(n_categorical):
            kind = draw(st.sampled_from(CATEGORICAL_KINDS))
            n_levels = draw(st.integers(1, 6))
            frame[f"c{k}"] = _categorical_column(rng, kind, n_rows, n_levels)
            cat_kinds.append(kind)
        X = frame
    n_features = n_cols + n_categorical

    facts = dict(
        n_rows=n_rows,
        n_features=n_features,
        container=container,
        max_abs_x=float(np.abs(numeric).max(initial=0.0)),
        no_encoded_column=n_cols == 0
        and all(X[f"c{k}"].isna().all() for k in range(n_categorical)),
        has_categorical=bool(cat_kinds),
    )

    # The target.
    if target == "regression":
        y_kind = draw(st.sampled_from(["linear", "noise", "constant", "int", "multi"]))
        std = numeric.std(axis=0)
        z = (numeric - numeric.mean(axis=0)) / np.where(std > 0, std, 1.0)
        signal = z @ rng.normal(size=n_cols) if n_cols else np.zeros(n_rows)
        y = signal + rng.normal(size=n_rows)
        if y_kind == "constant":
            y = np.full(n_rows, 2.0)
        elif y_kind == "int":
            y = np.rint(y).astype(np.int64)
        elif y_kind == "multi":
            y = np.column_stack([y, rng.normal(size=n_rows)])
        if y_kind != "int":
            y = y * draw(st.sampled_from([1.0, 1e-8, 1e8]))
        facts["max_abs_y"] = float(np.abs(y).max(initial=0.0))
    else:
        label_kind = draw(
            st.sampled_from(["int", "str", "float", "bool", "multilabel"])
        )
        n_classes = draw(st.sampled_from([2, 2, 2, 3, 3, 4, 1]))
        if label_kind == "bool":
            n_classes = min(n_classes, 2)
        if label_kind == "multilabel":
            y = rng.integers(0, 2, (n_rows, n_classes + 1))
            facts["multilabel"] = True
            facts["n_present"] = 2  # an indicator matrix always has 2 values
        else:
            labels = {
                "int": np.array([3, -1, 7, 0]),
                "str": np.array(["cat", "dog", "eel", "fox"], dtype=object),
                "float": np.array([0.0, 1.0, 2.0, 5.0]),
                "bool": np.array([False, True]),
            }[label_kind][:n_classes]
            index = rng.integers(0, n_classes, n_rows)
            index[: min(n_rows, n_classes)] = np.arange(min(n_rows, n_classes))
            y = labels[rng.permutation(index)]
            facts["multilabel"] = False
            facts["n_present"] = len(np.unique(y))
            facts["min_class_count"] = int(np.unique(y, return_counts=True)[1].min())
        facts["max_abs_y"] = 1.0

    # Sample weights.
    weights = draw(
        st.sampled_from([None] * 8 + ["positive", "positive", "with_zeros", "zero"])
    )
    sample_weight = None
    if weights == "positive":
        sample_weight = rng.uniform(0.1, 3.0, n_rows)
    elif weights == "with_zeros":
        sample_weight = rng.uniform(0.1, 3.0, n_rows) * (rng.random(n_rows) < 0.5)
    elif weights == "zero":
        sample_weight = np.zeros(n_rows)
    facts["zero_weights"] = sample_weight is not None and not sample_weight.any()
    facts["n_zero_weight"] = (
        0 if sample_weight is None else int((sample_weight == 0).sum())
    )

    # Feature groups, sometimes deliberately bad.
    layout = draw(
        st.sampled_from(
            [None] * 8
            + ["indices", "names"] * 2
            + ["bad_overlap", "bad_range", "bad_name", "from_names"]
        )
    )
    groups = None
    names = list(X.columns) if hasattr(X, "columns") else None
    if layout in ("indices", "names") or (layout == "bad_overlap" and n_features > 1):
        order = rng.permutation(n_features)
        cuts = np.sort(rng.choice(np.arange(1, n_features + 1), 2))
        groups = [order[: cuts[0]].tolist(), order[cuts[0] : cuts[1]].tolist()]
        groups = [g for g in groups if g]
        if layout == "bad_overlap":
            groups.append([int(order[0])])
        elif layout == "names" and names is not None:
            groups = [[names[j] for j in g] for g in groups]
    elif layout == "bad_range":
        groups = [[0, n_features]]
    elif layout == "bad_name":
        groups = [["no_such_column"]]
    elif layout == "from_names":
        groups = "from_names"
    facts["groups"] = layout if groups is not None else None
    facts["has_names"] = names is not None
    facts["name_blocks"] = _name_blocks(names or [])
    # 'from_names' groups columns only where the names allow a block.
    facts["multi_column_group"] = (
        isinstance(groups, list) and any(len(g) > 1 for g in groups)
    ) or (groups == "from_names" and facts["name_blocks"])
    return Case(X, y, sample_weight, groups, facts)


# --- the estimators' parameters --------------------------------------------


@st.composite
def mlp_params(draw):
    hidden = draw(st.sampled_from([(1,), (3,), (4, 2)]))
    dropout_type = draw(
        st.sampled_from(["bernoulli", "gaussian", "alpha", "dropconnect"])
    )
    return dict(
        hidden_layer_sizes=hidden,
        max_iter=draw(st.integers(1, 3)),
        input_dropout=draw(RATES),
        hidden_dropout=draw(
            st.one_of(
                RATES, st.lists(RATES, min_size=len(hidden), max_size=len(hidden))
            )
        ),
        dropout_type=dropout_type,
        dropout_scaling=draw(st.sampled_from(["inverted"] * 3 + ["test_time"])),
        # alpha dropout is made for SELU (another activation warns).
        activation="selu"
        if dropout_type == "alpha"
        else draw(st.sampled_from(["relu", "tanh", "logistic", "identity"])),
        solver=draw(st.sampled_from(["adam", "adam", "adamw", "sgd"])),
        batch_size=draw(st.sampled_from(["auto", "auto", 8, 64])),
        early_stopping=draw(st.sampled_from([False, False, True])),
        batch_norm=draw(st.sampled_from([False, False, True])),
        random_state=draw(SEEDS),
    )


@st.composite
def linear_params(draw):
    solver = draw(st.sampled_from(["closed_form", "closed_form", "sgd"]))
    params = dict(
        input_dropout=draw(RATES),
        fit_intercept=draw(st.booleans()),
        solver=solver,
    )
    if solver == "sgd":
        params.update(
            max_iter=draw(st.integers(1, 3)),
            tol=draw(st.sampled_from([0.0, 1e-2])),
            batch_size=draw(st.sampled_from(["auto", 16])),
            random_state=draw(SEEDS),
        )
    return params


@st.composite
def cv_params(draw):
    cv = draw(st.sampled_from([None, None, None, 2, 3]))
    return dict(
        input_dropouts=draw(st.lists(RATES, min_size=1, max_size=4)),
        fit_intercept=draw(st.booleans()),
        cv=cv,
        scoring=draw(st.sampled_from([None, None, "r2", "neg_mean_absolute_error"])),
        # With cv given it is an error: drawn rarely.
        store_cv_results=draw(
            st.booleans() if cv is None else st.sampled_from([False] * 4 + [True])
        ),
    )


# --- the property ------------------------------------------------------------


def rate_error(name, value):
    """The message for a dropout rate outside [0, 1): the one place to update
    when the wording changes (scikit-learn's InvalidParameterError for a
    single rate, skdrop's own for a rate inside a list)."""
    value = re.escape(repr(float(value)))
    return (
        rf"(The '{name}' parameter of \w+ must be a float in the range "
        rf"\[0\.0, 1\.0\)[^.]*\. Got {value} instead"
        rf"|{name}(\[\d+\])? must be in \[0, 1\), got {value})"
    )


def _validation_split(case, est):
    """Rows of the training and validation parts of early stopping:
    ``ceil(validation_fraction * n)`` rows are held out, as in scikit-learn."""
    n_val = math.ceil(est.validation_fraction * case.n_rows)
    return case.n_rows - n_val, n_val


def _early_stopping_split_fails(case, est):
    """The split needs a training row and 2 validation rows (scikit-learn's
    rule) and, stratified by class, two rows of every class and room for
    every class in each part."""
    n_train, n_val = _validation_split(case, est)
    if n_train < 1 or n_val < 2:
        return True
    if not isinstance(est, DropoutMLPClassifier) or case.facts["multilabel"]:
        return False
    return (
        case.facts["min_class_count"] < 2
        or min(n_train, n_val) < case.facts["n_present"]
    )


def _part_without_weight(case, est, match):
    """The message names a part of the size that part has, and enough rows
    weigh nothing to fill it."""
    n_train, n_val = _validation_split(case, est)
    size = n_train if match["part"] == "training" else n_val
    return int(match["rows"]) == size <= case.facts["n_zero_weight"]


def _training_rows(case, est):
    """Rows the network trains on: all, or those early stopping leaves."""
    return _validation_split(case, est)[0] if est.early_stopping else case.n_rows


def _is_es(est):
    return getattr(est, "early_stopping", False)


# Each legitimate failure: the message it must carry, and when it may occur
# (a function of the input, the estimator and the match of the message).
KNOWN_ERRORS = {
    "zero weights": (
        r"Sample weights must contain at least one non-zero number",
        lambda case, est, m: case.facts["zero_weights"],
    ),
    "test_time scaling": (
        r"dropout_scaling='test_time' applies to dropout_type 'bernoulli' or "
        r"'dropconnect'",
        lambda case, est, m: (
            getattr(est, "dropout_scaling", None) == "test_time"
            and est.dropout_type in ("gaussian", "alpha")
        ),
    ),
    "early stopping split": (
        r"(The validation set is too small: early_stopping=True holds out "
        r"validation_fraction=|early_stopping=True holds out a validation set "
        r"stratified by class)",
        lambda case, est, m: _is_es(est) and _early_stopping_split_fails(case, est),
    ),
    "early stopping split without weight": (
        r"^early_stopping=True: sample_weight is zero on all (?P<rows>\d+) rows "
        r"of the (?P<part>training|validation) part held out by "
        r"validation_fraction=",
        lambda case, est, m: _is_es(est) and _part_without_weight(case, est, m),
    ),
    "batch norm on one row": (
        r"batch_norm=True needs at least 2 rows per mini-batch, got 1",
        lambda case, est, m: (
            getattr(est, "batch_norm", False) and _training_rows(case, est) == 1
        ),
    ),
    "too few rows for cv": (
        r"Cannot have number of splits n_splits=\d+ greater than the number of "
        r"samples: n_samples=\d+",
        lambda case, est, m: (
            getattr(est, "cv", None) is not None and case.n_rows < est.cv
        ),
    ),
    "cv split of zero weight": (
        r"^sample_weight is zero on every row of the (training|test) part of "
        r"split \d of cv=\d; each training and test part needs a row of "
        r"positive weight$",
        lambda case, est, m: (
            getattr(est, "cv", None) is not None
            and case.sample_weight is not None
            and not case.sample_weight.all()
        ),
    ),
    "leave-one-out on one row": (
        r"^cv=None \(leave-one-out\) needs at least 2 samples of positive "
        r"weight, got [01] samples?$",
        lambda case, est, m: (
            isinstance(est, DropoutLinearRegressionCV)
            and est.cv is None
            and (
                case.n_rows < 2
                or (
                    case.sample_weight is not None
                    and (case.sample_weight > 0).sum() < 2
                )
            )
        ),
    ),
    "store_cv_results with cv": (
        r"store_cv_results=True needs cv=None \(leave-one-out\); got cv=\d",
        lambda case, est, m: (
            getattr(est, "cv", None) is not None and est.store_cv_results
        ),
    ),
    "overlapping groups": (
        r"column .* is listed (twice in|in) feature_groups\[\d+\].*; feature "
        r"groups must not overlap",
        lambda case, est, m: case.facts["groups"] == "bad_overlap",
    ),
    "group index out of range": (
        r"feature_groups\[0\] has column index \d+, out of range for X with \d+ "
        r"features: indices must be in \[0, \d+\]",
        lambda case, est, m: case.facts["groups"] == "bad_range",
    ),
    "unknown group column": (
        r"feature_groups\[0\] names (unknown column 'no_such_column'; the columns "
        r"are \[|column 'no_such_column', but X has no column names)",
        lambda case, est, m: case.facts["groups"] == "bad_name",
    ),
    "from_names without names": (
        r"feature_groups='from_names' needs a pandas DataFrame with column names",
        lambda case, est, m: (
            case.facts["groups"] == "from_names" and not case.facts["has_names"]
        ),
    ),
    "from_names without blocks": (
        r"feature_groups='from_names' found no one-hot block in the column names",
        lambda case, est, m: (
            case.facts["groups"] == "from_names"
            and case.facts["has_names"]
            and not case.facts["name_blocks"]
        ),
    ),
    "one-row test folds": (
        # R^2 of one row is undefined: every rate scores NaN (bad input 6).
        r"every rate scored nan with cv=\d+ and scoring=None \(its smallest "
        r"test fold has 1 row",
        lambda case, est, m: (
            isinstance(est, DropoutLinearRegressionCV)
            and case.facts["n_rows"] < 2 * est.cv
        ),
    ),
    "nothing to encode": (
        r"every column of X is categorical and missing in every row",
        lambda case, est, m: case.facts["no_encoded_column"],
    ),
}
DIVERGED = (
    r"(The training loss became (nan|inf|-inf) at epoch \d+|The trained network "
    r"predicts non-finite values on its training data|The network predicts "
    r"non-finite values on the validation set at epoch \d+); the optimization "
    r"diverged\. Try a smaller learning_rate_init, or scale the features"
)


def _is_mlp(est):
    return isinstance(est, DropoutMLPClassifier | DropoutMLPRegressor)


def _check_error(exc, case, est):
    message = str(exc)
    plausible = [
        name
        for name, (pattern, when) in KNOWN_ERRORS.items()
        if (match := re.search(pattern, message)) and when(case, est, match)
    ]
    assert plausible, (
        f"{type(est).__name__} raised an unexpected {type(exc).__name__}: "
        f"{message!r} (facts: {case.facts})"
    )
    return plausible[0]


def _noise_gain(est):
    """The factor by which the training noise multiplies the second moment
    of the signal through all dropout sites: ``E[(r / q)^2] = 1 / q`` for an
    inverted Bernoulli or DropConnect mask, ``1 + p / q = 1 / q`` for
    Gaussian noise.  Unscaled masks (``E[r^2] = q``) and alpha dropout,
    which keeps the variance by design, add none."""
    if est.dropout_type == "alpha" or est.dropout_scaling == "test_time":
        return 1.0
    n_hidden = len(est.hidden_layer_sizes)
    rates = [est.input_dropout, *np.broadcast_to(est.hidden_dropout, n_hidden)]
    return float(np.prod([1.0 / (1.0 - rate) for rate in rates]))


def _fit_rate(est):
    """The smallest dropout rate a linear model was solved at."""
    if isinstance(est, DropoutLinearRegressionCV):
        return min(est.input_dropouts)
    return est.input_dropout


def _check_predictions(est, case):
    n = case.n_rows
    for X, rows in [(case.X, n), (case.rows(1), 1)]:
        if isinstance(est, DropoutMLPClassifier):
            _check_classifier(est, case, X, rows)
            continue
        pred = est.predict(X)
        n_targets = case.y.shape[1] if case.y.ndim == 2 else None
        expected = (rows,) if n_targets is None else (rows, n_targets)
        assert pred.shape == expected
        assert pred.dtype == np.float64
        assert np.isfinite(pred).all(), f"non-finite predictions {pred}"
        if isinstance(est, DropoutMLPRegressor):
            draws = est.mc_predict(X, n_samples=2, random_state=0)
            assert draws.shape == (2, *expected)
            assert np.isfinite(draws).all(), f"non-finite MC predictions {draws}"


def _check_classifier(est, case, X, rows):
    y = case.y
    proba = est.predict_proba(X)
    draws = est.mc_predict(X, n_samples=2, random_state=0)
    pred = est.predict(X)
    if case.facts["multilabel"]:
        n_outputs = y.shape[1]
        np.testing.assert_array_equal(est.classes_, np.arange(n_outputs))
        assert pred.shape == (rows, n_outputs)
        assert np.isin(pred, [0, 1]).all()
    else:
        np.testing.assert_array_equal(est.classes_, np.unique(y))
        n_outputs = len(est.classes_)
        assert pred.shape == (rows,)
        assert pred.dtype == est.classes_.dtype
        assert np.isin(pred, est.classes_).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert proba.shape == (rows, n_outputs)
    assert draws.shape == (2, rows, n_outputs)
    for values in (proba, draws):
        assert np.isfinite(values).all(), f"non-finite probabilities {values}"
        assert ((values >= 0) & (values <= 1)).all()


def check_fit_predict(est, case):
    """The property.  Returns "fitted" or the name of the error raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            est.fit(case.X, case.y, sample_weight=case.sample_weight)
        except (ValueError, TypeError) as exc:
            outcome = f"error: {_check_error(exc, case, est)}"
        except FloatingPointError as exc:
            # Documented for the networks on unscaled data: plain SGD takes
            # steps in proportion to the squared scale of the signal, which
            # the dropout noise multiplies by its gain; Adam's steps are
            # bounded whatever the scale of the gradient.
            assert _is_mlp(est), f"FloatingPointError from {est!r}: {exc}"
            assert re.search(DIVERGED, str(exc)), str(exc)
            scale = max(case.facts["max_abs_x"], case.facts["max_abs_y"])
            gain = _noise_gain(est)
            if est.solver == "sgd":
                unscaled = scale * math.sqrt(gain) >= 10
            else:
                unscaled = scale >= 1e3
            assert unscaled, (
                f"diverged on data of scale {scale:g} with {est.solver} and a "
                f"noise gain of {gain:g}: {exc}"
            )
            outcome = "diverged"
        else:
            _check_predictions(est, case)
            outcome = "fitted"
    for w in caught:
        if not issubclass(w.category, RuntimeWarning):
            continue  # ConvergenceWarning after 1 to 3 epochs, for one
        assert issubclass(w.category, LinAlgWarning), (
            f"{w.category.__name__}: {w.message} (facts: {case.facts})"
        )
        # Only a system without penalty (rate ~ 0) or with linearly
        # dependent columns inside one group may be singular.
        assert _fit_rate(est) < 1e-8 or case.facts["multi_column_group"], (
            f"LinAlgWarning at dropout={_fit_rate(est)!r}: {w.message}"
        )
        assert "minimum-norm least-squares solution" in str(w.message)
        outcome = outcome.removesuffix(" (singular)") + " (singular)"
    return outcome


def _groups(case):
    return case.feature_groups


@given(case=datasets("classification"), params=mlp_params())
def test_mlp_classifier_property(case, params):
    est = DropoutMLPClassifier(**params, feature_groups=_groups(case))
    event(check_fit_predict(est, case))  # counted by --hypothesis-show-statistics


@given(
    case=datasets("regression"),
    params=mlp_params(),
    target_scaling=st.sampled_from(["standard", None]),
)
def test_mlp_regressor_property(case, params, target_scaling):
    est = DropoutMLPRegressor(
        **params, target_scaling=target_scaling, feature_groups=_groups(case)
    )
    event(check_fit_predict(est, case))  # counted by --hypothesis-show-statistics


@given(case=datasets("regression"), params=linear_params())
def test_linear_regression_property(case, params):
    est = DropoutLinearRegression(**params, feature_groups=_groups(case))
    event(check_fit_predict(est, case))  # counted by --hypothesis-show-statistics


@given(case=datasets("regression"), params=cv_params())
def test_linear_regression_cv_property(case, params):
    est = DropoutLinearRegressionCV(**params, feature_groups=_groups(case))
    event(check_fit_predict(est, case))  # counted by --hypothesis-show-statistics


# --- the edge cases, named ---------------------------------------------------

MLP_EDGE = dict(hidden_layer_sizes=(4,), max_iter=3, hidden_dropout=0.2, random_state=0)
EDGE_ESTIMATORS = {
    "DropoutMLPClassifier": lambda **kw: DropoutMLPClassifier(**{**MLP_EDGE, **kw}),
    "DropoutMLPRegressor": lambda **kw: DropoutMLPRegressor(**{**MLP_EDGE, **kw}),
    "DropoutLinearRegression": lambda **kw: DropoutLinearRegression(**kw),
    "DropoutLinearRegression-sgd": lambda **kw: DropoutLinearRegression(
        **{"solver": "sgd", "max_iter": 3, "random_state": 0, **kw}
    ),
    "DropoutLinearRegressionCV": lambda **kw: DropoutLinearRegressionCV(**kw),
}


def _rate_params(name, rate):
    if name.startswith("DropoutMLP"):
        return dict(input_dropout=rate, hidden_dropout=rate)
    if name == "DropoutLinearRegressionCV":
        return dict(input_dropouts=[rate])
    return dict(input_dropout=rate)


def _edge_X(kind, rng):
    X = rng.normal(size=(30, 3))
    if kind == "one_sample":
        return X[:1]
    if kind == "one_feature":
        return X[:, :1]
    if kind == "constant_columns":
        return np.full((30, 3), 3.0)
    if kind == "all_zero_columns":
        X[:, 1:] = 0.0
        return X
    if kind == "all_zero_X":
        return np.zeros((30, 3))
    if kind == "duplicated_rows":
        return X[np.arange(30) % 3]
    if kind == "identical_rows":
        return np.repeat(X[:1], 30, axis=0)
    if kind == "scale_1e8":
        return X * 1e8
    if kind == "scale_1e-8":
        return X * 1e-8
    if kind == "mixed_scales":
        return X * np.array([1e-8, 1.0, 1e8])
    return X


EDGE_KINDS = [
    "one_sample",
    "one_feature",
    "constant_columns",
    "all_zero_columns",
    "all_zero_X",
    "single_class",
    "duplicated_rows",
    "identical_rows",
    "scale_1e8",
    "scale_1e-8",
    "mixed_scales",
    "rate_0",
    "rate_0.99",
    "max_iter_1",
]
EDGE_CASES = [
    (name, kind)
    for name in EDGE_ESTIMATORS
    for kind in EDGE_KINDS
    # max_iter means nothing to the closed form.
    if not (
        kind == "max_iter_1"
        and name in ("DropoutLinearRegression", "DropoutLinearRegressionCV")
    )
]


@pytest.mark.parametrize(("name", "kind"), EDGE_CASES)
def test_edge_case(name, kind):
    rng = np.random.default_rng(0)
    X = _edge_X(kind, rng)
    n = X.shape[0]
    classifier = name == "DropoutMLPClassifier"
    if kind == "single_class":
        y = np.ones(n, dtype=int) if classifier else np.full(n, 2.0)
    elif classifier:
        y = np.arange(n) % 2
    else:
        y = X.sum(axis=1) / np.abs(X).max(initial=1.0) + rng.normal(size=n)
    params = {}
    if kind.startswith("rate_"):
        params = _rate_params(name, float(kind.removeprefix("rate_")))
    elif kind == "max_iter_1":
        params = dict(max_iter=1)
    facts = dict(
        n_rows=n,
        n_features=X.shape[1],
        max_abs_x=float(np.abs(X).max()),
        max_abs_y=float(np.abs(y).max()),
        n_present=len(np.unique(y)),
        multilabel=False,
        zero_weights=False,
        groups=None,
        multi_column_group=False,
        no_encoded_column=False,
        min_class_count=int(np.unique(y, return_counts=True)[1].min()),
        n_zero_weight=0,
        has_names=False,
        name_blocks=False,
    )
    outcome = check_fit_predict(
        EDGE_ESTIMATORS[name](**params), Case(X, y, facts=facts)
    )
    # A classifier fits one class, as scikit-learn's MLP does.
    if name == "DropoutLinearRegressionCV" and kind == "one_sample":
        assert outcome == "error: leave-one-out on one row"
    elif name.startswith("DropoutMLP") and kind == "scale_1e8":
        # Unscaled data may legitimately diverge, with the documented error.
        assert outcome in ("fitted", "diverged")
    else:
        assert outcome == "fitted"


@pytest.mark.parametrize("value", [1.0, -0.1, float("nan")])
@pytest.mark.parametrize(
    ("name", "params", "reported"),
    [
        ("DropoutMLPRegressor", {"input_dropout": "bad"}, "input_dropout"),
        ("DropoutMLPClassifier", {"hidden_dropout": "bad"}, "hidden_dropout"),
        ("DropoutMLPRegressor", {"hidden_dropout": [0.2, "bad"]}, "hidden_dropout"),
        ("DropoutLinearRegression", {"input_dropout": "bad"}, "input_dropout"),
        (
            "DropoutLinearRegressionCV",
            {"input_dropouts": [0.2, "bad"]},
            "input_dropouts",
        ),
    ],
)
def test_rate_outside_unit_interval_is_rejected(name, params, reported, value):
    params = {
        key: [value if r == "bad" else r for r in v] if isinstance(v, list) else value
        for key, v in params.items()
    }
    if "hidden_dropout" in params and isinstance(params["hidden_dropout"], list):
        params["hidden_layer_sizes"] = (4, 2)
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match=rate_error(reported, value)):
        EDGE_ESTIMATORS[name](**params).fit(X, np.arange(10) % 2)


# --- bugs the property tests found (fixed) -----------------------------------


@pytest.mark.parametrize("scale", [0.0, 1e-300])
def test_cv_with_only_all_zero_columns(scale):
    # The leave-one-out sweep crashed in a reshape of its empty basis.
    X = np.full((20, 3), scale)
    y = np.arange(20.0)
    model = DropoutLinearRegressionCV(store_cv_results=True).fit(X, y)
    np.testing.assert_array_equal(model.coef_, 0.0)
    assert model.intercept_ == pytest.approx(9.5)
    assert np.isfinite(model.cv_results_["mean_test_score"]).all()
    assert model.loo_values_.shape == (20, 12)
    np.testing.assert_allclose(model.predict(X), 9.5)


@pytest.mark.parametrize("scoring", [None, "neg_mean_absolute_error"])
def test_cv_subnormal_rate_does_not_overflow(scoring):
    # 1 / lam overflowed for lam = 5e-324 on a direction without data.
    model = DropoutLinearRegressionCV(input_dropouts=[5e-324], scoring=scoring)
    model.fit([[0.1257], [0.1257]], [0.64, 0.64])
    assert np.isfinite(model.cv_results_["mean_test_score"]).all()
    np.testing.assert_allclose(model.predict([[0.1257]]), 0.64)


@pytest.mark.parametrize(
    "Estimator", [DropoutLinearRegression, DropoutLinearRegressionCV]
)
def test_tiny_rate_with_a_constant_column(Estimator):
    # A rate of 1e-307 divided the round-off of a constant column's centered
    # products by a penalty of the same size: coefficients of 1e274, and an
    # overflow in the leave-one-out sweep.
    X = pd.DataFrame({"x0": [3.0] * 9, "c0": ["l0"] * 9})
    rng = np.random.default_rng(0)
    y, weights = rng.normal(size=9), rng.uniform(0.1, 3.0, 9)
    rate = 1.5884560852635949e-307
    params = (
        {"input_dropouts": [rate]}
        if Estimator is DropoutLinearRegressionCV
        else {"input_dropout": rate}
    )
    model = Estimator(**params).fit(X, y, sample_weight=weights)
    np.testing.assert_array_equal(model.coef_, 0.0)
    assert model.intercept_ == pytest.approx(np.average(y, weights=weights))


def test_closed_form_is_scale_invariant():
    # Columns of scales 1e-8 and 1e8 made the solver warn that the system
    # was singular and fall back to a least-squares solve.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3)) * np.array([1e-8, 1.0, 1e8])
    y = X @ np.array([1e8, 1.0, 1e-8]) + 0.1 * rng.normal(size=50)
    scale = X.std(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = DropoutLinearRegression(input_dropout=0.2).fit(X, y)
    reference = DropoutLinearRegression(input_dropout=0.2).fit(X / scale, y)
    np.testing.assert_allclose(model.coef_, reference.coef_ / scale, rtol=1e-8)


@pytest.mark.parametrize("Estimator", [DropoutMLPClassifier, DropoutMLPRegressor])
def test_mlp_rejects_values_beyond_float32(Estimator):
    # float64 values above 3.4e38 became inf in the float32 network, with a
    # RuntimeWarning and NaN predictions.
    X = np.random.default_rng(0).normal(size=(10, 2))
    y = np.arange(10) % 2
    message = r"X has a value of magnitude 1e\+39, more than the 3.4e\+38 allowed"
    with pytest.raises(ValueError, match=message):
        Estimator(**MLP_EDGE).fit(np.vstack([X[:-1], [1e39, 0.0]]), y)
    model = Estimator(**MLP_EDGE).fit(X, y)
    with pytest.raises(ValueError, match=message):
        model.predict([[1e39, 0.0]])
    with pytest.raises(ValueError, match=message):
        model.mc_predict([[1e39, 0.0]], n_samples=2)
    if Estimator is DropoutMLPRegressor:
        with pytest.raises(ValueError, match=r"y has a value of magnitude 1e\+39"):
            Estimator(**MLP_EDGE).fit(X, np.r_[y[:-1], 1e39])


@pytest.mark.parametrize(
    "model",
    [
        DropoutLinearRegression(),
        DropoutLinearRegression(solver="sgd", max_iter=2, random_state=0),
        DropoutLinearRegressionCV(),
    ],
    ids=["closed_form", "sgd", "cv"],
)
def test_linear_rejects_values_whose_squares_overflow(model):
    # Sums of squares overflowed float64: RuntimeWarnings and NaN coefficients.
    X = np.random.default_rng(0).normal(size=(20, 3))
    message = r"X has a value of magnitude 1e\+200, more than the .* allowed \(sums"
    with pytest.raises(ValueError, match=message):
        model.fit(np.vstack([X[:-1], [1e200, 0.0, 0.0]]), np.arange(20.0))
    with pytest.raises(ValueError, match=r"y has a value of magnitude 1e\+200"):
        model.fit(X, np.r_[np.arange(19.0), 1e200])


def test_mlp_divergence_in_the_last_step_is_an_error():
    # The loss is measured before each step: one diverging step on unscaled
    # data left weights that predict NaN, without an error.
    model = DropoutMLPRegressor(
        hidden_layer_sizes=(4, 2),
        max_iter=1,
        hidden_dropout=0.0,
        activation="identity",
        solver="sgd",
        random_state=0,
    )
    with pytest.raises(FloatingPointError, match="predicts non-finite values on its"):
        model.fit([[12573022.10933933]], [0.64042265])
    assert not hasattr(model, "module_")


@pytest.mark.parametrize(
    ("Estimator", "y", "message"),
    [
        (
            DropoutMLPClassifier,
            ["a", "b", "b", "b"],
            "stratified by class, which needs at least 2 samples of every class; "
            "class 'a' has only 1",
        ),
        (
            DropoutMLPClassifier,
            [3, -1, 3, -1],
            "validation_fraction=0.1 of 4 samples gives 1 for validation and 3 "
            "for training, and each needs at least one sample of each of the 2 "
            "classes",
        ),
        (
            DropoutMLPRegressor,
            [1.0],
            "validation_fraction=0.1 of 1 samples, which leaves 0 for training and "
            "1 for validation",
        ),
    ],
)
def test_early_stopping_split_errors_speak_of_the_users_labels(Estimator, y, message):
    # train_test_split's messages named the binarized labels ([1.0]) and
    # test_size, which the user never set.
    X = np.arange(len(y), dtype=float)[:, None]
    with pytest.raises(ValueError, match=re.escape(message)):
        Estimator(**MLP_EDGE, early_stopping=True).fit(X, y)


def test_only_missing_categorical_columns_are_named():
    # The message was scikit-learn's "Found array with 0 feature(s)".
    X = pd.DataFrame({"a": pd.Series([None] * 4, dtype=object)})
    with pytest.raises(ValueError, match=r"categorical and missing in every row"):
        DropoutLinearRegression().fit(X, np.arange(4.0))


def test_cv_split_without_weight_is_an_error():
    # GridSearchCV turned the failed fit into a FitFailedWarning and NaN
    # scores; now the error says which split failed.
    model = DropoutLinearRegressionCV(input_dropouts=[0.1], cv=2)
    X = [[0.1257, -0.13], [0.64, 0.105], [0.3, 0.2], [0.5, -0.4]]
    with pytest.raises(
        ValueError, match=r"zero on every row of the test part of split 0"
    ):
        model.fit(X, [1.478, 0.773, 0.1, 0.2], sample_weight=[0, 0, 1.0, 2.0])


# --- numerical trouble found by the properties above --------------------------


def test_early_stopping_with_zero_weight_validation_set():
    X = np.random.default_rng(0).normal(size=(11, 2))
    weights = np.zeros(11)
    weights[2] = 1.0
    model = DropoutMLPRegressor(max_iter=2, early_stopping=True, random_state=0)
    # This used to divide the validation loss by a weight sum of 0.
    with pytest.raises(ValueError, match=r"sample_weight is zero on all \d+ rows"):
        model.fit(X, np.arange(11.0), sample_weight=weights)


def test_predictions_that_overflow_float32_are_an_error():
    X = np.random.default_rng(0).normal(size=(30, 3))
    # Outputs near the float32 limit are still numbers: probabilities come out.
    model = DropoutMLPClassifier(**MLP_EDGE).fit(X, np.arange(30) % 3)
    # |output| <= |x|_inf * prod_l ||W_l||_inf (ReLU is 1-Lipschitz, biases
    # are negligible here): inputs scaled so that the bound is 1e38.
    gain = np.prod([np.abs(W).sum(axis=0).max() for W in model.coefs_])
    size = 1e38 / gain
    assert size > 1e37  # inputs themselves near the float32 limit
    extreme = np.array([[size, size, size], [-size, -size, -size]])
    proba = model.predict_proba(extreme)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # Weights grown without bound make the float32 output inf: an error.
    with torch.no_grad():
        model.module_.linear_layers[0].weight.mul_(1e30)
    methods = ("predict", "predict_proba", "predict_log_proba", "mc_predict")
    for method in methods:
        with pytest.raises(FloatingPointError, match=r"not finite .* 2 input row"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                getattr(model, method)(X[:2] * 1e10)


def test_diverged_network_mc_predictions_are_finite_or_an_error():
    X = np.zeros((3, 20))
    y = np.array([-29228291.26, -63499738.26, -9067313.51])
    model = DropoutMLPRegressor(
        hidden_layer_sizes=(1,),
        max_iter=3,
        input_dropout=0.5,
        hidden_dropout=0.0,
        dropout_type="alpha",
        activation="selu",
        solver="sgd",
        random_state=0,
        target_scaling=None,  # the raw target of 1e7 diverged
    )
    try:
        model.fit(X, y)
        draws = model.mc_predict(X, n_samples=2, random_state=0)
    except FloatingPointError:
        return
    assert np.isfinite(draws).all()


def test_early_stopping_on_diverging_training_says_it_diverged():
    X = np.array([1, -1, 0, 1, -1, 0, 1, 1, 1, 0, 1, 0, 0, 1])[:, None]
    X = np.vstack([X, np.array([1, -1, 0, 1, 0, -1, 1, -1, 0, -1, -1, 0, 1])[:, None]])
    y = (
        1e8
        * np.array(
            [
                [2.952, -1.383, -0.0149, 1.292, -0.707, 1.681, 3.408, 2.921, 1.964],
                [-1.488, 1.602, 0.377, -1.568, 2.001, 2.036, -1.469, -1.463, 0.944],
                [-0.716, -3.335, 3.346, -2.661, 0.0496, -2.423, -0.581, 1.041, 2.239],
            ]
        ).ravel()
    )
    model = DropoutMLPRegressor(
        hidden_layer_sizes=(3,),
        max_iter=2,
        hidden_dropout=0.0,
        dropout_type="alpha",
        activation="selu",
        solver="sgd",
        early_stopping=True,
        batch_norm=True,
        random_state=1,
        target_scaling=None,  # the raw target of 1e8 makes it diverge
    )
    # It diverges after a first epoch with a finite validation score: that
    # epoch is kept, with a warning (scikit-learn's early stopping keeps it).
    with pytest.warns(ConvergenceWarning, match="diverged.*Kept the weights"):
        model.fit(X, y)
    assert np.isfinite(model.predict(X)).all()
    assert model.n_iter_ == 1


def test_zero_weight_mini_batch_is_a_step_without_data():
    # Its weight sum of 0 used to scale the L2 gradient by 1e12 and diverge.
    # A batch without weight has a zero gradient: with plain SGD (no
    # momentum, no noise) the fit equals one on the weighted rows alone.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(16, 2)), rng.normal(size=16)
    weights = np.r_[np.zeros(8), np.ones(8)]
    params = dict(
        hidden_layer_sizes=(4,),
        max_iter=2,
        solver="sgd",
        momentum=0.0,
        batch_size=8,
        shuffle=False,
        hidden_dropout=0.0,
        random_state=0,
    )
    model = DropoutMLPRegressor(**params).fit(X, y, sample_weight=weights)
    alone = DropoutMLPRegressor(**params).fit(X[8:], y[8:])
    for got, expected in zip(model.coefs_, alone.coefs_, strict=True):
        np.testing.assert_array_equal(got, expected)
