"""Training and validation loss per epoch, with the generalization gap."""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted

from ._networks import fitted_members


class LossCurves(Bunch):
    """Result of :func:`loss_curves`: a Bunch of per-model curves and gaps."""


def loss_curves(models, *, names=None):
    """Loss per epoch of fitted networks, and their final generalization gap.

    The gap of a model is its final validation loss minus its final training
    loss.  The training loss of the skdrop networks (``loss_curve_``) is
    measured with the dropout masks on and includes the ``alpha`` penalty (it
    is what the optimizer minimizes, as scikit-learn reports it), while the
    validation loss (``validation_loss_curve_``, recorded when fitted with
    ``early_stopping=True``) is that of the evaluation-mode network without
    the penalty.  With strong dropout the training loss can therefore exceed
    the validation loss, and the gap be negative.  Read more in the
    :ref:`user guide <loss_curves>`.

    A CV estimator contributes the models it predicts with:

    * :class:`~skdrop.DropoutMLPClassifierCV` and
      :class:`~skdrop.DropoutMLPRegressorCV` at their default
      ``refit="ensemble"``: one curve per fold network of the chosen
      setting, labelled ``"<label> fold k"`` (``k`` as in the
      ``split{k}_test_score`` of ``cv_results_``), each with the validation
      loss of its own early-stopping rows;
    * with ``refit=True``: the network refitted on every row (a fitted
      :class:`~sklearn.model_selection.GridSearchCV` likewise gives its
      ``best_estimator_``);
    * :class:`~skdrop.DropoutLogisticRegressionCV`: its model refitted on
      every row, whose ``loss_curve_`` holds the loss per L-BFGS iteration
      (per epoch with ``solver="sgd"``), without a validation curve;
    * :class:`~skdrop.DropoutLinearRegressionCV` solves its normal equations
      in closed form and records no curve: a ``TypeError`` says so.

    Parameters
    ----------
    models : estimator, pair, or list or dict of them
        Fitted models with a ``loss_curve_`` (skdrop's networks and CV
        estimators as above, or scikit-learn's MLPs, which record no
        validation loss; a Pipeline contributes its last step), or pairs
        ``(training_losses, validation_losses or None)`` recorded by hand,
        for instance after each ``partial_fit`` epoch.  A dict labels them.
    names : list of str, default=None
        Labels for a list; the class names (``"curve"`` for a pair) by
        default.

    Returns
    -------
    result : Bunch
        curves : dict of str to tuple
            For each label (each fold network of an ensemble), ``(training_
            losses, validation_losses or None)`` as float arrays.
        gaps : dict of str to float or None
            Final validation loss minus final training loss (None without a
            validation curve).

    Examples
    --------
    >>> from skdrop.inspection import loss_curves
    >>> result = loss_curves({"net": ([0.9, 0.5, 0.3], [1.0, 0.7, 0.6])})
    >>> round(result.gaps["net"], 3)
    0.3
    """
    if isinstance(models, dict):
        labels = [str(k) for k in models]
        items = list(models.values())
    else:
        several = isinstance(models, list) or (
            isinstance(models, tuple) and any(hasattr(m, "fit") for m in models)
        )
        items = list(models) if several else [models]
        labels = names
    if not items:
        raise ValueError("loss_curves needs at least one fitted estimator")
    if labels is None:
        labels = _default_names(items)
    elif len(labels) != len(items):
        raise ValueError(f"names has {len(labels)} entries for {len(items)} estimators")
    curves = {}
    for label, item in zip(labels, items, strict=True):
        pairs = _curve_pairs(item)
        if len(pairs) == 1:
            curves[str(label)] = pairs[0]
        else:
            curves.update({f"{label} fold {k}": p for k, p in enumerate(pairs)})
    gaps = {
        label: None if valid is None or not len(valid) else float(valid[-1] - train[-1])
        for label, (train, valid) in curves.items()
    }
    return LossCurves(curves=curves, gaps=gaps)


def _curve_pairs(item):
    """``[(training, validation or None)]`` float arrays of a pair, or of
    each network a fitted model predicts with."""
    if isinstance(item, tuple):
        if len(item) != 2:
            raise ValueError(
                "a recorded curve must be a pair (training_losses, "
                f"validation_losses or None), got a tuple of {len(item)}"
            )
        train, valid = item
        return [(np.asarray(train, dtype=float), _optional_array(valid))]
    return [
        (
            np.asarray(member.loss_curve_, dtype=float),
            _optional_array(getattr(member, "validation_loss_curve_", None)),
        )
        for member in _networks_of(item)
    ]


def _networks_of(estimator):
    """The fitted models of ``estimator`` with a ``loss_curve_``."""
    check_is_fitted(estimator)
    model = _last_step(getattr(estimator, "best_estimator_", estimator))
    members = [_last_step(m) for m in fitted_members(model)]
    for member in members:
        if not hasattr(member, "loss_curve_"):
            raise TypeError(
                f"{type(model).__name__} has no loss_curve_: loss curves exist "
                "for models fitted by iterations (skdrop's networks and their CV "
                "versions, DropoutLogisticRegression and its CV, "
                "DropoutLinearRegression with solver='sgd'); a fit in closed "
                "form (DropoutLinearRegressionCV, DropoutLinearRegression's "
                "default solver) records none"
            )
    return members


def _last_step(model):
    return model.steps[-1][1] if hasattr(model, "steps") else model


def _optional_array(values):
    return None if values is None else np.asarray(values, dtype=float)


def _default_names(items) -> list[str]:
    names = ["curve" if isinstance(m, tuple) else _class_name(m) for m in items]
    if len(set(names)) < len(names):
        names = [f"{n} #{k}" for k, n in enumerate(names)]
    return names


def _class_name(estimator) -> str:
    """The class that a model's curves come from: a refitted search's best
    network, or the ensemble (whose fold labels say the rest)."""
    check_is_fitted(estimator)
    model = _last_step(getattr(estimator, "best_estimator_", estimator))
    members = fitted_members(model)
    return type(model if len(members) > 1 else _last_step(members[0])).__name__
