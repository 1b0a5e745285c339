"""DropoutMLPClassifier and DropoutMLPRegressor."""

from __future__ import annotations

import inspect
import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.special import expit, softmax
from sklearn.base import clone
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_wine,
    make_classification,
)
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdrop import DropoutMLPClassifier, DropoutMLPRegressor

# Small and fast, yet enough to pass scikit-learn's accuracy checks.
FAST = dict(
    hidden_layer_sizes=(16,),
    max_iter=50,
    learning_rate_init=0.01,
    hidden_dropout=0.1,
    random_state=0,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# --- scikit-learn's estimator checks --------------------------------------


def _expected_failures(estimator):
    return {
        "check_sample_weight_equivalence_on_dense_data": (
            "mini-batch training draws random masks and batches: integer weights "
            "and repeated rows agree in expectation, not bitwise (solver='lbfgs' "
            "passes it: tests/test_lbfgs.py)"
        ),
        "check_sample_weight_equivalence_on_sparse_data": (
            "as on dense data: a sparse X trains exactly as its dense copy "
            "(tests/test_mlp_parity.py)"
        ),
    }


@parametrize_with_checks(
    [DropoutMLPClassifier(**FAST), DropoutMLPRegressor(**FAST)],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


# --- learning on real data, against scikit-learn's MLP ----------------------


def _split_scaled(X, y, *, stratify=True):
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y if stratify else None
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


@pytest.mark.parametrize(
    ("loader", "budget"),
    [
        (load_breast_cancer, dict(hidden_layer_sizes=(32,), max_iter=50)),
        (load_wine, dict(hidden_layer_sizes=(32,), max_iter=50)),
        (load_digits, dict(hidden_layer_sizes=(64,), max_iter=30)),
    ],
    ids=["breast_cancer", "wine", "digits"],
)
def test_classifier_matches_sklearn(loader, budget):
    X_train, X_test, y_train, y_test = _split_scaled(*loader(return_X_y=True))
    common = dict(learning_rate_init=0.01, random_state=0, **budget)
    reference = MLPClassifier(**common).fit(X_train, y_train)
    model = DropoutMLPClassifier(hidden_dropout=0.3, **common).fit(X_train, y_train)
    reference_score = reference.score(X_test, y_test)
    score = model.score(X_test, y_test)
    assert score >= reference_score - 0.03, (score, reference_score)
    assert score > 0.9


def test_regressor_matches_sklearn():
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = _split_scaled(X, y, stratify=False)
    mean, std = y_train.mean(), y_train.std()
    y_train, y_test = (y_train - mean) / std, (y_test - mean) / std
    common = dict(
        hidden_layer_sizes=(32,), learning_rate_init=0.01, max_iter=100, random_state=0
    )
    reference = MLPRegressor(**common).fit(X_train, y_train)
    # Both train on the target standardized above.
    model = DropoutMLPRegressor(hidden_dropout=0.3, target_scaling=None, **common).fit(
        X_train, y_train
    )
    reference_score = reference.score(X_test, y_test)
    score = model.score(X_test, y_test)
    assert score >= reference_score - 0.05, (score, reference_score)
    assert score > 0.2


# --- targets ----------------------------------------------------------------


@pytest.fixture(scope="module")
def blobs():
    X, y = make_classification(
        n_samples=300,
        n_features=6,
        n_informative=4,
        n_redundant=0,
        n_classes=3,
        n_clusters_per_class=1,
        class_sep=2.0,
        random_state=0,
    )
    return X, y


def _check_proba(model, X):
    proba = model.predict_proba(X)
    log_proba = model.predict_log_proba(X)
    assert proba.shape == log_proba.shape == (X.shape[0], len(model.classes_))
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(np.exp(log_proba), proba, rtol=1e-9, atol=1e-12)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(log_proba, np.log(proba), rtol=1e-6, atol=1e-9)
    return proba


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["bird", "cat", "dog"]),
        np.array([1, 2, 3]),
    ],
    ids=["str", "int"],
)
def test_multiclass_labels(blobs, labels):
    X, y = blobs
    y = labels[y]
    model = DropoutMLPClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(model.classes_, np.sort(labels))
    proba = _check_proba(model, X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    pred = model.predict(X)
    assert pred.dtype == y.dtype
    np.testing.assert_array_equal(pred, model.classes_[proba.argmax(axis=1)])
    assert model.score(X, y) > 0.9
    assert model.out_activation_ == "softmax" and model.n_outputs_ == 3


@pytest.mark.parametrize(
    "labels", [np.array([1, 2]), np.array(["no", "yes"])], ids=["1-2", "str"]
)
def test_binary_labels(blobs, labels):
    X, y = blobs
    keep = y < 2
    X, y = X[keep], labels[y[keep]]
    model = DropoutMLPClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(model.classes_, labels)
    assert model.out_activation_ == "logistic" and model.n_outputs_ == 1
    proba = _check_proba(model, X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    # One logistic output: column 1 is its sigmoid.
    raw = model.predict_log_proba(X)
    np.testing.assert_allclose(np.exp(raw[:, 1]), proba[:, 1], rtol=1e-9)
    np.testing.assert_array_equal(model.predict(X), labels[(proba[:, 1] > 0.5) * 1])
    assert model.score(X, y) > 0.9


def test_multilabel_indicator(blobs):
    X, y = blobs
    Y = np.stack([y == 0, y != 1, X[:, 0] > 0], axis=1).astype(int)
    model = DropoutMLPClassifier(**{**FAST, "max_iter": 100}).fit(X, Y)
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    assert model.out_activation_ == "logistic" and model.n_outputs_ == 3
    proba = _check_proba(model, X)
    pred = model.predict(X)
    assert pred.shape == Y.shape
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))
    assert (pred == Y).mean() > 0.85
    mc = model.mc_predict(X[:7], n_samples=4, random_state=0)
    assert mc.shape == (4, 7, 3)


