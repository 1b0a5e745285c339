"""skdrop: scikit-learn estimators regularized with dropout noise.

The estimators live in :mod:`skdrop.neural_network` and
:mod:`skdrop.linear_model`, and are importable from here too.
"""

import sys as _sys
import types as _types

from ._version import __version__
from .linear_model import (
    DropoutLinearRegression,
    DropoutLinearRegressionCV,
    DropoutLogisticRegression,
    DropoutLogisticRegressionCV,
)
from .neural_network import (
    DropoutMLPClassifier,
    DropoutMLPClassifierCV,
    DropoutMLPRegressor,
    DropoutMLPRegressorCV,
)
from .utils import CategoricalEncoder as _CategoricalEncoder
from .utils import one_hot_groups

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


def _old_module(name, *classes):
    """A stand-in for a module of skdrop's flat layout, holding the classes
    that pickles and skops files written by it name there."""
    module = _types.ModuleType(name, f"{name} of the flat layout, for old files.")
    for cls in classes:
        setattr(module, cls.__name__, cls)
    return module


# Files saved before skdrop had subpackages name the flat modules that
# defined their classes then (``skdrop._mlp_classifier.DropoutMLPClassifier``);
# these names keep resolving, so those files load (tests/test_saved_models.py).
for _name, _classes in {
    "skdrop._categorical": (_CategoricalEncoder,),
    "skdrop._linear": (DropoutLinearRegression, DropoutLinearRegressionCV),
    "skdrop._logistic": (DropoutLogisticRegression, DropoutLogisticRegressionCV),
    "skdrop._mlp_classifier": (DropoutMLPClassifier,),
    "skdrop._mlp_regressor": (DropoutMLPRegressor,),
    "skdrop._mlp_cv": (DropoutMLPClassifierCV, DropoutMLPRegressorCV),
}.items():
    _sys.modules.setdefault(_name, _old_module(_name, *_classes))
del _name, _classes
