"""Multilayer perceptrons regularized with dropout, and their CV searches.

The estimators here validate parameters and input and hand numpy arrays to
the private torch engine, :mod:`skdrop._engine`, which trains one network or
a whole grid of them side by side.
"""

from ._classifier import DropoutMLPClassifier
from ._cv import DropoutMLPClassifierCV, DropoutMLPRegressorCV
from ._regressor import DropoutMLPRegressor

__all__ = [
    "DropoutMLPClassifier",
    "DropoutMLPClassifierCV",
    "DropoutMLPRegressor",
    "DropoutMLPRegressorCV",
]
