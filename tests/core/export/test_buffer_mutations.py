"""Buffers an exported forward changes in place (batch norm's running statistics in training mode), as
torch.export's ``graph_signature.buffers_to_mutate``, and random draws recorded as graph nodes."""

from __future__ import annotations

import copy

import ember
import numpy as np
import pytest
from ember import nn
from ember.export import DataDependentError, Dim, export, load, save


def _close(a, b, tol=1e-6):
    np.testing.assert_allclose(np.asarray(a.detach().numpy(), dtype=np.float64),
                               np.asarray(b.detach().numpy(), dtype=np.float64), rtol=tol, atol=tol)


def _convnet(momentum=0.1):
    ember.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3, momentum=momentum), nn.ReLU()).train()


def _same_buffers(model, twin):
    for (name, b), (_, e) in zip(model.named_buffers(), twin.named_buffers()):
        _close(b, e)
    assert [n for n, _ in model.named_buffers()] == [n for n, _ in twin.named_buffers()]


def test_batch_norm_in_training_mode_lists_its_buffer_mutations():
    ep = export(_convnet(), (ember.randn(4, 2, 6, 6),))
    mutations = ep.graph_signature.buffers_to_mutate
    assert sorted(mutations.values()) == ["1.num_batches_tracked", "1.running_mean", "1.running_var"]
    assert all(value in {o.name for n in ep.graph.nodes for o in n.outputs} for value in mutations)
    assert "# buffer 1.running_mean <- " in ep.graph.python_code()
    assert ep.graph.to_json()["mutations"] == ep.graph.mutations


def test_the_program_writes_the_statistics_back_as_the_eager_forward_does():
    model = _convnet()
    twin = copy.deepcopy(model)
    module = export(model, (ember.randn(4, 2, 6, 6),)).module()
    assert int(model[1].num_batches_tracked.item()) == 0  # the capture left the statistics alone
    for step in range(3):
        x = ember.randn(4, 2, 6, 6) * (step + 1)
        _close(module(x), twin(x), 1e-5)
    _same_buffers(module, twin)
    assert int(module.get_buffer("1.num_batches_tracked").item()) == 3


def test_momentum_none_averages_over_the_batches_seen():
    model = _convnet(momentum=None)
    twin = copy.deepcopy(model)
    module = export(model, (ember.randn(4, 2, 6, 6),)).module()
    for step in range(4):
        x = ember.randn(4, 2, 6, 6) + step
        module(x)
        twin(x)
    _same_buffers(module, twin)


def test_a_saved_program_keeps_its_buffer_mutations(tmp_path):
    model = _convnet()
    ep = export(model, (ember.randn(4, 2, 6, 6),))
    save(ep, tmp_path / "bn.ember")
    loaded = load(tmp_path / "bn.ember")
    assert loaded.graph_signature.buffers_to_mutate == ep.graph_signature.buffers_to_mutate
    module, twin = loaded.module(), copy.deepcopy(model)
    for _ in range(2):
        x = ember.randn(4, 2, 6, 6)
        _close(module(x), twin(x), 1e-5)
    _same_buffers(module, twin)
    assert int(model[1].num_batches_tracked.item()) == 0  # the loaded program has buffers of its own


def test_dynamic_batch_size_updates_the_statistics_of_each_size():
    model = _convnet()
    twin = copy.deepcopy(model)
    ep = export(model, (ember.randn(4, 2, 6, 6),), dynamic_shapes={"input": {0: Dim("batch", min=2)}})
    module = ep.module()
    for batch in (2, 5, 3):
        x = ember.randn(batch, 2, 6, 6)
        _close(module(x), twin(x), 1e-5)
    _same_buffers(module, twin)


class Accumulator(nn.Module):
    """Buffers changed by in-place tensor methods: a running sum, a counter and a reset."""

    def __init__(self):
        super().__init__()
        self.register_buffer("total", ember.zeros(3))
        self.register_buffer("calls", ember.tensor(0))
        self.register_buffer("last", ember.ones(3))

    def forward(self, x):
        self.total += x.sum(0)
        self.calls.add_(1)
        self.last.fill_(2.0)
        return x * self.total


def test_in_place_tensor_methods_on_buffers_are_mutations():
    module = export(Accumulator(), (ember.randn(2, 3),)).module()
    twin = Accumulator()
    for _ in range(3):
        x = ember.randn(2, 3)
        _close(module(x), twin(x))
    _same_buffers(module, twin)
    assert int(module.get_buffer("calls").item()) == 3


