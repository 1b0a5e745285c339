"""skdrop: scikit-learn estimators regularized with dropout noise."""

from ._categorical import one_hot_groups
from ._linear import DropoutLinearRegression, DropoutLinearRegressionCV
from ._logistic import DropoutLogisticRegression
from ._logistic_cv import DropoutLogisticRegressionCV
from ._mlp_classifier import DropoutMLPClassifier
from ._mlp_cv import DropoutMLPClassifierCV, DropoutMLPRegressorCV
from ._mlp_regressor import DropoutMLPRegressor
from ._version import __version__

__all__ = [
    "DropoutLinearRegression",
    "DropoutLinearRegressionCV",
    "DropoutLogisticRegression",
    "DropoutLogisticRegressionCV",
    "DropoutMLPClassifier",
    "DropoutMLPClassifierCV",
    "DropoutMLPRegressor",
    "DropoutMLPRegressorCV",
    "__version__",
    "one_hot_groups",
]
