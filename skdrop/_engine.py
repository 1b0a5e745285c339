"""Training engine: torch only, no scikit-learn.

The estimators in :mod:`skdrop` validate their input and hand numpy arrays to
the functions here, which move the data to the device once, draw every random
number from a private :class:`torch.Generator` and return plain results.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray

from ._layers import NoiseSite, NoiseSource
from ._network import DropoutNetwork

Array = NDArray[np.float64]

# Power iteration for the curvature, on a subsample of rows: enough for a step
# size within a few percent of 1 / L.
_POWER_ITERATIONS = 30
_POWER_ROWS = 20_000
# Iterate averaging: blocks of steps per epoch, batches for the standard error
# of the tail average, and the fewest steps in a batch before it is trusted.
_BLOCKS_PER_EPOCH = 4
_N_BATCHES = 10
_MIN_BATCH_STEPS = 50
# What to try when training diverges (the engine's and the estimators' errors).
DIVERGENCE_ADVICE = (
    "Try a smaller learning_rate_init, or scale the features (for example with "
    "StandardScaler) and, for regression, the target (TransformedTargetRegressor)."
)
# Decay time of the step size, in steps (at least one epoch).
_DECAY_STEPS = 1000


def check_device_name(device: str) -> torch.device | None:
    """The :class:`torch.device` a name stands for (None for ``"auto"``),
    whether or not this machine has it; ``ValueError`` for any other name."""
    if device == "auto":
        return None
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        resolved = None
    if resolved is None or resolved.type not in ("cpu", "cuda", "mps"):
        raise ValueError(
            f"device must be 'cpu', 'auto', 'cuda', 'cuda:N' or 'mps', got {device!r}"
        )
    return resolved


def resolve_device(device: str) -> torch.device:
    """Turn a device name into a :class:`torch.device`, or raise ``ValueError``.

    ``"auto"`` picks CUDA, then MPS, then the CPU.  A device that this machine
    does not have is an error rather than a silent fall back to the CPU.
    """
    resolved = check_device_name(device)
    if resolved is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if resolved.type == "cpu":
        return resolved
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available on "
                "this machine; use device='cpu' or device='auto'."
            )
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count:
            raise ValueError(
                f"device={device!r} was requested but this machine has {count} "
                f"CUDA device(s): use an index in [0, {count - 1}]."
            )
        return resolved
    if resolved.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(
                f"device={device!r} was requested but MPS is not available on "
                "this machine; use device='cpu' or device='auto'."
            )
    return resolved


def make_generator(seed: int, device: torch.device) -> torch.Generator:
    """A private generator on ``device`` seeded with ``seed``."""
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator


def float_dtype(device: torch.device) -> torch.dtype:
    """float64 where the device supports it (MPS does not)."""
    return torch.float32 if device.type == "mps" else torch.float64


@dataclass
class LinearSGDResult:
    """What :func:`fit_linear_sgd` returns, in the caller's units."""

    coef: Array
    intercept: Array
    n_iter: int
    converged: bool
    loss_curve: list[float] = field(default_factory=list)
    interrupted: bool = False


