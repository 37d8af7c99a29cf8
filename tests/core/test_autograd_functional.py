"""``ember.autograd.functional``: jacobian, hessian, vjp, jvp, hvp, vhp against torch.autograd.functional."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.autograd import functional as AF


def rand(*shape, seed=0):
    return np.random.default_rng(seed + 7 * len(shape) + sum(shape)).standard_normal(shape)


def both(array):
    torch = pytest.importorskip("torch")
    return ember.tensor(array, dtype=ember.float64), torch.tensor(array, dtype=torch.float64)


def close(ours, theirs, atol=1e-10):
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            close(a, b, atol)
        return
    assert isinstance(ours, ember.Tensor)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), atol=atol, rtol=1e-7)


def single(m):
    return lambda x: (x.sin() * x.sum()).exp()


def pair(m):
    return lambda x, y: ((x @ y).tanh(), (x[:, None] * y).sum(0) ** 2)


def scalar(m):
    return lambda x, y: ((x @ y).sin() * x.sum()).sum() + (y ** 3).sum()


@pytest.mark.parity
@pytest.mark.parametrize("vectorize,strategy", [(False, "reverse-mode"), (True, "reverse-mode"), (True, "forward-mode")])
def test_jacobian_matches_torch(vectorize, strategy):
    torch = pytest.importorskip("torch")
    x_e, x_t = both(rand(4))
    y_e, y_t = both(rand(4, 3))
    kw = {"vectorize": vectorize, "strategy": strategy}
    reference = torch.autograd.functional.jacobian  # (its forward mode fails on these in torch 2.13: reverse)
    close(AF.jacobian(single(ember), x_e, **kw), reference(single(torch), x_t))
    close(AF.jacobian(pair(ember), (x_e, y_e), **kw), reference(pair(torch), (x_t, y_t)))
    close(AF.jacobian(lambda x: x * 2, (x_e,), **kw), reference(lambda x: x * 2, (x_t,)))


@pytest.mark.parity
@pytest.mark.parametrize("vectorize", [False, True])
def test_hessian_matches_torch(vectorize):
    torch = pytest.importorskip("torch")
    x_e, x_t = both(rand(4))
    y_e, y_t = both(rand(4, 3))
    close(AF.hessian(scalar(ember), (x_e, y_e), vectorize=vectorize),
          torch.autograd.functional.hessian(scalar(torch), (x_t, y_t), vectorize=vectorize))
    close(AF.hessian(lambda x: (x ** 3).prod(), x_e, vectorize=vectorize),
          torch.autograd.functional.hessian(lambda x: (x ** 3).prod(), x_t, vectorize=vectorize))


@pytest.mark.parity
def test_vector_products_match_torch():
    torch = pytest.importorskip("torch")
    x_e, x_t = both(rand(4))
    y_e, y_t = both(rand(4, 3))
    u_e, u_t = both(rand(3, seed=1))
    w_e, w_t = both(rand(3, seed=2))
    close(AF.vjp(pair(ember), (x_e, y_e), (u_e, w_e)), torch.autograd.functional.vjp(pair(torch), (x_t, y_t), (u_t, w_t)))
    tx_e, tx_t = both(rand(4, seed=3))
    ty_e, ty_t = both(rand(4, 3, seed=3))
    close(AF.jvp(pair(ember), (x_e, y_e), (tx_e, ty_e)), torch.autograd.functional.jvp(pair(torch), (x_t, y_t), (tx_t, ty_t)))
    close(AF.jvp(single(ember), x_e, tx_e), torch.autograd.functional.jvp(single(torch), x_t, tx_t))
    for name in ("hvp", "vhp"):
        ours = getattr(AF, name)(scalar(ember), (x_e, y_e), (tx_e, ty_e))
        theirs = getattr(torch.autograd.functional, name)(scalar(torch), (x_t, y_t), (tx_t, ty_t))
        close(ours, theirs)
    # v may be left out for a one-element output
    close(AF.vjp(lambda x: (x ** 2).sum(), x_e), torch.autograd.functional.vjp(lambda x: (x ** 2).sum(), x_t))


@pytest.mark.parity
def test_create_graph_keeps_results_differentiable():
    torch = pytest.importorskip("torch")
    x_e, x_t = both(rand(3))
    x_e.requires_grad_()
    x_t.requires_grad_()
    jac_e = AF.jacobian(lambda x: x.sin() * x, x_e, create_graph=True)
    jac_t = torch.autograd.functional.jacobian(lambda x: x.sin() * x, x_t, create_graph=True)
    jac_e.sum().backward()
    jac_t.sum().backward()
    close(x_e.grad, x_t.grad)
    assert AF.jacobian(lambda x: x.sin(), x_e).grad_fn is None


def test_errors_follow_torch():
    x = ember.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="independent of input 1"):
        AF.jacobian(lambda a, b: a * 2, (x, x), strict=True)
    with pytest.raises(RuntimeError, match="`strict=True` and `vectorized=True`"):
        AF.jacobian(lambda a: a, x, strict=True, vectorize=True)
    with pytest.raises(NotImplementedError, match="only implemented for `vectorize=True`"):
        AF.jacobian(lambda a: a, x, strategy="forward-mode")
    with pytest.raises(RuntimeError, match="should contain a single element"):
        AF.hessian(lambda a: a, x)
    with pytest.raises(RuntimeError, match="can only be None"):
        AF.vjp(lambda a: a * 2, x)
    with pytest.raises(RuntimeError, match="v has invalid size"):
        AF.vjp(lambda a: a * 2, x, ember.ones(3))
    with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
        AF.jacobian(lambda a: a, [x])
    with pytest.raises(RuntimeError, match="does not require gradients"):
        AF.vjp(lambda a: ember.ones(2), x, ember.ones(2), strict=True)
    # non-strict: an unused input has a zero Jacobian
    jac = AF.jacobian(lambda a, b: a * 2, (x, x))
    np.testing.assert_allclose(jac[1].numpy(), np.zeros((2, 2)))
