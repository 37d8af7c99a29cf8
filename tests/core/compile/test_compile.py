"""ember.compile: compiled outputs and gradients against eager, the guards and their cache, fallback to eager,
fullgraph's error, disable, OptimizedModule, the debug folder and the disk cache."""

from __future__ import annotations

import itertools
import os
import warnings

import ember
import numpy as np
import pytest
from ember import nn
from ember.compiler import OptimizedModule, config
from ember.export import DataDependentError


def _close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a.detach().numpy()), np.asarray(b.detach().numpy()), rtol=tol, atol=tol)


def make_chain(lib):
    def chain(x, y):
        """Every op ember.compile fuses, with a broadcast operand (y) and Python scalars."""
        z = x * y + 1.5
        z = lib.tanh(z) - x / 2
        z = lib.relu(z) + lib.sigmoid(x) * lib.exp(-y)
        z = lib.sqrt(z * z + 1) + lib.log(lib.abs(y) + 0.5)
        z = lib.sin(z) / (lib.cos(x) + 3.0) + z.reciprocal() + z ** 3
        return z

    return chain


chain = make_chain(ember)


def _grads(fn, inputs, needs):
    xs = [t.detach().clone().requires_grad_(n) for t, n in zip(inputs, needs)]
    out = fn(*xs)
    if any(needs):
        (out * ember.linspace(-1, 1, out.shape[-1])).sum().backward()
    return out, [x.grad for x in xs]


@pytest.mark.parametrize("needs", [n for n in itertools.product([False, True], repeat=2)])
def test_elementwise_chain_outputs_and_gradients_equal_eager(needs):
    inputs = [ember.randn(2, 3, 4), ember.randn(4)]  # 3-d and a broadcast operand
    compiled = ember.compile(chain)
    out, grads = _grads(compiled, inputs, needs)
    expected, expected_grads = _grads(chain, inputs, needs)
    _close(out, expected)
    assert out.requires_grad == any(needs)
    for g, e in zip(grads, expected_grads):
        assert (g is None) == (e is None)
        if g is not None:
            _close(g, e)


def test_an_elementwise_run_is_one_kernel_with_the_intermediates_kept_in_registers():
    compiled = ember.compile(chain)
    compiled(ember.randn(3, 4), ember.randn(4))
    (graph,) = compiled.cache.values()
    (kernels,) = graph.kernels
    assert len(kernels.run.nodes) == len(graph.graph.nodes) > 20
    assert kernels.run.outputs == [graph.graph.nodes[-1].name]  # one array stored: the result
    assert kernels.source.count("np.empty") == 0 and kernels.source.count("for i in range(n):") == 2


@pytest.mark.parity
def test_chain_matches_torch():
    torch = pytest.importorskip("torch")
    x, y = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    y = y[0]
    ex, ey = ember.tensor(x, requires_grad=True), ember.tensor(y, requires_grad=True)
    tx, ty = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    ember.compile(chain)(ex, ey).sum().backward()
    make_chain(torch)(tx, ty).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ey.grad.numpy(), ty.grad.numpy(), rtol=1e-4, atol=1e-5)


def _mlp():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 3))


