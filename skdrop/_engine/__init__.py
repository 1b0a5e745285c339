"""The networks' training engine: torch (and scipy's L-BFGS), no scikit-learn.

This module is the engine's declared API: the estimators of
:mod:`skdrop.neural_network` and :mod:`skdrop.linear_model` import only the
names of ``__all__``, never the modules below it.  They validate their
parameters and input and hand numpy arrays and a :class:`NetworkSpec` to
the functions here, which build the network and its noise, move the data to
the device once, train (with the validation losses of early stopping),
predict, draw Monte Carlo passes and turn device errors into clear ones.
Every random number comes from a private generator.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import NDArray

from ..utils import (
    Progress,
    float_dtype,
    is_out_of_memory,
    loading_device,
    out_of_memory_error,
    resolve_device,
)
from ._batches import Rows, SparseRows
from ._layers import DROPOUT_SCALINGS, DROPOUT_TYPES, NoiseSource
from ._lbfgs import fit_lbfgs
from ._linear_sgd import fit_linear_sgd
from ._network import ACTIVATIONS, DropoutNetwork, chunk_rows
from ._objective import DIVERGENCE_ADVICE, GAUSSIAN_MIN_VARIANCE
from ._optimizer import MLPConfig
from ._spec import (
    EpochsResult,
    MemberFit,
    MemberPlan,
    NetworkSpec,
    initialized_network,
)
from ._trainer import MembersProgress, MLPTrainer

# What the estimators use: they import nothing else of the engine's modules.
__all__ = [
    "ACTIVATIONS",
    "DROPOUT_SCALINGS",
    "DROPOUT_TYPES",
    "SOLVERS",
    "MLPConfig",
    "MemberFit",
    "MemberPlan",
    "NetworkSpec",
    "build_trainer",
    "fit_linear_sgd",
    "gaussian_variance",
    "load_state",
    "mc_predict_raw",
    "member_bytes",
    "members_in_budget",
    "predict_raw",
    "resolve_device",
    "resume_trainer",
    "save_state",
    "train",
    "train_members",
]

SOLVERS = ("lbfgs", "sgd", "adam", "adamw")

FloatArray = NDArray[np.float32] | NDArray[np.float64]
# The inputs of a network: dense, or a scipy sparse matrix (densified by
# batch or chunk).
Inputs = FloatArray | Any


def build_trainer(
    spec: NetworkSpec,
    head: str,
    config: MLPConfig,
    seeds: list[int],
    device: torch.device,
) -> MLPTrainer:
    """A freshly initialized network on ``device`` and its trainer;
    ``seeds`` are the initialization, mask and shuffling seeds."""
    network = initialized_network(spec, seeds[0]).to(device)
    return MLPTrainer(
        network, head, config, noise_seed=seeds[1], shuffle_seed=seeds[2], device=device
    )


def resume_trainer(
    trainer: MLPTrainer | None,
    network: DropoutNetwork,
    spec: NetworkSpec,
    head: str,
    config: MLPConfig,
    seeds: tuple[int, int],
) -> MLPTrainer:
    """A copy of ``trainer`` (for a network loaded without it, a new trainer
    around a copy of ``network``) to continue training with the dropout of
    ``spec``: an estimator whose fit fails keeps its previous state.
    ``ValueError`` when ``spec`` asks for another architecture."""
    spec.check_architecture(network)
    if trainer is not None:
        twin, solver = trainer.copy(), trainer.config.solver
        twin.config = config
        if config.solver != solver:
            # The moments of one solver mean nothing to another.
            twin.reset_optimizer()
    else:
        device = next(network.parameters()).device
        twin = MLPTrainer(
            copy.deepcopy(network),
            head,
            config,
            noise_seed=seeds[0],
            shuffle_seed=seeds[1],
            device=device,
        )
    twin.network.set_sites(spec.sites())
    return twin


@contextmanager
def _device_errors(
    device: torch.device, X: Inputs, config: MLPConfig
) -> Iterator[None]:
    """Turn a device's out-of-memory error into one with advice."""
    try:
        yield
    except RuntimeError as exc:
        if not is_out_of_memory(exc):
            raise
        batch = None if config.solver == "lbfgs" else config.batch_size
        raise out_of_memory_error(device, X.shape[0], X.shape[1], batch) from exc


def _to_device(
    a: NDArray[Any] | torch.Tensor | None, device: torch.device, dtype: torch.dtype
) -> Any:
    if a is None or isinstance(a, torch.Tensor):
        return None if a is None else a.to(device=device, dtype=dtype)
    if sp.issparse(a):
        a = sp.csr_matrix(a).toarray()
    # torch warns about read-only arrays (joblib memmaps, for one) even
    # though training only reads them.
    a = np.ascontiguousarray(a)
    tensor = torch.from_numpy(a if a.flags.writeable else a.copy())
    return tensor.to(device=device, dtype=dtype)


