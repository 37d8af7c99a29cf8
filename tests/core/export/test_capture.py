"""ember.export.export: what the capture records, the printed graph, ep.module() against eager, the errors."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import nn
from ember.export import DataDependentError, Dim, export


class Small(nn.Module):
    """A linear layer, a buffer, a ReLU: the graph printed in test_print_readable."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.register_buffer("scale", ember.full((2,), 2.0))

    def forward(self, x):
        return ember.relu(self.fc(x)) * self.scale


def _close(a, b, tol=1e-5):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def test_print_readable_of_a_small_model():
    ep = export(Small(), (ember.randn(4, 3),), dynamic_shapes={"x": {0: Dim("batch")}})
    expected = '''class GraphModule(ember.nn.Module):
    def forward(self, p_fc_weight: "f32[2, 3]", p_fc_bias: "f32[2]", b_scale: "f32[2]", x: "f32[batch, 3]"):
        # module: fc (Linear)
        linear: "f32[batch, 2]" = Linear(x, p_fc_weight, p_fc_bias)
        relu: "f32[batch, 2]" = Relu(linear)
        mul: "f32[batch, 2]" = Mul(relu, b_scale)
        return mul
'''
    assert ep.print_readable(print_output=False) == expected
    assert str(ep.graph) == expected


def test_nodes_record_op_module_path_and_user_line():
    model = nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.ReLU(), nn.Linear(4, 2)))
    ep = export(model, (ember.randn(2, 3),))
    nodes = ep.graph.nodes
    assert [n.op for n in nodes] == ["Linear", "Relu", "Linear"]
    assert [n.module for n in nodes] == ["0", "1.0", "1.1"]
    assert nodes[1].module_type == "ReLU"
    assert nodes[0].target == "ember.ops.linalg:Linear"
    assert nodes[-1].outputs[0].shape == [2, 2] and nodes[-1].outputs[0].dtype == "float32"
    assert all(n.location.startswith(__file__) for n in nodes)


def test_parameters_and_buffers_enter_by_state_dict_name():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)).eval()
    ep = export(model, (ember.randn(1, 1, 5, 5),))
    sig = ep.graph_signature
    assert sig.parameters == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert sig.buffers == ["1.running_mean", "1.running_var", "1.num_batches_tracked"]
    assert sig.inputs_to_parameters["p_0_weight"] == "0.weight"
    assert sig.user_inputs == ["input"]
    assert set(ep.state_dict) == set(model.state_dict())
    # the program reads the model's weights: the module it returns has the model's state_dict
    m = ep.module()
    assert list(m.state_dict()) == list(model.state_dict()) or set(m.state_dict()) == set(model.state_dict())
    x = ember.randn(1, 1, 5, 5)
    _close(m(x), model(x))


def test_the_graph_reads_buffers_so_a_loaded_state_dict_counts():
    def net():
        return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)).eval()

    ep = export(net(), (ember.randn(1, 1, 5, 5),))
    other = net()
    other[1].running_mean.fill_(0.5)
    other[1].running_var.fill_(2.0)
    m = ep.module()
    m.load_state_dict(other.state_dict())
    x = ember.randn(1, 1, 5, 5)
    _close(m(x), other(x))
    # batch norm turns its running variance into 1/sqrt(var + eps) with numpy: recorded, reading the buffer
    assert "numpy.sqrt(" in str(ep.graph) and "b_1_running_var" in str(ep.graph.nodes[2].args)


def test_module_matches_eager_with_kwargs_and_nested_outputs():
    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 3), nn.Linear(3, 3)

        def forward(self, x, y=None, scale=2.0):
            h = self.a(x) + self.b(y) * scale
            return {"h": h, "parts": (h.sum(-1), h.max(dim=-1).values)}

    model = TwoInputs()
    x, y = ember.randn(2, 3), ember.randn(2, 3)
    ep = export(model, (x,), {"y": y})
    x2, y2 = ember.randn(2, 3), ember.randn(2, 3)
    want, got = model(x2, y=y2), ep.module()(x2, y=y2)
    _close(got["h"], want["h"])
    _close(got["parts"][0], want["parts"][0])
    _close(got["parts"][1], want["parts"][1])


def test_module_is_trainable_like_the_model():
    model = nn.Linear(3, 1)
    ep = export(model, (ember.randn(4, 3),))
    m = ep.module()
    m(ember.randn(4, 3)).sum().backward()
    assert m.get_parameter("weight").grad is not None


def test_data_dependent_branch_names_the_line():
    class Branchy(nn.Module):
        def forward(self, x):
            if x.sum() > 0:  # the line the error names
                return x * 2
            return x

    with pytest.raises(DataDependentError) as info:
        export(Branchy(), (ember.randn(3),))
    line = Branchy.forward.__code__.co_firstlineno + 1
    assert f"{__file__}:{line}" in str(info.value)


@pytest.mark.parametrize("read", [lambda t: t.sum().item(), lambda t: int(t[0] > 0), lambda t: t.tolist()])
def test_reading_values_is_refused(read):
    class Reads(nn.Module):
        def forward(self, x):
            read(x)
            return x + 1

    with pytest.raises(DataDependentError, match="traced tensor"):
        export(Reads(), (ember.randn(3),))


