"""Linear and logistic regression with real dropout masks, by averaged SGD
(torch only): the reference for the deterministic solvers of
:mod:`skdrop.linear_model`, whose objectives are this one's expectation
(exactly for the squared loss, approximately for the logistic losses).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from ..utils import float_dtype, make_generator
from ._layers import NoiseSite, NoiseSource

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
# Below this many averaged blocks the standard error is checked every epoch.
_EVERY_EPOCH_BLOCKS = 4000
# Decay time of the step size, in steps (at least one epoch).
_DECAY_STEPS = 1000
# Bound on the loss's second derivative in the scores, relative to the
# squared loss's 2: sigmoid 1/4, softmax 1/2 (largest eigenvalue of
# diag(pi) - pi pi').
_CURVATURE = {"squared": 1.0, "binary": 1.0 / 8.0, "multinomial": 1.0 / 4.0}
LOSSES = tuple(_CURVATURE)


@dataclass
class LinearSGDResult:
    """What :func:`fit_linear_sgd` returns, in the caller's units."""

    coef: Array
    intercept: Array
    n_iter: int
    converged: bool
    loss_curve: list[float] = field(default_factory=list)
    interrupted: bool = False
    state: dict[str, Any] | None = None


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
    step_fraction: float,
    tol: float,
    seed: int,
    device: torch.device,
    progress: Callable[[int, float], None] | None = None,
    loss: str = "squared",
    state: dict[str, Any] | None = None,
) -> LinearSGDResult:
    """Minimize the inverted-dropout loss of a linear model by SGD with real
    masks: ``loss`` "squared" (``y`` (n, n_targets), standardized here),
    "binary" (logistic, ``y`` in {0, 1}, (n, 1)) or "multinomial" (softmax,
    ``y`` one-hot (n, K)).

    Each step draws a fresh mask for every row of the mini-batch (one per row
    and group), so the expected loss is the marginalized objective.  Three
    choices make the estimate converge to its minimizer rather than hover
    around it:

    * columns are rescaled to unit uncentered second moment (masks commute
      with column scaling, so the objective is unchanged) and the intercept
      is parametrized around the column means, which decouples it from the
      weights;
    * the step is ``step_fraction / L`` with ``L`` the largest curvature
      of the expected loss (a power iteration), decaying slowly as
      ``1 / sqrt(1 + t / t0)`` in the step count ``t``;
    * the returned weights are the average of the iterates over the second
      half of all steps (Polyak-Ruppert averaging).

    The mask noise limits the precision to about ``1 / sqrt(rows seen)``:
    training stops once the relative standard error of the averaged weights
    (batch means over the averaged steps) is below ``tol``, or after
    ``max_iter`` epochs.

    ``state`` (a result's ``state``, :meth:`LinearSGDState.to_dict`)
    continues an earlier run on new rows (``partial_fit``): its scaling,
    step, iterate, average and random streams are used, and the result's
    ``state`` holds them after this run (``state`` itself is not changed);
    None starts afresh, with the scaling and step of these rows.  On Ctrl-C
    after a completed epoch, the result (and its state) is that of the last
    completed epoch.
    """
    if loss not in _CURVATURE:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    saved = None if state is None else LinearSGDState.from_dict(state)
    scaling = None if saved is None else saved.scaling
    problem = _ScaledProblem.build(
        X,
        y,
        sample_weight,
        fit_intercept,
        device,
        scale_target=loss == "squared",
        scaling=scaling,
    )
    gidx = None if group_index is None else torch.as_tensor(group_index).to(device)
    site = NoiseSite(dropout, "bernoulli", "inverted", gidx, n_groups)
    n_samples = X.shape[0]
    batch_size = min(batch_size, n_samples)
    if saved is None:
        saved, generator, noise = _fresh_state(
            problem, dropout, step_fraction, batch_size, loss, seed, device
        )
    else:
        generator, noise = saved.streams(seed, device)
    sgd = _AveragedSGD(problem, site, noise, saved, batch_size, fit_intercept, loss)
    loss_curve: list[float] = []
    epoch_ends: list[int] = []  # blocks averaged when each epoch ended
    # The iterate and step count at the last epoch's end: what a Ctrl-C
    # mid-epoch keeps, consistent with the average it truncates to.
    at_epoch_end = (sgd.params(), sgd.n_steps)
    converged, interrupted, next_check = False, False, 0
    try:
        for epoch in range(max_iter):
            order = torch.randperm(n_samples, generator=generator, device=device)
            epoch_loss = sgd.epoch(order) * problem.loss_scale
            if not math.isfinite(epoch_loss):
                raise FloatingPointError(
                    f"The training loss became {epoch_loss} at epoch "
                    f"{epoch + 1}; try a smaller step_fraction."
                )
            epoch_ends.append(sgd.average.n_blocks)
            at_epoch_end = (sgd.params(), sgd.n_steps)
            loss_curve.append(epoch_loss)
            if progress is not None:
                progress(epoch + 1, epoch_loss)
            # The standard error costs O(blocks): past _EVERY_EPOCH_BLOCKS it
            # is checked on a geometric schedule (and at the last epoch), so
            # that long runs of short epochs stay linear in time.
            blocks = sgd.average.n_blocks
            last = epoch == max_iter - 1
            if blocks < _EVERY_EPOCH_BLOCKS or blocks >= next_check or last:
                next_check = max(next_check, int(blocks * 1.05) + 1)
                if sgd.average.relative_standard_error() <= tol:
                    converged = True
                    break
    except KeyboardInterrupt:
        if not loss_curve:
            raise
        # Keep the average as it was at the end of the last completed epoch.
        sgd.average.truncate(epoch_ends[len(loss_curve) - 1])
        interrupted = True
    saved.params, saved.n_steps = at_epoch_end
    saved.keep_streams(generator, noise, device)
    coef, intercept = problem.unscale(sgd.average.tail_mean())
    n_iter = len(loss_curve)
    return LinearSGDResult(
        coef, intercept, n_iter, converged, loss_curve, interrupted, saved.to_dict()
    )