def test_classifier_rejects_continuous_labels(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="Unknown label type"):
        DropoutMLPClassifier(**FAST).fit(X, X[:, 0])


# --- regression and Monte Carlo dropout -------------------------------------


def test_regressor_single_and_multi_output(diabetes_scaled):
    X, y = diabetes_scaled
    single = DropoutMLPRegressor(**FAST).fit(X, y)
    assert single.predict(X).shape == (len(y),)
    assert single.n_outputs_ == 1 and single.out_activation_ == "identity"
    Y = np.column_stack([y, -2 * y + 1])
    multi = DropoutMLPRegressor(**FAST).fit(X, Y)
    pred = multi.predict(X)
    assert pred.shape == Y.shape
    assert multi.score(X, Y) > 0.3
    # A column vector target counts as single output (with a warning).
    with pytest.warns(Warning, match="column-vector y"):
        column = DropoutMLPRegressor(**FAST).fit(X, y[:, None])
    np.testing.assert_array_equal(column.predict(X), single.predict(X))


@pytest.mark.parametrize("multi", [False, True], ids=["single", "multi"])
def test_return_std_is_seeded_mc_dropout(diabetes_scaled, multi):
    X, y = diabetes_scaled
    Y = np.column_stack([y, y**2]) if multi else y
    model = DropoutMLPRegressor(**FAST).fit(X, Y)
    rows = X[:25]
    mean, std = model.predict(rows, return_std=True)
    shape = (25, 2) if multi else (25,)
    assert mean.shape == std.shape == shape
    assert np.all(std > 0)
    draws = model.mc_predict(rows, 50, random_state=model._seeds[4])
    assert draws.shape == (50, *shape)
    np.testing.assert_array_equal(mean, draws.mean(axis=0))
    # The total std adds the noise variance to the spread of the passes.
    noise = model.noise_variance_ if multi else model.noise_variance_[0]
    np.testing.assert_allclose(std, np.sqrt(draws.var(axis=0) + noise), rtol=1e-12)
    model_std = model.predict(rows, return_std=True, include_noise=False)[1]
    np.testing.assert_array_equal(model_std, draws.std(axis=0))
    again = model.predict(rows, return_std=True)
    np.testing.assert_array_equal(again[0], mean)
    np.testing.assert_array_equal(again[1], std)
    # Other seeds, other masks; the same seed, the same masks.
    other = model.mc_predict(rows, 3, random_state=1)
    assert not np.array_equal(other, draws[:3])
    np.testing.assert_array_equal(other, model.mc_predict(rows, 3, random_state=1))


def test_mc_mean_is_close_to_eval_prediction(diabetes_scaled):
    X, y = diabetes_scaled
    model = DropoutMLPRegressor(
        hidden_layer_sizes=(32,),
        hidden_dropout=0.05,
        learning_rate_init=0.01,
        max_iter=100,
        random_state=0,
    ).fit(X, y)
    draws = model.mc_predict(X, 200, random_state=0)
    eval_pred = model.predict(X)
    # The MC mean differs from the eval (mean-weight) network only through
    # the ReLUs' curvature; with 5% dropout that is a small fraction of the
    # spread of the predictions.
    gap = np.abs(draws.mean(axis=0) - eval_pred)
    assert gap.mean() < 0.1 * eval_pred.std()
    # The spread of the draws is the dropout noise, nonzero but small.
    assert 0 < draws.std(axis=0).mean() < 0.5 * eval_pred.std()


def test_classifier_mc_predict(blobs):
    X, y = blobs
    model = DropoutMLPClassifier(**FAST).fit(X, y)
    draws = model.mc_predict(X[:10], n_samples=6, random_state=0)
    assert draws.shape == (6, 10, 3)
    np.testing.assert_allclose(draws.sum(axis=2), 1.0, rtol=1e-12)
    assert not np.allclose(draws[0], draws[1])
    binary = DropoutMLPClassifier(**FAST).fit(X[y < 2], y[y < 2])
    assert binary.mc_predict(X[:10], n_samples=6).shape == (6, 10, 2)
    with pytest.raises(ValueError, match="n_samples must be a positive int, got 0"):
        model.mc_predict(X, n_samples=0)


# --- randomness -------------------------------------------------------------


