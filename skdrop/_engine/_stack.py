"""The parameters of networks of one architecture in one flat tensor, and
their training pass: forward with noise, hand-written backward, penalties
(torch only).

Autograd's bookkeeping costs more than the arithmetic of small tabular
layers, so the training forward pass keeps what the gradient needs and
:meth:`NetworkStack.backward` computes it directly (the tests check it
against autograd for every layer option).

The flat tensor is laid out by parameter with a member axis: block ``j``
holds parameter ``j`` of every member, ``[M, *shape]``, the linear layers'
weights first (the L2 penalty's), then the others in the module's order.
Gradients and optimizer moments share the layout, so a handful of
elementwise operations update every member whatever the depth.

Side by side (activations ``[M, rows, cols]``) the M members of a
cross-validated grid multiply in one batched product per layer
(``torch.baddbmm``): on tabular sizes a step is mostly overhead, so M
members cost far less than M fits (TabM, Gorishniy et al. 2025, trains its
ensembles the same way).  A network alone has no member axis and runs the
plain products (``addmm``, the dropout scale as ``alpha``), so a single fit
computes exactly what it always has.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ._layers import SELU_ALPHA, SELU_SCALE, NoiseSite, NoiseSource
from ._network import DropoutNetwork, _activate, _linear

# Layers this narrow (outputs, mostly) multiply as (W h^T)^T: measured 2-6x
# faster for batched products of a width of 1 to 10.
_NARROW = 16


def ordered_parameters(network: DropoutNetwork) -> list[Tensor]:
    """The network's parameters in the flat layout's order: the weights of
    the linear layers, then the others in the module's order."""
    weights = [lin.weight for lin in network.linear_layers]
    ids = {id(w) for w in weights}
    return weights + [p for p in network.parameters() if id(p) not in ids]


def _activation_backward_(grad: Tensor, out: Tensor, activation: str) -> None:
    """Gradient through the activation, from its output ``out``, in place in
    ``grad`` (no allocation: the stacked activations of many networks are
    megabytes)."""
    ops = torch.ops.aten
    if activation == "relu":
        ops.threshold_backward.grad_input(grad, out, 0, grad_input=grad)
    elif activation == "tanh":
        ops.tanh_backward.grad_input(grad, out, grad_input=grad)
    elif activation == "logistic":
        ops.sigmoid_backward.grad_input(grad, out, grad_input=grad)
    elif activation == "selu":
        ops.elu_backward.grad_input(
            grad, SELU_ALPHA, SELU_SCALE, 1.0, True, out, grad_input=grad
        )


def _concrete_terms(
    theta: Any,
    square: Any,
    units: Any,
    wr: float,
    dr: float,
    exp: Callable[[Any], Any],
    softplus: Callable[[Any], Any],
) -> tuple[Any, Any, Any]:
    """``(value, d value / d logit, 1 / (1 - p))`` of Concrete dropout's
    regularizer for logits ``theta`` (numpy arrays or torch tensors alike).

    ``sum wr S / (1 - p) + dr K (p log p + (1 - p) log(1 - p))`` with
    ``p log p + (1 - p) log(1 - p) = p logit - softplus(logit)``; its
    derivative is ``p (wr S / (1 - p) + dr K logit (1 - p))``.
    """
    p = 1.0 / (1.0 + exp(-theta))
    inv_keep = 1.0 + exp(theta)
    weighted = square * inv_keep
    value = wr * weighted.sum() + dr * (units * (p * theta - softplus(theta))).sum()
    grad = p * (wr * weighted + dr * units * theta * (1.0 - p))
    return value, grad, inv_keep


