"""Linear and logistic regression trained with input dropout.

The expected dropout loss is solved exactly (closed form, or L-BFGS on the
Gaussian and quadratic objectives) by the numpy/scipy solvers of this
package; ``solver="sgd"`` trains with real masks through the torch engine.
"""

from . import _linear
from ._linear import DropoutLinearRegression
from ._linear_cv import DropoutLinearRegressionCV
from ._logistic import DropoutLogisticRegression

# For skdrop.inspection (not in __all__: not part of the public API).
from ._logistic_base import algorithm_settings as algorithm_settings
from ._logistic_cv import DropoutLogisticRegressionCV

__all__ = [
    "DropoutLinearRegression",
    "DropoutLinearRegressionCV",
    "DropoutLogisticRegression",
    "DropoutLogisticRegressionCV",
]

# Files saved by 0.2 name the search in the module of the plain estimator,
# where it was defined then; that name keeps resolving.
_linear.DropoutLinearRegressionCV = DropoutLinearRegressionCV  # type: ignore[attr-defined]
