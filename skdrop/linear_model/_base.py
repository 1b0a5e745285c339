"""What the linear and logistic dropout estimators share (parameters, data
checks, the SGD solver), and the pieces of the linear regressions' searches:
leave-one-out scores and the fitted copies that stand for refits without
some columns."""

from __future__ import annotations

import copy
import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight

from .._engine import fit_linear_sgd
from ..exceptions import FitInterrupted
from ..utils import (
    VersionedStateMixin,
    check_magnitude,
    encoded_groups,
    group_labels,
    loss_progress,
    resolve_batch_size,
    resolve_device,
    seed_from_random_state,
    validate_X,
    validate_X_y,
)
from ._closed_form import build_system, dropout_lambda, removal_solutions

# The parameters that describe the input, which every linear estimator has.
INPUT_CONSTRAINTS: dict = {
    "feature_groups": [list, tuple, StrOptions({"from_names"}), None],
    "categorical_features": ["array-like", StrOptions({"from_dtype"}), None],
    "max_categories": [Interval(Integral, 2, None, closed="left"), None],
    "fit_intercept": ["boolean"],
}
# The rate of an estimator fitted at one rate (the searches take a grid).
RATE_CONSTRAINTS: dict = {"dropout": [Interval(Real, 0, 1, closed="left")]}
# The SGD solver's parameters, but ``tol`` (whose default depends on the
# estimator).
SGD_CONSTRAINTS: dict = {
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    "random_state": ["random_state"],
    "device": [str],
    "verbose": ["verbose"],
}


