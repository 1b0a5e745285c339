"""
=====================================================
Categorical features: one dropout mask per feature
=====================================================

Penguins from the Palmer archipelago: predict the species from the island,
the sex and four body measurements.  The DataFrame goes into the estimator
with its string columns; :class:`~skdrop.DropoutMLPClassifier` one-hot
encodes them itself (``categorical_features="from_dtype"``) and drops each
categorical feature as a whole block.

The example shows the kind of masks the network sees, what it predicts for an island
it never saw, and how group dropout compares with dropping single one-hot
columns.
"""

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from palmerpenguins import load_penguins
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skdrop import DropoutMLPClassifier

# Small by default (the size the documentation shows, under a minute);
# SKDROP_EXAMPLE_SIZE=full runs the larger settings below.
FAST = os.environ.get("SKDROP_EXAMPLE_SIZE", "docs") != "full"
warnings.simplefilter("ignore", ConvergenceWarning)

penguins = load_penguins()
X, y = penguins.drop(columns="species"), penguins["species"]
X.head()

# %%
# Numeric columns are imputed and scaled; the categorical ones pass through
# as strings (missing values in them are fine: they encode to a zero block).
numeric = make_pipeline(SimpleImputer(), StandardScaler())
prep = ColumnTransformer(
    [("num", numeric, make_column_selector(dtype_include="number"))],
    remainder="passthrough",
    verbose_feature_names_out=False,
).set_output(transform="pandas")
epochs = 20 if FAST else 200
model = make_pipeline(
    prep,
    DropoutMLPClassifier(
        hidden_layer_sizes=(64,),
        input_dropout=0.3,
        hidden_dropout=0.2,
        learning_rate_init=0.01,
        max_iter=epochs,
        random_state=0,
    ),
).fit(X, y)
clf = model[-1]
print("categories:", clf.categories_)
print("encoded columns per feature:", [g.tolist() for g in clf.feature_groups_])

# %%
# The input masks: each row of the picture is one training row, each column
# one encoded input.  Each feature is kept or dropped as a whole, at its
# rate in ``input_dropout_``, over the encoded columns ``feature_groups_``
# gives it: within the island block (3 columns) and the sex block (2
# columns) a row is kept or dropped as a whole.  Drawn here with numpy, as
# the network draws them during training.
rng = np.random.default_rng(0)
n_encoded = 1 + max(int(g.max()) for g in clf.feature_groups_)
mask = np.ones((40, n_encoded))
for rate, group in zip(clf.input_dropout_, clf.feature_groups_, strict=True):
    mask[:, group] = (rng.random((40, 1)) >= rate).astype(float)
fig, ax = plt.subplots(figsize=(6, 4))
ax.imshow(mask, cmap="Greys_r", aspect="auto", interpolation="nearest")
names = list(clf.feature_names_in_)
ticks = [g[0] + (len(g) - 1) / 2 for g in clf.feature_groups_]
ax.set_xticks(ticks, names, rotation=45, ha="right")
ax.set_ylabel("training row")
ax.set_title("input dropout masks (white = kept)")
fig.tight_layout()

# %%
# An island the model never saw, and a missing island, both encode to an
# all-zero block: the input a dropped island produces in training.  The
# prediction then rests on the other features.
rows = X.head(3).assign(island=["Atlantis", None, "Biscoe"])
print(model.predict_proba(rows).round(3))

# %%
# Group dropout against dropout on single one-hot columns (the same columns,
# encoded before the estimator) and against no input dropout, with 5-fold
# cross-validation.
encoded = ColumnTransformer(
    [
        ("num", numeric, make_column_selector(dtype_include="number")),
        (
            "cat",
            make_pipeline(
                SimpleImputer(strategy="most_frequent"),
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
            ),
            ["island", "sex"],
        ),
    ]
).set_output(transform="pandas")


def network(rate):
    return DropoutMLPClassifier(
        hidden_layer_sizes=(64,),
        input_dropout=rate,
        hidden_dropout=0.2,
        learning_rate_init=0.01,
        max_iter=epochs,
        random_state=0,
    )


candidates = {
    "group": make_pipeline(prep, network(0.3)),
    "elementwise": make_pipeline(encoded, network(0.3)),
    "none": make_pipeline(prep, network(0.0)),
}
folds = 2 if FAST else 5
scores = {k: cross_val_score(p, X, y, cv=folds) for k, p in candidates.items()}
fig, ax = plt.subplots(figsize=(5, 3))
ax.bar(
    list(scores),
    [s.mean() for s in scores.values()],
    yerr=[s.std() for s in scores.values()],
    capsize=4,
)
ax.set_ylim(0.9, 1.0)
ax.set_ylabel(f"{folds}-fold accuracy")
ax.set_title("input dropout 0.3 on penguins")
fig.tight_layout()
for name, s in scores.items():
    print(f"{name:12s} {s.mean():.3f} +/- {s.std():.3f}")
np.testing.assert_array_less(0.8, [s.mean() for s in scores.values()])
