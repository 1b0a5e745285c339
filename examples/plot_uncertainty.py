"""
=================================================
Prediction intervals from Monte Carlo dropout
=================================================

:class:`~skdrop.DropoutMLPRegressor` turns Monte Carlo dropout into a
predictive distribution: ``predict(X, return_std=True)`` adds the estimated
noise of the target (``noise_variance_``) to the spread of the dropout
passes, and :meth:`~skdrop.DropoutMLPRegressor.predict_interval` gives
intervals from it.  This example

1. splits the predictive standard deviation into its model and noise parts on
   a real table (diabetes progression),
2. checks the intervals on held-out rows against their nominal coverage, next
   to a Bayesian ridge regression and to split-conformal intervals around the
   same network, and shows why the noise estimate needs enough held-out
   rows (:class:`~skdrop.DropoutMLPRegressorCV` uses all of them), and
3. fits the heteroscedastic head (``loss="gaussian_nll"``) to data whose noise
   grows with the input.
"""

# %%
# A dropout network on the diabetes table
# ---------------------------------------
# Early stopping holds out 10% of the training rows; the noise variance is
# estimated on them after the fit, by maximum likelihood of the predictive
# distribution.
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import spearmanr
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import BayesianRidge
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skdrop import DropoutMLPRegressor, DropoutMLPRegressorCV
from skdrop.metrics import (
    IntervalCalibrationDisplay,
    interval_coverage,
    mean_interval_width,
)

# Fewer epochs by default (the size the documentation shows, under a
# minute); SKDROP_EXAMPLE_SIZE=full runs the full number.
FAST = os.environ.get("SKDROP_EXAMPLE_SIZE", "docs") != "full"
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

params = dict(
    hidden_layer_sizes=(64,),
    early_stopping=True,
    validation_fraction=0.2,
    n_iter_no_change=20,
    learning_rate_init=0.003,
    max_iter=100 if FAST else 400,
    random_state=0,
)
network = DropoutMLPRegressor(hidden_dropout=0.2, **params).fit(X_train, y_train)

mean, total_std = network.predict(X_test, return_std=True)
_, model_std = network.predict(X_test, return_std=True, include_noise=False)
print(f"noise standard deviation: {np.sqrt(network.noise_variance_[0]):.1f}")
print(f"mean model standard deviation: {model_std.mean():.1f}")
print(f"mean total standard deviation: {total_std.mean():.1f}")

# %%
# On this table most of the uncertainty is noise: the disease progression a
# year later is far from determined by the ten baseline measurements.  The
# model part is the smaller term, and it varies from patient to patient.
#
# Coverage on held-out rows
# -------------------------
# The 90% intervals of the network, of :class:`~sklearn.linear_model.BayesianRidge`
# (whose ``predict(X, return_std=True)`` also includes its noise) and
# split-conformal intervals: the network's prediction plus or minus the
# 90% quantile of its absolute residuals on rows it has not seen (here
# half of the test rows calibrate and the other half are scored).
intervals = network.predict_interval(X_test, coverage=0.9)
ridge = BayesianRidge().fit(X_train, y_train)
ridge_mean, ridge_std = ridge.predict(X_test, return_std=True)
ridge_intervals = np.column_stack(
    [ridge_mean - 1.645 * ridge_std, ridge_mean + 1.645 * ridge_std]
)

calibrate, score = np.arange(0, len(y_test), 2), np.arange(1, len(y_test), 2)
residuals = np.abs(y_test[calibrate] - network.predict(X_test[calibrate]))
n_cal = len(calibrate)
q = np.quantile(residuals, np.ceil(0.9 * (n_cal + 1)) / n_cal, method="higher")
point = network.predict(X_test[score])
conformal = np.column_stack([point - q, point + q])

print("90% intervals on the scored half of the test rows:")
for name, bounds in [
    ("MC dropout", intervals[score]),
    ("Bayesian ridge", ridge_intervals[score]),
    ("split conformal", conformal),
]:
    covered = interval_coverage(y_test[score], *bounds.T)
    width = mean_interval_width(*bounds.T)
    print(f"  {name:16s} coverage {covered:5.1%}, mean width {width:5.1f}")

