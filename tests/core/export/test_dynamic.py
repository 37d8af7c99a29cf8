"""Dynamic dimensions: ``Dim`` sizes stay symbolic in shapes and arguments, or are refused with the line."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import nn
from ember.export import DataDependentError, Dim, export


class Folds(nn.Module):
    """Python arithmetic on the batch size, a zeros tensor of the batch's size, two outputs."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 3)

    def forward(self, x):
        b = x.shape[0]
        y = self.fc(x.view(b * 2, -1))
        h = ember.zeros(b * 2, 3)
        return (y + h).reshape(b, -1)


def test_sizes_stay_symbolic(tmp_path):
    model = Folds()
    ep = export(model, (ember.randn(3, 4),), dynamic_shapes={"x": {0: Dim("batch", min=2, max=16)}})
    view = next(n for n in ep.graph.nodes if n.op == "Reshape")
    assert view.args[1] == {"tuple": [{"sym": "2*batch"}, 2]}
    assert ep.graph.nodes[-1].outputs[0].shape == ["batch", 6]
    assert ep.range_constraints == {"batch": (2, 16)}
    ember.export.save(ep, tmp_path / "folds.ember")
    for program in (ep, ember.export.load(tmp_path / "folds.ember")):
        for batch in (2, 9):
            x = ember.randn(batch, 4)
            np.testing.assert_allclose(program.module()(x).detach().numpy(), model(x).detach().numpy(), atol=1e-6)


def test_two_dims_and_their_product():
    class Flat(nn.Module):
        def forward(self, x):
            return x.reshape(-1, x.shape[-1]).relu()

    ep = export(Flat(), (ember.randn(2, 3, 4),), dynamic_shapes=({0: Dim("batch"), 1: Dim("seq")},))
    assert ep.graph.nodes[-1].outputs[0].shape == ["batch*seq", 4]
    assert ep.module()(ember.randn(5, 7, 4)).shape == (35, 4)


def test_sizes_outside_the_range_are_refused():
    ep = export(Folds(), (ember.randn(3, 4),), dynamic_shapes={"x": {0: Dim("batch", min=2, max=8)}})
    with pytest.raises(ValueError, match="outside Dim 'batch'"):
        ep.module()(ember.randn(9, 4))


def test_a_fixed_size_names_the_line():
    class Fixed(nn.Module):
        def forward(self, x):
            return x + ember.arange(int(x.shape[0])).float()[:, None]  # not a fill: cannot follow the batch

    with pytest.raises(DataDependentError, match="changes between the capture runs") as info:
        export(Fixed(), (ember.randn(3, 2),), dynamic_shapes=({0: Dim("batch")},))
    assert f"{__file__}:{Fixed.forward.__code__.co_firstlineno + 1}" in str(info.value)


def test_an_op_failing_at_another_size_is_refused_clearly():
    class Hardcoded(nn.Module):
        def forward(self, x):
            return x.view(3, 2, 2)  # the batch written as a number

    with pytest.raises(RuntimeError, match="fails when the dynamic sizes change") as info:
        export(Hardcoded(), (ember.randn(3, 4),), dynamic_shapes=({0: Dim("batch")},))
    assert "batch=4" in str(info.value) and "batch=3" in str(info.value)


def test_a_branch_on_a_dynamic_size_is_refused():
    class Loop(nn.Module):
        def forward(self, x):
            for _ in range(x.shape[0]):
                x = x + 1
            return x

    with pytest.raises(DataDependentError, match="different number of ops"):
        export(Loop(), (ember.randn(3, 2),), dynamic_shapes=({0: Dim("batch")},))


def test_dim_checks_its_arguments():
    with pytest.raises(ValueError, match="identifier"):
        Dim("two words")
    with pytest.raises(ValueError, match="below min"):
        Dim("b", min=4, max=2)
    assert repr(Dim("batch", min=1, max=8)) == "Dim('batch', min=1, max=8)"


def test_nested_inputs_share_a_dim():
    class Carry(nn.Module):
        def forward(self, x, state):
            h, c = state
            return x + h * c, (h + 1, c)

    batch = Dim("batch", max=16)
    x, state = ember.randn(2, 3), (ember.randn(2, 3), ember.randn(2, 3))
    ep = export(Carry(), (x, state), dynamic_shapes={"x": {0: batch}, "state": ({0: batch}, [batch, None])})
    assert [(i.target, i.meta.shape) for i in ep.graph.inputs] == [
        ("x", ["batch", 3]), ("state[0]", ["batch", 3]), ("state[1]", ["batch", 3])]
    x, state = ember.randn(5, 3), (ember.randn(5, 3), ember.randn(5, 3))
    out, (h, _) = ep.module()(x, state)
    np.testing.assert_allclose(out.numpy(), (x + state[0] * state[1]).numpy(), rtol=1e-6)
    np.testing.assert_allclose(h.numpy(), state[0].numpy() + 1)
    with pytest.raises(ValueError, match="Dim 'batch', size 5 elsewhere, but 4 here"):
        ep.module()(x, (ember.randn(4, 3), state[1]))
