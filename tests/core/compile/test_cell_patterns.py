"""ember.compile on Python loops of LSTMCell / GRUCell steps: each step runs as eager's fused cell op
(recorded so by the capture, or found in a formula written out by hand), with eager's outputs, gradients and
optimizer steps for every subset of inputs requiring grad (hx given or not, batched or not, bias or not),
torch's results, and the same results from a second process on the disk cache the first left."""

from __future__ import annotations

import itertools

import ember
import numpy as np
import pytest
from ember import nn

from ._processes import run_twice_on_one_cache

HIDDEN, SIZE, STEPS = 5, 3, 3


def _close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a.detach().numpy()), np.asarray(b.detach().numpy()), rtol=tol, atol=tol)


class CellLoop(nn.Module):
    """A cell stepped by a Python loop over the sequence axis (-2), as the time-sequence example writes it."""

    def __init__(self, kind: str, bias: bool = True):
        super().__init__()
        self.lstm = kind == "LSTMCell"
        self.cell = getattr(nn, kind)(SIZE, HIDDEN, bias=bias)

    def forward(self, x, hx=None):
        state, outputs = hx, []
        for t in range(x.shape[-2]):
            state = self.cell(x[..., t, :], state)
            outputs.append(state[0] * state[1] if self.lstm else state)
        return ember.stack(outputs, 0) * 2.0 + 1.0


def _fused_ops(compiled) -> list:
    (graph,) = compiled._compiled.cache.values()
    return [node.op for node in graph.graph.nodes]


def _inputs(kind: str, batched: bool, with_hx: bool):
    """x and the state (None, h, or (h, c)) as separate tensors: [x, h?, c?]."""
    batch = (4,) if batched else ()
    tensors = [ember.randn(*batch, STEPS, SIZE)]
    if with_hx:
        tensors += [ember.randn(*batch, HIDDEN) for _ in range(2 if kind == "LSTMCell" else 1)]
    return tensors


def _call(model, tensors):
    x, *state = tensors
    hx = None if not state else tuple(state) if len(state) == 2 else state[0]
    return model(x, hx)


def _cases():
    for kind, bias, batched, with_hx in itertools.product(["GRUCell", "LSTMCell"], [True, False], [True, False],
                                                          [True, False]):
        n_inputs = 1 + (2 if kind == "LSTMCell" else 1) * with_hx
        for needs in itertools.product([False, True], repeat=n_inputs + 1):  # (+ the parameters)
            yield kind, bias, batched, with_hx, needs


@pytest.mark.parametrize("kind,bias,batched,with_hx,needs", list(_cases()))
def test_a_cell_loop_runs_fused_cell_ops_with_eager_outputs_and_gradients(kind, bias, batched, with_hx, needs):
    ember.manual_seed(0)
    model = CellLoop(kind, bias)
    *input_needs, param_needs = needs
    model.requires_grad_(param_needs)
    tensors = _inputs(kind, batched, with_hx)
    weights = ember.linspace(-1, 1, HIDDEN)
    results = []
    for run in (ember.compile(model), model):
        inputs = [t.detach().clone().requires_grad_(n) for t, n in zip(tensors, input_needs)]
        out = _call(run, inputs)
        if any(needs):
            (out * weights).sum().backward()
        grads = [t.grad for t in inputs] + [p.grad for p in model.parameters()]
        results.append((out.detach(), [None if g is None else g.clone() for g in grads]))
        model.zero_grad(set_to_none=True)
        if run is not model:
            ops = _fused_ops(run)
    assert ops.count(f"{kind}Step") == STEPS and "Sigmoid" not in ops
    _close(results[0][0], results[1][0])
    for compiled_grad, eager_grad in zip(results[0][1], results[1][1]):
        assert (compiled_grad is None) == (eager_grad is None)
        if eager_grad is not None:
            _close(compiled_grad, eager_grad)


