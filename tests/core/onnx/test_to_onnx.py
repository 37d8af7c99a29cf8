"""``TrainingModule.to_onnx``: Lightning's method, with ``example_input_array`` when no sample is given."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import nn
from ember.trainer import TrainingModule

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


class Classifier(TrainingModule):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3))
        self.example_input_array = ember.randn(2, 4)

    def forward(self, x):
        return self.net(x)


def _run(path, x):
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def test_to_onnx_uses_example_input_array_and_keeps_the_training_mode(tmp_path):
    model = Classifier()
    model.train()
    path = tmp_path / "model.onnx"
    proto = model.to_onnx(path, input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    assert model.training  # exported in eval mode (dropout off), left as it was
    assert proto.graph.input[0].name == "x"
    x = ember.randn(5, 4)
    model.eval()
    np.testing.assert_allclose(_run(path, x.numpy()), model(x).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_to_onnx_with_a_sample_and_without_any():
    model = Classifier()
    proto = model.to_onnx(None, ember.randn(3, 4))
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim] == [3, 4]
    model.example_input_array = None
    with pytest.raises(ValueError, match="example_input_array"):
        model.to_onnx(None)
