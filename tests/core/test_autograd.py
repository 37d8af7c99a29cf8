"""The autograd engine: accumulation, graph freeing, hooks, grad(), custom Functions, grad modes,
in-place safety, higher-order gradients and anomaly detection."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import ember
from ember.autograd import Function, grad


def f64(values, requires_grad=True):
    return ember.tensor(values, dtype=ember.float64, requires_grad=requires_grad)


def test_gradients_accumulate_across_backward_calls():
    x = f64([1.0, 2.0])
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad._data, [3 + 2, 3 + 4])


def test_leaf_grads_do_not_share_memory():
    a, b = f64([1.0, 2.0]), f64([3.0, 4.0])
    (a + b).sum().backward()
    a.grad.mul_(10)  # an in-place change to one .grad must not leak into the other
    np.testing.assert_allclose(b.grad._data, [1.0, 1.0])


def test_broadcast_gradient_is_summed_back_to_input_shape():
    w = f64(np.ones((1, 3)))
    x = f64(np.arange(6.0).reshape(2, 3), requires_grad=False)
    (w * x).sum().backward()
    assert w.grad.shape == (1, 3)
    np.testing.assert_allclose(w.grad._data, [[3.0, 5.0, 7.0]])


def test_second_backward_raises_pytorch_error_and_retain_graph_allows_it():
    x = f64([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad._data, 2 * (np.exp([1.0, 2.0]) * np.array([2.0, 3.0])))
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_backward_on_non_scalar_needs_gradient():
    x = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    (x * 2).backward(ember.tensor([1.0, 0.5], dtype=ember.float64))
    np.testing.assert_allclose(x.grad._data, [2.0, 1.0])


def test_backward_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ember.ones(2).sum().backward()


def test_requires_grad_on_integer_tensor_is_a_clear_error():
    with pytest.raises(RuntimeError, match="only Tensors of floating point and complex dtype can require gradients"):
        ember.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        ember.arange(3).requires_grad_()


def test_long_chain_has_no_recursion_limit():
    x = f64([0.5])
    y = x
    for _ in range(10_000):
        y = y * 1.0001 + 0.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad._data, [1.0001**10_000], rtol=1e-9)


def test_inplace_modification_of_saved_tensor_raises():
    x = f64([1.0, 2.0])
    y = x * 1
    z = (y * y).sum()  # saves y
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()


def test_inplace_on_view_bumps_shared_version():
    x = f64([1.0, 2.0, 3.0])
    y = x.exp()  # saves its output
    view = y[1:]
    with ember.no_grad():
        view.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_diagonal_is_a_view_writes_reach_the_base_and_are_never_silently_lost():
    m = ember.ones(3, 3)
    m.diagonal().fill_(0)  # as torch.nn.init code does
    np.testing.assert_array_equal(m.numpy(), 1 - np.eye(3))
    w = ember.zeros(2, 3, 4)
    w.diagonal(1, -2, -1).add_(5)
    assert w.numpy()[:, [0, 1, 2], [1, 2, 3]].tolist() == [[5.0] * 3] * 2 and w.numpy().sum() == 30
    x = ember.ones(3)
    x[1].fill_(5)  # one element, every axis taken by an int: still a view
    assert x.tolist() == [1.0, 5.0, 1.0]


def _inplace_on_view_cases():
    """In-place ops through views of a tensor in the graph, as real programs write them."""
    return {
        "slice_iadd": lambda y, w: y[:, :2].__iadd__(1),
        "row_imul": lambda y, w: y[0].__imul__(3),
        "transposed_row_mul_": lambda y, w: y.t()[1].mul_(w.sum()),
        "narrow_zero_": lambda y, w: y.narrow(1, 3, 1).zero_(),
        "flat_view_setitem": lambda y, w: y.view(-1).__setitem__(slice(5, 7), w * 4),
        "diagonal_add_": lambda y, w: y.diagonal().add_(w.sum()),
        "view_of_view_copy_": lambda y, w: y[:, 1:3][1:].copy_(w * 2),
        "element_mul_": lambda y, w: y[2, 3].mul_(w[0]),
        "several": lambda y, w: [y[:, :2].__iadd__(1), y[0].__imul__(3), y.t()[1].mul_(w.sum())],
        "view_used_after": lambda y, w: y.__setitem__(slice(None), y + _reuse(y[1], w)),
    }


def _reuse(view, w):
    view.mul_(w.sum())
    return view.sum()


@pytest.mark.parity
@pytest.mark.parametrize("name", sorted(_inplace_on_view_cases()))
def test_inplace_through_a_view_differentiates_like_torch(name):
    torch = pytest.importorskip("torch")
    results = []
    for m in (ember, torch):
        x = m.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
        w = m.tensor([3.0, 2.0], requires_grad=True)
        y = x * 2
        _inplace_on_view_cases()[name](y, w)
        (y * m.tensor(np.arange(12.0).reshape(3, 4) + 1)).sum().backward()
        results.append([y.detach().numpy(), x.grad.numpy(), None if w.grad is None else w.grad.numpy()])
    for ours, theirs in zip(*results):
        assert (ours is None) == (theirs is None)
        if theirs is not None:
            np.testing.assert_allclose(ours, theirs)


def test_inplace_through_a_view_reaches_a_buffer_that_did_not_require_grad():
    w = f64([1.0, 2.0, 3.0, 4.0])
    buffer = ember.zeros(3, 4, dtype=ember.float64)
    buffer[1].copy_(w * 2)
    buffer[2, 1:3].add_(w[:2])
    (buffer * buffer).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [10.0, 20.0, 24.0, 32.0])  # torch's values


def test_inplace_through_a_view_of_a_leaf_requiring_grad_raises_as_torch():
    x = f64([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        x[1:].mul_(2)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        x[0].mul_(2)


def test_inplace_on_leaf_requiring_grad_raises_outside_no_grad():
    w = f64([1.0])
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w.add_(1)
    with ember.no_grad():
        w.add_(1)
    assert w.item() == 2.0


def test_inplace_ops_are_recorded_in_the_graph():
    x = f64([1.0, 2.0])
    y = x * 2
    y += x * x  # y = 2x + x^2
    y.sum().backward()
    np.testing.assert_allclose(x.grad._data, [4.0, 6.0])
    z = x * 1
    z[0] = x[1] * 3  # z = [3 x1, x1]
    x.grad = None
    z.sum().backward()
    np.testing.assert_allclose(x.grad._data, [0.0, 4.0])


def test_inplace_result_type_must_fit():
    t = ember.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast"):
        t.add_(0.5)


def test_register_hook_changes_gradient_and_can_be_removed():
    x = f64([1.0, 2.0])
    handle = x.register_hook(lambda g: g * 10)
    (x * 1).sum().backward()
    np.testing.assert_allclose(x.grad._data, [10.0, 10.0])
    handle.remove()
    x.grad = None
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(g._data.copy()))
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [1.0, 1.0])
    np.testing.assert_allclose(x.grad._data, [2.0, 2.0])


def test_retain_grad_keeps_non_leaf_gradient():
    x = f64([1.0, 2.0])
    y = x * x
    y.retain_grad()
    (y * 3).sum().backward()
    np.testing.assert_allclose(y.grad._data, [3.0, 3.0])
    z = x * 2
    (z * 3).sum().backward()
    assert z.grad is None


def test_grad_returns_without_touching_leaves_and_handles_unused():
    x, u = f64([1.0, 2.0]), f64([5.0])
    y = (x**2).sum()
    (gx,) = grad(y, x, retain_graph=True)
    np.testing.assert_allclose(gx._data, [2.0, 4.0])
    assert x.grad is None
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        grad(y, [x, u], retain_graph=True)
    gx, gu = grad(y, [x, u], allow_unused=True)
    assert gu is None


def test_grad_with_respect_to_intermediate_tensor():
    x = f64([1.0, 2.0])
    h = x * 3
    y = (h * h).sum()
    (gh,) = grad(y, h)
    np.testing.assert_allclose(gh._data, 2 * h._data)


def test_hessian_vector_product():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3))
    a = a + a.T
    x = f64(rng.standard_normal(3))
    v = rng.standard_normal(3)
    A = ember.tensor(a, dtype=ember.float64)
    f = 0.5 * (x @ (A @ x)) + (x**3).sum()
    (g,) = grad(f, x, create_graph=True)
    (hv,) = grad(g, x, ember.tensor(v, dtype=ember.float64))
    hessian = a + np.diag(6 * x._data)
    np.testing.assert_allclose(hv._data, hessian @ v, rtol=1e-10)


def test_wgan_gradient_penalty_trains_the_critic_weights():
    rng = np.random.default_rng(0)
    w1 = f64(rng.standard_normal((4, 8)) * 0.5)
    w2 = f64(rng.standard_normal((8, 1)) * 0.5)

    def critic(x):
        return (x @ w1).tanh() @ w2

    real = ember.tensor(rng.standard_normal((5, 4)), dtype=ember.float64)
    fake = ember.tensor(rng.standard_normal((5, 4)), dtype=ember.float64)
    eps = ember.tensor(rng.random((5, 1)), dtype=ember.float64)
    mixed = (eps * real + (1 - eps) * fake).requires_grad_()
    scores = critic(mixed)
    (g,) = grad(scores.sum(), mixed, create_graph=True)
    penalty = ((g.norm(dim=1) - 1) ** 2).mean()
    penalty.backward()
    # compare with central differences of the penalty as a function of w1
    def penalty_of(w1_values):
        w = ember.tensor(w1_values, dtype=ember.float64)
        m = mixed.detach().requires_grad_()
        s = ((m @ w).tanh() @ w2.detach()).sum()
        (gg,) = grad(s, m)
        return float(((gg.norm(dim=1) - 1) ** 2).mean())

    numeric = np.zeros_like(w1._data)
    for idx in np.ndindex(*w1.shape):
        plus, minus = w1._data.copy(), w1._data.copy()
        plus[idx] += 1e-6
        minus[idx] -= 1e-6
        numeric[idx] = (penalty_of(plus) - penalty_of(minus)) / 2e-6
    np.testing.assert_allclose(w1.grad._data, numeric, rtol=1e-5, atol=1e-8)


def test_second_derivative_of_tanh_matches_closed_form():
    x = f64(np.linspace(-2, 2, 9))
    y = x.tanh()
    (d1,) = grad(y.sum(), x, create_graph=True)
    (d2,) = grad(d1.sum(), x)
    t = np.tanh(x._data)
    np.testing.assert_allclose(d1._data, 1 - t**2, rtol=1e-12)
    np.testing.assert_allclose(d2._data, -2 * t * (1 - t**2), rtol=1e-10, atol=1e-14)


class Cube(Function):
    @staticmethod
    def forward(ctx, x, power_unused=None):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x**2, None


def test_custom_function_forward_backward_and_double_backward():
    x = f64([2.0])
    y = Cube.apply(x)
    assert "CubeBackward" in repr(y)
    (g,) = grad(y, x, create_graph=True)
    assert g.item() == 12.0
    (gg,) = grad(g, x)
    assert gg.item() == 12.0  # d/dx 3x^2 = 6x
    assert ember.autograd.gradcheck(Cube.apply, (f64([0.3, -1.2]),))


def test_custom_function_needs_input_grad_and_non_differentiable_outputs():
    seen = {}

    class SortWithIndex(Function):
        @staticmethod
        def forward(ctx, x, y):
            seen["needs"] = ctx.needs_input_grad
            order = ember.tensor(np.argsort(x._data))
            ctx.mark_non_differentiable(order)
            ctx.order = order._data
            return x[order] + y * 0, order

        @staticmethod
        def backward(ctx, grad_values, grad_order):
            g = np.zeros_like(grad_values._data)
            g[ctx.order] = grad_values._data
            return ember.tensor(g), None

    x = f64([3.0, 1.0, 2.0])
    values, order = SortWithIndex.apply(x, f64([0.0, 0.0, 0.0], requires_grad=False))
    assert seen["needs"] == (True, False)
    assert not order.requires_grad
    (values * ember.tensor([1.0, 2.0, 3.0], dtype=ember.float64)).sum().backward()
    np.testing.assert_allclose(x.grad._data, [3.0, 1.0, 2.0])


def test_grad_modes_as_context_managers_and_decorators():
    x = f64([1.0])
    with ember.no_grad():
        assert not (x * 2).requires_grad
        with ember.enable_grad():
            assert (x * 2).requires_grad
    with ember.inference_mode():
        assert not (x * 2).requires_grad

    @ember.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    assert ember.is_grad_enabled()
    with ember.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    ember.set_grad_enabled(False)
    assert not ember.is_grad_enabled()
    ember.set_grad_enabled(True)


def test_grad_mode_is_thread_local():
    results = {}

    def worker():
        results["thread"] = ember.is_grad_enabled()

    with ember.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    assert results["thread"] is True


def test_matmul_shape_error_names_op_and_both_shapes():
    a, b = ember.zeros(128, 784), ember.zeros(512, 10)
    with pytest.raises(RuntimeError, match=r"matmul: shapes \(128, 784\) and \(512, 10\) cannot be multiplied"):
        a @ b


def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(RuntimeError, match=r"add: the size of tensor a \(3\) must match the size of tensor b "
                       r"\(4\) at non-singleton dimension 0; shapes \(3,\) and \(4,\) cannot be broadcast"):
        ember.zeros(3) + ember.zeros(4)
    with pytest.raises(RuntimeError, match=r"mul: .*shapes \(2, 3\) and \(2,\)"):
        ember.zeros(2, 3) * ember.zeros(2)


def test_detect_anomaly_names_op_and_forward_line():
    x = f64([0.0, 1.0])
    with ember.autograd.detect_anomaly():
        y = x.sqrt()  # the line the error must point at: d sqrt / dx at 0 is inf, times 0 is nan
        z = (y * 0).sum()
        with pytest.raises(RuntimeError) as info:
            z.backward()
    message = str(info.value)
    assert "SqrtBackward" in message and "nan" in message
    assert "y = x.sqrt()" in message and "test_autograd.py" in message


def test_no_nan_check_without_anomaly_mode():
    x = f64([0.0, 1.0])
    (x.sqrt() * 0).sum().backward()
    assert np.isnan(x.grad._data[0])


def test_once_differentiable_backward_refuses_double_backward():
    from ember.autograd.function import once_differentiable

    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return ember.Tensor(2 * x._data * g._data)

    x = f64([3.0])
    (g,) = grad(Square.apply(x), x)
    assert g.item() == 6.0
    with pytest.raises(RuntimeError, match="only once differentiable"):
        grad(Square.apply(x), x, create_graph=True)


def test_gradcheck_detects_a_wrong_gradient():
    class Wrong(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 3

    assert not ember.autograd.gradcheck(Wrong.apply, (f64([1.0, 2.0]),), raise_exception=False)
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        ember.autograd.gradcheck(Wrong.apply, (f64([1.0, 2.0]),))


def test_detach_shares_data_and_is_cut_from_graph():
    x = f64([1.0, 2.0])
    d = (x * 2).detach()
    assert not d.requires_grad and d.grad_fn is None
    y = x * 1
    yd = y.detach()
    yd._data[0] = 100
    assert y._data[0] == 100


def _backward_inputs_cases(m):
    """(name, run) pairs: each run returns the tensors whose ``.grad`` a user reads afterwards."""
    def leaf_subset():
        x, z = m.tensor([1.0, 2, 3], requires_grad=True), m.tensor([4.0, 5, 6], requires_grad=True)
        (x * z).sum().backward(inputs=[x])
        return x.grad, z.grad

    def non_leaf_input():
        x, z = m.tensor([1.0, 2, 3], requires_grad=True), m.tensor([4.0, 5, 6], requires_grad=True)
        y = x * 2
        (y * z).sum().backward(inputs=[y])
        return y.grad, x.grad, z.grad

    def retained_non_leaf_with_hook():
        x, z = m.tensor([1.0, 2, 3], requires_grad=True), m.tensor([4.0, 5, 6], requires_grad=True)
        y = x * 2
        y.retain_grad()
        y.register_hook(lambda g: g * 10)
        (y * z).sum().backward(inputs=[y, z])
        return y.grad, x.grad, z.grad

    def retain_grad_sees_later_hooks():
        x = m.tensor([1.0, 2, 3], requires_grad=True)
        y = x * 2
        y.retain_grad()
        y.retain_grad()  # twice: still stored once
        y.register_hook(lambda g: g * 10)
        y.sum().backward()
        return y.grad, x.grad

    def reciprocal_input_changed_after():  # torch saves the output of 1/a, so a may change
        x = m.tensor([1.0, 2, 3], requires_grad=True)
        a = x * 1
        y = 1 / a + a.reciprocal()
        a.mul_(2)
        y.sum().backward()
        return (x.grad,)

    return [leaf_subset, non_leaf_input, retained_non_leaf_with_hook, retain_grad_sees_later_hooks,
            reciprocal_input_changed_after]


@pytest.mark.parity
@pytest.mark.parametrize("case", range(5), ids=[f.__name__ for f in _backward_inputs_cases(ember)])
def test_backward_inputs_hooks_and_retain_grad_match_torch(case):
    torch = pytest.importorskip("torch")
    ours = _backward_inputs_cases(ember)[case]()
    theirs = _backward_inputs_cases(torch)[case]()
    for i, (e, t) in enumerate(zip(ours, theirs)):
        assert (e is None) == (t is None), f"grad {i}: ember {e}, torch {t}"
        if t is not None:
            np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6, err_msg=f"grad {i}")


def test_grad_builds_only_the_gradients_that_lead_to_its_inputs(monkeypatch):
    """A Linear's weight gradient is not computed when autograd.grad asks for its input's only (a PINN's
    u_x), and is when backward() needs it."""
    from ember.ops import linalg

    seen = []
    backward = linalg.Linear.backward

    def spy(ctx, grad):
        seen.append(tuple(ctx.needs_input_grad))
        return backward(ctx, grad)

    monkeypatch.setattr(linalg.Linear, "backward", staticmethod(spy))
    layer = ember.nn.Linear(3, 2)
    x = ember.randn(4, 3, requires_grad=True)
    y = layer(x)
    assert y.grad_fn.needs_input_grad[1]  # the weight requires grad
    (gx,) = ember.autograd.grad(y.sum(), x, create_graph=True)
    assert seen[-1][0] and not seen[-1][1]
    assert y.grad_fn.needs_input_grad[1]  # restored after the pass
    (gx ** 2).sum().backward()  # gx = 1 W: a function of the weight only
    assert layer.weight.grad is not None and x.grad is None
