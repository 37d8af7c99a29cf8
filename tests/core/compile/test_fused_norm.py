"""ember.compile runs batch norm followed by ReLU (with a residual add between them or not) as one fused op:
eager's outputs, gradients, running statistics and optimizer steps (training and eval mode, every subset of
inputs requiring grad, 2-D to 4-D inputs, affine or not, float64), torch's results, and the cases it must
leave alone."""

from __future__ import annotations

import copy
import itertools

import ember
import numpy as np
import pytest
from ember import nn

F = nn.functional


def _close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a.detach().numpy()), np.asarray(b.detach().numpy()), rtol=tol, atol=tol)


class NormRelu(nn.Module):
    """relu(bn(x)), relu(bn(x) + r) or relu(r + bn(x)); ``leak`` also returns bn(x) (then nothing is fused)."""

    def __init__(self, dims: int, residual: str | None, affine: bool = True, leak: bool = False):
        super().__init__()
        self.bn = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d}[dims](4, affine=affine)
        self.residual, self.leak = residual, leak

    def forward(self, x, r=None):
        y = self.bn(x)
        z = F.relu(y if self.residual is None else y + r if self.residual == "right" else r + y)
        return (z, y) if self.leak else z


def _ops(compiled) -> list:
    (graph,) = compiled._compiled.cache.values()
    return [node.op for node in graph.graph.nodes]


def _run(model, x, r, needs):
    """Forward and backward with ``needs`` = (x, r, parameters) requiring grad: output, gradients, buffers."""
    x, r = x.detach().clone().requires_grad_(needs[0]), r.detach().clone().requires_grad_(needs[1])
    out = model(x, r)
    out = out[0] if isinstance(out, tuple) else out
    if any(needs):
        (out * ember.linspace(-1, 1, out.shape[1]).reshape(-1, *[1] * (out.ndim - 2))).sum().backward()
    grads = [x.grad, r.grad] + [p.grad for p in model.parameters()]
    return out.detach(), [None if g is None else g.clone() for g in grads], [b.clone() for b in model.buffers()]


def _cases():
    for dims, residual, training in itertools.product([2, 3, 4], [None, "right", "left"], [True, False]):
        for needs in itertools.product([False, True], repeat=3):
            if residual is None and needs[1]:
                continue
            yield dims, residual, training, needs


@pytest.mark.parametrize("dims,residual,training,needs", list(_cases()))
def test_batch_norm_relu_runs_fused_with_eager_results(dims, residual, training, needs):
    ember.manual_seed(0)
    shape = (6, 4, 5, 3)[:dims]
    x, r = ember.randn(*shape) * 2 + 0.5, ember.randn(*shape)
    model = NormRelu(dims, residual).train(training)
    with ember.no_grad():
        model.bn.weight.uniform_(0.5, 1.5)
        model.bn.bias.uniform_(-0.5, 0.5)
    model.requires_grad_(needs[2])
    eager = copy.deepcopy(model)
    compiled = ember.compile(model)
    got, want = _run(compiled, x, r, needs), _run(eager, x, r, needs)
    assert _ops(compiled).count("BatchNormRelu") == 1
    assert "Relu" not in _ops(compiled) and "BatchNorm" not in _ops(compiled)
    _close(got[0], want[0])
    for a, b in zip(got[1], want[1]):
        assert (a is None) == (b is None)
        if a is not None:
            _close(a, b)
    for a, b in zip(got[2], want[2]):  # running statistics (training mode), as eager updates them
        _close(a, b)


@pytest.mark.parametrize("affine", [True, False])
def test_float64_and_no_affine_stay_exact(affine):
    x, r = ember.randn(5, 4, 3, 3, dtype=ember.float64), ember.randn(5, 4, 3, 3, dtype=ember.float64)
    model = NormRelu(4, "right", affine=affine).double()
    eager = copy.deepcopy(model)
    compiled = ember.compile(model)
    got, want = _run(compiled, x, r, (True, True, affine)), _run(eager, x, r, (True, True, affine))
    assert got[0].dtype == ember.float64 and "BatchNormRelu" in _ops(compiled)
    _close(got[0], want[0], 1e-12)
    for a, b in zip(got[1], want[1]):
        if b is not None:
            _close(a, b, 1e-12)


def test_a_batch_norm_result_used_elsewhere_is_not_fused():
    model = NormRelu(4, "right", leak=True)
    x, r = ember.randn(3, 4, 2, 2), ember.randn(3, 4, 2, 2)
    compiled = ember.compile(model)
    for a, b in zip(compiled(x, r), copy.deepcopy(model)(x, r)):
        _close(a, b)
    assert "BatchNormRelu" not in _ops(compiled)


