"""The multilayer perceptron with dropout.

:class:`DropoutNetwork` is an ordinary :class:`torch.nn.Module`: its forward
pass is differentiable (a user can train or inspect ``module_`` with
autograd), and it is what prediction and Monte Carlo dropout run.  Training
runs the hand-written passes of :mod:`skdrop._engine._stack`; the tests check
the two against each other for every layer option.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._layers import NoiseSite, NoiseSource

# Rows per forward pass at prediction time: bounded memory for any table.
# Small enough that the buffers are reused from the heap rather than mapped
# afresh (page faults cost more than the arithmetic).
_PREDICT_ELEMENTS = 1 << 20

ACTIVATIONS = ("identity", "logistic", "tanh", "relu", "selu")
_BN_EPS = 1e-5
# What a saved network keeps of each of its sites.
_SITE_FIELDS = "rate kind scaling group_index n_groups learned per_column".split()
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


def _linear(h: Tensor, weight: Tensor, bias: Tensor | None, scale: float) -> Tensor:
    """``scale * h @ weight.T + bias``, the scale applied inside the product."""
    if scale == 1.0:
        return F.linear(h, weight, bias)
    if bias is None:
        return torch.mm(h, weight.t()).mul_(scale)
    return torch.addmm(bias, h, weight.t(), alpha=scale)


class DropoutNetwork(nn.Module):
    """Linear -> [BatchNorm] -> activation -> dropout, repeated, then Linear.

    ``sites`` holds one :class:`NoiseSite` per linear layer, the dropout of
    that layer's input (site 0: input dropout); the output is never dropped.
    With ``batch_norm`` the hidden linear layers have no bias and a batch
    normalization before their activation.

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

    def to_plain(self) -> dict[str, Any]:
        """Architecture and weights as plain values (lists, numpy arrays).

        What the estimators save instead of pickling the module, so that a
        skops file holds no code to trust; :meth:`from_plain` rebuilds it.
        """
        sites = []
        for site in self.sites:
            plain = {name: getattr(site, name) for name in _SITE_FIELDS}
            if site.group_index is not None:
                plain["group_index"] = site.group_index.cpu().numpy()
            sites.append(plain)
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
                b = linear.bias
                bias = weight.new_zeros(len(weight)) if b is None else b.double()
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

    def forward(self, x: Tensor, noise: NoiseSource | None = None) -> Tensor:
        """Raw outputs (logits or values) for a batch ``x``."""
        if noise is None and self.training and any(s.active for s in self.sites):
            seed = int(torch.randint(0, 2**62, (1,)).item())
            noise = NoiseSource(seed, x.device)
        return self._forward(x, noise, self.training)

    def _forward(
        self, h: Tensor, noise: NoiseSource | None, batch_stats: bool
    ) -> Tensor:
        last = len(self.linear_layers) - 1
        for i, (linear, site) in enumerate(
            zip(self.linear_layers, self.sites, strict=True)
        ):
            weight = linear.weight
            scale = site.eval_scale()
            if site.active and noise is not None:
                if site.learned and batch_stats:
                    # Training: relaxed masks, differentiable in the rates.
                    mult, _ = site.concrete(h.shape[0], h.shape[1], noise, h.dtype)
                    h, scale = h * mult, 1.0
                elif site.on_weights:
                    rows, cols = weight.shape
                    mask, _, scale = site.sample_scaled(rows, cols, noise, weight.dtype)
                    weight = weight * mask
                else:
                    rows, cols = h.shape
                    mult, offset, scale = site.sample_scaled(rows, cols, noise, h.dtype)
                    h = h * mult if offset is None else h * mult + offset
            z = _linear(h, weight, linear.bias, scale)
            if i == last:
                return z
            if self.norm_layers:
                z = self.batch_norm(z, i, batch_stats)[0]
            h = _activate(z, self.activation)
        raise AssertionError("unreachable")

    def batch_norm(
        self, z: Tensor, i: int, batch_stats: bool
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Hidden layer ``i``'s batch normalization of ``z``, with the batch's
        statistics (updating the running ones) or the running ones:
        ``(output, normalized z, 1 / std)``, the last two for a backward pass."""
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
        return xhat * norm.weight + norm.bias, xhat, inv_std


def chunk_rows(network: DropoutNetwork, n_cols: int) -> int:
    """Rows per forward pass at prediction: about ``_PREDICT_ELEMENTS``
    activations in the widest layer."""
    widths = [lin.weight.shape[0] for lin in network.linear_layers]
    return max(1, _PREDICT_ELEMENTS // max([*widths, n_cols]))
