"""Every bad input a user can give, the error it raises and its message.

``CASES`` is the table behind docs/user_guide/input_validation.rst: each case
is run against each estimator it lists, and must raise exactly its exception
with a message matching ``match`` (``{est}`` stands for the estimator's
name).  ``test_documented`` checks that the page shows each case's input and
the start of its real message (or the stable substring ``doc``), so the page
cannot drift from the code.  To print the table's rows from the current
messages, run ``python -m tests.test_input_validation``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from skdrop import (
    DropoutLinearRegression,
    DropoutLinearRegressionCV,
    DropoutMLPClassifier,
    DropoutMLPRegressor,
)

DOCS = Path(__file__).parents[1] / "docs" / "user_guide" / "input_validation.rst"

ESTIMATORS = {
    "DropoutMLPClassifier": lambda **kw: DropoutMLPClassifier(
        **{"hidden_layer_sizes": (4,), "max_iter": 2, "random_state": 0, **kw}
    ),
    "DropoutMLPRegressor": lambda **kw: DropoutMLPRegressor(
        **{"hidden_layer_sizes": (4,), "max_iter": 2, "random_state": 0, **kw}
    ),
    "DropoutLinearRegression": lambda **kw: DropoutLinearRegression(**kw),
    "DropoutLinearRegressionCV": lambda **kw: DropoutLinearRegressionCV(**kw),
}
C, R, L, V = ESTIMATORS
MLP = (C, R)
LINEAR = (L, V)
REGRESSORS = (R, L, V)
ALL = (C, R, L, V)

_rng = np.random.default_rng(0)
X = _rng.normal(size=(20, 3))
Y_CLASSES = np.arange(20) % 2
Y_VALUES = _rng.normal(size=20)
FRAME = pd.DataFrame(X, columns=["a", "b", "c"])


def target(est):
    return Y_CLASSES if isinstance(est, DropoutMLPClassifier) else Y_VALUES


def fit_with(X=X, y=None, **kwargs):
    """A call that fits on ``X`` (and the estimator's usual target)."""

    def call(est):
        est.fit(X, target(est) if y is None else y, **kwargs)

    return call


def fitted_then(method, *args, fit_X=X, **kwargs):
    """A call that fits first, then calls ``method``."""

    def call(est):
        est.fit(fit_X, target(est))
        getattr(est, method)(*args, **kwargs)

    return call


def before_fit(method, *args, **kwargs):
    return lambda est: getattr(est, method)(*args, **kwargs)


def partial_fits(*calls):
    """``partial_fit`` calls in turn: each is (X, y, kwargs)."""

    def call(est):
        for X_, y_, kwargs in calls:
            est.partial_fit(X_, y_, **kwargs)

    return call


def _with_nan(A):
    A = A.astype(float)
    A[3, 0] = np.nan
    return A


def _with_value(A, value):
    A = A.astype(float)
    A[-1, 0] = value
    return A


@dataclass(frozen=True)
class Bad:
    """One bad input, the exception it raises and its message."""

    id: str
    estimators: tuple[str, ...]
    input: str  # what the user did, as the docs word it (reStructuredText)
    exception: type[BaseException]
    match: str  # regex; {est} is the estimator's name
    params: dict = field(default_factory=dict)
    call: Callable = field(default_factory=fit_with)
    doc: str | None = None  # the substring the docs show; default: 60 chars
    unless: str | None = None  # a reason to skip on this machine


CUDA = torch.cuda.is_available()
MPS = torch.backends.mps.is_available()

CASES = [
    # --- constructor parameters, checked by fit -------------------------
    Bad(
        "input_dropout_range",
        MLP,
        "``input_dropout=1.2`` (a rate outside [0, 1))",
        InvalidParameterError,
        r"The 'input_dropout' parameter of {est} must be a float in the range "
        r"\[0.0, 1.0\) or a str among {'learned'}\. Got 1.2 instead\.",
        params=dict(input_dropout=1.2),
    ),
    Bad(
        "input_dropout_type",
        MLP,
        "``input_dropout='high'``",
        InvalidParameterError,
        r"The 'input_dropout' parameter of {est} must be a float in the range "
        r"\[0.0, 1.0\) or a str among {'learned'}\. Got 'high' instead\.",
        params=dict(input_dropout="high"),
    ),
    Bad(
        "hidden_dropout_range",
        MLP,
        "``hidden_dropout=1.0``",
        InvalidParameterError,
        r"The 'hidden_dropout' parameter of {est} must be a float in the range "
        r"\[0.0, 1.0\), a str among {'learned'} or an array-like\. Got 1.0 "
        r"instead\.",
        params=dict(hidden_dropout=1.0),
    ),
    Bad(
        "hidden_dropout_list_range",
        MLP,
        "``hidden_dropout=[0.1, 1.0]`` with ``hidden_layer_sizes=(4, 4)``",
        ValueError,
        r"^hidden_dropout\[1\] must be in \[0, 1\), got 1.0$",
        params=dict(hidden_layer_sizes=(4, 4), hidden_dropout=[0.1, 1.0]),
    ),
    Bad(
        "hidden_dropout_list_length",
        MLP,
        "``hidden_dropout=[0.1]`` with ``hidden_layer_sizes=(4, 4)``",
        ValueError,
        r"^hidden_dropout has 1 rates but hidden_layer_sizes has 2 layers; give "
        r"one rate per hidden layer or a single float$",
        params=dict(hidden_layer_sizes=(4, 4), hidden_dropout=[0.1]),
    ),
    Bad(
        "hidden_dropout_not_numbers",
        MLP,
        "``hidden_dropout=['a']``",
        ValueError,
        r"^hidden_dropout must be a float in \[0, 1\), 'learned', or a list of "
        r"them, one per hidden layer, got \['a'\]$",
        params=dict(hidden_dropout=["a"]),
    ),
    Bad(
        "learned_rates_dropout_type",
        MLP,
        "``input_dropout='learned'`` with ``dropout_type='gaussian'``",
        ValueError,
        r"^learned dropout rates \(Concrete dropout\) relax Bernoulli masks: they "
        r"need dropout_type='bernoulli', got 'gaussian'$",
        params=dict(input_dropout="learned", dropout_type="gaussian"),
    ),
    Bad(
        "learned_rates_scaling",
        MLP,
        "``hidden_dropout='learned'`` with ``dropout_scaling='test_time'``",
        ValueError,
        r"^learned dropout rates scale the kept units by 1 / \(1 - p\) in "
        r"training: they need dropout_scaling='inverted', got 'test_time'$",
        params=dict(hidden_dropout="learned", dropout_scaling="test_time"),
    ),
    Bad(
        "prior_length_scale_not_positive",
        MLP,
        "``prior_length_scale=0``",
        InvalidParameterError,
        r"The 'prior_length_scale' parameter of {est} must be a float in the range "
        r"\(0.0, inf\)\. Got 0 instead\.",
        params=dict(prior_length_scale=0),
    ),
    Bad(
        "hidden_layer_sizes_zero_layer",
        MLP,
        "``hidden_layer_sizes=(4, 0)``",
        ValueError,
        r"^hidden_layer_sizes\[1\] must be a positive int, got 0$",
        params=dict(hidden_layer_sizes=(4, 0)),
    ),
    Bad(
        "hidden_layer_sizes_float",
        MLP,
        "``hidden_layer_sizes=(4.5,)``",
        ValueError,
        r"^hidden_layer_sizes\[0\] must be a positive int, got 4.5$",
        params=dict(hidden_layer_sizes=(4.5,)),
    ),
    Bad(
        "hidden_layer_sizes_scalar",
        MLP,
        "``hidden_layer_sizes=0``",
        InvalidParameterError,
        r"The 'hidden_layer_sizes' parameter of {est} must be an array-like or "
        r"an int in the range \[1, inf\)\. Got 0 instead\.",
        params=dict(hidden_layer_sizes=0),
    ),
    Bad(
        "activation",
        MLP,
        "``activation='gelu'`` (allowed: ``'identity'``, ``'logistic'``, "
        "``'tanh'``, ``'relu'``, ``'selu'``)",
        InvalidParameterError,
        r"The 'activation' parameter of {est} must be a str among \{.*\}\. Got "
        r"'gelu' instead\.",
        params=dict(activation="gelu"),
        doc="The 'activation' parameter of DropoutMLPClassifier must be a str among",
    ),
    Bad(
        "solver_mlp",
        MLP,
        "``solver='newton'`` (allowed: ``'adam'``, ``'adamw'``, ``'sgd'``, "
        "``'lbfgs'``)",
        InvalidParameterError,
        r"The 'solver' parameter of {est} must be a str among \{.*\}\. Got "
        r"'newton' instead\.",
        params=dict(solver="newton"),
        doc="The 'solver' parameter of DropoutMLPClassifier must be a str among",
    ),
    Bad(
        "lbfgs_with_dropout",
        MLP,
        "``solver='lbfgs'`` with a dropout rate above 0",
        ValueError,
        r"^solver='lbfgs' needs a deterministic objective, so every dropout rate "
        r"must be 0; got input_dropout=0\.0 and hidden_dropout=0\.5\. Use "
        r"solver='adam' \(or 'sgd'\) to train with dropout\.$",
        params=dict(solver="lbfgs"),
    ),
    Bad(
        "lbfgs_with_batch_norm",
        MLP,
        "``solver='lbfgs'`` with ``batch_norm=True``",
        ValueError,
        r"^solver='lbfgs' does not support batch_norm=True: it applies to "
        r"mini-batch steps; use solver='adam' or 'sgd'$",
        params=dict(solver="lbfgs", hidden_dropout=0.0, batch_norm=True),
    ),
    Bad(
        "partial_fit_lbfgs",
        MLP,
        "``partial_fit`` with ``solver='lbfgs'``",
        AttributeError,
        r"^This '{est}' has no attribute 'partial_fit'$",
        params=dict(solver="lbfgs", hidden_dropout=0.0),
        call=lambda est: est.partial_fit,
    ),
    Bad(
        "dropout_type",
        MLP,
        "``dropout_type='spatial'`` (allowed: ``'bernoulli'``, ``'gaussian'``, "
        "``'alpha'``, ``'dropconnect'``)",
        InvalidParameterError,
        r"The 'dropout_type' parameter of {est} must be a str among \{.*\}\. Got "
        r"'spatial' instead\.",
        params=dict(dropout_type="spatial"),
        doc="The 'dropout_type' parameter of DropoutMLPClassifier must be a str among",
    ),
    Bad(
        "dropout_scaling",
        MLP,
        "``dropout_scaling='never'`` (allowed: ``'inverted'``, ``'test_time'``)",
        InvalidParameterError,
        r"The 'dropout_scaling' parameter of {est} must be a str among \{.*\}\. "
        r"Got 'never' instead\.",
        params=dict(dropout_scaling="never"),
        doc="The 'dropout_scaling' parameter of DropoutMLPClassifier must be a "
        "str among",
    ),
    Bad(
        "target_scaling",
        (R,),
        "``target_scaling='minmax'`` (allowed: ``'standard'``, None)",
        InvalidParameterError,
        r"The 'target_scaling' parameter of {est} must be a str among "
        r"\{'standard'\} or None\. Got 'minmax' instead\.",
        params=dict(target_scaling="minmax"),
    ),
    Bad(
        "target_scaling_warm_start",
        (R,),
        "another ``target_scaling`` on a ``warm_start`` fit (or ``partial_fit``)",
        ValueError,
        r"^target_scaling=None differs from the fitted model's 'standard'; "
        r"warm_start and partial_fit continue the network trained on that "
        r"target: set warm_start=False to fit a new one$",
        params=dict(warm_start=True),
        call=lambda est: (
            est.fit(X, Y_VALUES).set_params(target_scaling=None).fit(X, Y_VALUES)
        ),
    ),
    Bad(
        "test_time_scaling",
        MLP,
        "``dropout_scaling='test_time'`` with ``dropout_type='gaussian'`` "
        "(or ``'alpha'``)",
        ValueError,
        r"^dropout_scaling='test_time' applies to dropout_type 'bernoulli' or "
        r"'dropconnect'; dropout_type='gaussian' has mean-one noise",
        params=dict(dropout_type="gaussian", dropout_scaling="test_time"),
    ),
    Bad(
        "batch_size",
        MLP,
        "``batch_size=0``",
        InvalidParameterError,
        r"The 'batch_size' parameter of {est} must be a str among \{'auto'\} or "
        r"an int in the range \[1, inf\)\. Got 0 instead\.",
        params=dict(batch_size=0),
    ),
    Bad(
        "max_iter",
        (C, R, L),
        "``max_iter=0``",
        InvalidParameterError,
        r"The 'max_iter' parameter of {est} must be an int in the range "
        r"\[1, inf\)\. Got 0 instead\.",
        params=dict(max_iter=0),
    ),
    Bad(
        "learning_rate_init",
        MLP,
        "``learning_rate_init=0``",
        InvalidParameterError,
        r"The 'learning_rate_init' parameter of {est} must be a float in the "
        r"range \(0.0, inf\)\. Got 0 instead\.",
        params=dict(learning_rate_init=0),
    ),
    Bad(
        "alpha",
        MLP,
        "``alpha=-1``",
        InvalidParameterError,
        r"The 'alpha' parameter of {est} must be a float in the range "
        r"\[0.0, inf\)\. Got -1 instead\.",
        params=dict(alpha=-1),
    ),
    Bad(
        "validation_fraction",
        MLP,
        "``validation_fraction=1.0``",
        InvalidParameterError,
        r"The 'validation_fraction' parameter of {est} must be a float in the "
        r"range \(0.0, 1.0\)\. Got 1.0 instead\.",
        params=dict(validation_fraction=1.0),
    ),
    Bad(
        "max_norm",
        MLP,
        "``max_norm=0``",
        InvalidParameterError,
        r"The 'max_norm' parameter of {est} must be a float in the range "
        r"\(0.0, inf\) or None\. Got 0 instead\.",
        params=dict(max_norm=0),
    ),
    Bad(
        "random_state",
        MLP,
        "``random_state='seed'``",
        InvalidParameterError,
        r"The 'random_state' parameter of {est} must be an int in the range "
        r"\[0, 4294967295\], an instance of 'numpy.random.mtrand.RandomState' or "
        r"None\. Got 'seed' instead\.",
        params=dict(random_state="seed"),
    ),
    Bad(
        "early_stopping_class_of_one",
        (C,),
        "``early_stopping=True`` with a class of a single sample",
        ValueError,
        r"^early_stopping=True holds out a validation set stratified by class, "
        r"which needs at least 2 samples of every class; class 'a' has only 1$",
        params=dict(early_stopping=True),
        call=fit_with(X=X[:4], y=["a", "b", "b", "b"]),
    ),
    Bad(
        "early_stopping_too_few_for_classes",
        (C,),
        "``early_stopping=True`` with fewer validation samples than classes",
        ValueError,
        r"^early_stopping=True holds out a validation set stratified by class: "
        r"validation_fraction=0.1 of 4 samples gives 1 for validation and 3 for "
        r"training, and each needs at least one sample of each of the 2 classes$",
        params=dict(early_stopping=True),
        call=fit_with(X=X[:4], y=[3, -1, 3, -1]),
    ),
    Bad(
        "early_stopping_one_sample",
        (R,),
        "``early_stopping=True`` on 1 sample",
        ValueError,
        r"^The validation set is too small: early_stopping=True holds out "
        r"validation_fraction=0.1 of 1 samples, which leaves 0 for training and "
        r"1 for validation; validation needs at least 2 and training at least 1\. "
        r"Increase validation_fraction or the size of your dataset, or set "
        r"early_stopping=False\.$",
        params=dict(early_stopping=True),
        call=fit_with(X=X[:1], y=[1.0]),
    ),
    Bad(
        "batch_norm_one_row",
        MLP,
        "``batch_norm=True`` with a mini-batch of one row (``batch_size=1``, or "
        "1 sample)",
        ValueError,
        r"^batch_norm=True needs at least 2 rows per mini-batch, got 1$",
        params=dict(batch_norm=True, batch_size=1),
    ),
    Bad(
        "device_name",
        (C, R, L),
        "``device='gpu0'`` (checked by the closed form too, which runs in numpy)",
        ValueError,
        r"^device must be 'cpu', 'auto', 'cuda', 'cuda:N' or 'mps', got 'gpu0'$",
        params=dict(device="gpu0"),
    ),
    Bad(
        "device_name_sgd",
        (L,),
        "``device='gpu0'`` with ``solver='sgd'``",
        ValueError,
        r"^device must be 'cpu', 'auto', 'cuda', 'cuda:N' or 'mps', got 'gpu0'$",
        params=dict(solver="sgd", device="gpu0"),
    ),
    Bad(
        "device_cuda_missing",
        MLP,
        "``device='cuda'`` on a machine without CUDA",
        ValueError,
        r"^device='cuda' was requested but CUDA is not available on this "
        r"machine; use device='cpu' or device='auto'\.$",
        params=dict(device="cuda"),
        doc="device='cuda' was requested but CUDA is not available on this "
        "machine; use device='cpu' or device='auto'.",
        unless="this machine has CUDA" if CUDA else None,
    ),
    Bad(
        "device_mps_missing",
        MLP,
        "``device='mps'`` on a machine without MPS",
        ValueError,
        r"^device='mps' was requested but MPS is not available on this machine; "
        r"use device='cpu' or device='auto'\.$",
        params=dict(device="mps"),
        doc="device='mps' was requested but MPS is not available on this "
        "machine; use device='cpu' or device='auto'.",
        unless="this machine has MPS" if MPS else None,
    ),
    Bad(
        "device_type",
        (C, R, L),
        "``device=0``",
        InvalidParameterError,
        r"The 'device' parameter of {est} must be an instance of 'str'\. Got 0 "
        r"instead\.",
        params=dict(device=0),
    ),
    Bad(
        "dropout_range",
        (L,),
        "``input_dropout=1.0``",
        InvalidParameterError,
        r"The 'input_dropout' parameter of {est} must be a float in the range "
        r"\[0.0, 1.0\)\. Got 1.0 instead\.",
        params=dict(input_dropout=1.0),
    ),
    Bad(
        "solver_linear",
        (L,),
        "``solver='lbfgs'`` (allowed: ``'closed_form'``, ``'sgd'``)",
        InvalidParameterError,
        r"The 'solver' parameter of {est} must be a str among \{.*\}\. Got "
        r"'lbfgs' instead\.",
        params=dict(solver="lbfgs"),
        doc="The 'solver' parameter of DropoutLinearRegression must be a str among",
    ),
    Bad(
        "fit_intercept",
        LINEAR,
        "``fit_intercept='yes'``",
        InvalidParameterError,
        r"The 'fit_intercept' parameter of {est} must be an instance of 'bool' or "
        r"an instance of 'numpy.bool'\. Got 'yes' instead\.",
        params=dict(fit_intercept="yes"),
    ),
    Bad(
        "dropouts_empty",
        (V,),
        "``input_dropouts=[]``",
        ValueError,
        r"^input_dropouts must be a non-empty 1-d list of rates, got \[\]$",
        params=dict(input_dropouts=[]),
    ),
    Bad(
        "dropouts_range",
        (V,),
        "``input_dropouts=[0.1, 1.0]``",
        ValueError,
        r"^input_dropouts must be in \[0, 1\), got 1.0$",
        params=dict(input_dropouts=[0.1, 1.0]),
    ),
    Bad(
        "dropouts_scalar",
        (V,),
        "``input_dropouts=0.5``",
        InvalidParameterError,
        r"The 'input_dropouts' parameter of {est} must be an array-like\. Got 0.5 "
        r"instead\.",
        params=dict(input_dropouts=0.5),
    ),
    Bad(
        "cv_type",
        (V,),
        "``cv='five'``",
        InvalidParameterError,
        r"The 'cv' parameter of {est} must be an int in the range \[2, inf\), an "
        r"object implementing 'split' and 'get_n_splits', an iterable or None\. "
        r"Got 'five' instead\.",
        params=dict(cv="five"),
    ),
    Bad(
        "cv_too_many_folds",
        (V,),
        "``cv=30`` with 20 samples",
        ValueError,
        r"^Cannot have number of splits n_splits=30 greater than the number of "
        r"samples: n_samples=20\.$",
        params=dict(cv=30),
    ),
    Bad(
        "scoring",
        (V,),
        "``scoring='nope'``",
        ValueError,
        r"^'nope' is not a valid scoring value\. Use "
        r"sklearn\.metrics\.get_scorer_names\(\) to get valid options\.$",
        params=dict(scoring="nope"),
    ),
    Bad(
        "store_cv_results",
        (V,),
        "``store_cv_results=True`` with ``cv=3``",
        ValueError,
        r"^store_cv_results=True needs cv=None \(leave-one-out\); got cv=3$",
        params=dict(cv=3, store_cv_results=True),
    ),
    Bad(
        "cv_split_without_weight",
        (V,),
        "``cv=2`` with a split whose training or test rows all have zero "
        "``sample_weight``",
        ValueError,
        r"^sample_weight is zero on every row of the test part of split 0 of "
        r"cv=2; each training and test part needs a row of positive weight$",
        params=dict(input_dropouts=[0.1], cv=2),
        call=fit_with(X=X[:4], y=Y_VALUES[:4], sample_weight=[0, 0, 1.0, 2.0]),
    ),
    # --- feature groups --------------------------------------------------
    Bad(
        "groups_overlap",
        ALL,
        "``feature_groups=[[0, 1], [1, 2]]`` (overlapping groups)",
        ValueError,
        r"^column 1 is listed in feature_groups\[0\] and feature_groups\[1\]; "
        r"feature groups must not overlap$",
        params=dict(feature_groups=[[0, 1], [1, 2]]),
    ),
    Bad(
        "groups_repeat",
        ALL,
        "``feature_groups=[[0, 0]]``",
        ValueError,
        r"^column 0 is listed twice in feature_groups\[0\]; feature groups must "
        r"not overlap$",
        params=dict(feature_groups=[[0, 0]]),
    ),
    Bad(
        "groups_out_of_range",
        ALL,
        "``feature_groups=[[0, 9]]`` with 3 features",
        ValueError,
        r"^feature_groups\[0\] has column index 9, out of range for X with 3 "
        r"features: indices must be in \[0, 2\]$",
        params=dict(feature_groups=[[0, 9]]),
    ),
    Bad(
        "groups_empty",
        ALL,
        "``feature_groups=[[]]``",
        ValueError,
        r"^feature_groups\[0\] is empty; each group needs at least one column$",
        params=dict(feature_groups=[[]]),
    ),
    Bad(
        "groups_names_without_names",
        ALL,
        "``feature_groups=[['a', 'b']]`` with an array",
        ValueError,
        r"^feature_groups\[0\] names column 'a', but X has no column names; use "
        r"column indices or fit on a pandas DataFrame$",
        params=dict(feature_groups=[["a", "b"]]),
    ),
    Bad(
        "groups_unknown_name",
        ALL,
        "``feature_groups=[['a', 'nope']]`` with a DataFrame",
        ValueError,
        r"^feature_groups\[0\] names unknown column 'nope'; the columns are "
        r"\['a', 'b', 'c'\]$",
        params=dict(feature_groups=[["a", "nope"]]),
        call=fit_with(X=FRAME),
    ),
    Bad(
        "groups_not_lists",
        ALL,
        "``feature_groups=[0, 1]``",
        ValueError,
        r"^feature_groups\[0\] must be a list of column indices or names, got 0$",
        params=dict(feature_groups=[0, 1]),
    ),
    Bad(
        "groups_bad_member",
        ALL,
        "``feature_groups=[[1.5]]``",
        ValueError,
        r"^feature_groups\[0\] must hold column indices \(int\) or names \(str\), "
        r"got 1.5$",
        params=dict(feature_groups=[[1.5]]),
    ),
    Bad(
        "groups_unknown_string",
        ALL,
        "``feature_groups='all'``",
        InvalidParameterError,
        r"The 'feature_groups' parameter of {est} must be an instance of 'list', "
        r"an instance of 'tuple', a str among \{'from_names'\} or None\. Got "
        r"'all' instead\.",
        params=dict(feature_groups="all"),
    ),
    Bad(
        "from_names_array",
        ALL,
        "``feature_groups='from_names'`` with an array",
        ValueError,
        r"^feature_groups='from_names' needs a pandas DataFrame with column names",
        params=dict(feature_groups="from_names"),
    ),
    Bad(
        "from_names_no_block",
        ALL,
        "``feature_groups='from_names'`` with no one-hot columns",
        ValueError,
        r"^feature_groups='from_names' found no one-hot block in the column names",
        params=dict(feature_groups="from_names"),
        call=fit_with(X=FRAME),
    ),
    # --- categorical features --------------------------------------------
    Bad(
        "categorical_unknown_name",
        ALL,
        "``categorical_features=['nope']`` with a DataFrame",
        ValueError,
        r"^categorical_features names unknown column 'nope'; the columns are "
        r"\['a', 'b', 'c'\]$",
        params=dict(categorical_features=["nope"]),
        call=fit_with(X=FRAME),
    ),
    Bad(
        "categorical_out_of_range",
        ALL,
        "``categorical_features=[7]`` with 3 features",
        ValueError,
        r"^categorical_features has column index 7, out of range for X with 3 "
        r"features$",
        params=dict(categorical_features=[7]),
    ),
    Bad(
        "categorical_mask_length",
        ALL,
        "``categorical_features=[True, False]`` with 3 features",
        ValueError,
        r"^categorical_features as a boolean mask has 2 entries but X has 3 "
        r"features$",
        params=dict(categorical_features=[True, False]),
    ),
    Bad(
        "categorical_names_without_names",
        ALL,
        "``categorical_features=['a']`` with an array",
        ValueError,
        r"^categorical_features names column 'a', but X has no column names; use "
        r"column indices or a pandas DataFrame$",
        params=dict(categorical_features=["a"]),
    ),
    Bad(
        "categorical_bad_member",
        ALL,
        "``categorical_features=[1.5]``",
        ValueError,
        r"^categorical_features must hold column names \(str\), indices \(int\) "
        r"or booleans, got 1.5$",
        params=dict(categorical_features=[1.5]),
    ),
    Bad(
        "categorical_unknown_string",
        ALL,
        "``categorical_features='all'``",
        InvalidParameterError,
        r"The 'categorical_features' parameter of {est} must be an array-like, a "
        r"str among \{'from_dtype'\} or None\. Got 'all' instead\.",
        params=dict(categorical_features="all"),
    ),
    Bad(
        "max_categories",
        ALL,
        "``max_categories=1``",
        InvalidParameterError,
        r"The 'max_categories' parameter of {est} must be an int in the range "
        r"\[2, inf\) or None\. Got 1 instead\.",
        params=dict(max_categories=1),
    ),
    Bad(
        "too_many_categories",
        LINEAR,
        "a categorical column with more than 10,000 levels",
        ValueError,
        r"^one-hot encoding the categorical columns gives 10001 columns, more "
        r"than the limit of 10000 \(column 'id': 10001 columns\); pass "
        r"max_categories to pool rare levels$",
        call=fit_with(
            X=pd.DataFrame({"id": [f"u{i}" for i in range(10001)]}),
            y=np.zeros(10001),
        ),
    ),
    Bad(
        "text_in_numeric_column",
        ALL,
        "text in a column that ``categorical_features`` does not list",
        ValueError,
        r"^column 'a' is numeric for this estimator but holds non-numeric values; "
        r"list it in categorical_features$",
        params=dict(categorical_features=["c"]),
        call=fit_with(X=FRAME.assign(a="x", c="y")),
    ),
    Bad(
        "nan_in_numeric_column",
        ALL,
        "NaN in a numeric column beside categorical ones",
        ValueError,
        r"^numeric column 'b' contains missing values \(NaN\); impute them first, "
        r"for example with sklearn.impute.SimpleImputer in a Pipeline$",
        call=fit_with(X=FRAME.assign(a="x", b=_with_nan(X)[:, 0])),
    ),
    Bad(
        "mixed_types_in_categorical_column",
        ALL,
        "a categorical column that holds both the number 1 and the string '1'",
        ValueError,
        r"^categorical column 'a' mixes value types \(int, str\); the number 1 "
        r"and the string '1' are different levels, so convert the column to one "
        r"type first, for example with \.astype\(str\)$",
        call=fit_with(X=FRAME.assign(a=pd.Series([1, "1"] * 10, dtype=object))),
    ),
    Bad(
        "categorical_type_changed",
        ALL,
        "``predict`` with numbers where ``fit`` had strings (categorical)",
        ValueError,
        r"^categorical column 'a' held string values in fit but holds number "
        r"values now; the number 1 and the string '1' are different levels, so "
        r"convert the column to the type it had in fit$",
        call=fitted_then(
            "predict",
            FRAME.assign(a=pd.Series([1, 2] * 10, dtype=object)),
            fit_X=FRAME.assign(a=pd.Series(["1", "2"] * 10, dtype=object)),
        ),
    ),
    Bad(
        "only_missing_categories",
        ALL,
        "only categorical columns, all missing",
        ValueError,
        r"^every column of X is categorical and missing in every row \(columns "
        r"'a'\): one-hot encoding leaves no column to fit on$",
        call=fit_with(X=pd.DataFrame({"a": pd.Series([None] * 20, dtype=object)})),
    ),
    # --- X ------------------------------------------------------------------
    Bad(
        "X_nan",
        ALL,
        "NaN in ``X`` (at ``fit`` or ``predict``)",
        ValueError,
        r"^Input X contains NaN\.\n{est} does not accept missing values",
        call=fit_with(X=_with_nan(X)),
        doc="Input X contains NaN.",
    ),
    Bad(
        "X_inf",
        ALL,
        "infinity in ``X``",
        ValueError,
        r"^Input X contains infinity or a value too large for "
        r"dtype\('float64'\)\.$",
        call=fit_with(X=_with_value(X, np.inf)),
    ),
    Bad(
        "X_text_array",
        ALL,
        "text in a numpy ``X``",
        ValueError,
        r"^X has non-numeric values \(could not convert string to float: "
        r"np\.str_\('x'\)\); list those columns in categorical_features",
        call=fit_with(X=np.where(X > 0, "x", "y")),
    ),
    Bad(
        "X_text_frame",
        ALL,
        "text columns with ``categorical_features=None``",
        ValueError,
        r"^X has non-numeric values \(could not convert string to float: 'x'\); "
        r"list those columns in categorical_features",
        params=dict(categorical_features=None),
        call=fit_with(X=FRAME.assign(a="x")),
    ),
    Bad(
        "X_3d",
        ALL,
        "a 3-d ``X``",
        ValueError,
        r"^Found array with dim 3, while dim <= 2 is required by {est}\.$",
        call=fit_with(X=X[:, :, None]),
    ),
    Bad(
        "X_1d",
        ALL,
        "a 1-d ``X``",
        ValueError,
        r"^Expected 2D array, got 1D array instead:",
        call=fit_with(X=X[:, 0]),
        doc="Expected 2D array, got 1D array instead:",
    ),
    Bad(
        "X_no_rows",
        ALL,
        "an ``X`` with no rows",
        ValueError,
        r"^Found array with 0 sample\(s\) \(shape=\(0, 3\)\) while a minimum of 1 "
        r"is required by {est}\.$",
        call=lambda est: est.fit(X[:0], target(est)[:0]),
    ),
    Bad(
        "X_no_columns",
        ALL,
        "an ``X`` with no columns",
        ValueError,
        r"^Found array with 0 feature\(s\) \(shape=\(20, 0\)\) while a minimum of "
        r"1 is required by {est}\.$",
        call=fit_with(X=X[:, :0]),
    ),
    Bad(
        "X_sparse",
        LINEAR,  # the networks train on it (tests/test_mlp_parity.py)
        "a sparse ``X``",
        TypeError,
        r"^Sparse data was passed for X, but dense data is required\. Use "
        r"'\.toarray\(\)' to convert to a dense numpy array\.$",
        call=fit_with(X=sp.csr_matrix(X)),
    ),
    Bad(
        "X_complex",
        ALL,
        "a complex ``X``",
        ValueError,
        r"^Complex data not supported",
        call=fit_with(X=X + 1j),
        doc="Complex data not supported",
    ),
    Bad(
        "X_beyond_float32",
        MLP,
        "values beyond float32's range (3.4e38) in ``X``",
        ValueError,
        r"^X has a value of magnitude 1e\+39, more than the 3.4e\+38 allowed "
        r"\(the network computes in float32\); scale it, for example with "
        r"StandardScaler$",
        call=fit_with(X=_with_value(X, 1e39)),
    ),
    Bad(
        "X_squares_overflow",
        LINEAR,
        "values in ``X`` whose squares overflow float64",
        ValueError,
        r"^X has a value of magnitude 1e\+200, more than the 3e\+149 allowed "
        r"\(sums of squares over 20 rows must fit in float64\); scale it, for "
        r"example with StandardScaler$",
        call=fit_with(X=_with_value(X, 1e200)),
    ),
    Bad(
        "X_features_at_predict",
        ALL,
        "``predict`` on an ``X`` with another number of columns",
        ValueError,
        r"^X has 2 features, but {est} is expecting 3 features as input\.$",
        call=fitted_then("predict", X[:, :2]),
    ),
    Bad(
        "X_names_at_predict",
        ALL,
        "``predict`` on a DataFrame whose column names differ from ``fit``",
        ValueError,
        r"^The feature names should match those that were passed during fit\.\n"
        r"Feature names unseen at fit time:\n- z\n",
        call=fitted_then("predict", FRAME.rename(columns={"c": "z"}), fit_X=FRAME),
        doc="The feature names should match those that were passed during fit.",
    ),
    Bad(
        "X_nan_at_predict",
        ALL,
        "NaN in ``X`` at ``predict``",
        ValueError,
        r"^Input X contains NaN\.\n{est} does not accept missing values",
        call=fitted_then("predict", _with_nan(X)),
        doc="Input X contains NaN.",
    ),
    # --- y ------------------------------------------------------------------
    Bad(
        "y_nan",
        ALL,
        "NaN in ``y``",
        ValueError,
        r"^Input y contains NaN\.$",
        call=lambda est: est.fit(X, _with_nan(target(est)[:, None])[:, 0]),
    ),
    Bad(
        "y_inf",
        REGRESSORS,
        "infinity in ``y``",
        ValueError,
        r"^Input y contains infinity or a value too large for "
        r"dtype\('float64'\)\.$",
        call=fit_with(y=_with_value(Y_VALUES[:, None], np.inf)[:, 0]),
    ),
    Bad(
        "y_none_mlp",
        MLP,
        "``y=None``",
        ValueError,
        r"^{est} requires y to be passed, but the target y is None$",
        call=lambda est: est.fit(X, None),
    ),
    Bad(
        "y_none_linear",
        LINEAR,
        "``y=None``",
        ValueError,
        r"^This {est} estimator requires y to be passed, but the target y is "
        r"None\.$",
        call=lambda est: est.fit(X, None),
    ),
    Bad(
        "y_length",
        ALL,
        "``y`` of another length than ``X``",
        ValueError,
        r"^Found input variables with inconsistent numbers of samples: "
        r"\[20, 19\]$",
        call=lambda est: est.fit(X, target(est)[:-1]),
    ),
    Bad(
        "y_continuous",
        (C,),
        "a continuous ``y`` for the classifier",
        ValueError,
        r"^Unknown label type: 'continuous'; {est} needs class labels or a "
        r"multilabel indicator matrix \(for continuous targets use "
        r"DropoutMLPRegressor\)$",
        call=fit_with(y=Y_VALUES),
    ),
    Bad(
        "y_multiclass_multioutput",
        (C,),
        "a multiclass multi-output ``y``",
        ValueError,
        r"^Unknown label type: 'multiclass-multioutput'; {est} needs class labels",
        call=fit_with(y=np.column_stack([np.arange(20) % 3, np.arange(20) % 2])),
    ),
    Bad(
        "y_text_regression",
        REGRESSORS,
        "text in ``y`` for a regressor",
        ValueError,
        r"^{est} needs a numeric target y, got values such as 'b'",
        call=fit_with(y=np.array(["1"] * 19 + ["b"])),
    ),
    Bad(
        "y_beyond_float32",
        (R,),
        "values beyond float32's range in ``y``",
        ValueError,
        r"^y has a value of magnitude 1e\+39, more than the 3.4e\+38 allowed "
        r"\(the network computes in float32\)",
        call=fit_with(y=_with_value(Y_VALUES[:, None], 1e39)[:, 0]),
    ),
    Bad(
        "y_squares_overflow",
        LINEAR,
        "values in ``y`` whose squares overflow float64",
        ValueError,
        r"^y has a value of magnitude 1e\+200, more than the 3e\+149 allowed",
        call=fit_with(y=_with_value(Y_VALUES[:, None], 1e200)[:, 0]),
    ),
    # --- sample_weight ------------------------------------------------------
    Bad(
        "sample_weight_negative",
        ALL,
        "a negative ``sample_weight``",
        ValueError,
        r"^Negative values in data passed to `sample_weight`\.$",
        call=fit_with(sample_weight=-np.ones(20)),
    ),
    Bad(
        "sample_weight_length",
        ALL,
        "``sample_weight`` of another length than ``X``",
        ValueError,
        r"^sample_weight\.shape == \(19,\), expected \(20,\)!$",
        call=fit_with(sample_weight=np.ones(19)),
    ),
    Bad(
        "sample_weight_zero",
        ALL,
        "an all-zero ``sample_weight``",
        ValueError,
        r"^Sample weights must contain at least one non-zero number\.$",
        call=fit_with(sample_weight=np.zeros(20)),
    ),
    Bad(
        "sample_weight_nan",
        ALL,
        "NaN in ``sample_weight``",
        ValueError,
        r"^Input sample_weight contains NaN\.$",
        call=fit_with(sample_weight=_with_nan(np.ones((20, 1)))[:, 0]),
    ),
    Bad(
        "sample_weight_2d",
        ALL,
        "a 2-d ``sample_weight``",
        ValueError,
        r"^Sample weights must be 1D array or scalar, got 2D array\. Expected "
        r"either a scalar value or a 1D array of length 20\.$",
        call=fit_with(sample_weight=np.ones((20, 1))),
    ),
    Bad(
        "loo_one_row",
        (V,),
        "one row (or one row of positive weight) with ``cv=None``",
        ValueError,
        r"^cv=None \(leave-one-out\) needs at least 2 samples of positive "
        r"weight, got 1 sample$",
        call=fit_with(X=X[:1], y=Y_VALUES[:1]),
    ),
    # --- numerical trouble --------------------------------------------------
    Bad(
        "diverged",
        (R,),
        "training that diverges (unscaled data, a large ``learning_rate_init``)",
        FloatingPointError,
        r"^The training loss became (nan|inf) at epoch \d+; the optimization "
        r"diverged\. Try a smaller learning_rate_init, or scale the features "
        r"\(for example with StandardScaler\) and, for regression, the target "
        r"\(TransformedTargetRegressor\)\.$",
        params=dict(solver="sgd", learning_rate_init=1e6),
        call=fit_with(X=X * 1e3),
        doc="the optimization diverged. Try a smaller learning_rate_init, or scale "
        "the features (for example with StandardScaler)",
    ),
    Bad(
        "diverged_validation",
        (R,),
        "``early_stopping=True`` with training that diverges",
        FloatingPointError,
        r"^The network predicts non-finite values on the validation set at "
        r"epoch \d+; the optimization diverged\. Try a smaller "
        r"learning_rate_init",
        params=dict(
            hidden_layer_sizes=(3,),
            hidden_dropout=0.0,
            solver="sgd",
            learning_rate_init=1e10,
            early_stopping=True,
            max_iter=1,
            target_scaling=None,  # the raw target of 1e10 makes it diverge
        ),
        call=fit_with(y=Y_VALUES * 1e10),
        doc="the optimization diverged.",
    ),
    Bad(
        "diverged_in_last_step",
        (R,),
        "training whose last step diverges",
        FloatingPointError,
        r"^The trained network predicts non-finite values on its training data; "
        r"the optimization diverged\.",
        params=dict(
            hidden_layer_sizes=(4, 2),
            max_iter=1,
            hidden_dropout=0.0,
            activation="identity",
            solver="sgd",
        ),
        call=fit_with(X=[[12573022.10933933]], y=[0.64042265]),
    ),
    Bad(
        "diverged_sgd",
        (L,),
        "``solver='sgd'`` that diverges (a large ``step_fraction``)",
        FloatingPointError,
        r"^The training loss became (nan|inf) at epoch \d+; try a smaller "
        r"step_fraction\.$",
        params=dict(solver="sgd", step_fraction=1e6, random_state=0),
        doc="; try a smaller step_fraction.",
    ),
    # --- methods ------------------------------------------------------------
    Bad(
        "predict_before_fit",
        ALL,
        "``predict`` (or ``predict_proba``, ``mc_predict``, ``score``) before ``fit``",
        NotFittedError,
        r"^This {est} instance is not fitted yet\. Call 'fit' with appropriate "
        r"arguments before using this estimator\.$",
        call=before_fit("predict", X),
    ),
    Bad(
        "mc_predict_before_fit",
        MLP,
        "``mc_predict`` before ``fit``",
        NotFittedError,
        r"^This {est} instance is not fitted yet\.",
        call=before_fit("mc_predict", X),
    ),
    Bad(
        "mc_predict_zero",
        MLP,
        "``mc_predict(X, n_samples=0)``",
        ValueError,
        r"^n_samples must be a positive int, got 0$",
        call=fitted_then("mc_predict", X, n_samples=0),
    ),
    Bad(
        "mc_predict_float",
        MLP,
        "``mc_predict(X, n_samples=2.5)``",
        ValueError,
        r"^n_samples must be a positive int, got 2.5$",
        call=fitted_then("mc_predict", X, n_samples=2.5),
    ),
    Bad(
        "mc_predict_bool",
        MLP,
        "``mc_predict(X, n_samples=True)``",
        ValueError,
        r"^n_samples must be a positive int, got True$",
        call=fitted_then("mc_predict", X, n_samples=True),
    ),
    Bad(
        "mc_predict_random_state",
        MLP,
        "``mc_predict(X, random_state='seed')``",
        ValueError,
        r"^random_state must be None, an int, a numpy RandomState or Generator, "
        r"got 'seed'$",
        call=fitted_then("mc_predict", X, random_state="seed"),
    ),
    Bad(
        "predict_overflow",
        MLP,
        "``predict`` (or ``mc_predict``) on inputs so large that the network's "
        "float32 output overflows",
        FloatingPointError,
        r"^The network's output is not finite \(inf or NaN\) for 2 input "
        r"row\(s\): the computation overflowed\.",
        params=dict(hidden_layer_sizes=(4, 4), activation="identity"),
        call=fitted_then("predict", np.full((2, 3), 3e38)),
    ),
    Bad(
        "linear_predict_overflow",
        LINEAR,
        "``predict`` on inputs so large that ``X @ coef_`` overflows float64",
        FloatingPointError,
        r"^The prediction overflows float64 \(inf or NaN\) for 1 input row\(s\)",
        call=fitted_then("predict", np.r_[X[:1], X[1:2] * 1e306], fit_X=X * 1e-3),
    ),
    Bad(
        "early_stopping_zero_weight_validation",
        MLP,
        "``early_stopping=True`` with ``sample_weight`` zero on every validation row",
        ValueError,
        r"^early_stopping=True: sample_weight is zero on all 2 rows of the "
        r"validation part held out by validation_fraction=0\.1; give more rows "
        r"a positive weight or set early_stopping=False$",
        params=dict(early_stopping=True),
        call=fit_with(sample_weight=np.r_[1.0, np.zeros(19)]),
    ),
    Bad(
        "partial_fit_without_classes",
        (C,),
        "the first ``partial_fit`` without ``classes``",
        ValueError,
        r"^classes must be passed on the first call to partial_fit\.$",
        call=partial_fits((X, Y_CLASSES, {})),
    ),
    Bad(
        "partial_fit_unseen_class",
        (C,),
        "``partial_fit`` with a class not in the first call's ``classes``",
        ValueError,
        r"^y has classes \[5\] that are not in classes \[0, 1\]; pass every class "
        r"to the first partial_fit call$",
        call=partial_fits((X, Y_CLASSES, {"classes": [0, 1]}), (X, np.full(20, 5), {})),
    ),
    Bad(
        "partial_fit_other_classes",
        (C,),
        "``partial_fit`` with other ``classes`` than the first call",
        ValueError,
        r"^classes=\[0, 1, 2\] is not the same as on the first call to "
        r"partial_fit, \[0, 1\]$",
        call=partial_fits(
            (X, Y_CLASSES, {"classes": [0, 1]}),
            (X, Y_CLASSES, {"classes": [0, 1, 2]}),
        ),
    ),
    Bad(
        "partial_fit_features",
        (C,),
        "``partial_fit`` with another number of columns",
        ValueError,
        r"^X has 2 features, but {est} is expecting 3 features as input\.$",
        call=partial_fits(
            (X, Y_CLASSES, {"classes": [0, 1]}), (X[:, :2], Y_CLASSES, {})
        ),
    ),
    Bad(
        "partial_fit_targets",
        (R,),
        "``partial_fit`` with another number of targets",
        ValueError,
        r"^y must have the same number of targets as in the first fit$",
        call=partial_fits(
            (X, Y_VALUES, {}), (X, np.column_stack([Y_VALUES, Y_VALUES]), {})
        ),
    ),
]


def _run(case, name):
    """The exception ``case`` raises with estimator ``name``."""
    est = ESTIMATORS[name](**case.params)
    with pytest.raises(BaseException) as info:
        case.call(est)
    return info.value


def _first_message(case):
    return str(_run(case, case.estimators[0]))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize(
    ("case", "name"),
    [
        pytest.param(case, name, id=f"{case.id}-{name}")
        for case in CASES
        for name in case.estimators
    ],
)
def test_bad_input(case, name):
    if case.unless:
        pytest.skip(case.unless)
    exc = _run(case, name)
    assert type(exc) is case.exception, f"{type(exc).__name__}: {exc}"
    message = str(exc)
    assert re.search(case.match.replace("{est}", name), message), message
    if case.doc is not None and name == case.estimators[0]:
        assert case.doc in message


def _normalized(text):
    return " ".join(text.split())


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_documented():
    """Each case has its row in the docs' table: its input, its exception
    and the start of its real message (or its ``doc`` substring)."""
    page = _normalized(DOCS.read_text(encoding="utf-8"))
    missing = []
    for case in CASES:
        if case.doc is not None:
            shown = case.doc
        elif case.unless:
            continue
        else:
            shown = _first_message(case)[:60]
        row = f"- {case.input} - {_exception_name(case.exception)} - ``"
        found = _normalized(row + shown) in page or (
            # a ``doc`` from the middle of the message
            case.doc is not None
            and _normalized(row) in page
            and _normalized(shown) in page
        )
        if not found:
            missing.append(f"{case.id}: {row + shown!r}")
    assert not missing, "not in input_validation.rst:\n" + "\n".join(missing)


def test_case_ids_are_unique():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))