def test_same_random_state_same_model(blobs):
    X, y = blobs
    params = dict(FAST, input_dropout=0.2, early_stopping=True)
    a = DropoutMLPClassifier(**params).fit(X, y)
    b = DropoutMLPClassifier(**params).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.loss_curve_ == b.loss_curve_
    c = DropoutMLPClassifier(**{**params, "random_state": 1}).fit(X, y)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))
    # A RandomState instance is advanced, like in scikit-learn.
    rs = np.random.RandomState(0)
    d = DropoutMLPClassifier(**{**params, "random_state": rs}).fit(X, y)
    e = DropoutMLPClassifier(**{**params, "random_state": rs}).fit(X, y)
    assert not np.array_equal(d.predict_proba(X), e.predict_proba(X))


@pytest.mark.parametrize("random_state", [0, None])
def test_fit_leaves_global_random_state_alone(diabetes_scaled, random_state):
    X, y = diabetes_scaled
    np_state = np.random.get_state()
    torch_state = torch.get_rng_state()
    model = DropoutMLPRegressor(
        **{**FAST, "random_state": random_state, "early_stopping": True}
    ).fit(X, y)
    model.predict(X, return_std=True)
    model.mc_predict(X[:5], 2)
    model.set_params(early_stopping=False).partial_fit(X, y)
    after = np.random.get_state()
    assert after[0] == np_state[0]
    np.testing.assert_array_equal(after[1], np_state[1])
    assert after[2:] == np_state[2:]
    assert torch.equal(torch.get_rng_state(), torch_state)


# --- persistence and continued training -------------------------------------


@pytest.mark.parametrize("Estimator", [DropoutMLPClassifier, DropoutMLPRegressor])
def test_pickle_round_trip_and_continue(blobs, Estimator):
    X, y = blobs
    model = Estimator(**{**FAST, "input_dropout": 0.1}).fit(X, y)
    before = model.predict(X)
    restored = pickle.loads(pickle.dumps(model))
    # Pickling must not strip the original.
    assert hasattr(model, "module_")
    np.testing.assert_array_equal(model.predict(X), before)
    np.testing.assert_array_equal(restored.predict(X), before)
    for attr in ("coefs_", "intercepts_"):
        for a, b in zip(getattr(model, attr), getattr(restored, attr), strict=True):
            np.testing.assert_array_equal(a, b)
    # The optimizer and the random streams travel along: one more epoch on
    # each gives the same model.
    epochs = len(model.loss_curve_)
    model.partial_fit(X, y)
    restored.partial_fit(X, y)
    assert restored.n_iter_ == model.n_iter_ == 1  # this call's, as scikit-learn
    assert len(restored.loss_curve_) == len(model.loss_curve_) == epochs + 1
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    if Estimator is DropoutMLPRegressor:
        np.testing.assert_array_equal(
            restored.predict(X[:5], return_std=True)[1],
            model.predict(X[:5], return_std=True)[1],
        )


def test_unfitted_estimator_pickles():
    model = DropoutMLPClassifier(hidden_layer_sizes=(3,))
    restored = pickle.loads(pickle.dumps(model))
    assert restored.get_params() == model.get_params()


# --- sample weights ---------------------------------------------------------


def test_unit_weights_equal_no_weights(blobs):
    X, y = blobs
    plain = DropoutMLPClassifier(**FAST).fit(X, y)
    ones = DropoutMLPClassifier(**FAST).fit(X, y, sample_weight=np.ones(len(y)))
    np.testing.assert_array_equal(ones.predict_proba(X), plain.predict_proba(X))
    uneven = np.random.default_rng(0).uniform(0.1, 3.0, len(y))
    weighted = DropoutMLPClassifier(**FAST).fit(X, y, sample_weight=uneven)
    assert not np.allclose(weighted.predict_proba(X), plain.predict_proba(X))


@pytest.mark.parametrize("Estimator", [DropoutMLPClassifier, DropoutMLPRegressor])
def test_zero_weight_rows_do_not_matter(blobs, Estimator):
    """Rows of weight 0 contribute exactly nothing to the gradient: whatever
    their features and targets, the fit is the same, masks and batches
    included (the row count, hence the random draws, is unchanged)."""
    X, y = blobs
    n_bad = 60
    weight = np.r_[np.ones(len(y) - n_bad), np.zeros(n_bad)]
    rng = np.random.default_rng(1)
    fits = []
    for _ in range(2):
        Xc, yc = X.copy(), y.copy()
        Xc[-n_bad:] = rng.normal(scale=5.0, size=(n_bad, X.shape[1]))
        yc[-n_bad:] = rng.permutation(yc[-n_bad:])
        model = Estimator(**{**FAST, "input_dropout": 0.1})
        fits.append(model.fit(Xc, yc, sample_weight=weight).predict(X))
    np.testing.assert_array_equal(fits[0], fits[1])


