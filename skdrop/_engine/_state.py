"""What a trainer keeps (torch only): each network's counters and streams
and the stack of their parameters and optimizer moments; and, for a network
trained alone, what carries it between calls: its parameters as views of
the flat tensor, copies, casts, the marks that undo an interrupted epoch,
and its saved state.
"""

from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Self

import torch
from torch import Tensor

from ._layers import NoiseSource
from ._network import DropoutNetwork
from ._optimizer import MLPConfig
from ._spec import EpochsResult, MemberFit, MemberPlan, NetworkSpec
from ._stack import NetworkStack

# Learned dropout logits move this many times faster than the weights: with
# the weights' step (Adam's 1e-3 per step) a rate needs thousands of steps
# to leave its initial 0.1, more than most fits take.
LOGIT_LR_FACTOR = 10.0
# The counters a saved trainer keeps, by their name in its state, and their type.
_SAVED: dict[str, type] = dict.fromkeys(("shuffle_seed", "epochs_run"), int)
_SAVED |= {"samples_seen": int, "best_loss": float, "best_validation_score": float}
_SAVED |= {"no_improvement_count": int, "steps": int, "learning_rate": float}


@dataclass
class NetworkState:
    """The state of one network's training: its mask and shuffling streams,
    optimizer counters, learning rate, stopping rule and best epoch."""

    noise: NoiseSource
    shuffle_seed: int
    learning_rate: float
    plan: MemberPlan | None = None
    n_rows: int = 0  # training rows per epoch
    penalty_rows: int = 1  # the N of Concrete dropout's regularizer
    steps: int = 0
    epochs_run: int = 0
    samples_seen: int = 0
    best_loss: float = math.inf
    best_validation_score: float = -math.inf
    no_improvement_count: int = 0
    best_epoch: int = 0
    best: tuple[Tensor, list[Tensor]] | None = None  # parameters, buffers
    result: EpochsResult = field(default_factory=lambda: EpochsResult([]))
    error: str | None = None


# A network alone's state reads as its trainer's (``trainer.best_loss``);
# ``_steps`` and ``_n_rows`` are older names of two fields.
_ALIASES = {"_steps": "steps", "_n_rows": "penalty_rows"}
_OF_THE_NETWORK = {f.name for f in fields(NetworkState)} | set(_ALIASES)


