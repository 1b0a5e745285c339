"""How uncertain a Monte Carlo dropout classifier is, and why.

The stochastic forward passes ``p_t`` of a dropout network (Gal and
Ghahramani 2016) give, per row, the entropy of their mean (predictive
entropy, the total uncertainty), the mean of their entropies (expected
entropy, the noise the model sees in the data) and the difference, the
mutual information between the prediction and the weights (BALD, Houlsby
et al. 2011): how much the passes disagree.  Only the public estimator API
is used (``mc_predict``).
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
from scipy.special import entr
from sklearn.utils import Bunch
from sklearn.utils.validation import check_is_fitted


class PredictiveUncertainty(Bunch):
    """Result of :func:`predictive_uncertainty`: a Bunch with a table view."""

    def to_frame(self):
        """The three uncertainties per row as a DataFrame.

        Returns
        -------
        frame : pandas.DataFrame
            Columns ``predictive_entropy``, ``expected_entropy`` and
            ``mutual_information``, one row per row of ``X``.
        """
        return pd.DataFrame(
            {
                "predictive_entropy": self.predictive_entropy,
                "expected_entropy": self.expected_entropy,
                "mutual_information": self.mutual_information,
            }
        )


def predictive_uncertainty(estimator, X, *, n_samples=100, random_state=None):
    """Predictive entropy, expected entropy and mutual information (BALD) of
    a Monte Carlo dropout classifier, per row.

    With ``p_t`` the class probabilities of pass ``t`` and ``p`` their mean,
    in nats:

    * ``predictive_entropy = H(p) = -sum_k p_k log p_k``, the total
      uncertainty;
    * ``expected_entropy = mean_t H(p_t)``, the part each pass already sees
      (ambiguity of the data, aleatoric);
    * ``mutual_information = H(p) - mean_t H(p_t) >= 0``, the disagreement
      between passes (the model's own, epistemic, uncertainty).

    Parameters
    ----------
    estimator : fitted classifier with ``mc_predict``
        Such as :class:`~skdrop.DropoutMLPClassifier` or
        :class:`~skdrop.DropoutMLPClassifierCV` (single-label).
    X : array-like of shape (n_rows, n_features)
        Rows to assess.
    n_samples : int, default=100
        Stochastic forward passes.
    random_state : int, RandomState instance or None, default=None
        Seeds the masks.

    Returns
    -------
    result : PredictiveUncertainty
        A Bunch with ``predictive_entropy``, ``expected_entropy`` and
        ``mutual_information`` (each of shape (n_rows,)), ``proba`` (the
        mean probabilities, (n_rows, n_classes)), ``classes`` and
        ``n_samples``; ``to_frame()`` gives a table.

    Notes
    -----
    A network without dropout gives identical passes: zero mutual
    information.  MC dropout estimates the uncertainty of a model trained
    with dropout; it does not promise calibrated uncertainty on data unlike
    the training data.

    References
    ----------
    Y. Gal and Z. Ghahramani, "Dropout as a Bayesian approximation",
    ICML 2016.  N. Houlsby, F. Huszar, Z. Ghahramani and M. Lengyel,
    "Bayesian active learning for classification and preference
    learning", 2011.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skdrop import DropoutMLPClassifier
    >>> from skdrop.inspection import predictive_uncertainty
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = DropoutMLPClassifier(hidden_dropout=0.3, max_iter=50,
    ...                            random_state=0).fit(X, y)
    >>> u = predictive_uncertainty(clf, X[:3], n_samples=20, random_state=0)
    >>> u.to_frame().shape
    (3, 3)
    >>> bool((u.mutual_information >= 0).all())
    True
    """
    if not isinstance(n_samples, Integral) or isinstance(n_samples, bool):
        raise TypeError(f"n_samples must be an int, got {n_samples!r}")
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    if not callable(getattr(estimator, "mc_predict", None)):
        raise TypeError(
            "predictive_uncertainty needs a classifier with mc_predict (Monte "
            "Carlo dropout passes), such as DropoutMLPClassifier; got "
            f"{type(estimator).__name__}"
        )
    check_is_fitted(estimator)
    if not hasattr(estimator, "classes_"):
        raise TypeError(
            f"predictive_uncertainty needs a classifier; {type(estimator).__name__} "
            "has no classes_"
        )
    passes = np.asarray(
        estimator.mc_predict(X, n_samples=n_samples, random_state=random_state),
        dtype=np.float64,
    )
    if passes.ndim != 3 or not np.allclose(passes.sum(axis=2), 1.0, atol=1e-6):
        raise ValueError(
            "predictive_uncertainty needs single-label class probabilities that "
            "sum to 1 over the classes; a multilabel classifier gives one "
            "probability per label"
        )
    mean = passes.mean(axis=0)
    predictive = entr(mean).sum(axis=1)
    expected = entr(passes).sum(axis=2).mean(axis=0)
    # H(mean) >= mean H by concavity; rounding can leave -1e-17.
    information = np.maximum(predictive - expected, 0.0)
    return PredictiveUncertainty(
        predictive_entropy=predictive,
        expected_entropy=expected,
        mutual_information=information,
        proba=mean,
        classes=np.asarray(estimator.classes_),
        n_samples=int(n_samples),
    )