def test_zero_weight_rows_equal_dropped_rows_full_batch(diabetes_scaled):
    """Without dropout and with one full batch per epoch the fit is
    deterministic gradient descent, so zero-weight rows can be compared with
    a fit that never saw them (up to float32 rounding of the sums)."""
    X, y = diabetes_scaled
    n_keep = 300
    params = dict(
        hidden_layer_sizes=(8,),
        hidden_dropout=0.0,
        batch_size=len(y),
        shuffle=False,
        learning_rate_init=0.01,
        max_iter=30,
        tol=0.0,
        random_state=0,
    )
    weight = np.r_[np.ones(n_keep), np.zeros(len(y) - n_keep)]
    y_bad = y.copy()
    y_bad[n_keep:] = 100.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # batch_size > n_samples
        weighted = DropoutMLPRegressor(**params).fit(X, y_bad, sample_weight=weight)
        dropped = DropoutMLPRegressor(**params).fit(X[:n_keep], y[:n_keep])
    np.testing.assert_allclose(weighted.predict(X), dropped.predict(X), atol=2e-5)


# --- warm start, partial_fit, early stopping --------------------------------


def test_warm_start_continues(blobs):
    X, y = blobs
    model = DropoutMLPClassifier(**{**FAST, "max_iter": 5, "tol": 0.0})
    model.fit(X, y)
    first_curve = list(model.loss_curve_)
    assert model.n_iter_ == 5 and len(first_curve) == 5
    assert model.t_ == 5 * len(y)
    coefs = [c.copy() for c in model.coefs_]
    model.set_params(warm_start=True)
    model.fit(X, y)
    assert model.n_iter_ == 5  # this fit's epochs, as scikit-learn
    assert model.t_ == 10 * len(y)
    assert model.loss_curve_[:5] == first_curve and len(model.loss_curve_) == 10
    assert not np.allclose(model.coefs_[0], coefs[0])
    # Without warm start, fit starts over.
    model.set_params(warm_start=False)
    model.fit(X, y)
    assert model.n_iter_ == 5
    assert model.loss_curve_ == first_curve


def test_partial_fit(blobs):
    X, y = blobs
    model = DropoutMLPClassifier(**FAST)
    with pytest.raises(ValueError, match="classes must be passed"):
        model.partial_fit(X, y)
    assert not hasattr(model, "module_")
    model.partial_fit(X[:100], y[:100], classes=[0, 1, 2])
    assert model.n_iter_ == 1 and len(model.loss_curve_) == 1
    assert model.t_ == 100
    model.partial_fit(X[100:], y[100:])
    assert model.n_iter_ == 1 and model.t_ == len(y)
    assert len(model.loss_curve_) == 2
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    with pytest.raises(ValueError, match=r"classes \[5\]"):
        model.partial_fit(X[:10], np.full(10, 5))
    assert len(model.loss_curve_) == 2  # a failed call changes nothing
    for _ in range(20):
        model.partial_fit(X, y)
    assert model.score(X, y) > 0.9
    # A class absent from a batch but announced up front is fine.
    first = DropoutMLPClassifier(**FAST).partial_fit(
        X[y < 2], y[y < 2], classes=[0, 1, 2]
    )
    assert first.predict_proba(X).shape == (len(y), 3)
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(X[:, :3], y)
    with pytest.raises(ValueError, match="not the same as on the first call"):
        model.partial_fit(X, y, classes=[0, 1, 2, 3])


def test_regressor_partial_fit(diabetes_scaled):
    X, y = diabetes_scaled
    model = DropoutMLPRegressor(**FAST)
    for _ in range(3):
        model.partial_fit(X, y)
    assert model.n_iter_ == 1 and len(model.loss_curve_) == 3
    with pytest.raises(ValueError, match="same number of targets"):
        model.partial_fit(X, np.column_stack([y, y]))


def test_early_stopping(blobs):
    X, y = blobs
    model = DropoutMLPClassifier(
        **{**FAST, "max_iter": 200, "early_stopping": True, "n_iter_no_change": 5}
    ).fit(X, y)
    assert model.best_loss_ is None
    scores = model.validation_scores_
    assert len(scores) == model.n_iter_ == len(model.loss_curve_)
    assert model.n_iter_ < 200  # an easy problem stops early
    assert model.best_validation_score_ == max(scores)
    # The best epoch's weights are restored: the held-out split (recomputed
    # with the estimator's own helper and seed) scores the best score.
    Y = model._label_binarizer.transform(y).astype(np.float32)
    _, X_val, _, y_val, _, _ = model._split(X.astype(np.float32), Y, None)
    truth = model._label_binarizer.inverse_transform(y_val)
    assert model.score(X_val, truth) == pytest.approx(model.best_validation_score_)
    # Without early stopping there are no validation scores.
    plain = DropoutMLPClassifier(**FAST).fit(X, y)
    assert plain.validation_scores_ is None and plain.best_validation_score_ is None
    assert plain.best_loss_ == pytest.approx(min(plain.loss_curve_))


def test_warm_start_early_stopping_restores_this_fits_best(blobs):
    X, y = blobs
    params = {**FAST, "max_iter": 30, "early_stopping": True, "n_iter_no_change": 3}
    model = DropoutMLPClassifier(**params, warm_start=True).fit(X, y)
    first_scores = len(model.validation_scores_)
    model.fit(X, y)
    new_scores = model.validation_scores_[first_scores:]
    assert model.best_validation_score_ == max(new_scores)
    Y = model._label_binarizer.transform(y).astype(np.float32)
    _, X_val, _, y_val, _, _ = model._split(X.astype(np.float32), Y, None)
    truth = model._label_binarizer.inverse_transform(y_val)
    assert model.score(X_val, truth) == pytest.approx(model.best_validation_score_)


