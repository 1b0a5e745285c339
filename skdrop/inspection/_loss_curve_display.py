"""Training and validation loss per epoch, with the generalization gap."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._plotting import axes_array


class LossCurveDisplay:
    """Training and validation loss per epoch of fitted networks.

    Each model gets one color: its training loss (``loss_curve_``) solid and
    its validation loss (``validation_loss_curve_``, recorded by the skdrop
    networks when fitted with ``early_stopping=True``) dashed.  The gap
    between the two at the last epoch, validation minus training loss, is
    shown in the legend and kept in ``gaps_``.  Create it with
    :meth:`from_estimator`.  Read more in the :ref:`user guide <loss_curves>`.

    The training loss is measured with the dropout masks on and includes the
    ``alpha`` penalty (it is what the optimizer minimizes, as scikit-learn
    reports it), while the validation loss is that of the evaluation-mode
    network without the penalty.  With strong dropout the training loss can
    therefore exceed the validation loss, and the gap be negative.

    Parameters
    ----------
    curves : dict of str to tuple
        For each model label, ``(training_losses, validation_losses or None)``.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes with the curves.
    figure_ : matplotlib Figure
        The figure holding them.
    lines_ : dict of str to list of Line2D
        Each model's training line, then its validation line if it has one.
    gaps_ : dict of str to float or None
        Final validation loss minus final training loss of each model (None
        without a validation curve).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdrop import DropoutMLPClassifier
    >>> from skdrop.inspection import LossCurveDisplay
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> models = {
    ...     f"dropout {p}": DropoutMLPClassifier(
    ...         hidden_dropout=p, early_stopping=True, max_iter=30, random_state=0
    ...     ).fit(X, y)
    ...     for p in (0.0, 0.5)
    ... }
    >>> display = LossCurveDisplay.from_estimator(models)
    >>> sorted(display.gaps_)
    ['dropout 0.0', 'dropout 0.5']
    """

    def __init__(self, *, curves):
        self.curves = curves

    def plot(self, ax=None, *, log_scale=False):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Where to draw; None makes a new figure.
        log_scale : bool, default=False
            Use a logarithmic loss axis.

        Returns
        -------
        display : LossCurveDisplay
        """
        (ax,) = axes_array(ax, 1, figsize=(7.0, 4.5))
        self.lines_, self.gaps_ = {}, {}
        for k, (label, (train, valid)) in enumerate(self.curves.items()):
            color = f"C{k % 10}"
            epochs = np.arange(1, len(train) + 1)
            lines = ax.plot(
                epochs, train, color=color, lw=1.6, label=f"{label}: training"
            )
            gap = None
            if valid is not None and len(valid):
                gap = float(valid[-1] - train[-1])
                lines += ax.plot(
                    np.arange(1, len(valid) + 1),
                    valid,
                    color=color,
                    lw=1.6,
                    ls="--",
                    label=f"{label}: validation (final gap {gap:+.3g})",
                )
            self.lines_[label] = lines
            self.gaps_[label] = gap
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        if log_scale:
            ax.set_yscale("log")
        ax.legend(fontsize="small")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimators, *, names=None, ax=None, log_scale=False):
        """Plot the loss curves of one or more fitted estimators.

        Parameters
        ----------
        estimators : estimator, list of estimators or dict of str to estimator
            Fitted networks with a ``loss_curve_`` (skdrop's, or
            scikit-learn's MLPs, which record no validation loss).  A
            Pipeline contributes its last step and a fitted search its
            ``best_estimator_``.
        names : list of str, default=None
            Labels for a list of estimators; the class names by default.
        ax : matplotlib Axes, default=None
            Where to draw; None makes a new figure.
        log_scale : bool, default=False
            Use a logarithmic loss axis.

        Returns
        -------
        display : LossCurveDisplay
        """
        if isinstance(estimators, dict):
            labels = [str(k) for k in estimators]
            items = list(estimators.values())
        else:
            items = (
                estimators if isinstance(estimators, (list, tuple)) else [estimators]
            )
            labels = names
        if not items:
            raise ValueError("LossCurveDisplay needs at least one fitted estimator")
        models = [_network_of(e) for e in items]
        if labels is None:
            labels = _default_names(models)
        elif len(labels) != len(models):
            raise ValueError(
                f"names has {len(labels)} entries for {len(models)} estimators"
            )
        curves = {
            str(label): (
                np.asarray(model.loss_curve_, dtype=float),
                _optional_array(getattr(model, "validation_loss_curve_", None)),
            )
            for label, model in zip(labels, models, strict=True)
        }
        return cls(curves=curves).plot(ax=ax, log_scale=log_scale)


def _network_of(estimator):
    check_is_fitted(estimator)
    model = getattr(estimator, "best_estimator_", estimator)
    if hasattr(model, "steps"):
        model = model.steps[-1][1]
    if not hasattr(model, "loss_curve_"):
        raise TypeError(
            f"{type(model).__name__} has no loss_curve_: LossCurveDisplay plots "
            "networks trained by epochs, such as DropoutMLPClassifier"
        )
    return model


def _optional_array(values):
    return None if values is None else np.asarray(values, dtype=float)


def _default_names(models) -> list[str]:
    names = [type(m).__name__ for m in models]
    if len(set(names)) < len(names):
        names = [f"{n} #{k}" for k, n in enumerate(names)]
    return names