def fit_linear_sgd(
    X: Array,
    y: Array,
    sample_weight: Array | None,
    *,
    dropout: float,
    group_index: NDArray[np.intp] | None,
    n_groups: int,
    fit_intercept: bool,
    max_iter: int,
    batch_size: int,
    learning_rate_init: float,
    tol: float,
    seed: int,
    device: torch.device,
    progress: Callable[[int, float], None] | None = None,
) -> LinearSGDResult:
    """Minimize the inverted-dropout squared loss by SGD with real masks.

    Each step draws a fresh mask for every row of the mini-batch (one per row
    and group), so the expected loss is the marginalized objective solved
    exactly by :mod:`skdrop._closed_form`.  Three choices make the estimate
    converge to that solution rather than hover around it:

    * columns are rescaled to unit uncentered second moment (masks commute
      with column scaling, so the objective is unchanged) and the intercept
      is parametrized around the column means, which decouples it from the
      weights;
    * the step is ``learning_rate_init / L`` with ``L`` the largest curvature
      of the expected loss (a power iteration), decaying slowly as
      ``1 / sqrt(1 + t / t0)`` in the step count ``t``;
    * the returned weights are the average of the iterates over the second
      half of all steps (Polyak-Ruppert averaging).

    The mask noise limits the precision to about ``1 / sqrt(rows seen)``.
    Training stops once the relative standard error of the averaged weights,
    estimated by batch means over the averaged steps, is below ``tol``, or
    after ``max_iter`` epochs.
    """
    dtype = float_dtype(device)
    n_samples, n_features = X.shape
    weights = np.ones(n_samples) if sample_weight is None else sample_weight
    weight_mean = float(weights.mean())
    weight_sum = float(weights.sum())

    # Unit uncentered second moment per column; all-zero columns stay as is.
    second_moment = (weights @ (X * X)) / weight_sum
    col_scale = np.ones(n_features)
    np.divide(1.0, np.sqrt(second_moment), out=col_scale, where=second_moment > 0)
    x_mean = (weights @ X) / weight_sum if fit_intercept else np.zeros(n_features)
    y_mean = (weights @ y) / weight_sum if fit_intercept else np.zeros(y.shape[1])
    y_scale = np.sqrt((weights @ (y - y_mean) ** 2) / weight_sum)
    y_scale = np.where(y_scale > 0, y_scale, 1.0)

    def to_tensor(a: Array) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(a), dtype=dtype).to(device)

    Xs = to_tensor(X * col_scale)
    center = to_tensor(x_mean * col_scale)
    ys = to_tensor((y - y_mean) / y_scale)
    sw = to_tensor(weights / weight_mean)
    gidx = None if group_index is None else torch.as_tensor(group_index).to(device)
    generator = make_generator(seed, device)
    # The masks come from the same cheap streams as the networks' masks.
    noise_seed = int(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0])
    noise = NoiseSource(noise_seed, device)
    site = NoiseSite(dropout, "bernoulli", "inverted", gidx, n_groups)

    curvature = _expected_curvature(Xs, center, sw, dropout, generator)
    base_step = learning_rate_init / curvature

    coef = torch.zeros((n_features, ys.shape[1]), dtype=dtype, device=device)
    bias = torch.zeros(ys.shape[1], dtype=dtype, device=device)
    average = _BlockAverage(coef.numel() + bias.numel())
    batch_size = min(batch_size, n_samples)
    n_batches = math.ceil(n_samples / batch_size)
    steps_per_block = math.ceil(n_batches / _BLOCKS_PER_EPOCH)
    loss_curve: list[float] = []
    converged = False

    # The gradient is affine in the weights with noise independent of them,
    # so the averaged iterates are unbiased even at a constant step (Bach and
    # Moulines 2013); a slow decay in the step count only damps the noise.
    decay_steps = max(_DECAY_STEPS, n_batches)
    n_steps = 0
    interrupted = False
    epoch_ends: list[int] = []  # blocks averaged when each epoch ended
    try:
        for epoch in range(max_iter):
            order = torch.randperm(n_samples, generator=generator, device=device)
            loss_sum = torch.zeros((), dtype=dtype, device=device)
            block_sum = torch.zeros(average.size, dtype=dtype, device=device)
            block_steps = 0
            for start in range(0, n_samples, batch_size):
                idx = order[start : start + batch_size]
                xb = Xs[idx]
                if site.active:
                    rows, cols = xb.shape
                    mult, _, scale = site.sample_scaled(rows, cols, noise, dtype)
                    xb = xb * mult * scale
                xb = xb - center
                residual = xb @ coef + bias - ys[idx]
                wres = residual * sw[idx, None]
                loss_sum += (wres * residual).sum()
                step = base_step / math.sqrt(1.0 + n_steps / decay_steps)
                n_steps += 1
                scale = 2.0 * step / idx.shape[0]
                coef -= scale * (xb.T @ wres)
                if fit_intercept:
                    bias -= scale * wres.sum(dim=0)
                block_sum += torch.cat([coef.reshape(-1), bias])
                block_steps += 1
                if block_steps == steps_per_block or start + batch_size >= n_samples:
                    average.add(block_sum.cpu().numpy(), block_steps)
                    block_sum.zero_()
                    block_steps = 0
            loss = float(loss_sum) / n_samples * float(np.mean(y_scale**2))
            if not math.isfinite(loss):
                raise FloatingPointError(
                    f"The training loss became {loss} at epoch {epoch + 1}; "
                    "try a smaller learning_rate_init."
                )
            epoch_ends.append(average.n_blocks)
            loss_curve.append(loss)
            if progress is not None:
                progress(epoch + 1, loss)
            if average.relative_standard_error() <= tol:
                converged = True
                break
    except KeyboardInterrupt:
        completed = min(len(epoch_ends), len(loss_curve))
        if completed == 0:
            raise
        # Keep the average as it was at the end of the last completed epoch.
        del loss_curve[completed:]
        average.truncate(epoch_ends[completed - 1])
        interrupted = True

    params = average.tail_mean()
    avg_coef = params[: coef.numel()].reshape(coef.shape)
    avg_bias = params[coef.numel() :]
    coef_out = avg_coef * col_scale[:, None] * y_scale[None, :]
    # Undo the parametrization around the column means: b = b' - mean' w.
    intercept = y_mean + avg_bias * y_scale - x_mean @ coef_out
    return LinearSGDResult(
        coef=np.asarray(coef_out, dtype=np.float64),
        intercept=np.asarray(intercept, dtype=np.float64),
        n_iter=len(loss_curve),
        converged=converged,
        loss_curve=loss_curve,
        interrupted=interrupted,
    )


