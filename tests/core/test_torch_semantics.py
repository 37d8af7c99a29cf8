"""Places where numpy's defaults differ from PyTorch and Ember follows PyTorch (issue 19, section 1).

Each test runs the same thing through torch where torch is needed to know the answer: ties and NaNs in
max/min gradients, zero-gradient rounding ops, loss edge cases, antialiased resizing, comparison with
None, integer division by zero, softmax of integers, numpy's floating-point warnings, channel dropout
of inputs without channel dimensions.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
from ember import nn
from ember.nn import functional as F

TIES = [[1.0, 3.0, 3.0], [2.0, 2.0, 1.0], [5.0, 5.0, 5.0], [np.nan, 1.0, np.nan]]


def _both(torch, values, dtype=np.float32, requires_grad=True):
    array = np.array(values, dtype)
    return ember.tensor(array, requires_grad=requires_grad), torch.tensor(array, requires_grad=requires_grad)


def _same(ember_tensor, torch_tensor, rtol=0.0, atol=0.0):
    # force=True: torch's gradient of a zero-gradient op is a "ZeroTensor"
    expected = torch_tensor.detach().numpy(force=True)
    np.testing.assert_allclose(ember_tensor.detach().numpy(), expected, rtol=rtol, atol=atol)


# --- max / min ties, argmax shape, maximum / minimum / fmax / fmin with NaN -------------------------------
@pytest.mark.parity
@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_along_a_dim_give_the_whole_gradient_to_the_returned_index(name, dim, keepdim):
    torch = pytest.importorskip("torch")
    e, t = _both(torch, TIES)
    (ev, ei), (tv, ti) = getattr(e, name)(dim, keepdim=keepdim), getattr(t, name)(dim, keepdim=keepdim)
    weights = np.arange(1.0, 1.0 + ev.numel(), dtype=np.float32).reshape(tuple(ev.shape))
    (ev * ember.tensor(weights)).sum().backward()
    (tv * torch.tensor(weights)).sum().backward()
    _same(ev, tv)
    np.testing.assert_array_equal(ei.numpy(), ti.numpy())
    _same(e.grad, t.grad)


@pytest.mark.parity
@pytest.mark.parametrize("call", [lambda x: x.max(), lambda x: x.min(), lambda x: x.amax(1),
                                  lambda x: x.amin(0), lambda x: x.amax((0, 1))])
def test_full_max_min_and_amax_amin_share_the_gradient_between_ties(call):
    torch = pytest.importorskip("torch")
    e, t = _both(torch, TIES[:3])
    call(e).sum().backward()
    call(t).sum().backward()
    _same(e.grad, t.grad, atol=1e-7)


@pytest.mark.parity
@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("shape", [(2, 3, 4), (5,), ()])
def test_argmax_without_dim_keeps_every_dimension_with_keepdim(name, shape):
    torch = pytest.importorskip("torch")
    values = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    e = getattr(ember, name)(ember.tensor(values), keepdim=True)
    t = getattr(torch, name)(torch.tensor(values), keepdim=True)
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(e.numpy(), t.numpy())


@pytest.mark.parity
@pytest.mark.parametrize("name", ["maximum", "minimum", "fmax", "fmin"])
def test_maximum_minimum_fmax_fmin_route_nan_and_tie_gradients_as_torch(name):
    torch = pytest.importorskip("torch")
    nan = np.nan
    ea, ta = _both(torch, [nan, 1.0, nan, 2.0, 3.0, -1.0])
    eb, tb = _both(torch, [1.0, nan, nan, 2.0, 1.0, 4.0])
    e, t = getattr(ember, name)(ea, eb), getattr(torch, name)(ta, tb)
    np.testing.assert_array_equal(e.detach().numpy(), t.detach().numpy())  # NaNs in the same places
    e.sum().backward()
    t.sum().backward()
    _same(ea.grad, ta.grad)
    _same(eb.grad, tb.grad)


# --- rounding ops: recorded, zero gradient ---------------------------------------------------------------
ROUNDING = {
    "round": lambda m, x: x.round(),
    "round_decimals": lambda m, x: m.round(x, decimals=1),
    "floor": lambda m, x: x.floor(),
    "ceil": lambda m, x: x.ceil(),
    "trunc": lambda m, x: x.trunc(),
    "sign": lambda m, x: x.sign(),
    "sgn": lambda m, x: x.sgn(),
    "frac": lambda m, x: x.frac(),
    "div_trunc": lambda m, x: x.div(0.7, rounding_mode="trunc"),
    "div_floor": lambda m, x: x.div(0.7, rounding_mode="floor"),
}


@pytest.mark.parity
@pytest.mark.parametrize("name", sorted(ROUNDING))
def test_rounding_ops_are_recorded_with_a_zero_gradient(name):
    torch = pytest.importorskip("torch")
    e, t = _both(torch, [0.5, 1.5, -2.7, 3.25, -0.0, 2.0])
    ey, ty = ROUNDING[name](ember, e), ROUNDING[name](torch, t)
    assert ey.requires_grad == ty.requires_grad
    _same(ey, ty, atol=1e-6)
    (ey * 3).sum().backward()
    (ty * 3).sum().backward()
    _same(e.grad, t.grad)


@pytest.mark.parity
@pytest.mark.parametrize("name", ["round", "floor", "ceil", "trunc", "sign"])
def test_rounding_ops_keep_integer_tensors_integer(name):
    torch = pytest.importorskip("torch")
    values = np.array([-3, 0, 7])
    e, t = getattr(ember, name)(ember.tensor(values)), getattr(torch, name)(torch.tensor(values))
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    np.testing.assert_array_equal(e.numpy(), t.numpy())


# --- losses ---------------------------------------------------------------------------------------------
CROSS_ENTROPY = {
    "mean": {"reduction": "mean"},
    "sum": {"reduction": "sum"},
    "none": {"reduction": "none"},
    "weight": {"weight": [1.0, 2.0, 0.5, 1.0]},
    "smoothing": {"label_smoothing": 0.1},
}


@pytest.mark.parity
@pytest.mark.parametrize("loss, case", [("cross_entropy", case) for case in sorted(CROSS_ENTROPY)]
                         + [("nll_loss", case) for case in sorted(CROSS_ENTROPY) if case != "smoothing"])
def test_losses_with_every_target_ignored_give_zero_gradients(loss, case):
    torch = pytest.importorskip("torch")
    kwargs = dict(CROSS_ENTROPY[case])
    logits = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    e, t = _both(torch, logits)
    target = np.full(3, 2)
    e_kwargs, t_kwargs = dict(kwargs), dict(kwargs)
    if "weight" in kwargs:
        e_kwargs["weight"] = ember.tensor(kwargs["weight"])
        t_kwargs["weight"] = torch.tensor(kwargs["weight"])
    e_in, t_in = (e, t) if loss == "cross_entropy" else (e.log_softmax(1), t.log_softmax(1))
    e_loss = getattr(F, loss)(e_in, ember.tensor(target), ignore_index=2, **e_kwargs)
    t_loss = getattr(torch.nn.functional, loss)(t_in, torch.tensor(target), ignore_index=2, **t_kwargs)
    _same(e_loss, t_loss)  # nan for the mean, as torch
    e_loss.sum().backward()
    t_loss.sum().backward()
    _same(e.grad, t.grad)
    assert np.all(e.grad.numpy() == 0)


@pytest.mark.parity
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("module", [False, True])
def test_binary_cross_entropy_clamps_the_log_at_minus_100_with_finite_gradients(reduction, dtype, module):
    torch = pytest.importorskip("torch")
    ep, tp = _both(torch, [0.0, 1.0, 0.0, 1.0, 0.5, 1e-30, 0.9, 0.0], dtype)
    ey, ty = _both(torch, [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.3, 0.3], dtype)
    weight = np.linspace(0.5, 2.0, 8).astype(dtype)
    if module:
        e_loss = nn.BCELoss(ember.tensor(weight), reduction=reduction)(ep, ey)
        t_loss = torch.nn.BCELoss(torch.tensor(weight), reduction=reduction)(tp, ty)
    else:
        e_loss = F.binary_cross_entropy(ep, ey, ember.tensor(weight), reduction=reduction)
        t_loss = torch.nn.functional.binary_cross_entropy(tp, ty, torch.tensor(weight), reduction=reduction)
    _same(e_loss, t_loss, rtol=1e-6)
    e_loss.sum().backward()
    t_loss.sum().backward()
    assert np.all(np.isfinite(ep.grad.numpy()))
    _same(ep.grad, tp.grad, rtol=1e-5)
    interior = slice(4, 5), slice(6, 7)  # the target's gradient is -logit(p): infinite at p = 0 and 1
    for part in interior:
        _same(ey.grad[part], ty.grad[part], rtol=1e-5)


@pytest.mark.parity
def test_binary_cross_entropy_has_torch_second_derivative():
    torch = pytest.importorskip("torch")
    ep, tp = _both(torch, [0.2, 0.7, 0.5], np.float64)
    y = np.array([0.0, 1.0, 0.25])
    (eg,) = ember.autograd.grad(F.binary_cross_entropy(ep, ember.tensor(y)), ep, create_graph=True)
    t_loss = torch.nn.functional.binary_cross_entropy(tp, torch.tensor(y))
    (tg,) = torch.autograd.grad(t_loss, tp, create_graph=True)
    eg.sum().backward()
    tg.sum().backward()
    _same(ep.grad, tp.grad, rtol=1e-10)


# --- interpolate(antialias=True) ------------------------------------------------------------------------
ANTIALIAS = {
    "down_size": {"size": (3, 5)},
    "down_odd": {"size": (4, 2)},
    "down_scale": {"scale_factor": 0.4},
    "down_scale_recompute": {"scale_factor": (0.5, 0.3), "recompute_scale_factor": True},
    "down_align_corners": {"size": (3, 4), "align_corners": True},
    "up": {"size": (12, 15)},
    "mixed": {"size": (14, 3)},
}


@pytest.mark.parity
@pytest.mark.parametrize("case", sorted(ANTIALIAS))
def test_interpolate_bilinear_antialias_matches_torch(case):
    torch = pytest.importorskip("torch")
    values = np.random.default_rng(2).standard_normal((2, 3, 9, 11))
    e, t = _both(torch, values, np.float64)
    kwargs = ANTIALIAS[case]
    ey = F.interpolate(e, mode="bilinear", antialias=True, **kwargs)
    ty = torch.nn.functional.interpolate(t, mode="bilinear", antialias=True, **kwargs)
    assert tuple(ey.shape) == tuple(ty.shape)
    _same(ey, ty, atol=1e-10)
    weights = np.random.default_rng(3).standard_normal(tuple(ty.shape))
    (ey * ember.tensor(weights)).sum().backward()
    (ty * torch.tensor(weights)).sum().backward()
    _same(e.grad, t.grad, atol=1e-10)


@pytest.mark.parity
def test_interpolate_antialias_float32_matches_torch():
    torch = pytest.importorskip("torch")
    values = np.random.default_rng(4).standard_normal((1, 2, 32, 24)).astype(np.float32)
    e, t = _both(torch, values, requires_grad=False)
    ey = F.interpolate(e, size=(7, 10), mode="bilinear", antialias=True)
    ty = torch.nn.functional.interpolate(t, size=(7, 10), mode="bilinear", antialias=True)
    assert ey.dtype == ember.float32
    _same(ey, ty, atol=1e-5)
    # and it is not the plain (aliased) bilinear resize
    assert not np.allclose(ey.numpy(), F.interpolate(e, size=(7, 10), mode="bilinear").numpy(), atol=1e-3)


@pytest.mark.parity
@pytest.mark.parametrize("mode, shape", [("nearest", (1, 1, 8, 8)), ("linear", (1, 1, 8)),
                                         ("area", (1, 1, 8, 8)), ("bilinear", (1, 1, 8, 8, 8))])
def test_interpolate_antialias_with_another_mode_raises_as_torch(mode, shape):
    torch = pytest.importorskip("torch")
    size = (4,) * (len(shape) - 2)
    with pytest.raises(ValueError, match="Anti-alias option is restricted"):
        torch.nn.functional.interpolate(torch.zeros(shape), size=size, mode=mode, antialias=True)
    with pytest.raises(ValueError, match="Anti-alias option is restricted"):
        F.interpolate(ember.zeros(*shape), size=size, mode=mode, antialias=True)


# --- comparisons with None, integer division by zero, softmax of integers --------------------------------
def test_tensor_compared_with_none_is_not_equal():
    t = ember.tensor([1.0, 2.0])
    assert (t == None) is False
    assert (t != None) is True
    assert (None == t) is False
    assert t is not None and t in [None, t]


@pytest.mark.parity
@pytest.mark.parametrize("expression", [
    lambda m: m.tensor([1, 2]) // 0,
    lambda m: m.tensor([1, 2]) % 0,
    lambda m: m.tensor([4, 6]) // m.tensor([2, 0]),
    lambda m: 5 % m.tensor([0]),
    lambda m: m.floor_divide(m.tensor([3], dtype=m.int32), 0),
    lambda m: m.remainder(m.tensor([3], dtype=m.uint8), m.tensor([0], dtype=m.uint8)),
    lambda m: m.tensor([3]).div(0, rounding_mode="trunc"),
    lambda m: m.tensor([3]).div(m.tensor([0]), rounding_mode="floor"),
])
def test_integer_division_by_zero_raises_as_torch(expression):
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        expression(torch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            expression(ember)


@pytest.mark.parity
def test_float_floor_division_by_zero_is_infinite_like_torch():
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        e = ember.tensor([1.0, -1.0, 0.0]) // 0
        r = ember.tensor([1, 2]) // 0.0
    np.testing.assert_array_equal(e.numpy(), (torch.tensor([1.0, -1.0, 0.0]) // 0).numpy())
    np.testing.assert_array_equal(r.numpy(), (torch.tensor([1, 2]) // 0.0).numpy())


@pytest.mark.parity
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, -1])
def test_softmax_of_an_integer_tensor_raises_as_torch(name, dim):
    torch = pytest.importorskip("torch")
    values = np.array([[1, 2], [3, 4]])
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        getattr(torch.nn.functional, name)(torch.tensor(values), dim)
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        getattr(F, name)(ember.tensor(values), dim)
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        getattr(ember.tensor(values), name)(dim)
    # with a float dtype the input is converted first, as in torch
    _same(getattr(F, name)(ember.tensor(values), dim, dtype=ember.float64),
          getattr(torch.nn.functional, name)(torch.tensor(values), dim, dtype=torch.float64), rtol=1e-12)


# --- numpy's floating-point warnings --------------------------------------------------------------------
def _warning_makers():
    x = ember.zeros(3, requires_grad=True)
    big = ember.tensor([100.0, 1000.0], requires_grad=True)
    return {
        "log0": lambda: ember.log(ember.zeros(1)),
        "one_over_zero": lambda: 1 / ember.zeros(2),
        "zero_over_zero": lambda: ember.zeros(2) / ember.zeros(2),
        "sqrt_negative": lambda: ember.sqrt(ember.tensor([-1.0])),
        "exp_overflow": lambda: ember.exp(ember.tensor([1000.0])),
        "pow_overflow": lambda: ember.tensor([1e30]) ** 4,
        "float_floor_division": lambda: ember.tensor([1.0]) // 0,
        "float_remainder": lambda: ember.tensor([1.0]) % 0,
        "nan_to_long": lambda: ember.tensor([float("nan"), 1e30]).long(),
        "inf_times_zero": lambda: ember.tensor([float("inf")]) * 0,
        "log_backward": lambda: ember.log(x).sum().backward(),
        "sqrt_backward": lambda: ember.sqrt(x).sum().backward(),
        "exp_backward": lambda: (ember.exp(big) * 0).sum().backward(),
        "log_softmax_inf": lambda: F.log_softmax(ember.tensor([float("inf"), 1.0]), 0),
        "tensor_overflow": lambda: ember.tensor([1e40, 1.0]),
        "mean_of_nothing": lambda: ember.zeros(0, 3).mean(),
    }


@pytest.mark.parametrize("name", sorted(_warning_makers()))
def test_numpy_floating_point_warnings_never_reach_the_user(name, recwarn):
    make = _warning_makers()[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make()
    make()
    assert [str(w.message) for w in recwarn] == []


def test_numpy_error_state_of_the_user_is_left_alone():
    before = np.geterr()
    ember.log(ember.zeros(1))
    with pytest.raises(RuntimeError):
        ember.ones(2) + ember.ones(3)  # an op that raises leaves the state as it was, too
    assert np.geterr() == before
    with np.errstate(divide="raise"):
        ember.log(ember.zeros(1))  # Ember's own ops stay quiet ...
        with pytest.raises(FloatingPointError):
            np.log(np.zeros(1))  # ... and the user's numpy keeps the user's settings
        ember.sqrt(ember.zeros(2, requires_grad=True)).sum().backward()  # a backward pass, too
        with pytest.raises(FloatingPointError):
            np.log(np.zeros(1))
    assert np.geterr() == before


# --- channel dropout of inputs without channel dims -----------------------------------------------------
def _torch_warnings(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [str(w.message) for w in caught]


@pytest.mark.parity
@pytest.mark.parametrize("name, shape", [  # leading sizes large enough that no mask is constant by chance
    ("dropout2d", (40, 50)), ("dropout2d", (30, 30, 6)), ("dropout2d", (30, 30, 2, 3, 4)),
    ("dropout2d", (30, 30, 4, 6)), ("dropout3d", (200,)), ("dropout3d", (40, 50)), ("dropout3d", (30, 3, 6)),
    ("dropout3d", (30, 3, 4, 6)), ("dropout3d", (30, 30, 2, 3, 4)), ("dropout3d", (30, 2, 2, 2, 2, 3)),
])
@pytest.mark.parametrize("training", [True, False])
def test_channel_dropout_warns_and_masks_like_torch_for_any_number_of_dims(name, shape, training):
    torch = pytest.importorskip("torch")
    ember.manual_seed(0)
    expected = _torch_warnings(lambda: getattr(torch.nn.functional, name)(torch.ones(shape), 0.5, training))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = getattr(F, name)(ember.ones(*shape), 0.5, training)
    assert [str(w.message) for w in caught] == expected
    assert all(w.filename == __file__ for w in caught)  # pointed at the caller
    # which elements share a mask: torch keeps or drops whole groups of the same shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_out = getattr(torch.nn.functional, name)(torch.ones(shape), 0.5, training).numpy()
    assert _group_shape(out.numpy()) == _group_shape(t_out)


def _group_shape(y):
    """The trailing axes along which the dropout mask is constant (the 'channel' granularity)."""
    axes = 0
    for axis in range(y.ndim - 1, -1, -1):
        if not np.all(y == y.take([0], axis=axis)):
            break
        axes += 1
    return axes


@pytest.mark.parity
@pytest.mark.parametrize("name", ["Dropout2d", "Dropout3d"])
def test_channel_dropout_layers_on_plain_inputs_warn_and_drop_elements(name):
    torch = pytest.importorskip("torch")
    shape = (300,) if name == "Dropout3d" else (30, 10)
    ember.manual_seed(0)
    expected = _torch_warnings(lambda: getattr(torch.nn, name)(0.5)(torch.ones(shape)))
    with pytest.warns(UserWarning) as caught:
        out = getattr(nn, name)(0.5)(ember.ones(*shape))
    assert [str(w.message) for w in caught] == expected
    kept = out.numpy() != 0
    assert 0.3 < kept.mean() < 0.7 and _group_shape(out.numpy()) == 0  # elementwise
    np.testing.assert_array_equal(out.numpy()[kept], 2.0)


@pytest.mark.parity
def test_dropout2d_of_a_1d_input_raises_as_torch():
    torch = pytest.importorskip("torch")
    for module, x in ((torch.nn.functional, torch.ones(5)), (F, ember.ones(5))):
        with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions"), \
                pytest.warns(UserWarning, match="Received a 1-D input to dropout2d"):
            module.dropout2d(x)


@pytest.mark.parity
@pytest.mark.parametrize("values", [(1, 0), (1, 0.5), (True, False), (2.5, -1.0)])
def test_where_with_two_numbers_gives_torchs_values_and_dtype(values):
    torch = pytest.importorskip("torch")
    x = np.array([0.2, 0.7, 0.9], dtype=np.float32)
    ours = ember.where(ember.tensor(x) > 0.5, *values)
    theirs = torch.where(torch.tensor(x) > 0.5, *values)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
