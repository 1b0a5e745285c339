"""Linear and logistic regression trained with input dropout.

The expected dropout loss is solved exactly (closed form, or L-BFGS on the
Gaussian and quadratic objectives) by the numpy/scipy solvers of this
package; ``solver="sgd"`` trains with real masks through the torch engine.
"""

from ._linear import DropoutLinearRegression
from ._linear_cv import DropoutLinearRegressionCV
from ._logistic import DropoutLogisticRegression
from ._logistic_cv import DropoutLogisticRegressionCV

__all__ = [
    "DropoutLinearRegression",
    "DropoutLinearRegressionCV",
    "DropoutLogisticRegression",
    "DropoutLogisticRegressionCV",
]