def _np_softplus(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.logaddexp(0.0, x)
    return out


@dataclass
class _Noise:
    """One layer's activation noise ``x -> x * mult + offset``: ``runs`` of
    ``(start, stop, mult, offset)``, the members at positions ``start:stop``
    taking it on their first ``len(mult)`` rows (a run shares one draw); a
    network alone has one run.  ``kept`` is a Concrete mask's ``1 - z``."""

    runs: list[tuple[int, int, Tensor, Tensor | None]]
    kept: Tensor | None = None

    def apply(self, h: Tensor, in_place: bool, out: Tensor | None) -> Tensor:
        """Noise on ``h``: in place, or into ``out`` (members), or into a
        new tensor."""
        if h.dim() == 2:
            _, _, mult, offset = self.runs[0]
            if in_place:
                h.mul_(mult)
                return h if offset is None else h.add_(offset)
            return h * mult if offset is None else h * mult + offset
        if out is not None:
            h = out.copy_(h)
        for start, stop, mult, offset in self.runs:
            part = h[start:stop, : mult.shape[0]]
            part.mul_(mult)
            if offset is not None:
                part.add_(offset)
        return h

    def multiply_(self, g: Tensor) -> None:
        """``g`` times the multiplier, in place (the chain rule)."""
        if g.dim() == 2:
            g.mul_(self.runs[0][2])
            return
        for start, stop, mult, _ in self.runs:
            g[start:stop, : mult.shape[0]].mul_(mult)


@dataclass
class _LayerCache:
    """What the backward pass needs from one layer of a training step."""

    inputs: Tensor  # the layer's input after noise
    weight: Tensor  # the weight used: masked (DropConnect); members' scaled
    scale: float | Tensor | None  # inverted-dropout factor
    weight_mask: Tensor | None = None
    input_mult: _Noise | None = None  # d(noisy input) / d(clean input)
    concrete_kept: Tensor | None = None  # a learned rate's 1 - z
    activation: Tensor | None = None  # output of the activation (hidden layers)
    xhat: Tensor | None = None  # batch norm: normalized pre-activation
    inv_std: Tensor | None = None


class NetworkStack:
    """The parameters of M networks of ``template``'s architecture in ``flat``
    (laid out as the module doc says), and their training pass; built by
    :meth:`alone` (``lone``: the network itself, no member axis) or
    :meth:`members`.  ``sites`` are each member's dropout (a network alone
    reads its module's).
    """

    def __init__(
        self,
        template: DropoutNetwork,
        sites: list[list[NoiseSite]],
        flat: Tensor,
        *,
        lone: bool = False,
    ) -> None:
        self.template, self.lone = template, lone
        self._sites = sites
        self.n_members = len(sites)
        self.activation = template.activation
        self.norms = template.norm_layers
        params = ordered_parameters(template)
        self.shapes = [tuple(p.shape) for p in params]
        self.flat = flat
        self.grad = torch.zeros_like(flat)
        # The optimizer's moments, laid out like ``flat`` (set by the trainer).
        self.moments: list[Tensor] = []
        self.n_layers = len(template.linear_layers)
        self.n_weights = self.n_members * sum(
            lin.weight.numel() for lin in template.linear_layers
        )
        self._buffers: dict[str, Tensor] = {}
        index = {id(p): j for j, p in enumerate(params)}
        views, grads = self._views(flat), self._views(self.grad)
        self.weight_blocks = views[: self.n_layers]
        self.logit_blocks = [index[id(p)] for p in template.learned_logits]
        self.learned = bool(template.learned_logits)

        def pick(where: list[Tensor], p: Tensor | None, bias: bool = False) -> Any:
            if p is None:
                return None
            view = where[index[id(p)]]
            if lone:
                return view[0]
            return view.unsqueeze(1) if bias else view

        linears = template.linear_layers
        # Each parameter's view, shaped for the products: no member axis
        # alone, biases [M, 1, out] for members; None where a layer has none.
        self.weight: list[Tensor] = [pick(views, lin.weight) for lin in linears]
        self.grad_weight: list[Tensor] = [pick(grads, lin.weight) for lin in linears]
        self.bias: list[Any] = [pick(views, lin.bias, True) for lin in linears]
        self.grad_bias: list[Any] = [pick(grads, lin.bias, True) for lin in linears]
        self.logit: list[Any] = [pick(views, p) for p in template.rate_logits]
        self.grad_logit: list[Any] = [pick(grads, p) for p in template.rate_logits]
        self.norm_weight: list[Tensor] = [pick(views, n.weight) for n in self.norms]
        self.grad_norm_weight: list[Tensor] = [
            pick(grads, n.weight) for n in self.norms
        ]
        self.grad_norm_bias: list[Tensor] = [pick(grads, n.bias) for n in self.norms]
        self._train_scale = [self._scale_vector(i, True) for i in range(self.n_layers)]
        self._eval_scale = [self._scale_vector(i, False) for i in range(self.n_layers)]

    @classmethod
    def alone(cls, network: DropoutNetwork) -> NetworkStack:
        """The stack of ``network`` alone: its parameters become views of the
        flat tensor, and :attr:`slots` maps each to its gradient."""
        params = ordered_parameters(network)
        flat = torch.cat([p.detach().reshape(-1) for p in params])
        stack = cls(network, [network.sites], flat, lone=True)
        views, grads = stack._views(stack.flat), stack._views(stack.grad)
        stack.slots = {}
        for p, view, grad in zip(params, views, grads, strict=True):
            p.data = view[0]
            stack.slots[p] = grad[0]
        return stack

    @classmethod
    def members(
        cls, networks: Sequence[DropoutNetwork], device: torch.device
    ) -> NetworkStack:
        """The stack of ``networks`` (one architecture) side by side, their
        parameters copied to ``device``."""
        per_parameter = zip(*(ordered_parameters(n) for n in networks), strict=True)
        flat = torch.cat(
            [torch.stack([p.detach() for p in ps]).reshape(-1) for ps in per_parameter]
        )
        return cls(networks[0], [n.sites for n in networks], flat.to(device))

    slots: dict[Tensor, Tensor]

    @property
    def kind(self) -> str:
        """The dropout type, read from the network's current sites: a warm
        start or ``partial_fit`` may change it after the stack was built."""
        return self.template.sites[0].kind

    @property
    def sites(self) -> list[list[NoiseSite]]:
        # A network alone may change its dropout between fits (warm start).
        return [self.template.sites] if self.lone else self._sites

    def blocks(self, t: Tensor) -> list[Tensor]:
        """``t`` (laid out like the flat parameters) as ``[M, size]`` blocks."""
        out, start = [], 0
        for shape in self.shapes:
            n = self.n_members * math.prod(shape)
            out.append(t[start : start + n].view(self.n_members, -1))
            start += n
        return out

    def _views(self, t: Tensor) -> list[Tensor]:
        return [
            b.view(self.n_members, *shape)
            for b, shape in zip(self.blocks(t), self.shapes, strict=True)
        ]

    def logits_of(self, t: Tensor) -> list[Tensor]:
        """The learned rate logits' blocks of ``t``."""
        if not self.logit_blocks:
            return []
        blocks = self.blocks(t)
        return [blocks[j] for j in self.logit_blocks]

    def member(self, t: Tensor, m: int) -> Tensor:
        """Member ``m``'s entries of ``t`` as one vector (a copy)."""
        return torch.cat([b[m] for b in self.blocks(t)])

    def set_member(self, t: Tensor, m: int, values: Tensor) -> None:
        start = 0
        for b in self.blocks(t):
            size = b.shape[1]
            b[m].copy_(values[start : start + size])
            start += size

    def kept(self, keep: list[int]) -> NetworkStack:
        """The stack of the members at positions ``keep``, with their moments."""
        index = torch.tensor(keep, device=self.flat.device)

        def select(t: Tensor) -> Tensor:
            return torch.cat([b.index_select(0, index).ravel() for b in self.blocks(t)])

        sites = [self._sites[k] for k in keep]
        stack = NetworkStack(self.template, sites, select(self.flat))
        stack.moments = [select(m) for m in self.moments]
        return stack

    def unstacked(self, params: Tensor, network: DropoutNetwork) -> DropoutNetwork:
        """``network`` (of this architecture) with a member's ``params``, on
        their device, in evaluation mode."""
        network.to(params.device)
        start = 0
        with torch.no_grad():
            for p in ordered_parameters(network):
                p.copy_(params[start : start + p.numel()].view_as(p))
                start += p.numel()
        return network.eval()

    def workspace(
        self, name: str, shape: tuple[int, ...], dtype: torch.dtype
    ) -> Tensor:
        """A reusable buffer.  Members' stacked activations are megabytes:
        allocated afresh each step they would be mapped from the operating
        system each time, and the page faults would cost more than the
        arithmetic."""
        buf = self._buffers.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = torch.empty(shape, dtype=dtype, device=self.flat.device)
            self._buffers[name] = buf
        return buf

    def _scale_vector(self, i: int, train: bool) -> Tensor | None:
        """Members' inverted-dropout factors of layer ``i``, ``[M, 1, 1]``;
        None when all are 1."""
        scales = [
            s[i].train_scale() if train else s[i].eval_scale() for s in self._sites
        ]
        if self.lone or all(s == 1.0 for s in scales):
            return None
        dtype, device = self.flat.dtype, self.flat.device
        return torch.tensor(scales, dtype=dtype, device=device).view(-1, 1, 1)

    def forward_train(
        self, x: Tensor, noises: list[NoiseSource] | None, lengths: list[int]
    ) -> tuple[Tensor, list[_LayerCache]]:
        """Training-mode outputs (batch statistics) and what :meth:`backward`
        needs, for inputs ``[rows, in]`` (alone) or ``[M, rows, in]``.  Each
        member draws its noise from its stream in ``noises`` for its first
        ``lengths`` rows; without ``noises`` no dropout is applied."""
        cache: list[_LayerCache] = []
        return self._forward(x, noises, lengths, cache), cache

    def forward_eval(self, x: Tensor) -> Tensor:
        """Evaluation-mode outputs (the members' in a reused buffer)."""
        return self._forward(x, None, [], None)

    def _forward(
        self,
        h: Tensor,
        noises: list[NoiseSource] | None,
        lengths: list[int],
        cache: list[_LayerCache] | None,
    ) -> Tensor:
        last = self.n_layers - 1
        for i in range(self.n_layers):
            noise = None if noises is None else self._draw(i, h, noises, lengths)
            mask = noise if isinstance(noise, Tensor) else None
            scale = self._scale(i, noises is not None)
            weight = self._weight(i, mask, scale)
            input_mult = kept = None
            if isinstance(noise, _Noise):
                # In place where allowed: the masked ReLU output is zero
                # wherever its gradient must be, and members' batch is a
                # fresh gather.  Otherwise the clean input is kept.
                absorbed = (
                    i > 0
                    and noise.kept is None
                    and self.kind == "bernoulli"
                    and self.activation == "relu"
                )
                in_place = absorbed or (i == 0 and not self.lone)
                out = None
                if not (in_place or self.lone):
                    out = self.workspace(f"noisy{i}", h.shape, h.dtype)
                h = noise.apply(h, in_place, out)
                input_mult = None if absorbed else noise
                kept = noise.kept
            z = self._affine(i, h, weight, scale, cache is not None)
            layer = None
            if cache is not None:
                layer = _LayerCache(h, weight, scale, mask, input_mult, kept)
                cache.append(layer)
            if i == last:
                return z
            if self.norms:
                z, xhat, inv_std = self.template.batch_norm(z, i, cache is not None)
                if layer is not None:
                    layer.xhat, layer.inv_std = xhat, inv_std
            h = _activate(z, self.activation)
            if layer is not None:
                layer.activation = h
        raise AssertionError("unreachable")

    def _scale(self, i: int, train: bool) -> float | Tensor | None:
        """Layer ``i``'s inverted-dropout factor: a number alone, a member
        vector (or None) for members."""
        if self.lone:
            site = self.template.sites[i]
            return site.train_scale() if train else site.eval_scale()
        return self._train_scale[i] if train else self._eval_scale[i]

    def _weight(
        self, i: int, mask: Tensor | None, scale: float | Tensor | None
    ) -> Tensor:
        """Layer ``i``'s weight with its DropConnect mask; members' carry
        the dropout scale too (the weights are smaller than the outputs)."""
        weight = self.weight[i]
        if self.lone:
            return weight if mask is None else weight * mask
        if mask is not None:
            out = self.workspace(f"weight{i}", weight.shape, weight.dtype)
            weight = torch.mul(weight, mask, out=out)
        if scale is not None:
            out = self.workspace(f"weight{i}", weight.shape, weight.dtype)
            weight = torch.mul(weight, scale, out=out)
        return weight

    def _affine(
        self, i: int, h: Tensor, weight: Tensor, scale: Any, train: bool
    ) -> Tensor:
        """``scale * h W^T + b``: the plain product alone, the batched one
        (scale in the weight) for members."""
        if self.lone:
            return _linear(h, weight, self.bias[i], scale)
        bias = self.bias[i]
        members, rows, width = h.shape[0], h.shape[1], weight.shape[1]
        name = f"z{i}" if train else f"eval{i}"
        if width <= _NARROW:
            # A narrow layer (the output, mostly) multiplies faster as
            # (W h^T)^T, with the long batch axis as the product's columns.
            out = self.workspace(name, (members, width, rows), h.dtype)
            return torch.baddbmm(
                bias.view(members, width, 1), weight, h.transpose(1, 2), out=out
            ).transpose(1, 2)
        out = self.workspace(name, (members, rows, width), h.dtype)
        return torch.baddbmm(bias, h, weight.transpose(1, 2), out=out)

    def _draw(
        self, i: int, h: Tensor, noises: list[NoiseSource], lengths: list[int]
    ) -> _Noise | Tensor | None:
        """Layer ``i``'s noise, each member's drawn from its own stream exactly
        as a single fit draws it; ``None`` when no member drops here.

        DropConnect masks the ``(out, in)`` weights (stacked on the member
        axis for members).  Members sharing a stream (the folds of one
        setting, which are neighbours) share one draw, applied to all of
        them as one run, and members without noise are not touched.
        """
        sites = [s[i] for s in self.sites]
        if not any(site.active for site in sites):
            return None
        rows, cols, dtype = h.shape[-2], h.shape[-1], h.dtype
        if self.lone and not sites[0].on_weights:
            site, noise = sites[0], noises[0]
            if site.learned:
                mult, kept = site.concrete(rows, cols, noise, dtype)
                return _Noise([(0, 1, mult, None)], kept)
            mult, offset, _ = site.sample_scaled(rows, cols, noise, dtype)
            return _Noise([(0, 1, mult, offset)])
        # Members sharing a stream ask for the same draw: make it once.
        # (They ask for the same shape: see MLPTrainer._split_streams.)
        drawn: dict[int, tuple[Tensor, Tensor | None]] = {}
        members = zip(sites, noises, lengths, strict=True)
        if sites[0].on_weights:
            shape = (self.shapes[i][0], self.shapes[i][1])
            masks: list[Tensor | None] = []
            for site, noise, length in members:
                if not (site.active and length > 0):
                    masks.append(None)
                    continue
                if id(noise) not in drawn:
                    drawn[id(noise)] = site.sample_scaled(*shape, noise, dtype)[:2]
                masks.append(drawn[id(noise)][0])
            return masks[0] if self.lone else self._stack_padded(i, masks, shape)
        result = _Noise([])
        previous = None
        for k, (site, noise, length) in enumerate(members):
            if not site.active or length == 0:
                previous = None
                continue
            if id(noise) == previous:
                start, _, mult, offset = result.runs[-1]
                result.runs[-1] = (start, k + 1, mult, offset)
                continue
            if id(noise) not in drawn:
                mult, offset, _ = site.sample_scaled(length, cols, noise, dtype)
                # A float multiplier: a uint8 one makes the batched product
                # promote types, several times slower.
                drawn[id(noise)] = (mult.to(dtype), offset)
            result.runs.append((k, k + 1, *drawn[id(noise)]))
            previous = id(noise)
        return result

    def _stack_padded(
        self, i: int, masks: list[Tensor | None], shape: tuple[int, int]
    ) -> Tensor:
        """Members' DropConnect masks on a member axis; members without
        noise take a mask of ones."""
        present = next(m for m in masks if m is not None)
        out = self.workspace(f"mask{i}", (len(masks), *shape), present.dtype)
        ones = self._buffers.get(f"ones{i}")
        if ones is None or ones.dtype != present.dtype:
            ones = torch.ones(shape, dtype=present.dtype, device=self.flat.device)
            self._buffers[f"ones{i}"] = ones
        return torch.stack([ones if m is None else m for m in masks], out=out)

    def backward(self, g: Tensor, cache: list[_LayerCache]) -> None:
        """Write the parameter gradients of a training step into
        :attr:`grad`, from ``g``, the gradient of the loss with respect to
        the outputs (overwritten)."""
        for i in range(self.n_layers - 1, -1, -1):
            layer = cache[i]
            # A learned rate needs the gradient at the noisy input, also for
            # the input layer.
            need_input = i > 0 or layer.concrete_kept is not None
            g = self._affine_backward(i, g, layer, need_input)
            if layer.concrete_kept is not None:
                site = self.template.sites[i]
                grad = site.concrete_logit_grad(g, layer.inputs, layer.concrete_kept)
                self.grad_logit[i].copy_(grad)
            if i == 0:
                return
            if layer.input_mult is not None:
                layer.input_mult.multiply_(g)
            below = cache[i - 1]
            assert below.activation is not None
            _activation_backward_(g, below.activation, self.activation)
            if self.norms:
                g = self._batch_norm_backward(g, i - 1, below)

    def _affine_backward(
        self, i: int, g: Tensor, layer: _LayerCache, need_input: bool
    ) -> Tensor:
        """Layer ``i``'s weight and bias gradients; the gradient at its
        (noisy) input when ``need_input``."""
        if self.lone:
            if self.grad_bias[i] is not None:
                torch.sum(g, 0, out=self.grad_bias[i])
            assert isinstance(layer.scale, float)
            if layer.scale != 1.0:
                # Both products below carry the dropout scale.
                g = g.mul_(layer.scale)
            torch.mm(g.t(), layer.inputs, out=self.grad_weight[i])
            if layer.weight_mask is not None:
                self.grad_weight[i].mul_(layer.weight_mask)
            return g @ layer.weight if need_input else g
        torch.sum(g, 1, keepdim=True, out=self.grad_bias[i])
        # g^T h: batched products are fast with the long batch axis inside,
        # whatever the layer's width.
        grad_weight = self.grad_weight[i]
        torch.bmm(g.transpose(1, 2), layer.inputs, out=grad_weight)
        if layer.weight_mask is not None:
            grad_weight.mul_(layer.weight_mask)
        if layer.scale is not None:
            grad_weight.mul_(layer.scale)
        if not need_input:
            return g
        out = self.workspace(f"grad{i}", layer.inputs.shape, g.dtype)
        if g.shape[2] == 1:
            # An outer product: cheaper than a batched product of width 1.
            return torch.mul(g, layer.weight, out=out)
        return torch.bmm(g, layer.weight, out=out)

    def _batch_norm_backward(self, g: Tensor, i: int, layer: _LayerCache) -> Tensor:
        xhat, inv_std = layer.xhat, layer.inv_std
        assert xhat is not None and inv_std is not None
        torch.sum(g * xhat, 0, out=self.grad_norm_weight[i])
        torch.sum(g, 0, out=self.grad_norm_bias[i])
        gx = g * self.norm_weight[i]
        n = g.shape[0]
        return (gx * n - gx.sum(0) - xhat * (gx * xhat).sum(0)) * (inv_std / n)

    def l2_penalty_(self, l2: float, scale: float | Tensor) -> Tensor:
        """scikit-learn's ``l2 / (2 n) ||W||^2`` of each member (``n`` its
        batch weight ``scale``), its gradient added to :attr:`grad`."""
        if self.lone:
            weights = self.flat[: self.n_weights]
            self.grad[: self.n_weights].add_(weights * (l2 / scale))
            return (0.5 * l2 / scale) * weights.dot(weights)
        assert isinstance(scale, Tensor)
        factor = (l2 / scale)[:, None]
        squares = torch.zeros_like(scale)
        for weights, grads in zip(
            self.blocks(self.flat)[: self.n_layers],
            self.blocks(self.grad)[: self.n_layers],
            strict=True,
        ):
            grads.addcmul_(weights, factor)
            squares += torch.bmm(weights[:, None, :], weights[:, :, None]).view(-1)
        return 0.5 * factor[:, 0] * squares

    def concrete_penalty_(self, n_rows: int, length_scale: float) -> Tensor:
        """The Concrete dropout regularizer of a network alone's learned
        sites, its gradient added to :attr:`grad`.

        For a site of rate ``p`` (Gal, Hron & Kendall 2017)::

            l^2 / N * ||W||^2 / (1 - p)  +  2 / N * K * (p log p + (1 - p) log(1 - p))

        with ``W`` the weights consuming the dropped units (the columns of a
        group's or column's rate), ``K`` the number of units a rate drops
        (the layer's width for a layer rate, 1 for a column's or group's),
        ``l`` the prior length-scale and ``N`` the number of training rows.
        The entropy term pulls ``p`` towards 1/2, the weight term towards 0.
        """
        wr, dr = length_scale**2 / n_rows, 2.0 / n_rows
        sites = self.template.sites
        learned = [i for i, logits in enumerate(self.logit) if logits is not None]
        # Every learned rate in one vector: the scalar algebra runs once,
        # whatever the number of sites, and on the CPU in numpy (float64),
        # where a small operation costs a microsecond instead of several.
        squares, units = [], []
        for i in learned:
            site, logits = sites[i], self.logit[i]
            columns = self.weight[i].square().sum(0)
            if not site.per_column:
                columns = columns.sum().reshape(1)
            elif site.group_index is not None:
                index = site.group_index.to(columns.device)
                columns = torch.zeros_like(logits).index_add_(0, index, columns)
            squares.append(columns)
            width = 1.0 if site.per_column else float(self.weight[i].shape[1])
            units += [width] * logits.numel()
        thetas = [self.logit[i] for i in learned]
        dtype, device = self.flat.dtype, self.flat.device
        theta, square = torch.cat(thetas), torch.cat(squares)
        if device.type == "cpu":
            theta_, square_ = (t.numpy().astype(np.float64) for t in (theta, square))
            terms = _concrete_terms(
                theta_, square_, np.asarray(units), wr, dr, np.exp, _np_softplus
            )
            total, grad, inv_keep = (torch.as_tensor(t).to(dtype) for t in terms)
        else:
            units_ = torch.tensor(units, dtype=dtype, device=device)
            terms = _concrete_terms(
                theta, square, units_, wr, dr, torch.exp, F.softplus
            )
            total, grad, inv_keep = terms
        start = 0
        for i in learned:
            site, n = sites[i], self.logit[i].numel()
            self.grad_logit[i].add_(grad[start : start + n])
            per_column = inv_keep[start : start + n]
            if site.per_column and site.group_index is not None:
                per_column = per_column[site.group_index.to(per_column.device)]
            self.grad_weight[i].addcmul_(self.weight[i], per_column, value=2.0 * wr)
            start += n
        value: Tensor = total
        return value
