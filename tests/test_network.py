"""DropoutNetwork: the hand-written backward pass against autograd, and the
evaluation-mode network against its folded affine layers."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest
import torch
from scipy.special import expit

from skdrop._engine._layers import NoiseSite, NoiseSource
from skdrop._engine._network import ACTIVATIONS, DropoutNetwork
from skdrop._engine._objective import head_loss_and_grad
from skdrop._engine._stack import NetworkStack
from skdrop.utils._devices import make_generator

CPU = torch.device("cpu")
N_ROWS = 16
N_INPUTS = 7
HIDDEN = (6, 5, 4)
N_OUTPUTS = 3
# Input columns 0-1 and 3-4 form groups: 5 groups over 7 columns.
GROUP_INDEX = torch.tensor([0, 0, 1, 2, 2, 3, 4])
N_GROUPS = 5
# Input dropout, then one rate per hidden layer; the 0 leaves one site
# inactive, so the network mixes noisy and clean layers.
RATES = (0.3, 0.4, 0.0, 0.25)

NOISES = [
    (kind, scaling)
    for kind in ("bernoulli", "gaussian", "alpha", "dropconnect")
    for scaling in ("inverted", "test_time")
    if scaling == "inverted" or kind in ("bernoulli", "dropconnect")
]


def _network(activation, kind, scaling, batch_norm, seed=0):
    sites = [NoiseSite(RATES[0], kind, scaling, GROUP_INDEX, N_GROUPS)]
    sites += [NoiseSite(rate, kind, scaling) for rate in RATES[1:]]
    net = DropoutNetwork(N_INPUTS, HIDDEN, N_OUTPUTS, activation, sites, batch_norm)
    net.reset_parameters(make_generator(seed, CPU))
    net = net.double()
    if batch_norm:
        # Away from the initial scale 1 and shift 0, so that a gradient
        # formula that forgets either is caught.
        gen = make_generator(seed + 1, CPU)
        with torch.no_grad():
            for norm in net.norms:
                norm.weight.uniform_(0.5, 1.5, generator=gen)
                norm.bias.uniform_(-0.5, 0.5, generator=gen)
    return net


def _batch(head, seed=3):
    gen = make_generator(seed, CPU)
    x = torch.randn(N_ROWS, N_INPUTS, generator=gen, dtype=torch.float64)
    if head == "softmax":
        labels = torch.randint(0, N_OUTPUTS, (N_ROWS,), generator=gen)
        target = torch.nn.functional.one_hot(labels, N_OUTPUTS).double()
    elif head == "logistic":
        target = torch.randint(0, 2, (N_ROWS, N_OUTPUTS), generator=gen).double()
    else:
        target = torch.randn(N_ROWS, N_OUTPUTS, generator=gen, dtype=torch.float64)
    return x, target


@pytest.mark.parametrize("head", ["softmax", "logistic", "identity"])
@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize(("kind", "scaling"), NOISES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_backward_equals_autograd(activation, kind, scaling, batch_norm, head):
    manual = _network(activation, kind, scaling, batch_norm)
    auto = copy.deepcopy(manual)
    x, target = _batch(head)

    # The engine's step: manual forward and backward of the batch mean loss.
    manual.train()
    with torch.no_grad():
        stack = NetworkStack.alone(manual)
        out, cache = stack.forward_train(x.clone(), [NoiseSource(5, CPU)], [N_ROWS])
        _, grad_out = head_loss_and_grad(out, target, None, head)
        stack.backward(grad_out.div_(N_ROWS), cache)
        slots = stack.slots

    # The same masks (same seed, same draw order) through autograd.
    auto.train()
    out_auto = auto(x.clone(), NoiseSource(5, CPU))
    loss, _ = head_loss_and_grad(out_auto, target, None, head)
    (loss / N_ROWS).backward()

    torch.testing.assert_close(out, out_auto.detach(), rtol=1e-12, atol=1e-12)
    named_auto = dict(auto.named_parameters())
    grads = {name: slots[p] for name, p in manual.named_parameters()}
    assert grads.keys() == named_auto.keys()
    # float64 throughout: the two differ by rounding only.  Some gradients
    # are exactly zero in theory (a shift before a batch norm whose input
    # shifts by a per-column constant), so the absolute tolerance is set by
    # the scale of the whole gradient rather than by each tensor's own.
    scale = max(float(p.grad.abs().max()) for p in named_auto.values())
    assert scale > 0
    for name, param in named_auto.items():
        torch.testing.assert_close(
            grads[name], param.grad, rtol=1e-10, atol=1e-10 * scale, msg=name
        )
    # Batch-norm running statistics are updated identically by both passes.
    for (name, a), (_, b) in zip(
        manual.named_buffers(), auto.named_buffers(), strict=True
    ):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=0.0, msg=name)
    if batch_norm:
        assert all(int(n.num_batches_tracked) == 1 for n in manual.norms)


def test_backward_weighted_rows_equal_autograd():
    """Sample weights enter the engine through ``head_loss_and_grad``."""
    manual = _network("relu", "bernoulli", "inverted", batch_norm=False)
    auto = copy.deepcopy(manual)
    x, target = _batch("softmax")
    weight = torch.linspace(0.0, 2.0, N_ROWS, dtype=torch.float64)
    total = float(weight.sum())
    with torch.no_grad():
        stack = NetworkStack.alone(manual)
        out, cache = stack.forward_train(x, [NoiseSource(9, CPU)], [N_ROWS])
        _, grad_out = head_loss_and_grad(out, target, weight, "softmax")
        stack.backward(grad_out.div_(total), cache)
        slots = stack.slots
    auto.train()
    loss, _ = head_loss_and_grad(
        auto(x, NoiseSource(9, CPU)), target, weight, "softmax"
    )
    (loss / total).backward()
    for p, q in zip(manual.parameters(), auto.parameters(), strict=True):
        torch.testing.assert_close(slots[p], q.grad, rtol=1e-10, atol=1e-14)


def _act_numpy(a, activation):
    if activation == "relu":
        return np.maximum(a, 0.0)
    if activation == "tanh":
        return np.tanh(a)
    if activation == "logistic":
        return expit(a)
    if activation == "selu":
        return torch.selu(torch.from_numpy(a)).numpy()
    return a


@pytest.mark.parametrize(
    ("activation", "kind", "scaling", "batch_norm"),
    [
        (act, kind, scaling, bn)
        for act, (kind, scaling), bn in itertools.product(
            ACTIVATIONS, NOISES, [False, True]
        )
    ],
)
def test_eval_mode_is_deterministic_and_effective_affine(
    activation, kind, scaling, batch_norm
):
    net = _network(activation, kind, scaling, batch_norm)
    gen = make_generator(11, CPU)
    # A few training passes give the batch norms non-trivial running
    # statistics (the eval network must use those, not the batch's).
    noise = NoiseSource(2, CPU)
    net.train()
    stack = NetworkStack.alone(net)
    with torch.no_grad():
        for _ in range(3):
            xb = 2.0 * torch.randn(32, N_INPUTS, generator=gen, dtype=torch.float64)
            stack.forward_train(xb + 0.5, [noise], [32])
    if batch_norm:
        assert not torch.allclose(
            net.norms[0].running_var, torch.ones_like(net.norms[0].running_var)
        )

    net.eval()
    x = torch.randn(40, N_INPUTS, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        first = net(x)
        second = net(x)
    assert torch.equal(first, second)

    coefs, intercepts = net.effective_affine()
    widths = [N_INPUTS, *HIDDEN, N_OUTPUTS]
    assert [c.shape for c in coefs] == list(itertools.pairwise(widths))
    assert [b.shape for b in intercepts] == [(w,) for w in widths[1:]]
    a = x.numpy()
    for i, (coef, intercept) in enumerate(zip(coefs, intercepts, strict=True)):
        a = a @ coef + intercept
        if i < len(coefs) - 1:
            a = _act_numpy(a, activation)
    np.testing.assert_allclose(a, first.numpy(), rtol=1e-9, atol=1e-12)


def test_test_time_scaling_folds_keep_into_weights():
    """With test-time scaling the evaluation weights are the trained ones
    times the realized keep probability of the layer's input."""
    plain = _network("tanh", "bernoulli", "inverted", batch_norm=False)
    scaled = _network("tanh", "bernoulli", "test_time", batch_norm=False)
    coefs_plain, _ = plain.effective_affine()
    coefs_scaled, _ = scaled.effective_affine()
    for site, a, b in zip(scaled.sites, coefs_plain, coefs_scaled, strict=True):
        np.testing.assert_allclose(b, a * site.keep, rtol=1e-15)
    assert scaled.sites[2].keep == 1.0  # the rate-0 site leaves weights alone


