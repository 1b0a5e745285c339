"""The shared L-BFGS wrapper: its stopping, its loss per iteration and Ctrl-C."""

from __future__ import annotations

import numpy as np
import pytest

from skdrop.utils._optimize import minimize_lbfgs

# An ill-conditioned quadratic: L-BFGS needs several iterations.
_SCALES = np.array([1.0, 10.0, 100.0, 1000.0])
_TARGET = np.array([1.0, -2.0, 3.0, -4.0])


def _quadratic(x):
    r = x - _TARGET
    return 0.5 * float(np.sum(_SCALES * r**2)), _SCALES * r


def test_converges_and_records_each_iteration():
    seen = []
    result = minimize_lbfgs(
        _quadratic,
        np.zeros(4),
        max_iter=200,
        max_fun=1000,
        tol=1e-10,
        progress=lambda step, loss: seen.append((step, loss)),
    )
    assert result.converged and not result.interrupted
    np.testing.assert_allclose(result.x, _TARGET, atol=1e-8)
    assert result.n_iter == len(result.losses) > 1
    assert seen == list(enumerate(result.losses, start=1))
    # Each loss is the objective at an accepted iterate: the last is the end.
    assert result.losses[-1] == pytest.approx(_quadratic(result.x)[0], abs=1e-12)


def test_max_iter_stops_without_converging():
    result = minimize_lbfgs(_quadratic, np.zeros(4), max_iter=2, max_fun=1000, tol=0)
    assert not result.converged and result.n_iter == 2 == len(result.losses)


@pytest.mark.parametrize("at_call", [1, 7])
def test_keyboard_interrupt_keeps_the_last_accepted_iterate(at_call):
    accepted = []
    calls = {"n": 0}

    def interrupted(x):
        calls["n"] += 1
        if calls["n"] == at_call:
            raise KeyboardInterrupt
        accepted.append(x.copy())  # the evaluations; the accepted are a subset
        return _quadratic(x)

    x0 = np.full(4, 0.5)
    reference = minimize_lbfgs(_quadratic, x0, max_iter=200, max_fun=1000, tol=0)
    result = minimize_lbfgs(interrupted, x0, max_iter=200, max_fun=1000, tol=0)
    assert result.interrupted and not result.converged
    assert result.n_iter == len(result.losses)
    if at_call == 1:  # before the first iteration: the start
        assert result.losses == []
        np.testing.assert_array_equal(result.x, x0)
    else:
        # The same path as without the interrupt, up to it.
        assert 0 < result.n_iter < reference.n_iter
        assert result.losses == reference.losses[: result.n_iter]
        assert result.losses[-1] == _quadratic(result.x)[0]
        assert any(np.array_equal(result.x, x) for x in accepted)
