"""User-defined ``autograd.Function``s as PyTorch 2 writes them: the ``setup_context`` form, outputs saved for
backward (double backward through them), ``.numpy()`` inside ``forward``; each compared with torch."""

import numpy as np
import pytest

import ember


def _functions(lib):
    class Exp(lib.autograd.Function):  # PyTorch's docs example: saves its own output
        @staticmethod
        def forward(ctx, i):
            result = i.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            (result,) = ctx.saved_tensors
            return grad_output * result

    class Cube(lib.autograd.Function):  # the setup_context form, two outputs, one saved
        @staticmethod
        def forward(x):
            return x ** 3, 3 * x ** 2

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0], output[1])

        @staticmethod
        def backward(ctx, grad, grad_derivative):
            x, derivative = ctx.saved_tensors
            return grad * derivative + grad_derivative * 6 * x

    class NumpySin(lib.autograd.Function):  # numpy inside forward: grad mode is off there
        @staticmethod
        def forward(x):
            return lib.tensor(np.sin(x.numpy()))

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x.cos()

    return Exp, Cube, NumpySin


def _run(lib):
    Exp, Cube, NumpySin = _functions(lib)
    x = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
    results = []
    for f in (lambda t: Exp.apply(t), lambda t: Cube.apply(t)[0] + Cube.apply(t)[1], lambda t: NumpySin.apply(t)):
        (g,) = lib.autograd.grad(f(x).sum(), x, create_graph=True)
        second = lib.autograd.grad(g.sum(), x, allow_unused=True)[0] if g.requires_grad else None
        results.append((f(x).detach().numpy(), g.detach().numpy(), None if second is None else second.numpy()))
    return results


@pytest.mark.parity
def test_custom_functions_match_torch_to_the_second_derivative():
    torch = pytest.importorskip("torch")
    for (value, grad, second), (t_value, t_grad, t_second) in zip(_run(ember), _run(torch)):
        np.testing.assert_allclose(value, t_value, rtol=1e-12)
        np.testing.assert_allclose(grad, t_grad, rtol=1e-12)
        assert (second is None) == (t_second is None)
        if second is not None:
            np.testing.assert_allclose(second, t_second, rtol=1e-12)


def test_a_saved_output_carries_its_node_and_the_in_place_check():
    Exp, _, _ = _functions(ember)
    x = ember.tensor([0.5, 1.0], requires_grad=True)
    y = Exp.apply(x)
    (g,) = ember.autograd.grad(y.sum(), x, create_graph=True)
    (gg,) = ember.autograd.grad(g.sum(), x)  # d/dx exp(x) through the saved output: exp(x), not 0
    np.testing.assert_allclose(gg.numpy(), np.exp([0.5, 1.0]), rtol=1e-6)
    y = Exp.apply(x)
    with ember.no_grad():
        y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_numpy_of_a_tensor_requiring_grad_needs_grad_mode_off():
    x = ember.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="Use tensor.detach"):
        x.numpy()
    with ember.no_grad():
        assert x.numpy() is x._data


def test_setup_context_is_required_without_ctx_in_forward():
    class NoContext(ember.autograd.Function):
        @staticmethod
        def forward(x):
            return x * 2

    with pytest.raises(TypeError):  # forward(ctx, x) is called: x is missing
        NoContext.apply(ember.ones(2, requires_grad=True))