class _BlockAverage:
    """Polyak-Ruppert average over the second half of the steps.

    Keeps prefix sums of the iterates block by block, so the average over any
    tail of blocks, and the batch-means standard error of that average, cost
    O(n_params) per query.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._sums: list[Array] = [np.zeros(size)]
        self._counts: list[int] = [0]

    @property
    def n_blocks(self) -> int:
        return len(self._counts) - 1

    def truncate(self, n_blocks: int) -> None:
        """Forget the blocks after the first ``n_blocks``."""
        del self._sums[n_blocks + 1 :], self._counts[n_blocks + 1 :]

    def add(self, block_sum: Array, n_steps: int) -> None:
        self._sums.append(self._sums[-1] + block_sum)
        self._counts.append(self._counts[-1] + n_steps)

    def _mean(self, a: int, b: int) -> Array:
        steps = self._counts[b] - self._counts[a]
        return (self._sums[b] - self._sums[a]) / steps

    def tail_mean(self) -> Array:
        n_blocks = len(self._counts) - 1
        return self._mean(n_blocks // 2, n_blocks)

    def relative_standard_error(self) -> float:
        """``||SE|| / ||mean||`` from ``_N_BATCHES`` batch means of the tail.

        Consecutive iterates are correlated, so each batch must span many
        steps for the batch means to be nearly independent: the estimate is
        only made once every batch holds ``_MIN_BATCH_STEPS`` steps.
        """
        n_blocks = len(self._counts) - 1
        first = n_blocks // 2
        counts = np.asarray(self._counts)
        tail_steps = counts[n_blocks] - counts[first]
        if n_blocks - first < _N_BATCHES or tail_steps < _N_BATCHES * _MIN_BATCH_STEPS:
            return math.inf
        targets = counts[first] + tail_steps * np.arange(1, _N_BATCHES) / _N_BATCHES
        inner = np.searchsorted(counts, targets)
        edges = np.unique(np.concatenate([[first], inner, [n_blocks]]))
        batch_means = np.stack([self._mean(a, b) for a, b in itertools.pairwise(edges)])
        se = batch_means.std(axis=0, ddof=1) / math.sqrt(len(batch_means))
        mean_norm = float(np.linalg.norm(self.tail_mean()))
        se_norm = float(np.linalg.norm(se))
        if se_norm == 0.0:
            return 0.0
        return se_norm / mean_norm if mean_norm > 0 else math.inf


def _expected_curvature(
    Xs: torch.Tensor,
    center: torch.Tensor,
    sw: torch.Tensor,
    dropout: float,
    generator: torch.Generator,
) -> float:
    """Largest eigenvalue of the Hessian of the expected loss (power iteration).

    For the weighted mean loss the Hessian in the weights is
    ``2 (Xc' S Xc / S + lam diag(X' S X) / S)``; after the column scaling the
    diagonal term is ``lam I``.  Estimated on at most ``_POWER_ROWS`` rows.
    """
    rows = Xs.shape[0]
    if rows > _POWER_ROWS:
        pick = torch.randperm(rows, generator=generator, device=Xs.device)
        pick = pick[:_POWER_ROWS]
        Xs, sw = Xs[pick], sw[pick]
    Xc = (Xs - center) * sw.sqrt()[:, None]
    n = Xs.shape[0]
    lam = dropout / (1.0 - dropout)
    v = torch.ones(Xs.shape[1], dtype=Xs.dtype, device=Xs.device)
    v /= v.norm()
    value = 0.0
    for _ in range(_POWER_ITERATIONS):
        hv = Xc.T @ (Xc @ v) / n + lam * v
        value = float(hv.norm())
        if value == 0.0:
            break
        v = hv / value
    # The intercept's own curvature is 1 (unit weights on average).
    return 2.0 * max(value, 1.0)


# --------------------------------------------------------------------------- MLP
HEADS = ("softmax", "logistic", "identity")
SOLVERS = ("adam", "adamw", "sgd")
LEARNING_RATES = ("constant", "invscaling", "adaptive")
# Rows per forward pass at prediction time: bounded memory for any table.
# Small enough that the buffers are reused from the heap rather than mapped
# afresh (page faults cost more than the arithmetic).
_PREDICT_ELEMENTS = 1 << 20


def head_loss_and_grad(
    z: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None, head: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed loss of a batch and its gradient with respect to the outputs.

    The losses are scikit-learn's: cross-entropy of the softmax, binary
    cross-entropy of each logistic output (summed over outputs), and half
    the squared error (averaged over outputs).  Each row's loss and gradient
    are multiplied by its sample weight.
    """
    # The gradient is computed from detached values, so that the loss stays
    # differentiable when a test runs it under autograd.
    zd = z.detach()
    if head == "softmax":
        log_prob = torch.log_softmax(z, dim=1)
        losses = -(target * log_prob).sum(1)
        grad = torch.softmax(zd, dim=1).sub_(target)
    elif head == "logistic":
        losses = (F.softplus(z) - target * z).sum(1)
        grad = torch.sigmoid(zd).sub_(target)
    else:
        diff = z - target
        losses = 0.5 * (diff * diff).mean(1)
        grad = (zd - target).div_(z.shape[1])
    if weight is not None:
        return (losses * weight).sum(), grad.mul_(weight[:, None])
    return losses.sum(), grad


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
    n_iter_no_change: int = 10