def test_a_broadcast_residual_is_not_fused():
    model = NormRelu(4, "right")
    x, r = ember.randn(3, 4, 2, 2), ember.randn(4, 1, 1)
    compiled = ember.compile(model)
    _close(compiled(x, r), copy.deepcopy(model)(x, r))
    assert "BatchNormRelu" not in _ops(compiled)


class Block(nn.Module):
    """A ResNet basic block with a projection shortcut: the add reads two batch norms' results."""

    def __init__(self):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
        self.conv2, self.bn2 = nn.Conv2d(4, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4)
        self.shortcut = nn.Sequential(nn.Conv2d(3, 4, 1, bias=False), nn.BatchNorm2d(4))

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(h)) + self.shortcut(x))


@pytest.mark.parametrize("training", [True, False])
def test_sgd_steps_on_a_compiled_resnet_block_equal_eager(training):
    x = ember.randn(4, 3, 6, 6)
    trained = []
    for compile_ in (True, False):
        ember.manual_seed(0)
        model = Block().train(training)
        run = ember.compile(model) if compile_ else model
        optimizer = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for _ in range(3):
            loss = (run(x) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if compile_:
            assert _ops(run).count("BatchNormRelu") == 2
        trained.append([t.detach().clone() for t in list(model.parameters()) + list(model.buffers())])
    for a, b in zip(*trained):
        _close(a, b)


@pytest.mark.parity
@pytest.mark.parametrize("dims", [3, 4])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("needs", list(itertools.product([False, True], repeat=4)))
def test_fused_batch_norm_relu_matches_torch(dims, training, needs):
    """relu(bn(x) + r) against torch, every subset of (x, r, weight, bias) requiring grad."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    shape = (5, 4, 3, 3)[:dims]
    x, r = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))
    model = NormRelu(dims, "right").train(training)
    reference = (torch.nn.BatchNorm1d if dims == 3 else torch.nn.BatchNorm2d)(4).train(training)
    with torch.no_grad():
        reference.weight.uniform_(0.5, 1.5)
        reference.bias.uniform_(-0.5, 0.5)
        reference.running_mean.uniform_(-0.5, 0.5)
        reference.running_var.uniform_(0.5, 1.5)
    model.bn.load_state_dict({k: ember.tensor(v.numpy()) for k, v in reference.state_dict().items()})
    ex, er = ember.tensor(x, requires_grad=needs[0]), ember.tensor(r, requires_grad=needs[1])
    tx, tr = torch.tensor(x, requires_grad=needs[0]), torch.tensor(r, requires_grad=needs[1])
    for module, flags in ((model.bn, needs[2:]), (reference, needs[2:])):
        module.weight.requires_grad_(flags[0])
        module.bias.requires_grad_(flags[1])
    compiled = ember.compile(model)
    out = compiled(ex, er)
    expected = torch.relu(reference(tx) + tr)
    assert "BatchNormRelu" in _ops(compiled)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-5)
    weights = np.linspace(-1, 1, 4, dtype=np.float32).reshape(-1, *[1] * (dims - 2))
    if any(needs):
        (out * ember.tensor(weights)).sum().backward()
        (expected * torch.from_numpy(weights)).sum().backward()
    pairs = [(ex, tx), (er, tr), (model.bn.weight, reference.weight), (model.bn.bias, reference.bias)]
    for a, b in pairs:
        assert (a.grad is None) == (b.grad is None)
        if a.grad is not None:
            np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-5)
    for a, b in zip(model.buffers(), reference.buffers()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


def test_an_in_place_relu_after_batch_norm_is_fused_too():
    model = nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.ReLU(inplace=True))
    eager = copy.deepcopy(model)
    compiled = ember.compile(model)
    x = ember.randn(2, 2, 5, 5)
    results = []
    for run in (compiled, eager):
        xs = x.clone().requires_grad_(True)
        out = run(xs)
        (out * out).sum().backward()
        results.append([out, xs.grad] + [p.grad for p in run.parameters()])
    assert _ops(compiled)[-1] == "BatchNormRelu"
    for a, b in zip(*results):
        _close(a, b)


def test_a_built_in_resnet_fuses_its_batch_norms_in_one_dynamic_graph():
    from tests.core.model_families import FAMILIES

    model, make = FAMILIES["resnet20"]()
    eager = copy.deepcopy(model)
    compiled = ember.compile(model, dynamic=True)
    for batch in (2, 3):
        x = make(batch)
        _close(compiled(x), eager(x))
    for a, b in zip(model.buffers(), eager.buffers()):
        _close(a, b)
    assert len(compiled._compiled.cache) == 1 and _ops(compiled).count("BatchNormRelu") >= 9
