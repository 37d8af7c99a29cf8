"""ember.compile's runtime: a compiled graph is one autograd node whose forward runs the plan on arrays and whose
backward runs the steps' backwards in reverse. Outputs, gradients and optimizer steps against eager (float32
within 1e-5, float64), every subset of inputs requiring grad, outputs used twice, retain_graph, no_grad,
outputs that are not differentiable, double backward's error."""

from __future__ import annotations

import itertools

import ember
import numpy as np
import pytest
from ember import nn


def _close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a.detach().numpy()), np.asarray(b.detach().numpy()), rtol=tol, atol=tol)


class Block(nn.Module):
    """Linear layers, a fused elementwise run, layer norm, GELU, a residual add, a softmax: the kinds of step a
    compiled graph holds (fused runs and Ember's ops side by side)."""

    def __init__(self, dim=8):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, 2 * dim), nn.Linear(2 * dim, dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        h = self.fc1(self.norm(x))
        h = nn.functional.gelu(h) * ember.sigmoid(h) + ember.tanh(h) * 0.5
        y = x + self.fc2(h)
        return ember.softmax(y, -1) * y


def _models(dtype):
    ember.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16, 3))
    return {"block": (Block(), (3, 5, 8)), "cnn": (cnn, (2, 2, 4, 4))}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", ["block", "cnn"])
