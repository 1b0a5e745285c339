"""Training and validation loss per epoch, with the generalization gap."""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted


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

    Parameters
    ----------
    models : estimator, pair, or list or dict of them
        Fitted networks with a ``loss_curve_`` (skdrop's, or scikit-learn's
        MLPs, which record no validation loss; a Pipeline contributes its
        last step and a fitted search its ``best_estimator_``), or pairs
        ``(training_losses, validation_losses or None)`` recorded by hand,
        for instance after each ``partial_fit`` epoch.  A dict labels them.
    names : list of str, default=None
        Labels for a list; the class names (``"curve"`` for a pair) by
        default.

    Returns
    -------
    result : Bunch
        curves : dict of str to tuple
            For each label, ``(training_losses, validation_losses or None)``
            as float arrays.
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
    pairs = [_curve_pair(item) for item in items]
    if labels is None:
        labels = _default_names(items)
    elif len(labels) != len(pairs):
        raise ValueError(f"names has {len(labels)} entries for {len(pairs)} estimators")
    curves = {str(label): pair for label, pair in zip(labels, pairs, strict=True)}
    gaps = {
        label: None if valid is None or not len(valid) else float(valid[-1] - train[-1])
        for label, (train, valid) in curves.items()
    }
    return LossCurves(curves=curves, gaps=gaps)


def _curve_pair(item):
    """``(training, validation or None)`` float arrays of a model or a pair."""
    if isinstance(item, tuple):
        if len(item) != 2:
            raise ValueError(
                "a recorded curve must be a pair (training_losses, "
                f"validation_losses or None), got a tuple of {len(item)}"
            )
        train, valid = item
        return np.asarray(train, dtype=float), _optional_array(valid)
    model = _network_of(item)
    return (
        np.asarray(model.loss_curve_, dtype=float),
        _optional_array(getattr(model, "validation_loss_curve_", None)),
    )


def _network_of(estimator):
    check_is_fitted(estimator)
    model = getattr(estimator, "best_estimator_", estimator)
    if hasattr(model, "steps"):
        model = model.steps[-1][1]
    if not hasattr(model, "loss_curve_"):
        raise TypeError(
            f"{type(model).__name__} has no loss_curve_: loss curves exist for "
            "networks trained by epochs, such as DropoutMLPClassifier"
        )
    return model


def _optional_array(values):
    return None if values is None else np.asarray(values, dtype=float)


def _default_names(items) -> list[str]:
    names = [
        "curve" if isinstance(m, tuple) else type(_network_of(m)).__name__
        for m in items
    ]
    if len(set(names)) < len(names):
        names = [f"{n} #{k}" for k, n in enumerate(names)]
    return names
