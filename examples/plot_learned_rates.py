"""
=================================================================
Learned dropout rates: what input dropout says about each feature
=================================================================

With ``input_dropout="learned"`` a network learns one dropout rate per input
feature while it trains (Concrete dropout, Gal, Hron & Kendall 2017): a
feature it depends on is driven towards rate 0, one it can do without keeps
a higher rate.  This example fits such a network on the bundled Palmer
penguins (species from body measurements, island and sex), with two columns
of pure noise added, and

* plots how the rates moved during training;
* sets the learned relevance (keep probability) beside drop-column
  importance, which refits the network without each column.

The two need not agree (see :ref:`dropout_vs_removal`): of two correlated
columns, either can be removed at little cost while dropping it at random
still costs the network something.  Here they mostly agree (a Spearman
correlation of 0.84 at full size): bill length leads both, and the noise
columns and ``year`` keep the highest learned rates.
"""

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from skdrop import DropoutMLPClassifier
from skdrop.datasets import load_penguins
from skdrop.inspection import DropoutRelevanceDisplay, dropout_relevance

# Small by default (the size the documentation shows, under a minute);
# SKDROP_EXAMPLE_SIZE=full runs the larger settings below.
FAST = os.environ.get("SKDROP_EXAMPLE_SIZE", "docs") != "full"
warnings.filterwarnings("ignore", category=ConvergenceWarning)

penguins = load_penguins().dropna().reset_index(drop=True)
y = penguins.pop("species").to_numpy()
X = penguins
rng = np.random.default_rng(0)
X["noise_a"] = rng.normal(size=len(X))
X["noise_b"] = rng.normal(size=len(X))
numeric = X.select_dtypes("number").columns
X[numeric] = StandardScaler().fit_transform(X[numeric])
for column in ("island", "sex"):
    X[column] = X[column].astype("category")  # one-hot encoded by the network

model = DropoutMLPClassifier(
    hidden_layer_sizes=(64,),
    input_dropout="learned",
    hidden_dropout="learned",
    learning_rate_init=3e-3,
    max_iter=80 if FAST else 300,
    random_state=0,
).fit(X, y)

# %%
# The rates during training
# -------------------------
# Every rate starts at 0.1.  The island and sex columns are one-hot blocks,
# each with one rate for the block.
fig, (ax_in, ax_hidden) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
for name, path in zip(
    model.feature_names_in_, model.input_dropout_history_.T, strict=True
):
    ax_in.plot(path, label=name)
ax_in.set_xlabel("epoch")
ax_in.set_ylabel("input dropout rate")
ax_in.legend(fontsize=7, ncol=2)
ax_hidden.plot(model.hidden_dropout_history_[:, 0])
ax_hidden.set_xlabel("epoch")
ax_hidden.set_ylabel("hidden dropout rate")
plt.show()

print(dropout_relevance(model, X, y).to_frame().round(3))

# %%
# Learned relevance against drop-column importance
# ------------------------------------------------
# The ablation refits the same estimator (learned rates and all) without each
# column, on cross-validation splits with common random numbers; the bars
# are its intervals.  Features the two measures rank far apart are circled.
display = DropoutRelevanceDisplay.from_estimator(
    model, X, y, cv=3 if FAST else 5, random_state=0
)
print(f"Spearman correlation: {display.rank_correlation_:.2f}")
print(f"ranked far apart: {display.disagreements_}")
plt.show()