def test_a_compiled_training_step_equals_eager(name, dtype):
    model, shape = _models(dtype)[name]
    model = model.to(getattr(ember, dtype))
    twin = _models(dtype)[name][0].to(getattr(ember, dtype))
    twin.load_state_dict(model.state_dict())
    compiled = ember.compile(model)
    x = ember.randn(*shape, dtype=getattr(ember, dtype))
    weights = ember.linspace(-1, 1, int(np.prod(shape[:-1] if name == "block" else (shape[0], 3))),
                             dtype=getattr(ember, dtype))
    optimizers = [ember.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (model, twin)]
    tol = 1e-5 if dtype == "float32" else 1e-10
    for _ in range(3):  # three steps: the second and third run the cached graph on updated weights
        outs = []
        for run, optimizer in zip((compiled, twin), optimizers):
            out = run(x)
            optimizer.zero_grad()
            (out.reshape(-1, out.shape[-1]).sum(-1) * weights[: out.numel() // out.shape[-1]]).sum().backward()
            optimizer.step()
            outs.append(out)
        _close(outs[0], outs[1], tol)
        assert outs[0].dtype == outs[1].dtype
        for (key, p), q in zip(model.named_parameters(), twin.parameters()):
            _close(p.grad, q.grad, tol)
            _close(p, q, tol)


def test_a_compiled_graph_is_one_autograd_node():
    model = Block()
    out = ember.compile(model)(ember.randn(2, 8))
    assert out.grad_fn.name() == "CompiledFunctionBackward"
    leaves = {id(fn) for fn, _ in out.grad_fn.next_functions if fn is not None}
    assert leaves == {id(p) for p in model.parameters()}  # the input x does not require grad: no edge


def fn2(x, y):
    """3-d and broadcast operands, a matmul between fused runs."""
    z = ember.tanh(x * y + 1.0)
    w = z @ y.unsqueeze(-1)
    return ember.relu(w - 0.5) * z.sum(-1, keepdim=True)


@pytest.mark.parametrize("needs", list(itertools.product([False, True], repeat=2)))
def test_gradients_for_every_subset_of_inputs_requiring_grad(needs):
    inputs = [ember.randn(2, 3, 4), ember.randn(4)]
    results = []
    for fn in (ember.compile(fn2), fn2):
        xs = [t.detach().clone().requires_grad_(n) for t, n in zip(inputs, needs)]
        out = fn(*xs)
        assert out.requires_grad == any(needs)
        if any(needs):
            (out * ember.linspace(-1, 1, 3).reshape(3, 1)).sum().backward()
        results.append((out, [x.grad for x in xs]))
    (out, grads), (expected, expected_grads) = results
    _close(out, expected)
    for g, e in zip(grads, expected_grads):
        assert (g is None) == (e is None)
        if g is not None:
            _close(g, e)


def two_outputs(x):
    y = ember.exp(x) * 2.0
    return y, y, (y * x).sum()


def test_an_output_returned_twice_and_used_twice_gets_both_gradients():
    x0 = ember.randn(3, 4)
    grads = []
    for fn in (ember.compile(two_outputs), two_outputs):
        x = x0.clone().requires_grad_()
        a, b, s = fn(x)
        (a.sum() + (b * 3).sum() + s + (a * b).sum()).backward()
        grads.append(x.grad)
    _close(*grads)


def test_retain_graph_runs_the_compiled_backward_twice_and_a_freed_graph_raises():
    x = ember.randn(5, requires_grad=True)
    compiled = ember.compile(lambda t: ember.sin(t) * t + 1.0)
    out = compiled(x).sum()
    out.backward(retain_graph=True)
    first = x.grad.clone()
    out.backward()
    _close(x.grad, first * 2)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        out.backward()


def test_a_no_grad_call_records_nothing_and_equals_eager():
    model = Block()
    compiled = ember.compile(model)
    x = ember.randn(4, 8)
    with ember.no_grad():
        out = compiled(x)
    assert not out.requires_grad and out.grad_fn is None
    with ember.no_grad():
        _close(out, model(x))


def with_indices(x, w):
    h = x @ w
    return h.argmax(-1), (h > 0).sum(), ember.relu(h)


def test_outputs_that_are_not_differentiable_come_back_without_grad():
    x, w = ember.randn(4, 3), ember.randn(3, 5, requires_grad=True)
    idx, count, h = ember.compile(with_indices)(x, w)
    e_idx, e_count, e_h = with_indices(x, w)
    assert idx.dtype == e_idx.dtype and not idx.requires_grad and not count.requires_grad
    assert np.array_equal(idx.numpy(), e_idx.numpy()) and count.item() == e_count.item()
    assert h.requires_grad
    h.sum().backward()
    expected = w.grad.clone()
    w.grad = None
    e_h.sum().backward()
    _close(expected, w.grad)


def test_double_backward_through_a_compiled_graph_raises_clearly():
    x = ember.randn(3, requires_grad=True)
    y = ember.compile(lambda t: ember.tanh(t) * t)(x).sum()
    with pytest.raises(RuntimeError, match="only once differentiable"):
        ember.autograd.grad(y, x, create_graph=True)


def two_steps(x, w):
    """The same elementwise run twice (as a Python loop over time steps makes it), a matmul between."""
    h = x
    for _ in range(2):
        h = ember.tanh(h @ w + 0.5) * 2.0
    return h


def test_runs_of_the_same_ops_share_one_generated_kernel():
    compiled = ember.compile(two_steps)
    x, w = ember.randn(3, 4), ember.randn(4, 4, requires_grad=True)
    _close(compiled(x, w), two_steps(x, w))
    (graph,) = compiled.cache.values()
    assert len(graph.kernels) == 2
    assert graph.kernels[0].module is graph.kernels[1].module  # one source (no value names in it): one compile


def cumsums(x):
    for _ in range(8):  # ops that are not fused: each makes a new 4 MB array
        x = x.cumsum(0)
    return x


def test_a_no_grad_compiled_forward_frees_each_value_after_its_last_use_as_eager_does():
    import tracemalloc

    x = ember.ones(1000, 1000, dtype=ember.float32)
    compiled = ember.compile(cumsums)
    with ember.no_grad():
        compiled(x)  # (capture and compile outside the measurement)
        peaks = []
        for fn in (compiled, cumsums):
            tracemalloc.start()
            fn(x)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
    assert peaks[0] < 1.5 * peaks[1]  # (without freeing: all eight 4 MB values alive at the end)


class CellLoop(nn.Module):
    """Two LSTMCell steps in a Python loop, as the time-sequence example writes them."""

    def __init__(self):
        super().__init__()
        self.cell = nn.LSTMCell(3, 5)

    def forward(self, x):
        h = c = ember.zeros(x.shape[0], 5)
        for t in range(x.shape[1]):
            h, c = self.cell(x[:, t], (h, c))
        return h * 2.0 + c


def test_an_lstm_cell_formula_runs_as_eager_fused_cell_op_with_eager_gradients():
    ember.manual_seed(0)
    model = CellLoop()
    compiled = ember.compile(model)
    x = ember.randn(4, 2, 3)
    out = compiled(x)
    (graph,) = compiled._compiled.cache.values()
    assert [n.op for n in graph.graph.nodes].count("LSTMCellStep") == 2
    assert "Sigmoid" not in [n.op for n in graph.graph.nodes]
    out.sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    expected = model(x)
    expected.sum().backward()
    _close(out, expected)
    for g, p in zip(grads, model.parameters()):
        _close(g, p.grad)


class Formula(nn.Module):
    """``lstm_cell_composite`` written out; with ``leak`` its forget gate is also returned (then it must stay op
    by op: the fused op does not give the gate)."""

    def __init__(self, leak):
        super().__init__()
        self.leak = leak

    def forward(self, x, h, c, w_ih, w_hh, b_ih, b_hh):
        F = nn.functional
        i, f, g, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(4, dim=1)
        sf = f.sigmoid()
        c_new = sf * c + i.sigmoid() * g.tanh()
        out = o.sigmoid() * c_new.tanh(), c_new
        return out + (sf,) if self.leak else out


@pytest.mark.parametrize("leak", [False, True])
def test_an_lstm_formula_is_replaced_only_when_its_inner_values_stay_inside(leak):
    args = [ember.randn(2, 3), ember.randn(2, 4), ember.randn(2, 4), ember.randn(16, 3), ember.randn(16, 4),
            ember.randn(16), ember.randn(16)]
    model = Formula(leak)
    compiled = ember.compile(model)
    for a, e in zip(compiled(*args), model(*args)):
        _close(a, e)
    (graph,) = compiled._compiled.cache.values()
    assert ("LSTMCellStep" in [n.op for n in graph.graph.nodes]) == (not leak)


def matmul_then_run(x):
    y = x @ x
    return y, ember.sigmoid(y) * 2.0 + y  # y is an input of a fused run, which recomputes from it


@pytest.mark.parametrize("fn", [lambda t: ember.tanh(t @ t), matmul_then_run], ids=["op", "run"])
def test_an_output_changed_in_place_before_backward_raises_as_in_eager(fn):
    x = ember.randn(3, 3, requires_grad=True)
    out = ember.compile(fn)(x)
    y = out[0] if isinstance(out, tuple) else out
    loss = (out[1] if isinstance(out, tuple) else y).sum()
    with ember.no_grad():
        y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()