class LinearDropoutBase(VersionedStateMixin, BaseEstimator):
    """What the linear and logistic dropout estimators share: the data
    checks, the dropout groups and the SGD solver with real masks.

    A concrete estimator lists scikit-learn's ``RegressorMixin`` or
    ``ClassifierMixin`` first, then the mixin of its family, which checks
    the target (``_check_target`` and ``_target_checks``, the target options
    of ``validate_data``) and predicts.
    """

    _target_checks: ClassVar[dict] = {}

    def _accepts_sparse(self) -> bool:
        """Whether ``fit`` takes a sparse ``X`` (the tags say the same)."""
        return False

    def _validate_fit_data(self, X, y, sample_weight):
        """Encoded float64 ``X`` (CSR when sparse), the checked target, the
        checked row weights and the dropout groups (also stored as
        ``feature_groups_``)."""
        X, y = validate_X_y(
            self,
            X,
            y,
            accept_sparse="csr" if self._accepts_sparse() else False,
            dtype=np.float64,
            reset=True,
            **self._target_checks,
        )
        # The solvers sum squares and cross products over the rows (and the
        # linear leave-one-out residuals divide by 1 - h): keep a 1e4
        # headroom below float64's largest.
        limit = np.sqrt(np.finfo(np.float64).max / max(X.shape[0], 1)) * 1e-4
        why = f"sums of squares over {X.shape[0]} rows must fit in float64"
        check_magnitude(X.data if sp.issparse(X) else X, "X", limit, why)
        y = self._check_target(y, limit, why)
        sample_weight = self._check_weights(sample_weight, X)
        groups = encoded_groups(self, self.feature_groups, X)
        self.feature_groups_ = groups
        return X, y, sample_weight, groups

    def _check_weights(self, sample_weight, X):
        """Non-negative float64 row weights; None (unweighted) stays None."""
        if sample_weight is None:
            return None
        return _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )

    def _fit_sgd(self, X, Y, sample_weight, groups, *, tol, loss, option, stacklevel=3):
        """Averaged SGD with real masks (:func:`fit_linear_sgd`) behind a
        progress bar over epochs.

        ``Y`` has one column per output, ``loss`` is ``fit_linear_sgd``'s, and
        ``option`` names the parameter that chose SGD, for the
        ``ConvergenceWarning`` given when ``max_iter`` ends the fit first
        (``stacklevel`` points it at the estimator's ``fit``).
        """
        device = resolve_device(self.device)
        has_groups = any(len(g) > 1 for g in groups)
        with loss_progress(
            self.max_iter, verbose=self.verbose, desc="sgd", unit="epoch"
        ) as progress:
            result = fit_linear_sgd(
                X,
                Y,
                sample_weight,
                dropout=self.dropout,
                group_index=group_labels(groups, X.shape[1]) if has_groups else None,
                n_groups=len(groups),
                fit_intercept=self.fit_intercept,
                max_iter=self.max_iter,
                batch_size=resolve_batch_size(self.batch_size, X.shape[0]),
                learning_rate_init=self.learning_rate_init,
                tol=tol,
                seed=seed_from_random_state(self.random_state),
                device=device,
                progress=progress,
                loss=loss,
            )
        if tol > 0 and not result.converged and not result.interrupted:
            warnings.warn(
                f"{type(self).__name__}({option}='sgd') reached max_iter="
                f"{self.max_iter} epochs without converging; increase max_iter.",
                ConvergenceWarning,
                stacklevel=stacklevel,
            )
        return result

    def _raise_if_interrupted(self, result):
        """A :class:`~skdrop.exceptions.FitInterrupted` when Ctrl-C stopped
        SGD: the estimator keeps the completed epochs, already stored."""
        if result.interrupted:
            raise FitInterrupted(
                estimator_name=type(self).__name__, n_epochs=result.n_iter
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self._accepts_sparse()
        return tags


def as_columns(y):
    """A regression target as a 2-d array, and whether it was 1-d."""
    return (y.reshape(-1, 1) if y.ndim == 1 else y), y.ndim == 1


def drop_column_models(estimator, X, y, column_groups, sample_weight):
    """:meth:`DropoutLinearRegression.drop_column_refits` for the closed form."""
    full = clone(estimator)
    Xv, yv, sample_weight, groups = full._validate_fit_data(X, y, sample_weight)
    yv, single = as_columns(yv)
    if full.categories_:
        return None
    units = check_column_groups(column_groups, Xv.shape[1])
    system, _, _ = build_system(Xv, yv, sample_weight, groups, full.fit_intercept)
    solved = removal_solutions(system, dropout_lambda(full.dropout), units)
    if solved is None:
        return None
    # The fitted input bookkeeping (feature count, names, no encoder) comes
    # from validating one row, as fit does; each refit then takes its part.
    template = clone(estimator).set_params(categorical_features=None)
    first_row = X.iloc[:1] if hasattr(X, "iloc") else np.asarray(X)[:1]
    validate_X(template, first_row, reset=True)
    blocks = any(len(g) > 1 for g in groups)
    labels = group_labels(groups, Xv.shape[1]) if blocks else None  # None: singletons
    return [
        reduced_copy(
            template,
            _other_columns(unit, Xv.shape[1]),
            labels,
            (coef, system.y_offset - system.x_offset @ coef, system.penalty),
            single,
        )
        for unit, coef in zip(units, solved[1], strict=True)
    ]


def check_column_groups(column_groups, n_features: int) -> list[np.ndarray]:
    """``column_groups`` as int arrays of distinct columns of ``X``, each
    leaving at least one column, or a ``ValueError`` naming the bad group.
    An empty group leaves no column out."""
    out = []
    for k, group in enumerate(column_groups):
        g = np.asarray(group)
        if g.ndim != 1 or (g.size and g.dtype.kind not in "iu"):
            raise ValueError(
                f"column_groups[{k}] must be a list of column indices, got {group!r}"
            )
        if g.size == 0:
            out.append(np.empty(0, dtype=np.intp))
            continue
        if g.min() < 0 or g.max() >= n_features or len(np.unique(g)) != g.size:
            raise ValueError(
                f"column_groups[{k}] must list distinct column indices in "
                f"[0, {n_features - 1}], got {group!r}"
            )
        if g.size == n_features:
            raise ValueError(
                f"column_groups[{k}] lists every column of X; a refit needs at "
                "least one column left"
            )
        out.append(g.astype(np.intp))
    return out


def _other_columns(unit, n_features: int) -> np.ndarray:
    """The columns outside ``unit``, in order."""
    keep = np.ones(n_features, dtype=bool)
    keep[unit] = False
    return np.flatnonzero(keep)


def reduced_copy(template, keep, labels, solution, single_target):
    """A fitted copy of ``template`` as ``fit`` leaves it on the columns
    ``keep``.

    ``template`` is the estimator with its input bookkeeping validated on all
    the columns (without categorical ones), ``labels`` the fitted group of
    each column (None when each column is a group of its own), and
    ``solution`` is ``(coef, intercept, penalty)`` over all columns (zero
    coefficients on the left-out ones).
    """
    if labels is None:
        kept = list(np.arange(len(keep), dtype=np.intp).reshape(-1, 1))
    else:
        members: dict[int, list[int]] = {}
        for new, label in enumerate(labels[keep].tolist()):
            members.setdefault(label, []).append(new)
        kept = [np.array(m, dtype=np.intp) for m in members.values()]
        kept.sort(key=lambda g: int(g[0]))
    blocks = [g.tolist() for g in kept if len(g) > 1]
    model = copy.copy(template)  # unfitted parameters and validated input
    model.feature_groups = blocks or None
    model.n_features_in_ = len(keep)
    if hasattr(template, "feature_names_in_"):
        model.feature_names_in_ = template.feature_names_in_[keep]
    model.categories_ = {}
    model.feature_groups_ = kept
    coef, intercept, penalty = solution
    if penalty.ndim == 1:
        penalty = penalty[keep]
    else:
        penalty = penalty[np.ix_(keep, keep)]
        if not blocks:  # every group left is a single column: fit stores B's diagonal
            penalty = np.diag(penalty).copy()
    model._set_solution(coef[keep], intercept, penalty, single_target)
    model.n_iter_ = 1
    return model


class _IdentityRegressor(RegressorMixin, BaseEstimator):
    """Lets a scorer evaluate precomputed leave-one-out predictions."""

    def fit(self, X, y=None):
        return self

    def predict(self, X):
        return X


def loo_scores(estimator, residuals, y, single, sample_weight):
    """Each rate's score from its leave-one-out residuals, and what
    ``cv_results_`` keeps: squared errors, or predictions with a scorer.

    ``residuals`` has shape (n_samples, n_targets, n_rates); the score is the
    negative mean squared error without ``estimator.scoring``.
    """
    if estimator.scoring is None:
        weights = np.ones(len(y)) if sample_weight is None else sample_weight
        squared = residuals**2
        scores = -np.einsum("i,ikr->r", weights, squared) / (weights.sum() * y.shape[1])
        return scores, squared
    scorer = check_scoring(estimator, scoring=estimator.scoring)
    predictions = y[:, :, None] - residuals
    kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
    y_true = y[:, 0] if single else y
    scores = [
        scorer(
            _IdentityRegressor(),
            predictions[:, 0, r] if single else predictions[:, :, r],
            y_true,
            **kwargs,
        )
        for r in range(residuals.shape[2])
    ]
    return np.array(scores), predictions


def check_split_weights(sample_weight, splits, cv) -> None:
    """A ``ValueError`` when a training or test part has no positive weight."""
    for k, (train, test) in enumerate(splits):
        for part, rows in (("training", train), ("test", test)):
            if not sample_weight[rows].any():
                raise ValueError(
                    f"sample_weight is zero on every row of the {part} "
                    f"part of split {k} of cv={cv!r}; each training "
                    "and test part needs a row of positive weight"
                )
