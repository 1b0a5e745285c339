"""Many networks of one architecture trained side by side (torch only).

A cross-validated grid of dropout rates is M networks that differ only in
their rates, their seeds and their training rows.  Stacking their weights as
``[M, in, out]`` turns M small matrix products per layer into one batched
product (``torch.baddbmm``), and M optimizer updates into one: on tabular
sizes a training step is mostly overhead, so M members cost far less than M
fits (TabM, Gorishniy et al. 2025, trains its ensembles the same way).

Each member replays what :class:`~skdrop._trainer.MLPTrainer` does for one
network on its own rows: the same initialization, shuffling and mask streams
(one :class:`NoiseSource` per member, drawn in the same order), the same loss,
optimizer, schedule and stopping rule.  Member ``m`` therefore equals a
single fit on ``X[rows_m]`` up to float32 rounding (the batched products sum
in another order).  Its mini-batches hold its own rows only, so a member's
training is exactly a fit on its cross-validation fold.

A member that stops (by the stopping rule, or by diverging) leaves the
stack: from then on it costs nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from ._devices import make_generator
from ._layers import NoiseSite, NoiseSource
from ._network import DropoutNetwork, _activate, _activation_backward_
from ._spec import NetworkSpec, initialized_network, new_network
from ._trainer import (
    EpochsResult,
    MLPConfig,
    divergence,
    head_loss_and_grad,
    max_norm_,
    optimizer_step,
    schedule,
    stopping_rule,
    validation_metrics,
)

MembersProgress = Callable[[int, int], None]
# Layers this narrow (outputs, mostly) multiply as (W h^T)^T: measured 2-6x
# faster for batched products of a width of 1 to 10.
_NARROW = 16


@dataclass(frozen=True)
class MemberPlan:
    """One member: its rates (input first), seeds and rows.

    ``seeds`` are the initialization, mask and shuffling seeds, as for a
    single fit.  ``rows`` index the training rows of ``X``;
    ``validation_rows`` (early stopping) the rows whose score decides when
    to stop and which epoch's weights to keep.  ``target`` picks the
    member's target when there are several (``Y [targets, n, out]``, e.g.
    standardized with each fold's statistics).
    """

    rates: tuple[float, ...]
    seeds: tuple[int, int, int]
    rows: NDArray[np.intp]
    validation_rows: NDArray[np.intp] | None = None
    target: int = 0


@dataclass
class MemberFit:
    """A trained member: its network (evaluation mode, on the device), what
    its epochs did, the epoch whose weights it kept, and, for a member that
    diverged, why (its weights are then those it diverged to)."""

    network: DropoutNetwork
    result: EpochsResult
    best_epoch: int
    error: str | None = None


@dataclass
class _LayerCache:
    """What the backward pass needs from one layer of a step (stacked)."""

    inputs: Tensor  # the layer's input after noise
    weight: Tensor  # the weight used: masked (DropConnect) and scaled
    weight_mask: Tensor | None
    input_mult: _Noise | None  # d(noisy input) / d(clean input), if not absorbed
    scale: Tensor | None  # inverted-dropout factor, folded into ``weight``
    activation: Tensor | None = None  # output of the activation (hidden layers)


@dataclass
class _Noise:
    """One layer's activation noise: ``runs`` of ``(start, stop, mult,
    offset)``, the members at positions ``start:stop`` taking ``x * mult +
    offset`` on their first ``len(mult)`` rows (``mult`` and ``offset`` are
    ``(rows, cols)``, shared by the run)."""

    runs: list[tuple[int, int, Tensor, Tensor | None]]

    def apply_(self, h: Tensor) -> None:
        """Noise on ``h [M, rows, cols]``, in place."""
        for start, stop, mult, offset in self.runs:
            part = h[start:stop, : mult.shape[0]]
            part.mul_(mult)
            if offset is not None:
                part.add_(offset)

    def multiply_(self, g: Tensor) -> None:
        """``g`` times the multiplier, in place (the chain rule)."""
        for start, stop, mult, _ in self.runs:
            g[start:stop, : mult.shape[0]].mul_(mult)


@dataclass
class _MemberState:
    """The scalar state of one member's optimizer and stopping rule."""

    plan: MemberPlan
    sites: list[NoiseSite]
    noise: NoiseSource
    n_rows: int
    learning_rate: float
    steps: int = 0
    samples_seen: int = 0
    best_loss: float = math.inf
    best_validation_score: float = -math.inf
    best_epoch: int = 0
    no_improvement_count: int = 0
    best_params: Tensor | None = None
    result: EpochsResult = field(default_factory=lambda: EpochsResult([]))
    error: str | None = None