def test_regressor_early_stopping(diabetes_scaled):
    X, y = diabetes_scaled
    model = DropoutMLPRegressor(
        **{**FAST, "max_iter": 300, "early_stopping": True, "n_iter_no_change": 5}
    ).fit(X, y)
    assert model.n_iter_ < 300
    assert model.best_validation_score_ == max(model.validation_scores_)


def test_divergence_raises_and_keeps_estimator_unfitted():
    X, y = load_breast_cancer(return_X_y=True)  # unscaled: features up to 4e3
    model = DropoutMLPClassifier(
        hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=1e6, random_state=0
    )
    with pytest.raises(FloatingPointError, match="learning_rate_init"):
        model.fit(X, y)
    assert not hasattr(model, "module_")


# --- parameter errors -------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "match"),
    [
        (dict(hidden_dropout=1.0), "hidden_dropout"),
        (dict(hidden_dropout=-0.1), "hidden_dropout"),
        (
            dict(hidden_layer_sizes=(4, 4), hidden_dropout=[0.1, 1.0]),
            r"hidden_dropout\[1\] must be in \[0, 1\), got 1.0",
        ),
        (
            dict(hidden_layer_sizes=(4, 4), hidden_dropout=[0.1]),
            "hidden_dropout has 1 rates but hidden_layer_sizes has 2 layers",
        ),
        (dict(input_dropout=1.2), r"(?i)input_dropout.*got 1.2"),
        (
            dict(dropout_type="gaussian", dropout_scaling="test_time"),
            "dropout_scaling='test_time'.*'gaussian'",
        ),
        (
            dict(dropout_type="alpha", dropout_scaling="test_time"),
            "dropout_scaling='test_time'.*'alpha'",
        ),
        (dict(dropout_type="spatial"), "dropout_type.*spatial"),
        (dict(dropout_scaling="never"), "dropout_scaling.*never"),
        (dict(feature_groups=[[0, 1], [1, 2]]), "column 1 is listed in"),
        (dict(feature_groups=[[0, 9]]), "column index 9, out of range"),
        (dict(feature_groups=[[]]), r"feature_groups\[0\] is empty"),
        (dict(feature_groups=[["a", "b"]]), "X has no column names"),
        (dict(feature_groups=[0, 1]), r"feature_groups\[0\] must be a list"),
        (dict(hidden_layer_sizes=(4, 0)), "hidden_layer_sizes"),
        (dict(activation="gelu"), "activation.*gelu"),
        (dict(device="gpu0"), "device.*gpu0"),
    ],
)
def test_bad_parameters_are_named(blobs, params, match):
    X, y = blobs
    with pytest.raises(ValueError, match=match):
        DropoutMLPClassifier(**{**FAST, **params}).fit(X, y)


def test_feature_group_names_must_exist(blobs):
    X, y = blobs
    df = pd.DataFrame(X, columns=[f"f{j}" for j in range(X.shape[1])])
    model = DropoutMLPClassifier(**{**FAST, "feature_groups": [["f0", "nope"]]})
    with pytest.raises(ValueError, match="unknown column 'nope'"):
        model.fit(df, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_missing_cuda_is_an_error_at_fit(blobs):
    X, y = blobs
    model = DropoutMLPClassifier(**{**FAST, "device": "cuda"})  # constructing is fine
    with pytest.raises(ValueError, match=r"device='cuda'.*CUDA is not available"):
        model.fit(X, y)


def test_alpha_dropout_without_selu_warns(blobs):
    X, y = blobs
    with pytest.warns(UserWarning, match="dropout_type='alpha'.*'relu'"):
        DropoutMLPClassifier(**{**FAST, "dropout_type": "alpha"}).fit(X, y)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "dropout_type='alpha'", UserWarning)
        DropoutMLPClassifier(
            **{**FAST, "dropout_type": "alpha", "activation": "selu"}
        ).fit(X, y)


# --- input types ------------------------------------------------------------


