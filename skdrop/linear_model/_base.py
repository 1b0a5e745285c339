"""What the linear and logistic dropout estimators share (parameters, data
checks, the SGD solver), and the pieces of the linear regressions' searches:
leave-one-out scores and the fitted copies that stand for refits without
some columns."""

from __future__ import annotations

import copy
import inspect
import warnings
from numbers import Integral, Real
from typing import Any, ClassVar

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
    DEPRECATED,
    DEPRECATED_OPTION,
    VersionedStateMixin,
    check_magnitude,
    encoded_groups,
    group_labels,
    loss_progress,
    renamed_parameters,
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
_RATE = Interval(Real, 0, 1, closed="left")
_STEP = Interval(Real, 0, None, closed="neither")
# The rate of an estimator fitted at one rate (the searches take a grid),
# and its name before 0.3.
RATE_CONSTRAINTS: dict = {
    "input_dropout": [_RATE],
    "dropout": [_RATE, DEPRECATED_OPTION],
}
# The SGD solver's parameters, but ``tol`` (whose default depends on the
# estimator).
SGD_CONSTRAINTS: dict = {
    "max_iter": [Interval(Integral, 1, None, closed="left")],
    "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    "step_fraction": [_STEP],
    "learning_rate_init": [_STEP, DEPRECATED_OPTION],
    "random_state": ["random_state"],
    "device": [str],
    "verbose": ["verbose"],
}
# The searches' constraints that GridSearchCV's own parameters share.
GRID_CONSTRAINTS: dict = {
    "input_dropouts": ["array-like"],
    "dropouts": ["array-like", DEPRECATED_OPTION],
}
# Fitted attributes of before 0.3 that are read through descriptors now.
_OLD_FITTED = ("dropout_", "scores_")
# Parameters renamed in 0.3: old name -> new name.
RENAMED = {
    "dropout": "input_dropout",
    "dropouts": "input_dropouts",
    "learning_rate_init": "step_fraction",
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

    def _settings(self) -> dict[str, Any]:
        """The renamed parameters' values under their new names: the old
        name's, with a ``FutureWarning``, where the user set it (a
        ``ValueError`` when the new name is set too)."""
        return renamed_parameters(self, RENAMED)

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Loads estimators saved before 0.3: their old parameter names
        become the new ones, parameters added since get their defaults and
        a fitted one gets ``input_dropout_``."""
        state = dict(state)
        parameters = inspect.signature(type(self)).parameters
        if not any(name not in state for name in parameters):
            super().__setstate__(state)
            return
        state = self._migrated(state, parameters)
        # The old fitted names leave __dict__, where they would hide the
        # renamed_entry descriptors that now read them.
        old = {key: state.pop(key) for key in _OLD_FITTED if key in state}
        if not isinstance(state.get("cv_results_", {}), dict):
            old["cv_results_"] = state.pop("cv_results_")
        super().__setstate__(state)
        if "coef_" in state:
            self._migrate_fitted(old)

    def _migrated(self, state, parameters):
        """A pre-0.3 state with the parameters of this release."""
        for old, new in RENAMED.items():
            if old in parameters and old in state:
                state[new], state[old] = state[old], DEPRECATED
        self._migrate_state(state)
        for name, parameter in parameters.items():
            state.setdefault(name, parameter.default)
        if "n_features_in_" in state and "coef_" in state:
            rate = state.get("dropout_", state.get("input_dropout"))
            state["input_dropout_"] = np.full(state["n_features_in_"], float(rate))
        return state

    def _migrate_state(self, state: dict[str, Any]) -> None:
        """Rewrite a pre-0.3 state's parameters in place (beyond the plain
        renames)."""

    def _migrate_fitted(self, old: dict[str, Any]) -> None:
        """Give a fitted estimator loaded from a pre-0.3 file the fitted
        attributes of this release; ``old`` holds the file's fitted
        attributes whose names or meanings changed (``dropout_``,
        ``scores_``, an array ``cv_results_``)."""

    def _accepts_sparse(self) -> bool:
        """Whether ``fit`` takes a sparse ``X`` (the tags say the same)."""
        return False

    def _validate_fit_data(self, X, y, sample_weight, *, reset=True, classes=None):
        """Encoded float64 ``X`` (CSR when sparse), the checked target, the
        checked row weights and the dropout groups (also stored as
        ``feature_groups_``).  ``reset=False`` checks the data against the
        first ``partial_fit`` call and keeps its groups and encoding;
        ``classes`` are a classifier's classes given to ``partial_fit``."""
        X, y = validate_X_y(
            self,
            X,
            y,
            accept_sparse="csr" if self._accepts_sparse() else False,
            dtype=np.float64,
            reset=reset,
            **self._target_checks,
        )
        # The solvers sum squares and cross products over the rows (and the
        # linear leave-one-out residuals divide by 1 - h): keep a 1e4
        # headroom below float64's largest.
        limit = np.sqrt(np.finfo(np.float64).max / max(X.shape[0], 1)) * 1e-4
        why = f"sums of squares over {X.shape[0]} rows must fit in float64"
        check_magnitude(X.data if sp.issparse(X) else X, "X", limit, why)
        y = self._check_target(y, limit, why, classes)
        sample_weight = self._check_weights(sample_weight, X)
        if not reset:
            return X, y, sample_weight, self.feature_groups_
        groups = encoded_groups(self, self.feature_groups, X)
        self.feature_groups_ = groups
        return X, y, sample_weight, groups

    def _set_input_dropout(self, rate: float) -> None:
        """``input_dropout_``: the rate of each original column."""
        self.input_dropout_ = np.full(self.n_features_in_, float(rate))

    def _check_weights(self, sample_weight, X):
        """Non-negative float64 row weights; None (unweighted) stays None."""
        if sample_weight is None:
            return None
        return _check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )

    def _fit_sgd(
        self, X, Y, sample_weight, groups, settings, *, tol, loss, stacklevel=3
    ):
        """Averaged SGD with real masks (:func:`fit_linear_sgd`) behind a
        progress bar over epochs.

        ``Y`` has one column per output, ``loss`` is ``fit_linear_sgd``'s and
        ``settings`` is :meth:`_settings`.  A ``ConvergenceWarning`` when
        ``max_iter`` ends the fit first (``stacklevel`` points it at the
        estimator's ``fit``).  ``_sgd_state`` keeps what ``partial_fit``
        continues.
        """
        result = self._run_sgd(
            X,
            Y,
            sample_weight,
            groups,
            settings,
            tol=tol,
            loss=loss,
            state=None,
            incremental=False,
        )
        if tol > 0 and not result.converged and not result.interrupted:
            warnings.warn(
                f"{type(self).__name__}(solver='sgd') reached max_iter="
                f"{self.max_iter} epochs without converging; increase max_iter.",
                ConvergenceWarning,
                stacklevel=stacklevel,
            )
        return result

    def _run_sgd(
        self, X, Y, sample_weight, groups, settings, *, tol, loss, state, incremental
    ):
        """:func:`fit_linear_sgd` from ``state`` (``fit``: None, afresh, up
        to ``max_iter`` epochs; ``partial_fit``: one epoch, from the last
        call's state or afresh); the state after it is stored as
        ``_sgd_state``."""
        device = resolve_device(self.device)
        has_groups = any(len(g) > 1 for g in groups)
        group_index = group_labels(groups, X.shape[1]) if has_groups else None
        max_iter = 1 if incremental else self.max_iter
        # fit_linear_sgd leaves ``state`` as it was: a failed call leaves
        # the estimator as it found it (atomic_fit restores the rest).
        with loss_progress(
            max_iter, verbose=self.verbose, desc="sgd", unit="epoch"
        ) as progress:
            result = fit_linear_sgd(
                X,
                Y,
                sample_weight,
                dropout=settings["input_dropout"],
                group_index=group_index,
                n_groups=len(groups),
                fit_intercept=self.fit_intercept,
                max_iter=max_iter,
                batch_size=resolve_batch_size(self.batch_size, X.shape[0]),
                step_fraction=settings["step_fraction"],
                tol=tol,
                seed=seed_from_random_state(self.random_state),
                device=device,
                progress=progress,
                loss=loss,
                state=state,
            )
        self._sgd_state = result.state
        return result

    def _partial_fit_state(self) -> dict | None:
        """The SGD state a ``partial_fit`` call continues; None starts
        afresh, with a ``UserWarning`` when a fitted model is discarded
        (fitted by another solver, or loaded from a file saved before 0.3,
        which holds no SGD state)."""
        state = getattr(self, "_sgd_state", None)
        if state is None and hasattr(self, "coef_"):
            warnings.warn(
                f"{type(self).__name__}.partial_fit starts SGD afresh: the "
                "fitted model has no SGD state to continue (it was fitted by "
                "another solver, or saved before 0.3), so its coef_ and "
                "intercept_ are discarded.",
                UserWarning,
                stacklevel=4,
            )
        return state

    def _solver_name(self) -> str:
        """The solver the parameters name (without a renamed name's warning)."""
        return self.solver

    def _has_partial_fit(self) -> bool:
        """``partial_fit`` exists with ``solver="sgd"`` only (as on
        scikit-learn's MLPs): ``available_if`` turns this error into the
        cause of its own "has no attribute 'partial_fit'"."""
        if self._solver_name() != "sgd":
            raise AttributeError(
                f"{type(self).__name__}.partial_fit needs solver='sgd', got "
                f"solver={self._solver_name()!r}, which fits all rows at once; "
                "use fit, or set solver='sgd'"
            )
        return True

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
    settings = full._settings()
    rate = settings["input_dropout"]
    Xv, yv, sample_weight, groups = full._validate_fit_data(X, y, sample_weight)
    yv, single = as_columns(yv)
    if full.categories_:
        return None
    units = check_column_groups(column_groups, Xv.shape[1])
    system, _, _ = build_system(Xv, yv, sample_weight, groups, full.fit_intercept)
    solved = removal_solutions(system, dropout_lambda(rate), units)
    if solved is None:
        return None
    # The fitted input bookkeeping (feature count, names, no encoder) comes
    # from validating one row, as fit does; each refit then takes its part.
    template = clone(estimator).set_params(categorical_features=None)
    # The copies carry the new names only.
    old_names = {old: DEPRECATED for old, new in RENAMED.items() if new in settings}
    template.set_params(**old_names, **settings)
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
    model._set_input_dropout(model.input_dropout)
    model.n_iter_ = None
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
