"""The multilayer perceptron with dropout, and its hand-written backward pass.

:class:`DropoutNetwork` is an ordinary :class:`torch.nn.Module`: its forward
pass is differentiable, so a user can train or inspect ``module_`` with
autograd.  The training engine does not use autograd, though: for the small
layers of tabular models its bookkeeping costs more than the arithmetic, so
:meth:`DropoutNetwork.forward_train` keeps what the gradient needs and
:meth:`DropoutNetwork.backward` computes it directly.  The test suite checks
the two against each other for every layer option.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._layers import SELU_ALPHA, SELU_SCALE, NoiseSite, NoiseSource

ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "selu")
_BN_EPS = 1e-5
_BN_MOMENTUM = 0.1


def _activate(z: Tensor, activation: str) -> Tensor:
    # In place: z is a fresh tensor whose value no backward pass needs, and
    # a new allocation of a large batch costs page faults at prediction.
    if activation == "relu":
        return torch.relu_(z)
    if activation == "tanh":
        return torch.tanh_(z)
    if activation == "logistic":
        return torch.sigmoid_(z)
    if activation == "selu":
        return torch.selu_(z)
    return z


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


def _linear(h: Tensor, weight: Tensor, bias: Tensor | None, scale: float) -> Tensor:
    """``scale * h @ weight.T + bias``, the scale applied inside the product."""
    if scale == 1.0:
        return F.linear(h, weight, bias)
    if bias is None:
        return torch.mm(h, weight.t()).mul_(scale)
    return torch.addmm(bias, h, weight.t(), alpha=scale)


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
class _LayerCache:
    """What the backward pass needs from one layer of a training step."""

    inputs: Tensor  # the layer's input after noise, before the scale
    weight: Tensor  # the weight used, masked for DropConnect
    scale: float  # inverted-dropout factor on the matrix product
    weight_mask: Tensor | None = None
    input_mult: Tensor | None = None  # d(noisy input) / d(clean input)
    activation: Tensor | None = None  # output of the activation (hidden layers)
    xhat: Tensor | None = None  # batch norm: normalized pre-activation
    inv_std: Tensor | None = None
    concrete_kept: Tensor | None = None  # a learned rate's 1 - z (relaxed keep)


@dataclass
class StepCache:
    layers: list[_LayerCache] = field(default_factory=list)


class DropoutNetwork(nn.Module):
    """Linear -> [BatchNorm] -> activation -> dropout, repeated, then Linear.

    Parameters
    ----------
    n_inputs, n_outputs : int
        Widths of the input and of the output layer.
    hidden_layer_sizes : sequence of int
        Widths of the hidden layers.
    activation : {"identity", "logistic", "tanh", "relu", "selu"}
    sites : list of NoiseSite
        One per linear layer: the dropout applied to that layer's input
        (site 0 is input dropout).  The output layer's own output is never
        dropped.
    batch_norm : bool
        Batch normalization between each hidden linear layer and its
        activation; those linear layers then have no bias.

    Notes
    -----
    Dropout is active when a :class:`NoiseSource` is passed to
    :meth:`forward`, or in training mode (drawing a seed from torch's global
    generator, like :class:`torch.nn.Dropout`).  Batch normalization uses the
    batch statistics in training mode and the running ones in evaluation
    mode, so ``module.eval()`` plus a noise source gives Monte Carlo dropout.
    """

    def __init__(
        self,
        n_inputs: int,
        hidden_layer_sizes: tuple[int, ...],
        n_outputs: int,
        activation: str,
        sites: list[NoiseSite],
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        widths = [n_inputs, *hidden_layer_sizes, n_outputs]
        n_hidden = len(hidden_layer_sizes)
        self.linears = nn.ModuleList(
            nn.Linear(widths[i], widths[i + 1], bias=not (batch_norm and i < n_hidden))
            for i in range(len(widths) - 1)
        )
        self.norms = nn.ModuleList(
            nn.BatchNorm1d(w, eps=_BN_EPS, momentum=_BN_MOMENTUM)
            for w in (hidden_layer_sizes if batch_norm else ())
        )
        self.activation = activation
        self.sites = sites
        # Plain lists: nn.Module attribute lookups cost a microsecond each,
        # which adds up over thousands of small steps.
        self.linear_layers: list[nn.Linear] = [cast(nn.Linear, m) for m in self.linears]
        self.norm_layers: list[nn.BatchNorm1d] = [
            cast(nn.BatchNorm1d, m) for m in self.norms
        ]
        # The logits of learned (Concrete) rates, one parameter per learned
        # site, registered as ``rate_logit{i}``; None for fixed rates.
        self.rate_logits: list[nn.Parameter | None] = []
        for i, site in enumerate(sites):
            logits = None
            if site.learned:
                start = math.log(site.rate / (1.0 - site.rate))
                logits = nn.Parameter(torch.full((site.n_rates(widths[i]),), start))
                self.register_parameter(f"rate_logit{i}", logits)
            self.rate_logits.append(logits)
        self.set_sites(sites)

    def set_sites(self, sites: list[NoiseSite]) -> None:
        """Use ``sites`` (the dropout of a warm start); a learned site takes
        the network's logits, so which sites learn cannot change."""
        for i, (site, logits) in enumerate(zip(sites, self.rate_logits, strict=True)):
            if site.learned != (logits is not None):
                was = "learned" if logits is not None else "fixed"
                raise ValueError(
                    f"layer {i}'s dropout rate is {was} in the fitted network; "
                    "a warm start cannot switch between "
                    "learned and fixed rates: set warm_start=False to fit a new one"
                )
            site.logits = logits
        self.sites = sites

    @property
    def learned_logits(self) -> list[nn.Parameter]:
        return [p for p in self.rate_logits if p is not None]

    def dropout_rates(self) -> list[np.ndarray]:
        """Each site's drop rates: the learned ones (an array per column or
        group for the input, of length 1 for a layer) or the fixed rate."""
        return [
            site.rates().cpu().double().numpy()
            if site.learned
            else np.array([site.rate])
            for site in self.sites
        ]

    def concrete_penalty(
        self,
        n_rows: int,
        length_scale: float,
        slots: dict[Tensor, Tensor] | None = None,
    ) -> Tensor:
        """The Concrete dropout regularizer of the learned sites, its
        gradient added into ``slots`` when given.

        For a site of rate ``p`` (Gal, Hron & Kendall 2017)::

            l^2 / N * ||W||^2 / (1 - p)  +  2 / N * K * (p log p + (1 - p) log(1 - p))

        with ``W`` the weights consuming the dropped units (the columns of a
        group's or column's rate), ``K`` the number of units a rate drops
        (the layer's width for a layer rate, 1 for a column's or group's),
        ``l`` the prior length-scale and ``N`` the number of training rows.
        The entropy term pulls ``p`` towards 1/2, the weight term towards 0.
        """
        wr, dr = length_scale**2 / n_rows, 2.0 / n_rows
        learned = [
            (linear, site, logits)
            for linear, site, logits in zip(
                self.linear_layers, self.sites, self.rate_logits, strict=True
            )
            if logits is not None
        ]
        # Every learned rate in one vector: the scalar algebra runs once,
        # whatever the number of sites, and on the CPU in numpy (float64),
        # where a small operation costs a microsecond instead of several.
        squares, units = [], []
        for linear, site, logits in learned:
            columns = linear.weight.detach().square().sum(0)
            if not site.per_column:
                columns = columns.sum().reshape(1)
            elif site.group_index is not None:
                index = site.group_index.to(columns.device)
                columns = torch.zeros_like(logits).index_add_(0, index, columns)
            squares.append(columns)
            width = 1.0 if site.per_column else float(linear.weight.shape[1])
            units += [width] * logits.numel()
        first = learned[0][2]
        thetas = [logits.detach() for _, _, logits in learned]
        if first.device.type == "cpu":
            theta = np.concatenate([t.numpy() for t in thetas]).astype(np.float64)
            square = np.concatenate([c.numpy() for c in squares]).astype(np.float64)
            total, grad, inv_keep = _concrete_terms(
                theta, square, np.asarray(units), wr, dr, np.exp, _np_softplus
            )
            total = torch.tensor(total, dtype=first.dtype)
            grad = torch.from_numpy(grad).to(first.dtype)
            inv_keep = torch.from_numpy(inv_keep).to(first.dtype)
        else:
            total, grad, inv_keep = _concrete_terms(
                torch.cat(thetas),
                torch.cat(squares),
                torch.tensor(units, dtype=first.dtype, device=first.device),
                wr,
                dr,
                torch.exp,
                F.softplus,
            )
        value: Tensor = total
        if slots is None:
            return value
        start = 0
        for linear, site, logits in learned:
            n = logits.numel()
            slots[logits].add_(grad[start : start + n])
            per_column = inv_keep[start : start + n]
            if site.per_column and site.group_index is not None:
                per_column = per_column[site.group_index.to(per_column.device)]
            slots[linear.weight].addcmul_(
                linear.weight.detach(), per_column, value=2.0 * wr
            )
            start += n
        return value

    # ------------------------------------------------------------ saving
    def to_plain(self) -> dict[str, Any]:
        """Architecture and weights as plain values (lists, numpy arrays).

        What the estimators save instead of pickling the module, so that a
        skops file holds no code to trust; :meth:`from_plain` rebuilds it.
        """
        sites = [
            {
                "rate": site.rate,
                "kind": site.kind,
                "scaling": site.scaling,
                "group_index": None
                if site.group_index is None
                else site.group_index.cpu().numpy(),
                "n_groups": site.n_groups,
                "learned": site.learned,
                "per_column": site.per_column,
            }
            for site in self.sites
        ]
        return {
            "n_inputs": self.linear_layers[0].in_features,
            "hidden_layer_sizes": [lin.out_features for lin in self.linear_layers[:-1]],
            "n_outputs": self.linear_layers[-1].out_features,
            "activation": self.activation,
            "batch_norm": bool(self.norm_layers),
            "sites": sites,
            "tensors": {
                name: tensor.detach().cpu().numpy()
                for name, tensor in self.state_dict().items()
            },
        }

    @classmethod
    def from_plain(cls, plain: dict[str, Any], device: torch.device) -> DropoutNetwork:
        """The network saved by :meth:`to_plain`, on ``device``."""
        sites = [
            NoiseSite(
                float(site["rate"]),
                str(site["kind"]),
                str(site["scaling"]),
                None
                if site["group_index"] is None
                else torch.as_tensor(np.asarray(site["group_index"], dtype=np.int64)),
                None if site["n_groups"] is None else int(site["n_groups"]),
                # Files written before learned rates have neither key.
                learned=bool(site.get("learned", False)),
                per_column=bool(site.get("per_column", False)),
            )
            for site in plain["sites"]
        ]
        # Construction draws initial weights from torch's global generator:
        # keep it untouched, the saved weights replace them.
        with torch.random.fork_rng(devices=[]):
            network = cls(
                int(plain["n_inputs"]),
                tuple(int(w) for w in plain["hidden_layer_sizes"]),
                int(plain["n_outputs"]),
                str(plain["activation"]),
                sites,
                bool(plain["batch_norm"]),
            )
        tensors = {
            name: torch.from_numpy(np.array(a)) for name, a in plain["tensors"].items()
        }
        # L-BFGS trains in float64, the other solvers in float32.
        network.to(tensors["linears.0.weight"].dtype)
        network.load_state_dict(tensors)
        return network.to(device).eval()

    def reset_parameters(self, generator: torch.Generator) -> None:
        """Initialize like scikit-learn's MLP (Glorot uniform, weights and
        biases), or LeCun normal for SELU (Klambauer et al. 2017)."""
        with torch.no_grad():
            for linear in self.linear_layers:
                fan_out, fan_in = linear.weight.shape
                if self.activation == "selu":
                    std = 1.0 / math.sqrt(fan_in)
                    linear.weight.normal_(0.0, std, generator=generator)
                    if linear.bias is not None:
                        linear.bias.zero_()
                    continue
                factor = 2.0 if self.activation == "logistic" else 6.0
                bound = math.sqrt(factor / (fan_in + fan_out))
                linear.weight.uniform_(-bound, bound, generator=generator)
                if linear.bias is not None:
                    linear.bias.uniform_(-bound, bound, generator=generator)
            for norm in self.norm_layers:
                norm.reset_parameters()
            for site, logits in zip(self.sites, self.rate_logits, strict=True):
                if logits is not None:
                    logits.fill_(math.log(site.rate / (1.0 - site.rate)))

    def effective_affine(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Weights ``(n_in, n_out)`` and biases of the evaluation-mode network.

        Batch normalization (running statistics) and test-time scaling are
        folded into the linear layers, so ``a = act(a @ W + b)`` layer by
        layer (no activation on the last) reproduces :meth:`forward` in
        evaluation mode: the layout of scikit-learn's ``coefs_`` and
        ``intercepts_``.
        """
        coefs, intercepts = [], []
        with torch.no_grad():
            for i, linear in enumerate(self.linear_layers):
                weight = linear.weight.double() * self.sites[i].eval_scale()
                bias = (
                    linear.bias.double()
                    if linear.bias is not None
                    else torch.zeros(
                        weight.shape[0], dtype=torch.float64, device=weight.device
                    )
                )
                if i < len(self.norm_layers):
                    norm = self.norm_layers[i]
                    assert norm.running_mean is not None
                    assert norm.running_var is not None
                    factor = norm.weight.double() * torch.rsqrt(
                        norm.running_var.double() + _BN_EPS
                    )
                    weight = weight * factor[:, None]
                    bias = (bias - norm.running_mean.double()) * factor
                    bias = bias + norm.bias.double()
                coefs.append(weight.t().cpu().numpy())
                intercepts.append(bias.cpu().numpy())
        return coefs, intercepts

    # ------------------------------------------------------------------ forward
    def forward(self, x: Tensor, noise: NoiseSource | None = None) -> Tensor:
        """Raw outputs (logits or values) for a batch ``x``."""
        if noise is None and self.training and any(s.active for s in self.sites):
            seed = int(torch.randint(0, 2**62, (1,)).item())
            noise = NoiseSource(seed, x.device)
        return self._forward(x, noise, self.training, None)

    def forward_train(
        self, x: Tensor, noise: NoiseSource | None
    ) -> tuple[Tensor, StepCache]:
        """A training-mode forward pass that records what :meth:`backward`
        needs (call it under :func:`torch.no_grad`); without ``noise`` no
        dropout is applied."""
        cache = StepCache()
        out = self._forward(x, noise, True, cache)
        return out, cache

    def _forward(
        self,
        h: Tensor,
        noise: NoiseSource | None,
        batch_stats: bool,
        cache: StepCache | None,
    ) -> Tensor:
        last = len(self.linear_layers) - 1
        for i, (linear, site) in enumerate(
            zip(self.linear_layers, self.sites, strict=True)
        ):
            weight = linear.weight
            weight_mask = input_mult = None
            scale = 1.0
            concrete_kept = None
            if site.active and noise is not None:
                if site.learned:
                    rows, cols = h.shape
                    if batch_stats:
                        # Training: relaxed masks, differentiable in the rates.
                        input_mult, concrete_kept = site.concrete(
                            rows, cols, noise, h.dtype
                        )
                    else:
                        input_mult, _, scale = site.sample_scaled(
                            rows, cols, noise, h.dtype
                        )
                    h = h * input_mult
                elif site.on_weights:
                    rows, cols = weight.shape
                    weight_mask, _, scale = site.sample_scaled(
                        rows, cols, noise, weight.dtype
                    )
                    weight = weight * weight_mask
                else:
                    rows, cols = h.shape
                    input_mult, offset, scale = site.sample_scaled(
                        rows, cols, noise, h.dtype
                    )
                    if offset is not None:
                        h = h * input_mult + offset
                    elif (
                        cache is not None
                        and i > 0
                        and site.kind == "bernoulli"
                        and self.activation == "relu"
                    ):
                        # The masked ReLU output is zero wherever the
                        # gradient must be, so the backward pass needs
                        # neither the mask nor the unmasked output: mask in
                        # place and record that the mask is absorbed.
                        h.mul_(input_mult)
                        input_mult = None
                    else:
                        h = h * input_mult
            else:
                scale = site.eval_scale()
            z = _linear(h, weight, linear.bias, scale)
            layer = None
            if cache is not None:
                layer = _LayerCache(h, weight, scale, weight_mask, input_mult)
                layer.concrete_kept = concrete_kept
                cache.layers.append(layer)
            if i == last:
                return z
            if self.norm_layers:
                z = self._batch_norm(z, i, batch_stats, layer)
            h = _activate(z, self.activation)
            if layer is not None:
                layer.activation = h
        raise AssertionError("unreachable")

    def _batch_norm(
        self, z: Tensor, i: int, batch_stats: bool, layer: _LayerCache | None
    ) -> Tensor:
        norm = self.norm_layers[i]
        assert norm.running_mean is not None and norm.running_var is not None
        if batch_stats:
            n = z.shape[0]
            if n < 2:
                raise ValueError(
                    "batch_norm=True needs at least 2 rows per mini-batch, got 1"
                )
            mean = z.mean(0)
            var = z.var(0, unbiased=False)
            with torch.no_grad():
                m = _BN_MOMENTUM
                norm.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                norm.running_var.mul_(1 - m).add_(var.detach(), alpha=m * n / (n - 1))
                if norm.num_batches_tracked is not None:
                    norm.num_batches_tracked += 1
        else:
            mean, var = norm.running_mean, norm.running_var
        inv_std = torch.rsqrt(var + _BN_EPS)
        xhat = (z - mean) * inv_std
        if layer is not None:
            layer.xhat, layer.inv_std = xhat, inv_std
        return xhat * norm.weight + norm.bias

    # ----------------------------------------------------------------- backward
    def backward(
        self, cache: StepCache, grad_out: Tensor, slots: dict[Tensor, Tensor]
    ) -> None:
        """Write the parameter gradients of a training step into ``slots``.

        ``grad_out`` is the gradient of the loss with respect to the raw
        outputs (it may be overwritten); ``slots`` maps every parameter to the
        tensor that receives its gradient (overwritten).
        """
        g = grad_out
        linears = self.linear_layers
        for i in range(len(linears) - 1, -1, -1):
            linear = linears[i]
            layer = cache.layers[i]
            bias = linear.bias
            if bias is not None:
                torch.sum(g, 0, out=slots[bias])
            if layer.scale != 1.0:
                # Both products below carry the dropout scale.
                g = g.mul_(layer.scale)
            grad_weight = slots[linear.weight]
            torch.mm(g.t(), layer.inputs, out=grad_weight)
            if layer.weight_mask is not None:
                grad_weight.mul_(layer.weight_mask)
            if layer.concrete_kept is not None:
                # A learned rate needs the gradient at the noisy input, also
                # for the input layer.
                g = g @ layer.weight
                site, logits = self.sites[i], self.rate_logits[i]
                assert logits is not None
                slots[logits].copy_(
                    site.concrete_logit_grad(g, layer.inputs, layer.concrete_kept)
                )
                if i == 0:
                    return
            else:
                if i == 0:
                    return
                g = g @ layer.weight
            if layer.input_mult is not None:
                g.mul_(layer.input_mult)
            below = cache.layers[i - 1]
            assert below.activation is not None
            _activation_backward_(g, below.activation, self.activation)
            if self.norm_layers:
                g = self._batch_norm_backward(g, i - 1, below, slots)

    def _batch_norm_backward(
        self, g: Tensor, i: int, layer: _LayerCache, slots: dict[Tensor, Tensor]
    ) -> Tensor:
        norm = self.norm_layers[i]
        assert layer.xhat is not None and layer.inv_std is not None
        xhat = layer.xhat
        torch.sum(g * xhat, 0, out=slots[norm.weight])
        torch.sum(g, 0, out=slots[norm.bias])
        gx = g * norm.weight
        n = g.shape[0]
        return (gx * n - gx.sum(0) - xhat * (gx * xhat).sum(0)) * (layer.inv_std / n)