class TrainerState:
    """The state of a trainer (see the module doc); ``TrainerState(network,
    ...)`` holds one ``network`` alone, initialized and on ``device``, trained
    for ``head`` ({"softmax", "logistic", "identity", "gaussian"}) with
    ``config``, its mask and shuffling streams seeded ``noise_seed`` and
    ``shuffle_seed``.
    """

    network: DropoutNetwork  # a network alone's
    spec: NetworkSpec  # members'
    stack: NetworkStack

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
        noise = NoiseSource(noise_seed, device)
        self._start(head, config, device, [NetworkState(noise, shuffle_seed, 0.0)])
        self.network = network
        self.reset_optimizer()

    def _start(
        self,
        head: str,
        config: MLPConfig,
        device: torch.device,
        members: list[NetworkState],
    ) -> None:
        self.head, self.config, self.device = head, config, device
        self.members = members
        self.alive = list(range(len(members)))
        self.finished: dict[int, MemberFit] = {}
        self._lr_scale: Tensor | None = None

    def __getattr__(self, name: str) -> Any:
        if name not in _OF_THE_NETWORK:
            raise AttributeError(name)
        return getattr(self.members[0], _ALIASES.get(name, name))

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _OF_THE_NETWORK:
            setattr(self.members[0], _ALIASES.get(name, name), value)
        else:
            object.__setattr__(self, name, value)

    def _fresh_moments(self, flat: Tensor) -> list[Tensor]:
        """Zero optimizer moments: a velocity for "sgd", two for Adam."""
        return [
            torch.zeros_like(flat) for _ in range(1 + (self.config.solver != "sgd"))
        ]

    def _flatten(self, moments: list[Tensor] | None = None) -> None:
        """Make the network's parameters views of one flat tensor, with the
        optimizer ``moments`` (None: fresh ones)."""
        self.stack = NetworkStack.alone(self.network)
        flat = self.stack.flat
        self.stack.moments = self._fresh_moments(flat) if moments is None else moments
        # Learned dropout logits take larger steps than the weights (see
        # LOGIT_LR_FACTOR); None when the network learns no rate.
        self._lr_scale = None
        if self.stack.learned and LOGIT_LR_FACTOR != 1.0:
            self._lr_scale = torch.ones_like(flat)
            for logits in self.stack.logits_of(self._lr_scale):
                logits.fill_(LOGIT_LR_FACTOR)

    def _ensure_flat(self) -> None:
        """Restore the flat layout after a copy or a user's edits."""
        weight = self.network.linear_layers[0].weight
        if weight.data_ptr() != self.stack.flat.data_ptr():
            self._flatten(self.stack.moments)

    def set_dtype(self, dtype: torch.dtype) -> None:
        """Cast the network (L-BFGS trains in float64, the others in float32)
        and make its parameters views of :attr:`stack`'s flat tensor."""
        if self.network.linear_layers[0].weight.dtype != dtype:
            self.network.to(dtype)
            self.reset_optimizer()
        self._ensure_flat()

    def reset_optimizer(self) -> None:
        """Fresh optimizer moments and learning rate (a new ``fit``)."""
        self._flatten()
        self.steps = 0
        self.learning_rate = self.config.learning_rate_init

    def copy(self) -> Self:
        """An independent trainer in the same state: training it leaves this
        one (and its network) untouched."""
        self._ensure_flat()
        twin = copy.copy(self)
        twin.network = copy.deepcopy(self.network)
        twin.members = [replace(self.members[0], noise=self.noise.copy(), best=None)]
        twin._flatten([m.clone() for m in self.stack.moments])
        return twin

    def _buffers(self) -> list[Tensor]:
        # Batch norm's running statistics (a network alone); faster than
        # Module.buffers(), which walks the module tree.
        return [
            b
            for norm in self.stack.norms
            for b in (norm.running_mean, norm.running_var, norm.num_batches_tracked)
            if b is not None
        ]

    def _restore(self, tensors: Tensor, buffers: list[Tensor]) -> None:
        """Copy back the flat parameters (then, when ``tensors`` holds them,
        the moments) and the batch-norm ``buffers``."""
        values = torch.split(tensors, self.stack.flat.numel())
        with torch.no_grad():
            for mine, value in zip(
                [self.stack.flat, *self.stack.moments], values, strict=False
            ):
                mine.copy_(value)
            for mine, value in zip(self._buffers(), buffers, strict=True):
                mine.copy_(value)

    def _mark(self) -> dict[str, Any]:
        """Everything an epoch of a network alone changes, to :meth:`_rewind`
        an interrupted one."""
        member = self.members[0]
        return {
            # One copy of parameters and moments (a few microseconds).
            "tensors": torch.cat([self.stack.flat, *self.stack.moments]),
            "buffers": [b.clone() for b in self._buffers()],
            "noise": member.noise.mark(),
            "member": copy.copy(member),
        }

    def _rewind(self, mark: dict[str, Any]) -> None:
        self._restore(mark["tensors"], mark["buffers"])
        self.members[0] = mark["member"]
        self.noise.rewind(mark["noise"])
        self.network.eval()

    def state_dict(self) -> dict[str, Any]:
        """Optimizer, schedule, stopping counters and random streams of a network
        alone as plain values (numpy arrays, numbers, dicts), without the network:
        with :meth:`from_state` training continues exactly where it stopped, on
        the same kind of device.
        """
        self._ensure_flat()
        moments = [m.cpu().numpy() for m in self.stack.moments] + [None]
        return {
            "head": self.head,
            "config": asdict(self.config),
            "noise": self.noise.state_dict(),
            **{name: getattr(self.members[0], name) for name in _SAVED},
            "moment1": moments[0],
            "moment2": moments[1],
        }

    @classmethod
    def from_state(
        cls,
        network: DropoutNetwork,
        state: dict[str, Any],
        *,
        device: torch.device,
        noise_seed: int,
    ) -> Self:
        """The trainer saved by :meth:`state_dict`, driving ``network``; after a
        move between the CPU and a GPU a new mask stream starts from
        ``noise_seed`` (the optimizer state carries over).
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
        for name, kind in _SAVED.items():
            setattr(trainer.members[0], name, kind(state[name]))
        moments, dtype = trainer.stack.moments, trainer.stack.flat.dtype
        for k, saved in enumerate((state["moment1"], state["moment2"])):
            if saved is not None:
                moment = torch.as_tensor(saved, dtype=dtype).to(device)
                moments[k : k + 1] = [moment]
        return trainer