# %%
# With 133 test rows the binomial standard error of a 90% coverage is about
# 2.6% (3.7% on the scored half), so a few points are noise, but the network's
# intervals are clearly too narrow.  Its noise variance came from the 62 rows
# that early stopping held out (20% of the training rows), which happen to be
# easier than the rest: the network's R^2 on them is well above its test R^2.
#
# :class:`~skdrop.DropoutMLPRegressorCV` estimates the noise on every
# training row instead, each on the fold network that did not see it, and
# picks the dropout rate on the way.
search = DropoutMLPRegressorCV(
    input_dropouts=[0.0], hidden_dropouts=[0.1, 0.2, 0.4], cv=5, **params
).fit(X_train, y_train)
print(
    f"validation R^2 of the single network {network.best_validation_score_:.2f}, "
    f"test R^2 {network.score(X_test, y_test):.2f}"
)
print(
    f"noise standard deviation: single network "
    f"{np.sqrt(network.noise_variance_[0]):.1f}, cross-validated "
    f"{np.sqrt(search.noise_variance_[0]):.1f}"
)
cv_intervals = search.predict_interval(X_test, coverage=0.9)
print(
    f"cross-validated ensemble, all test rows: coverage "
    f"{interval_coverage(y_test, *cv_intervals.T):.1%}, mean width "
    f"{mean_interval_width(*cv_intervals.T):.1f}"
)

# %%
# The calibration curves show every nominal level at once.
fig, ax = plt.subplots(figsize=(5, 5))
IntervalCalibrationDisplay.from_estimator(
    network, X_test, y_test, ax=ax, name="single network"
)
IntervalCalibrationDisplay.from_estimator(
    search, X_test, y_test, ax=ax, name="DropoutMLPRegressorCV"
)
IntervalCalibrationDisplay.from_estimator(
    ridge, X_test, y_test, ax=ax, name="Bayesian ridge"
)
ax.set_title("Diabetes: observed against nominal coverage")
fig.tight_layout()

# %%
# Noise that grows with the input
# -------------------------------
# One noise variance for all rows is too wide where the data are precise
# and too narrow where they are not.  ``loss="gaussian_nll"`` gives the
# network a second output per target, a variance, trained on the Gaussian
# negative log-likelihood.  With dropout, the passes add the model's
# uncertainty to the predicted noise.
rng = np.random.default_rng(0)
x = rng.uniform(0, 3, size=(2000, 1))
true_sd = 0.1 + 0.5 * x[:, 0]
target = np.sin(2 * x[:, 0]) + true_sd * rng.normal(size=2000)

common = dict(
    hidden_layer_sizes=(64,),
    hidden_dropout=0.05,
    learning_rate_init=0.01,
    max_iter=40 if FAST else 150,
    random_state=0,
)
heteroscedastic = DropoutMLPRegressor(loss="gaussian_nll", **common).fit(x, target)
homoscedastic = DropoutMLPRegressor(**common).fit(x, target)

grid = np.linspace(0, 3, 200)[:, None]
fig, ax = plt.subplots(figsize=(7, 4))
ax.scatter(x[:, 0], target, s=3, color="0.6", label="data")
for model, color, label in [
    (heteroscedastic, "C0", 'loss="gaussian_nll"'),
    (homoscedastic, "C1", 'loss="squared_error"'),
]:
    band = model.predict_interval(grid, coverage=0.9)
    ax.fill_between(grid[:, 0], band[:, 0], band[:, 1], color=color, alpha=0.25)
    ax.plot(grid[:, 0], model.predict(grid), color=color, label=f"{label}, 90%")
    _, std = model.predict(grid, return_std=True)
    corr = spearmanr(std, 0.1 + 0.5 * grid[:, 0]).statistic
    print(f"{label:22s} rank correlation of std with the true noise: {corr:.2f}")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.legend(fontsize="small", loc="lower left")
ax.set_title("Prediction intervals with constant and predicted noise")
fig.tight_layout()
plt.show()
