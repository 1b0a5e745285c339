"""The linear contenders of ``skdrop analyze``, fold by fold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score
from sklearn.model_selection import StratifiedKFold

from skdrop import DropoutLogisticRegressionCV
from skdrop._analyze import (
    _LOGISTIC_QUICK_RATES,
    _baselines,
    _categorical_as_text,
    _Study,
    prepare,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _classification_table(n=120, seed=0):
    """Size and the color red decide the label; noise does not."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "size": rng.normal(size=n),
            "color": rng.choice(["red", "green", "blue"], size=n),
            "noise": rng.normal(size=n),
        }
    )
    signal = frame["size"] + (frame["color"] == "red") * 1.5
    frame["label"] = np.where(signal + 0.3 * rng.normal(size=n) > 0.3, "yes", "no")
    return frame


def test_classification_contender_is_dropout_logistic_regression_cv():
    X, y, task = prepare(_classification_table(), "label", "auto")
    assert task == "classification"
    _categorical_as_text(X, ["color"])
    splits = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    study = _Study(task, X, y, splits, quick=True, seed=0, n_jobs=None)
    scores = _baselines(study, progress=False)
    assert "DropoutLogisticRegressionCV" in scores
    assert "LogisticRegression (tuned C)" in scores
    # By hand: standardize the numeric columns on each training fold, let
    # the estimator one-hot encode the color, tune the rate inside the fold
    # on accuracy and score the refit on the held-out rows.
    expected = []
    for train, test in splits:
        numeric = ["size", "noise"]
        mean = X.loc[train, numeric].mean()
        std = X.loc[train, numeric].std(ddof=0)
        Z = X.copy()
        Z[numeric] = (X[numeric] - mean) / std
        model = DropoutLogisticRegressionCV(
            dropouts=_LOGISTIC_QUICK_RATES, scoring="accuracy"
        ).fit(Z.loc[train], y[train])
        assert model.dropout_ in _LOGISTIC_QUICK_RATES
        expected.append(accuracy_score(y[test], model.predict(Z.loc[test])))
    assert scores["DropoutLogisticRegressionCV"] == pytest.approx(np.mean(expected))
    # The table has signal a linear model finds: well above the majority class.
    majority = y.value_counts(normalize=True).max()
    assert scores["DropoutLogisticRegressionCV"] > majority + 0.1
