"""What the two linear dropout estimators share: data checks, prediction,
tags, and the fitted copies that stand for refits without some columns."""

from __future__ import annotations

import copy

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.metrics import check_scoring
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from ._categorical import encoded_groups, validate_X, validate_X_y
from ._closed_form import build_system, dropout_lambda, removal_solutions
from ._persistence import VersionedStateMixin
from ._validation import check_magnitude, numeric_target


class LinearDropoutBase(VersionedStateMixin, RegressorMixin, BaseEstimator):
    """Data checks, prediction and tags shared by the two linear estimators."""

    def _validate_fit_data(self, X, y, sample_weight):
        X, y = validate_X_y(
            self,
            X,
            y,
            dtype=np.float64,
            multi_output=True,
            y_numeric=True,
            reset=True,
        )
        y = numeric_target(y, type(self).__name__)
        # The solvers sum squares and cross products over the rows, and the
        # leave-one-out residuals divide by 1 - h: keep a 1e4 headroom.
        limit = np.sqrt(np.finfo(np.float64).max / max(X.shape[0], 1)) * 1e-4
        why = f"sums of squares over {X.shape[0]} rows must fit in float64"
        check_magnitude(X, "X", limit, why)
        check_magnitude(y, "y", limit, why)
        y2d = y.reshape(-1, 1) if y.ndim == 1 else y
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=np.float64, ensure_non_negative=True
            )
        groups = encoded_groups(self, self.feature_groups, X)
        self.feature_groups_ = groups
        return X, y2d, y.ndim == 1, sample_weight, groups

    def _set_solution(self, coef, intercept, penalty, single_target):
        """Store coefficients in scikit-learn's layout (targets first)."""
        coef = coef.T
        self.coef_ = coef[0] if single_target else coef
        self.intercept_ = float(intercept[0]) if single_target else intercept
        self.penalty_ = penalty

    def predict(self, X):
        """Predict with the fitted linear model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
        """
        check_is_fitted(self)
        X = validate_X(self, X, dtype=np.float64, reset=False)
        with np.errstate(over="ignore", invalid="ignore"):
            y_pred = X @ self.coef_.T + self.intercept_
        if not np.isfinite(y_pred).all():
            bad = ~np.isfinite(y_pred.reshape(X.shape[0], -1)).all(axis=1)
            raise FloatingPointError(
                f"The prediction overflows float64 (inf or NaN) for "
                f"{int(bad.sum())} input row(s): their values are too large "
                "for the fitted coefficients (the largest |X| is "
                f"{float(np.abs(X).max()):.3g})."
            )
        return y_pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def drop_column_models(estimator, X, y, column_groups, sample_weight):
    """:meth:`DropoutLinearRegression.drop_column_refits` for the closed form."""
    full = clone(estimator)
    Xv, yv, single, sample_weight, groups = full._validate_fit_data(X, y, sample_weight)
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
    labels = None  # every column its own group
    if any(len(g) > 1 for g in groups):
        labels = np.empty(Xv.shape[1], dtype=np.intp)
        for k, g in enumerate(groups):
            labels[g] = k
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
