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

from ..linear_model import (
    DropoutLinearRegression,
    DropoutLinearRegressionCV,
    DropoutLogisticRegression,
    DropoutLogisticRegressionCV,
)
from ..neural_network import DropoutMLPClassifier, DropoutMLPRegressor
from ._ablation import _ablated_copy, _as_table
from ._networks import fitted_members

_NETWORKS = (DropoutMLPClassifier, DropoutMLPRegressor)
_LINEAR = (
    DropoutLinearRegression,
    DropoutLinearRegressionCV,
    DropoutLogisticRegression,
    DropoutLogisticRegressionCV,
)


class DropoutRelevance(Bunch):
    """Result of :func:`dropout_relevance`: a Bunch with a table view."""

    def to_frame(self):
        """The relevances as a DataFrame indexed by feature name.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``keep_probability`` and ``rate``, ``rate_std`` for an
            ensemble, and ``loss_change`` when ``X`` was given.
        """
        columns = {"keep_probability": self.keep_probability, "rate": self.rate}
        if self.rate_std is not None:
            columns["rate_std"] = self.rate_std
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

    A CV estimator is read through the networks it predicts with.
    :class:`~skdrop.DropoutMLPClassifierCV` and
    :class:`~skdrop.DropoutMLPRegressorCV` at their default
    ``refit="ensemble"`` average their fold networks' learned rates, and
    ``rate_std`` is the spread of those rates over the folds (a feature
    whose rate varies as much as it differs from the others' is not ranked
    by it); with ``refit=True`` the refitted network's rates are used.  The
    chosen setting must have ``input_dropout="learned"``: put ``"learned"``
    in ``input_dropouts`` (alone, to be sure it is chosen).  The linear and
    logistic models and their CV versions learn no per-feature rate (one
    rate serves every feature): a ``ValueError`` says so, and
    :func:`~skdrop.inspection.ablation_importance` ranks their features.

    Parameters
    ----------
    estimator : DropoutMLPClassifier, DropoutMLPRegressor, their CV \
versions, or Pipeline
        Fitted with ``input_dropout="learned"`` (a CV estimator: having
        chosen it); a Pipeline whose last step is one (the features are then
        the columns that step receives, and ``X`` goes through the earlier
        steps).
    X : array-like or DataFrame of shape (n_samples, n_features), default=None
        Rows on which to measure, for each feature, how much the network's
        loss grows when that feature is fully dropped (set to what input
        dropout presents: 0, or a missing category), the others kept.  This
        uses the fitted model as is, a CV ensemble's averaged prediction
        included: no refit.
    y : array-like of shape (n_samples,), default=None
        Targets for that loss (log loss for a classifier, mean squared
        error for a regressor), one per row of ``X``: labels among the
        classifier's ``classes_``, or finite values.  Without ``y`` the network's own
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
            The learned input dropout rates (an ensemble's: the mean over its
            fold networks).
        rate_std : ndarray of shape (n_features,) or None
            An ensemble's standard deviation of the rates over its fold
            networks; None for one network.
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
    model, prefix = _final_step(estimator)
    networks = _learned_networks(model)
    rates = np.asarray([n.input_dropout_ for n in networks], dtype=float)
    rate = np.asarray(model.input_dropout_, dtype=float)  # a CV's: their mean
    names = getattr(model, "feature_names_in_", None)
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
        loss_change = _loss_changes(model, X, y)
        reference = "predictions" if y is None else "y"
    return DropoutRelevance(
        feature_names=np.asarray(names, dtype=object),
        keep_probability=1.0 - rate,
        rate=rate,
        rate_std=rates.std(axis=0) if len(networks) > 1 else None,
        loss_change=loss_change,
        loss_reference=reference,
    )


def _learned_networks(model):
    """The fitted networks of ``model`` (its fold networks for a CV
    ensemble), each with learned input rates."""
    name = type(model).__name__
    if isinstance(model, _LINEAR):
        raise ValueError(
            f"{name} has no learned input dropout rates: the linear and logistic "
            "models use one rate for every feature (chosen by cross-validation "
            "in their CV versions), which ranks no feature; use "
            "ablation_importance to rank their features"
        )
    networks = fitted_members(model)
    if not all(isinstance(n, _NETWORKS) for n in networks):
        raise ValueError(
            "dropout_relevance takes a DropoutMLPClassifier, a DropoutMLPRegressor, "
            f"their CV versions or a Pipeline ending in one, got {name} (for a "
            "TransformedTargetRegressor, pass its fitted regressor_)"
        )
    for network in networks:
        check_is_fitted(network)
        if getattr(network, "_multilabel", False):
            raise ValueError(
                "dropout_relevance supports single-label classifiers and "
                "regressors; this classifier was fitted on a multilabel target"
            )
        if network.input_dropout != "learned":
            chosen = " (the setting its search chose)" if network is not model else ""
            raise ValueError(
                "dropout_relevance needs a network fitted with input_dropout="
                f"'learned', got input_dropout={network.input_dropout!r}{chosen}"
            )
    return networks


def _final_step(estimator):
    """The network and the Pipeline steps before it (or None)."""
    if isinstance(estimator, Pipeline):
        return estimator[-1], (estimator[:-1] if len(estimator) > 1 else None)
    return estimator, None


def _loss_changes(model, X, y):
    """For each column, the loss with it dropped minus the full loss."""
    classifier = is_classifier(model)
    predict = model.predict_proba if classifier else model.predict
    full = np.asarray(predict(X), dtype=float)
    if y is None:
        target = full
    elif classifier:
        target = _one_hot(y, model.classes_, len(full))
    else:
        target = _finite_targets(y, full.shape)

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


def _one_hot(y, classes, n_rows):
    """Labels as indicator rows over ``classes``; a label outside them (ints
    for a model fitted on strings, say) would score every row 0."""
    labels = np.asarray(y, dtype=object)
    if labels.ndim != 1 or len(labels) != n_rows:
        raise ValueError(
            f"y must hold one class label per row of X: X has {n_rows} rows, y "
            f"has shape {labels.shape}"
        )
    known = set(np.asarray(classes, dtype=object).tolist())
    unknown = sorted(
        {label for label in labels.tolist() if label not in known}, key=repr
    )
    if unknown:
        raise ValueError(
            f"y holds labels the classifier was not fitted on: {unknown[:5]}"
            f"{' ...' if len(unknown) > 5 else ''}; its classes_ are "
            f"{np.asarray(classes).tolist()}"
        )
    return (labels[:, None] == np.asarray(classes, dtype=object)[None, :]).astype(float)


def _finite_targets(y, shape):
    """A regressor's targets in the shape of its predictions, finite."""
    try:
        values = np.asarray(y, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"y must hold numbers for a regressor: {exc}") from None
    if len(values) != shape[0] or values.size != np.prod(shape):
        raise ValueError(
            f"y has {len(values)} rows of shape {values.shape[1:]} but X has "
            f"{shape[0]} rows and the regressor predicts shape {shape[1:]}"
        )
    values = values.reshape(shape)
    rows = values.reshape(len(values), -1)
    bad = np.flatnonzero(~np.isfinite(rows).all(axis=1))
    if bad.size:
        raise ValueError(
            f"y must be finite, but row {bad[0]} holds {rows[bad[0]].tolist()} "
            f"({bad.size} such rows)"
        )
    return values
