"""Full-batch L-BFGS for a network without dropout, as scikit-learn's MLP does it.

scipy's L-BFGS-B minimizes the penalized mean loss over all rows, with the
gradient from the network's hand-written backward pass, in float64 where the
device supports it.  The objective must be deterministic: the estimators only
call this with every dropout rate at 0.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray
from scipy.optimize import minimize

from ._spec import EpochsResult
from ._trainer import MLPTrainer, Progress


def fit_lbfgs(
    trainer: MLPTrainer,
    X: torch.Tensor,
    Y: torch.Tensor,
    W: torch.Tensor | None,
    max_iter: int,
    *,
    progress: Progress | None = None,
) -> EpochsResult:
    """Minimize the training loss from the trainer's current weights.

    Stops as scipy does: after ``max_iter`` iterations, ``max_fun`` loss
    evaluations, or when the projected gradient falls below ``tol``
    (``gtol``), as in :class:`sklearn.neural_network.MLPClassifier`.  Each
    iteration's loss is recorded in ``losses``.  A ``KeyboardInterrupt``
    keeps the last accepted iterate.
    """
    trainer.set_dtype(X.dtype)
    flat = trainer.flat_parameters()
    trainer.network.train()  # batch statistics, if any (rates are 0)
    last = {"loss": np.nan}

    def loss_grad(params: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        with torch.no_grad():
            flat.copy_(torch.from_numpy(params))
            loss = trainer.loss_and_gradient(X, Y, W, noise=False)
        last["loss"] = float(loss)
        return last["loss"], trainer.gradient.cpu().numpy().astype(np.float64)

    result = EpochsResult([])
    accepted = {"x": flat.cpu().numpy().astype(np.float64)}

    def callback(xk: NDArray[np.float64]) -> None:
        accepted["x"] = xk.copy()
        result.losses.append(last["loss"])
        if progress is not None:
            progress(len(result.losses), last["loss"])

    cfg = trainer.config
    try:
        opt = minimize(
            loss_grad,
            accepted["x"],
            method="L-BFGS-B",
            jac=True,
            callback=callback,
            options={"maxfun": cfg.max_fun, "maxiter": max_iter, "gtol": cfg.tol},
        )
        final = opt.x
        result.converged = bool(opt.status == 0)
        result.message = str(opt.message)
    except KeyboardInterrupt:
        final = accepted["x"]
        result.interrupted = True
    with torch.no_grad():
        flat.copy_(torch.from_numpy(np.asarray(final, dtype=np.float64)))
    trainer.network.eval()
    trainer.epochs_run += len(result.losses)
    trainer.samples_seen += X.shape[0] * len(result.losses)
    trainer.best_loss = min([trainer.best_loss, *result.losses])
    return result
