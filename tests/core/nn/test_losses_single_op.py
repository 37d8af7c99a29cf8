"""nll_loss, mse_loss, l1_loss, smooth_l1_loss and huber_loss, each one op: torch parity of the forward and of the
gradients with every requires-grad subset (input and, for the regression losses, target), every reduction, float32
and float64, 3-d and broadcast operands, second-order gradients; torch's errors and edge cases."""

from __future__ import annotations

import itertools
import warnings

import ember
import numpy as np
import pytest
from ember.nn import functional as F

REDUCTIONS = ["mean", "sum", "none"]
DTYPES = ["float32", "float64"]


def _torch():
    return pytest.importorskip("torch")


def _to(lib, a, requires_grad=False):
    if lib == "torch":
        import torch

        return torch.tensor(a, requires_grad=requires_grad)
    return ember.tensor(a, requires_grad=requires_grad)


def _run(lib, fn, arrays, requires_grad, kwargs):
    """The loss and the gradients of (loss * upstream).sum() for the inputs at ``requires_grad``."""
    functional = __import__("torch.nn.functional", fromlist=["x"]) if lib == "torch" else F
    inputs = [_to(lib, a, i in requires_grad and a.dtype.kind == "f") for i, a in enumerate(arrays)]
    kw = {k: _to(lib, v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # broadcast operands warn, in both libraries
        out = getattr(functional, fn)(*inputs, **kw)
    result = out.detach().numpy().copy()
    grads = [None] * len(arrays)
    if requires_grad:
        upstream = np.random.default_rng(3).standard_normal(result.shape).astype(result.dtype)
        (out * _to(lib, upstream)).sum().backward()
        grads = [None if t.grad is None else t.grad.numpy().copy() for t in inputs]
    return result, grads, out


def _check(fn, arrays, differentiable, kwargs=None, tol=None):
    """Ember against torch with every subset of the ``differentiable`` positions requiring grad."""
    _torch()
    kwargs = kwargs or {}
    for r in range(len(differentiable) + 1):
        for subset in itertools.combinations(differentiable, r):
            ours, our_grads, out = _run("ember", fn, arrays, subset, kwargs)
            theirs, their_grads, their_out = _run("torch", fn, arrays, subset, kwargs)
            what = f"{fn} {kwargs} requires_grad={subset}"
            assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, what
            atol, rtol = tol or ((1e-6, 1e-5) if ours.dtype == np.float32 else (1e-12, 1e-10))
            np.testing.assert_allclose(ours, theirs, atol=atol, rtol=rtol, err_msg=what)
            assert out.requires_grad == their_out.requires_grad, what
            for i, (g, h) in enumerate(zip(our_grads, their_grads)):
                if h is None:
                    assert g is None, f"{what}: input {i} got a gradient torch does not give"
                    continue
                assert g is not None and g.dtype == h.dtype and g.shape == h.shape, f"{what}: gradient {i}"
                np.testing.assert_allclose(g, h, atol=atol, rtol=rtol, err_msg=f"{what}: gradient {i}")


# --- nll_loss -----------------------------------------------------------------------------------------
def _log_probs(rng, shape, dtype):
    """Log-probabilities over axis 1 (axis 0 of a 1-d shape)."""
    if len(shape) == 1:
        return np.log(rng.dirichlet(np.ones(shape[0]))).astype(dtype)
    probs = rng.dirichlet(np.ones(shape[1]), (shape[0], *shape[2:]))
    return np.ascontiguousarray(np.log(np.moveaxis(probs, -1, 1)).astype(dtype))


NLL_CASES = {
    # name: (input shape, target, kwargs)
    "2d": ((4, 5), [0, 3, 1, 4], {}),
    "2d_weight_ignore": ((4, 5), [0, -100, 1, 4], {"weight": True}),
    "2d_custom_ignore_out_of_range": ((4, 5), [0, 7, 1, 7], {"ignore_index": 7, "weight": True}),
    "2d_ignore_a_class": ((4, 5), [0, 3, 3, 4], {"ignore_index": 3}),
    "1d": ((5,), 2, {}),
    "1d_weight": ((5,), 2, {"weight": True}),
    "3d": ((2, 3, 4), [[0, 2, 1, 1], [2, -100, 0, 1]], {"weight": True}),
    "4d": ((2, 3, 2, 2), [[[0, 2], [1, 1]], [[2, 0], [-100, 1]]], {}),
}


@pytest.mark.parity
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", sorted(NLL_CASES))
def test_nll_loss_matches_torch(case, reduction, dtype):
    shape, target, kwargs = NLL_CASES[case]
    rng = np.random.default_rng(0)
    kwargs = dict(kwargs, reduction=reduction)
    if kwargs.pop("weight", False):
        kwargs["weight"] = rng.uniform(0.5, 2.0, shape[1] if len(shape) > 1 else shape[0]).astype(dtype)
    _check("nll_loss", [_log_probs(rng, shape, dtype), np.array(target)], [0], kwargs)


@pytest.mark.parity
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss_every_target_ignored_is_nan_with_zero_gradient(weighted):
    torch = _torch()
    x = np.log(np.full((3, 4), 0.25, np.float32))
    target = np.full(3, -100)
    weight = np.array([1.0, 2.0, 3.0, 4.0], np.float32) if weighted else None
    for reduction in REDUCTIONS:
        ours = ember.tensor(x, requires_grad=True)
        theirs = torch.tensor(x, requires_grad=True)
        a = F.nll_loss(ours, ember.tensor(target), None if weight is None else ember.tensor(weight),
                       reduction=reduction)
        b = torch.nn.functional.nll_loss(theirs, torch.tensor(target),
                                         None if weight is None else torch.tensor(weight), reduction=reduction)
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())  # nan for the mean
        a.sum().backward()
        b.sum().backward()
        np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
        assert not np.signbit(ours.grad.numpy()).any()


def test_nll_loss_empty_batch():
    x = ember.zeros(0, 5, requires_grad=True)
    target = ember.zeros(0, dtype=ember.int64)
    assert np.isnan(F.nll_loss(x, target).item())
    assert F.nll_loss(x, target, reduction="sum").item() == 0
    assert F.nll_loss(x, target, reduction="none").shape == (0,)


@pytest.mark.parity
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_second_order_is_linear_in_the_upstream_gradient(reduction):
    """create_graph: the input's gradient is differentiable in the upstream gradient (PyTorch's
    NllLossBackwardBackward), here through the gradient of a sum weighted by v."""
    torch = _torch()
    rng = np.random.default_rng(1)
    x = _log_probs(rng, (2, 3, 4), np.float64)
    target = np.array([[0, 2, 1, -100], [2, 2, 0, 1]])
    weight = rng.uniform(0.5, 2.0, 3)
    upstream_value = rng.standard_normal((2, 4)) if reduction == "none" else np.array(1.5)
    results = []
    for lib, functional in (("ember", F), ("torch", torch.nn.functional)):
        xs = _to(lib, x, True)
        loss = functional.nll_loss(xs, _to(lib, target), _to(lib, weight), reduction=reduction)
        upstream = _to(lib, upstream_value, True)
        (g,) = (ember if lib == "ember" else torch).autograd.grad(loss, xs, upstream, create_graph=True)
        v = _to(lib, np.linspace(-1, 1, x.size).reshape(x.shape))
        (gg,) = (ember if lib == "ember" else torch).autograd.grad((g * v).sum(), upstream)
        results.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12, atol=1e-14)