class _Stack:
    """The parameters of M networks in one flat tensor, layer-major.

    Block ``l`` holds the weights ``[M, out_l, in_l]`` of layer ``l`` (the
    layout of :class:`torch.nn.Linear`), then
    come the biases ``[M, 1, out_l]``; each block is contiguous, so a batched
    product writes its gradient in place and the optimizer updates every
    member with a handful of elementwise operations.
    """

    def __init__(self, shapes: Sequence[tuple[int, int]], flat: Tensor) -> None:
        self.shapes = list(shapes)
        self.n_members = flat.shape[0] // self.per_member
        self.flat = flat
        self.grad = torch.zeros_like(flat)
        self.weights, self.biases = self._views(flat)
        self.grad_weights, self.grad_biases = self._views(self.grad)
        self.n_weights = self.n_members * sum(i * o for i, o in self.shapes)

    @property
    def per_member(self) -> int:
        return sum(i * o + o for i, o in self.shapes)

    def blocks(self, t: Tensor) -> list[Tensor]:
        """``t`` (laid out like the flat parameters) as ``[M, size]`` blocks."""
        sizes = [i * o for i, o in self.shapes] + [o for _, o in self.shapes]
        out, start = [], 0
        for size in sizes:
            n = self.n_members * size
            out.append(t[start : start + n].view(self.n_members, size))
            start += n
        return out

    def _views(self, t: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        blocks = self.blocks(t)
        n = len(self.shapes)
        weights = [
            b.view(-1, o, i) for b, (i, o) in zip(blocks[:n], self.shapes, strict=True)
        ]
        biases = [
            b.view(-1, 1, o) for b, (_, o) in zip(blocks[n:], self.shapes, strict=True)
        ]
        return weights, biases

    def member(self, t: Tensor, m: int) -> Tensor:
        """Member ``m``'s entries of ``t`` as one vector (a copy)."""
        return torch.cat([b[m] for b in self.blocks(t)])

    def set_member(self, t: Tensor, m: int, values: Tensor) -> None:
        start = 0
        for b in self.blocks(t):
            size = b.shape[1]
            b[m].copy_(values[start : start + size])
            start += size

    def select(self, t: Tensor, keep: Tensor) -> Tensor:
        """The entries of ``t`` of the members ``keep``, in the same layout."""
        return torch.cat([b.index_select(0, keep).reshape(-1) for b in self.blocks(t)])


class MemberTrainer:
    """Trains the members of ``plans`` side by side (see the module doc).

    Parameters
    ----------
    spec : NetworkSpec
        The shared architecture; its ``rates`` are replaced by each plan's.
        Batch normalization is not supported here (its statistics would mix
        members' padding rows): the estimators fit such members one by one.
    plans : sequence of MemberPlan
    head : {"softmax", "logistic", "identity", "gaussian"}
    config : MLPConfig
        A stochastic solver ("sgd", "adam" or "adamw").
    device : torch.device
    """

    def __init__(
        self,
        spec: NetworkSpec,
        plans: Sequence[MemberPlan],
        head: str,
        config: MLPConfig,
        device: torch.device,
    ) -> None:
        if spec.batch_norm or config.solver == "lbfgs":
            raise ValueError("members train with a stochastic solver, no batch norm")
        if any(math.isnan(r) for plan in plans for r in plan.rates):
            raise ValueError("members with learned rates train one by one")
        self.spec, self.head, self.config, self.device = spec, head, config, device
        self.activation = spec.activation
        networks, self.members = [], []
        # Members with the same mask seed and rates draw the same masks as
        # long as they ask for the same shapes (folds of equal size): they
        # share one stream, drawn once, until their requests differ.
        streams: dict[tuple[int, tuple[float, ...]], NoiseSource] = {}
        for plan in plans:
            network = initialized_network(
                replace(spec, rates=plan.rates), plan.seeds[0]
            )
            networks.append(network)
            key = (plan.seeds[1], plan.rates)
            if key not in streams:
                streams[key] = NoiseSource(plan.seeds[1], device)
            self.members.append(
                _MemberState(
                    plan=plan,
                    sites=network.sites,
                    noise=streams[key],
                    n_rows=len(plan.rows),
                    learning_rate=config.learning_rate_init,
                )
            )
        self.shapes = [
            (lin.in_features, lin.out_features) for lin in networks[0].linear_layers
        ]
        blocks = [
            torch.stack([net.linear_layers[i].weight.detach() for net in networks])
            for i in range(len(self.shapes))
        ] + [
            torch.stack([net.linear_layers[i].bias.detach() for net in networks])
            for i in range(len(self.shapes))
        ]
        flat = torch.cat([b.reshape(-1) for b in blocks]).to(device)
        self.alive = list(range(len(self.members)))
        self._buffers: dict[str, Tensor] = {}
        self._set_stack(_Stack(self.shapes, flat))
        self.moment1 = torch.zeros_like(flat)
        self.moment2 = torch.zeros_like(flat) if config.solver != "sgd" else None
        self.finished: dict[int, MemberFit] = {}

    # ------------------------------------------------------------ layout
    def _ws(self, name: str, shape: tuple[int, ...], dtype: torch.dtype) -> Tensor:
        """A reusable buffer.  A step's stacked activations are megabytes:
        allocated afresh each step they would be mapped from the operating
        system each time, and the page faults would cost more than the
        arithmetic."""
        buf = self._buffers.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = torch.empty(shape, dtype=dtype, device=self.device)
            self._buffers[name] = buf
        return buf

    def _set_stack(self, stack: _Stack) -> None:
        self.stack = stack
        sites = [self.members[m].sites for m in self.alive]
        self._train_scale: list[Tensor | None] = []
        self._eval_scale: list[Tensor | None] = []
        for i in range(len(self.shapes)):
            train = [s[i].train_scale() for s in sites]
            evals = [s[i].eval_scale() for s in sites]
            self._train_scale.append(self._scale_vector(train))
            self._eval_scale.append(self._scale_vector(evals))

    def _scale_vector(self, scales: list[float]) -> Tensor | None:
        if all(s == 1.0 for s in scales):
            return None
        dtype = self.stack.flat.dtype
        return torch.tensor(scales, dtype=dtype, device=self.device).view(-1, 1, 1)

    def _drop(self, gone: list[int]) -> None:
        """Take members (indices into ``alive``) out of the stack."""
        dropped = set(gone)
        keep_positions = [k for k in range(len(self.alive)) if k not in dropped]
        self.alive = [self.alive[k] for k in keep_positions]
        if not self.alive:
            return
        keep = torch.tensor(keep_positions, device=self.device)
        stack = self.stack
        moment1 = stack.select(self.moment1, keep)
        moment2 = None if self.moment2 is None else stack.select(self.moment2, keep)
        self._set_stack(_Stack(self.shapes, stack.select(stack.flat, keep)))
        self.moment1, self.moment2 = moment1, moment2

    # ----------------------------------------------------------- forward
    def _noise(
        self, i: int, lengths: list[int], width: int, cols: int, dtype: torch.dtype
    ) -> _Noise | Tensor | None:
        """Layer ``i``'s noise for the alive members, each member's drawn from
        its own stream exactly as a single fit draws it; ``None`` when no
        member drops at this layer.

        Activation noise comes as a :class:`_Noise` of runs: members sharing a
        stream (the folds of one setting, which are neighbours) share one
        draw, applied to all of them by broadcasting, and members without
        noise are not touched.  DropConnect masks the ``(out, in)`` weights
        and comes stacked on the member axis.
        """
        members = [self.members[m] for m in self.alive]
        if not any(s.sites[i].active for s in members):
            return None
        # Members sharing a stream ask for the same draw: make it once.
        # (They ask for the same shape: see _split_streams.)
        drawn: dict[int, tuple[Tensor, Tensor | None]] = {}
        if members[0].sites[i].on_weights:
            shape = (self.shapes[i][1], self.shapes[i][0])
            masks: list[Tensor | None] = []
            for state, length in zip(members, lengths, strict=True):
                if state.sites[i].active and length > 0:
                    key = id(state.noise)
                    if key not in drawn:
                        drawn[key] = state.sites[i].sample_scaled(
                            *shape, state.noise, dtype
                        )[:2]
                    masks.append(drawn[key][0])
                else:
                    masks.append(None)
            return self._stack_padded(f"mask{i}", masks, shape, 1)
        noise = _Noise([])
        previous = None
        for k, (state, length) in enumerate(zip(members, lengths, strict=True)):
            site = state.sites[i]
            if not site.active or length == 0:
                previous = None
                continue
            key = id(state.noise)
            if key == previous:
                start, _, mult, offset = noise.runs[-1]
                noise.runs[-1] = (start, k + 1, mult, offset)
                continue
            if key not in drawn:
                mult, offset, _ = site.sample_scaled(length, cols, state.noise, dtype)
                # A float multiplier: a uint8 one makes the product promote
                # types, several times slower.
                drawn[key] = (mult.to(dtype), offset)
            noise.runs.append((k, k + 1, *drawn[key]))
            previous = key
        return noise

    def _stack_padded(
        self,
        name: str,
        parts: list[Tensor | None],
        shape: tuple[int, int],
        fill: int,
    ) -> Tensor | None:
        """Stack per-member tensors of up to ``shape`` rows on a member axis;
        missing members and rows take ``fill`` (a mask of ones, an offset of
        zeros)."""
        present = [p for p in parts if p is not None]
        if not present:
            return None
        dtype = present[0].dtype
        out = self._ws(name, (len(parts), *shape), dtype)
        if all(p.shape[0] == shape[0] for p in present):
            # One copy: members without noise here stack a constant block.
            key = f"{name}_fill"
            constant = self._buffers.get(key)
            if constant is None or constant.shape != shape or constant.dtype != dtype:
                constant = torch.full(shape, fill, dtype=dtype, device=self.device)
                self._buffers[key] = constant
            return torch.stack([constant if p is None else p for p in parts], out=out)
        out.fill_(fill)
        for k, part in enumerate(parts):
            if part is not None:
                out[k, : part.shape[0]] = part
        return out

    def _layer(self, name: str, i: int, h: Tensor, weight: Tensor) -> Tensor:
        """``h W^T + b`` for inputs ``[M, rows, in]``."""
        bias = self.stack.biases[i]
        members, rows, width = h.shape[0], h.shape[1], weight.shape[1]
        if width <= _NARROW:
            # A narrow layer (the output, mostly) multiplies faster as
            # (W h^T)^T, with the long batch axis as the product's columns.
            out = self._ws(name, (members, width, rows), h.dtype)
            return torch.baddbmm(
                bias.view(members, width, 1), weight, h.transpose(1, 2), out=out
            ).transpose(1, 2)
        out = self._ws(name, (members, rows, width), h.dtype)
        return torch.baddbmm(bias, h, weight.transpose(1, 2), out=out)

    def _forward_train(
        self, xb: Tensor, lengths: list[int]
    ) -> tuple[Tensor, list[_LayerCache]]:
        cache: list[_LayerCache] = []
        h = xb
        last = len(self.shapes) - 1
        kind = self.spec.dropout_type
        for i in range(len(self.shapes)):
            weight = self.stack.weights[i]
            noise = self._noise(i, lengths, h.shape[1], h.shape[2], h.dtype)
            weight_mask = input_mult = None
            scale = self._train_scale[i]
            if isinstance(noise, Tensor):
                weight_mask = noise
                out = self._ws(f"weight{i}", weight.shape, weight.dtype)
                weight = torch.mul(weight, weight_mask, out=out)
            if scale is not None:
                # The inverted-dropout factor on the weights, which are
                # smaller than the layer's output: h (s W)^T = s (h W^T).
                out = self._ws(f"weight{i}", weight.shape, weight.dtype)
                weight = torch.mul(weight, scale, out=out)
            if isinstance(noise, _Noise):
                # In place where allowed: the batch is a fresh gather, and the
                # masked ReLU output is zero wherever its gradient must be.
                # Otherwise the clean activation is kept for the backward.
                if i > 0 and not (kind == "bernoulli" and self.activation == "relu"):
                    h = self._ws(f"noisy{i}", h.shape, h.dtype).copy_(h)
                    input_mult = noise
                noise.apply_(h)
            z = self._layer(f"z{i}", i, h, weight)
            layer = _LayerCache(h, weight, weight_mask, input_mult, scale)
            cache.append(layer)
            if i == last:
                return z, cache
            h = _activate(z, self.activation)
            layer.activation = h
        raise AssertionError("unreachable")

    def forward_eval(self, h: Tensor) -> Tensor:
        """Evaluation-mode outputs ``[M, rows, out]`` of the alive members
        for inputs ``[M, rows, in]``."""
        last = len(self.shapes) - 1
        for i in range(len(self.shapes)):
            weight, scale = self.stack.weights[i], self._eval_scale[i]
            if scale is not None:
                out = self._ws(f"eval_weight{i}", weight.shape, weight.dtype)
                weight = torch.mul(weight, scale, out=out)
            z = self._layer(f"eval{i}", i, h, weight)
            if i == last:
                return z
            h = _activate(z, self.activation)
        raise AssertionError("unreachable")

    def _backward(self, g: Tensor, cache: list[_LayerCache]) -> None:
        stack = self.stack
        for i in range(len(self.shapes) - 1, -1, -1):
            layer = cache[i]
            h, weight_mask, input_mult = (
                layer.inputs,
                layer.weight_mask,
                layer.input_mult,
            )
            torch.sum(g, 1, keepdim=True, out=stack.grad_biases[i])
            # g^T h: batched products are fast with the long batch axis
            # inside, whatever the layer's width.
            torch.bmm(g.transpose(1, 2), h, out=stack.grad_weights[i])
            if weight_mask is not None:
                stack.grad_weights[i].mul_(weight_mask)
            if layer.scale is not None:
                stack.grad_weights[i].mul_(layer.scale)
            if i == 0:
                return
            out = self._ws(f"grad{i}", layer.inputs.shape, g.dtype)
            if g.shape[2] == 1:
                # An outer product: cheaper than a batched product of width 1.
                g = torch.mul(g, layer.weight, out=out)
            else:
                g = torch.bmm(g, layer.weight, out=out)
            if input_mult is not None:
                input_mult.multiply_(g)
            below = cache[i - 1].activation
            assert below is not None
            _activation_backward_(g, below, self.activation)

    # -------------------------------------------------------------- step
    def _split_streams(self, lengths: list[int]) -> None:
        """Give members that share a mask stream but ask for batches of
        another size this step a copy of it (before anything is drawn), so
        that each member's stream stays its own."""
        by_stream: dict[int, dict[int, list[_MemberState]]] = {}
        for m, length in zip(self.alive, lengths, strict=True):
            state = self.members[m]
            by_stream.setdefault(id(state.noise), {}).setdefault(length, []).append(
                state
            )
        for groups in by_stream.values():
            for group in list(groups.values())[1:]:
                twin = group[0].noise.copy()
                for state in group:
                    state.noise = twin

    def _step(self, xb: Tensor, yb: Tensor, wb: Tensor, lengths: list[int]) -> Tensor:
        """One mini-batch step of every alive member; their penalized batch
        losses ``[M]``.  Members with no rows in this step take none."""
        self._split_streams(lengths)
        out, cache = self._forward_train(xb, lengths)
        loss_sum, grad_out = head_loss_and_grad(out, yb, wb, self.head)
        total = wb.sum(1)
        # A batch without weight holds no data: no gradient, no loss.
        scale = torch.where(total > 0, total, torch.full_like(total, math.inf))
        self._backward(grad_out.div_(scale[:, None, None]), cache)
        batch_loss = loss_sum / scale
        l2 = self.config.alpha if self.config.solver != "adamw" else 0.0
        if l2 > 0:
            stack = self.stack
            factor = (l2 / scale)[:, None]
            squares = torch.zeros_like(total)
            for weights, grads in zip(
                stack.blocks(stack.flat)[: len(self.shapes)],
                stack.blocks(stack.grad)[: len(self.shapes)],
                strict=True,
            ):
                grads.addcmul_(weights, factor)
                squares += torch.bmm(weights[:, None, :], weights[:, :, None]).view(-1)
            batch_loss = batch_loss + 0.5 * factor[:, 0] * squares
        self._update([k for k, n in enumerate(lengths) if n == 0])
        return batch_loss

    def _update(self, idle: list[int]) -> None:
        """The optimizer step of :class:`MLPTrainer`, per member; the
        members ``idle`` (positions in ``alive``) keep their state."""
        stack = self.stack
        saved = []
        for t in (stack.flat, self.moment1, self.moment2):
            if t is not None:
                saved += [(t, k, stack.member(t, k)) for k in idle]
        members = [self.members[m] for m in self.alive]
        busy = [s for k, s in enumerate(members) if k not in set(idle)]
        for state in busy:
            state.steps += 1
        cfg = self.config
        lrs = [s.learning_rate for s in members]
        # Only the rates the solver uses: each tensor costs a copy per step.
        lr: float | Tensor = 1.0
        step: float | Tensor = 1.0
        decay: float | Tensor = 1.0
        if cfg.solver == "sgd":
            lr = self._per_member(lrs)
        else:
            step = self._per_member(
                [
                    s.learning_rate
                    * math.sqrt(1 - cfg.beta_2 ** max(s.steps, 1))
                    / (1 - cfg.beta_1 ** max(s.steps, 1))
                    for s in members
                ]
            )
        if cfg.solver == "adamw" and cfg.alpha > 0:
            decay = self._per_member([1 - rate * cfg.alpha for rate in lrs])
        optimizer_step(
            cfg,
            (stack.flat, stack.grad, self.moment1, self.moment2),
            (lr, step, decay),
            stack.n_weights,
            scratch=self._ws,
        )
        if cfg.max_norm is not None:
            max_norm_(stack.weights, cfg.max_norm)
        for t, k, values in saved:
            stack.set_member(t, k, values)

    def _per_member(self, values: list[float]) -> float | Tensor:
        """A scalar when every member has the same value, else the values
        expanded to the flat layout."""
        if all(v == values[0] for v in values):
            return float(values[0])
        column = torch.tensor(values, dtype=self.stack.flat.dtype, device=self.device)
        return torch.cat(
            [
                column[:, None].expand(-1, b.shape[1]).reshape(-1)
                for b in self.stack.blocks(self.stack.flat)
            ]
        )

    # ------------------------------------------------------------ epochs
    def _orders(self) -> tuple[Tensor, Tensor, list[list[int]], int, int]:
        """This epoch's row order of every alive member, padded to a common
        number of steps: ``(rows [M, S*B], valid [M, S*B], lengths per step,
        S, B)``."""
        cfg = self.config
        members = [self.members[m] for m in self.alive]
        batches = [min(cfg.batch_size, s.n_rows) for s in members]
        width = max(batches)
        n_steps = max(
            math.ceil(s.n_rows / b) for s, b in zip(members, batches, strict=True)
        )
        rows = torch.zeros((len(members), n_steps * width), dtype=torch.int64)
        valid = torch.zeros((len(members), n_steps * width), dtype=torch.bool)
        lengths = [[0] * len(members) for _ in range(n_steps)]
        for k, (state, batch) in enumerate(zip(members, batches, strict=True)):
            mine = torch.as_tensor(state.plan.rows, dtype=torch.int64)
            if cfg.shuffle:
                epoch = len(state.result.losses)
                generator = make_generator(state.plan.seeds[2] + epoch, self.device)
                order = torch.randperm(
                    state.n_rows, generator=generator, device=self.device
                )
                mine = mine[order.cpu()]
            # Step s takes columns [s * width, (s + 1) * width): a member with
            # a smaller batch has a single step.
            rows[k, : state.n_rows] = mine
            # Padding repeats one of the member's own rows (with weight 0):
            # another member's row could be extreme enough to make 0 * inf.
            rows[k, state.n_rows :] = mine[0]
            valid[k, : state.n_rows] = True
            for s in range(n_steps):
                lengths[s][k] = min(max(state.n_rows - s * batch, 0), batch)
        return rows.to(self.device), valid.to(self.device), lengths, n_steps, width

    def _epoch(self, X: Tensor, Y: Tensor, W: Tensor | None) -> Tensor:
        rows, valid, lengths, n_steps, width = self._orders()
        weights = valid.to(X.dtype)
        if W is not None:
            weights = weights * W[rows]
        total = torch.zeros(len(self.alive), dtype=X.dtype, device=X.device)
        counts = valid.view(len(self.alive), n_steps, width).sum(2).to(X.dtype)
        members = len(self.alive)
        xb = self._ws("x", (members * width, X.shape[1]), X.dtype)
        with torch.no_grad():
            for s in range(n_steps):
                cols = slice(s * width, (s + 1) * width)
                idx = rows[:, cols]
                yb = Y[idx] if Y.dim() == 2 else self._targets(Y, idx)
                torch.index_select(X, 0, idx.reshape(-1), out=xb)
                loss = self._step(
                    xb.view(members, width, -1), yb, weights[:, cols], lengths[s]
                )
                total += loss * counts[:, s]
        n_rows = torch.tensor(
            [self.members[m].n_rows for m in self.alive], dtype=X.dtype, device=X.device
        )
        return total / n_rows

    def _targets(self, Y: Tensor, idx: Tensor) -> Tensor:
        """``Y[target of member, idx[k]]`` for the alive members (position
        ``k``), from several targets ``Y [targets, n, out]``."""
        which = [self.members[m].plan.target for m in self.alive]
        return Y[torch.tensor(which, device=idx.device)[:, None], idx]

    def _validation(self, X: Tensor, Y: Tensor, W: Tensor | None) -> tuple[Tensor, ...]:
        """The padded validation rows of the alive members."""
        plans = [self.members[m].plan for m in self.alive]
        sizes = [len(p.validation_rows) for p in plans if p.validation_rows is not None]
        width = max(sizes)
        rows = torch.zeros((len(plans), width), dtype=torch.int64)
        valid = torch.zeros((len(plans), width), dtype=torch.bool)
        for k, plan in enumerate(plans):
            assert plan.validation_rows is not None
            n = len(plan.validation_rows)
            rows[k, :n] = torch.as_tensor(plan.validation_rows, dtype=torch.int64)
            rows[k, n:] = rows[k, 0]
            valid[k, :n] = True
        rows, valid = rows.to(self.device), valid.to(self.device)
        weights = valid.to(X.dtype) if W is None else valid * W[rows]
        target = Y[rows] if Y.dim() == 2 else self._targets(Y, rows)
        return rows, target, weights, valid.sum(1)

    def _scores(
        self, X: Tensor, validation: tuple[Tensor, ...]
    ) -> tuple[Tensor, Tensor]:
        rows, target, weights, n_rows = validation
        raws = []
        chunk = max(1, (1 << 22) // max(w for _, w in self.shapes) // len(self.alive))
        with torch.no_grad():
            for start in range(0, rows.shape[1], chunk):
                # A copy: the outputs live in a buffer the next chunk reuses.
                raws.append(
                    self.forward_eval(X[rows[:, start : start + chunk]]).clone()
                )
        raw = torch.cat(raws, 1)
        finite = torch.isfinite(raw).flatten(1).all(1)
        loss, score = validation_metrics(raw, target, weights, self.head, n_rows)
        score = torch.where(finite, score, torch.full_like(score, math.nan))
        return loss, score

    def fit(
        self,
        X: Tensor,
        Y: Tensor,
        W: Tensor | None,
        max_epochs: int,
        *,
        progress: MembersProgress | None = None,
    ) -> list[MemberFit]:
        """Train every member until its stopping rule fires or ``max_epochs``.

        ``Y`` is ``[n, out]`` (shared) or ``[targets, n, out]``, of which
        each member trains on the one its plan names.  Returns
        one :class:`MemberFit` per plan, in order.
        """
        early = self.members[0].plan.validation_rows is not None
        validation = self._validation(X, Y, W) if early else None
        for epoch in range(max_epochs):
            if not self.alive:
                break
            losses = self._epoch(X, Y, W).tolist()
            val_losses = scores = None
            if validation is not None:
                loss_t, score_t = self._scores(X, validation)
                val_losses, scores = loss_t.tolist(), score_t.tolist()
            stopped = []
            for k, m in enumerate(self.alive):
                state = self.members[m]
                finite = val_losses is None or math.isfinite(val_losses[k])
                state.error = divergence(epoch + 1, losses[k], finite)
                if state.error is not None:
                    stopped.append(k)
                    continue
                state.result.losses.append(losses[k])
                state.samples_seen += state.n_rows
                score = None
                if scores is not None:
                    assert val_losses is not None
                    score = scores[k]
                    state.result.validation_losses.append(val_losses[k])
                    state.result.validation_scores.append(score)
                if self._no_improvement(k, state, losses[k], score):
                    state.result.converged = True
                    stopped.append(k)
            if progress is not None:
                progress(epoch + 1, len(self.alive) - len(stopped))
            self._finish(stopped)
            if stopped and validation is not None and self.alive:
                validation = self._validation(X, Y, W)
            for m in self.alive:
                schedule(self.members[m], self.config)
        self._finish(list(range(len(self.alive))))
        return [self.finished[m] for m in range(len(self.members))]

    def _no_improvement(
        self, k: int, state: _MemberState, loss: float, score: float | None
    ) -> bool:
        """The single trainer's stopping rule for one member (at position
        ``k``), keeping its best epoch's parameters under early stopping."""
        stop, improved = stopping_rule(state, self.config, loss, score)
        if improved:
            state.best_epoch = len(state.result.losses)
            state.best_params = self.stack.member(self.stack.flat, k)
        return stop

    def _finish(self, positions: list[int]) -> None:
        """Unstack the members at ``positions`` into networks and drop them."""
        for k in positions:
            m = self.alive[k]
            state = self.members[m]
            params = self.stack.member(self.stack.flat, k)
            best_epoch = len(state.result.losses)
            if state.best_params is not None and state.error is None:
                params, best_epoch = state.best_params, state.best_epoch
            network = _unstacked(
                replace(self.spec, rates=state.plan.rates), self.shapes, params
            )
            self.finished[m] = MemberFit(network, state.result, best_epoch, state.error)
            state.best_params = None
        if positions:
            self._drop(positions)


def _unstacked(
    spec: NetworkSpec, shapes: list[tuple[int, int]], params: Tensor
) -> DropoutNetwork:
    network = new_network(spec)
    network.to(params.device)
    start = 0
    with torch.no_grad():
        for linear, (i, o) in zip(network.linear_layers, shapes, strict=True):
            linear.weight.copy_(params[start : start + i * o].view(o, i))
            start += i * o
        for linear, (_, o) in zip(network.linear_layers, shapes, strict=True):
            assert linear.bias is not None
            linear.bias.copy_(params[start : start + o])
            start += o
    return network.eval()