@pytest.mark.parametrize("kind", ["GRUCell", "LSTMCell"])
def test_adam_steps_on_a_compiled_cell_loop_equal_eager(kind):
    tensors = _inputs(kind, batched=True, with_hx=True)
    target = ember.randn(STEPS, 4, HIDDEN)
    trained = []
    for compiled in (True, False):
        ember.manual_seed(0)
        model = CellLoop(kind)
        run = ember.compile(model) if compiled else model
        optimizer = ember.optim.Adam(model.parameters(), lr=0.05)
        for _ in range(3):
            loss = ((_call(run, tensors) - target) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        trained.append([p.detach().clone() for p in model.parameters()])
    for a, b in zip(*trained):
        _close(a, b)


@pytest.mark.parametrize("kind", ["GRUCell", "LSTMCell"])
def test_dynamic_cell_loop_is_one_graph_of_fused_cells(kind):
    model = CellLoop(kind)
    compiled = ember.compile(model, dynamic=True)
    for batch in (3, 5):
        x = ember.randn(batch, STEPS, SIZE)
        _close(compiled(x), model(x))
    assert _fused_ops(compiled).count(f"{kind}Step") == STEPS


def test_an_exported_cell_loop_keeps_the_formula():
    """Only ember.compile's capture records the fused op: an ExportedProgram (ONNX, other runtimes) keeps the
    cell's ops."""
    ops = [node.op for node in ember.export.export(CellLoop("GRUCell"), (ember.randn(2, STEPS, SIZE),)).graph.nodes]
    assert "GRUCellStep" not in ops and "Sigmoid" in ops


@pytest.mark.parity
@pytest.mark.parametrize("kind", ["GRUCell", "LSTMCell"])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("needs", list(itertools.product([False, True], repeat=3)))
def test_a_compiled_cell_loop_matches_torch(kind, batched, needs):
    torch = pytest.importorskip("torch")
    ember.manual_seed(0)
    model = CellLoop(kind)
    cell = getattr(torch.nn, kind)(SIZE, HIDDEN)
    with torch.no_grad():
        for name, p in model.cell.named_parameters():
            getattr(cell, name).copy_(torch.from_numpy(p.detach().numpy()))
    x_needs, h_needs, param_needs = needs
    model.requires_grad_(param_needs)
    cell.requires_grad_(param_needs)
    x, h = _inputs("GRUCell", batched, with_hx=True)
    ex, eh = x.detach().clone().requires_grad_(x_needs), h.detach().clone().requires_grad_(h_needs)
    tx, th = (torch.from_numpy(t.numpy().copy()).requires_grad_(n) for t, n in ((x, x_needs), (h, h_needs)))
    lstm = kind == "LSTMCell"
    out = ember.compile(model)(ex, (eh, eh * 0.5) if lstm else eh)
    state, outputs = ((th, th * 0.5) if lstm else th), []
    for t in range(STEPS):
        state = cell(tx[..., t, :], state)
        outputs.append(state[0] * state[1] if lstm else state)
    expected = torch.stack(outputs, 0) * 2.0 + 1.0
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-5)
    if not any(needs):
        return
    weights = np.linspace(-1, 1, HIDDEN, dtype=np.float32)
    (out * ember.tensor(weights)).sum().backward()
    (expected * torch.from_numpy(weights)).sum().backward()
    pairs = [(ex, tx), (eh, th)] + list(zip(model.cell.parameters(), cell.parameters()))
    for a, b in pairs:
        assert (a.grad is None) == (b.grad is None)
        if a.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-5)


class GRUFormula(nn.Module):
    """``gru_cell_composite`` written out; with ``leak`` its reset gate is also returned (then it must stay op
    by op: the fused op does not give the gate)."""

    def __init__(self, leak):
        super().__init__()
        self.leak = leak

    def forward(self, x, h, w_ih, w_hh, b_ih, b_hh):
        F = nn.functional
        i_r, i_z, i_n = F.linear(x, w_ih, b_ih).chunk(3, dim=1)
        h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, dim=1)
        r, z = (i_r + h_r).sigmoid(), (i_z + h_z).sigmoid()
        n = (i_n + r * h_n).tanh()
        out = n + z * (h - n)
        return (out, r) if self.leak else out


