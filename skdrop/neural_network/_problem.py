"""What a fit of a dropout network hands to the engine, and early stopping's
split of its training rows: shared by the plain estimators' own fits and the
cross-validated estimators' members (see
:class:`~skdrop.neural_network._base._BaseDropoutMLP`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from .._engine import NetworkSpec


@dataclass(frozen=True)
class TrainingProblem:
    """A data set validated and encoded for the networks of one estimator.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_inputs)
        The encoded inputs, in the training dtype (float32, or float64 for
        L-BFGS).
    Y : ndarray of shape (n_samples, n_columns)
        The encoded target in float64, before any scaling: one column per
        output (the classifier's label indicators).
    labels : ndarray
        The target as given (1-d where it has one column): what folds and
        stratification split on.
    sample_weight : ndarray of shape (n_samples,) or None
    spec : NetworkSpec
        The network at the estimator's rates.
    head : str
        The engine's output head.
    seeds : tuple of int
        The fit's five seeds: initialization, masks, shuffling, early
        stopping's split and the Monte Carlo passes of fitted attributes.
    stratify : bool
        Whether early stopping's split is stratified by class.
    state : mapping
        The attributes the estimator learned from the data (encoding,
        classes, seeds, dropout groups): every network fitted on this
        problem has them.
    """

    X: np.ndarray
    Y: np.ndarray
    labels: np.ndarray
    sample_weight: np.ndarray | None
    spec: NetworkSpec
    head: str
    seeds: tuple[int, ...]
    stratify: bool
    state: Mapping[str, Any]


@dataclass(frozen=True)
class MemberRun:
    """How one network of a :class:`TrainingProblem` trains on a subset of
    its rows.

    Attributes
    ----------
    train_rows : ndarray of int
        The rows it trains on: its rows less those early stopping holds out.
    validation_rows : ndarray of int or None
        The rows early stopping scores, sorted; None without early stopping.
    target : ndarray of shape (n_samples, n_columns)
        The target it trains on, every row of it, in ``X``'s dtype (the
        regressor's standardized with its own rows' statistics).
    state : mapping
        The fitted attributes that target defines (the regressor's target
        statistics).
    """

    train_rows: np.ndarray
    validation_rows: np.ndarray | None
    target: np.ndarray
    state: Mapping[str, Any]


def early_stopping_split(
    rows: np.ndarray,
    Y: np.ndarray,
    sample_weight: np.ndarray | None,
    *,
    fraction: float,
    seed: int,
    stratify: bool,
    where: str = "",
) -> tuple[np.ndarray, np.ndarray]:
    """Early stopping's split of the training rows ``rows`` (indices into
    ``Y``): the rows trained on and the ``fraction`` held out to score, as
    :func:`~sklearn.model_selection.train_test_split` orders them, stratified
    by the rows of ``Y`` where ``stratify``.  A fit and a cross-validated
    member on the same rows hold out the same ones; ``where`` says in the
    zero-weight error which rows were split."""
    by = Y[rows] if stratify else None
    if by is not None and by.shape[1] == 1:
        by = by[:, 0]
    part, held = train_test_split(
        np.arange(len(rows)),
        test_size=fraction,
        random_state=seed % (2**32),
        stratify=by,
    )
    part, held = rows[part], rows[held]
    if sample_weight is not None:
        for name, subset in (("training", part), ("validation", held)):
            # The losses and scores are weighted means: a part that weighs
            # nothing has none.
            if not np.any(sample_weight[subset] > 0):
                raise ValueError(
                    f"early_stopping=True: sample_weight is zero on all "
                    f"{len(subset)} rows of the {name} part held out by "
                    f"validation_fraction={fraction}{where}; give "
                    "more rows a positive weight or set early_stopping=False"
                )
    return part, held


def check_validation_sizes(
    fraction: float, n: int, labels: np.ndarray, stratify: bool
) -> None:
    """Early stopping's split of ``n`` rows with these ``labels`` needs a
    training row and 2 validation rows (as scikit-learn's MLP: one row has
    no R^2) and, stratified, each class on both sides: say so in our terms,
    before the split would speak of test_size."""
    n_val = math.ceil(fraction * n)
    if stratify:
        _check_stratified_sizes(fraction, n, n_val, labels)
    if n_val < 2 or n - n_val < 1:
        raise ValueError(
            "The validation set is too small: early_stopping=True holds out "
            f"validation_fraction={fraction} of {n} samples, which leaves "
            f"{n - n_val} for training and {n_val} for validation; validation "
            "needs at least 2 and training at least 1. Increase "
            "validation_fraction or the size of your dataset, or set "
            "early_stopping=False."
        )


def _check_stratified_sizes(
    fraction: float, n: int, n_val: int, labels: np.ndarray
) -> None:
    """Each class on both sides of a stratified split."""
    found, counts = np.unique(labels, return_counts=True)
    if counts.min() < 2:
        raise ValueError(
            "early_stopping=True holds out a validation set stratified by class, "
            "which needs at least 2 samples of every class; class "
            f"{found.tolist()[counts.argmin()]!r} has only 1"
        )
    if min(n_val, n - n_val) < len(found):
        raise ValueError(
            "early_stopping=True holds out a validation set stratified by class: "
            f"validation_fraction={fraction} of {n} samples gives {n_val} for "
            f"validation and {n - n_val} for training, and each needs at least "
            f"one sample of each of the {len(found)} classes"
        )