def _fresh_state(
    problem: _ScaledProblem,
    dropout: float,
    step_fraction: float,
    batch_size: int,
    loss: str,
    seed: int,
    device: torch.device,
) -> tuple[LinearSGDState, torch.Generator, NoiseSource]:
    """A new run's state (zero weights, the step ``step_fraction / L`` of
    these rows' curvature) and its row-order and mask streams."""
    generator = make_generator(seed, device)
    # The masks come from the same cheap streams as the networks' masks.
    noise_seed = int(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0])
    noise = NoiseSource(noise_seed, device)
    curvature = _CURVATURE[loss] * _expected_curvature(
        problem.X, problem.center, problem.sw, dropout, generator
    )
    # The gradient is affine in the weights with noise independent of them,
    # so the averaged iterates are unbiased even at a constant step (Bach and
    # Moulines 2013); a slow decay only damps the noise.  The logistic
    # gradients are not, and need the decay.
    n_samples = problem.X.shape[0]
    n_params = problem.X.shape[1] * problem.y.shape[1] + problem.y.shape[1]
    state = LinearSGDState(
        scaling=problem.scaling,
        base_step=step_fraction / curvature,
        decay_steps=max(_DECAY_STEPS, math.ceil(n_samples / batch_size)),
        params=np.zeros(n_params),
        n_steps=0,
        average=_BlockAverage(n_params),
    )
    return state, generator, noise


