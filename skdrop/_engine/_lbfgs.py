"""Full-batch L-BFGS for a network without dropout, as scikit-learn's MLP
does it: scipy's L-BFGS-B on the penalized mean loss over all rows, the
gradient from the hand-written backward pass, in float64 where the device
has it.  The objective must be deterministic: every rate is 0.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray

from ..utils import Progress, minimize_lbfgs
from ._spec import EpochsResult
from ._trainer import MLPTrainer


def fit_lbfgs(
    trainer: MLPTrainer,
    X: torch.Tensor,
    Y: torch.Tensor,
    W: torch.Tensor | None,
    max_iter: int,
    *,
    progress: Progress | None = None,
) -> EpochsResult:
    """Minimize the training loss from the trainer's current weights, and stop
    as scipy does (``max_iter`` iterations, ``max_fun`` evaluations or a
    projected gradient below ``tol``).  A ``KeyboardInterrupt`` keeps the
    last accepted iterate.
    """
    trainer.set_dtype(X.dtype)
    flat = trainer.stack.flat
    trainer.network.train()  # batch statistics, if any (rates are 0)

    def loss_grad(params: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        with torch.no_grad():
            flat.copy_(torch.from_numpy(params))
            loss = float(trainer.loss_and_gradient(X, Y, W, noise=False))
        return loss, trainer.stack.grad.cpu().numpy().astype(np.float64)

    cfg = trainer.config
    opt = minimize_lbfgs(
        loss_grad,
        flat.cpu().numpy().astype(np.float64),
        max_iter=max_iter,
        max_fun=cfg.max_fun,
        tol=cfg.tol,
        progress=progress,
    )
    final = opt.x
    result = EpochsResult(
        opt.losses,
        converged=opt.converged,
        interrupted=opt.interrupted,
        message=opt.message,
    )
    with torch.no_grad():
        flat.copy_(torch.from_numpy(np.asarray(final, dtype=np.float64)))
    trainer.network.eval()
    trainer.epochs_run += len(result.losses)
    trainer.samples_seen += X.shape[0] * len(result.losses)
    trainer.best_loss = min([trainer.best_loss, *result.losses])
    return result
