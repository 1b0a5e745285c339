"""
============================================
Input dropout in a linear model versus ridge
============================================

Dropout at rate ``p`` on the inputs of a linear regression is, in
expectation, a ridge regression with ``lam = p / (1 - p)`` on columns scaled
by their root sum of squares (Srivastava et al. 2014, section 9.1).
:func:`~skdrop.inspection.compare_with_ridge` checks that identity at every
rate, then compares dropout with the ridge one would actually fit (one alpha
on standardized columns) at the same total penalty, coefficients and
cross-validated scores.

The diabetes data in its original units is a good test: age, blood pressure
and the serum measurements are far from centered, and the dropout penalty
acts on the uncentered second moments.
"""

# %%
import os

import matplotlib.pyplot as plt
from sklearn.datasets import load_diabetes
from sklearn.model_selection import KFold

from skdrop.inspection import RidgeComparisonDisplay, compare_with_ridge

# One size by default and in the documentation build (under a minute);
# SKDROP_EXAMPLE_SIZE=test (the test suite) runs the smaller settings below.
FAST = os.environ.get("SKDROP_EXAMPLE_SIZE", "docs") == "test"

X, y = load_diabetes(return_X_y=True, as_frame=True, scaled=False)
rates = (
    [0.0, 0.1, 0.5, 0.9] if FAST else [0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9]
)
result = compare_with_ridge(
    X, y, input_dropouts=rates, cv=KFold(5, shuffle=True, random_state=0)
)
frame = result.to_frame()
columns = [
    "dropout",
    "lam",
    "max_abs_coef_diff",
    "ridge_alpha",
    "dropout_cv_mean",
    "ridge_cv_mean",
]
print(frame[columns].to_string(index=False, float_format="{:.4g}".format))

# %%
# The exact identity holds at round-off: ``max_abs_coef_diff`` is the largest
# difference between the dropout coefficients and those of
# ``Ridge(alpha=lam)`` on the rescaled columns.  The plain ridge on
# standardized columns is a different model here, because the dropout
# penalty of a column grows with its squared mean as well as its variance:
# uncentered columns (the serum measurements) are shrunk harder.  With
# columns whose means are large against their spread, even a small rate is a
# strong penalty, and no rate beats plain least squares here: center (or
# standardize) the inputs before using input dropout on them.
print(f"largest exact-identity difference: {result.max_abs_coef_diff.max():.2e}")
print(
    f"best dropout rate by CV: {result.best_dropout:g} "
    f"(R^2 {result.best_dropout_score:.3f}); RidgeCV over the matched alphas: "
    f"alpha {result.ridgecv_alpha:.4g} (R^2 {result.ridgecv_score:.3f}), "
    f"which matches dropout p = {result.ridgecv_dropout:.3f}"
)

# %%
# Coefficient paths and scores on one axis
# ----------------------------------------
# Each rate sits at the alpha of the ridge with the same total penalty; the
# top axis reads the rate.  Solid lines are dropout, dashed lines ridge, in
# standardized units.
display = RidgeComparisonDisplay.from_results(result)
plt.show()
