"""What a network is before it exists: its validated architecture and
dropout (:class:`NetworkSpec`), and the network built from it (torch only).

Below the trainers: they, the engine and the estimators build networks here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

from ._devices import make_generator
from ._layers import LEARNED_INIT_RATE, NoiseSite
from ._network import DropoutNetwork


@dataclass(frozen=True)
class NetworkSpec:
    """Architecture and dropout of a network, already validated.

    ``rates`` holds the input rate, then one per hidden layer; a NaN rate
    is learned (Concrete dropout: per column or group for the input, one for
    a hidden layer).
    ``group_index`` maps each input column to its dropout group (one mask
    per row and group), or is None when every column is its own group.
    """

    n_inputs: int
    hidden_layer_sizes: tuple[int, ...]
    n_outputs: int
    activation: str
    rates: tuple[float, ...]
    dropout_type: str
    dropout_scaling: str
    batch_norm: bool
    group_index: NDArray[np.intp] | None = None

    def check_architecture(self, network: DropoutNetwork) -> None:
        """``ValueError`` unless ``network`` has this architecture (a warm
        start continues the network; only its dropout can change)."""
        hidden = tuple(lin.out_features for lin in network.linear_layers[:-1])
        has = {
            "hidden_layer_sizes": hidden,
            "activation": network.activation,
            "batch_norm": bool(network.norm_layers),
        }
        wants = {
            "hidden_layer_sizes": self.hidden_layer_sizes,
            "activation": self.activation,
            "batch_norm": self.batch_norm,
        }
        for name, value in wants.items():
            if has[name] != value:
                raise ValueError(
                    f"{name}={value!r} differs from the fitted network's "
                    f"{has[name]!r}; warm_start and partial_fit continue that "
                    "network (only its dropout can change): set "
                    "warm_start=False to fit a new one"
                )

    @property
    def learned(self) -> bool:
        """Whether any rate is learned (a NaN rate)."""
        return any(math.isnan(r) for r in self.rates)

    def sites(self) -> list[NoiseSite]:
        index = n_groups = None
        if self.group_index is not None:
            index = torch.as_tensor(self.group_index, dtype=torch.int64)
            n_groups = int(self.group_index.max()) + 1
        kind, scaling = self.dropout_type, self.dropout_scaling
        sites = []
        for i, rate in enumerate(self.rates):
            learned = math.isnan(rate)
            sites.append(
                NoiseSite(
                    LEARNED_INIT_RATE if learned else rate,
                    kind,
                    scaling,
                    index if i == 0 else None,
                    n_groups if i == 0 else None,
                    learned=learned,
                    per_column=i == 0,
                )
            )
        return sites


def new_network(spec: NetworkSpec) -> DropoutNetwork:
    """The network of ``spec``, its weights not yet drawn.

    ``nn.Linear`` initializes itself from torch's global generator: that
    generator is restored, since the weights are drawn again (from a private
    one) or loaded."""
    with torch.random.fork_rng(devices=[]):
        return DropoutNetwork(
            spec.n_inputs,
            spec.hidden_layer_sizes,
            spec.n_outputs,
            spec.activation,
            spec.sites(),
            spec.batch_norm,
        )


def initialized_network(spec: NetworkSpec, seed: int) -> DropoutNetwork:
    """The network of ``spec`` with weights drawn from ``seed`` (on the CPU,
    so that every device starts from the same weights)."""
    network = new_network(spec)
    network.reset_parameters(make_generator(seed, torch.device("cpu")))
    return network
