"""
=====================================================
Dropout logistic regression against a tuned L2 model
=====================================================

To second order, input dropout on a logistic regression adds the penalty
``lam/2 * sum_j a_j w_j^2`` with ``lam = p / (1 - p)`` and
``a_j = mean_i pi_i (1 - pi_i) x_ij^2``: an L2 penalty whose weight for
feature ``j`` counts only the rows the model is unsure about.  This example

1. tunes :class:`~skdrop.DropoutLogisticRegressionCV` and
   :class:`~sklearn.linear_model.LogisticRegressionCV` (L2) on the
   breast-cancer table and compares them on held-out rows;
2. plots the per-feature penalty weights of the dropout fit against the
   single weight of L2;
3. compares the two sets of coefficients.
"""

# %%
# The data: scikit-learn's breast-cancer table (569 tumours, 30 features),
# split 70/30 and standardized on the training part.
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import expit
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegressionCV
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skdrop import DropoutLogisticRegressionCV

# One size by default and in the documentation build (under a minute);
# SKDROP_EXAMPLE_SIZE=test (the test suite) runs the smaller settings below.
FAST = os.environ.get("SKDROP_EXAMPLE_SIZE", "docs") == "test"

data = load_breast_cancer()
X_train, X_test, y_train, y_test = train_test_split(
    data.data, data.target, test_size=0.3, stratify=data.target, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
n = len(y_train)

# %%
# Tuning both models
# ------------------
# Both searches use 5-fold cross-validation and the log loss, the default
# scoring of :class:`~skdrop.DropoutLogisticRegressionCV`.
# The dropout search tries the default grid: 12 rates from 0.001 to 0.97,
# evenly spaced in log(p / (1 - p)).
rates = [0.1, 0.3, 0.5, 0.7] if FAST else DropoutLogisticRegressionCV().input_dropouts
Cs = np.logspace(-3, 2, 5 if FAST else 11)
dropout = DropoutLogisticRegressionCV(input_dropouts=rates).fit(X_train, y_train)
with warnings.catch_warnings():
    # scikit-learn 1.9 announces changes of LogisticRegressionCV's defaults.
    warnings.simplefilter("ignore", FutureWarning)
    l2 = LogisticRegressionCV(Cs=Cs, scoring="neg_log_loss", max_iter=5000)
    l2.fit(X_train, y_train)
C = float(np.ravel(l2.C_)[0])
best = dropout.best_params_["input_dropout"]
print(f"dropout: chosen rate {best:.2f}; L2: chosen C {C:.3g}")
for name, model in [("dropout", dropout), ("L2", l2)]:
    accuracy = accuracy_score(y_test, model.predict(X_test))
    loss = log_loss(y_test, model.predict_proba(X_test))
    print(f"{name:8s} held-out accuracy {accuracy:.3f}, log loss {loss:.3f}")

fig, ax = plt.subplots(figsize=(6, 4))
lam = np.asarray(rates) / (1 - np.asarray(rates))
ax.semilogx(lam, -dropout.cv_results_["mean_test_score"], marker=".")
ax.axvline(best / (1 - best), color="k", ls=":")
ax.set_xlabel("penalty strength lam = p / (1 - p)")
ax.set_ylabel("cross-validated log loss")
ax.set_title("DropoutLogisticRegressionCV")
fig.tight_layout()

# %%
# With 171 test rows, one row is 0.6% of accuracy: one split says little.
# ``benchmarks/bench_logistic.py`` compares the two over several splits of
# the development suite's tables, where neither wins everywhere.
#
# Penalty weights
# ---------------
# Both objectives below are means over the training rows.  Dropout adds
# ``lam/2 * a_j * w_j^2`` per feature, with ``a_j`` evaluated at the fitted
# probabilities; L2 adds ``1 / (2 n C) * w_j^2``, the same for every
# standardized feature.  Plotted is the factor of ``w_j^2 / 2`` for each.
p = best
pi = expit(dropout.decision_function(X_train))
a = (pi * (1 - pi)) @ X_train**2 / n
strength = p / (1 - p) * a
order = np.argsort(strength)
print(f"rows with pi (1 - pi) < 0.01: {np.mean(pi * (1 - pi) < 0.01):.0%}")
print(f"dropout weights span a factor {a.max() / a.min():.1f}")

fig, ax = plt.subplots(figsize=(6, 6))
ax.barh(np.arange(len(a)), strength[order], label="dropout: lam * a_j")
ax.axvline(1 / (n * C), color="C1", lw=2, label="L2: 1 / (n C)")
ax.set_yticks(np.arange(len(a)), data.feature_names[order], fontsize="small")
ax.set_xlabel("penalty weight of w_j^2 / 2 (mean loss)")
ax.set_title("Dropout penalizes features of confident rows less")
ax.legend(loc="lower right")
fig.tight_layout()

# %%
# Most training rows are predicted with near certainty and add almost
# nothing to any ``a_j``.  The "worst" size features (radius, perimeter,
# area), which separate the classes best, get the smallest weights, below
# the L2 weight; at the chosen rate most other features are penalized more
# than under L2.
#
# Coefficients
# ------------
# Features with a small dropout weight keep larger coefficients than under
# L2; those active on ambiguous rows are shrunk more.
fig, ax = plt.subplots(figsize=(5, 5))
points = ax.scatter(l2.coef_[0], dropout.coef_[0], c=np.log10(a), cmap="viridis")
limit = 1.1 * np.abs(np.r_[l2.coef_[0], dropout.coef_[0]]).max()
ax.plot([-limit, limit], [-limit, limit], color="k", lw=0.5)
ax.set_xlim(-limit, limit)
ax.set_ylim(-limit, limit)
ax.set_xlabel("L2 coefficient")
ax.set_ylabel("dropout coefficient")
fig.colorbar(points, label="log10 a_j")
ax.set_title("Coefficients on standardized features")
fig.tight_layout()
plt.show()
