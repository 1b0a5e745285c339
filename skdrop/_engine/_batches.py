"""The rows of each training step and of validation, for one network alone
or for members side by side (torch only).

A network alone takes its rows in mini-batches of its own size.  Members
take their own rows only, each in its own order: their batches are padded
to a common width with rows of weight 0, and a member whose rows run out
idles for the remaining steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from numpy.typing import NDArray
from torch import Tensor

from ..utils import make_generator


class SparseRows:
    """A sparse table kept on the CPU whose rows become a dense tensor on
    the device when indexed (a batch, a validation chunk): a network alone
    trains on a sparse X without ever holding it dense."""

    def __init__(self, X: Any, device: torch.device, dtype: torch.dtype) -> None:
        self.matrix = sp.csr_matrix(X)
        self.shape: tuple[int, int] = self.matrix.shape
        self.device, self.dtype = device, dtype

    def __getitem__(self, index: slice | Tensor) -> Tensor:
        rows = index.cpu().numpy() if isinstance(index, Tensor) else index
        dense = np.asarray(self.matrix[rows].toarray())
        return torch.from_numpy(dense).to(device=self.device, dtype=self.dtype)


# The training rows of a network alone: on the device, or sparse.
Rows = Tensor | SparseRows
# A mini-batch: inputs, targets, weights, each member's real rows, and the
# rows its loss stands for.
Batch = tuple[Tensor, Tensor, Tensor | None, list[int], Any]
# Validation rows: the table, the rows of each member in it (None: all rows
# of a network alone), the targets and weights [M, rows, ...], and each
# member's count of real rows (None: all).
Validation = tuple[Rows, Tensor | None, Tensor, Tensor | None, Tensor | None]
Workspace = Callable[[str, tuple[int, ...], torch.dtype], Tensor]


def shuffled(seed: int, n: int, device: torch.device) -> Tensor:
    """A permutation of ``n`` rows from a private generator seeded ``seed``."""
    generator = make_generator(seed, device)
    return torch.randperm(n, generator=generator, device=device)


def lone_batches(
    X: Rows,
    Y: Tensor,
    W: Tensor | None,
    batch_size: int,
    order: Tensor | None,
    batch_norm: bool,
) -> Iterator[Batch]:
    """A network alone's mini-batches of the rows ``X`` in ``order`` (None:
    as they are)."""
    n = X.shape[0]
    batch = min(batch_size, n)
    starts = list(range(0, n, batch))
    # Batch norm cannot normalize one row: fold a last single row into the
    # batch before it.
    if batch_norm and len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    ends = [*starts[1:], n]
    for start, stop in zip(starts, ends, strict=True):
        idx = slice(start, stop) if order is None else order[start:stop]
        wb = None if W is None else W[idx]
        yield X[idx], Y[idx], wb, [stop - start], stop - start


def member_batches(
    X: Tensor,
    Y: Tensor,
    W: Tensor | None,
    orders: Sequence[Tensor],
    batch_size: int,
    targets: list[int],
    workspace: Workspace,
) -> Iterator[Batch]:
    """Members' mini-batches ``[M, width, ...]``: member ``k`` takes the
    rows ``orders[k]`` of ``X`` (on the CPU) in that order, and its target
    ``targets[k]`` of ``Y [targets, n, out]`` (``Y [n, out]`` is shared)."""
    rows, valid, lengths, n_steps, width = _padded(orders, batch_size)
    rows, valid = rows.to(X.device), valid.to(X.device)
    members = len(orders)
    weights = valid.to(X.dtype)
    if W is not None:
        weights = weights * W[rows]
    counts = valid.view(members, n_steps, width).sum(2).to(X.dtype)
    xb = workspace("x", (members * width, X.shape[1]), X.dtype)
    for s in range(n_steps):
        cols = slice(s * width, (s + 1) * width)
        idx = rows[:, cols]
        yb = _targets(Y, idx, targets)
        torch.index_select(X, 0, idx.reshape(-1), out=xb)
        xs = xb.view(members, width, -1)
        yield xs, yb, weights[:, cols], lengths[s], counts[:, s]


def _padded(
    orders: Sequence[Tensor], batch_size: int
) -> tuple[Tensor, Tensor, list[list[int]], int, int]:
    """Members' rows padded to a common number of steps: ``(rows [M, S*B],
    valid [M, S*B], lengths per step, S, B)``."""
    batches = [min(batch_size, len(order)) for order in orders]
    width = max(batches)
    n_steps = max(
        math.ceil(len(order) / b) for order, b in zip(orders, batches, strict=True)
    )
    rows = torch.zeros((len(orders), n_steps * width), dtype=torch.int64)
    valid = torch.zeros((len(orders), n_steps * width), dtype=torch.bool)
    lengths = [[0] * len(orders) for _ in range(n_steps)]
    for k, (order, batch) in enumerate(zip(orders, batches, strict=True)):
        n = len(order)
        # Step s takes columns [s * width, (s + 1) * width): a member with a
        # smaller batch has a single step.
        rows[k, :n] = order
        # Padding repeats one of the member's own rows (with weight 0):
        # another member's row could be extreme enough to make 0 * inf.
        rows[k, n:] = order[0]
        valid[k, :n] = True
        for s in range(n_steps):
            lengths[s][k] = min(max(n - s * batch, 0), batch)
    return rows, valid, lengths, n_steps, width


def _targets(Y: Tensor, idx: Tensor, targets: list[int]) -> Tensor:
    """``Y[idx]``, or ``Y[targets[k], idx[k]]`` from several targets."""
    if Y.dim() == 2:
        return Y[idx]
    return Y[torch.tensor(targets, device=idx.device)[:, None], idx]


def member_validation(
    X: Tensor,
    Y: Tensor,
    W: Tensor | None,
    rows: Sequence[NDArray[np.intp]],
    targets: list[int],
) -> Validation:
    """Members' validation rows ``rows[k]``, padded to a common width."""
    width = max(len(r) for r in rows)
    index = torch.zeros((len(rows), width), dtype=torch.int64)
    valid = torch.zeros((len(rows), width), dtype=torch.bool)
    for k, mine in enumerate(rows):
        index[k, : len(mine)] = torch.as_tensor(mine, dtype=torch.int64)
        index[k, len(mine) :] = index[k, 0]
        valid[k, : len(mine)] = True
    index, valid = index.to(X.device), valid.to(X.device)
    weights = valid.to(X.dtype) if W is None else valid * W[index]
    return X, index, _targets(Y, index, targets), weights, valid.sum(1)
