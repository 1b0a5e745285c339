"""The optimizer of the networks' flat parameters, scikit-learn's learning
rate schedule and stopping rule, and their settings (torch only)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch


class TrainingCounters(Protocol):
    """What the optimizer, the schedule and the stopping rule read and
    update of one network's training (``_state.NetworkState`` has them)."""

    learning_rate: float
    steps: int
    samples_seen: int
    best_loss: float
    best_validation_score: float
    no_improvement_count: int


Scratch = Callable[[str, tuple[int, ...], torch.dtype], torch.Tensor]


def optimizer_step(
    config: MLPConfig,
    tensors: tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]],
    rates: tuple[float | torch.Tensor, float | torch.Tensor, float | torch.Tensor],
    n_weights: int,
    lr_scale: torch.Tensor | None = None,
    scratch: Scratch | None = None,
) -> None:
    """One optimizer update of flat parameters, in place.

    ``tensors`` are the parameters (the ``n_weights`` weights first), their
    gradient and the moments (one for "sgd", two for Adam).  ``rates`` are
    the learning rate, Adam's bias-corrected step and "adamw"'s weight decay
    factor ``1 - lr * alpha``, each a number or a tensor laid out like the
    parameters (members with their own rates).  ``lr_scale`` multiplies the
    learning rate per entry (on the gradient for SGD, on the step for Adam,
    which is invariant to the gradient's scale); ``scratch(name, shape,
    dtype)`` lends reusable buffers.
    """
    cfg = config
    p, g, moments = tensors
    m1 = moments[0]
    lr, step, decay = rates

    if lr_scale is not None and cfg.solver == "sgd":
        g = g * lr_scale
    if cfg.solver == "sgd":
        # scikit-learn's update: v = mu v - lr g; step mu v - lr g (Nesterov).
        if isinstance(lr, float):
            m1.mul_(cfg.momentum).sub_(g, alpha=lr)
        else:
            m1.mul_(cfg.momentum).sub_(_times(g, lr, scratch))
        if not cfg.nesterovs_momentum:
            p.add_(m1)
        elif isinstance(lr, float):
            p.add_(m1, alpha=cfg.momentum).sub_(g, alpha=lr)
        else:
            p.add_(m1, alpha=cfg.momentum).sub_(_times(g, lr, scratch))
        return
    m2 = moments[1]
    m1.mul_(cfg.beta_1).add_(g, alpha=1 - cfg.beta_1)
    m2.mul_(cfg.beta_2).addcmul_(g, g, value=1 - cfg.beta_2)
    if cfg.solver == "adamw" and cfg.alpha > 0:
        weights = p[:n_weights]
        weights.mul_(decay if isinstance(decay, float) else decay[:n_weights])
    if scratch is None:
        denom = m2.sqrt().add_(cfg.epsilon)
    else:
        denom = torch.sqrt(m2, out=scratch("denom", m2.shape, m2.dtype))
        denom.add_(cfg.epsilon)
    direction = m1 if lr_scale is None else m1 * lr_scale
    if isinstance(step, float):
        p.addcdiv_(direction, denom, value=-step)
    else:
        p.sub_(torch.div(direction, denom, out=denom).mul_(step))


def _times(g: torch.Tensor, lr: torch.Tensor, scratch: Scratch | None) -> torch.Tensor:
    """``g * lr``, in a reusable buffer when ``scratch`` lends one."""
    if scratch is None:
        return g * lr
    return torch.mul(g, lr, out=scratch("update", g.shape, g.dtype))


def max_norm_(weights: Iterable[torch.Tensor], max_norm: float) -> None:
    """Cap the norm of each unit's incoming weights at ``max_norm``, in place,
    for weights ``[out, in]`` or stacked ``[members, out, in]``."""
    for weight in weights:
        weight.view(-1, weight.shape[-1]).renorm_(2, 0, max_norm)


def step_rates(
    config: MLPConfig,
    states: Sequence[TrainingCounters],
    expand: Callable[[list[float]], float | torch.Tensor],
) -> tuple[float | torch.Tensor, float | torch.Tensor, float | torch.Tensor]:
    """The ``rates`` of :func:`optimizer_step` of networks each at its own
    learning rate and step count; ``expand`` turns per-network values into
    a number (all equal) or a tensor."""
    # Only the rates the solver uses: each tensor costs a copy per step.
    lr: float | torch.Tensor = 1.0
    step: float | torch.Tensor = 1.0
    decay: float | torch.Tensor = 1.0
    lrs = [s.learning_rate for s in states]
    if config.solver == "sgd":
        lr = expand(lrs)
    else:
        b1, b2 = config.beta_1, config.beta_2
        step = expand(
            [
                s.learning_rate
                * math.sqrt(1 - b2 ** max(s.steps, 1))
                / (1 - b1 ** max(s.steps, 1))
                for s in states
            ]
        )
    if config.solver == "adamw" and config.alpha > 0:
        decay = expand([1 - rate * config.alpha for rate in lrs])
    return lr, step, decay


def schedule(state: TrainingCounters, config: MLPConfig) -> None:
    """scikit-learn's learning rate after an epoch: ``learning_rate="invscaling"``
    divides the SGD learning rate by ``(samples seen + 1) ** power_t``."""
    if config.solver == "sgd" and config.learning_rate == "invscaling":
        state.learning_rate = config.learning_rate_init / (
            (state.samples_seen + 1) ** config.power_t
        )


def stopping_rule(
    state: TrainingCounters, config: MLPConfig, loss: float, score: float | None
) -> tuple[bool, bool]:
    """scikit-learn's MLP stopping rule after an epoch: ``(stop, improved)``.

    Training stops when the training loss (or, with ``score``, the
    validation score) has not improved by ``tol`` for more than
    ``n_iter_no_change`` epochs; ``improved`` says that this epoch's score
    is the best so far.  ``learning_rate="adaptive"`` divides the SGD
    learning rate by 5 instead of stopping, down to 1e-6.
    """
    tol = config.tol
    improved = False
    if score is not None:
        if score < state.best_validation_score + tol:
            state.no_improvement_count += 1
        else:
            state.no_improvement_count = 0
        if score > state.best_validation_score:
            state.best_validation_score = score
            improved = True
    else:
        if loss > state.best_loss - tol:
            state.no_improvement_count += 1
        else:
            state.no_improvement_count = 0
        state.best_loss = min(state.best_loss, loss)
    if state.no_improvement_count <= config.n_iter_no_change:
        return False, improved
    if config.solver == "sgd" and config.learning_rate == "adaptive":
        if state.learning_rate > 1e-6:
            state.learning_rate /= 5.0
            state.no_improvement_count = 0
            return False, improved
    return True, improved


@dataclass
class MLPConfig:
    """Optimization settings, with scikit-learn's MLP meanings."""

    solver: str = "adam"
    learning_rate_init: float = 1e-3
    alpha: float = 1e-4
    batch_size: int = 200
    shuffle: bool = True
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    momentum: float = 0.9
    nesterovs_momentum: bool = True
    learning_rate: str = "constant"
    power_t: float = 0.5
    max_norm: float | None = None
    tol: float = 1e-4
    n_iter_no_change: float = 10
    max_fun: int = 15000
    # Concrete dropout's prior length-scale (learned rates only), and the N
    # of its regularizer: None for the rows of each epoch (a fit); the rows
    # seen so far for a stream (partial_fit).
    prior_length_scale: float = 1e-2
    concrete_rows: int | None = None