def test_float64_float32_and_dataframe_agree(blobs):
    X, y = blobs
    a = DropoutMLPClassifier(**FAST).fit(X, y)
    b = DropoutMLPClassifier(**FAST).fit(X.astype(np.float32), y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not hasattr(a, "feature_names_in_")
    columns = [f"f{j}" for j in range(X.shape[1])]
    df = pd.DataFrame(X, columns=columns)
    c = DropoutMLPClassifier(**FAST).fit(df, pd.Series(y))
    np.testing.assert_array_equal(c.feature_names_in_, columns)
    np.testing.assert_array_equal(c.predict_proba(df), a.predict_proba(X))
    with pytest.warns(UserWarning, match="feature names"):
        c.predict(X)


def test_feature_groups_by_name(blobs):
    X, y = blobs
    columns = ["a", "b", "c", "d", "e", "f"]
    df = pd.DataFrame(X, columns=columns)
    by_name = DropoutMLPClassifier(
        **{**FAST, "input_dropout": 0.3, "feature_groups": [["e", "b"], ["c", "d"]]}
    ).fit(df, y)
    groups = [g.tolist() for g in by_name.feature_groups_]
    assert groups == [[0], [1, 4], [2, 3], [5]]
    by_index = DropoutMLPClassifier(
        **{**FAST, "input_dropout": 0.3, "feature_groups": [[4, 1], [2, 3]]}
    ).fit(X, y)
    np.testing.assert_array_equal(by_name.predict_proba(df), by_index.predict_proba(X))
    ungrouped = DropoutMLPClassifier(**{**FAST, "input_dropout": 0.3}).fit(X, y)
    assert [g.tolist() for g in ungrouped.feature_groups_] == [[j] for j in range(6)]
    assert not np.array_equal(ungrouped.predict_proba(X), by_index.predict_proba(X))


def test_grid_search_in_pipeline(blobs):
    X, y = blobs
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "mlp",
                DropoutMLPClassifier(
                    hidden_layer_sizes=(8,),
                    learning_rate_init=0.01,
                    max_iter=30,
                    random_state=0,
                ),
            ),
        ]
    )
    grid = {"mlp__hidden_dropout": [0.0, 0.3], "mlp__input_dropout": [0.0, 0.2]}
    search = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    # Seeded fits are deterministic: scoring each candidate independently
    # on the same folds reproduces the search's table and its choice.
    means = [
        cross_val_score(clone(pipe).set_params(**params), X, y, cv=2).mean()
        for params in search.cv_results_["params"]
    ]
    np.testing.assert_array_equal(search.cv_results_["mean_test_score"], means)
    assert search.best_params_ == search.cv_results_["params"][int(np.argmax(means))]
    assert search.best_score_ == max(means)
    assert search.score(X, y) > 0.8
    # clone keeps the parameters, not the fit.
    cloned = clone(search.best_estimator_)
    assert not hasattr(cloned[-1], "module_")


def _documented_differences():
    text = (Path(__file__).parents[1] / "docs/user_guide/mlp_dropout.rst").read_text()
    start = text.index(".. parameter-differences-start")
    return text[start : text.index(".. parameter-differences-end")]


@pytest.mark.parametrize(
    ("theirs", "ours"),
    [(MLPClassifier, DropoutMLPClassifier), (MLPRegressor, DropoutMLPRegressor)],
)
def test_every_scikit_learn_parameter_with_its_default(theirs, ours):
    """Each parameter of scikit-learn's MLP exists with the same default and
    is passed the same way (positional or keyword), or the user guide says
    how it differs."""
    documented = _documented_differences()
    mine = inspect.signature(ours).parameters
    undocumented = [
        name
        for name, param in inspect.signature(theirs).parameters.items()
        if (
            name not in mine
            or mine[name].default != param.default
            or mine[name].kind != param.kind
        )
        and f"``{name}``" not in documented
    ]
    assert not undocumented
    # The regressor's loss is keyword-only here: a documented difference.
    assert "``loss``" in documented
    # target_scaling changes what the regressor trains on by default.
    assert "``target_scaling``" in documented
    assert (
        mine.get("loss") is None or mine["loss"].kind is inspect.Parameter.KEYWORD_ONLY
    )


# --- dropout regularizes ------------------------------------------------------


def test_dropout_narrows_generalization_gap():
    """A wide net on 200 noisy rows overfits; hidden dropout reduces the gap
    between held-out and training log loss, and the held-out loss itself."""
    gaps, held_out = {}, {}
    for seed in (0, 1):
        X, y = make_classification(
            n_samples=1200,
            n_features=20,
            n_informative=3,
            n_redundant=0,
            flip_y=0.1,
            random_state=seed,
        )
        X_train, y_train, X_val, y_val = X[:200], y[:200], X[200:], y[200:]
        for rate in (0.0, 0.5):
            model = DropoutMLPClassifier(
                hidden_layer_sizes=(256, 256),
                hidden_dropout=rate,
                max_iter=200,
                early_stopping=False,
                random_state=seed,
            ).fit(X_train, y_train)
            train_loss = log_loss(y_train, model.predict_proba(X_train))
            val_loss = log_loss(y_val, model.predict_proba(X_val))
            gaps[seed, rate] = val_loss - train_loss
            held_out[seed, rate] = val_loss
    for seed in (0, 1):
        # Measured: gaps 0.9-1.1 without dropout, 0.5-0.8 with it.
        assert gaps[seed, 0.5] < gaps[seed, 0.0] - 0.1, gaps
        assert held_out[seed, 0.5] < held_out[seed, 0.0], held_out


# --- constraints, batch norm, exported weights -------------------------------