def test_nll_loss_is_one_node_named_as_torch():
    x = ember.randn(4, 5, requires_grad=True)
    loss = F.nll_loss(F.log_softmax(x, 1), ember.tensor([0, 1, 2, 3]))
    assert loss.grad_fn.name() == "NllLossBackward"


def test_nll_loss_errors_are_torchs():
    x = ember.randn(4, 5)
    with pytest.raises(IndexError, match="target 5 is out of bounds"):
        F.nll_loss(x, ember.tensor([0, 1, 2, 5]))
    with pytest.raises(IndexError, match="target -3 is out of bounds"):
        F.nll_loss(x, ember.tensor([0, 1, 2, -3]))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte"):
        F.nll_loss(x, ember.tensor([0.0, 1.0, 2.0, 3.0]))
    with pytest.raises(RuntimeError, match="weight tensor should be defined either for all 5 classes"):
        F.nll_loss(x, ember.tensor([0, 1, 2, 3]), weight=ember.ones(4))
    with pytest.raises(ValueError, match="Expected 1 or more dimensions"):
        F.nll_loss(ember.tensor(1.0), ember.tensor(0))
    with pytest.raises(ValueError, match=r"expected target of shape \(4,\)"):
        F.nll_loss(x, ember.tensor([0, 1, 2]))
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        F.nll_loss(ember.ones(4, 5, dtype=ember.int64), ember.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.nll_loss(x, ember.tensor([0, 1, 2, 3]), reduction="avg")


def test_nll_loss_per_sample_gradients_under_vmap():
    """ember.func's per-sample gradients (the DP-SGD tutorial) of the op equal one backward per sample."""
    from ember.func import grad, vmap

    rng = np.random.default_rng(2)
    w = ember.tensor(rng.standard_normal((3, 4)))
    x = ember.tensor(rng.standard_normal((6, 3)))
    target = ember.tensor(rng.integers(0, 4, 6))

    def loss(w, sample, label):
        return F.nll_loss(F.log_softmax(sample.unsqueeze(0) @ w, 1), label.unsqueeze(0))

    batched = vmap(grad(loss), in_dims=(None, 0, 0))(w, x, target)
    for i in range(6):
        np.testing.assert_allclose(batched[i].numpy(), grad(loss)(w, x[i], target[i]).numpy(), rtol=1e-12)


# --- the regression losses ---------------------------------------------------------------------------------
REGRESSION = {
    "mse": ("mse_loss", {}),
    "l1": ("l1_loss", {}),
    "smooth_l1": ("smooth_l1_loss", {"beta": 0.5}),
    "smooth_l1_beta_1": ("smooth_l1_loss", {}),
    "smooth_l1_beta_0": ("smooth_l1_loss", {"beta": 0.0}),
    "huber": ("huber_loss", {"delta": 0.7}),
    "huber_delta_1": ("huber_loss", {}),
}
SHAPES = {
    "3d": ((2, 3, 4), (2, 3, 4)),
    "target_broadcast": ((2, 3, 4), (3, 1)),
    "both_broadcast": ((3, 1), (2, 1, 4)),
    "scalar_target": ((3, 4), ()),
}


@pytest.mark.parity
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shapes", sorted(SHAPES))
@pytest.mark.parametrize("loss", sorted(REGRESSION))
def test_regression_loss_matches_torch(loss, shapes, reduction, dtype):
    fn, kwargs = REGRESSION[loss]
    rng = np.random.default_rng(4)
    x_shape, y_shape = SHAPES[shapes]
    x = rng.standard_normal(x_shape).astype(dtype)
    y = rng.standard_normal(y_shape).astype(dtype)
    _check(fn, [x, y], [0, 1], dict(kwargs, reduction=reduction))


@pytest.mark.parity
@pytest.mark.parametrize("loss", sorted(REGRESSION))
def test_regression_loss_at_the_kinks_matches_torch(loss):
    """|d| exactly 0, beta / delta and 1: the gradient takes torch's side of each kink."""
    fn, kwargs = REGRESSION[loss]
    x = np.array([0.0, 0.5, -0.5, 0.7, -0.7, 1.0, -1.0, 2.0], np.float32)
    _check(fn, [x, np.zeros_like(x)], [0, 1], dict(kwargs, reduction="sum"))


@pytest.mark.parity
@pytest.mark.parametrize("loss", ["mse", "l1", "huber"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_regression_loss_matches_torch(loss, reduction):
    """``weight=``: mse's and l1's mean divides by the weights' sum, huber's by the element count; the weight
    gets a gradient too."""
    fn, kwargs = REGRESSION[loss]
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4))
    w = rng.uniform(0.1, 2.0, (2, 3, 4))
    torch = _torch()
    for subset in [(0,), (0, 1, 2), (2,)]:
        outs = []
        for lib, functional in (("ember", F), ("torch", torch.nn.functional)):
            ts = [_to(lib, a, i in subset) for i, a in enumerate((x, y, w))]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = getattr(functional, fn)(ts[0], ts[1], reduction=reduction, weight=ts[2], **kwargs)
            out.sum().backward()
            outs.append([out.detach().numpy()] + [ts[i].grad.numpy() for i in subset])
        for a, b in zip(*outs):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parity
def test_mixed_dtypes_promote_as_torch():
    torch = _torch()
    x = np.random.default_rng(6).standard_normal((3, 4)).astype(np.float32)
    for y in (x.astype(np.float64), np.float64(0.5) * np.ones((), np.float64), np.ones((3, 4), np.int64)):
        for fn in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
            ours = getattr(F, fn)(ember.tensor(x, requires_grad=True), ember.tensor(y))
            theirs = getattr(torch.nn.functional, fn)(torch.tensor(x, requires_grad=True), torch.tensor(y))
            assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], (fn, y.dtype)
            np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-6)


