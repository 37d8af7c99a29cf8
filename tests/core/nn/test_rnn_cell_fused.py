"""The fused ``LSTMCell`` / ``GRUCell`` step (one op, a numba kernel for its pointwise part) against
torch's cells: outputs and every gradient, for every subset of the inputs that requires grad, float32 and
float64, with and without bias, one input feature (a time series) or several, unbatched, over a loop of
steps, and to second order (``create_graph`` differentiates the composite formula)."""

from __future__ import annotations

import itertools

import ember
import numpy as np
import pytest
from ember.nn.modules import _rnn_fused

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.parity, pytest.mark.usefixtures("one_torch_thread")]

TOLERANCE = {"float32": {"rtol": 2e-5, "atol": 2e-6}, "float64": {"rtol": 1e-12, "atol": 1e-13}}
CELLS = {"lstm": (4, _rnn_fused.lstm_cell, torch.lstm_cell), "gru": (3, _rnn_fused.gru_cell, torch.gru_cell)}



def _operands(kind, dtype, batch=3, inputs=4, hidden=5, seed=0):
    rng = np.random.default_rng(seed)
    chunks = CELLS[kind][0]
    shapes = [(batch, inputs), (batch, hidden)] + ([(batch, hidden)] if kind == "lstm" else [])
    shapes += [(chunks * hidden, inputs), (chunks * hidden, hidden), (chunks * hidden,), (chunks * hidden,)]
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def _run_both(kind, arrays, needs, bias=True):
    ours = [ember.tensor(a, requires_grad=n) for a, n in zip(arrays, needs)]
    theirs = [torch.tensor(a, requires_grad=n) for a, n in zip(arrays, needs)]
    if not bias:
        ours[-2:] = theirs[-2:] = [None, None]
    out = CELLS[kind][1](*ours)
    if kind == "lstm":
        x, h, c, *weights = theirs
        expected = CELLS[kind][2](x, (h, c), *weights)
    else:
        expected = CELLS[kind][2](*theirs)
    return ours, theirs, out if kind == "lstm" else (out,), expected if kind == "lstm" else (expected,)


def _loss(outputs, weights, lib):
    return sum((o * lib.tensor(w)).sum() for o, w in zip(outputs, weights))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_cell_matches_torch_for_every_requires_grad_subset(kind, dtype):
    arrays = _operands(kind, dtype)
    weights = np.random.default_rng(1).standard_normal((2, 3, 5)).astype(dtype)
    for needs in itertools.product([False, True], repeat=len(arrays)):
        if not any(needs):
            continue
        ours, theirs, out, expected = _run_both(kind, arrays, needs)
        assert type(out[0].grad_fn).__name__.endswith("CellStep")
        for o, e in zip(out, expected):
            np.testing.assert_allclose(o.detach().numpy(), e.detach().numpy(), **TOLERANCE[dtype])
        _loss(out, weights, ember).backward()
        _loss(expected, weights, torch).backward()
        for t, r in zip(ours, theirs):
            if r.requires_grad:
                np.testing.assert_allclose(t.grad.numpy(), r.grad.numpy(), **TOLERANCE[dtype], err_msg=str(needs))
            else:
                assert t.grad is None


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("inputs", [1, 6])
def test_cell_without_bias_and_with_one_input_feature(kind, inputs):
    arrays = _operands(kind, "float32", inputs=inputs)
    needs = [True] * len(arrays)
    ours, theirs, out, expected = _run_both(kind, arrays, needs, bias=False)
    for o, e in zip(out, expected):
        np.testing.assert_allclose(o.detach().numpy(), e.detach().numpy(), **TOLERANCE["float32"])
    sum(o.sum() for o in out).backward()
    sum(e.sum() for e in expected).backward()
    for t, r in zip(ours[:-2], theirs[:-2]):
        np.testing.assert_allclose(t.grad.numpy(), r.grad.numpy(), **TOLERANCE["float32"])


