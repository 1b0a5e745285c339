"""The linear contenders of ``skdrop analyze``, fold by fold, and the
held-out coverage of the chosen network's prediction intervals."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score
from sklearn.model_selection import KFold, StratifiedKFold

from skdrop import DropoutLogisticRegressionCV
from skdrop._report._analyze import (
    _baselines,
    _categorical_as_text,
    _interval_calibration,
    _Study,
    prepare,
)
from skdrop._report._baselines import _LOGISTIC_QUICK_RATES
from skdrop._report._html import interval_section, interval_sentence
from skdrop.metrics import interval_coverage, mean_interval_width

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
            input_dropouts=_LOGISTIC_QUICK_RATES, scoring="accuracy"
        ).fit(Z.loc[train], y[train])
        assert model.best_params_["input_dropout"] in _LOGISTIC_QUICK_RATES
        expected.append(accuracy_score(y[test], model.predict(Z.loc[test])))
    assert scores["DropoutLogisticRegressionCV"] == pytest.approx(np.mean(expected))
    # The table has signal a linear model finds: well above the majority class.
    majority = y.value_counts(normalize=True).max()
    assert scores["DropoutLogisticRegressionCV"] > majority + 0.1


def _regression_table(n=120, seed=0):
    """Size and the color red set the target, with unit noise."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "size": rng.normal(size=n),
            "color": rng.choice(["red", "green", "blue"], size=n),
            "noise": rng.normal(size=n),
        }
    )
    frame["price"] = (
        3 * frame["size"] + 2 * (frame["color"] == "red") + rng.normal(size=n)
    )
    return frame


def _regression_study(quick):
    X, y, task = prepare(_regression_table(), "price", "auto")
    assert task == "regression"
    _categorical_as_text(X, ["color"])
    splits = list(KFold(3, shuffle=True, random_state=0).split(X, y))
    return _Study(task, X, y, splits, quick=quick, seed=0, n_jobs=None)


@pytest.mark.parametrize("quick", [True, False])
def test_regression_interval_coverage_on_held_out_rows(quick):
    study = _regression_study(quick)
    best = {"input_dropout": 0.2, "hidden_dropout": 0.0, "cv_score": 0.9}
    result, figure = _interval_calibration(study, best)
    # Quick: the first split's test rows; else every row, held out once.
    held_out = len(study.splits[0][1]) if quick else len(study.y)
    assert result["n_held_out"] == held_out
    assert result["n_splits"] == (1 if quick else 3)
    levels = result["levels"]
    assert list(levels) == ["0.5", "0.9", "0.95"]
    coverage = [levels[k]["coverage"] for k in levels]
    width = [levels[k]["mean_width"] for k in levels]
    assert all(0 <= c <= 1 for c in coverage)
    # Nested intervals: coverage cannot fall as the level grows.
    assert coverage[0] <= coverage[1] <= coverage[2] and coverage[0] < coverage[2]
    assert 0 < width[0] < width[1] < width[2]
    curve = result["calibration_curve"]
    assert len(curve["nominal"]) == len(curve["observed"]) == 19
    assert np.all(np.diff(curve["observed"]) >= 0)
    # Input dropout 0.2: the passes differ, and the noise is most of it.
    assert 0 < result["model_variance_share"] < 1
    # Unit noise on a target of standard deviation about 3.5: the 90%
    # interval is about 2 * 1.645 wide, and holds most held-out rows.
    assert result["target_std"] > 2
    assert 2 < width[1] < 8
    assert coverage[1] > 0.7
    assert figure.axes[0].get_title() == "held-out coverage of MC dropout intervals"
    if quick:
        # The numbers are those of the estimator's own predict_interval.
        train, test = study.splits[0]
        model = study.model(0.2, 0.0).fit(study.X.iloc[train], study.y.iloc[train])
        # A Pipeline has no predict_interval: the network on the transformed rows.
        rows = model[:-1].transform(study.X.iloc[test])
        intervals = model[-1].predict_interval(rows, coverage=0.9)
        assert levels["0.9"]["coverage"] == pytest.approx(
            interval_coverage(study.y.iloc[test], *intervals.T)
        )
        assert levels["0.9"]["mean_width"] == pytest.approx(
            mean_interval_width(*intervals.T)
        )
    # The report's section names and judges the 90% coverage.
    analysis = SimpleNamespace(intervals=result, best=best, target="price")
    section = interval_section(analysis)
    assert "<h2>How sure is the chosen network?</h2>" in section
    assert "<td>90%</td>" in section
    sentence = interval_sentence(analysis)
    assert f"covered {100 * coverage[1]:.1f}% of {held_out} held-out rows" in sentence
    assert any(
        word in sentence for word in ("calibrated", "over-confident", "under-confident")
    )
    assert "spread of the Monte Carlo passes" in section
    assert interval_section(SimpleNamespace(intervals=None)) == ""


def test_interval_section_without_dropout_is_noise_alone():
    study = _regression_study(quick=True)
    best = {"input_dropout": 0.0, "hidden_dropout": 0.0, "cv_score": 0.9}
    result, _ = _interval_calibration(study, best)
    assert result["model_variance_share"] == 0
    section = interval_section(
        SimpleNamespace(intervals=result, best=best, target="price")
    )
    assert "intervals are the estimated noise alone" in section


@pytest.mark.parametrize(
    "coverage, verdict",
    [
        (0.90, "calibrated, within the +/-3.0-point sampling error of 400 rows"),
        (0.87, "slightly over-confident, too narrow (beyond"),
        (0.80, ": over-confident, too narrow (beyond"),
        (0.94, "slightly under-confident, too wide (beyond"),
        (0.99, ": under-confident, too wide (beyond"),
    ],
)
def test_interval_sentence_judges_the_90_percent_coverage(coverage, verdict):
    row = {"coverage": coverage, "mean_width": 3.0}
    intervals = {
        "levels": {"0.5": row, "0.9": row, "0.95": row},
        "n_held_out": 400,
        "target_std": 2.0,
    }
    sentence = interval_sentence(SimpleNamespace(intervals=intervals))
    assert sentence.startswith(
        f"The 90% prediction intervals of the chosen network covered "
        f"{100 * coverage:.1f}% of 400 held-out rows (mean width 3, 1.50 "
        "standard deviations of the target): "
    )
    assert verdict in sentence