def train(
    trainer: MLPTrainer,
    X: Inputs,
    Y: FloatArray,
    W: FloatArray | None,
    max_epochs: int,
    *,
    validation: tuple[Inputs, FloatArray, FloatArray | None] | None = None,
    progress: Progress | None = None,
) -> EpochsResult:
    """Train ``trainer`` on numpy rows, moved to its device once: L-BFGS
    (float64 where the device has it) or mini-batch epochs, with early
    stopping on ``validation`` when given.  Sparse rows stay on the CPU and
    are densified a mini-batch at a time (L-BFGS's one batch is every row).

    ``FloatingPointError`` when the trained network predicts non-finite
    values on its training rows, ``MemoryError`` with advice when the
    device runs out of memory.
    """
    lbfgs = trainer.config.solver == "lbfgs"
    dtype = float_dtype(trainer.device) if lbfgs else torch.float32
    with _device_errors(trainer.device, X, trainer.config):
        Yt, Wt = (_to_device(a, trainer.device, dtype) for a in (Y, W))
        Xt = _rows(X, trainer.device, dtype, dense=lbfgs)
        if lbfgs:
            assert isinstance(Xt, torch.Tensor)
            result = fit_lbfgs(trainer, Xt, Yt, Wt, max_epochs, progress=progress)
        else:
            trainer.set_dtype(torch.float32)
            val = None
            if validation is not None:
                X_val, *rest = validation
                val = (
                    _rows(X_val, trainer.device, dtype),
                    *(_to_device(a, trainer.device, dtype) for a in rest),
                )
            result = trainer.fit(
                Xt, Yt, Wt, max_epochs, validation=val, progress=progress
            )
        # The loss is measured before each step: the last steps can still
        # blow the weights up so far that the model predicts inf or NaN.
        if result.losses and not np.isfinite(predict_raw(trainer.network, Xt)).all():
            raise FloatingPointError(
                "The trained network predicts non-finite values on its training "
                f"data; the optimization diverged. {DIVERGENCE_ADVICE}"
            )
    return result


def _rows(
    X: Inputs, device: torch.device, dtype: torch.dtype, dense: bool = False
) -> Rows:
    """Training rows on ``device``: a tensor, or sparse rows densified when
    indexed (unless ``dense``)."""
    if sp.issparse(X) and not dense:
        return SparseRows(X, device, dtype)
    return _to_device(X, device, dtype)  # type: ignore[no-any-return]


def predict_raw(
    network: DropoutNetwork,
    X: Inputs | Rows,
    *,
    noise: NoiseSource | None = None,
) -> NDArray[np.float64]:
    """Raw outputs (logits or values) for rows (numpy, or a tensor), in
    bounded-memory chunks.

    With ``noise`` the dropout masks are drawn (Monte Carlo dropout) while
    batch normalization keeps its running statistics.
    """
    weight = network.linear_layers[0].weight
    rows = chunk_rows(network, X.shape[1])
    out = []
    network.eval()
    with torch.no_grad():
        for start in range(0, X.shape[0], rows):
            xb = _to_device(X[start : start + rows], weight.device, weight.dtype)
            out.append(network(xb, noise).cpu().numpy())
    return np.concatenate(out, axis=0).astype(np.float64)


def gaussian_variance(score: NDArray[np.float64]) -> NDArray[np.float64]:
    """The variance that the "gaussian" head's score outputs stand for,
    ``softplus(score) + GAUSSIAN_MIN_VARIANCE`` (the training loss's)."""
    return np.logaddexp(0.0, score) + GAUSSIAN_MIN_VARIANCE


def mc_predict_raw(
    network: DropoutNetwork, X: Inputs, n_samples: int, seed: int
) -> NDArray[np.float64]:
    """Raw outputs under ``n_samples`` passes with fresh dropout masks,
    stacked on a leading axis; the masks come from a stream seeded by
    ``seed``."""
    noise = NoiseSource(seed, next(network.parameters()).device)
    return np.stack([predict_raw(network, X, noise=noise) for _ in range(n_samples)])


def save_state(trainer: MLPTrainer | None, network: DropoutNetwork) -> dict[str, Any]:
    """The network and its trainer as plain values (numpy arrays, numbers,
    dicts): no pickled torch objects, so a skops file needs no trusted code
    for them."""
    return {
        "device": str(next(network.parameters()).device),
        "network": network.to_plain(),
        "trainer": None if trainer is None else trainer.state_dict(),
    }


