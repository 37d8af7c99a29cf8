"""The first call of a compiled forward: a graph whose two-run capture passed before (in this process or an
earlier one, remembered in the compile cache folder) is captured in one run; anything else in two, as before."""

from __future__ import annotations

import os

import ember
import numpy as np
import pytest
from ember import nn
from ember.compiler import _verified
from ember.export import _capture

from ._processes import run_twice_on_one_cache


@pytest.fixture
def runs(monkeypatch, tmp_path):
    """A fresh cache folder and no key known to this process (as in a new process); the capture's runs counted."""
    monkeypatch.setenv("EMBER_COMPILE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(_verified, "_KNOWN", set())
    count = [0]
    real = _capture._run_at

    def counted(*args, **kwargs):
        count[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(_capture, "_run_at", counted)
    return count


def _new_process(monkeypatch):
    """Forgets what this process verified: only the disk's record remains."""
    monkeypatch.setattr(_verified, "_KNOWN", set())


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return (self.fc(x).tanh() * 2 + x[..., :3]).relu()


def test_a_graph_captured_twice_before_is_captured_once_with_the_same_results(runs, monkeypatch, tmp_path):
    ember.manual_seed(0)
    model = Block()
    x = ember.randn(2, 5, 4, requires_grad=True)  # 3-d
    first = ember.compile(model)(x)
    assert runs[0] == 2 and len(os.listdir(tmp_path / "verified")) == 1  # the check on shuffled values ran
    first.sum().backward()
    grads = [x.grad] + [p.grad for p in model.parameters()]

    _new_process(monkeypatch)
    x2 = x.detach().requires_grad_()
    model.zero_grad()
    second = ember.compile(model)(x2)
    assert runs[0] == 3  # one run: the same graph passed the check before
    second.sum().backward()
    np.testing.assert_array_equal(second.detach().numpy(), first.detach().numpy())
    for g, e in zip([x2.grad] + [p.grad for p in model.parameters()], grads):
        np.testing.assert_array_equal(g.numpy(), e.numpy())
    np.testing.assert_allclose(second.detach().numpy(), model(x).detach().numpy(), rtol=1e-6, atol=1e-6)


def test_a_new_shape_is_checked_again_and_still_recompiles(runs, monkeypatch):
    model = Block()
    ember.compile(model)(ember.randn(2, 4))
    _new_process(monkeypatch)
    compiled = ember.compile(model)
    compiled(ember.randn(2, 4))
    assert runs[0] == 3
    out = compiled(ember.randn(6, 4))  # fails the shape guard: a new graph, never checked: two runs
    assert runs[0] == 5 and len(compiled._compiled.cache) == 2
    assert out.shape == (6, 3)


def test_a_constant_read_from_the_data_is_checked_again_in_the_next_process(runs, monkeypatch):
    def masked(x):
        return x * ember.from_numpy(np.array(x.numpy() > 0))  # a constant computed from the values

    ones = ember.ones(5)
    np.testing.assert_array_equal(ember.compile(masked)(ones).numpy(), np.ones(5))  # shuffled ones: same graph
    assert runs[0] == 2

    _new_process(monkeypatch)
    x = ember.tensor([1.0, -2.0, 3.0, -4.0, 5.0])
    with pytest.warns(RuntimeWarning, match="runs eagerly"):  # other values, another constant: checked, refused
        out = ember.compile(masked)(x)
    assert runs[0] == 4
    np.testing.assert_array_equal(out.numpy(), [1.0, 0.0, 3.0, 0.0, 5.0])

    _new_process(monkeypatch)
    ember.compile(masked)(ones)  # the values of the graph checked before: one run
    assert runs[0] == 5


def test_dynamic_shapes_are_always_captured_at_every_point(runs, monkeypatch):
    model = Block()
    ember.compile(model, dynamic=True)(ember.randn(3, 4))
    made = runs[0]
    assert made > 2
    _new_process(monkeypatch)
    out = ember.compile(model, dynamic=True)(ember.randn(3, 4))
    assert runs[0] == 2 * made  # (a symbolic graph needs the runs at other sizes)
    assert out.shape == (3, 3)


_SECOND_PROCESS = """
import json, sys
sys.path.insert(0, {root!r})
import ember
from ember.export import _capture
runs = [0]
real = _capture._run_at
def counted(*args, **kwargs):
    runs[0] += 1
    return real(*args, **kwargs)
_capture._run_at = counted
from benchmarks.models import resnet8
ember.manual_seed(0)
model = ember.compile(resnet8(ember.nn))
x = ember.randn(2, 3, 16, 16)
out = model(x)
out.sum().backward()
json.dump({{"runs": runs[0], "out": out.tolist(), "grad": model.conv1.weight.grad.numpy().ravel()[:50].tolist(),
            "scipy.linalg": "scipy.linalg" in sys.modules}}, sys.stdout)
"""


def test_a_second_process_captures_once_and_loads_numba_without_scipy_linalg(tmp_path):
    first, second = run_twice_on_one_cache(_SECOND_PROCESS, tmp_path / "cache")
    assert (first["runs"], second["runs"]) == (2, 1)
    assert second["out"] == first["out"] and second["grad"] == first["grad"]  # bit for bit
    assert not first["scipy.linalg"] and not second["scipy.linalg"]  # (numba's start-up: ember.kernels._numba_start)
