"""The training objective of the networks: the heads' losses and their
gradients, the validation metrics of early stopping, and what a diverged
fit says (torch only, no scikit-learn)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..utils import float_dtype

# What to try when training diverges (the engine's and the estimators' errors).
DIVERGENCE_ADVICE = (
    "Try a smaller learning_rate_init, or scale the features (for example with "
    "StandardScaler) and, for regression, the target (TransformedTargetRegressor)."
)

# Floor of the variance the "gaussian" head predicts (of the standardized
# target, where a variance of 1 is the target's own): keeps 1 / variance
# finite in float32.
GAUSSIAN_MIN_VARIANCE = 1e-6
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def head_loss_and_grad(
    z: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None, head: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed loss of a batch and its gradient with respect to the outputs.

    The losses are scikit-learn's: cross-entropy of the softmax, binary
    cross-entropy of each logistic output (summed over outputs), and half
    the squared error (averaged over outputs).  The "gaussian" head has two
    outputs per target, a mean ``m`` and a score ``s`` of the variance ``v =
    softplus(s) + GAUSSIAN_MIN_VARIANCE``, and the Gaussian negative
    log-likelihood ``1/2 log(2 pi v) + (y - m)^2 / (2 v)`` (averaged over
    targets; half the squared error, up to a constant, when ``v = 1``).
    Each row's loss and gradient are multiplied by its sample weight.  ``z``
    is ``[rows, outputs]``, or ``[members, rows, outputs]`` for networks
    trained side by side, whose losses are summed per member.
    """
    # The gradient is computed from detached values, so that the loss stays
    # differentiable when a test runs it under autograd.
    zd = z.detach()
    if head == "softmax":
        log_prob = torch.log_softmax(z, dim=-1)
        losses = -(target * log_prob).sum(-1)
        grad = torch.softmax(zd, dim=-1).sub_(target)
    elif head == "logistic":
        losses = (F.softplus(z) - target * z).sum(-1)
        grad = torch.sigmoid(zd).sub_(target)
    elif head == "gaussian":
        k = target.shape[-1]
        mean, score = z[..., :k], z[..., k:]
        variance = F.softplus(score) + GAUSSIAN_MIN_VARIANCE
        diff = mean - target
        losses = (0.5 * (torch.log(variance) + diff * diff / variance)).mean(
            -1
        ) + _HALF_LOG_2PI
        vd, dd = variance.detach(), diff.detach()
        grad_mean = dd / vd
        # d/ds of (log v + d^2 / v) / 2 with dv/ds = sigmoid(s).
        grad_score = 0.5 * (1.0 - dd * dd / vd) / vd * torch.sigmoid(zd[..., k:])
        grad = torch.cat([grad_mean, grad_score], dim=-1).div_(k)
    else:
        diff = z - target
        losses = 0.5 * (diff * diff).mean(-1)
        grad = (zd - target).div_(z.shape[-1])
    if weight is not None:
        return (losses * weight).sum(-1), grad.mul_(weight[..., None])
    return losses.sum(-1), grad


def validation_metrics(
    raw: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None,
    head: str,
    n_rows: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-member ``(loss, score)`` of raw outputs ``[members, rows, out]``:
    the head's mean loss, and accuracy (classification heads) or R^2
    averaged over outputs (identity head; of the means, for the gaussian
    head), both weighted by the sample weights, with scikit-learn's
    definitions.  Padding rows have weight 0; ``n_rows`` counts each
    member's real rows (all rows when None)."""
    dtype = float_dtype(raw.device)
    raw, target = raw.to(dtype), target.to(dtype)
    w = torch.ones(raw.shape[:2], dtype=dtype, device=raw.device)
    if weight is not None:
        w = weight.to(dtype)
    if n_rows is None:
        n_rows = torch.full((raw.shape[0],), raw.shape[1], device=raw.device)
    loss_sum, _ = head_loss_and_grad(raw, target, w, head)
    total = w.sum(1)
    if head in ("identity", "gaussian"):
        raw = raw[:, :, : target.shape[2]]
        mean = (w[:, :, None] * target).sum(1) / total[:, None]
        num = (w[:, :, None] * (target - raw) ** 2).sum(1)
        den = (w[:, :, None] * (target - mean[:, None, :]) ** 2).sum(1)
        # scikit-learn's force_finite: a constant target scores 1 if fitted
        # exactly, else 0.
        r2 = torch.where(den > 0, 1.0 - num / den.clamp_min(1e-300), (num == 0) * 1.0)
        # Like r2_score, no score for a single row: early stopping then
        # never sees an improvement and never stops early.
        score = torch.where(n_rows > 1, r2.mean(1), torch.full_like(total, math.nan))
        return loss_sum / total, score
    if head == "softmax":
        correct = raw.argmax(2) == target.argmax(2)
    else:
        correct = ((raw > 0) == (target > 0.5)).all(2)
    return loss_sum / total, (w * correct.to(dtype)).sum(1) / total


def divergence(epoch: int, loss: float, validation_finite: bool = True) -> str | None:
    """Why training diverged at ``epoch`` (1-based): a non-finite training
    loss, or non-finite predictions on the validation rows; None if it did
    not."""
    if not math.isfinite(loss):
        return (
            f"The training loss became {loss} at epoch {epoch}; the "
            f"optimization diverged. {DIVERGENCE_ADVICE}"
        )
    if not validation_finite:
        return (
            "The network predicts non-finite values on the validation set at "
            f"epoch {epoch}; the optimization diverged. {DIVERGENCE_ADVICE}"
        )
    return None
