"""3-d pooling, max unpooling, fractional max pooling and the ``*_with_indices`` functions: gradcheck,
torch parity (forward, gradients, every requires-grad subset), indices equal to torch's, errors."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import nn
from ember.nn import functional as F

from .functional_specs import (Const, Float, Spec, check_gradcheck, check_parity, check_requires_grad_subset,
                               ids, requires_grad_subsets)


def _samples(shape):
    return Const(lambda rng: rng.uniform(0.0, 1.0, shape))


SPECS = [
    Spec("max_pool3d", lambda F, x: F.max_pool3d(x, 2), [(2, 2, 4, 4, 6)]),
    Spec("max_pool3d_ceil_pad_dil", lambda F, x: F.max_pool3d(x, (3, 2, 2), (2, 1, 2), (1, 0, 1), (1, 2, 1),
                                                              ceil_mode=True), [(1, 2, 5, 6, 5)]),
    Spec("max_pool3d_unbatched", lambda F, x: F.max_pool3d(x, (2, 3, 2), stride=1), [(2, 4, 5, 4)]),
    Spec("max_pool3d_with_indices", lambda F, x: F.max_pool3d_with_indices(x, 2, 1, 1), [(1, 2, 3, 4, 3)]),
    Spec("max_pool2d_with_indices", lambda F, x: F.max_pool2d_with_indices(x, 3, 2, ceil_mode=True),
         [(2, 6, 7)]),
    Spec("max_pool1d_with_indices", lambda F, x: F.max_pool1d_with_indices(x, 2, dilation=2), [(2, 3, 9)]),
    Spec("avg_pool3d", lambda F, x: F.avg_pool3d(x, 2), [(2, 2, 4, 4, 6)]),
    Spec("avg_pool3d_ceil_pad", lambda F, x: F.avg_pool3d(x, 3, 2, 1, ceil_mode=True), [(1, 2, 5, 6, 7)]),
    Spec("avg_pool3d_exclude_pad", lambda F, x: F.avg_pool3d(x, (3, 2, 3), 2, (1, 1, 0), ceil_mode=True,
                                                             count_include_pad=False), [(1, 2, 5, 6, 7)]),
    Spec("avg_pool3d_divisor_unbatched", lambda F, x: F.avg_pool3d(x, 2, 1, 1, divisor_override=3),
         [(2, 3, 4, 3)]),
    Spec("adaptive_avg_pool3d", lambda F, x: F.adaptive_avg_pool3d(x, (3, 2, 4)), [(2, 2, 5, 7, 6)]),
    Spec("adaptive_avg_pool3d_none_unbatched", lambda F, x: F.adaptive_avg_pool3d(x, (2, None, 1)),
         [(2, 5, 3, 4)]),
    Spec("adaptive_max_pool3d", lambda F, x: F.adaptive_max_pool3d(x, (3, 2, 4)), [(2, 2, 5, 7, 6)]),
    Spec("adaptive_max_pool3d_with_indices", lambda F, x: F.adaptive_max_pool3d_with_indices(x, 2),
         [(3, 5, 4, 3)]),
    Spec("adaptive_max_pool2d_with_indices", lambda F, x: F.adaptive_max_pool2d_with_indices(x, (3, 2)),
         [(2, 2, 7, 5)]),
    Spec("adaptive_max_pool1d_with_indices", lambda F, x: F.adaptive_max_pool1d_with_indices(x, 3), [(2, 7)]),
    Spec("lp_pool3d", lambda F, x: F.lp_pool3d(x, 2, (2, 1, 2), ceil_mode=True),
         [Float((1, 2, 5, 4, 5), 0.5, 2.0)]),
    Spec("lp_pool3d_stride", lambda F, x: F.lp_pool3d(x, 3, 2, stride=1), [Float((2, 3, 3, 4), 0.5, 2.0)]),
    Spec("lp_pool3d_inf", lambda F, x: F.lp_pool3d(x, float("inf"), 2), [(1, 2, 4, 4, 4)]),
    # unpooling of independent values at the maxima of another tensor
    Spec("max_unpool1d", lambda F, x, y: F.max_unpool1d(x, F.max_pool1d(y, 3, 3, 1, return_indices=True)[1], 3,
                                                        3, 1, (8,)), [(2, 3, 3), Float((2, 3, 8), grad=False)]),
    Spec("max_unpool2d_output_size", lambda F, x, y: F.max_unpool2d(
        x, F.max_pool2d(y, 2, return_indices=True)[1], 2, output_size=(5, 5)),
        [(1, 2, 2, 2), Float((1, 2, 5, 5), grad=False)]),
    Spec("max_unpool3d_unbatched", lambda F, x, y: F.max_unpool3d(
        x, F.max_pool3d(y, 2, return_indices=True)[1], 2, output_size=(4, 3, 4)),
        [(2, 2, 1, 2), Float((2, 4, 3, 4), grad=False)]),
    Spec("max_unpool3d_round_trip", lambda F, x: F.max_unpool3d(*F.max_pool3d(x, 2, return_indices=True), 2,
                                                                output_size=(3, 4, 5)), [(1, 2, 3, 4, 5)]),
    Spec("fractional_max_pool2d", lambda F, x, u: F.fractional_max_pool2d(x, (3, 2), (5, 4), _random_samples=u),
         [(2, 2, 11, 9), _samples((2, 2, 2))]),
    Spec("fractional_max_pool2d_ratio_unbatched", lambda F, x, u: F.fractional_max_pool2d_with_indices(
        x, 2, output_ratio=(0.5, 0.5), _random_samples=u), [(3, 9, 8), _samples((1, 3, 2))]),
    Spec("fractional_max_pool3d", lambda F, x, u: F.fractional_max_pool3d(x, 2, (3, 4, 3), _random_samples=u),
         [(2, 2, 6, 7, 8), _samples((2, 2, 3))]),
    Spec("fractional_max_pool3d_ratio_unbatched", lambda F, x, u: F.fractional_max_pool3d_with_indices(
        x, (1, 2, 3), output_ratio=(0.5, 0.6, 0.7), _random_samples=u), [(2, 5, 6, 9), _samples((1, 2, 3))]),
]


@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_gradcheck(spec):
    check_gradcheck(spec)


@pytest.mark.parity
@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_torch_parity(spec):
    pytest.importorskip("torch")
    check_parity(spec)


@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_requires_grad_subsets(spec):
    for subset in requires_grad_subsets(spec):
        check_requires_grad_subset(spec, subset)


@pytest.mark.parity
@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_torch_parity_when_no_input_requires_grad(spec):
    pytest.importorskip("torch")
    check_parity(spec, requires_grad=frozenset())  # no graph, no gradient, the same values


def _both(fn, *arrays):
    """``fn`` run by ember and by torch on the same arrays."""
    import torch

    ours = fn(F, *(ember.tensor(a) for a in arrays))
    theirs = fn(torch.nn.functional, *(torch.tensor(a) for a in arrays))
    return ours, theirs


INDEXED = [
    ("max_pool1d", lambda F, x: F.max_pool1d(x, 3, 2, 1, ceil_mode=True, return_indices=True), (2, 3, 10)),
    ("max_pool2d_dilated", lambda F, x: F.max_pool2d_with_indices(x, 2, 1, 1, dilation=2), (2, 7, 6)),
    ("max_pool3d", lambda F, x: F.max_pool3d(x, 2, return_indices=True), (2, 2, 4, 5, 6)),
    ("max_pool3d_ceil_pad", lambda F, x: F.max_pool3d_with_indices(x, 3, 2, 1, ceil_mode=True), (2, 6, 5, 7)),
    ("adaptive_max_pool1d", lambda F, x: F.adaptive_max_pool1d(x, 4, return_indices=True), (2, 3, 9)),
    ("adaptive_max_pool3d", lambda F, x: F.adaptive_max_pool3d(x, (2, 3, 2), True), (2, 2, 5, 7, 4)),
    ("adaptive_max_pool3d_unbatched", lambda F, x: F.adaptive_max_pool3d_with_indices(x, 3), (2, 5, 4, 6)),
]


@pytest.mark.parity
@pytest.mark.parametrize("case", INDEXED, ids=[c[0] for c in INDEXED])
def test_indices_equal_torch(case):
    pytest.importorskip("torch")
    _, fn, shape = case
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    (out, idx), (their_out, their_idx) = _both(fn, x)
    assert idx.dtype == ember.int64
    np.testing.assert_array_equal(idx.numpy(), their_idx.numpy())
    np.testing.assert_array_equal(out.numpy(), their_out.numpy())


@pytest.mark.parity
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fractional_max_pool_with_given_samples_equals_torch_exactly(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    cases = [("fractional_max_pool2d", (3, 4, 13, 11), (3, 2), {"output_size": (6, 5)}),
             ("fractional_max_pool2d", (3, 4, 13, 11), 2, {"output_ratio": (0.7, 0.4)}),
             ("fractional_max_pool3d", (2, 3, 9, 8, 10), (2, 3, 2), {"output_size": (4, 5, 6)}),
             ("fractional_max_pool3d", (3, 9, 8, 10), 2, {"output_ratio": 0.5})]
    for name, shape, kernel, kwargs in cases:
        x = rng.standard_normal(shape).astype(dtype)
        dims = 2 if name.endswith("2d") else 3
        u = rng.uniform(size=(shape[0] if len(shape) == dims + 2 else 1, shape[-dims - 1], dims)).astype(dtype)
        ours = getattr(F, name)(ember.tensor(x), kernel, return_indices=True, _random_samples=ember.tensor(u),
                                **kwargs)
        theirs = getattr(torch.nn.functional, name)(torch.tensor(x), kernel, return_indices=True,
                                                    _random_samples=torch.tensor(u), **kwargs)
        np.testing.assert_array_equal(ours[0].numpy(), theirs[0].numpy(), err_msg=name)
        np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy(), err_msg=name)


@pytest.mark.parity
def test_max_unpool_round_trips_every_dimension_as_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    for dims, shape in ((1, (2, 3, 7)), (2, (2, 5, 7)), (3, (1, 2, 5, 4, 6))):
        x = rng.standard_normal(shape).astype(np.float32)
        pool, unpool = f"max_pool{dims}d", f"max_unpool{dims}d"
        size = shape[-dims:]

        def round_trip(F, t):
            out, idx = getattr(F, pool)(t, 2, return_indices=True)
            return getattr(F, unpool)(out, idx, 2, output_size=size)

        ours, theirs = _both(round_trip, x)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        # every maximum is back in place, the rest is zero
        kept = ours.numpy() != 0
        np.testing.assert_array_equal(ours.numpy()[kept], x[kept])


LAYERS = [
    ("MaxPool3d", lambda nn: nn.MaxPool3d((2, 3, 2), stride=(1, 2, 2), padding=1, ceil_mode=True),
     (2, 2, 4, 6, 5)),
    ("MaxPool3d_indices", lambda nn: nn.MaxPool3d(2, return_indices=True), (2, 4, 4, 4)),
    ("AvgPool3d", lambda nn: nn.AvgPool3d(3, 2, 1, ceil_mode=True, count_include_pad=False), (1, 2, 5, 6, 7)),
    ("AvgPool3d_divisor", lambda nn: nn.AvgPool3d(2, divisor_override=5), (1, 2, 4, 4, 4)),
    ("AdaptiveAvgPool3d", lambda nn: nn.AdaptiveAvgPool3d((2, None, 3)), (2, 2, 5, 4, 7)),
    ("AdaptiveMaxPool3d", lambda nn: nn.AdaptiveMaxPool3d(2, return_indices=True), (2, 2, 5, 4, 7)),
    ("AdaptiveMaxPool1d", lambda nn: nn.AdaptiveMaxPool1d(3, return_indices=True), (2, 2, 7)),
    ("LPPool3d", lambda nn: nn.LPPool3d(2, 2), (1, 2, 4, 4, 4)),
    ("LPPool1d", lambda nn: nn.LPPool1d(1.5, 3, stride=2), (1, 2, 9)),
]


@pytest.mark.parity
@pytest.mark.parametrize("case", LAYERS, ids=[c[0] for c in LAYERS])
def test_layers_match_torch(case):
    torch = pytest.importorskip("torch")
    _, make, shape = case
    x = np.abs(np.random.default_rng(2).standard_normal(shape)).astype(np.float32) + 0.1
    ours, theirs = make(nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    oe, ot = ours(xe), theirs(xt)
    if isinstance(ot, tuple):
        np.testing.assert_array_equal(oe[1].numpy(), ot[1].numpy())
        oe, ot = oe[0], ot[0]
    np.testing.assert_allclose(oe.detach().numpy(), ot.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = np.random.default_rng(3).standard_normal(tuple(ot.shape)).astype(np.float32)
    (oe * ember.tensor(g)).sum().backward()
    (ot * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parity
def test_unpool_and_fractional_layers_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 6, 5, 7)).astype(np.float32)
    for lib, tensor in ((nn, ember.tensor), (torch.nn, torch.tensor)):
        pool, unpool = lib.MaxPool3d(2, stride=1, return_indices=True), lib.MaxUnpool3d(2, stride=1)
        out = unpool(*pool(tensor(x)), output_size=[2, 3, 6, 5, 7])
        if lib is nn:
            ours, our_repr = out.numpy(), repr(unpool)
        else:
            np.testing.assert_array_equal(ours, out.numpy())
            assert our_repr == repr(unpool)
    u = rng.uniform(size=(2, 3, 3)).astype(np.float32)
    ours = nn.FractionalMaxPool3d((2, 1, 3), output_ratio=0.5, return_indices=True,
                                  _random_samples=ember.tensor(u))
    theirs = torch.nn.FractionalMaxPool3d((2, 1, 3), output_ratio=0.5, return_indices=True,
                                          _random_samples=torch.tensor(u))
    (a, i), (b, j) = ours(ember.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(i.numpy(), j.numpy())
    assert "_random_samples" in dict(ours.named_buffers())


def test_fractional_max_pool_draws_samples_from_embers_generator():
    x = ember.randn(2, 3, 12, 12)
    layer = nn.FractionalMaxPool2d(2, output_size=5, return_indices=True)
    ember.manual_seed(7)
    out, first = layer(x)
    ember.manual_seed(7)
    _, again = layer(x)
    _, later = layer(x)
    assert tuple(out.shape) == (2, 3, 5, 5)
    np.testing.assert_array_equal(first.numpy(), again.numpy())  # the seed fixes the windows
    assert not np.array_equal(again.numpy(), later.numpy())  # each call draws new ones
    # every index points inside its plane and at that plane's maximum of its window's values
    flat = x.numpy().reshape(2, 3, -1)
    np.testing.assert_array_equal(np.take_along_axis(flat, first.numpy().reshape(2, 3, -1), 2),
                                  out.numpy().reshape(2, 3, -1))


@pytest.mark.parametrize("pool", [
    lambda x: F.max_pool3d(x, 2, 1, 1, ceil_mode=True),
    lambda x: F.avg_pool3d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
    lambda x: F.adaptive_avg_pool3d(x, (2, 3, 2)),
    lambda x: F.adaptive_max_pool3d(x, (2, 3, 2)),
    lambda x: F.fractional_max_pool3d(x, 2, 2, _random_samples=ember.tensor([[[0.3, 0.6, 0.9]] * 2],
                                                                            dtype=ember.float64)),
], ids=["max", "avg", "adaptive_avg", "adaptive_max", "fractional"])
def test_pooling_is_differentiable_twice(pool):
    x = ember.tensor(np.random.default_rng(6).standard_normal((1, 2, 4, 5, 4)), requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda t: pool(t) ** 2, (x,))


@pytest.mark.parity
def test_gradient_penalty_through_pooling_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(7).standard_normal((2, 2, 4, 4, 4)).astype(np.float32)
    grads = []
    for lib, functional in ((ember, F), (torch, torch.nn.functional)):
        t = lib.tensor(x, requires_grad=True)
        y = (functional.avg_pool3d(functional.max_pool3d(t, 2, 1) ** 2, 2) ** 3).sum()
        (g,) = lib.autograd.grad(y, t, create_graph=True)
        (g ** 2).sum().backward()
        grads.append(t.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-4, atol=1e-5)


def test_max_unpool_gradient_is_differentiable_twice():
    x = ember.randn(1, 1, 2, 2, 2, dtype=ember.float64, requires_grad=True)
    _, idx = F.max_pool3d(ember.randn(1, 1, 4, 4, 4, dtype=ember.float64), 2, return_indices=True)
    assert ember.autograd.gradgradcheck(lambda t: F.max_unpool3d(t, idx, 2) ** 2, (x,))


def test_errors_name_the_shape_at_fault():
    with pytest.raises(RuntimeError, match=r"max_pool3d.*4-d \(unbatched\) or 5-d.*\(1, 1, 4\)"):
        F.max_pool3d(ember.randn(1, 1, 4), 2)
    with pytest.raises(RuntimeError, match=r"avg_pool3d.*\(1, 1, 1, 2, 2\) is too small"):
        F.avg_pool3d(ember.randn(1, 1, 1, 2, 2), 2)
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        F.max_pool3d(ember.randn(1, 1, 4, 4, 4), 2, padding=(0, 2, 0))
    with pytest.raises(RuntimeError, match=r"stride must be greater than zero.*\(1, 1, 4, 4, 4\)"):
        F.avg_pool3d(ember.randn(1, 1, 4, 4, 4), 2, stride=(1, 0, 1))
    with pytest.raises(RuntimeError, match="adaptive_avg_pool3d: output_size must be 3"):
        F.adaptive_avg_pool3d(ember.randn(1, 1, 4, 4, 4), (2, 2))
    with pytest.raises(RuntimeError, match="divisor must be not zero"):
        F.avg_pool3d(ember.randn(1, 1, 4, 4, 4), 2, divisor_override=0)


def test_unpool_errors_name_the_argument_at_fault():
    x = ember.randn(1, 1, 2, 2)
    with pytest.raises(RuntimeError, match=r"invalid max index: 100 \(output volumes are of size 4x4\)"):
        F.max_unpool2d(x, ember.tensor([[[[0, 1], [2, 100]]]]), 2)
    with pytest.raises(RuntimeError, match=r"indices.*\(1, 1, 2, 2\).*\(1, 1, 2, 3\)"):
        F.max_unpool2d(x, ember.zeros(1, 1, 2, 3, dtype=ember.int64), 2)
    with pytest.raises(RuntimeError, match="int64"):
        F.max_unpool2d(x, ember.zeros(1, 1, 2, 2), 2)
    with pytest.raises(ValueError, match=r'invalid output_size "\(7, 7\)" \(dim 0 must be between 2 and 6\)'):
        F.max_unpool2d(x, ember.zeros(1, 1, 2, 2, dtype=ember.int64), 2, output_size=(7, 7))
    with pytest.raises(ValueError, match="2 or 4 elements"):
        F.max_unpool2d(x, ember.zeros(1, 1, 2, 2, dtype=ember.int64), 2, output_size=(4, 4, 4))


def test_fractional_errors_name_the_argument_at_fault():
    x = ember.randn(2, 3, 5, 5)
    with pytest.raises(RuntimeError, match=r"pool height 4 too large relative to input height 5.*\(2, 3, 5, 5\)"):
        F.fractional_max_pool2d(x, 4, output_size=3)
    with pytest.raises(ValueError, match="either an output_size or an output_ratio"):
        F.fractional_max_pool3d(ember.randn(1, 1, 5, 5, 5), 2)
    with pytest.raises(RuntimeError, match=r"size\(0\) no less then input batch size.*\(1, 3, 2\)"):
        F.fractional_max_pool2d(x, 2, output_size=3, _random_samples=ember.rand(1, 3, 2))
    with pytest.raises(RuntimeError, match=r"size\(1\) equals to input channel size.*\(2, 2, 2\)"):
        F.fractional_max_pool2d(x, 2, output_size=3, _random_samples=ember.rand(2, 2, 2))
    with pytest.raises(RuntimeError, match=r"size\(2\) equals to 3; got 2"):
        F.fractional_max_pool3d(ember.randn(1, 1, 5, 5, 5), 2, output_size=3, _random_samples=ember.rand(1, 1, 2))
    with pytest.raises(RuntimeError, match="same dtype as input"):
        F.fractional_max_pool2d(x, 2, output_size=3, _random_samples=ember.rand(2, 3, 2, dtype=ember.float64))
    with pytest.raises(ValueError, match=r"output_ratio must be between 0 and 1 \(got 1.5\)"):
        nn.FractionalMaxPool2d(2, output_ratio=1.5)
    with pytest.raises(ValueError, match="only one of output_size and output_ratio"):
        nn.FractionalMaxPool3d(2, output_size=2, output_ratio=0.5)
    with pytest.raises(ValueError, match="FractionalMaxPool2d requires specifying either"):
        nn.FractionalMaxPool2d(2)


@pytest.mark.parity
def test_float16_where_torch_has_it_and_an_error_naming_op_and_dtype_where_not():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 5, 6, 7)).astype(np.float16)
    u = rng.uniform(size=(2, 3, 3)).astype(np.float16)
    cases = [lambda F, t, u: F.max_pool3d(t, 2, 1, 1, return_indices=True),
             lambda F, t, u: F.adaptive_max_pool3d(t, (2, 3, 4), True),
             lambda F, t, u: (F.adaptive_avg_pool3d(t, (2, 3, 4)),),
             lambda F, t, u: (F.avg_pool2d(t[0], 3, 2, 1),),
             lambda F, t, u: F.fractional_max_pool3d(t, 2, (3, 4, 5), return_indices=True, _random_samples=u),
             lambda F, t, u: (F.max_unpool3d(*F.max_pool3d(t, 2, return_indices=True), 2, output_size=(5, 6, 7)),)]
    for fn in cases:
        ours = fn(F, ember.tensor(x), ember.tensor(u))
        theirs = fn(torch.nn.functional, torch.tensor(x), torch.tensor(u))
        assert ours[0].dtype == ember.float16
        np.testing.assert_allclose(ours[0].numpy(), theirs[0].numpy(), atol=1e-3)
        for a, b in zip(ours[1:], theirs[1:]):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(NotImplementedError, match="\"avg_pool3d\" not implemented for 'Half'"):
        F.avg_pool3d(ember.tensor(x), 2)