@dataclass
class EpochsResult:
    """What one call of :meth:`MLPTrainer.fit` did."""

    losses: list[float]
    validation_scores: list[float]
    converged: bool
    interrupted: bool = False


class MLPTrainer:
    """Trains a :class:`DropoutNetwork` with a hand-written backward pass.

    All parameters live in one flat tensor (the module's parameters are
    views into it) and so do their gradients, so the optimizer update is a
    handful of vectorized operations whatever the depth.  The trainer keeps
    the optimizer moments, the random streams and the stopping counters
    between calls, which is what ``warm_start`` and ``partial_fit`` need.

    Parameters
    ----------
    network : DropoutNetwork
        Already initialized and on ``device``.
    head : {"softmax", "logistic", "identity"}
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
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {head!r}")
        if config.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {config.solver!r}")
        self.network = network
        self.head = head
        self.config = config
        self.device = device
        self.noise = NoiseSource(noise_seed, device)
        self.shuffle_seed = shuffle_seed
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

    def _ensure_flat(self) -> None:
        """Restore the flat layout after unpickling or a user's edits."""
        flat = getattr(self, "_flat", None)
        weight = self.network.linear_layers[0].weight
        if flat is None or weight.data_ptr() != flat.data_ptr():
            self._flatten()

    def reset_optimizer(self) -> None:
        """Fresh optimizer moments and learning rate (a new ``fit``)."""
        self._flatten()
        self._moment1 = torch.zeros_like(self._flat)
        self._moment2 = (
            torch.zeros_like(self._flat) if self.config.solver != "sgd" else None
        )
        self._steps = 0
        self.learning_rate = self.config.learning_rate_init

    # ----------------------------------------------------------- one step
    def _step(
        self, xb: torch.Tensor, yb: torch.Tensor, wb: torch.Tensor | None
    ) -> torch.Tensor:
        cfg = self.config
        out, cache = self.network.forward_train(xb, self.noise)
        loss_sum, grad_out = head_loss_and_grad(out, yb, wb, self.head)
        # Like scikit-learn: the batch mean loss plus alpha / (2 n) ||W||^2,
        # with n the summed sample weight of the batch.
        # The weight sum stays a tensor: no device synchronization per step.
        # A batch whose weights are all zero holds no data: an infinite scale
        # makes its gradient and loss zero instead of dividing alpha by 0
        # (the optimizer still steps on its moments, as for any zero gradient).
        scale: float | torch.Tensor = float(xb.shape[0])
        if wb is not None:
            total = wb.sum()
            scale = torch.where(total > 0, total, torch.full_like(total, math.inf))
        self.network.backward(cache, grad_out.div_(scale), self._slots)
        weights = self._flat[: self._n_weights]
        l2 = cfg.alpha if cfg.solver != "adamw" else 0.0
        if l2 > 0:
            self._grad[: self._n_weights].add_(weights * (l2 / scale))
        batch_loss = loss_sum / scale
        if l2 > 0:
            batch_loss = batch_loss + (0.5 * l2 / scale) * weights.dot(weights)
        self._update()
        return batch_loss

    def _update(self) -> None:
        cfg = self.config
        p, g, m1 = self._flat, self._grad, self._moment1
        self._steps += 1
        lr = self.learning_rate
        if cfg.solver == "sgd":
            # scikit-learn's update: v = mu v - lr g; step mu v - lr g (Nesterov).
            m1.mul_(cfg.momentum).sub_(g, alpha=lr)
            if cfg.nesterovs_momentum:
                p.add_(m1, alpha=cfg.momentum).sub_(g, alpha=lr)
            else:
                p.add_(m1)
        else:
            m2 = self._moment2
            assert m2 is not None
            t = self._steps
            m1.mul_(cfg.beta_1).add_(g, alpha=1 - cfg.beta_1)
            m2.mul_(cfg.beta_2).addcmul_(g, g, value=1 - cfg.beta_2)
            step = lr * math.sqrt(1 - cfg.beta_2**t) / (1 - cfg.beta_1**t)
            if cfg.solver == "adamw" and cfg.alpha > 0:
                p[: self._n_weights].mul_(1 - lr * cfg.alpha)
            p.addcdiv_(m1, m2.sqrt().add_(cfg.epsilon), value=-step)
        if cfg.max_norm is not None:
            for linear in self.network.linear_layers:
                linear.weight.data.renorm_(2, 0, cfg.max_norm)

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

    def checkpoint(self) -> dict[str, Any]:
        """Everything an epoch changes, to :meth:`restore` it (in memory)."""
        moments = (
            [self._moment1] if self._moment2 is None else [self._moment1, self._moment2]
        )
        return {
            # One copy of parameters and moments (a few microseconds).
            "tensors": torch.cat([self._flat, *moments]),
            "n_moments": len(moments),
            "buffers": [b.clone() for b in self._buffers()],
            "noise": self.noise.mark(),
            "config": self.config,
            "counters": tuple(getattr(self, name) for name in self._COUNTERS),
        }

    def restore(self, checkpoint: dict[str, Any]) -> None:
        """Return to the state of :meth:`checkpoint`."""
        self._ensure_flat()
        flat, *moments = checkpoint["tensors"].chunk(1 + checkpoint["n_moments"])
        # The moments are replaced, not copied into: a new fit may have reset
        # the optimizer (and changed the solver) since the checkpoint.
        self._moment1 = moments[0].clone()
        self._moment2 = moments[1].clone() if len(moments) > 1 else None
        self.config = checkpoint["config"]
        with torch.no_grad():
            self._flat.copy_(flat)
            for buffer, saved in zip(
                self._buffers(), checkpoint["buffers"], strict=True
            ):
                buffer.copy_(saved)
        self.noise.rewind(checkpoint["noise"])
        for name, value in zip(self._COUNTERS, checkpoint["counters"], strict=True):
            setattr(self, name, value)
        self.network.eval()

    def train_epoch(
        self, X: torch.Tensor, Y: torch.Tensor, W: torch.Tensor | None
    ) -> float:
        """One pass over the data; returns the mean training loss.

        An exception during the pass (a non-finite loss raises
        :class:`FloatingPointError`, or a ``KeyboardInterrupt``) restores the
        state of the epoch's start before it propagates.
        """
        self._ensure_flat()
        checkpoint = self.checkpoint()
        try:
            return self._epoch(X, Y, W)
        except BaseException:
            self.restore(checkpoint)
            raise

    def _epoch(self, X: torch.Tensor, Y: torch.Tensor, W: torch.Tensor | None) -> float:
        n = X.shape[0]
        batch = min(self.config.batch_size, n)
        starts = list(range(0, n, batch))
        # Batch norm cannot normalize one row: fold a last single row into
        # the batch before it.
        if len(self.network.norm_layers) and len(starts) > 1 and n - starts[-1] == 1:
            starts.pop()
        order = self._order(n)
        self.network.train()
        total = torch.zeros((), dtype=X.dtype, device=X.device)
        with torch.no_grad():
            for k, start in enumerate(starts):
                stop = starts[k + 1] if k + 1 < len(starts) else n
                if order is None:
                    xb, yb = X[start:stop], Y[start:stop]
                    wb = None if W is None else W[start:stop]
                else:
                    idx = order[start:stop]
                    xb, yb = X[idx], Y[idx]
                    wb = None if W is None else W[idx]
                total += self._step(xb, yb, wb) * (stop - start)
        self.network.eval()
        loss = float(total) / n
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"The training loss became {loss} at epoch {self.epochs_run + 1}; "
                f"the optimization diverged. {DIVERGENCE_ADVICE}"
            )
        self.epochs_run += 1
        self.samples_seen += n
        if self.config.solver == "sgd" and self.config.learning_rate == "invscaling":
            self.learning_rate = self.config.learning_rate_init / (
                (self.samples_seen + 1) ** self.config.power_t
            )
        return loss

    def fit(
        self,
        X: torch.Tensor,
        Y: torch.Tensor,
        W: torch.Tensor | None,
        max_epochs: int,
        *,
        validate: Callable[[], float] | None = None,
        progress: Callable[[int, float], None] | None = None,
    ) -> EpochsResult:
        """Train until scikit-learn's stopping rule fires or ``max_epochs``.

        Without ``validate`` training stops when the training loss has not
        improved by ``tol`` for more than ``n_iter_no_change`` epochs; with
        it (early stopping) the same rule applies to the validation score,
        and the parameters of the best epoch are restored at the end.

        A ``KeyboardInterrupt`` stops training at the last completed epoch
        (the interrupted one is undone) and returns with ``interrupted``
        set: the state is what ``max_epochs`` equal to the completed epochs
        would have given.  Any other exception undoes the current epoch and
        propagates.
        """
        self._ensure_flat()
        losses: list[float] = []
        scores: list[float] = []
        converged = interrupted = False
        for done in range(max_epochs):
            checkpoint = self.checkpoint()
            try:
                loss = self._epoch(X, Y, W)
                score = None if validate is None else validate()
                stop = self._no_improvement(loss, score)
                losses.append(loss)
                if score is not None:
                    scores.append(score)
                if progress is not None:
                    progress(done + 1, loss)
            except BaseException as exc:
                self.restore(checkpoint)
                del losses[done:], scores[done:]
                if not isinstance(exc, KeyboardInterrupt):
                    raise
                interrupted = True
                break
            if stop:
                converged = True
                break
        if validate is not None and self._best_state is not None:
            self.network.load_state_dict(self._best_state)
            self._best_state = None
        return EpochsResult(losses, scores, converged, interrupted)

    def _no_improvement(self, loss: float, score: float | None) -> bool:
        tol = self.config.tol
        if score is not None:
            if score < self.best_validation_score + tol:
                self.no_improvement_count += 1
            else:
                self.no_improvement_count = 0
            if score > self.best_validation_score:
                self.best_validation_score = score
                self._best_state = {
                    k: v.detach().clone() for k, v in self.network.state_dict().items()
                }
        else:
            if loss > self.best_loss - tol:
                self.no_improvement_count += 1
            else:
                self.no_improvement_count = 0
            self.best_loss = min(self.best_loss, loss)
        if self.no_improvement_count <= self.config.n_iter_no_change:
            return False
        cfg = self.config
        if cfg.solver == "sgd" and cfg.learning_rate == "adaptive":
            if self.learning_rate > 1e-6:
                self.learning_rate /= 5.0
                self.no_improvement_count = 0
                return False
        return True

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
        config = MLPConfig(**state["config"])
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


def predict_raw(
    network: DropoutNetwork,
    X: Array | NDArray[np.float32],
    *,
    noise: NoiseSource | None = None,
) -> NDArray[np.float32]:
    """Raw outputs (logits or values) for ``X`` (numpy), in batches.

    Memory stays bounded whatever the number of rows.  With ``noise`` the
    dropout masks are drawn (Monte Carlo dropout) while batch normalization
    keeps its running statistics.
    """
    param = next(network.parameters())
    widths = [lin.weight.shape[0] for lin in network.linear_layers]
    widths.append(X.shape[1])
    rows = max(1, _PREDICT_ELEMENTS // max(widths))
    out = []
    network.eval()
    with torch.no_grad():
        for start in range(0, X.shape[0], rows):
            chunk = np.ascontiguousarray(X[start : start + rows], dtype=np.float32)
            if not chunk.flags.writeable:
                # torch warns on read-only memory (joblib memmaps, for one).
                chunk = chunk.copy()
            xb = torch.from_numpy(chunk).to(device=param.device, dtype=param.dtype)
            out.append(network(xb, noise).cpu().numpy())
    return np.concatenate(out, axis=0)