class Scales(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(ember.ones(3))

    def forward(self, x):
        with ember.no_grad():
            self.scale.clamp_(max=0.5)
        return x * self.scale


def test_a_parameter_changed_in_place_is_refused_naming_the_line():
    with pytest.raises(DataDependentError, match=r"test_buffer_mutations.py:\d+: .*parameter 'scale' in place"):
        export(Scales(), (ember.randn(2, 3),))


def test_dropout_is_a_random_node_that_draws_when_the_program_runs():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5)).train()
    x = ember.randn(3, 4)
    ember.manual_seed(2)
    ep = export(model, (x,))
    assert np.array_equal(ember.get_rng_state().numpy(), ember.manual_seed(2).get_state().numpy())  # no draws
    assert any(node.target == "random:random" for node in ep.graph.nodes)
    module = ep.module()
    ember.manual_seed(4)
    outs = [module(x), module(x)]
    ember.manual_seed(4)
    for out in outs:
        _close(out, model(x), 0)
    assert not np.allclose(outs[0].detach().numpy(), outs[1].detach().numpy())


def test_a_saved_random_node_runs_and_other_generator_methods_are_refused(tmp_path):
    model = nn.Sequential(nn.Dropout(0.3)).train()
    ep = export(model, (ember.randn(2, 5),))
    save(ep, tmp_path / "drop.ember")
    x = ember.randn(2, 5)
    ember.manual_seed(9)
    out = load(tmp_path / "drop.ember").module()(x)
    ember.manual_seed(9)
    _close(out, model(x), 0)
    node = next(n for n in ep.graph.nodes if n.target.startswith("random:"))
    node.target = "random:bit_generator"
    with pytest.raises(RuntimeError, match="not a numpy.random.Generator draw"):
        save(ep, tmp_path / "bad.ember") or load(tmp_path / "bad.ember")


def test_onnx_export_of_a_program_that_changes_buffers_is_refused():
    pytest.importorskip("onnx")
    ep = export(_convnet(), (ember.randn(4, 2, 6, 6),))
    with pytest.raises(ValueError, match="changes buffers in place .*model.eval"):
        ember.onnx.export(ep, (ember.randn(4, 2, 6, 6),), None)
    ember.onnx.export(_convnet(), (ember.randn(4, 2, 6, 6),), None)  # a module: exported in eval mode


class CountsInAScratchBuffer(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("seen", ember.zeros(1), persistent=False)

    def forward(self, x):
        self.seen.add_(1)
        return x * self.seen


def test_a_non_persistent_buffer_changed_in_place_is_refused_not_frozen():
    with pytest.raises(DataDependentError, match="non-persistent buffer 'seen'.*persistent=True"):
        export(CountsInAScratchBuffer(), (ember.randn(2, 3),))


@pytest.mark.parity
def test_the_mutated_buffers_are_torch_exports():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3)).train()
    signature = torch.export.export(theirs, (torch.randn(4, 2, 6, 6),)).run_decompositions().graph_signature
    ours = export(_convnet()[:2], (ember.randn(4, 2, 6, 6),)).graph_signature
    assert sorted(ours.buffers_to_mutate.values()) == sorted(signature.buffers_to_mutate.values())
    assert ours.buffers == list(signature.buffers)


class Reseeds(nn.Module):
    def forward(self, x):
        ember.manual_seed(0)
        return x + ember.rand(x.shape)


def test_a_forward_that_reseeds_the_generator_is_refused_and_the_generator_stays_whole():
    x = ember.randn(2, 3)
    ember.manual_seed(5)
    with pytest.raises(DataDependentError, match="reseeds"):
        export(Reseeds(), (x,))
    drawn = ember.rand(3)
    ember.manual_seed(5)
    _close(drawn, ember.rand(3), 0)  # the capture left the generator as it found it


class CachesInAnAttribute(nn.Module):
    def __init__(self):
        super().__init__()
        self.cache = ember.zeros(3)  # a plain attribute, not a buffer

    def forward(self, x):
        self.cache.copy_(x.sum(0))
        return x + self.cache


def test_a_tensor_attribute_changed_in_place_is_refused():
    with pytest.raises(DataDependentError, match=r"tensor attribute 'cache' in place.*register_buffer"):
        export(CachesInAnAttribute(), (ember.randn(2, 3),))
