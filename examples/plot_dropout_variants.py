"""
========================================================
Dropout variants, and tuning the rate with a grid search
========================================================

:class:`~skdrop.DropoutMLPClassifier` offers four kinds of noise through
``dropout_type``:

* ``"bernoulli"``: units are zeroed with probability ``p`` (standard dropout);
* ``"gaussian"``: units are multiplied by noise drawn from ``N(1, p / (1 - p))``;
* ``"alpha"``: alpha dropout, which keeps the mean and variance of a
  self-normalizing network (``activation="selu"``);
* ``"dropconnect"``: weights rather than units are zeroed.

This example compares them on scikit-learn's handwritten digits with a small
training set, then tunes the hidden dropout rate with
:class:`~sklearn.model_selection.GridSearchCV` over a
:class:`~sklearn.pipeline.Pipeline`, exactly as for any scikit-learn
estimator.
"""

# %%
# The data: 8x8 images of digits.  Only 500 images are used for training,
# which leaves a network with two hidden layers of 256 units room to
# overfit; the other 1297 are the test set.
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skdrop import DropoutMLPClassifier

# Small by default (the size the documentation shows, under a minute);
# SKDROP_EXAMPLE_SIZE=full runs the larger settings below.
FAST = os.environ.get("SKDROP_EXAMPLE_SIZE", "docs") != "full"
# Every model trains for a fixed number of epochs (see below).
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, train_size=500, stratify=y, random_state=0
)

# %%
# One pipeline, several kinds of noise
# ------------------------------------
# Each model is a :class:`~sklearn.preprocessing.StandardScaler` followed by
# the network.  Every model runs the same number of epochs
# (``n_iter_no_change=epochs`` switches the stopping rule off), since the
# rule watches the training loss, which dropout makes noisy.  The rates are
# the usual ones for each kind: 0.2 on the inputs and 0.5 on the hidden
# units, but only 0.05 and 0.1 for alpha dropout.  Two baselines without
# dropout, with ReLU and with SELU units, show what the noise adds.
epochs = 20 if FAST else 100
hidden = (64, 64) if FAST else (256, 256)
seeds = [0] if FAST else [0, 1, 2]


def make_pipeline(**params):
    network = DropoutMLPClassifier(
        hidden_layer_sizes=hidden,
        max_iter=epochs,
        n_iter_no_change=epochs,
        **params,
    )
    return Pipeline([("scale", StandardScaler()), ("mlp", network)])


variants = {
    "no dropout\n(relu)": dict(hidden_dropout=0.0),
    "bernoulli": dict(input_dropout=0.2, hidden_dropout=0.5),
    "gaussian": dict(input_dropout=0.2, hidden_dropout=0.5, dropout_type="gaussian"),
    "dropconnect": dict(
        input_dropout=0.2, hidden_dropout=0.5, dropout_type="dropconnect"
    ),
    "no dropout\n(selu)": dict(hidden_dropout=0.0, activation="selu"),
    "alpha\n(selu)": dict(
        input_dropout=0.05, hidden_dropout=0.1, dropout_type="alpha", activation="selu"
    ),
}

scores = {}
for name, params in variants.items():
    scores[name] = [
        make_pipeline(random_state=seed, **params)
        .fit(X_train, y_train)
        .score(X_test, y_test)
        for seed in seeds
    ]
    label = name.replace("\n", " ")
    print(f"{label:20s} test accuracy {np.mean(scores[name]):.3f}")

fig, ax = plt.subplots(figsize=(7, 4))
names = list(scores)
means = [np.mean(scores[n]) for n in names]
spreads = [np.std(scores[n]) for n in names]
colors = ["0.6", "C0", "C1", "C2", "0.6", "C3"]
ax.bar(names, means, yerr=spreads, color=colors, capsize=4)
ax.set_ylim(min(means) - 0.03, 1.0)
ax.set_ylabel("test accuracy")
ax.set_title(f"Dropout variants on digits (mean of {len(seeds)} seeds)")
fig.tight_layout()

# %%
# The differences are small here: the digits are an easy problem, and the
# noise mostly trades a little fitting for stability.  Expect each variant to
# need its own rate (Gaussian noise at ``p = 0.5`` has variance 1, alpha
# dropout is used at a tenth of that rate) rather than one rate for all.
#
# Tuning the rate with GridSearchCV
# ---------------------------------
# The estimators follow scikit-learn's conventions, so the rate is tuned like
# any hyperparameter, here by 5-fold cross-validation on the training set
# only.  ``hidden_dropout`` also accepts one rate per hidden layer, so a
# grid can hold tuples such as ``(0.5, 0.2)`` too.
rates = [0.0, 0.25, 0.5] if FAST else [0.0, 0.1, 0.2, 0.3, 0.5, 0.7]
search = GridSearchCV(
    make_pipeline(input_dropout=0.2, random_state=0),
    param_grid={"mlp__hidden_dropout": rates},
    cv=3 if FAST else 5,
)
search.fit(X_train, y_train)
best = search.best_params_["mlp__hidden_dropout"]
print(f"best hidden_dropout: {best}, cross-validated accuracy {search.best_score_:.3f}")
print(f"test accuracy of the refitted best model: {search.score(X_test, y_test):.3f}")

fig, ax = plt.subplots(figsize=(6, 4))
ax.errorbar(
    rates,
    search.cv_results_["mean_test_score"],
    yerr=search.cv_results_["std_test_score"],
    marker="o",
    capsize=3,
)
ax.axvline(best, color="k", ls=":")
ax.set_xlabel("hidden_dropout")
ax.set_ylabel("cross-validated accuracy")
ax.set_title("GridSearchCV over the hidden dropout rate")
fig.tight_layout()

# %%
# Read the error bars before trusting ``best_params_``: on this problem the
# cross-validated accuracy barely moves with the rate, and the differences
# between rates are smaller than the spread between folds.  Dropout pays off
# most when the network is large for the amount of data and the labels are
# noisy (see :ref:`sphx_glr_auto_examples_plot_mlp_dropout_vs_sklearn.py`).
plt.show()