def _forward_numpy(model, X, activation="relu"):
    a = np.asarray(X, dtype=np.float64)
    last = len(model.coefs_) - 1
    for i, (coef, intercept) in enumerate(
        zip(model.coefs_, model.intercepts_, strict=True)
    ):
        a = a @ coef + intercept
        if i < last:
            a = {"relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh}[activation](a)
    return a


def test_max_norm_bounds_incoming_weights(blobs):
    X, y = blobs
    max_norm = 0.5
    model = DropoutMLPClassifier(
        **{**FAST, "hidden_layer_sizes": (16, 16), "max_norm": max_norm}
    ).fit(X, y)
    largest = 0.0
    for module in model.module_.modules():
        if isinstance(module, torch.nn.Linear):
            norms = module.weight.detach().norm(dim=1)
            assert torch.all(norms <= max_norm + 1e-5), norms
            largest = max(largest, float(norms.max()))
    assert largest > 0.9 * max_norm  # the constraint was active
    free = DropoutMLPClassifier(**{**FAST, "hidden_layer_sizes": (16, 16)}).fit(X, y)
    weight = free.module_.linears[0].weight.detach()
    assert float(weight.norm(dim=1).max()) > max_norm


@pytest.mark.parametrize("scaling", ["inverted", "test_time"])
def test_batch_norm_coefs_reproduce_predict_proba(blobs, scaling):
    X, y = blobs
    model = DropoutMLPClassifier(
        **{
            **FAST,
            "hidden_layer_sizes": (16, 8),
            "batch_norm": True,
            "input_dropout": 0.2,
            "dropout_scaling": scaling,
        }
    ).fit(X, y)
    assert len(model.module_.norms) == 2
    assert model.n_layers_ == 4
    assert [c.shape for c in model.coefs_] == [(6, 16), (16, 8), (8, 3)]
    assert model.score(X, y) > 0.9
    proba = softmax(_forward_numpy(model, X), axis=1)
    # The network runs in float32; the exported weights are float64.
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=1e-4, atol=1e-6)
    # A single row works at prediction (running statistics).
    assert model.predict(X[:1]).shape == (1,)


def test_coefs_reproduce_binary_regressor_and_tanh(blobs, diabetes_scaled):
    X, y = blobs
    binary = DropoutMLPClassifier(**{**FAST, "activation": "tanh"}).fit(
        X[y < 2], y[y < 2]
    )
    proba = expit(_forward_numpy(binary, X, "tanh"))[:, 0]
    np.testing.assert_allclose(
        proba, binary.predict_proba(X)[:, 1], rtol=1e-4, atol=1e-6
    )
    Xd, yd = diabetes_scaled
    reg = DropoutMLPRegressor(**{**FAST, "dropout_type": "dropconnect"}).fit(Xd, yd)
    np.testing.assert_allclose(
        _forward_numpy(reg, Xd)[:, 0], reg.predict(Xd), rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize("dropout_type", ["bernoulli", "gaussian", "dropconnect"])
def test_dropout_types_learn(blobs, dropout_type):
    X, y = blobs
    model = DropoutMLPClassifier(
        **{**FAST, "dropout_type": dropout_type, "input_dropout": 0.1}
    ).fit(X, y)
    assert model.score(X, y) > 0.9


@pytest.mark.parametrize("dropout_type", ["bernoulli", "gaussian", "dropconnect"])
def test_dropout_type_sets_the_noise_drawn(dropout_type):
    """Monte Carlo draws of a linear network (identity activation, input
    dropout only) have the variance and support of the requested noise."""
    p, lam, n = 0.3, 0.3 / 0.7, 4000
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 3)), rng.normal(size=64)
    model = DropoutMLPRegressor(
        hidden_layer_sizes=(4,),
        activation="identity",
        input_dropout=p,
        hidden_dropout=0.0,
        dropout_type=dropout_type,
        max_iter=3,
        random_state=0,
    ).fit(X, y)
    x = np.array([[1.0, -2.0, 0.5]], dtype=np.float32).astype(float)
    draws = model.mc_predict(x, n_samples=n, random_state=1)[:, 0]
    W1, W2 = model.coefs_[0], model.coefs_[1][:, 0]
    if dropout_type == "dropconnect":  # one mask per weight of layer 1
        expected = lam * float(((x[0, :, None] * W1 * W2) ** 2).sum())
    else:  # one multiplier per input, mean 1 and variance lam
        expected = lam * float(((x[0] * (W1 @ W2)) ** 2).sum())
    # The sample variance's standard error is below var * sqrt(kurtosis / n),
    # kurtosis < 10 for these mixtures: 5% is over three standard errors.
    assert draws.var() == pytest.approx(expected, rel=0.05)
    np.testing.assert_allclose(
        draws.mean(), model.predict(x)[0], atol=4 * draws.std() / n**0.5
    )
    distinct = len(np.unique(draws.round(5)))
    if dropout_type == "bernoulli":
        assert distinct <= 2**3  # keep or drop each of 3 inputs
    elif dropout_type == "dropconnect":
        assert 2**3 < distinct <= 2**12  # keep or drop each of 12 weights
    else:
        assert distinct > n // 2  # continuous noise


def test_batch_norm_needs_two_rows():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])
    model = DropoutMLPRegressor(hidden_layer_sizes=(4,), batch_norm=True, max_iter=2)
    with pytest.raises(ValueError, match="at least 2 rows"):
        model.partial_fit(X[:1], [1.0])
    # A last batch of one row is folded into the one before it.
    model.set_params(batch_size=2).fit(X, [1.0, 2.0, 3.0])
    assert model.n_iter_ == 2


