"""Dropout noise: mask sampling in torch.

Every function draws from an explicit :class:`torch.Generator` so that the
estimators never touch the global random state.
"""

from __future__ import annotations

import torch
from torch import Tensor


def bernoulli_keep_mask(
    n_rows: int,
    n_units: int,
    keep: float,
    generator: torch.Generator,
    *,
    device: torch.device,
    dtype: torch.dtype,
) -> Tensor:
    """A 0/1 mask of shape ``(n_rows, n_units)`` whose entries are 1 with
    probability ``keep``."""
    uniform = torch.rand(
        (n_rows, n_units), generator=generator, device=device, dtype=dtype
    )
    return (uniform < keep).to(dtype)


def group_dropout(
    x: Tensor,
    keep: float,
    generator: torch.Generator,
    group_index: Tensor | None = None,
    n_groups: int | None = None,
) -> Tensor:
    """Inverted dropout with one mask per row and group of columns.

    Parameters
    ----------
    x : Tensor of shape (n_rows, n_columns)
    keep : float
        Keep probability ``q = 1 - p``; kept entries are scaled by ``1 / q``
        so the expectation of the output is ``x``.
    generator : torch.Generator
    group_index : LongTensor of shape (n_columns,), optional
        Group label of each column; columns with the same label are kept or
        dropped together.  ``None`` drops every column independently.
    n_groups : int, optional
        Number of distinct labels in ``group_index``.
    """
    if keep >= 1.0:
        return x
    if group_index is None:
        mask = bernoulli_keep_mask(
            x.shape[0], x.shape[1], keep, generator, device=x.device, dtype=x.dtype
        )
    else:
        if n_groups is None:
            raise ValueError("n_groups is required with group_index")
        mask = bernoulli_keep_mask(
            x.shape[0], n_groups, keep, generator, device=x.device, dtype=x.dtype
        )[:, group_index]
    return x * mask * (1.0 / keep)