@pytest.mark.parametrize("leak", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_a_gru_formula_is_replaced_only_when_its_inner_values_stay_inside(leak, bias):
    args = [ember.randn(2, 3, requires_grad=True), ember.randn(2, 4, requires_grad=True),
            ember.randn(12, 3, requires_grad=True), ember.randn(12, 4, requires_grad=True)]
    args += [ember.randn(12, requires_grad=True), ember.randn(12, requires_grad=True)] if bias else [None, None]
    model = GRUFormula(leak)
    compiled = ember.compile(model)
    results = []
    for run in (compiled, model):
        out = run(*args)
        outs = out if isinstance(out, tuple) else (out,)
        sum(o.sum() * (k + 1) for k, o in enumerate(outs)).backward()
        results.append((outs, [a.grad.clone() for a in args if a is not None]))
        for a in args:
            if a is not None:
                a.grad = None
    for a, b in zip(results[0][0], results[1][0]):
        _close(a, b)
    for a, b in zip(results[0][1], results[1][1]):
        _close(a, b)
    assert ("GRUCellStep" in _fused_ops(compiled)) == (not leak)


def test_a_gru_formula_with_a_broadcast_state_stays_op_by_op():
    """The fused op takes a state of the batch's shape: a (1, hidden) state broadcast by the formula keeps its ops."""
    args = [ember.randn(2, 3), ember.randn(1, 4), ember.randn(12, 3), ember.randn(12, 4), ember.randn(12),
            ember.randn(12)]
    model = GRUFormula(False)
    compiled = ember.compile(model)
    _close(compiled(*args), model(*args))
    assert "GRUCellStep" not in _fused_ops(compiled)


_SECOND_PROCESS = r"""
import json, sys
import numpy as np
import ember
sys.path.insert(0, {root!r})
from tests.core.compile.test_cell_patterns import CellLoop

ember.manual_seed(0)
model = CellLoop("GRUCell")
compiled = ember.compile(model)
x = ember.randn(4, 3, 3)
h = ember.randn(4, 5, requires_grad=True)
out = compiled(x, h)
out.sum().backward()
grads = [h.grad] + [p.grad for p in model.parameters()]
(graph,) = compiled._compiled.cache.values()
stats = [getattr(k.module, f).stats for k in graph.kernels
         for f in ("forward_flat", "forward_nd", "backward_flat", "backward_nd")]
x5, h5 = ember.randn(5, 3, 3), ember.randn(5, 5)
new_shape = compiled(x5, h5)
json.dump({{"out": out.tolist(), "grads": [g.tolist() for g in grads],
            "eager": model(x, h).tolist(), "new_shape": new_shape.tolist(), "new_eager": model(x5, h5).tolist(),
            "graphs": len(compiled._compiled.cache), "kernels": len(graph.kernels),
            "hits": sum(sum(s.cache_hits.values()) for s in stats),
            "misses": sum(sum(s.cache_misses.values()) for s in stats)}}, sys.stdout)
"""


def test_a_second_process_on_the_disk_cache_gives_identical_results_and_recompiles_on_a_new_shape(tmp_path):
    first, second = run_twice_on_one_cache(_SECOND_PROCESS, tmp_path / "cache")
    assert first["kernels"] >= 1 and first["misses"] >= 1  # the elementwise tail's kernel, compiled by numba
    assert second["misses"] == 0 and second["hits"] >= 1  # ... and read back from the disk cache
    assert second["out"] == first["out"] and second["grads"] == first["grads"]  # bit for bit
    np.testing.assert_allclose(second["out"], second["eager"], rtol=1e-5, atol=1e-5)
    assert second["graphs"] == 2  # the new batch size failed the shape guard and was compiled again
    np.testing.assert_allclose(second["new_shape"], second["new_eager"], rtol=1e-5, atol=1e-5)