@pytest.mark.parametrize("name", ["LSTMCell", "GRUCell"])
def test_a_loop_of_cell_modules_trains_like_torch(name):
    torch.manual_seed(0)
    theirs = [getattr(torch.nn, name)(1, 6), getattr(torch.nn, name)(6, 6)]
    ours = [getattr(ember.nn, name)(1, 6), getattr(ember.nn, name)(6, 6)]
    for o, t in zip(ours, theirs):
        o.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})
    series = np.sin(np.arange(24, dtype=np.float32) / 3).reshape(3, 8)

    def run(cells, lib):
        x = lib.tensor(series)
        state1 = state2 = None
        total = 0
        for x_t in x.split(1, dim=1):
            state1 = cells[0](x_t, state1)
            h1 = state1[0] if name == "LSTMCell" else state1
            state2 = cells[1](h1, state2)
            total = total + ((state2[0] if name == "LSTMCell" else state2) ** 2).mean()
        total.backward()
        return total

    np.testing.assert_allclose(float(run(ours, ember)), float(run(theirs, torch)), rtol=1e-5)
    for o, t in zip(ours, theirs):
        for (key, p), (_, q) in zip(o.named_parameters(), t.named_parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("name", ["LSTMCell", "GRUCell"])
def test_unbatched_input_and_default_state(name):
    torch.manual_seed(0)
    theirs, ours = getattr(torch.nn, name)(3, 4), getattr(ember.nn, name)(3, 4)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal(3).astype(np.float32)
    out, expected = ours(ember.tensor(x)), theirs(torch.tensor(x))
    out, expected = (out, expected) if name == "GRUCell" else (out[1], expected[1])
    assert tuple(out.shape) == (4,)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_gradients_of_gradients_match_torch(kind):
    arrays = _operands(kind, "float64")
    ours, theirs, out, expected = _run_both(kind, arrays, [True] * len(arrays))
    x, w_hh = ours[0], ours[-3]
    first = ember.autograd.grad(sum((o ** 2).sum() for o in out), (x, w_hh), create_graph=True)
    second = ember.autograd.grad(sum((g ** 2).sum() for g in first), (x, w_hh))
    tx, tw = theirs[0], theirs[-3]
    t_first = torch.autograd.grad(sum((e ** 2).sum() for e in expected), (tx, tw), create_graph=True)
    t_second = torch.autograd.grad(sum((g ** 2).sum() for g in t_first), (tx, tw))
    for a, b in zip(first + second, t_first + t_second):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_only_the_cell_state_used_and_retain_graph():
    arrays = _operands("lstm", "float32")
    ours, theirs, out, expected = _run_both("lstm", arrays, [True] * len(arrays))
    loss, t_loss = out[1].sum(), expected[1].sum()  # h' unused: its gradient is zero
    loss.backward(retain_graph=True)
    loss.backward()
    t_loss.backward(retain_graph=True)
    t_loss.backward()
    for t, r in zip(ours, theirs):
        np.testing.assert_allclose(t.grad.numpy(), r.grad.numpy(), **TOLERANCE["float32"])
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


def test_a_weight_modified_in_place_before_backward_raises():
    cell = ember.nn.LSTMCell(3, 4)
    h, _ = cell(ember.randn(2, 3))
    with ember.no_grad():
        cell.weight_hh.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        h.sum().backward()


def test_half_precision_runs_the_composite_formula():
    cell = ember.nn.GRUCell(3, 4)
    x = ember.randn(2, 3)
    full = cell(x)
    cell.half()
    half = cell(x.half())
    assert half.dtype == ember.float16 and half.grad_fn is not None
    np.testing.assert_allclose(half.float().detach().numpy(), full.detach().numpy(), atol=5e-3)


@pytest.mark.parametrize("hx, message", [
    (lambda: (ember.zeros(2, 5), ember.zeros(2, 4)), "hidden0 has inconsistent hidden_size: got 5, expected 4"),
    (lambda: (ember.zeros(2, 4), ember.zeros(3, 4)), "Input batch size 2 doesn't match hidden1 batch size 3"),
    (lambda: (ember.zeros(4), ember.zeros(4)), "Expected hidden0 to be 2D"),
])
def test_mismatched_states_raise_torchs_errors(hx, message):
    with pytest.raises(RuntimeError, match=message):
        ember.nn.LSTMCell(3, 4)(ember.zeros(2, 3), hx())
