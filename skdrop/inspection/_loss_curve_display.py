"""Plot of :func:`loss_curves`: training and validation loss per epoch."""

from __future__ import annotations

import numpy as np

from ..utils import axes_array
from ._loss_curves import loss_curves


class LossCurveDisplay:
    """Training and validation loss per epoch of fitted networks.

    Each model gets one color: its training loss solid and its validation
    loss dashed, with the final gap (validation minus training loss, computed
    by :func:`~skdrop.inspection.loss_curves`) in the legend; a CV ensemble
    (``refit="ensemble"``) draws each of its fold networks as a model of its
    own, labelled ``"<name> fold k"``.  Create it with
    :meth:`from_estimator` or :meth:`from_results`.  Read more in the
    :ref:`user guide <loss_curves>`.

    Parameters
    ----------
    result : Bunch
        What :func:`~skdrop.inspection.loss_curves` returns.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes with the curves.
    figure_ : matplotlib Figure
        The figure holding them.
    lines_ : dict of str to list of Line2D
        Each model's training line, then its validation line if it has one.

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
    >>> sorted(display.result.gaps)
    ['dropout 0.0', 'dropout 0.5']
    """

    def __init__(self, *, result):
        self.result = result

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
        self.lines_ = {}
        gaps = self.result.gaps
        for k, (label, (train, valid)) in enumerate(self.result.curves.items()):
            color = f"C{k % 10}"
            epochs = np.arange(1, len(train) + 1)
            lines = ax.plot(
                epochs, train, color=color, lw=1.6, label=f"{label}: training"
            )
            if valid is not None and len(valid):
                gap = "" if gaps[label] is None else f" (final gap {gaps[label]:+.3g})"
                lines += ax.plot(
                    np.arange(1, len(valid) + 1),
                    valid,
                    color=color,
                    lw=1.6,
                    ls="--",
                    label=f"{label}: validation{gap}",
                )
            self.lines_[label] = lines
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        if log_scale:
            ax.set_yscale("log")
        ax.legend(fontsize="small")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_results(cls, result, *, ax=None, log_scale=False):
        """Plot curves already computed.

        Parameters
        ----------
        result : Bunch
            From :func:`~skdrop.inspection.loss_curves`.
        ax : matplotlib Axes, default=None
            Where to draw; None makes a new figure.
        log_scale : bool, default=False
            Use a logarithmic loss axis.

        Returns
        -------
        display : LossCurveDisplay
        """
        return cls(result=result).plot(ax=ax, log_scale=log_scale)

    @classmethod
    def from_estimator(cls, estimators, *, names=None, ax=None, log_scale=False):
        """Plot the loss curves of one or more fitted estimators.

        Parameters
        ----------
        estimators : estimator, list of estimators or dict of str to estimator
            Fitted networks or CV estimators, as
            :func:`~skdrop.inspection.loss_curves` takes them.
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
        result = loss_curves(estimators, names=names)
        return cls.from_results(result, ax=ax, log_scale=log_scale)
