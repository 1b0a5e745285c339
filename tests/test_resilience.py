"""Interrupted fits, divergence and out-of-memory errors."""

from __future__ import annotations

import signal
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from skdrop import (
    DropoutLinearRegression,
    DropoutLogisticRegression,
    DropoutMLPClassifier,
    DropoutMLPRegressor,
)
from skdrop._engine._linear_sgd import _BlockAverage
from skdrop._engine._trainer import MLPTrainer
from skdrop.exceptions import FitInterrupted

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Wine's 178 rows (160 after the early-stopping split) in batches of 50: 4
# steps per epoch either way.
SETTINGS = dict(
    hidden_layer_sizes=(16,),
    batch_size=50,
    learning_rate_init=0.01,
    input_dropout=0.1,
    hidden_dropout=0.3,
    random_state=0,
)
STEPS_PER_EPOCH = 4


def _interrupt_at_step(monkeypatch, step, *, raise_signal=False):
    """Make the ``step``-th optimizer step (1-based) raise KeyboardInterrupt,
    as Ctrl-C would, either directly or through a real SIGINT."""
    original = MLPTrainer._step
    calls = {"n": 0}

    def step_or_interrupt(self, *args):
        calls["n"] += 1
        if calls["n"] == step:
            if raise_signal:
                signal.raise_signal(signal.SIGINT)
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(MLPTrainer, "_step", step_or_interrupt)


def _same_network(a, b):
    for name in ("coefs_", "intercepts_"):
        for x, y in zip(getattr(a, name), getattr(b, name), strict=True):
            np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_interrupt_keeps_the_last_completed_epoch(wine, monkeypatch, early_stopping):
    X, y = wine
    params = dict(SETTINGS, max_iter=20, early_stopping=early_stopping)
    model = DropoutMLPClassifier(**params)
    # Interrupted in the middle of the sixth epoch.
    _interrupt_at_step(monkeypatch, 5 * STEPS_PER_EPOCH + 2)
    with pytest.raises(FitInterrupted, match="keeps the 5 epoch") as info:
        model.fit(X, y)
    assert isinstance(info.value, KeyboardInterrupt)
    assert info.value.n_epochs == 5
    monkeypatch.undo()
    check_is_fitted(model)
    assert model.n_iter_ == 5 and len(model.loss_curve_) == 5
    assert model.t_ == 5 * (X.shape[0] if not early_stopping else 160)
    # Exactly the model that max_iter=5 gives (the half epoch is undone; with
    # early stopping the best epoch is restored as at the end of any fit).
    reference = DropoutMLPClassifier(**{**params, "max_iter": 5}).fit(X, y)
    _same_network(model, reference)
    assert model.loss_curve_ == reference.loss_curve_
    assert model.validation_scores_ == reference.validation_scores_
    assert model.validation_loss_curve_ == reference.validation_loss_curve_
    np.testing.assert_array_equal(model.predict_proba(X), reference.predict_proba(X))
    # ... and it goes on training like that model.
    for m in (model, reference):
        m.set_params(early_stopping=False).partial_fit(X, y)
    _same_network(model, reference)


def test_interrupt_during_validation(wine, monkeypatch):
    """Ctrl-C after the epoch's steps but while scoring the validation split
    undoes that epoch too."""
    X, y = wine
    params = dict(SETTINGS, max_iter=20, early_stopping=True)
    calls = {"n": 0}
    original = MLPTrainer._validate

    def score_or_interrupt(self, *args):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(MLPTrainer, "_validate", score_or_interrupt)
    model = DropoutMLPClassifier(**params)
    with pytest.raises(FitInterrupted):
        model.fit(X, y)
    monkeypatch.undo()
    reference = DropoutMLPClassifier(**{**params, "max_iter": 3}).fit(X, y)
    _same_network(model, reference)
    assert model.validation_loss_curve_ == reference.validation_loss_curve_


