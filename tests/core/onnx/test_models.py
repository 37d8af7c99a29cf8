"""Every built-in model family exports to ONNX and runs in onnxruntime at another batch size than the exported
one, every output within 1e-4 of Ember's.

Small configurations of each family keep this fast; weights and batch-norm statistics are randomised so a
zero-initialised head or an identity normalisation cannot hide a wrong translation.
"""

from __future__ import annotations

import ember
import numpy as np
import pytest

from tests.core.model_families import FAMILIES

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def randomise(model) -> None:
    """Random weights (heads may start at zero) and batch-norm statistics away from (0, 1)."""
    generator = np.random.default_rng(0)
    for name, p in model.named_parameters():
        p.data.copy_(ember.tensor(generator.normal(0, 0.3, p.shape).astype(np.float32)))
    for name, b in model.named_buffers():
        if name.endswith("running_mean"):
            b.copy_(ember.tensor(generator.normal(0, 0.2, b.shape).astype(np.float32)))
        elif name.endswith("running_var"):
            b.copy_(ember.tensor(generator.uniform(0.5, 2.0, b.shape).astype(np.float32)))


def session(proto):
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])


def flat(out) -> list:
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in flat(o)]
    return [out]


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_runs_in_onnxruntime_at_another_batch_size(family):
    model, make = FAMILIES[family]()
    randomise(model)
    model.eval()
    proto = ember.onnx.export(model, (make(2),), None, input_names=["input"], dynamic_axes={"input": {0: "batch"}})
    x = make(5)
    got = session(proto).run(None, {"input": x.numpy()})
    with ember.no_grad():
        want = flat(model(x))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == tuple(w.shape)
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-4, atol=1e-4)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
