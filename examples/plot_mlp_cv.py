"""
=====================================================
Choosing the dropout rates of a network per table
=====================================================

Whether dropout helps depends on the table.  This example lets
:class:`~skdrop.DropoutMLPRegressorCV` choose the input and hidden rates of a
network on a real table, the diabetes data (442 patients, 10 features), by
5-fold cross-validation over a 3 x 4 grid: 60 networks, trained side by side
as one batched model.

It draws the cross-validated R^2 of every setting, compares the chosen model
with the fixed-rate default of :class:`~skdrop.DropoutMLPRegressor` on a
held-out test set, and checks that the grid cost a few single fits rather
than sixty.
"""

# %%
import os
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skdrop import DropoutMLPRegressor, DropoutMLPRegressorCV

# Small by default (the size the documentation shows, under a minute);
# SKDROP_EXAMPLE_SIZE=full runs the larger settings below.
FAST = os.environ.get("SKDROP_EXAMPLE_SIZE", "docs") != "full"
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_diabetes(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, random_state=0
)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

INPUT_RATES = [0.0, 0.1, 0.2]
HIDDEN_RATES = [0.0, 0.1, 0.3, 0.5]
params = dict(
    hidden_layer_sizes=(64,),
    learning_rate_init=3e-3,
    max_iter=60 if FAST else 300,
    early_stopping=True,
    n_iter_no_change=20,
    random_state=0,
)

# %%
# The search
# ----------
# Every (rates, fold) network is the network ``DropoutMLPRegressor`` would fit
# on that fold with the same seed; the test-fold R^2 of each lands in
# ``cv_results_``.
began = time.perf_counter()
search = DropoutMLPRegressorCV(
    **params, input_dropouts=INPUT_RATES, hidden_dropouts=HIDDEN_RATES, cv=5
).fit(X_train, y_train)
search_time = time.perf_counter() - began

began = time.perf_counter()
default = DropoutMLPRegressor(**params).fit(X_train, y_train)
single_time = time.perf_counter() - began

print(f"chosen: {search.best_params_}, CV R^2 {search.best_score_:.3f}")
print(
    f"test R^2: CV estimator {search.score(X_test, y_test):.3f}, fixed default "
    f"(hidden_dropout=0.5) {default.score(X_test, y_test):.3f}"
)
print(
    f"60 networks in {search_time:.1f} s, one network in {single_time:.1f} s "
    f"({search_time / single_time:.1f} single fits)"
)

# %%
# The grid
# --------
# The mean cross-validated R^2 of each setting; the chosen one is framed.
scores = search.cv_results_["mean_test_score"].reshape(
    len(INPUT_RATES), len(HIDDEN_RATES)
)
fig, ax = plt.subplots(figsize=(6, 3.6))
image = ax.imshow(scores, cmap="viridis")
for i in range(len(INPUT_RATES)):
    for j in range(len(HIDDEN_RATES)):
        ax.text(j, i, f"{scores[i, j]:.3f}", ha="center", va="center", color="w")
i, j = np.unravel_index(np.argmax(scores), scores.shape)
ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=2))
ax.set_xticks(range(len(HIDDEN_RATES)), labels=[f"{r:g}" for r in HIDDEN_RATES])
ax.set_yticks(range(len(INPUT_RATES)), labels=[f"{r:g}" for r in INPUT_RATES])
ax.set_xlabel("hidden_dropout")
ax.set_ylabel("input_dropout")
ax.set_title("cross-validated R^2 by dropout rates")
fig.colorbar(image, ax=ax)
fig.tight_layout()
plt.show()