def test_real_sigint_is_handled_the_same(diabetes_scaled, monkeypatch):
    X, y = diabetes_scaled  # 442 rows: 9 steps of 50 per epoch
    params = dict(SETTINGS, max_iter=10)
    model = DropoutMLPRegressor(**params)
    _interrupt_at_step(monkeypatch, 2 * 9 + 1, raise_signal=True)
    with pytest.raises(FitInterrupted):
        model.fit(X, y)
    monkeypatch.undo()
    reference = DropoutMLPRegressor(**{**params, "max_iter": 2}).fit(X, y)
    _same_network(model, reference)


def test_interrupt_in_first_epoch_leaves_estimator_unfitted(wine, monkeypatch):
    X, y = wine
    model = DropoutMLPClassifier(**SETTINGS)
    _interrupt_at_step(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt) as info:
        model.fit(X, y)
    assert not isinstance(info.value, FitInterrupted)
    with pytest.raises(NotFittedError):
        check_is_fitted(model)


@pytest.mark.parametrize("how", ["warm_start", "partial_fit"])
def test_interrupted_update_restores_the_previous_model(wine, monkeypatch, how):
    """An update interrupted before completing an epoch leaves the fitted
    model exactly as it was: weights, optimizer moments and mask stream."""
    X, y = wine
    params = dict(SETTINGS, max_iter=3, warm_start=how == "warm_start")
    model = DropoutMLPClassifier(**params).fit(X, y)
    twin = DropoutMLPClassifier(**params).fit(X, y)
    _interrupt_at_step(monkeypatch, 3)
    with pytest.raises(KeyboardInterrupt) as info:
        if how == "warm_start":
            model.fit(X, y)
        else:
            model.partial_fit(X, y)
    assert not isinstance(info.value, FitInterrupted)
    monkeypatch.undo()
    assert model.n_iter_ == twin.n_iter_ == 3
    _same_network(model, twin)
    model.partial_fit(X, y)
    twin.partial_fit(X, y)
    _same_network(model, twin)


def test_interrupted_sgd_linear_regression_keeps_completed_epochs(
    diabetes_scaled, monkeypatch
):
    X, y = diabetes_scaled
    params = dict(
        input_dropout=0.3, solver="sgd", batch_size=50, tol=0.0, random_state=0
    )
    original = _BlockAverage.add
    calls = {"n": 0}

    def add_or_interrupt(self, *args):
        calls["n"] += 1
        # 9 steps per epoch in blocks of 3: 3 blocks; this is in the third.
        if calls["n"] == 2 * 3 + 2:
            raise KeyboardInterrupt
        return original(self, *args)

    monkeypatch.setattr(_BlockAverage, "add", add_or_interrupt)
    model = DropoutLinearRegression(**params, max_iter=10)
    with pytest.raises(FitInterrupted, match="keeps the 2 epoch"):
        model.fit(X, y)
    monkeypatch.undo()
    reference = DropoutLinearRegression(**params, max_iter=2).fit(X, y)
    assert model.n_iter_ == 2 and model.loss_curve_ == reference.loss_curve_
    np.testing.assert_array_equal(model.coef_, reference.coef_)
    np.testing.assert_array_equal(model.intercept_, reference.intercept_)


