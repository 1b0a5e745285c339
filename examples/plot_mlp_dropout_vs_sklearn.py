"""
===========================================================
Dropout narrows the generalization gap of an MLP classifier
===========================================================

A wide network trained on a small, noisy dataset learns its training set by
heart: the training loss keeps falling while the loss on new data turns
around and climbs.  This example follows both losses epoch by epoch for

* scikit-learn's :class:`~sklearn.neural_network.MLPClassifier`,
* :class:`~skdrop.DropoutMLPClassifier` with dropout switched off (the same
  model, to show that the two implementations agree), and
* :class:`~skdrop.DropoutMLPClassifier` with input and hidden dropout,

all with the same layers, optimizer and L2 penalty.  The losses are computed
with :func:`~sklearn.metrics.log_loss` on the deterministic predictions, not
read from ``loss_curve_``: under dropout, ``loss_curve_`` records the loss
with the masks on, which is not comparable with the loss of the network that
predicts.
"""

# %%
# A small noisy problem
# ---------------------
# 300 training rows, 20 features of which 5 are informative, and 15% of the
# labels flipped at random: plenty of room to overfit.
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from skdrop import DropoutMLPClassifier

# Small by default (the size the documentation shows, under a minute);
# SKDROP_EXAMPLE_SIZE=full runs the larger settings below.
FAST = os.environ.get("SKDROP_EXAMPLE_SIZE", "docs") != "full"

X, y = make_classification(
    n_samples=1300,
    n_features=20,
    n_informative=5,
    n_redundant=2,
    flip_y=0.15,
    class_sep=0.8,
    random_state=0,
)
X_train, X_val, y_train, y_val = train_test_split(
    X, y, train_size=300, random_state=0, stratify=y
)
scaler = StandardScaler().fit(X_train)
X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)
classes = np.unique(y)

# %%
# Three models, one epoch at a time
# ---------------------------------
# ``partial_fit`` runs one epoch and keeps the optimizer state, so calling it
# in a loop trains exactly like ``fit`` while letting us score every epoch.
# Adam with a learning rate of 0.01 makes the overfitting quick.
epochs = 40 if FAST else 200
hidden = (64, 64) if FAST else (128, 128)
shared = dict(hidden_layer_sizes=hidden, learning_rate_init=0.01, random_state=0)
models = {
    "scikit-learn MLPClassifier": MLPClassifier(**shared),
    "skdrop, no dropout": DropoutMLPClassifier(hidden_dropout=0.0, **shared),
    "skdrop, dropout 0.2 in / 0.5 hidden": DropoutMLPClassifier(
        input_dropout=0.2, hidden_dropout=0.5, **shared
    ),
}

history = {name: {"train": [], "val": []} for name in models}
for name, model in models.items():
    for _ in range(epochs):
        model.partial_fit(X_train, y_train, classes=classes)
        history[name]["train"].append(
            log_loss(y_train, model.predict_proba(X_train), labels=classes)
        )
        history[name]["val"].append(
            log_loss(y_val, model.predict_proba(X_val), labels=classes)
        )

# %%
# Training and validation loss
# ----------------------------
# Without dropout both implementations drive the training loss (left, log
# scale) towards zero while the validation loss (right) climbs far above its
# early minimum: the network has memorized the flipped labels.  With dropout
# the training loss stays orders of magnitude higher, and the validation loss
# stays close to its best for much longer.
fig, (ax_train, ax_val) = plt.subplots(1, 2, figsize=(10, 4))
steps = np.arange(1, epochs + 1)
for name, curves in history.items():
    ax_train.plot(steps, curves["train"], label=name)
    ax_val.plot(steps, curves["val"], label=name)
ax_train.set_yscale("log")
ax_train.set_title("training set")
ax_val.set_title("validation set")
for ax in (ax_train, ax_val):
    ax.set_xlabel("epoch")
    ax.set_ylabel("log loss")
ax_val.legend(fontsize="small")
fig.suptitle("Generalization gap with and without dropout")
fig.tight_layout()

# %%
# The final numbers
# -----------------
# After the last epoch; the best validation loss along the way is shown too,
# since without dropout the final network is far past its best.
print(f"{'model':38s} {'train':>7s} {'valid':>7s} {'best':>7s} {'acc':>6s}")
for name, model in models.items():
    train, val = history[name]["train"][-1], history[name]["val"][-1]
    best = min(history[name]["val"])
    acc = accuracy_score(y_val, model.predict(X_val))
    print(f"{name:38s} {train:7.3f} {val:7.3f} {best:7.3f} {acc:6.3f}")

# %%
# Even with dropout, training for ever eventually overfits.  In practice
# combine it with ``early_stopping=True``, which holds out part of the
# training data, watches the validation accuracy of the deterministic
# network and restores the best epoch's weights.
plt.show()