@pytest.mark.parity
@pytest.mark.parametrize("loss", sorted(REGRESSION))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_loss_second_order_matches_torch(loss, reduction):
    """create_graph=True: the gradients' own gradients in input and target, as torch's XLossBackwardBackward."""
    torch = _torch()
    fn, kwargs = REGRESSION[loss]
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4))
    v = rng.standard_normal((2, 3, 4))
    results = []
    for lib, functional in (("ember", F), ("torch", torch.nn.functional)):
        autograd = (ember if lib == "ember" else torch).autograd
        xs, ys = _to(lib, x, True), _to(lib, y, True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = getattr(functional, fn)(xs, ys, reduction=reduction, **kwargs)
        gx, gy = autograd.grad(out.sum(), (xs, ys), create_graph=True)
        second = autograd.grad((gx * _to(lib, v)).sum() + (gy * gy).sum(), (xs, ys), allow_unused=True)
        results.append([gx.detach().numpy(), gy.detach().numpy()]
                       + [np.zeros_like(a) if g is None else g.numpy(force=True) for g, a in zip(second, (x, y))])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("loss, name", [("mse", "MseLossBackward"), ("l1", "L1LossBackward"),
                                        ("smooth_l1", "SmoothL1LossBackward"), ("huber", "HuberLossBackward")])
def test_regression_loss_is_one_node_named_as_torch(loss, name):
    fn, kwargs = REGRESSION[loss]
    x = ember.randn(3, 4, requires_grad=True)
    out = getattr(F, fn)(x, ember.randn(3, 4), **kwargs)
    assert out.grad_fn.name() == name
    assert out.grad_fn.next_functions[0][0] is x  # straight to the leaf: no sub, abs, where, mean nodes


def test_regression_loss_errors_are_torchs():
    x = ember.randn(3, 4)
    with pytest.raises(RuntimeError, match="smooth_l1_loss does not support negative values for beta"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    for delta in (0.0, -1.0):
        with pytest.raises(RuntimeError, match="huber_loss does not support non-positive values for delta"):
            F.huber_loss(x, x, delta=delta)
    with pytest.raises(ValueError, match="Weights and input must have the same size"):
        F.mse_loss(x, x, weight=ember.ones(4))
    with pytest.raises(RuntimeError, match=r"mse_loss: the shapes of input \(3,\) and target \(4,\)"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        F.mse_loss(ember.randn(3), ember.randn(4))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.l1_loss(x, x, reduction="avg")
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(x, ember.randn(4))


def test_regression_loss_of_empty_tensors():
    x = ember.zeros(0, requires_grad=True)
    for fn in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"):
        assert np.isnan(getattr(F, fn)(x, ember.zeros(0)).item())
        loss = getattr(F, fn)(x, ember.zeros(0), reduction="sum")
        assert loss.item() == 0
        loss.backward()
        assert x.grad.shape == (0,)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss", ["mse", "l1", "smooth_l1", "huber", "nll_4d_weight"])
def test_vmap_of_the_loss_ops_equals_a_loop_of_samples(loss, reduction):
    """ember.func's batching rules of NllLoss and PointwiseLoss: values and per-sample gradients as one call per
    sample gives (a broadcast target, ignored targets and class weights included)."""
    from ember.func import grad, vmap

    rng = np.random.default_rng(8)
    if loss == "nll_4d_weight":
        w = ember.tensor(rng.standard_normal((3, 4)))
        x = ember.tensor(rng.standard_normal((5, 3, 2, 3)))
        y = ember.tensor(np.where(rng.random((5, 3, 2)) < 0.2, -100, rng.integers(0, 4, (5, 3, 2))))
        class_weight = ember.tensor(rng.uniform(0.5, 2.0, 4))

        def f(w, a, b):
            return F.nll_loss(F.log_softmax((a @ w).movedim(-1, 1), 1), b, class_weight, reduction=reduction).sum()
    else:
        fn, kwargs = REGRESSION[loss]
        w = ember.tensor(rng.standard_normal((3, 2)))
        x, y = ember.tensor(rng.standard_normal((6, 4, 3))), ember.tensor(rng.standard_normal((6, 1, 2)))

        def f(w, a, b):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return getattr(F, fn)(a @ w, b, reduction=reduction, **kwargs).sum()
    values = vmap(f, in_dims=(None, 0, 0))(w, x, y).numpy()
    grads = vmap(grad(f), in_dims=(None, 0, 0))(w, x, y).numpy()
    for i in range(x.shape[0]):
        np.testing.assert_allclose(values[i], f(w, x[i], y[i]).numpy(), rtol=1e-12)
        np.testing.assert_allclose(grads[i], grad(f)(w, x[i], y[i]).numpy(), rtol=1e-12, atol=1e-15)
