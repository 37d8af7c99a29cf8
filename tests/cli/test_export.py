"""``ember export``: a run made by ``ember fit`` of a built-in recipe, out to ONNX (run in onnxruntime) and
to an ``ember.export`` program, which agree with each other and with the checkpoint's weights."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from ember.cli.main import main

from .test_cli import small_overrides

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def lenet_run(tmp_path):
    result = invoke("fit", "digits-lenet", *small_overrides("digits-lenet", tmp_path), "--run-dir", tmp_path / "run")
    assert result.exit_code == 0, result.output
    return tmp_path / "run"


def test_export_a_fitted_run_to_onnx_and_ember(lenet_run, tmp_path):
    import ember

    result = invoke("export", lenet_run)
    assert result.exit_code == 0, result.output
    onnx_file = lenet_run / "model.onnx"
    assert f"wrote {onnx_file}" in result.output and "ort.InferenceSession" in result.output
    result = invoke("export", lenet_run / "checkpoints" / "last.ckpt", "--format", "ember", "--out",
                    tmp_path / "lenet.ember")
    assert result.exit_code == 0, result.output
    assert "ember.export.load" in result.output
    x = np.random.default_rng(0).normal(size=(3, 1, 28, 28)).astype(np.float32)  # not the exported batch size
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": x})
    program = ember.export.load(tmp_path / "lenet.ember")
    with ember.no_grad():
        want = program.module()(ember.tensor(x))
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-4, atol=1e-4)
    checkpoint = ember.load(str(lenet_run / "checkpoints" / "last.ckpt"))
    weight = checkpoint["state_dict"]["network.conv1.weight"]  # the trained weights, not a fresh model's
    np.testing.assert_array_equal(program.state_dict["network.conv1.weight"].numpy(), weight.numpy())


def test_export_errors_name_the_path(tmp_path):
    result = CliRunner().invoke(main, ["export", str(tmp_path / "missing")])
    assert result.exit_code == 1 and "missing: no such run directory or checkpoint file" in result.output
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["export", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "no checkpoint" in result.output
