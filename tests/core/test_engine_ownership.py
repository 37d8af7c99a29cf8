"""The engine hands a gradient's array to ``.grad`` without a copy only when nothing else holds it.

Each case a user could notice: ``.grad`` never aliases a tensor someone else holds (a second leaf, a hook,
a retained gradient, the graph kept by ``retain_graph``, the graph built by ``create_graph``), so writing
into it changes nothing else; and where nothing else holds the array, ``.grad`` is that very buffer. The
linear layer's weight gradient, which the engine now takes over, is compared with torch."""

from __future__ import annotations

import itertools

import ember
import numpy as np
import pytest
from ember.autograd import Function


def _address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


def _fresh_gradient_function(seen: list):
    """x -> 2 x, whose backward returns a new array and records only its address (no reference)."""

    class Double(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad_output):
            out = grad_output * 2
            seen.append(_address(out._data))
            return out

    return Double


def test_grad_takes_over_a_buffer_nothing_else_holds():
    seen = []
    x = ember.ones(3, 4, requires_grad=True)
    (_fresh_gradient_function(seen).apply(x) * ember.ones(3, 4)).sum().backward()
    assert _address(x.grad._data) == seen[0]  # no copy
    np.testing.assert_array_equal(x.grad.numpy(), np.full((3, 4), 2.0, np.float32))


def test_linear_weight_gradient_is_taken_over_row_major():
    layer = ember.nn.Linear(5, 3)
    layer(ember.randn(4, 5)).sum().backward()
    assert layer.weight.grad._data.flags.c_contiguous
    # not copied: tests/core/nn/test_linear_op.py compares .grad's address with the Linear op's own array


def test_a_gradient_shared_by_two_leaves_is_copied_for_each():
    class Fork(Function):  # both inputs get the very same gradient tensor
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad_output):
            g = grad_output * 1.0
            return g, g

    a, b = ember.zeros(2, 3, requires_grad=True), ember.zeros(2, 3, requires_grad=True)
    (Fork.apply(a, b) * ember.ones(2, 3)).sum().backward()
    assert not np.shares_memory(a.grad._data, b.grad._data)
    a.grad.mul_(10)
    np.testing.assert_array_equal(b.grad.numpy(), np.ones((2, 3), np.float32))


def test_a_gradient_a_numba_kernel_allocated_is_taken_over():
    # numba's arrays have its _MemInfo as their base, not an ndarray: embedding's weight gradient (a kernel's
    # np.zeros, 24 MB for a 95k x 64 table) was copied at every step
    from ember.kernels import embedding as kernels

    seen = []
    original = kernels.embedding_backward

    def recording(*args):
        out = original(*args)
        seen.append(_address(out))
        return out

    weight = ember.randn(10, 4, requires_grad=True)
    kernels.embedding_backward = recording
    try:
        ember.nn.functional.embedding_bag(ember.tensor([1, 2, 3, 4, 5]), weight, ember.tensor([0, 3]),
                                          mode="sum").sum().backward()
    finally:
        kernels.embedding_backward = original
    assert _address(weight.grad._data) == seen[0]
    np.testing.assert_array_equal(weight.grad.numpy().sum(axis=1), [0, 4, 4, 4, 4, 4, 0, 0, 0, 0])


def test_numba_arrays_sharing_memory_are_copied_for_each_leaf():
    from numba import njit

    @njit
    def twice(g):  # two arrays over one numba allocation
        out = g * 1.0
        return out, out

    class Fork(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad_output):
            first, second = twice(grad_output._data)
            return ember.Tensor._wrap(first), ember.Tensor._wrap(second)

    a, b = ember.zeros(2, 3, requires_grad=True), ember.zeros(2, 3, requires_grad=True)
    (Fork.apply(a, b) * ember.ones(2, 3)).sum().backward()
    assert not np.shares_memory(a.grad._data, b.grad._data)
    a.grad.mul_(10)
    np.testing.assert_array_equal(b.grad.numpy(), np.ones((2, 3), np.float32))


def test_a_gradient_a_leaf_hook_kept_is_copied():
    kept = []
    x = ember.ones(4, requires_grad=True)
    x.register_hook(kept.append)
    (x * ember.arange(4.0)).sum().backward()
    assert not np.shares_memory(x.grad._data, kept[0]._data)
    x.grad.zero_()
    np.testing.assert_array_equal(kept[0].numpy(), np.arange(4.0, dtype=np.float32))


def test_a_gradient_a_hook_returns_and_keeps_is_copied():
    kept = []

    def replace(grad):
        kept.append(grad * 3)
        return kept[-1]

    x = ember.ones(4, requires_grad=True)
    x.register_hook(replace)
    (x * ember.arange(4.0)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 3 * np.arange(4.0, dtype=np.float32))
    x.grad.zero_()
    np.testing.assert_array_equal(kept[0].numpy(), 3 * np.arange(4.0, dtype=np.float32))


def test_a_gradient_a_non_leaf_kept_is_copied():
    kept = []
    x = ember.ones(4, requires_grad=True)
    y = x.clone()  # passes its gradient on unchanged
    y.register_hook(kept.append)
    z = x * 1.0
    z.retain_grad()
    (y * ember.arange(4.0) + z * ember.arange(4.0)).sum().backward()
    assert not np.shares_memory(x.grad._data, kept[0]._data)
    assert not np.shares_memory(x.grad._data, z.grad._data)
    x.grad.zero_()
    np.testing.assert_array_equal(kept[0].numpy(), np.arange(4.0, dtype=np.float32))
    np.testing.assert_array_equal(z.grad.numpy(), np.arange(4.0, dtype=np.float32))


