"""compare_with_logistic: the matched L2 strength, the fits, the CV scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import null_space
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdrop import DropoutLogisticRegression
from skdrop.datasets import load_penguins
from skdrop.inspection import compare_with_logistic
from skdrop.linear_model._logistic_objectives import (
    DropoutDesign,
    multinomial_quadratic_objective,
    quadratic_objective,
)

RATES = [0.1, 0.4]
CV = StratifiedKFold(3, shuffle=True, random_state=0)


@pytest.fixture(scope="module")
def cancer_raw():
    """Six raw breast-cancer measurements (positive, uncentered): malignant
    or benign."""
    X, y = load_breast_cancer(return_X_y=True)
    return X[:, :6], y


@pytest.fixture(scope="module")
def penguins_raw():
    """The four raw penguin measurements (grams and millimetres) and the
    species: three classes."""
    frame = load_penguins()
    columns = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    frame = frame.dropna(subset=columns)
    return frame[columns].reset_index(drop=True), frame["species"].to_numpy()


@pytest.fixture(scope="module")
def binary_result(cancer_raw):
    X, y = cancer_raw
    return compare_with_logistic(X, y, input_dropouts=RATES, cv=CV)


@pytest.fixture(scope="module")
def multinomial_result(penguins_raw):
    X, y = penguins_raw
    return compare_with_logistic(X, y, input_dropouts=RATES, cv=CV)


def frozen_penalty(W, X, proba, lam):
    """Wager's penalty with the probabilities frozen, summed over rows:
    ``lam/2 sum_ij x_ij^2 Var_pi_i(W_j)``; ``W`` is (n_features, n_rows) in
    LogisticRegression's layout transposed (one column for two classes)."""
    X2 = X * X
    if W.shape[1] == 1:
        p = proba[:, 1]
        return 0.5 * lam * np.sum(p * (1 - p) * (X2 @ W[:, 0] ** 2))
    mean_sq = np.einsum("ik,jk->ij", proba, W**2)
    sq_mean = np.einsum("ik,jk->ij", proba, W) ** 2
    return 0.5 * lam * np.sum(X2 * (mean_sq - sq_mean))


def objective_penalty(model, X, y):
    """The penalty inside the library's quadratic objective at the fitted
    coefficients: the objective at ``lam`` minus the one at 0, times n."""
    X = np.asarray(X, dtype=float)
    lam = model.input_dropout / (1 - model.input_dropout)
    design = DropoutDesign.build(X)
    if model.coef_.shape[0] == 1:
        Y = (y == model.classes_[1]).astype(float)
        args = (model.coef_[0], float(model.intercept_[0]), design, Y)
        f = quadratic_objective
    else:
        Y = (y[:, None] == model.classes_[None, :]).astype(float)
        args = (model.coef_.T, model.intercept_, design, Y)
        f = multinomial_quadratic_objective
    return (f(*args, lam)[0] - f(*args, 0.0)[0]) * X.shape[0]


def trace_per_free_coefficient(X, proba, lam, n_rows):
    """Mean curvature of the frozen penalty over an orthonormal basis of the
    free standardized coefficients: for a quadratic form ``e'He = 2 P(e)``.
    With K > 2 classes the free directions of a feature are the K - 1 ones
    whose entries sum to 0."""
    scale = X.std(axis=0)
    n_features = X.shape[1]
    basis = np.ones((1, 1)) if n_rows == 1 else null_space(np.ones((1, n_rows)))
    curvatures = []
    for j in range(n_features):
        for u in basis.T:
            W = np.zeros((n_features, n_rows))
            W[j] = u / scale[j]  # a unit step of the standardized coefficient
            curvatures.append(2 * frozen_penalty(W, X, proba, lam))
    return np.mean(curvatures)