def test_numpy_on_traced_arrays_is_recorded_and_data_read_from_them_refused():
    class Mask(nn.Module):
        def forward(self, x):
            return x * (x > 0)  # a comparison is no Op: numpy's ufunc on the traced array, recorded as a node

    ep = export(Mask(), (ember.randn(5),))
    assert ep.graph.nodes[0].target == "numpy:greater"
    x = ember.randn(5)
    np.testing.assert_allclose(ep.module()(x).numpy(), x.numpy() * (x.numpy() > 0))

    class Copied(nn.Module):
        def forward(self, x):
            return x * ember.from_numpy(np.array(x.numpy() > 0))  # a copy: a constant read from the data

    with pytest.raises(DataDependentError, match="changes between the capture runs") as info:
        export(Copied(), (ember.randn(5),))
    assert f"{__file__}:{Copied.forward.__code__.co_firstlineno + 1}" in str(info.value)


def test_control_flow_is_evaluated_during_the_capture():
    class Unrolled(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])

        def forward(self, x, repeat: int = 2):
            for layer in self.layers[:repeat]:
                x = layer(x)
            return x

    model = Unrolled()
    ep = export(model, (ember.randn(1, 2), 2))
    assert sum(n.op == "Linear" for n in ep.graph.nodes) == 2
    x = ember.randn(1, 2)
    _close(ep.module()(x, 2), model(x, 2))


def test_training_mode_records_the_statistics_update_and_leaves_the_statistics_as_they_were():
    bn = nn.BatchNorm1d(3)
    ep = export(bn, (ember.randn(4, 3),))  # (tests/core/export/test_buffer_mutations.py: the update)
    assert sorted(ep.graph_signature.buffers_to_mutate.values()) == ["num_batches_tracked", "running_mean",
                                                                     "running_var"]
    assert np.allclose(bn.running_mean.numpy(), 0) and int(bn.num_batches_tracked.item()) == 0
    ep = export(bn.eval(), (ember.randn(4, 3),))
    x = ember.randn(4, 3)
    _close(ep.module()(x), bn(x))


def test_bad_arguments():
    with pytest.raises(TypeError, match="tuple"):
        export(nn.Linear(2, 2), ember.randn(1, 2))
    with pytest.raises(TypeError, match="nn.Module"):
        export(lambda x: x, (ember.randn(1, 2),))
    with pytest.raises(ValueError, match="not arguments of forward"):
        export(nn.Linear(2, 2), (ember.randn(1, 2),), dynamic_shapes={"x": {0: Dim("b")}})
    with pytest.raises(ValueError, match="outside"):
        export(nn.Linear(2, 2), (ember.randn(1, 2),), dynamic_shapes=({0: Dim("b", min=2)},))


def test_wrong_input_to_the_exported_module():
    ep = export(nn.Linear(3, 2), (ember.randn(4, 3),))
    with pytest.raises(ValueError, match=r"expected shape \[4, 3\], got \[5, 3\]"):
        ep.module()(ember.randn(5, 3))
    with pytest.raises(TypeError, match="dtype float32"):
        ep.module()(ember.randn(4, 3).double())


def test_in_place_ops_are_recorded_as_their_results():
    class InPlace(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc, self.act = nn.Linear(3, 3), nn.ReLU(inplace=True)

        def forward(self, x):
            y = self.fc(x)
            y += 1
            y.mul_(-2)
            y = self.act(y)
            y[:, 0] = 0.5
            return y

    model = InPlace()
    ep = export(model, (ember.randn(2, 3),), dynamic_shapes=({0: Dim("batch")},))
    assert [n.op for n in ep.graph.nodes][-4:] == ["Add", "Mul", "Relu", "IndexPut"]
    x = ember.randn(4, 3)
    _close(ep.module()(x), model(x))


def test_a_custom_function_is_traced_through():
    class Cube(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x * x

        @staticmethod
        def backward(ctx, grad):
            return grad

    class UsesCube(nn.Module):
        def forward(self, x):
            return Cube.apply(x) + 1

    ep = export(UsesCube(), (ember.randn(3),))
    assert [n.op for n in ep.graph.nodes] == ["Mul", "Mul", "Add"]  # the user's class is not in the graph
    x = ember.randn(3)
    _close(ep.module()(x), x ** 3 + 1)


def test_ember_argument_checks_leave_no_nodes():
    model = nn.Embedding(10, 3)  # embedding checks its indices' range with numpy during the capture
    ep = export(model, (ember.tensor([[1, 2], [3, 9]]),))
    assert [n.op for n in ep.graph.nodes] == ["Embedding"]
    assert ep.constants == {}
    with pytest.raises(IndexError):
        ep.module()(ember.tensor([[1, 2], [3, 10]]))  # (the check still runs, inside the op's function)


def test_an_error_while_running_the_graph_names_the_node_and_module():
    model = nn.Sequential(nn.Linear(3, 3), nn.Softmax(dim=-1))
    ep = export(model, (ember.randn(2, 3),))
    m = ep.module()
    m.get_parameter("0.weight").data = ember.randn(3, 4)  # a wrong weight: Linear fails (as eagerly, ValueError)
    with pytest.raises(ValueError, match=r"linear = Linear\(\.\.\.\) in module '0' \(Linear\), from .*test_capture"):
        m(ember.randn(2, 3))
    assert "Linear" in m.code and m.graph is ep.graph


def test_export_leaves_the_callers_inputs_alone():
    class AddsInPlace(ember.nn.Module):
        def forward(self, x):
            return x.add_(1.0) * 2

    x = ember.zeros(3)
    ep = ember.export.export(AddsInPlace(), (x,))
    assert x.tolist() == [0.0, 0.0, 0.0] and ep.mutated_inputs == ("x",)
    assert ep.module()(ember.zeros(3)).tolist() == [2.0, 2.0, 2.0]
