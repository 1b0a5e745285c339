"""scipy's L-BFGS-B with a loss per iteration and one answer to Ctrl-C
(numpy and scipy only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

Array = NDArray[np.float64]


@dataclass
class LbfgsResult:
    """What :func:`minimize_lbfgs` returns.

    ``x`` is scipy's solution, or after a ``KeyboardInterrupt`` the last
    accepted iterate (``x0`` before the first); ``losses`` holds the
    objective at each accepted iterate and ``n_iter`` scipy's iteration
    count (the accepted iterates when ``interrupted``).
    """

    x: Array
    losses: list[float]
    n_iter: int
    converged: bool
    message: str
    interrupted: bool = False


def minimize_lbfgs(
    fun_and_grad: Callable[[Array], tuple[float, Array]],
    x0: Array,
    *,
    max_iter: int,
    max_fun: int,
    tol: float,
    ftol: float | None = None,
    progress: Callable[[int, float], None] | None = None,
) -> LbfgsResult:
    """Minimize ``fun_and_grad`` (the value and its gradient) from ``x0``.

    Stops as scipy does: after ``max_iter`` iterations, ``max_fun``
    evaluations, when the largest projected gradient entry is below ``tol``
    (``gtol``), or when the relative decrease is below ``ftol`` (scipy's
    default when None).  ``progress(iteration, loss)`` is called after each
    iteration.  A ``KeyboardInterrupt`` is caught: the result keeps the last
    accepted iterate and says ``interrupted``; the caller decides whether to
    keep it or to raise.
    """
    last = {"value": np.nan}
    losses: list[float] = []
    accepted = np.array(x0, dtype=np.float64)

    def evaluate(x: Array) -> tuple[float, Array]:
        value, grad = fun_and_grad(x)
        last["value"] = value
        return value, grad

    def callback(xk: Array) -> None:
        nonlocal accepted
        accepted = xk.copy()
        losses.append(last["value"])
        if progress is not None:
            progress(len(losses), last["value"])

    options: dict[str, Any] = {"maxiter": max_iter, "maxfun": max_fun, "gtol": tol}
    if ftol is not None:
        options["ftol"] = ftol
    try:
        opt = minimize(
            evaluate,
            accepted,
            method="L-BFGS-B",
            jac=True,
            callback=callback,
            options=options,
        )
    except KeyboardInterrupt:
        return LbfgsResult(
            x=accepted,
            losses=losses,
            n_iter=len(losses),
            converged=False,
            message="interrupted (KeyboardInterrupt)",
            interrupted=True,
        )
    return LbfgsResult(
        x=np.asarray(opt.x, dtype=np.float64),
        losses=losses,
        n_iter=int(opt.nit),
        converged=bool(opt.status == 0),
        message=str(opt.message),
    )