def test_a_gradient_the_graph_keeps_is_copied():
    class Saved(Function):  # its backward returns an array its node keeps (a constant Jacobian)
        @staticmethod
        def forward(ctx, x):
            ctx.jacobian = ember.full(tuple(x.shape), 2.0)
            return x * 2

        @staticmethod
        def backward(ctx, grad_output):
            return ctx.jacobian

    x = ember.ones(3, requires_grad=True)
    y = Saved.apply(x).sum()
    y.backward(retain_graph=True)
    x.grad.zero_()  # must not zero the node's Jacobian
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 2.0, np.float32))


def test_retain_graph_copies_even_a_buffer_nothing_else_holds():
    seen = []
    x = ember.ones(3, requires_grad=True)
    y = (_fresh_gradient_function(seen).apply(x) * ember.ones(3)).sum()
    y.backward(retain_graph=True)
    assert _address(x.grad._data) != seen[0]
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 4.0, np.float32))


def test_create_graph_copies_and_keeps_the_gradient_differentiable():
    seen = []
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (_fresh_gradient_function(seen).apply(x) * x).sum()  # 2 x^2: dy/dx = 4 x
    y.backward(create_graph=True)
    assert _address(x.grad._data) not in seen
    assert x.grad.grad_fn is not None
    np.testing.assert_allclose(x.grad.detach().numpy(), [4.0, 8.0, 12.0])
    (second,) = ember.autograd.grad(x.grad.sum(), x)
    np.testing.assert_allclose(second.numpy(), [4.0, 4.0, 4.0])


def test_the_root_gradient_a_user_passes_is_never_taken():
    x = ember.ones(3, requires_grad=True)
    seed = ember.tensor([1.0, 2.0, 3.0])
    x.backward(seed)
    x.grad.zero_()
    np.testing.assert_array_equal(seed.numpy(), [1.0, 2.0, 3.0])


def test_a_leaf_used_many_times_sums_its_gradients_in_place_without_touching_others():
    seen = []
    x = ember.ones(3, requires_grad=True)
    kept = []
    y = ember.ones(3, requires_grad=True)
    y.register_hook(kept.append)
    double = _fresh_gradient_function(seen)
    total = sum((double.apply(x) * y * ember.full((3,), float(k))).sum() for k in range(1, 5))
    total.backward()
    assert _address(x.grad._data) == seen[0]  # the first contribution's buffer took the other three
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 2.0 * 10, np.float32))
    np.testing.assert_array_equal(y.grad.numpy(), np.full(3, 2.0 * 10, np.float32))
    # what the hook kept is each contribution, unchanged (the engine runs them last use first)
    np.testing.assert_array_equal(sorted(g.numpy()[0] for g in kept), [2.0, 4.0, 6.0, 8.0])


def test_accumulation_across_passes_makes_a_new_grad():
    x = ember.ones(3, requires_grad=True)
    (x * 2).sum().backward()
    first = x.grad
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(3, 5.0, np.float32))
    np.testing.assert_array_equal(first.numpy(), np.full(3, 2.0, np.float32))


# --- the product whose weight gradient is now laid out as the weight (torch parity) ----------------
@pytest.mark.parity
@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 5)])
@pytest.mark.parametrize("needs", list(itertools.product([False, True], repeat=3))[1:])
def test_linear_matches_torch_for_every_requires_grad_subset(shape, needs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape), rng.standard_normal((3, 5)), rng.standard_normal(3)]
    ours = [ember.tensor(a, dtype=ember.float64, requires_grad=n) for a, n in zip(arrays, needs)]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=n) for a, n in zip(arrays, needs)]
    out = ember.nn.functional.linear(*ours)
    expected = torch.nn.functional.linear(*theirs)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-12)
    weights = rng.standard_normal(tuple(out.shape))
    (out * ember.tensor(weights)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    for t, r in zip(ours, theirs):
        if r.requires_grad:
            np.testing.assert_allclose(t.grad.numpy(), r.grad.numpy(), rtol=1e-10)
            assert t.grad._data.flags.c_contiguous
        else:
            assert t.grad is None


@pytest.mark.parity
@pytest.mark.parametrize("dtype", ["float32", "complex64"])
def test_product_with_a_transposed_operand_matches_torch_to_second_order(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 4, 3)).astype(dtype)
    w = rng.standard_normal((5, 3)).astype(dtype)
    if dtype == "complex64":
        a = a + 1j * rng.standard_normal(a.shape).astype(np.float32)
        w = w + 1j * rng.standard_normal(w.shape).astype(np.float32)
    xa, xw = ember.tensor(a, requires_grad=True), ember.tensor(w, requires_grad=True)
    ta, tw = torch.tensor(a, requires_grad=True), torch.tensor(w, requires_grad=True)
    out, expected = xa @ xw.t(), ta @ tw.t()
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-5)
    (ga, gw) = ember.autograd.grad(out.abs().sum(), (xa, xw), create_graph=True)
    (ea, ew) = torch.autograd.grad(expected.abs().sum(), (ta, tw), create_graph=True)
    np.testing.assert_allclose(gw.detach().numpy(), ew.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ga.detach().numpy(), ea.detach().numpy(), rtol=1e-4, atol=1e-5)
    (second,) = ember.autograd.grad(gw.abs().sum(), xa)
    (expected_second,) = torch.autograd.grad(ew.abs().sum(), ta)
    np.testing.assert_allclose(second.numpy(), expected_second.numpy(), rtol=1e-4, atol=1e-4)