def test_mc_dropout_uses_running_statistics():
    """In eval mode with a noise source the masks are drawn (MC dropout),
    reproducibly for a seed, and batch norm neither uses nor updates batch
    statistics."""
    net = _network("relu", "bernoulli", "inverted", batch_norm=True)
    net.eval()
    x, _ = _batch("identity")
    with torch.no_grad():
        noisy = net(x, NoiseSource(4, CPU))
        again = net(x, NoiseSource(4, CPU))
        clean = net(x)
    assert torch.equal(noisy, again)
    assert not torch.allclose(noisy, clean)
    assert all(int(n.num_batches_tracked) == 0 for n in net.norms)


def test_train_mode_without_noise_source_draws_masks():
    """Like torch.nn.Dropout: training mode alone turns the noise on."""
    net = _network("relu", "bernoulli", "inverted", batch_norm=False)
    x, _ = _batch("identity")
    net.train()
    with torch.random.fork_rng(), torch.no_grad():
        torch.manual_seed(0)
        a, b = net(x), net(x)
        net.eval()
        c, d = net(x), net(x)
    assert not torch.equal(a, b)
    assert torch.equal(c, d)


def test_backward_follows_sites_changed_after_the_stack_was_built():
    """``partial_fit`` may change ``dropout_type`` after its trainer's stack
    exists: the step must follow the network's current sites (the stack once
    kept the old type and dropped the Gaussian multiplier from the gradient)."""
    manual = _network("relu", "bernoulli", "inverted", False)
    stack = NetworkStack.alone(manual)  # built under Bernoulli sites
    manual.set_sites(_network("relu", "gaussian", "inverted", False).sites)
    auto = copy.deepcopy(manual)
    x, target = _batch("identity")

    manual.train()
    with torch.no_grad():
        out, cache = stack.forward_train(x.clone(), [NoiseSource(5, CPU)], [N_ROWS])
        _, grad_out = head_loss_and_grad(out, target, None, "identity")
        stack.backward(grad_out.div_(N_ROWS), cache)
    auto.train()
    out_auto = auto(x.clone(), NoiseSource(5, CPU))
    loss, _ = head_loss_and_grad(out_auto, target, None, "identity")
    (loss / N_ROWS).backward()

    torch.testing.assert_close(out, out_auto.detach(), rtol=1e-12, atol=1e-12)
    named_auto = dict(auto.named_parameters())
    for name, param in manual.named_parameters():
        torch.testing.assert_close(
            stack.slots[param], named_auto[name].grad, rtol=1e-10, atol=1e-12, msg=name
        )
