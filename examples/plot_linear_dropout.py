"""
======================================================
Input dropout on a linear regression is a scaled ridge
======================================================

Dropping each input of a linear regression with probability ``p`` (and
scaling the kept ones by ``1 / (1 - p)``) is, in expectation, a ridge
regression whose penalty weighs each coefficient by the uncentered sum of
squares of its column.  This example

1. fits :class:`~skdrop.DropoutLinearRegression` in closed form for a range
   of rates and shows that it coincides with :class:`~sklearn.linear_model.Ridge`
   on rescaled columns;
2. trains the same model by SGD with real random masks and checks that it
   lands on the closed-form coefficients;
3. chooses the rate by exact leave-one-out with
   :class:`~skdrop.DropoutLinearRegressionCV`.
"""

# %%
# The data: scikit-learn's diabetes table (442 patients, 10 features).
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

from skdrop import DropoutLinearRegression, DropoutLinearRegressionCV

# One size by default and in the documentation build (under a minute);
# SKDROP_EXAMPLE_SIZE=test (the test suite) runs the smaller settings below.
FAST = os.environ.get("SKDROP_EXAMPLE_SIZE", "docs") == "test"

X, y = load_diabetes(return_X_y=True)
feature_names = load_diabetes().feature_names

# %%
# Coefficient paths and the equivalent ridge
# ------------------------------------------
# With ``lam = p / (1 - p)`` and ``B = diag(X'X)`` of the uncentered data, the
# dropout estimate is ``Ridge(alpha=lam)`` fitted on ``X / sqrt(diag(B))``,
# with the coefficients divided by the same scale.
rates = np.linspace(0, 0.95, 20)
scale = np.sqrt((X**2).sum(axis=0))
paths, gaps = [], []
for p in rates:
    model = DropoutLinearRegression(input_dropout=p).fit(X, y)
    ridge = Ridge(alpha=p / (1 - p)).fit(X / scale, y)
    paths.append(model.coef_)
    gaps.append(np.max(np.abs(model.coef_ - ridge.coef_ / scale)))
paths = np.array(paths)
print(f"largest difference to the equivalent ridge: {max(gaps):.1e}")

fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(rates, paths)
ax.set_xlabel("dropout rate p")
ax.set_ylabel("coefficient")
ax.set_title("Coefficients shrink towards zero as p grows")
ax.legend(feature_names, ncol=2, fontsize="small")

# %%
# Stochastic training with real masks
# -----------------------------------
# ``solver="sgd"`` draws a fresh mask for every row at every step and averages
# the iterates.  The mask noise limits the precision to about
# ``1 / sqrt(rows seen)``, so a few thousand passes over this small table give
# a fraction of a percent.
epochs = 300 if FAST else 4000
exact = DropoutLinearRegression(input_dropout=0.3).fit(X, y)
sgd = DropoutLinearRegression(
    input_dropout=0.3,
    solver="sgd",
    batch_size=len(y),
    max_iter=epochs,
    tol=0,
    random_state=0,
).fit(X, y)
rel = np.linalg.norm(sgd.coef_ - exact.coef_) / np.linalg.norm(exact.coef_)
print(f"SGD after {sgd.n_iter_[0]} epochs: {100 * rel:.2f}% from the closed form")

fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(np.arange(1, len(sgd.loss_curve_) + 1), sgd.loss_curve_, lw=0.5)
ax.set_xscale("log")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss with masks")
ax.set_title("SGD with real dropout masks")

# %%
# Choosing the rate by exact leave-one-out
# ----------------------------------------
# One eigendecomposition serves the whole grid, so scoring 40 rates costs
# about two fits.
search = DropoutLinearRegressionCV(input_dropouts=np.linspace(0, 0.95, 40)).fit(X, y)
best = search.best_params_["input_dropout"]
print(f"chosen dropout: {best:.3f}, LOO MSE {-search.best_score_:.1f}")

fig, ax = plt.subplots(figsize=(6, 4))
results = search.cv_results_
ax.plot(results["param_input_dropout"], -results["mean_test_score"], marker=".")
ax.axvline(best, color="k", ls=":")
ax.set_xlabel("dropout rate p")
ax.set_ylabel("leave-one-out mean squared error")
ax.set_title("Exact leave-one-out over the grid")
plt.show()
