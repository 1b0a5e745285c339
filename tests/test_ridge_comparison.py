"""compare_with_ridge: the exact equivalence, the matched ridge, the CV scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdrop import DropoutLinearRegression
from skdrop.inspection import RidgeComparisonDisplay, compare_with_ridge

RATES = [0.0, 0.05, 0.2, 0.5, 0.8, 0.95]


@pytest.mark.parametrize("dataset", ["diabetes", "cancer_regression"])
def test_exact_equivalence_at_round_off_for_every_rate(request, dataset):
    X, y = request.getfixturevalue(dataset)
    result = compare_with_ridge(X, y, input_dropouts=RATES, cv=3)
    assert result.max_abs_coef_diff.shape == (len(RATES),)
    # Relative to the size of the coefficients: a few hundred ulps.
    scale = np.abs(result.coef).max(axis=1)
    assert (result.max_abs_coef_diff <= 1e-9 * scale).all()
    for k, p in enumerate(RATES):
        model = DropoutLinearRegression(p).fit(X, y)
        np.testing.assert_allclose(result.coef[k], model.coef_, rtol=1e-12)
    # Without groups the transform is diagonal: columns over their root
    # sums of squares.
    root = np.sqrt((X**2).sum(axis=0))
    np.testing.assert_allclose(result.equivalent_scale, root, rtol=1e-12)
    np.testing.assert_allclose(np.diag(result.equivalent_transform), 1 / root)
    np.testing.assert_allclose(result.equivalent_alpha, result.lambdas)


def test_exact_equivalence_with_groups(diabetes_one_hot):
    X, y, groups = diabetes_one_hot
    result = compare_with_ridge(
        X, y, input_dropouts=RATES[1:], feature_groups=groups, cv=3
    )
    scale = np.abs(result.coef).max(axis=1)
    assert (result.max_abs_coef_diff <= 1e-9 * scale).all()
    assert result.equivalent_scale is None
    model = DropoutLinearRegression(0.5, feature_groups=groups).fit(X, y)
    np.testing.assert_allclose(result.coef[2], model.coef_, rtol=1e-10)


def test_plain_ridge_coincides_on_centered_columns(diabetes):
    # The bundled diabetes columns are centered: B_jj = n var_j, so the
    # matched alpha is n * lam and the two models are the same.
    X, y = diabetes
    n = X.shape[0]
    result = compare_with_ridge(X, y, input_dropouts=RATES, cv=3)
    np.testing.assert_allclose(result.ridge_alpha, n * result.lambdas, rtol=1e-10)
    np.testing.assert_allclose(result.ridge_coef, result.coef, rtol=1e-8, atol=1e-8)


def test_matched_alpha_and_ridge_coefficients_on_raw_data(cancer_regression):
    X, y = cancer_regression
    result = compare_with_ridge(X, y, input_dropouts=[0.3], cv=3)
    std = X.std(axis=0)
    expected_c = np.mean((X**2).sum(axis=0) / std**2)
    assert result.alpha_per_lambda == pytest.approx(expected_c, rel=1e-10)
    alpha = expected_c * 0.3 / 0.7
    ridge = make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(X, y)
    np.testing.assert_allclose(result.ridge_coef[0], ridge[-1].coef_ / std, rtol=1e-8)
    np.testing.assert_allclose(
        X @ result.ridge_coef[0] + result.ridge_intercept[0], ridge.predict(X)
    )
    # Uncentered columns: dropout penalizes differently, the models differ.
    assert np.abs(result.ridge_coef - result.coef).max() > 1e-3


def test_cv_scores_match_scikit_learn(cancer_regression):
    X, y = cancer_regression
    cv = KFold(4, shuffle=True, random_state=0)
    result = compare_with_ridge(X, y, input_dropouts=RATES, cv=cv)
    splits = list(cv.split(X))
    for k, p in enumerate(RATES):
        expected = cross_val_score(DropoutLinearRegression(p), X, y, cv=splits)
        np.testing.assert_allclose(result.dropout_cv_scores[k], expected, rtol=1e-10)
        for s, (train, test) in enumerate(splits):
            c = np.mean((X[train] ** 2).sum(axis=0) / X[train].std(axis=0) ** 2)
            ridge = make_pipeline(StandardScaler(), Ridge(alpha=c * p / (1 - p)))
            score = ridge.fit(X[train], y[train]).score(X[test], y[test])
            assert result.ridge_cv_scores[k, s] == pytest.approx(score, rel=1e-9)
    best = int(np.argmax(result.dropout_cv_scores.mean(axis=1)))
    assert result.best_dropout == RATES[best]
    assert result.best_dropout_score == pytest.approx(
        result.dropout_cv_scores[best].mean()
    )
    alphas = np.unique(result.ridge_alpha[result.ridge_alpha > 0])
    ridgecv = RidgeCV(alphas=alphas, cv=splits).fit(
        StandardScaler().fit_transform(X), y
    )
    assert result.ridgecv_alpha == pytest.approx(ridgecv.alpha_)
    assert result.ridgecv_score == pytest.approx(ridgecv.best_score_)
    p = result.ridgecv_dropout
    assert result.alpha_per_lambda * p / (1 - p) == pytest.approx(ridgecv.alpha_)


def test_to_frame_has_one_row_per_rate(diabetes):
    X, y = diabetes
    frame = compare_with_ridge(X, y, input_dropouts=RATES, cv=3).to_frame()
    assert list(frame["dropout"]) == RATES
    assert {"lam", "max_abs_coef_diff", "ridge_alpha", "dropout_cv_mean"} <= set(
        frame.columns
    )
    assert "coef_x2" in frame.columns and "ridge_coef_x9" in frame.columns


def test_names_and_parallel(diabetes):
    X, y = diabetes
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(10)])
    a = compare_with_ridge(frame, y, input_dropouts=[0.1, 0.4], cv=3, n_jobs=2)
    b = compare_with_ridge(X, y, input_dropouts=[0.1, 0.4], cv=3)
    assert list(a.feature_names) == list(frame.columns)
    np.testing.assert_allclose(a.dropout_cv_scores, b.dropout_cv_scores)


def test_bad_input_errors(diabetes):
    X, y = diabetes
    frame = pd.DataFrame({"a": X[:, 0], "color": ["r", "g"] * 221})
    with pytest.raises(ValueError, match=r"needs numeric X.*one-hot"):
        compare_with_ridge(frame, y)
    with pytest.raises(ValueError, match=r"dropouts must be in \[0, 1\), got 1.0"):
        compare_with_ridge(X, y, input_dropouts=[0.1, 1.0])
    with pytest.raises(ValueError, match="different numbers of rows"):
        compare_with_ridge(X, y[:-2])
    with pytest.raises(ValueError, match="'scoring' parameter"):
        compare_with_ridge(X, y, scoring="nope")
    with pytest.raises(ValueError, match="y should be a 1d array"):
        compare_with_ridge(X, np.column_stack([y, y]))
    with pytest.raises(ValueError, match="unknown column 'zz'"):
        compare_with_ridge(
            pd.DataFrame(X, columns=[f"f{j}" for j in range(10)]),
            y,
            feature_groups=[["f0", "zz"]],
        )


def test_old_argument_name_warns(diabetes):
    X, y = diabetes
    with pytest.warns(FutureWarning, match="'dropouts' was renamed 'input_dropouts'"):
        old = compare_with_ridge(X, y, dropouts=[0.3], cv=2)
    new = compare_with_ridge(X, y, input_dropouts=[0.3], cv=2)
    np.testing.assert_array_equal(old.coef, new.coef)
    with pytest.warns(FutureWarning, match="'dropouts' was renamed"):
        display = RidgeComparisonDisplay.from_estimator(
            DropoutLinearRegression(), X, y, dropouts=[0.3], cv=2
        )
    assert list(display.result.dropouts) == [0.3]
