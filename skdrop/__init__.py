"""skdrop: scikit-learn estimators regularized with dropout noise."""

from ._linear import DropoutLinearRegression, DropoutLinearRegressionCV
from ._version import __version__

__all__ = [
    "DropoutLinearRegression",
    "DropoutLinearRegressionCV",
    "__version__",
]
