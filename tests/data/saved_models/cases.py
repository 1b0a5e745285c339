"""The saved-model cases: estimators, their tables and what they compute.

Shared by ``make_saved_models.py`` (which wrote the committed files with an
old skdrop) and ``tests/test_saved_models.py`` (which loads them with the
current one).  Keep every case small: the files are committed.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_diabetes

from skdrop import (
    DropoutLinearRegression,
    DropoutLinearRegressionCV,
    DropoutLogisticRegression,
    DropoutLogisticRegressionCV,
    DropoutMLPClassifier,
    DropoutMLPClassifierCV,
    DropoutMLPRegressor,
    DropoutMLPRegressorCV,
)
from skdrop.datasets import load_penguins

SMALL = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
GRID = dict(input_dropouts=(0.0, 0.2), hidden_dropouts=(0.0, 0.3), cv=2)


def table(name):
    """``(X, y)`` of a bundled table: "penguins" (a DataFrame with string
    columns, species as the target), "penguins_numeric" (standardized numeric
    columns), or "diabetes" (the first 120 rows)."""
    if name == "diabetes":
        X, y = load_diabetes(return_X_y=True)
        return X[:120], y[:120]
    df = load_penguins().dropna().reset_index(drop=True)
    X = df.drop(columns=["species", "year"])
    numeric = X.select_dtypes("number").columns
    X[numeric] = (X[numeric] - X[numeric].mean()) / X[numeric].std()
    if name == "penguins_numeric":
        X = X[numeric].to_numpy()
    return X, df["species"].to_numpy()


CASES = {
    "mlp_classifier": (
        lambda: DropoutMLPClassifier(input_dropout=0.2, hidden_dropout=0.3, **SMALL),
        "penguins",
    ),
    "mlp_classifier_batch_norm": (
        lambda: DropoutMLPClassifier(
            batch_norm=True, early_stopping=True, input_dropout=0.1, **SMALL
        ),
        "penguins_numeric",
    ),
    "mlp_classifier_learned": (
        lambda: DropoutMLPClassifier(
            input_dropout="learned", hidden_dropout="learned", **SMALL
        ),
        "penguins_numeric",
    ),
    "mlp_regressor": (
        lambda: DropoutMLPRegressor(
            dropout_type="gaussian", hidden_dropout=0.2, **SMALL
        ),
        "diabetes",
    ),
    "mlp_regressor_gaussian_nll": (
        lambda: DropoutMLPRegressor(
            loss="gaussian_nll", solver="sgd", hidden_dropout=0.1, **SMALL
        ),
        "diabetes",
    ),
    "mlp_regressor_lbfgs": (
        lambda: DropoutMLPRegressor(solver="lbfgs", hidden_dropout=0.0, **SMALL),
        "diabetes",
    ),
    "mlp_classifier_cv": (
        lambda: DropoutMLPClassifierCV(**GRID, **SMALL),
        "penguins_numeric",
    ),
    "mlp_regressor_cv": (
        lambda: DropoutMLPRegressorCV(**GRID, **SMALL),
        "diabetes",
    ),
    "linear": (lambda: DropoutLinearRegression(dropout=0.3), "diabetes"),
    "linear_cv": (lambda: DropoutLinearRegressionCV(), "diabetes"),
    "logistic": (
        lambda: DropoutLogisticRegression(dropout=0.3),
        "penguins",
    ),
    "logistic_cv": (
        lambda: DropoutLogisticRegressionCV(cv=2),
        "penguins_numeric",
    ),
}


def outputs(model, X):
    """What a fitted model computes deterministically, by name."""
    predicted = np.asarray(model.predict(X))
    if predicted.dtype == object:  # class labels that are strings
        predicted = predicted.astype(str)
    out = {"predict": predicted}
    if hasattr(model, "predict_proba"):
        out["predict_proba"] = model.predict_proba(X)
    return out