def test_closed_form_interrupt_leaves_previous_state(diabetes_scaled, monkeypatch):
    import skdrop.linear_model._linear

    X, y = diabetes_scaled
    model = DropoutLinearRegression(input_dropout=0.2).fit(X[:, :4], y)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(skdrop.linear_model._linear, "solve_system", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.fit(X, y)
    assert model.n_features_in_ == 4 and model.coef_.shape == (4,)


# --- divergence -------------------------------------------------------------


def test_nan_loss_raises_with_advice_and_keeps_the_previous_model(wine):
    X, y = wine
    model = DropoutMLPClassifier(**dict(SETTINGS, max_iter=3)).fit(X, y)
    twin = DropoutMLPClassifier(**dict(SETTINGS, max_iter=3)).fit(X, y)
    before = model.predict_proba(X)
    model.set_params(solver="sgd", learning_rate_init=1e12, warm_start=True)
    with pytest.raises(
        FloatingPointError, match=r"diverged.*learning_rate_init.*scale"
    ):
        model.fit(X * 1e6, y)
    assert model.n_iter_ == 3
    np.testing.assert_array_equal(model.predict_proba(X), before)
    # The optimizer state survived too: training on goes as if nothing happened.
    model.set_params(solver="adam", learning_rate_init=0.01, warm_start=False)
    model.partial_fit(X, y)
    twin.partial_fit(X, y)
    _same_network(model, twin)


# --- running out of device memory -------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"),
        RuntimeError("MPS backend out of memory (MPS allocated: 9.1 GB)"),
    ],
    ids=["cuda", "mps"],
)
def test_out_of_memory_suggests_a_smaller_batch(wine, monkeypatch, error):
    X, y = wine
    model = DropoutMLPClassifier(**dict(SETTINGS, max_iter=2)).fit(X, y)
    before = model.predict_proba(X)

    def out_of_memory(self, *args):
        raise error

    monkeypatch.setattr(MLPTrainer, "_step", out_of_memory)
    model.set_params(warm_start=True)
    with pytest.raises(MemoryError, match=r"batch_size=50\. Try a smaller batch_size"):
        model.fit(X, y)
    with pytest.raises(MemoryError, match="partial_fit") as info:
        DropoutMLPRegressor(**SETTINGS).fit(X, y * 1.0)
    assert info.value.__cause__ is error
    monkeypatch.undo()
    assert model.n_iter_ == 2
    np.testing.assert_array_equal(model.predict_proba(X), before)


def test_other_runtime_errors_propagate_unchanged(wine, monkeypatch):
    X, y = wine

    def broken(self, *args):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    monkeypatch.setattr(MLPTrainer, "_step", broken)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        DropoutMLPClassifier(**SETTINGS).fit(X, y)


def test_interrupted_fit_does_not_warn_about_convergence(wine, monkeypatch):
    X, y = wine
    _interrupt_at_step(monkeypatch, 2 * STEPS_PER_EPOCH + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FitInterrupted):
            DropoutMLPClassifier(**dict(SETTINGS, max_iter=5)).fit(X, y)


def test_interrupt_in_the_progress_bar_keeps_the_completed_epoch(wine, monkeypatch):
    """Ctrl-C while the progress bar updates, after an epoch completed."""
    import skdrop._engine

    X, y = wine
    params = dict(SETTINGS, max_iter=10)
    calls = {"n": 0}
    original = skdrop._engine.train

    def train_with_interrupting_progress(*args, progress=None, **kwargs):
        def interrupting(epoch, loss):
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt

        return original(*args, progress=interrupting, **kwargs)

    monkeypatch.setattr(
        "skdrop.neural_network._base.train", train_with_interrupting_progress
    )
    model = DropoutMLPClassifier(**params)
    with pytest.raises(FitInterrupted):
        model.fit(X, y)
    monkeypatch.undo()
    reference = DropoutMLPClassifier(**{**params, "max_iter": 3}).fit(X, y)
    _same_network(model, reference)
    assert model.n_iter_ == 3


@pytest.mark.parametrize("objective", ["quadratic", "gaussian"])
def test_interrupted_lbfgs_logistic_regression_leaves_previous_state(
    wine, monkeypatch, objective
):
    """L-BFGS has no epochs to keep: a Ctrl-C during a deterministic
    objective is a plain KeyboardInterrupt and the estimator is unchanged."""
    import skdrop.linear_model._logistic_objectives as objectives

    X, y = wine
    X = (X - X.mean(0)) / X.std(0)
    model = DropoutLogisticRegression(approximation=objective).fit(X[:, :4], y)
    before = model.coef_.copy()
    key = (objective, True)
    original = objectives.OBJECTIVES[key]
    calls = {"n": 0}

    def evaluate_or_interrupt(*args):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return original(*args)

    monkeypatch.setitem(objectives.OBJECTIVES, key, evaluate_or_interrupt)
    with pytest.raises(KeyboardInterrupt) as info:
        model.fit(X, y)
    assert not isinstance(info.value, FitInterrupted)
    assert calls["n"] == 5
    assert model.n_features_in_ == 4
    np.testing.assert_array_equal(model.coef_, before)