@dataclass
class LinearSGDState:
    """What continues an SGD run on new rows, in numpy (it pickles): the
    first rows' scaling, the step, the current iterate (scaled units,
    coefficients then intercepts), the running average and the random
    streams."""

    scaling: tuple[Array, Array, Array, Array]
    base_step: float
    decay_steps: int
    params: Array
    n_steps: int
    average: _BlockAverage
    device: str = ""
    generator: Any = None
    noise: dict[str, Any] = field(default_factory=dict)

    def keep_streams(
        self, generator: torch.Generator, noise: NoiseSource, device: torch.device
    ) -> None:
        self.device = str(device)
        self.generator = generator.get_state().numpy()
        self.noise = noise.state_dict()

    def streams(
        self, seed: int, device: torch.device
    ) -> tuple[torch.Generator, NoiseSource]:
        """The saved row-order and mask streams, continued; new ones seeded
        ``seed`` when the run moves to another device."""
        generator = make_generator(seed, device)
        if str(device) != self.device:
            return generator, NoiseSource(seed + 1, device)
        generator.set_state(torch.as_tensor(self.generator, dtype=torch.uint8))
        noise = NoiseSource.from_state(self.noise, device)
        return generator, noise if noise is not None else NoiseSource(seed, device)

    def to_dict(self) -> dict[str, Any]:
        """The state as numpy arrays, numbers, lists and dicts (what skops
        loads without trusting a type)."""
        return {
            "scaling": list(self.scaling),
            "base_step": self.base_step,
            "decay_steps": self.decay_steps,
            "params": self.params,
            "n_steps": self.n_steps,
            "average_sums": self.average._sums,
            "average_counts": self.average._counts,
            "device": self.device,
            "generator": self.generator,
            "noise": self.noise,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> LinearSGDState:
        """The state :meth:`to_dict` gave, with lists of its own: a run
        from it leaves ``state`` (perhaps shared by a copy of the
        estimator) as it was.  The arrays in them are never written in
        place."""
        sums, counts = state["average_sums"], state["average_counts"]
        average = _BlockAverage(len(sums[0]))
        average._sums, average._counts = list(sums), list(counts)
        col_scale, x_mean, y_mean, y_scale = state["scaling"]
        return cls(
            scaling=(col_scale, x_mean, y_mean, y_scale),
            base_step=float(state["base_step"]),
            decay_steps=int(state["decay_steps"]),
            params=np.array(state["params"], dtype=np.float64),
            n_steps=int(state["n_steps"]),
            average=average,
            device=state["device"],
            generator=state["generator"],
            noise=state["noise"],
        )


@dataclass
class _ScaledProblem:
    """The data on the device, with columns at unit uncentered second moment
    (all-zero columns stay as they are), the intercept parametrized around
    the column means and a standardized target."""

    X: torch.Tensor
    center: torch.Tensor
    y: torch.Tensor
    sw: torch.Tensor  # weights divided by their mean
    col_scale: Array
    x_mean: Array
    y_mean: Array
    y_scale: Array

    @classmethod
    def build(
        cls,
        X: Array,
        y: Array,
        sample_weight: Array | None,
        fit_intercept: bool,
        device: torch.device,
        scale_target: bool = True,
        scaling: tuple[Array, Array, Array, Array] | None = None,
    ) -> _ScaledProblem:
        """``scaling`` (``col_scale, x_mean, y_mean, y_scale``) fixes the
        scaling, else it is computed from these rows."""
        dtype = float_dtype(device)
        weights = np.ones(X.shape[0]) if sample_weight is None else sample_weight
        if scaling is None:
            scaling = _scaling(X, y, weights, fit_intercept, scale_target)
        col_scale, x_mean, y_mean, y_scale = scaling

        def to_tensor(a: Array) -> torch.Tensor:
            return torch.as_tensor(np.ascontiguousarray(a), dtype=dtype).to(device)

        return cls(
            X=to_tensor(X * col_scale),
            center=to_tensor(x_mean * col_scale),
            y=to_tensor((y - y_mean) / y_scale),
            sw=to_tensor(weights / float(weights.mean())),
            col_scale=col_scale,
            x_mean=x_mean,
            y_mean=y_mean,
            y_scale=y_scale,
        )

    @property
    def scaling(self) -> tuple[Array, Array, Array, Array]:
        return self.col_scale, self.x_mean, self.y_mean, self.y_scale

    @property
    def loss_scale(self) -> float:
        """From the standardized target's squared error to the caller's."""
        return float(np.mean(self.y_scale**2))

    def unscale(self, params: Array) -> tuple[Array, Array]:
        """Coefficients and intercept in the caller's units."""
        n_coef = self.X.shape[1] * self.y.shape[1]
        coef = params[:n_coef].reshape(self.X.shape[1], self.y.shape[1])
        coef = coef * self.col_scale[:, None] * self.y_scale[None, :]
        # Undo the parametrization around the column means: b = b' - mean' w.
        intercept = self.y_mean + params[n_coef:] * self.y_scale - self.x_mean @ coef
        return np.asarray(coef, dtype=np.float64), np.asarray(intercept, np.float64)


def _scaling(
    X: Array, y: Array, weights: Array, fit_intercept: bool, scale_target: bool
) -> tuple[Array, Array, Array, Array]:
    """Column scales to unit uncentered second moment, column means (zero
    without intercept), target mean and scale (0 and 1 unless
    ``scale_target``)."""
    weight_sum = float(weights.sum())
    second_moment = (weights @ (X * X)) / weight_sum
    col_scale = np.ones(X.shape[1])
    np.divide(1.0, np.sqrt(second_moment), out=col_scale, where=second_moment > 0)
    x_mean = (weights @ X) / weight_sum if fit_intercept else np.zeros(X.shape[1])
    y_mean = np.zeros(y.shape[1])
    y_scale = np.ones(y.shape[1])
    if scale_target:
        if fit_intercept:
            y_mean = (weights @ y) / weight_sum
        y_scale = np.sqrt((weights @ (y - y_mean) ** 2) / weight_sum)
        y_scale = np.where(y_scale > 0, y_scale, 1.0)
    return col_scale, x_mean, y_mean, y_scale


class _AveragedSGD:
    """Plain SGD steps on the scaled problem with block-averaged iterates."""

    def __init__(
        self,
        problem: _ScaledProblem,
        site: NoiseSite,
        noise: NoiseSource,
        state: LinearSGDState,
        batch_size: int,
        fit_intercept: bool,
        loss: str,
    ) -> None:
        """Starts from ``state``'s iterate, average and step count (the
        average is updated in place)."""
        self.problem, self.site, self.noise = problem, site, noise
        self.loss = loss
        self.base_step, self.batch_size = state.base_step, batch_size
        self.fit_intercept, self.decay_steps = fit_intercept, state.decay_steps
        X, y = problem.X, problem.y
        n_coef = X.shape[1] * y.shape[1]
        params = torch.as_tensor(state.params, dtype=X.dtype).to(X.device)
        self.coef = params[:n_coef].reshape(X.shape[1], y.shape[1]).clone()
        self.bias = params[n_coef:].clone()
        self.average = state.average
        n_batches = math.ceil(X.shape[0] / batch_size)
        self.steps_per_block = math.ceil(n_batches / _BLOCKS_PER_EPOCH)
        self.n_steps = state.n_steps

    def params(self) -> Array:
        """The current iterate, coefficients then intercepts, in numpy."""
        flat = torch.cat([self.coef.reshape(-1), self.bias])
        return np.asarray(flat.cpu().numpy(), dtype=np.float64)

    def _step(self, idx: torch.Tensor) -> torch.Tensor:
        p = self.problem
        xb = p.X[idx]
        if self.site.active:
            rows, cols = xb.shape
            mult, _, scale = self.site.sample_scaled(rows, cols, self.noise, xb.dtype)
            xb = xb * mult * scale
        xb = xb - p.center
        scores = xb @ self.coef + self.bias
        target = p.y[idx]
        sw = p.sw[idx, None]
        # The gradient in the scores, and each row's loss.
        if self.loss == "squared":
            residual = scores - target
            dscores = 2.0 * residual
            row_loss = residual * residual
        elif self.loss == "binary":
            dscores = torch.sigmoid(scores) - target
            row_loss = torch.nn.functional.softplus(scores) - target * scores
        else:
            dscores = torch.softmax(scores, dim=1) - target
            row_loss = torch.logsumexp(scores, dim=1, keepdim=True) - (
                target * scores
            ).sum(dim=1, keepdim=True)
        wgrad = dscores * sw
        step = self.base_step / math.sqrt(1.0 + self.n_steps / self.decay_steps)
        self.n_steps += 1
        scale = step / idx.shape[0]
        self.coef -= scale * (xb.T @ wgrad)
        if self.fit_intercept:
            self.bias -= scale * wgrad.sum(dim=0)
        return (row_loss * sw).sum()

    def epoch(self, order: torch.Tensor) -> float:
        """One pass in the given row order; the mean loss over rows (summed
        over the targets)."""
        X = self.problem.X
        loss_sum = torch.zeros((), dtype=X.dtype, device=X.device)
        block_sum = torch.zeros(self.average.size, dtype=X.dtype, device=X.device)
        block_steps = 0
        n = X.shape[0]
        for start in range(0, n, self.batch_size):
            loss_sum += self._step(order[start : start + self.batch_size])
            block_sum += torch.cat([self.coef.reshape(-1), self.bias])
            block_steps += 1
            if block_steps == self.steps_per_block or start + self.batch_size >= n:
                self.average.add(block_sum.cpu().numpy(), block_steps)
                block_sum.zero_()
                block_steps = 0
        return float(loss_sum) / n


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
        return self._mean(self.n_blocks // 2, self.n_blocks)

    def relative_standard_error(self) -> float:
        """``||SE|| / ||mean||`` from ``_N_BATCHES`` batch means of the tail.

        Consecutive iterates are correlated, so each batch must span many
        steps for the batch means to be nearly independent: the estimate is
        only made once every batch holds ``_MIN_BATCH_STEPS`` steps.
        """
        n_blocks = self.n_blocks
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
