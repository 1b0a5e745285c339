"""Mask sampling in skdrop._engine._layers."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from skdrop._engine._layers import (
    ALPHA_PRIME,
    NoiseSite,
    NoiseSource,
    alpha_dropout_affine,
    quantized_keep,
)
from skdrop._engine._network import DropoutNetwork
from skdrop._engine._stack import NetworkStack
from skdrop.utils._devices import make_generator

# --- NoiseSource and NoiseSite: statistics of each noise type --------------

CPU = torch.device("cpu")


def _binomial_bound(keep, n):
    """Five binomial standard errors of a kept fraction: a safe bound for
    fixed seeds."""
    return 5 * np.sqrt(keep * (1 - keep) / n)


@pytest.mark.parametrize("keep", [0.2, 0.3, 0.5, 0.7, 0.999])
def test_keep_bits_realize_quantized_rate(keep):
    noise = NoiseSource(0, CPU)
    rows, cols = 2048, 2048  # 4M entries, more than one pool
    bits = noise.keep_bits(rows, cols, keep)
    assert bits.shape == (rows, cols)
    assert bits.dtype == torch.uint8
    assert set(torch.unique(bits).tolist()) <= {0, 1}
    q = quantized_keep(keep)
    n = bits.numel()
    rate = float(bits.double().mean())
    assert abs(rate - q) < _binomial_bound(q, n)
    # A per-column check catches a pool reused out of order.
    per_column = bits.double().mean(0)
    assert float(per_column.std()) < 2 * np.sqrt(q * (1 - q) / rows)


@pytest.mark.parametrize(
    ("keep", "n"),
    [(1e-4, 1 << 24), (1 - 2**-20, 1 << 24), (1 - 1e-5, 1 << 22)],
)
def test_keep_bits_extreme_rates(keep, n):
    """Rates that only the tie-breaking bits can realize: a bug there (every
    tie kept or dropped) moves the count by ~n/256, hundreds of SEs."""
    noise = NoiseSource(1, CPU)
    kept = int(noise.keep_bits(n // 1024, 1024, keep).sum(dtype=torch.int64))
    q = quantized_keep(keep)
    expected = n * q
    sd = np.sqrt(n * q * (1 - q))
    assert abs(kept - expected) < 5 * sd + 1


def test_quantized_keep_grid():
    step = 2.0**-24
    for keep in [0.2, 0.3, 0.5, 0.999, 1e-4, 1 - 2**-20, 0.123456789]:
        q = quantized_keep(keep)
        assert abs(q - keep) <= step / 2
        assert (q / step).is_integer()
    assert quantized_keep(1 - 2**-20) == 1 - 2**-20  # on the grid already
    assert quantized_keep(1e-12) == step  # never rounds to "drop all"
    assert quantized_keep(1.0) == 1.0
    assert quantized_keep(1 - 1e-9) == 1.0  # rounds to "keep all"
    assert NoiseSite(0.3, "bernoulli", "inverted").keep == quantized_keep(0.7)


@pytest.mark.parametrize("kind", ["bernoulli", "dropconnect"])
@pytest.mark.parametrize("scaling", ["inverted", "test_time"])
def test_bernoulli_expectation_matches_eval(kind, scaling):
    """E[mask] = 1 (inverted) or q (test time), and eval multiplies by the
    same factor: the expected training activation is the eval activation."""
    site = NoiseSite(0.3, kind, scaling)
    q = site.keep
    rows, cols = 4000, 250
    mult, offset = site.sample(rows, cols, NoiseSource(2, CPU), torch.float64)
    assert offset is None
    kept_value = 1 / q if scaling == "inverted" else 1.0
    values = torch.unique(mult).tolist()
    assert values == [0.0, pytest.approx(kept_value, rel=1e-15)]
    expected = 1.0 if scaling == "inverted" else q
    assert site.eval_scale() == pytest.approx(expected, rel=1e-15)
    n = mult.numel()
    se = kept_value * np.sqrt(q * (1 - q) / n)
    assert abs(float(mult.mean()) - expected) < 5 * se


@pytest.mark.parametrize(
    ("kind", "scaling"),
    [
        ("bernoulli", "inverted"),
        ("bernoulli", "test_time"),
        ("dropconnect", "inverted"),
        ("dropconnect", "test_time"),
        ("gaussian", "inverted"),
    ],
)
def test_linear_network_mean_output_is_eval_output(kind, scaling):
    """For a linear layer, averaging training outputs over masks recovers the
    evaluation-mode output (the point of both scaling conventions)."""
    site = NoiseSite(0.4, kind, scaling)
    net = DropoutNetwork(6, (), 2, "identity", [site]).double()
    net.reset_parameters(make_generator(0, CPU))
    x = torch.linspace(-1.0, 2.0, 6, dtype=torch.float64)[None, :]
    with torch.no_grad():
        net.eval()
        clean = net(x)[0]
        noise = NoiseSource(3, CPU)
        # DropConnect draws one mask per call, so the standard error comes
        # from the spread of the per-call means.
        calls = torch.stack([net(x.expand(50, 6), noise).mean(0) for _ in range(400)])
    mean = calls.mean(0)
    se = calls.std(0) / np.sqrt(calls.shape[0])
    assert torch.all((mean - clean).abs() < 5 * se)


def test_gaussian_multiplier_moments():
    p = 0.3
    site = NoiseSite(p, "gaussian", "inverted")
    mult, offset = site.sample(2000, 500, NoiseSource(4, CPU), torch.float64)
    assert offset is None
    n = mult.numel()
    var = p / (1 - p)
    assert site.eval_scale() == 1.0
    assert abs(float(mult.mean()) - 1.0) < 5 * np.sqrt(var / n)
    # SE of a normal sample variance: var * sqrt(2 / (n - 1)).
    assert abs(float(mult.var()) - var) < 5 * var * np.sqrt(2 / (n - 1))


def test_alpha_dropout_affine_constants():
    # Values in Klambauer et al. 2017 (and the project's notes).
    for rate, (a_ref, b_ref) in {0.05: (0.9548, 0.0839), 0.1: (0.9213, 0.1620)}.items():
        a, b = alpha_dropout_affine(1 - rate)
        assert a == pytest.approx(a_ref, abs=1e-4)
        assert b == pytest.approx(b_ref, abs=1e-4)
        # Exact moments for inputs of mean 0 and variance 1: with
        # u = x m + alpha' (1 - m), E[a u + b] = 0 and a^2 Var(u) = 1.
        q = 1 - rate
        assert a * ALPHA_PRIME * (1 - q) + b == pytest.approx(0.0, abs=1e-12)
        var_u = q + ALPHA_PRIME**2 * q * (1 - q)
        assert a**2 * var_u == pytest.approx(1.0, rel=1e-12)
    assert alpha_dropout_affine(1.0) == (1.0, 0.0)


@pytest.mark.parametrize("rate", [0.05, 0.1, 0.2])
def test_alpha_dropout_keeps_selu_moments(rate):
    gen = make_generator(5, CPU)
    z = torch.randn(2000, 500, generator=gen, dtype=torch.float64)
    x = torch.selu(z)  # SELU's fixed point: mean 0, variance 1
    site = NoiseSite(rate, "alpha", "inverted")
    mult, offset = site.sample(*x.shape, NoiseSource(6, CPU), torch.float64)
    assert offset is not None
    out = x * mult + offset
    assert abs(float(out.mean())) < 0.01
    assert abs(float(out.var()) - 1.0) < 0.01
    # Dropped units sit at a * alpha' + b.
    a, b = alpha_dropout_affine(site.keep)
    dropped = (mult == 0).double().mean()
    assert abs(float(dropped) - (1 - site.keep)) < _binomial_bound(site.keep, x.numel())
    low = a * ALPHA_PRIME + b
    torch.testing.assert_close(
        offset[mult == 0], torch.full_like(offset[mult == 0], low)
    )


@pytest.mark.parametrize("kind", ["bernoulli", "gaussian", "alpha"])
def test_group_sites_share_one_draw_per_row(kind):
    group_index = torch.tensor([0, 0, 0, 1, 2, 2, 3])
    site = NoiseSite(0.5, kind, "inverted", group_index, 4)
    mult, offset = site.sample(3000, 7, NoiseSource(7, CPU), torch.float64)
    for cols in ([0, 1, 2], [4, 5]):
        for c in cols[1:]:
            assert torch.equal(mult[:, cols[0]], mult[:, c])
            if offset is not None:
                assert torch.equal(offset[:, cols[0]], offset[:, c])
    # Different groups and different rows draw independently.
    assert not torch.equal(mult[:, 0], mult[:, 3])
    assert not torch.equal(mult[:, 3], mult[:, 6])
    assert not torch.equal(mult[:1500, 0], mult[1500:, 0])
    if kind != "gaussian":
        kept = (mult[:, 0] != 0).double().mean()
        assert abs(float(kept) - site.keep) < _binomial_bound(site.keep, 3000)


def test_dropconnect_masks_weights_once_per_batch():
    site = NoiseSite(0.5, "dropconnect", "inverted")
    inactive = NoiseSite(0.0, "dropconnect", "inverted")
    net = DropoutNetwork(8, (5,), 3, "identity", [site, inactive]).double()
    net.reset_parameters(make_generator(0, CPU))
    x = torch.ones(10, 8, dtype=torch.float64)
    with torch.no_grad():
        out, cache = NetworkStack.alone(net).forward_train(
            x, [NoiseSource(8, CPU)], [10]
        )
    mask = cache[0].weight_mask
    assert mask is not None
    assert mask.shape == net.linears[0].weight.shape == (5, 8)
    assert cache[1].weight_mask is None
    assert 0 < int(mask.sum()) < mask.numel()
    # One mask for the whole mini-batch: identical rows stay identical.
    assert torch.equal(out, out[:1].expand_as(out))
    assert cache[0].input_mult is None


def test_noise_source_is_reproducible_and_pickles_mid_stream():
    a, b = NoiseSource(9, CPU), NoiseSource(9, CPU)
    other = NoiseSource(10, CPU)
    first = a.keep_bits(100, 37, 0.7)
    assert torch.equal(first, b.keep_bits(100, 37, 0.7))
    assert not torch.equal(first, other.keep_bits(100, 37, 0.7))
    assert torch.equal(a.normal(20, 5, torch.float64), b.normal(20, 5, torch.float64))
    a.keep_bits(3, 3, 0.2)  # a second pool, also mid-stream
    clone = pickle.loads(pickle.dumps(a))
    for _ in range(3):
        # Draws longer than a pool force refills on both.
        torch.testing.assert_close(
            clone.keep_bits(700, 1000, 0.7), a.keep_bits(700, 1000, 0.7)
        )
        torch.testing.assert_close(clone.keep_bits(5, 5, 0.2), a.keep_bits(5, 5, 0.2))
        torch.testing.assert_close(
            clone.normal(4, 4, torch.float32), a.normal(4, 4, torch.float32)
        )


def test_same_seed_same_site_masks():
    site = NoiseSite(0.25, "bernoulli", "inverted")
    draws = [site.sample(50, 20, NoiseSource(11, CPU), torch.float32) for _ in "ab"]
    assert torch.equal(draws[0][0], draws[1][0])
    # Consecutive draws from one source differ.
    noise = NoiseSource(11, CPU)
    assert not torch.equal(
        site.sample(50, 20, noise, torch.float32)[0],
        site.sample(50, 20, noise, torch.float32)[0],
    )


def test_rate_zero_is_inactive_and_unscaled():
    assert not NoiseSite(0.0, "bernoulli", "test_time").active
    assert NoiseSite(0.0, "bernoulli", "test_time").eval_scale() == 1.0


def test_noise_source_copy_continues_the_stream_independently():
    noise = NoiseSource(5, CPU)
    noise.keep_bits(30, 7, 0.5)  # a pool in use
    noise.normal(3, 3, torch.float32)
    twin = noise.copy()
    ahead = [noise.keep_bits(30, 7, 0.5), noise.normal(4, 2, torch.float64)]
    # The twin draws what the original drew from the same position...
    assert torch.equal(twin.keep_bits(30, 7, 0.5), ahead[0])
    assert torch.equal(twin.normal(4, 2, torch.float64), ahead[1])
    # ...and drawing from one does not advance the other.
    assert torch.equal(twin.keep_bits(30, 7, 0.5), noise.keep_bits(30, 7, 0.5))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_noise_source_rate_and_pickle():
    cuda = torch.device("cuda")
    noise = NoiseSource(0, cuda)
    bits = noise.keep_bits(1000, 1000, 0.3)
    assert bits.device.type == "cuda"
    q = quantized_keep(0.3)
    assert abs(float(bits.mean()) - q) < _binomial_bound(q, bits.numel())
    clone = pickle.loads(pickle.dumps(noise))
    assert torch.equal(clone.keep_bits(10, 10, 0.3), noise.keep_bits(10, 10, 0.3))
