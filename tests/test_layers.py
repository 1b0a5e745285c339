"""Mask sampling in skdrop._layers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skdrop._engine import make_generator
from skdrop._layers import bernoulli_keep_mask, group_dropout


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.8])
def test_keep_mask_rate(keep):
    gen = make_generator(0, torch.device("cpu"))
    mask = bernoulli_keep_mask(
        400, 250, keep, gen, device=torch.device("cpu"), dtype=torch.float64
    )
    n = mask.numel()
    # Binomial standard error of the kept fraction; 5 of them is a safe bound.
    assert abs(float(mask.mean()) - keep) < 5 * np.sqrt(keep * (1 - keep) / n)
    assert set(torch.unique(mask).tolist()) <= {0.0, 1.0}


def test_inverted_dropout_is_unbiased():
    gen = make_generator(1, torch.device("cpu"))
    x = torch.linspace(-2, 3, 12, dtype=torch.float64).repeat(20000, 1)
    out = group_dropout(x, 0.7, gen)
    kept = out != 0
    np.testing.assert_allclose(out[kept], (x / 0.7)[kept])
    se = x[0].abs() * np.sqrt(0.3 / 0.7 / x.shape[0])
    assert torch.all((out.mean(dim=0) - x[0]).abs() <= 5 * se + 1e-12)


def test_group_columns_share_one_mask():
    gen = make_generator(2, torch.device("cpu"))
    x = torch.ones((5000, 6), dtype=torch.float64)
    labels = torch.tensor([0, 0, 0, 1, 2, 2])
    out = group_dropout(x, 0.5, gen, labels, 3)
    dropped = out == 0
    assert torch.equal(dropped[:, 0], dropped[:, 1])
    assert torch.equal(dropped[:, 0], dropped[:, 2])
    assert torch.equal(dropped[:, 4], dropped[:, 5])
    assert not torch.equal(dropped[:, 0], dropped[:, 3])
    # Each group is dropped with probability 1 - keep.
    assert abs(float(dropped[:, 0].double().mean()) - 0.5) < 0.05


def test_keep_one_is_identity():
    gen = make_generator(3, torch.device("cpu"))
    x = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    assert group_dropout(x, 1.0, gen) is x


def test_group_index_needs_group_count():
    gen = make_generator(4, torch.device("cpu"))
    with pytest.raises(ValueError, match="n_groups"):
        group_dropout(torch.ones(2, 2), 0.5, gen, torch.tensor([0, 0]))
