"""The classification side of the two logistic estimators: their
parameters for the algorithm, class labels and weights, and the
predictions."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from ..utils import DEPRECATED, DEPRECATED_OPTION, is_unset, validate_X

# The algorithm and the objective, and the old ``objective`` that named both.
ALGORITHM_CONSTRAINTS: dict = {
    "solver": [StrOptions({"lbfgs", "sgd"})],
    "approximation": [StrOptions({"gaussian", "quadratic"})],
}
OLD_OBJECTIVE: dict = {
    "objective": [StrOptions({"gaussian", "quadratic", "sgd"}), DEPRECATED_OPTION]
}


def objective_settings(objective: str) -> dict[str, str]:
    """``solver`` and ``approximation`` for an ``objective`` of before 0.3:
    "sgd" is ``solver="sgd"``, the others ``solver="lbfgs"`` with that
    approximation."""
    if objective == "sgd":
        return {"solver": "sgd", "approximation": "gaussian"}
    return {"solver": "lbfgs", "approximation": objective}


def algorithm_settings(
    owner: str, solver: str, approximation: str, objective: str, stacklevel: int = 3
) -> dict[str, str]:
    """``solver`` and ``approximation`` to use, from the old ``objective``
    (with a ``FutureWarning``) where it is set, else as given; a
    ``ValueError`` naming all three when ``objective`` comes with a
    ``solver`` or ``approximation`` other than the defaults.  ``owner`` is
    the estimator's or function's name in the messages."""
    if is_unset(objective):
        return {"solver": solver, "approximation": approximation}
    if solver != "lbfgs" or approximation != "gaussian":
        raise ValueError(
            f"{owner}: 'objective' is the old name of 'solver' and "
            "'approximation'; set only those, got "
            f"objective={objective!r} with solver={solver!r} and "
            f"approximation={approximation!r}"
        )
    new = objective_settings(objective)
    spelled = ", ".join(f"{k}={v!r}" for k, v in new.items())
    warnings.warn(
        f"{owner}: the parameter 'objective' was replaced by 'solver' and "
        f"'approximation' in 0.3 (objective={objective!r} is {spelled}); "
        "'objective' will be removed in 0.4.",
        FutureWarning,
        stacklevel=stacklevel + 1,
    )
    return new


class _LogisticClassification:
    """The classification side of the two logistic estimators: class
    labels, class weights and the predictions (with
    :class:`LinearDropoutBase` after it)."""

    def decision_function(self, X):
        """Scores of each class: ``X @ coef_.T + intercept_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, the score of ``classes_[1]``.
        """
        check_is_fitted(self)
        X = validate_X(self, X, accept_sparse="csr", dtype=np.float64, reset=False)
        scores = np.asarray(X @ self.coef_.T) + self.intercept_
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Most probable class of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        scores = self.decision_function(X)
        index = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(1)
        return self.classes_[index]

    def predict_proba(self, X):
        """Class probabilities, in the order of ``classes_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            p = expit(scores)
            return np.column_stack([1.0 - p, p])
        return softmax(scores, axis=1)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return np.column_stack([log_expit(-scores), log_expit(scores)])
        return log_softmax(scores, axis=1)

    def _solver_name(self) -> str:
        # From the parameters, without the old name's warning: the tags ask.
        objective = getattr(self, "objective", DEPRECATED)
        return (
            self.solver
            if is_unset(objective)
            else objective_settings(objective)["solver"]
        )

    def _accepts_sparse(self) -> bool:
        return self._solver_name() != "sgd"

    def _settings(self):
        """:meth:`LinearDropoutBase._settings` with ``solver`` and
        ``approximation``, from the old ``objective`` where it is set."""
        settings = super()._settings()
        settings.update(
            algorithm_settings(
                type(self).__name__,
                self.solver,
                self.approximation,
                self.objective,
                stacklevel=3,
            )
        )
        return settings

    def _migrate_state(self, state):
        objective = state.pop("objective", DEPRECATED)
        if "solver" not in state and not is_unset(objective):
            state.update(objective_settings(objective))

    def _check_target(self, y, limit, why, classes=None):
        """Class labels of at least two classes, stored as ``classes_``;
        ``classes`` (``partial_fit``) lists them all, ``y`` may hold fewer."""
        del limit, why  # labels have no magnitude
        check_classification_targets(y)
        seen = np.unique(y)
        if classes is not None:
            classes = np.unique(classes)
            unseen = np.setdiff1d(seen, classes)
            if unseen.size:
                raise ValueError(
                    f"y has classes {unseen.tolist()} that are not in classes="
                    f"{classes.tolist()}; pass every class to the first "
                    "partial_fit call"
                )
            seen = classes
        if seen.size < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in "
                f"the data, but the data contains only one class: "
                f"{seen.tolist()[0]!r}"
            )
        self.classes_ = seen
        return y

    def _check_weights(self, sample_weight, X):
        """The solvers take an array of weights: ones when none are given."""
        if sample_weight is None:
            sample_weight = np.ones(X.shape[0])
        sample_weight = super()._check_weights(sample_weight, X)
        if not sample_weight.any():
            raise ValueError("sample_weight is zero on every row; nothing to fit")
        return sample_weight

    def _row_weights(self, sample_weight, y):
        """The fit's row weights: ``sample_weight`` times the weight of each
        row's class (``"balanced"``: from the rows given)."""
        if self.class_weight is None:
            return sample_weight
        return sample_weight * compute_sample_weight(self.class_weight, y)


def _check_sparse_for_sgd(solver, X):
    if solver == "sgd" and sp.issparse(X):
        raise TypeError(
            "solver='sgd' needs dense X, got a sparse matrix; use "
            "solver='lbfgs', which takes sparse X"
        )


def _targets(y, classes):
    """``y`` in {0, 1} for two classes, else the one-hot matrix."""
    index = np.searchsorted(classes, y)
    if classes.size == 2:
        return index.astype(np.float64)
    return np.eye(classes.size)[index]