@pytest.mark.parametrize("case", ["binary", "multinomial"])
def test_matched_strength_is_the_trace_of_the_dropout_penalty(request, case):
    data = "cancer_raw" if case == "binary" else "penguins_raw"
    X, y = request.getfixturevalue(data)
    result = request.getfixturevalue(f"{case}_result")
    X = np.asarray(X, dtype=float)
    n_rows = 1 if case == "binary" else 3
    assert result.coef.shape == result.l2_coef.shape == (2, n_rows, X.shape[1])
    for k, p in enumerate(RATES):
        model = DropoutLogisticRegression(p).fit(X, y)
        np.testing.assert_allclose(result.coef[k], model.coef_, rtol=1e-10)
        proba = model.predict_proba(X)
        lam = p / (1 - p)
        # The frozen form is the penalty the quadratic objective adds.
        assert frozen_penalty(model.coef_.T, X, proba, lam) == pytest.approx(
            objective_penalty(model, X, y), rel=1e-9
        )
        expected = trace_per_free_coefficient(X, proba, lam, n_rows)
        assert result.l2_alpha[k] == pytest.approx(expected, rel=1e-9)
        assert result.l2_C[k] == pytest.approx(1 / expected, rel=1e-9)
        assert result.penalty_weights[k].mean() == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("case", ["binary", "multinomial"])
def test_l2_model_is_logistic_regression_on_standardized_columns(request, case):
    data = "cancer_raw" if case == "binary" else "penguins_raw"
    X, y = request.getfixturevalue(data)
    result = request.getfixturevalue(f"{case}_result")
    X = np.asarray(X, dtype=float)
    std, mean = X.std(axis=0), X.mean(axis=0)
    for k in range(len(RATES)):
        l2 = make_pipeline(
            StandardScaler(), LogisticRegression(C=result.l2_C[k], max_iter=1000)
        ).fit(X, y)
        np.testing.assert_allclose(result.l2_coef[k], l2[-1].coef_ / std, rtol=1e-10)
        np.testing.assert_allclose(
            result.l2_intercept[k], l2[-1].intercept_ - result.l2_coef[k] @ mean
        )
        np.testing.assert_allclose(
            X @ result.l2_coef[k].T + result.l2_intercept[k],
            np.atleast_2d(l2.decision_function(X).T).T.reshape(len(X), -1),
            atol=1e-9,
        )
    np.testing.assert_allclose(result.feature_scale, std)


def test_cv_scores_match_scikit_learn(cancer_raw, binary_result):
    X, y = cancer_raw
    result = binary_result
    splits = list(CV.split(X, y))
    assert result.dropout_cv_scores.shape == result.l2_cv_scores.shape == (2, 3)
    for k, p in enumerate(RATES):
        expected = cross_val_score(
            DropoutLogisticRegression(p), X, y, cv=splits, scoring="neg_log_loss"
        )
        np.testing.assert_allclose(result.dropout_cv_scores[k], expected, rtol=1e-10)
        for s, (train, test) in enumerate(splits):
            model = DropoutLogisticRegression(p).fit(X[train], y[train])
            proba = model.predict_proba(X[train])
            alpha = trace_per_free_coefficient(X[train], proba, p / (1 - p), 1)
            l2 = make_pipeline(
                StandardScaler(), LogisticRegression(C=1 / alpha, max_iter=1000)
            ).fit(X[train], y[train])
            score = -np.mean(
                -np.log(l2.predict_proba(X[test])[np.arange(len(test)), y[test]])
            )
            assert result.l2_cv_scores[k, s] == pytest.approx(score, rel=1e-8)
    best = int(np.argmax(result.dropout_cv_scores.mean(axis=1)))
    assert result.best_dropout == RATES[best]
    search = GridSearchCV(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        {"logisticregression__C": sorted(result.l2_C)},
        cv=splits,
        scoring="neg_log_loss",
    ).fit(X, y)
    assert result.l2cv_C == search.best_params_["logisticregression__C"]
    assert result.l2cv_score == pytest.approx(search.best_score_)
    k = int(np.flatnonzero(result.l2_C == result.l2cv_C)[0])
    assert result.l2cv_dropout == RATES[k]
    assert result.scoring == "neg_log_loss"