# --- CUDA -------------------------------------------------------------------


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_fit_predict_and_pickle_to_cpu(blobs, monkeypatch):
    X, y = blobs
    cpu = DropoutMLPClassifier(**FAST).fit(X, y)
    gpu = DropoutMLPClassifier(**{**FAST, "device": "cuda"}).fit(X, y)
    assert next(gpu.module_.parameters()).device.type == "cuda"
    assert gpu.score(X, y) >= cpu.score(X, y) - 0.05
    mean_std = DropoutMLPRegressor(**{**FAST, "device": "cuda"}).fit(X, y * 1.0)
    assert mean_std.predict(X[:4], return_std=True)[1].shape == (4,)
    data = pickle.dumps(gpu)
    same = pickle.loads(data)
    np.testing.assert_allclose(same.predict_proba(X), gpu.predict_proba(X))
    # Loading where CUDA is missing maps the model to the CPU.
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning, match="loaded on the CPU"):
        on_cpu = pickle.loads(data)
    assert next(on_cpu.module_.parameters()).device.type == "cpu"
    np.testing.assert_allclose(
        on_cpu.predict_proba(X), gpu.predict_proba(X), rtol=1e-4, atol=1e-6
    )
    on_cpu.partial_fit(X, y)  # continues on the CPU with a fresh optimizer
    assert on_cpu.n_iter_ == gpu.n_iter_ + 1


@pytest.mark.parametrize("kind", ["regressor", "binary", "multiclass"])
def test_validation_loss_curve_is_the_loss_on_the_validation_split(kind):
    from sklearn.metrics import log_loss
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelBinarizer

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    if kind == "regressor":
        y = X[:, 0] - X[:, 1] + 0.3 * rng.normal(size=300)
        model = DropoutMLPRegressor((16,), hidden_dropout=0.2, early_stopping=True)
    else:
        n_classes = 2 if kind == "binary" else 3
        y = (X[:, 0] > 0).astype(int) + (n_classes == 3) * (X[:, 1] > 0.5)
        model = DropoutMLPClassifier((16,), hidden_dropout=0.2, early_stopping=True)
    model.set_params(max_iter=40, random_state=0, n_iter_no_change=100).fit(X, y)
    curve = model.validation_loss_curve_
    assert len(curve) == len(model.validation_scores_) == model.n_iter_
    assert all(np.isfinite(curve))
    # The restored parameters are those of the best-scoring epoch; recompute
    # that epoch's validation loss from the same split.
    # The estimator stratifies on its one-hot encoding of the labels.
    stratify = None if kind == "regressor" else LabelBinarizer().fit_transform(y)
    if stratify is not None and stratify.shape[1] == 1:
        stratify = stratify[:, 0]
    _, X_val, _, y_val = train_test_split(
        X, y, test_size=0.1, random_state=model._seeds[3] % 2**32, stratify=stratify
    )
    best = int(np.argmax(model.validation_scores_))
    if kind == "regressor":
        # In units of the standardized target (target_scaling="standard").
        residual = (model.predict(X_val) - y_val) / model.target_scale_[0]
        expected = 0.5 * np.mean(residual**2)
    else:
        expected = log_loss(y_val, model.predict_proba(X_val), labels=model.classes_)
    assert curve[best] == pytest.approx(expected, rel=1e-4)


def test_no_validation_loss_curve_without_early_stopping(diabetes):
    X, y = diabetes
    model = DropoutMLPRegressor((8,), max_iter=3, random_state=0).fit(X, y)
    assert model.validation_loss_curve_ is None


def test_warm_start_takes_new_rates_but_keeps_the_architecture(blobs):
    X, y = blobs
    model = DropoutMLPClassifier(**{**FAST, "warm_start": True, "max_iter": 3})
    model.fit(X, y)
    assert model.mc_predict(X[:5], 5, random_state=0).std(axis=0).max() > 0
    # The continued network trains and predicts with the new rate.
    model.set_params(hidden_dropout=0.0).fit(X, y)
    draws = model.mc_predict(X[:5], 5, random_state=0)
    np.testing.assert_array_equal(draws[0], draws[-1])
    with pytest.raises(ValueError, match=r"hidden_layer_sizes=\(8,\) differs from"):
        model.set_params(hidden_layer_sizes=(8,)).fit(X, y)
    with pytest.raises(ValueError, match="batch_norm=True differs from"):
        model.set_params(hidden_layer_sizes=(16,), batch_norm=True).fit(X, y)


def test_partial_fit_after_a_solver_change(blobs):
    X, y = blobs
    model = DropoutMLPClassifier(**{**FAST, "solver": "sgd"})
    model.partial_fit(X, y, classes=np.unique(y))
    # Adam's second moment did not exist under SGD: a fresh optimizer.
    model.set_params(solver="adam").partial_fit(X, y)
    assert model._trainer._steps == int(np.ceil(len(y) / 200))


def test_files_without_newer_parameters_load_with_their_defaults(blobs):
    X, y = blobs
    model = DropoutMLPRegressor(**FAST).fit(X, y.astype(float))
    state = model.__getstate__()
    del state["max_fun"], state["loss"]
    old = DropoutMLPRegressor.__new__(DropoutMLPRegressor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old.__setstate__(state)
    assert old.get_params()["max_fun"] == 15000 and old.loss == "squared_error"
    np.testing.assert_array_equal(old.predict(X), model.predict(X))
