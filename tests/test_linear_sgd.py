"""Linear regression with real masks (SGD, averaging) and the devices it runs on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skdrop._engine._linear_sgd import _BlockAverage, fit_linear_sgd
from skdrop.linear_model._closed_form import build_system, dropout_lambda, solve_system
from skdrop.utils._devices import float_dtype, resolve_device

CPU = torch.device("cpu")


def _sgd(X, y, sample_weight=None, **kwargs):
    params = dict(
        dropout=0.3,
        group_index=None,
        n_groups=X.shape[1],
        fit_intercept=True,
        max_iter=2000,
        batch_size=len(y),
        step_fraction=0.5,
        tol=0.0,
        seed=0,
        device=CPU,
    )
    params.update(kwargs)
    return fit_linear_sgd(X, y.reshape(len(y), -1), sample_weight, **params)


def test_resolve_device():
    assert resolve_device("cpu") == CPU
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}
    with pytest.raises(ValueError, match="got 'gpu0'"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda:0")
    if not torch.backends.mps.is_available():
        with pytest.raises(ValueError, match="MPS is not available"):
            resolve_device("mps")
    assert float_dtype(CPU) == torch.float64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_resolve_cuda_index_out_of_range():
    with pytest.raises(ValueError, match="CUDA device"):
        resolve_device(f"cuda:{torch.cuda.device_count()}")


def test_sgd_reaches_closed_form_without_intercept(cancer_regression):
    X, y = cancer_regression
    result = _sgd(X, y, fit_intercept=False, max_iter=5000)
    groups = [np.array([j]) for j in range(X.shape[1])]
    system, _, _ = build_system(X, y[:, None], None, groups, fit_intercept=False)
    exact = solve_system(system, dropout_lambda(0.3))
    # Without centering the design is ill-conditioned (condition ~70 after
    # scaling) and convergence is slower than on diabetes: the mask noise
    # leaves 0.7% to 2.2% at 5000 epochs over seeds 0-3 (measured).
    assert np.linalg.norm(result.coef - exact) / np.linalg.norm(exact) < 0.03
    np.testing.assert_array_equal(result.intercept, 0.0)


def test_sgd_with_weights_reaches_weighted_closed_form(diabetes):
    X, y = diabetes
    weights = np.random.default_rng(0).uniform(0.2, 3.0, len(y))
    result = _sgd(X, y, weights, max_iter=4000, seed=1)
    groups = [np.array([j]) for j in range(X.shape[1])]
    system, _, _ = build_system(X, y[:, None], weights, groups)
    exact = solve_system(system, dropout_lambda(0.3))
    assert np.linalg.norm(result.coef - exact) / np.linalg.norm(exact) < 0.015


def test_divergence_raises_with_advice(diabetes):
    X, y = diabetes
    with pytest.raises(FloatingPointError, match="smaller step_fraction"):
        _sgd(X, y, step_fraction=1e6, max_iter=200)


def test_progress_callback_and_loss_curve(diabetes):
    X, y = diabetes
    seen = []
    result = _sgd(X, y, max_iter=7, progress=lambda e, loss: seen.append(e))
    assert seen == list(range(1, 8))
    assert result.n_iter == 7 and len(result.loss_curve) == 7
    assert all(np.isfinite(result.loss_curve))
    # The first epoch starts from zero weights, where masks change nothing:
    # its loss is the variance of y.
    assert result.loss_curve[0] == pytest.approx(y.var(), rel=1e-12)
    # The masked loss is in expectation the noise-free loss plus the dropout
    # penalty, so at least the least-squares residual (here 20% below it,
    # while an epoch's mask noise moves it by a few percent).
    design = np.c_[np.ones(len(y)), X]
    residual = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    assert result.loss_curve[-1] > np.mean(residual**2)


def test_block_average_tail_mean_and_standard_error():
    avg = _BlockAverage(2)
    rng = np.random.default_rng(0)
    values = rng.normal(size=(400, 2)) + np.array([10.0, -5.0])
    for v in values:
        avg.add(v * 3, 3)  # a block of 3 identical steps
    np.testing.assert_allclose(avg.tail_mean(), values[200:].mean(axis=0))
    # Independent blocks: the batch-means SE estimates the true SE.
    true_se = np.linalg.norm([1, 1]) / np.sqrt(200)
    rel = avg.relative_standard_error() * np.linalg.norm(avg.tail_mean())
    assert 0.4 * true_se < rel < 2.5 * true_se
    assert _BlockAverage(2).relative_standard_error() == np.inf


def test_convergence_is_checked_at_the_last_epoch():
    """A fit whose max_iter ends exactly where a longer fit converged
    converges too (the standard error is checked at the last epoch), with
    the same coefficients."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from skdrop import DropoutLinearRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = X @ [1.0, -2.0, 0.5] + rng.normal(size=300)
    long = DropoutLinearRegression(
        0.3, solver="sgd", tol=5e-2, max_iter=5000, random_state=0
    ).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        exact = DropoutLinearRegression(
            0.3, solver="sgd", tol=5e-2, max_iter=int(long.n_iter_[0]), random_state=0
        ).fit(X, y)
    assert exact.n_iter_.tolist() == long.n_iter_.tolist()
    np.testing.assert_array_equal(exact.coef_, long.coef_)


def test_ctrl_c_mid_epoch_keeps_the_last_epoch_end(diabetes, monkeypatch):
    """The state after Ctrl-C mid-epoch is the state after the completed
    epochs (iterate, step count and average agree), so a later run resumes
    from there."""
    from skdrop._engine import _linear_sgd

    X, y = diabetes[0][:40], diabetes[1][:40]
    one_epoch = _sgd(X, y, max_iter=1, batch_size=10)
    step = _linear_sgd._AveragedSGD._step
    calls = []

    def interrupted_step(self, idx):
        calls.append(1)
        if len(calls) == 6:  # mid-way through the second epoch of 4 steps
            raise KeyboardInterrupt
        return step(self, idx)

    monkeypatch.setattr(_linear_sgd._AveragedSGD, "_step", interrupted_step)
    result = _sgd(X, y, max_iter=5, batch_size=10)
    assert result.interrupted and result.n_iter == 1
    assert result.state["n_steps"] == one_epoch.state["n_steps"] == 4
    np.testing.assert_array_equal(result.state["params"], one_epoch.state["params"])
    np.testing.assert_array_equal(result.coef, one_epoch.coef)


def test_a_run_from_a_state_leaves_it_unchanged(diabetes):
    X, y = diabetes
    state = _sgd(X, y, max_iter=2).state
    blocks, params = len(state["average_counts"]), state["params"].copy()
    _sgd(X, y, max_iter=2, state=state)
    assert len(state["average_counts"]) == blocks
    np.testing.assert_array_equal(state["params"], params)
