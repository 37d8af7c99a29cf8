"""Second derivatives through the ops whose backward is a raw kernel (gradient penalties, R1, MAML, double
backprop): with ``create_graph=True`` their backward restates the op in differentiable ops, against torch."""

import ember
import numpy as np
import pytest
from ember.nn import functional as F

from ._torch_compare import compare_double_backward

pytestmark = pytest.mark.parity


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("options", [{}, {"reduction": "sum"}, {"reduction": "none"}, {"label_smoothing": 0.1},
                                     {"weight": True, "label_smoothing": 0.2}, {"weight": True}])
def test_cross_entropy_twice(torch, options):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 4)).astype(np.float64)  # (N, C, d): class dim 1, 3-d
    target = np.array([[1, 2, 0, 4], [3, -100, 0, 1], [2, 2, 4, 0]])
    weight = rng.random(5)

    def fn(lib, x):
        kwargs = dict(options, weight=lib.tensor(weight)) if "weight" in options else options
        return lib.nn.functional.cross_entropy(x * x.tanh(), lib.tensor(target), **kwargs)

    compare_double_backward(torch, fn, [x], rng)


def test_cross_entropy_twice_wrt_the_upstream_gradient(torch):
    rng = np.random.default_rng(1)
    x, v = rng.standard_normal((4, 3)), rng.standard_normal(4)
    results = []
    for lib in (ember, torch):
        xs, vs = lib.tensor(x, requires_grad=True), lib.tensor(v, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(xs, lib.tensor([0, 2, 1, 2]), reduction="none")
        (g,) = lib.autograd.grad(loss, xs, grad_outputs=vs, create_graph=True)
        (g ** 2).sum().backward()
        results.append((xs.grad.numpy(), vs.grad.numpy()))
    for got, ref in zip(*results):
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


def test_a_restated_backward_names_an_input_changed_in_place():
    x = ember.randn(4, 3, requires_grad=True)
    logits = x * 2
    loss = F.cross_entropy(logits, ember.tensor([0, 1, 2, 0]))
    logits.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*CrossEntropyBackward"):
        ember.autograd.grad(loss, x, create_graph=True)
    loss.backward()  # the fast backward reads the softmax it kept, not the input
    assert x.grad.shape == (4, 3)
