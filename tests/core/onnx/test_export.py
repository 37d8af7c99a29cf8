"""``ember.onnx.export``: torch.onnx.export's arguments (names, dynamic_axes, f, export_params, opset), the
translation of indexing and size arithmetic, and the error for an op without a translation."""

from __future__ import annotations

import io

import ember
import numpy as np
import pytest
from ember import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def run(proto_or_bytes, feeds: dict) -> list:
    data = proto_or_bytes if isinstance(proto_or_bytes, bytes) else proto_or_bytes.SerializeToString()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"]).run(None, feeds)


class Indexing(nn.Module):
    """Basic indexing, flips and a view whose sizes follow two dynamic dimensions."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)

    def forward(self, x):  # x: (batch, seq, 3)
        y = self.fc(x)
        a = y[:, 1:-1:2, None, ::-1]  # slices with steps, a new axis, a reversed axis
        b = y[..., 0].flip(1)  # an int index after Ellipsis, then a flip
        c = y.reshape(x.shape[0] * x.shape[1], 4)  # two dynamic sizes: the shape is computed in the graph
        return a, b, c.sum(0), y.amax(-1), y.mean((1, 2))


def test_indexing_and_sizes_follow_both_dynamic_axes():
    model = Indexing()
    proto = ember.onnx.export(model, (ember.randn(2, 6, 3),), None, input_names=["x"],
                              dynamic_axes={"x": {0: "batch", 1: "seq"}})
    for shape in ((3, 5, 3), (1, 9, 3)):
        x = ember.randn(*shape)
        with ember.no_grad():
            want = model(x)
        got = run(proto, {"x": x.numpy()})
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w.numpy(), rtol=1e-5, atol=1e-6)


def test_names_dynamic_axes_and_files(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    path = tmp_path / "model.onnx"
    ember.onnx.export(model, ember.randn(2, 4), path, input_names=["features"], output_names=["scores"],
                      dynamic_axes={"features": {0: "batch"}, "scores": {0: "batch"}})
    proto = onnx.load(str(path))
    assert [i.name for i in proto.graph.input] == ["features"]
    assert [o.name for o in proto.graph.output] == ["scores"]
    assert sorted(i.name for i in proto.graph.initializer) == ["0.bias", "0.weight"]  # state_dict names
    dims = [d.dim_param or d.dim_value for d in proto.graph.output[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 3]
    x = ember.randn(7, 4)
    (got,) = run(path.read_bytes(), {"features": x.numpy()})
    np.testing.assert_allclose(got, model(x).detach().numpy(), rtol=1e-5, atol=1e-6)
    buffer = io.BytesIO()  # a file object works as f too
    ember.onnx.export(model, (ember.randn(2, 4),), buffer)
    assert run(buffer.getvalue(), {"input": x.numpy()[:2]})[0].shape == (2, 3)


def test_a_list_of_dynamic_axes_is_named_as_torch_names_it():
    proto = ember.onnx.export(nn.Linear(4, 3), (ember.randn(2, 4),), None, input_names=["x"],
                              dynamic_axes={"x": [0]})
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "x_dynamic_axes_1"


def test_without_dynamic_axes_the_example_shape_is_fixed():
    proto = ember.onnx.export(nn.Linear(4, 3), (ember.randn(2, 4),), None)
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == [2, 4]
    with pytest.raises(Exception, match="[Ii]nvalid|dimension"):
        run(proto, {"input": np.zeros((5, 4), np.float32)})


def test_export_params_false_makes_weights_inputs_and_batch_norm_still_runs():
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU())
    model.train()
    model(ember.randn(4, 2, 6, 6))  # running statistics away from (0, 1)
    proto = ember.onnx.export(model, (ember.randn(2, 2, 6, 6),), None, export_params=False, input_names=["x"])
    state = model.state_dict()
    assert not {i.name for i in proto.graph.initializer} & set(state)
    feeds = {i.name: state[i.name].numpy() for i in proto.graph.input if i.name in state}
    assert {"0.weight", "1.running_var"} <= set(feeds)
    x = ember.randn(2, 2, 6, 6)
    feeds["x"] = x.numpy()
    model.eval()
    np.testing.assert_allclose(run(proto, feeds)[0], model(x).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_training_mode_is_exported_as_eval_and_restored():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.BatchNorm1d(4))
    model.train()
    proto = ember.onnx.export(model, (ember.randn(3, 4),), None)
    assert model.training and all(m.training for m in model.modules())
    x = ember.randn(3, 4)
    model.eval()
    np.testing.assert_allclose(run(proto, {"input": x.numpy()})[0], model(x).detach().numpy(), rtol=1e-4,
                               atol=1e-5)


def test_an_exported_program_and_opset_18():
    model = nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(3), nn.Softmax(-1))
    ep = ember.export.export(model, (ember.randn(2, 4),), dynamic_shapes=({0: ember.export.Dim("n")},))
    proto = ember.onnx.export(ep, (), None, opset_version=18)
    assert proto.opset_import[0].version == 18
    x = ember.randn(5, 4)
    np.testing.assert_allclose(run(proto, {"input": x.numpy()})[0], model(x).detach().numpy(), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("affine, shape", [(True, (2, 4, 5, 5)), (False, (2, 4, 5, 5)), (True, (3, 6, 7))])
def test_group_norm_exports_as_layer_normalization_of_groups(affine, shape):
    """GroupNorm is one fused op: it exports as LayerNormalization over (sample, group) rows and the affine map."""
    channels = shape[1]
    conv = nn.Conv2d(channels, channels, 3, padding=1) if len(shape) == 4 else nn.Conv1d(channels, channels, 3,
                                                                                          padding=1)
    model = nn.Sequential(conv, nn.GroupNorm(2, channels, affine=affine), nn.SiLU())
    if affine:
        nn.init.uniform_(model[1].weight, 0.5, 2.0)
        nn.init.uniform_(model[1].bias, -1.0, 1.0)
    x = ember.randn(*shape)
    proto = ember.onnx.export(model, (x,), None)
    assert "LayerNormalization" in {node.op_type for node in proto.graph.node}
    np.testing.assert_allclose(run(proto, {"input": x.numpy()})[0], model(x).detach().numpy(), rtol=1e-5,
                               atol=1e-5)


class Inner(nn.Module):
    def forward(self, x):
        return x.cumsum(1)  # no ONNX translation here


class Outer(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = nn.Sequential(nn.Linear(3, 3), Inner())

    def forward(self, x):
        return self.block(x)


def test_an_op_without_translation_is_named_with_its_module_path():
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match=r"op Cumsum.*module 'block\.1' \(Inner\)"):
        ember.onnx.export(Outer(), (ember.randn(2, 3),), None)


def test_dynamic_axes_that_cannot_hold():
    model = nn.Linear(4, 3)
    with pytest.warns(UserWarning, match=r"\['inputs'\], which are neither input names \(x\)"):
        ember.onnx.export(model, (ember.randn(2, 4),), None, input_names=["x"], dynamic_axes={"inputs": [0]})
    static = ember.export.export(model, (ember.randn(2, 4),))
    with pytest.raises(ValueError, match="captured with as fixed sizes"):
        ember.onnx.export(static, (), None, dynamic_axes={"input": {0: "batch"}})


def test_bad_arguments():
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="opset_version"):
        ember.onnx.export(model, (ember.randn(1, 2),), None, opset_version=11)
    with pytest.raises(TypeError, match="ember.nn.Module"):
        ember.onnx.export(lambda x: x, (ember.randn(1, 2),), None)
    with pytest.raises(ValueError, match="input_names"):
        ember.onnx.export(model, (ember.randn(1, 2),), None, input_names=["a", "b"])


LAYERS = {
    "bidirectional_lstm": (lambda: nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True),
                           lambda b: ember.randn(b, 5, 3)),
    "conv1d_ceil_pool_activations": (lambda: nn.Sequential(
        nn.Conv1d(2, 3, 3, stride=2, padding=1), nn.MaxPool1d(2, ceil_mode=True), nn.GELU(), nn.SiLU(),
        nn.LeakyReLU(0.1), nn.Softmax(-1)), lambda b: ember.randn(b, 2, 11)),
    "conv3d_adaptive": (lambda: nn.Sequential(
        nn.Conv3d(2, 3, 3, padding=1), nn.MaxPool3d(2), nn.AdaptiveAvgPool3d((1, 2, 1)), nn.LogSoftmax(1)),
        lambda b: ember.randn(b, 2, 4, 6, 4)),
    "grouped_dilated_adaptive_max": (lambda: nn.Sequential(
        nn.Conv2d(4, 4, 3, groups=2, dilation=2), nn.AdaptiveMaxPool2d((3, 2)), nn.Sigmoid()),
        lambda b: ember.randn(b, 4, 9, 9)),
}


@pytest.mark.parametrize("case", list(LAYERS))
def test_layers_match_at_another_batch_size(case):
    build, make = LAYERS[case]
    model = build().eval()
    proto = ember.onnx.export(model, (make(2),), None, input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    x = make(3)
    with ember.no_grad():
        out = model(x)
    want = [out[0], *out[1]] if isinstance(out, tuple) else [out]  # an LSTM's (output, (h_n, c_n))
    for got, expected in zip(run(proto, {"x": x.numpy()}), want):
        np.testing.assert_allclose(got, expected.numpy(), rtol=1e-5, atol=1e-6)
