"""Dropout noise: masks and noise sites.

Every draw comes from a private stream (:class:`NoiseSource`) so that the
estimators never touch the global random state.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor

# Keep probabilities are realized on a 2**-24 grid (the grid of float32
# uniforms): an entry is decided by 8 random bits, and only the 1 in 256
# entries that tie with the threshold's leading byte draw 16 more.  Kept
# entries are scaled by the realized probability, so expectations are exact.
_KEEP_BITS = 24
_KEEP_RESOLUTION = 1 << _KEEP_BITS
# Entries of 0/1 masks drawn at once on the CPU.
_POOL_SIZE = 1 << 20
# SELU constants (Klambauer et al. 2017); alpha dropout sets a dropped unit to
# the SELU's negative saturation value -lambda * alpha.
SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
ALPHA_PRIME = -SELU_SCALE * SELU_ALPHA

DROPOUT_TYPES = ("bernoulli", "gaussian", "alpha", "dropconnect")
# Concrete dropout (Gal, Hron & Kendall 2017): the temperature of the relaxed
# masks, the rate a learned site starts from, and the range its logit is kept
# in (rates from about 0.001 to 0.999: the relaxed mask divides by 1 - p).
CONCRETE_TEMPERATURE = 0.1
LEARNED_INIT_RATE = 0.1
LOGIT_BOUND = 7.0
# Uniforms are kept this far from 0 and 1 before their logit is taken.
_UNIFORM_EPS = 1e-7
# The pool key of logistic noise (mask pools are keyed by a positive count).
_LOGISTIC = -1
DROPOUT_SCALINGS = ("inverted", "test_time")


@functools.cache
def _logistic_table() -> np.ndarray:
    """The standard logistic quantiles at ``(k + 1/2) / 2**16``, float32.

    Concrete masks take their noise from it: the tails are cut at +-11.8,
    where at temperature 0.1 a mask is within 1e-40 of 0 or 1 whatever the
    rate, and neighbouring quantiles differ by at most 6e-5 near the middle.
    """
    u = (np.arange(1 << 16, dtype=np.float64) + 0.5) / (1 << 16)
    return np.log(u / (1.0 - u)).astype(np.float32)


def quantized_keep(keep: float) -> float:
    """The keep probability the masks realize: ``keep`` on a 2**-24 grid.

    A positive ``keep`` never rounds to 0, so a rate below 1 never drops
    everything.
    """
    if keep >= 1.0:
        return 1.0
    steps = max(1, round(keep * _KEEP_RESOLUTION))
    return steps / _KEEP_RESOLUTION


class NoiseSource:
    """Dropout masks and Gaussian noise from a private random stream seeded
    ``seed``, drawn on ``device``.

    On the CPU, masks come from numpy's SFC64 bit generator, 16 random bits
    per entry compared with the keep threshold: several times cheaper than
    ``torch.rand`` or ``torch.bernoulli``, which cost more than the matmul of
    a hidden layer.  Elsewhere ``torch.rand`` with a device generator draws
    them (the random numbers never leave the device).
    """

    def __init__(self, seed: int, device: torch.device) -> None:
        self.device = device
        self._pools: dict[int, tuple[np.ndarray | None, int]] = {}
        # The generator state each pool was drawn from, and its size: enough
        # to redraw the pool when a saved stream is loaded.
        self._origins: dict[int, tuple[Mapping[str, Any], int]] = {}
        if device.type == "cpu":
            self._numpy = np.random.Generator(np.random.SFC64(seed))
            self._torch: torch.Generator | None = None
        else:
            self._torch = torch.Generator(device=device)
            self._torch.manual_seed(seed)

    def keep_bits(self, rows: int, cols: int, keep: float) -> Tensor:
        """A 0/1 mask of shape ``(rows, cols)``, 1 with probability
        ``quantized_keep(keep)``: uint8 on the CPU, float32 elsewhere.

        Multiplying a float tensor by the uint8 mask costs about what a float
        mask does, and the mask is a quarter of the memory.
        """
        steps = round(quantized_keep(keep) * _KEEP_RESOLUTION)
        if self._torch is not None:
            uniform = torch.rand(
                (rows, cols), generator=self._torch, device=self.device
            )
            # rand is on the same 2**-24 grid, so the probability is exact.
            return (uniform < steps / _KEEP_RESOLUTION).to(torch.float32)
        return torch.from_numpy(self._take(steps, rows * cols).reshape(rows, cols))

    def logistic(self, rows: int, cols: int, dtype: torch.dtype) -> Tensor:
        """Standard logistic noise ``log u - log(1 - u)``, ``u`` uniform on
        (0, 1): the noise of a Concrete mask.  On the CPU ``u`` takes the
        2**16 values ``(k + 1/2) / 2**16`` (see :func:`_logistic_table`),
        drawn in bulk like the 0/1 masks."""
        if self._torch is not None:
            u = torch.rand(
                (rows, cols), generator=self._torch, device=self.device, dtype=dtype
            )
            return torch.logit(u, eps=_UNIFORM_EPS)
        out = torch.from_numpy(self._take(_LOGISTIC, rows * cols).reshape(rows, cols))
        return out if dtype == torch.float32 else out.to(dtype)

    def _take(self, kind: int, count: int) -> np.ndarray:
        """The next ``count`` draws of the pool ``kind`` (refilled in bulk)."""
        pool, used = self._pools.get(kind, (None, 0))
        if pool is None or used + count > pool.size:
            size = max(count, _POOL_SIZE)
            self._origins[kind] = (self._numpy.bit_generator.state, size)
            pool, used = self._fill(kind, size), 0
        self._pools[kind] = (pool, used + count)
        return pool[used : used + count]

    def _fill(self, steps: int, count: int) -> np.ndarray:
        """``count`` fresh 0/1 draws, 1 with probability ``steps / 2**24``
        (or, for ``steps`` = ``_LOGISTIC``, logistic noise in float32).

        Drawn in bulk (one call serves many mini-batches), since per-call
        overhead dominates at the size of one batch.  A refill allocates a
        new array, so masks handed out earlier stay valid.
        """
        if steps == _LOGISTIC:
            # The inverse CDF at 2**16 equally spaced quantiles, looked up
            # from 16 random bits: a tenth of the cost of logarithms.
            draws = self._numpy.bit_generator.random_raw((count + 3) // 4)
            return _logistic_table()[draws.view(np.uint16)[:count]]
        bits = self._numpy.bit_generator
        if steps == _KEEP_RESOLUTION // 2:
            # Keep probability 1/2: one random bit per entry.
            raw = bits.random_raw((count + 63) // 64).view(np.uint8)
            return np.unpackbits(raw, count=count, bitorder="little")
        lead, rest = steps >> 16, steps & 0xFFFF
        byte = bits.random_raw((count + 7) // 8).view(np.uint8)[:count]
        kept = byte < lead
        if rest:
            ties = np.flatnonzero(byte == lead)
            if ties.size:
                extra = bits.random_raw((ties.size + 3) // 4).view(np.uint16)
                kept[ties] = extra[: ties.size] < rest
        return kept.view(np.uint8)

    def uniform(self, rows: int, cols: int, dtype: torch.dtype) -> Tensor:
        """Uniform noise on (0, 1) of shape ``(rows, cols)``."""
        return self._floats("random", torch.rand, rows, cols, dtype)

    def normal(self, rows: int, cols: int, dtype: torch.dtype) -> Tensor:
        """Standard normal noise of shape ``(rows, cols)``."""
        return self._floats("standard_normal", torch.randn, rows, cols, dtype)

    def _floats(
        self,
        method: str,
        draw: Callable[..., Tensor],
        rows: int,
        cols: int,
        dtype: torch.dtype,
    ) -> Tensor:
        """Numpy's ``method`` (float32) on the CPU, torch's ``draw`` elsewhere."""
        if self._torch is not None:
            shape = (rows, cols)
            return draw(shape, generator=self._torch, device=self.device, dtype=dtype)
        out = torch.from_numpy(getattr(self._numpy, method)((rows, cols), np.float32))
        return out if dtype == torch.float32 else out.to(dtype)

    def mark(self) -> tuple[Any, ...]:
        """The stream's position, to :meth:`rewind` to later (in memory).

        Cheap: pools are never written in place (a refill allocates a new
        array), so the mark shares them.
        """
        if self._torch is not None:
            return (self._torch.get_state(),)
        return (self._numpy.bit_generator.state, dict(self._pools), dict(self._origins))

    def rewind(self, mark: tuple[Any, ...]) -> None:
        """Go back to a position returned by :meth:`mark`."""
        if self._torch is not None:
            self._torch.set_state(mark[0])
            return
        self._numpy.bit_generator.state = mark[0]
        self._pools, self._origins = dict(mark[1]), dict(mark[2])

    def copy(self) -> NoiseSource:
        """An independent stream at the same position (pools are shared:
        they are never written in place)."""
        twin = NoiseSource.__new__(NoiseSource)
        twin.device = self.device
        twin._pools, twin._origins = dict(self._pools), dict(self._origins)
        if self._torch is not None:
            twin._torch = torch.Generator(device=self.device)
            twin._torch.set_state(self._torch.get_state())
        else:
            twin._torch = None
            twin._numpy = np.random.Generator(np.random.SFC64())
            twin._numpy.bit_generator.state = self._numpy.bit_generator.state
        return twin

    def state_dict(self) -> dict[str, Any]:
        """The stream's position as plain values (numpy arrays, ints, dicts):
        pools as the generator state they were drawn from, not as their
        megabyte of bits.
        """
        if self._torch is not None:
            return {
                "device": str(self.device),
                "torch": self._torch.get_state().numpy(),
            }
        pools = [
            {"steps": steps, "origin": origin, "size": size, "used": used}
            for steps, (origin, size) in self._origins.items()
            for _, used in [self._pools[steps]]
        ]
        return {
            "device": str(self.device),
            "bit_generator": self._numpy.bit_generator.state,
            "pools": pools,
        }

    @classmethod
    def from_state(
        cls, state: dict[str, Any], device: torch.device
    ) -> NoiseSource | None:
        """The stream saved by :meth:`state_dict`, continued on ``device``; None
        when CPU (numpy) and device (torch) generators would have to meet.
        """
        if (state["device"] == "cpu") != (device.type == "cpu"):
            return None
        source = cls(0, device)
        if source._torch is not None:
            source._torch.set_state(torch.as_tensor(state["torch"], dtype=torch.uint8))
            return source
        bits = source._numpy.bit_generator
        for pool in state["pools"]:
            steps, size = int(pool["steps"]), int(pool["size"])
            bits.state = pool["origin"]
            source._origins[steps] = (pool["origin"], size)
            source._pools[steps] = (source._fill(steps, size), int(pool["used"]))
        bits.state = state["bit_generator"]
        return source


def alpha_dropout_affine(keep: float) -> tuple[float, float]:
    """The affine correction ``(a, b)`` of alpha dropout.

    With dropped units set to ``alpha' = -lambda * alpha`` the output
    ``a * (x * m + alpha' * (1 - m)) + b`` keeps mean 0 and variance 1 for
    inputs with mean 0 and variance 1 (Klambauer et al. 2017, eq. 12).
    """
    a = (keep + ALPHA_PRIME**2 * keep * (1.0 - keep)) ** -0.5
    b = -a * (1.0 - keep) * ALPHA_PRIME
    return a, b


class NoiseSite:
    """Dropout (``kind``, one of :data:`DROPOUT_TYPES`) on the input of one
    linear layer: ``x -> x * mult + offset`` for the activation noises, a
    mask of the weight matrix for DropConnect.  ``group_index`` (input layer
    only) makes all columns of a group share one draw per row.

    In evaluation the noise is replaced by its expectation, the factor
    :meth:`eval_scale`: 1 except for ``scaling="test_time"``, where training
    uses unscaled masks and evaluation multiplies by the keep probability.

    A ``learned`` site (Bernoulli, inverted scaling) has its drop rates in
    ``logits`` (``p = sigmoid(logits)``), a parameter its network owns and
    trains: one rate per column or group (``per_column``, the input site) or
    one for the layer.  It applies Concrete masks in training
    (:meth:`concrete`) and Bernoulli masks at the learned rates with a noise
    source outside training (Monte Carlo dropout).
    """

    def __init__(
        self,
        rate: float,
        kind: str,
        scaling: str,
        group_index: Tensor | None = None,
        n_groups: int | None = None,
        *,
        learned: bool = False,
        per_column: bool = False,
    ) -> None:
        self.rate = float(rate)
        self.kind = kind
        self.scaling = scaling
        self.group_index = group_index
        self.n_groups = n_groups
        self.learned = learned
        self.per_column = per_column
        self.logits: Tensor | None = None
        self.keep = quantized_keep(1.0 - self.rate)

    @property
    def active(self) -> bool:
        return self.learned or self.keep < 1.0

    def n_rates(self, cols: int) -> int:
        """How many rates a learned site over ``cols`` columns has."""
        if not self.per_column:
            return 1
        return cols if self.n_groups is None else self.n_groups

    def rates(self) -> Tensor:
        """The learned drop rates, ``sigmoid(logits)`` (detached)."""
        assert self.logits is not None
        return torch.sigmoid(self.logits.detach())

    def _draws(self, cols: int) -> int:
        return cols if self.group_index is None else int(self.n_groups or 0)

    def _to_columns(self, t: Tensor) -> Tensor:
        """Per-draw values ``(rows, draws)`` spread to the group columns."""
        if self.group_index is None:
            return t
        return t.index_select(1, self.group_index.to(t.device))

    def concrete(
        self, rows: int, cols: int, noise: NoiseSource, dtype: torch.dtype
    ) -> tuple[Tensor, Tensor]:
        """``(multiplier, 1 - z)``: a Concrete (relaxed Bernoulli) mask.

        ``z = sigmoid((logit(p) + log u - log(1 - u)) / t)`` with a fresh
        uniform ``u`` per entry (per row and group) and ``t`` =
        :data:`CONCRETE_TEMPERATURE`; ``z`` near 1 means dropped.  The
        multiplier ``(1 - z) / (1 - p)`` has expectation near 1 and is
        differentiable in the logits.  ``1 - z`` has one column per draw
        (group); the backward pass needs it.
        """
        assert self.logits is not None
        logits = self.logits
        noise_ = noise.logistic(rows, self._draws(cols), dtype).to(logits.device)
        # 1 - z = sigmoid(-(logit + noise) / t); z itself is not needed.
        kept = torch.add(noise_, logits).mul_(-1.0 / CONCRETE_TEMPERATURE).sigmoid_()
        # 1 / (1 - p) = 1 + exp(logit), exact where p is near 1.
        mult = kept * torch.exp(logits).add(1.0)
        return self._to_columns(mult), kept

    def concrete_logit_grad(
        self, grad_noisy: Tensor, noisy: Tensor, kept: Tensor
    ) -> Tensor:
        """The gradient of the loss with respect to the logits, from its
        gradient ``grad_noisy`` with respect to the noisy input ``noisy``.

        With ``m = (1 - z) / (1 - p)``, ``dm/dlogit = m (p - z / t)``, so
        ``dL/dlogit`` sums ``grad_noisy * noisy * (p - z / t)`` over the rows
        (and the columns of a rate).  ``kept`` is ``1 - z``, as
        :meth:`concrete` returns it: ``p - z / t = kept / t + p - 1 / t``.
        """
        assert self.logits is not None
        both = grad_noisy * noisy
        if self.group_index is not None:
            summed = torch.zeros(kept.shape, dtype=both.dtype, device=both.device)
            both = summed.index_add_(1, self.group_index.to(both.device), both)
        inv_t = 1.0 / CONCRETE_TEMPERATURE
        plain = both.sum(0)
        weighted = both.mul_(kept).sum(0)
        p = torch.sigmoid(self.logits.detach())
        grad = weighted.mul_(inv_t).add_(plain * (p - inv_t))
        return grad if self.per_column else grad.sum().reshape(1)

    @property
    def on_weights(self) -> bool:
        return self.kind == "dropconnect"

    def eval_scale(self) -> float:
        masks = self.kind in ("bernoulli", "dropconnect") and not self.learned
        return self.keep if masks and self.scaling == "test_time" else 1.0

    def train_scale(self) -> float:
        """The factor on the matrix product in training: ``1 / keep`` for
        inverted Bernoulli and DropConnect masks (kept 0/1 so that the
        product applies it for free), 1 for the other noises (a learned
        rate's is in its Concrete multiplier)."""
        masks = self.kind in ("bernoulli", "dropconnect") and not self.learned
        return 1.0 / self.keep if masks and self.scaling == "inverted" else 1.0

    def _bits(self, rows: int, cols: int, noise: NoiseSource) -> Tensor:
        return self._to_columns(noise.keep_bits(rows, self._draws(cols), self.keep))

    def sample_scaled(
        self, rows: int, cols: int, noise: NoiseSource, dtype: torch.dtype
    ) -> tuple[Tensor, Tensor | None, float]:
        """``(multiplier, offset, scale)``: the noise is
        ``x -> (x * multiplier + offset) * scale``.

        For a batch of ``rows`` x ``cols`` activations, or, for DropConnect,
        the mask of a weight matrix of shape ``(rows, cols)`` =
        ``(out_features, in_features)``.  Bernoulli and DropConnect masks are
        0/1 (uint8 on the CPU) with the inverted scaling kept apart, so that
        a linear layer can apply it for free in its matrix product.
        """
        if self.learned:
            # Monte Carlo dropout at the learned rates: inverted Bernoulli.
            keep = 1.0 - self.rates().to(dtype)
            u = noise.uniform(rows, self._draws(cols), dtype).to(keep.device)
            mult = (u < keep).to(dtype).div_(keep)
            return self._to_columns(mult), None, 1.0
        if self.kind in ("bernoulli", "dropconnect"):
            bits = self._bits(rows, cols, noise).to(noise.device)
            return bits, None, self.train_scale()
        if self.kind == "gaussian":
            sigma = (self.rate / (1.0 - self.rate)) ** 0.5
            draws = noise.normal(rows, self._draws(cols), dtype).mul_(sigma).add_(1.0)
            return self._to_columns(draws).to(noise.device), None, 1.0
        a, b = alpha_dropout_affine(self.keep)
        kept = self._bits(rows, cols, noise).to(device=noise.device, dtype=dtype)
        offset = (1.0 - kept).mul_(a * ALPHA_PRIME).add_(b)
        return kept.mul_(a), offset, 1.0

    def sample(
        self, rows: int, cols: int, noise: NoiseSource, dtype: torch.dtype
    ) -> tuple[Tensor, Tensor | None]:
        """``(multiplier, offset)`` with the scale folded into the multiplier
        (see :meth:`sample_scaled`), as a float tensor of type ``dtype``."""
        mult, offset, scale = self.sample_scaled(rows, cols, noise, dtype)
        return mult.to(dtype) * scale, offset