def test_mlp_training_steps_equal_eager():
    x, target = ember.randn(5, 6), ember.randn(5, 3)
    weights = []
    for compile_it in (False, True):
        model = _mlp()
        run = ember.compile(model) if compile_it else model
        optimizer = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for _ in range(3):
            loss = ((run(x) - target) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        weights.append([p.detach().clone() for p in model.parameters()])
    for compiled, eager in zip(*weights):
        _close(compiled, eager)


def test_lenet5_outputs_and_gradients_equal_eager():
    from ember.vision.models import lenet5

    ember.manual_seed(0)
    model = lenet5()
    x = ember.randn(2, 1, 28, 28)
    results = []
    for run in (ember.compile(model, fullgraph=True), model):
        out = run(x)
        (out * out).sum().backward()
        results.append((out.detach(), [p.grad.clone() for p in model.parameters()]))
        model.zero_grad()
    _close(results[0][0], results[1][0])
    for g, e in zip(results[0][1], results[1][1]):
        _close(g, e)


def test_a_new_shape_recompiles_and_a_seen_one_does_not():
    compiled = ember.compile(_mlp())
    for batch in (2, 3, 2):
        x = ember.randn(batch, 6)
        _close(compiled(x), compiled._orig_mod(x))
    assert len(compiled._compiled.cache) == 2


def test_grad_mode_and_training_mode_are_guards():
    compiled = ember.compile(_mlp())
    x = ember.randn(2, 6)
    assert compiled(x).requires_grad
    with ember.no_grad():
        assert not compiled(x).requires_grad
    compiled.eval()
    compiled(x)
    assert not compiled._orig_mod.training
    assert len(compiled._compiled.cache) == 3


def test_dynamic_compiles_one_graph_for_every_batch_size():
    compiled = ember.compile(_mlp(), dynamic=True)
    for batch in (2, 5, 9):
        x = ember.randn(batch, 6)
        _close(compiled(x), compiled._orig_mod(x))
    assert len(compiled._compiled.cache) == 1


def test_the_cache_size_limit_warns_with_the_failed_guard_then_runs_eagerly(monkeypatch):
    monkeypatch.setattr(config, "cache_size_limit", 2)
    compiled = ember.compile(_mlp())
    compiled(ember.randn(2, 6))
    compiled(ember.randn(3, 6))
    x = ember.randn(4, 6)
    with pytest.warns(RuntimeWarning, match=r"cache size limit \(2.*input args\[0\]: shape \[3, 6\] compiled, \[4, 6\]"):
        out = compiled(x)
    _close(out, compiled._orig_mod(x))
    assert len(compiled._compiled.cache) == 2


def branchy(x):
    if x.sum() > 0:  # a branch on tensor data: the capture cannot hold it
        return x * 2
    return x - 1


def test_a_forward_the_capture_refuses_runs_eagerly_with_a_warning():
    compiled = ember.compile(branchy)
    x = ember.ones(3)
    with pytest.warns(RuntimeWarning, match="runs eagerly"):
        out = compiled(x)
    _close(out, branchy(x))
    _close(compiled(-x), branchy(-x))  # eager: the other branch is taken


def test_fullgraph_raises_the_capture_error_naming_the_line():
    compiled = ember.compile(branchy, fullgraph=True)
    with pytest.raises(DataDependentError, match=r"test_compile\.py:\d+"):
        compiled(ember.ones(3))


def test_disable_returns_the_original():
    model = _mlp()
    assert ember.compile(model, disable=True) is model
    assert ember.compile(chain, disable=True) is chain
    assert ember.compile(disable=True)(chain) is chain  # as a decorator


def test_optimized_module_passes_state_dict_and_attributes_through():
    model = _mlp()
    compiled = ember.compile(model)
    assert isinstance(compiled, OptimizedModule) and compiled._orig_mod is model
    state, original = compiled.state_dict(), model.state_dict()
    assert list(state) == list(original)
    for key in state:
        _close(state[key], original[key])
    other = _mlp()
    for p in other.parameters():
        p.data.add_(1.0)
    compiled.load_state_dict({"_orig_mod." + k: v for k, v in other.state_dict().items()})  # torch's keys
    _close(model[0].weight, other[0].weight)
    x = ember.randn(2, 6)
    _close(compiled(x), other(x))  # the compiled graph reads the loaded weights
    assert [n for n, _ in compiled.named_parameters()] == [n for n, _ in model.named_parameters()]
    compiled.eval()
    assert not model.training and not model[1].training


def test_debug_folder_gets_the_graph_and_the_kernels_source(monkeypatch, tmp_path):
    monkeypatch.setenv("EMBER_COMPILE_DEBUG", "1")
    monkeypatch.setenv("EMBER_COMPILE_DEBUG_DIR", str(tmp_path))
    ember.compile(chain)(ember.randn(3, 4), ember.randn(4))
    (folder,) = tmp_path.iterdir()
    assert "Tanh(" in (folder / "graph.py").read_text()
    source = (folder / "kernel_0.py").read_text()
    assert "def forward_flat" in source and "def backward_nd" in source and "np.tanh(" in source
    assert "kernel_0.py: mul, add" in (folder / "plan.txt").read_text()


def test_kernels_are_cached_on_disk(monkeypatch, tmp_path):
    monkeypatch.setenv("EMBER_COMPILE_CACHE_DIR", str(tmp_path))

    def small(x):
        return (x * 0.25 + 0.125).tanh()  # its own source, so this process has not loaded it

    compiled = ember.compile(small)
    _close(compiled(ember.ones(3)), small(ember.ones(3)))
    (source,) = tmp_path.glob("k_*.py")
    assert "0.125" in source.read_text()
    assert any(name.endswith(".nbi") for name in os.listdir(tmp_path / "__pycache__"))  # numba's index
    # as a new process would: the kernels imported again from the file, their machine code read from disk
    from ember.compiler import _codegen

    monkeypatch.setattr(_codegen, "_LOADED", {})
    (graph,) = compiled.cache.values()
    module = _codegen.load_kernels(graph.kernels[0].source)
    assert module is not graph.kernels[0].module
    module.forward_flat(np.ones(3, np.float32), np.empty(3, np.float32))
    assert sum(module.forward_flat.stats.cache_hits.values()) == 1
    assert not module.forward_flat.stats.cache_misses


def test_compile_checks_its_arguments():
    with pytest.raises(TypeError, match="callable"):
        ember.compile(3)
    with pytest.raises(ValueError, match="backend"):
        ember.compile(chain, backend="cudagraphs")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert callable(ember.compile(chain, mode="max-autotune"))


LAYER = nn.Linear(3, 2)


def test_a_function_gets_gradients_for_the_modules_and_tensors_it_reads():
    scale = ember.randn(2, requires_grad=True)

    def f(x):  # LAYER from the globals, scale from the closure
        return LAYER(x).tanh() * scale

    x = ember.randn(4, 3)
    grads = []
    for run in (ember.compile(f), f):
        run(x).sum().backward()
        grads.append([LAYER.weight.grad.clone(), LAYER.bias.grad.clone(), scale.grad.clone()])
        LAYER.zero_grad()
        scale.grad = None
    for g, e in zip(*grads):
        _close(g, e)


def test_dropout_in_training_mode_compiles_with_eager_random_masks():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    compiled = ember.compile(model, fullgraph=True)  # (tests/core/compile/test_training_mode.py: more)
    x = ember.randn(3, 4)
    ember.manual_seed(7)
    out = compiled(x)
    ember.manual_seed(7)
    _close(out, model(x))  # the capture's runs drew no random numbers; the graph drew eager's


def test_a_compiled_module_inside_an_exported_model_is_captured_as_its_ops():
    outer = nn.Sequential(ember.compile(nn.Sequential(nn.Linear(3, 3), nn.Tanh())), nn.ReLU())
    ep = ember.export.export(outer, (ember.randn(2, 3),))
    assert [node.op for node in ep.graph.nodes] == ["Linear", "Tanh", "Relu"]
    x = ember.randn(2, 3)
    _close(ep.module()(x), outer(x))


class FixedBatch(nn.Module):
    def forward(self, x):
        return x.view(4, -1).tanh() * 2  # fixes the batch size: no dynamic graph


def test_dynamic_gives_way_to_one_graph_per_shape_when_the_forward_fixes_the_batch():
    compiled = ember.compile(FixedBatch(), dynamic=True)
    for x in (ember.randn(4, 3), ember.randn(2, 6)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            _close(compiled(x), FixedBatch()(x))
    assert len(compiled._compiled.cache) == 2 and not compiled._compiled.dynamic


@pytest.mark.parametrize("family", ["resnet20", "vit", "gpt", "log_mel_cnn", "lstm_lm", "gru_lm"])
def test_built_in_models_compile_whole_with_eager_outputs_and_gradients(family):
    from tests.core.model_families import FAMILIES, first

    ember.manual_seed(0)
    model, make = FAMILIES[family]()
    model.eval()  # (training mode: test_training_mode.py)
    x = make(2)
    results = []
    for run in (ember.compile(model, fullgraph=True), model):
        out = first(run(x))
        (out * ember.linspace(-1, 1, out.shape[-1])).sum().backward()
        results.append((out.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]))
        model.zero_grad()
    _close(results[0][0], results[1][0])
    assert len(results[0][1]) == len(results[1][1]) > 0
    for g, e in zip(results[0][1], results[1][1]):
        _close(g, e)


def test_a_smaller_value_used_after_its_run_splits_the_run_and_stays_correct():
    def f(x, b):
        c = ember.tanh(b) * 2  # (4,): read after the run, so the run cannot keep it in registers only
        return ember.relu(x + c) - c.exp(), c

    x, b = ember.randn(3, 4, requires_grad=True), ember.randn(4, requires_grad=True)
    compiled = ember.compile(f)
    results = []
    for run in (compiled, f):
        out, c = run(x, b)
        (out.sum() + (c * c).sum()).backward()
        results.append([out.detach(), c.detach(), x.grad, b.grad])
        x.grad = b.grad = None
    for got, expected in zip(*results):
        _close(got, expected)
    (graph,) = compiled.cache.values()
    # runs of equal shapes: tanh, mul (4,) | add, relu (3, 4) | exp (4,) and sub (3, 4) one op each
    assert [[n.op for n in k.run.nodes] for k in graph.kernels] == [["Tanh", "Mul"], ["Add", "Relu"]]


def test_a_forward_that_changes_its_input_in_place_runs_eagerly():
    def bump(x):
        x.add_(1)
        return x * 2

    x, expected_x = ember.zeros(3), ember.zeros(3)
    with pytest.warns(RuntimeWarning, match=r"changes its input args_0 in place"):
        out = ember.compile(bump)(x)
    _close(out, bump(expected_x))
    _close(x, expected_x)  # changed once, as eagerly: the capture ran on a copy


class Counter(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("count", ember.zeros(1))

    def forward(self, x):
        self.count.add_(1)
        return x * self.count


def test_a_forward_that_changes_a_buffer_in_place_writes_it_back():
    model = Counter()
    compiled = ember.compile(model, fullgraph=True)
    compiled(ember.ones(2))
    _close(compiled(ember.ones(2)), ember.full((2,), 2.0))
    assert model.count.item() == 2


def test_float64_chain_stays_float64_and_equals_eager():
    inputs = [ember.randn(2, 3, 4, dtype=ember.float64), ember.randn(4, dtype=ember.float64)]
    out, grads = _grads(ember.compile(chain), inputs, (True, True))
    expected, expected_grads = _grads(chain, inputs, (True, True))
    assert out.dtype == ember.float64
    _close(out, expected, tol=1e-12)
    for g, e in zip(grads, expected_grads):
        _close(g, e, tol=1e-12)
