"""What a network is before it exists: its validated architecture and
dropout (:class:`NetworkSpec`), the network built from it, the plan of a
cross-validation member (:class:`MemberPlan`), and what training made of it
(:class:`EpochsResult`, :class:`MemberFit`) (torch only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from numpy.typing import NDArray

from ..utils import make_generator
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
        for name, fitted in has.items():
            value = getattr(self, name)
            if fitted != value:
                raise ValueError(
                    f"{name}={value!r} differs from the fitted network's "
                    f"{fitted!r}; warm_start and partial_fit continue that "
                    "network (only its dropout can change): set "
                    "warm_start=False to fit a new one"
                )

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


@dataclass
class EpochsResult:
    """What one call of :meth:`MLPTrainer.fit` (or L-BFGS) did."""

    losses: list[float]
    validation_scores: list[float] = field(default_factory=list)
    validation_losses: list[float] = field(default_factory=list)
    converged: bool = False
    interrupted: bool = False
    message: str = ""
    # Why a network alone stopped by diverging after its best validation
    # epoch, which it kept; None when it did not.
    diverged: str | None = None
    # Each site's drop rates after each epoch, where some are learned.
    rates: list[list[np.ndarray]] = field(default_factory=list)


@dataclass(frozen=True)
class MemberPlan:
    """One member: its rates (input first), initialization, mask and shuffling
    ``seeds``, training ``rows`` of ``X``, the ``validation_rows`` of early
    stopping, and which ``target`` of ``Y [targets, n, out]`` it trains on.
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