# --- the docs' table, from the current messages -----------------------------

_SHOWN = 240  # longer messages are cut, at a word, with "..."


def _shown_message(case):
    message = _first_message(case)
    if case.doc is not None:  # up to the end of the documented substring
        end = message.index(case.doc) + len(case.doc)
        return message[:end] + (" ..." if end < len(message) else "")
    first_line = message.split("\n")[0]
    if len(first_line) > _SHOWN:
        return first_line[:_SHOWN].rsplit(" ", 1)[0] + " ..."
    return first_line + (" ..." if first_line != message else "")


def _exception_name(exc_type):
    if exc_type is InvalidParameterError:
        return "``InvalidParameterError``"
    return f"``{exc_type.__name__}``"


def table_rows():
    """The docs' list-table (run outside pytest: see the top)."""
    rows = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 16 26 12 46",
        "",
        "   * - Estimator(s)",
        "     - Input",
        "     - Exception",
        "     - Message",
    ]
    for case in CASES:
        who = "all" if case.estimators == ALL else ", ".join(case.estimators)
        rows.append(
            f"   * - {who}\n"
            f"     - {case.input}\n"
            f"     - {_exception_name(case.exception)}\n"
            f"     - ``{_shown_message(case)}``"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("ignore")
    print(table_rows())