def test_given_Cs_are_the_l2_grid(cancer_raw):
    X, y = cancer_raw
    result = compare_with_logistic(
        X, y, input_dropouts=[0.3], Cs=[1e-3, 1.0], cv=CV, scoring="accuracy"
    )
    assert result.l2cv_C in (1e-3, 1.0)
    assert np.isnan(result.l2cv_dropout)
    assert result.scoring == "accuracy"
    assert ((result.dropout_cv_scores > 0.5) & (result.dropout_cv_scores <= 1)).all()


def test_to_frame_names_coefficients_by_class(binary_result, multinomial_result):
    frame = binary_result.to_frame()
    assert list(frame["dropout"]) == RATES
    assert {"lam", "l2_C", "l2_alpha", "dropout_cv_mean", "l2_cv_mean"} <= set(
        frame.columns
    )
    assert "coef_x5" in frame.columns and "l2_coef_x0" in frame.columns
    frame = multinomial_result.to_frame()
    assert "coef_Gentoo_body_mass_g" in frame.columns
    assert "l2_coef_Adelie_bill_length_mm" in frame.columns
    assert frame.shape[1] == 8 + 2 * 3 * 4


def test_groups_reach_the_dropout_model(penguins_raw):
    X, y = penguins_raw
    groups = [["bill_length_mm", "bill_depth_mm"]]
    result = compare_with_logistic(
        X, y, input_dropouts=[0.3], feature_groups=groups, cv=3
    )
    model = DropoutLogisticRegression(0.3, feature_groups=groups).fit(X, y)
    np.testing.assert_allclose(result.coef[0], model.coef_, rtol=1e-10)
    # The trace rule holds with groups: a group's penalty has the diagonal
    # of its columns dropped alone.
    alpha = trace_per_free_coefficient(
        X.to_numpy(), model.predict_proba(X), 0.3 / 0.7, 3
    )
    assert result.l2_alpha[0] == pytest.approx(alpha, rel=1e-9)


def test_bad_input_errors(cancer_raw):
    X, y = cancer_raw
    frame = pd.DataFrame({"a": X[:, 0], "color": ["r", "g"] * (len(y) // 2) + ["r"]})
    with pytest.raises(ValueError, match=r"compare_with_logistic needs numeric X"):
        compare_with_logistic(frame, y)
    with pytest.raises(ValueError, match=r"dropouts must be in \[0, 1\), got 1.0"):
        compare_with_logistic(X, y, input_dropouts=[0.1, 1.0])
    with pytest.raises(ValueError, match="at least 2 classes in y, got only 1"):
        compare_with_logistic(X, np.ones(len(y), dtype=int))
    with pytest.raises(ValueError, match="Unknown label type"):
        compare_with_logistic(X, X[:, 0])
    with pytest.raises(ValueError, match=r"Cs must be finite and positive, got -1\.0"):
        compare_with_logistic(X, y, Cs=[1.0, -1.0])
    with pytest.raises(ValueError, match="different numbers of rows"):
        compare_with_logistic(X, y[:-2])


def test_old_argument_names_warn_and_map(cancer_raw):
    """``dropouts`` and ``objective`` (before 0.3) reach ``input_dropouts``
    and ``solver`` + ``approximation``, with a FutureWarning."""
    X, y = cancer_raw
    X = X[:150]
    y = y[:150]
    new = compare_with_logistic(
        X, y, input_dropouts=[0.3], approximation="quadratic", cv=2
    )
    with pytest.warns(FutureWarning) as caught:
        old = compare_with_logistic(X, y, dropouts=[0.3], objective="quadratic", cv=2)
    messages = " ".join(str(w.message) for w in caught)
    assert "'dropouts' was renamed 'input_dropouts'" in messages
    assert "objective='quadratic' is solver='lbfgs', approximation='quadratic'" in (
        messages
    )
    np.testing.assert_array_equal(old.coef, new.coef)
    with pytest.raises(ValueError, match="set only those, got objective='sgd'"):
        compare_with_logistic(X, y, objective="sgd", solver="sgd", cv=2)
    with pytest.raises(ValueError, match="got both 'dropouts' and its new name"):
        compare_with_logistic(X, y, dropouts=[0.3], input_dropouts=[0.3], cv=2)
