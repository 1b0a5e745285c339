"""What learned input dropout says about each feature.

A network fitted with ``input_dropout="learned"`` (Concrete dropout) has one
drop rate per input feature: the rate it could afford.  Its keep probability
``1 - p`` is a relevance score from a single fit, to set beside drop-column
(ablation) importance.  Only the public estimator API is used.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import xlogy
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from ._ablation import _ablated_copy, _as_table


class DropoutRelevance(Bunch):
    """Result of :func:`dropout_relevance`: a Bunch with a table view."""

    def to_frame(self):
        """The relevances as a DataFrame indexed by feature name.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``keep_probability`` and ``rate``, and ``loss_change``
            when ``X`` was given.
        """
        columns = {"keep_probability": self.keep_probability, "rate": self.rate}
        if self.loss_change is not None:
            columns["loss_change"] = self.loss_change
        return pd.DataFrame(columns, index=pd.Index(self.feature_names, name="feature"))


def dropout_relevance(estimator, X=None, y=None):
    """Per-feature relevance from a network's learned input dropout rates.

    With ``input_dropout="learned"`` a network learns one dropout rate per
    input feature (Concrete dropout, Gal, Hron & Kendall 2017): a feature it
    depends on is driven towards rate 0, one it can afford to lose towards
    higher rates.  The learned keep probability ``1 - p`` is the feature's
    relevance, from one fit and without refits.  Read more in the
    :ref:`user guide <dropout_vs_removal>`.

    Parameters
    ----------
    estimator : DropoutMLPClassifier, DropoutMLPRegressor or Pipeline
        Fitted with ``input_dropout="learned"``; a Pipeline whose last step
        is one (the features are then the columns that step receives, and
        ``X`` goes through the earlier steps).
    X : array-like or DataFrame of shape (n_samples, n_features), default=None
        Rows on which to measure, for each feature, how much the network's
        loss grows when that feature is fully dropped (set to what input
        dropout presents: 0, or a missing category), the others kept.  This
        uses the fitted network as is: no refit.
    y : array-like of shape (n_samples,), default=None
        Targets for that loss (log loss for a classifier, mean squared
        error for a regressor).  Without ``y`` the network's own
        predictions on ``X`` are the targets: the loss change is then the
        mean Kullback-Leibler divergence of the class probabilities, or the
        mean squared change of the prediction.

    Returns
    -------
    result : Bunch
        With a ``to_frame()`` method and the attributes:

        feature_names : ndarray of str of shape (n_features,)
            The columns of ``X`` as the estimator received them (one-hot
            groups that the estimator encodes map back to their column).
        keep_probability : ndarray of shape (n_features,)
            ``1 - rate``: the relevance.
        rate : ndarray of shape (n_features,)
            The learned input dropout rates.
        loss_change : ndarray of shape (n_features,) or None
            The loss with the feature dropped minus the loss with every
            feature; None without ``X``.
        loss_reference : {"y", "predictions"} or None
            What the loss was measured against.

    See Also
    --------
    skdrop.inspection.ablation_importance : Drop-column importance, by refits.
    skdrop.inspection.DropoutRelevanceDisplay : Both side by side.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdrop import DropoutMLPClassifier
    >>> from skdrop.inspection import dropout_relevance
    >>> X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    >>> X = X.iloc[:, :6]
    >>> X[:] = StandardScaler().fit_transform(X)
    >>> model = DropoutMLPClassifier(
    ...     input_dropout="learned", hidden_dropout="learned", max_iter=100,
    ...     random_state=0,
    ... ).fit(X, y)
    >>> relevance = dropout_relevance(model, X, y)
    >>> frame = relevance.to_frame()
    >>> list(frame.columns)
    ['keep_probability', 'rate', 'loss_change']
    >>> bool(((frame["rate"] > 0) & (frame["rate"] < 1)).all())
    True
    """
    network, prefix = _final_step(estimator)
    if not hasattr(network, "input_dropout"):
        raise ValueError(
            "dropout_relevance takes a DropoutMLPClassifier, a DropoutMLPRegressor "
            f"or a Pipeline ending in one, got {type(network).__name__} (for a "
            "TransformedTargetRegressor, pass its fitted regressor_)"
        )
    check_is_fitted(network)
    if getattr(network, "_multilabel", False):
        raise ValueError(
            "dropout_relevance supports single-label classifiers and regressors; "
            "this classifier was fitted on a multilabel target"
        )
    if getattr(network, "input_dropout", None) != "learned":
        raise ValueError(
            "dropout_relevance needs a network fitted with input_dropout="
            f"'learned', got input_dropout={getattr(network, 'input_dropout', None)!r}"
        )
    rate = np.asarray(network.input_dropout_, dtype=float)
    names = getattr(network, "feature_names_in_", None)
    if names is None:
        names = np.asarray([f"x{j}" for j in range(len(rate))], dtype=object)
    loss_change, reference = None, None
    if X is not None:
        if prefix is not None:
            X = prefix.transform(X)
        X = _as_table(X)
        if X.shape[1] != len(rate):
            raise ValueError(
                f"X has {X.shape[1]} columns but the network was fitted on {len(rate)}"
            )
        loss_change = _loss_changes(network, X, y)
        reference = "predictions" if y is None else "y"
    return DropoutRelevance(
        feature_names=np.asarray(names, dtype=object),
        keep_probability=1.0 - rate,
        rate=rate,
        loss_change=loss_change,
        loss_reference=reference,
    )


def _final_step(estimator):
    """The network and the Pipeline steps before it (or None)."""
    if isinstance(estimator, Pipeline):
        return estimator[-1], (estimator[:-1] if len(estimator) > 1 else None)
    return estimator, None


def _loss_changes(network, X, y):
    """For each column, the loss with it dropped minus the full loss."""
    classifier = is_classifier(network)
    predict = network.predict_proba if classifier else network.predict
    full = np.asarray(predict(X), dtype=float)
    if y is None:
        target = full
    elif classifier:
        labels = np.asarray(y)
        target = (labels[:, None] == network.classes_[None, :]).astype(float)
        if target.shape != full.shape:
            raise ValueError("y must hold one class label per row of X")
    else:
        target = np.asarray(y, dtype=float).reshape(full.shape)

    def loss(predicted):
        if classifier:
            # Cross-entropy; minus the targets' entropy, a KL divergence
            # against the network's own probabilities (zero for no change).
            eps = np.finfo(float).tiny
            return float(
                np.mean(
                    np.sum(
                        xlogy(target, target) - xlogy(target, predicted + eps), axis=1
                    )
                )
            )
        return float(np.mean((predicted - target) ** 2))

    base = loss(full)
    rng = np.random.RandomState(0)  # unused by "mask"
    return np.asarray(
        [
            loss(np.asarray(predict(_ablated_copy(X, [j], "mask", rng)), dtype=float))
            - base
            for j in range(X.shape[1])
        ]
    )