def load_state(
    saved: dict[str, Any], estimator_name: str, noise_seed: int
) -> tuple[DropoutNetwork, MLPTrainer | None]:
    """The network and trainer of :func:`save_state`, on the saved device when
    this machine has it, else on the CPU (with a warning)."""
    device = loading_device(saved["device"], estimator_name)
    network = DropoutNetwork.from_plain(saved["network"], device)
    trainer = None
    if saved["trainer"] is not None:
        trainer = MLPTrainer.from_state(
            network, saved["trainer"], device=device, noise_seed=noise_seed
        )
    return network, trainer


def member_bytes(spec: NetworkSpec, batch_size: int, n_validation: int) -> int:
    """Bytes one member of :func:`train_members` takes (float32): its
    parameters with gradient and two optimizer moments, and about eight
    stacked buffers of its batch's activations, masks included."""
    widths = [spec.n_inputs, *spec.hidden_layer_sizes, spec.n_outputs]
    params = sum(a * b + b for a, b in itertools.pairwise(widths))
    rows = max(batch_size, min(n_validation, 1 << 12))
    return 4 * (4 * params + 8 * rows * sum(widths))


def train_members(
    spec: NetworkSpec,
    plans: list[MemberPlan],
    head: str,
    config: MLPConfig,
    X: Inputs,
    Y: FloatArray,
    W: FloatArray | None,
    max_epochs: int,
    *,
    device: torch.device,
    progress: MembersProgress | None = None,
) -> list[MemberFit]:
    """Train the networks of ``plans`` (one architecture, each member with its
    own rates, seeds, rows and target of ``Y``), one :class:`MemberFit` per
    plan; a member that diverges comes back with its error.

    Members train side by side (:meth:`MLPTrainer.for_members`), those of
    L-BFGS, batch norm or learned rates one after the other.
    """
    one_by_one = config.solver == "lbfgs" or spec.batch_norm
    alone = [one_by_one or any(math.isnan(r) for r in p.rates) for p in plans]
    fits: dict[int, MemberFit] = {}
    for m, plan in enumerate(plans):
        if alone[m]:
            target = Y if Y.ndim == 2 else Y[plan.target]
            fits[m] = _train_one(
                spec, plan, head, config, X, target, W, max_epochs, device
            )
    together = [m for m in range(len(plans)) if not alone[m]]
    if together:
        # Members side by side gather their batches from one dense table.
        if sp.issparse(X):
            X = sp.csr_matrix(X).toarray()
        batch = [plans[m] for m in together]
        trainer = MLPTrainer.for_members(spec, batch, head, config, device)
        with _device_errors(device, X, config):
            Xt, Yt, Wt = (_to_device(a, device, torch.float32) for a in (X, Y, W))
            stacked = trainer.fit_members(Xt, Yt, Wt, max_epochs, progress=progress)
        fits.update(zip(together, stacked, strict=True))
    return [fits[m] for m in range(len(plans))]


def _train_one(
    spec: NetworkSpec,
    plan: MemberPlan,
    head: str,
    config: MLPConfig,
    X: Inputs,
    Y: FloatArray,
    W: FloatArray | None,
    max_epochs: int,
    device: torch.device,
) -> MemberFit:
    trainer = build_trainer(
        replace(spec, rates=plan.rates), head, config, list(plan.seeds), device
    )
    rows = plan.rows
    validation = None
    if plan.validation_rows is not None and config.solver != "lbfgs":
        val = plan.validation_rows
        validation = (X[val], Y[val], None if W is None else W[val])
    try:
        result = train(
            trainer,
            X[rows],
            Y[rows],
            None if W is None else W[rows],
            max_epochs,
            validation=validation,
        )
    except FloatingPointError as exc:
        return MemberFit(trainer.network, EpochsResult([]), 0, str(exc))
    best = len(result.losses)
    if result.validation_scores:
        scores = np.asarray(result.validation_scores)
        if np.isfinite(scores).any():
            best = int(np.nanargmax(scores)) + 1
    return MemberFit(trainer.network, result, best)


def members_in_budget(
    spec: NetworkSpec, batch_size: int, n_validation: int, budget: int
) -> int:
    """How many members of :func:`train_members` fit in ``budget`` bytes
    (``ValueError`` with what one needs when none does)."""
    need = member_bytes(spec, batch_size, n_validation)
    if budget < need:
        raise ValueError(
            f"cannot hold one network: a member of hidden_layer_sizes="
            f"{spec.hidden_layer_sizes} with batch_size={batch_size} on "
            f"{spec.n_inputs} inputs needs about {need / 1e6:.3g} MB"
        )
    return max(1, budget // need)
