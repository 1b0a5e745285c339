"""Mini-batch training of a :class:`DropoutNetwork` (torch only, no scikit-learn).

The estimators validate their parameters; everything here trusts its
configuration.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F

from ._devices import float_dtype, make_generator
from ._layers import LOGIT_BOUND, NoiseSource
from ._network import DropoutNetwork

# Learned dropout logits move this many times faster than the weights: with
# the weights' step (Adam's 1e-3 per step) a rate needs thousands of steps
# to leave its initial 0.1, more than most fits take.
LOGIT_LR_FACTOR = 10.0

# What to try when training diverges (the engine's and the estimators' errors).
DIVERGENCE_ADVICE = (
    "Try a smaller learning_rate_init, or scale the features (for example with "
    "StandardScaler) and, for regression, the target (TransformedTargetRegressor)."
)
# Rows per forward pass at prediction time: bounded memory for any table.
# Small enough that the buffers are reused from the heap rather than mapped
# afresh (page faults cost more than the arithmetic).
_PREDICT_ELEMENTS = 1 << 20

Progress = Callable[[int, float], None]

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


Scratch = Callable[[str, tuple[int, ...], torch.dtype], torch.Tensor]


def optimizer_step(
    config: MLPConfig,
    tensors: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None],
    rates: tuple[float | torch.Tensor, float | torch.Tensor, float | torch.Tensor],
    n_weights: int,
    lr_scale: torch.Tensor | None = None,
    scratch: Scratch | None = None,
) -> None:
    """One optimizer update of flat parameters, in place.

    ``tensors`` are the parameters, their gradient and the two moments
    (the second is None for "sgd"), the weights first (``n_weights``
    entries).  ``rates`` are the learning rate, Adam's bias-corrected step
    and "adamw"'s weight decay factor ``1 - lr * alpha``, each a number or,
    for members with their own rates, a tensor laid out like the
    parameters.  ``lr_scale`` multiplies the learning rate per entry (on
    the gradient for SGD, on the step for Adam, which is invariant to the
    gradient's scale); ``scratch(name, shape, dtype)`` lends reusable
    buffers.
    """
    cfg = config
    p, g, m1, m2 = tensors
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
    assert m2 is not None
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


def chunk_rows(network: DropoutNetwork, n_cols: int) -> int:
    """Rows per forward pass at prediction: about ``_PREDICT_ELEMENTS``
    activations in the widest layer."""
    widths = [lin.weight.shape[0] for lin in network.linear_layers]
    return max(1, _PREDICT_ELEMENTS // max([*widths, n_cols]))


def predict_tensor(network: DropoutNetwork, X: torch.Tensor) -> torch.Tensor:
    """Evaluation-mode outputs for rows already on the network's device."""
    rows = chunk_rows(network, X.shape[1])
    network.eval()
    dtype = network.linear_layers[0].weight.dtype
    with torch.no_grad():
        parts = [
            network(X[start : start + rows].to(dtype))
            for start in range(0, X.shape[0], rows)
        ]
    return torch.cat(parts)


class StoppingState(Protocol):
    """The counters scikit-learn's schedule and stopping rule keep (a
    trainer's or a member's)."""

    best_loss: float
    best_validation_score: float
    no_improvement_count: int
    learning_rate: float
    samples_seen: int


def schedule(state: StoppingState, config: MLPConfig) -> None:
    """scikit-learn's learning rate after an epoch: ``learning_rate="invscaling"``
    divides the SGD learning rate by ``(samples seen + 1) ** power_t``."""
    if config.solver == "sgd" and config.learning_rate == "invscaling":
        state.learning_rate = config.learning_rate_init / (
            (state.samples_seen + 1) ** config.power_t
        )


def stopping_rule(
    state: StoppingState, config: MLPConfig, loss: float, score: float | None
) -> tuple[bool, bool]:
    """scikit-learn's MLP stopping rule after an epoch: ``(stop, improved)``.

    Without ``score`` training stops when the training loss has not improved
    by ``tol`` for more than ``n_iter_no_change`` epochs; with it (early
    stopping) the same rule applies to the validation score, and
    ``improved`` says that this epoch's score is the best so far (its weights
    are the ones to keep).  ``learning_rate="adaptive"`` divides the SGD
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


@dataclass
class EpochsResult:
    """What one call of :meth:`MLPTrainer.fit` (or L-BFGS) did."""

    losses: list[float]
    validation_scores: list[float] = field(default_factory=list)
    validation_losses: list[float] = field(default_factory=list)
    converged: bool = False
    interrupted: bool = False
    message: str = ""
    # Each site's drop rates after each epoch, where some are learned.
    rates: list[list[np.ndarray]] = field(default_factory=list)


Validation = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]


class MLPTrainer:
    """Trains a :class:`DropoutNetwork` with a hand-written backward pass.

    All parameters live in one flat tensor (the module's parameters are
    views into it) and so do their gradients, so the optimizer update is a
    handful of vectorized operations whatever the depth.  The trainer keeps
    the optimizer moments, the random streams and the stopping counters
    between calls, which is what ``warm_start`` and ``partial_fit`` need;
    :meth:`copy` gives an independent twin to train without touching this
    one.

    Parameters
    ----------
    network : DropoutNetwork
        Already initialized and on ``device``.
    head : {"softmax", "logistic", "identity", "gaussian"}
    config : MLPConfig
    noise_seed, shuffle_seed : int
        Seeds of the private mask and shuffling streams.
    device : torch.device
    """

    def __init__(
        self,
        network: DropoutNetwork,
        head: str,
        config: MLPConfig,
        *,
        noise_seed: int,
        shuffle_seed: int,
        device: torch.device,
    ) -> None:
        self.network = network
        self.head = head
        self.config = config
        self.device = device
        self.noise = NoiseSource(noise_seed, device)
        self.shuffle_seed = shuffle_seed
        # Training rows per epoch: the N of Concrete dropout's regularizer.
        self._n_rows = 1
        self.epochs_run = 0
        self.samples_seen = 0
        self.best_loss = math.inf
        self.best_validation_score = -math.inf
        self.no_improvement_count = 0
        self._best_state: dict[str, torch.Tensor] | None = None
        self.reset_optimizer()

    # -------------------------------------------------------------- layout
    def _flatten(self) -> None:
        """Make the parameters views of one flat tensor, weights first."""
        params = list(self.network.parameters())
        weights = [lin.weight for lin in self.network.linear_layers]
        weight_ids = {id(w) for w in weights}
        ordered = weights + [p for p in params if id(p) not in weight_ids]
        total = sum(p.numel() for p in ordered)
        ref = ordered[0]
        flat = torch.empty(total, dtype=ref.dtype, device=ref.device)
        grad = torch.zeros_like(flat)
        slots: dict[torch.Tensor, torch.Tensor] = {}
        offset = 0
        for p in ordered:
            n = p.numel()
            flat[offset : offset + n].copy_(p.detach().reshape(-1))
            p.data = flat[offset : offset + n].view_as(p)
            slots[p] = grad[offset : offset + n].view_as(p)
            offset += n
        self._flat, self._grad, self._slots = flat, grad, slots
        self._n_weights = sum(w.numel() for w in weights)
        # Learned dropout logits take larger steps than the weights (see
        # LOGIT_LR_FACTOR); None when the network learns no rate.
        self._lr_scale: torch.Tensor | None = None
        learned = {id(p) for p in self.network.learned_logits}
        if learned and LOGIT_LR_FACTOR != 1.0:
            self._lr_scale = torch.ones_like(flat)
            offset = 0
            for p in ordered:
                if id(p) in learned:
                    self._lr_scale[offset : offset + p.numel()] = LOGIT_LR_FACTOR
                offset += p.numel()

    def _ensure_flat(self) -> None:
        """Restore the flat layout after a copy, a cast or a user's edits."""
        flat = getattr(self, "_flat", None)
        weight = self.network.linear_layers[0].weight
        if flat is None or weight.data_ptr() != flat.data_ptr():
            self._flatten()

    def flat_parameters(self) -> torch.Tensor:
        """Every parameter of the network in one vector, which the network's
        parameters are views of: writing it sets them."""
        self._ensure_flat()
        return self._flat

    @property
    def gradient(self) -> torch.Tensor:
        """The gradient of the last :meth:`loss_and_gradient`, laid out like
        :meth:`flat_parameters`."""
        return self._grad

    def set_dtype(self, dtype: torch.dtype) -> None:
        """Cast the network (L-BFGS trains in float64, the others in float32)."""
        if self.network.linear_layers[0].weight.dtype != dtype:
            self.network.to(dtype)
            self._flatten()
            self.reset_optimizer()

    def reset_optimizer(self) -> None:
        """Fresh optimizer moments and learning rate (a new ``fit``)."""
        self._flatten()
        self._moment1 = torch.zeros_like(self._flat)
        self._moment2 = (
            torch.zeros_like(self._flat) if self.config.solver != "sgd" else None
        )
        self._steps = 0
        self.learning_rate = self.config.learning_rate_init

    def copy(self) -> MLPTrainer:
        """An independent trainer in the same state: training it leaves this
        one (and its network) untouched."""
        self._ensure_flat()
        twin = copy.copy(self)
        twin.network = copy.deepcopy(self.network)
        twin.noise = self.noise.copy()
        twin._flatten()
        twin._moment1 = self._moment1.clone()
        twin._moment2 = None if self._moment2 is None else self._moment2.clone()
        twin._best_state = None
        return twin

    # ----------------------------------------------------------- one step
    def loss_and_gradient(
        self,
        xb: torch.Tensor,
        yb: torch.Tensor,
        wb: torch.Tensor | None,
        noise: NoiseSource | None,
    ) -> torch.Tensor:
        """The penalized mean loss of a batch; its gradient goes to
        :attr:`gradient`.

        Like scikit-learn: the batch mean loss plus ``alpha / (2 n) ||W||^2``
        with ``n`` the summed sample weight of the batch (decoupled for
        "adamw").  A batch whose weights are all zero holds no data: an
        infinite scale makes its gradient and loss zero instead of dividing
        ``alpha`` by 0.
        """
        out, cache = self.network.forward_train(xb, noise)
        loss_sum, grad_out = head_loss_and_grad(out, yb, wb, self.head)
        # The weight sum stays a tensor: no device synchronization per step.
        scale: float | torch.Tensor = float(xb.shape[0])
        if wb is not None:
            total = wb.sum()
            scale = torch.where(total > 0, total, torch.full_like(total, math.inf))
        self.network.backward(cache, grad_out.div_(scale), self._slots)
        l2 = self.config.alpha if self.config.solver != "adamw" else 0.0
        batch_loss = loss_sum / scale
        if l2 > 0:
            weights = self._flat[: self._n_weights]
            self._grad[: self._n_weights].add_(weights * (l2 / scale))
            batch_loss = batch_loss + (0.5 * l2 / scale) * weights.dot(weights)
        if self.network.learned_logits:
            # Concrete dropout's regularizer is per training row, not per batch.
            batch_loss = batch_loss + self.network.concrete_penalty(
                self._n_rows, self.config.prior_length_scale, self._slots
            )
        return batch_loss

    def _step(
        self, xb: torch.Tensor, yb: torch.Tensor, wb: torch.Tensor | None
    ) -> torch.Tensor:
        batch_loss = self.loss_and_gradient(xb, yb, wb, self.noise)
        self._update()
        return batch_loss

    def _update(self) -> None:
        cfg = self.config
        self._steps += 1
        lr, t = self.learning_rate, self._steps
        step = lr * math.sqrt(1 - cfg.beta_2**t) / (1 - cfg.beta_1**t)
        optimizer_step(
            cfg,
            (self._flat, self._grad, self._moment1, self._moment2),
            (lr, step, 1 - lr * cfg.alpha),
            self._n_weights,
            self._lr_scale,
        )
        if cfg.max_norm is not None:
            max_norm_(
                (lin.weight.data for lin in self.network.linear_layers), cfg.max_norm
            )
        for logits in self.network.learned_logits:
            logits.data.clamp_(-LOGIT_BOUND, LOGIT_BOUND)

    # --------------------------------------------------------------- epochs
    def _order(self, n: int) -> torch.Tensor | None:
        if not self.config.shuffle:
            return None
        generator = make_generator(self.shuffle_seed + self.epochs_run, self.device)
        return torch.randperm(n, generator=generator, device=self.device)

    def _buffers(self) -> list[torch.Tensor]:
        # Batch norm's running statistics; faster than Module.buffers(),
        # which walks the module tree (this runs once per epoch).
        return [
            b
            for norm in self.network.norm_layers
            for b in (norm.running_mean, norm.running_var, norm.num_batches_tracked)
            if b is not None
        ]

    # The scalar state an epoch advances, besides tensors and the noise.
    _COUNTERS = (
        "_steps",
        "learning_rate",
        "epochs_run",
        "samples_seen",
        "best_loss",
        "best_validation_score",
        "no_improvement_count",
        "_best_state",
    )

    def _mark(self) -> dict[str, Any]:
        """Everything an epoch changes, to :meth:`_rewind` an interrupted one."""
        moments = [m for m in (self._moment1, self._moment2) if m is not None]
        return {
            # One copy of parameters and moments (a few microseconds).
            "tensors": torch.cat([self._flat, *moments]),
            "buffers": [b.clone() for b in self._buffers()],
            "noise": self.noise.mark(),
            "counters": tuple(getattr(self, name) for name in self._COUNTERS),
        }

    def _rewind(self, mark: dict[str, Any]) -> None:
        moments = [m for m in (self._moment1, self._moment2) if m is not None]
        with torch.no_grad():
            for mine, saved in zip(
                [self._flat, *moments, *self._buffers()],
                [*mark["tensors"].chunk(1 + len(moments)), *mark["buffers"]],
                strict=True,
            ):
                mine.copy_(saved)
        self.noise.rewind(mark["noise"])
        for name, value in zip(self._COUNTERS, mark["counters"], strict=True):
            setattr(self, name, value)
        self.network.eval()

    def _epoch(self, X: torch.Tensor, Y: torch.Tensor, W: torch.Tensor | None) -> float:
        n = X.shape[0]
        rows = self.config.concrete_rows
        self._n_rows = n if rows is None else rows
        batch = min(self.config.batch_size, n)
        starts = list(range(0, n, batch))
        # Batch norm cannot normalize one row: fold a last single row into
        # the batch before it.
        if len(self.network.norm_layers) and len(starts) > 1 and n - starts[-1] == 1:
            starts.pop()
        ends = [*starts[1:], n]
        order = self._order(n)
        self.network.train()
        total = torch.zeros((), dtype=X.dtype, device=X.device)
        with torch.no_grad():
            for start, stop in zip(starts, ends, strict=True):
                idx = slice(start, stop) if order is None else order[start:stop]
                wb = None if W is None else W[idx]
                total += self._step(X[idx], Y[idx], wb) * (stop - start)
        self.network.eval()
        loss = float(total) / n
        error = divergence(self.epochs_run + 1, loss)
        if error is not None:
            raise FloatingPointError(error)
        self.epochs_run += 1
        self.samples_seen += n
        schedule(self, self.config)
        return loss

    def _validate(self, validation: Validation) -> tuple[float, float]:
        raw = predict_tensor(self.network, validation[0])
        error = divergence(self.epochs_run, 0.0, bool(torch.isfinite(raw).all()))
        if error is not None:
            raise FloatingPointError(error)
        weight = None if validation[2] is None else validation[2][None]
        loss, score = validation_metrics(
            raw[None], validation[1][None], weight, self.head
        )
        return float(loss[0]), float(score[0])

    def fit(
        self,
        X: torch.Tensor,
        Y: torch.Tensor,
        W: torch.Tensor | None,
        max_epochs: int,
        *,
        validation: Validation | None = None,
        progress: Progress | None = None,
    ) -> EpochsResult:
        """Train until scikit-learn's stopping rule fires or ``max_epochs``.

        Without ``validation`` training stops when the training loss has not
        improved by ``tol`` for more than ``n_iter_no_change`` epochs; with
        it (early stopping) the same rule applies to the validation score,
        and the parameters of the best epoch are restored at the end.

        A ``KeyboardInterrupt`` stops training at the last completed epoch
        (the interrupted one is undone) and returns with ``interrupted``
        set.  Any other exception propagates and leaves this trainer
        half-trained: train a :meth:`copy` to keep the original.
        """
        self._ensure_flat()
        result = EpochsResult([])
        for _ in range(max_epochs):
            mark = None
            try:
                mark = self._mark()
                loss = self._epoch(X, Y, W)
                score = None
                if validation is not None:
                    val_loss, score = self._validate(validation)
                stop = self._no_improvement(loss, score)
            except KeyboardInterrupt:
                if mark is not None:
                    self._rewind(mark)
                result.interrupted = True
                break
            result.losses.append(loss)
            if self.network.learned_logits:
                result.rates.append(self.network.dropout_rates())
            if score is not None:
                result.validation_losses.append(val_loss)
                result.validation_scores.append(score)
            try:
                if progress is not None:
                    progress(len(result.losses), loss)
            except KeyboardInterrupt:
                # The epoch completed: keep it.
                result.interrupted = True
                break
            if stop:
                result.converged = True
                break
        if validation is not None and self._best_state is not None:
            self.network.load_state_dict(self._best_state)
            self._best_state = None
        return result

    def _no_improvement(self, loss: float, score: float | None) -> bool:
        stop, improved = stopping_rule(self, self.config, loss, score)
        if improved:
            self._best_state = {
                k: v.detach().clone() for k, v in self.network.state_dict().items()
            }
        return stop

    # ------------------------------------------------------------ saving
    def state_dict(self) -> dict[str, Any]:
        """Optimizer, schedule, stopping counters and random streams as plain
        values (numpy arrays, numbers, dicts), without the network.

        With :meth:`from_state` this continues training exactly where it
        stopped, on the same kind of device.
        """
        self._ensure_flat()
        moment2 = self._moment2
        return {
            "head": self.head,
            "config": asdict(self.config),
            "noise": self.noise.state_dict(),
            "shuffle_seed": self.shuffle_seed,
            "epochs_run": self.epochs_run,
            "samples_seen": self.samples_seen,
            "best_loss": self.best_loss,
            "best_validation_score": self.best_validation_score,
            "no_improvement_count": self.no_improvement_count,
            "steps": self._steps,
            "learning_rate": self.learning_rate,
            "moment1": self._moment1.cpu().numpy(),
            "moment2": None if moment2 is None else moment2.cpu().numpy(),
        }

    @classmethod
    def from_state(
        cls,
        network: DropoutNetwork,
        state: dict[str, Any],
        *,
        device: torch.device,
        noise_seed: int,
    ) -> MLPTrainer:
        """The trainer saved by :meth:`state_dict`, driving ``network``.

        The random streams continue where they were when the device kind is
        the same; after a move between the CPU and a GPU a new mask stream
        starts from ``noise_seed`` (the optimizer state carries over).
        """
        known = set(MLPConfig.__dataclass_fields__)
        config = MLPConfig(**{k: v for k, v in state["config"].items() if k in known})
        trainer = cls(
            network,
            str(state["head"]),
            config,
            noise_seed=noise_seed,
            shuffle_seed=int(state["shuffle_seed"]),
            device=device,
        )
        noise = NoiseSource.from_state(state["noise"], device)
        if noise is not None:
            trainer.noise = noise
        trainer.epochs_run = int(state["epochs_run"])
        trainer.samples_seen = int(state["samples_seen"])
        trainer.best_loss = float(state["best_loss"])
        trainer.best_validation_score = float(state["best_validation_score"])
        trainer.no_improvement_count = int(state["no_improvement_count"])
        trainer._steps = int(state["steps"])
        trainer.learning_rate = float(state["learning_rate"])
        dtype = trainer._flat.dtype
        trainer._moment1 = torch.as_tensor(state["moment1"], dtype=dtype).to(device)
        if state["moment2"] is not None:
            trainer._moment2 = torch.as_tensor(state["moment2"], dtype=dtype).to(device)
        return trainer
