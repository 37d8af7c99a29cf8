"""ember.export.save / load: no pickle, and a loaded program runs without the model's Python code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import ember
import numpy as np
import pytest
from ember import nn
from ember.export import Dim, export, load, save


class TinyNet(nn.Module):
    """Defined here only: the subprocess that runs the saved program never imports this file. (No numba
    kernels, so that the subprocess compiles nothing.)"""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 8)
        self.norm = nn.LayerNorm(8)
        self.fc2 = nn.Linear(8, 3)
        self.register_buffer("temperature", ember.tensor(2.0))

    def forward(self, x):
        x = nn.functional.gelu(self.norm(self.fc1(x.flatten(1))))
        return (self.fc2(x) / self.temperature).log_softmax(-1)


def _exported(tmp_path):
    model = TinyNet().eval()
    ep = export(model, (ember.randn(2, 2, 3),), dynamic_shapes={"x": {0: Dim("batch", max=32)}})
    path = tmp_path / "net.ember"
    save(ep, path)
    return model, ep, path


def test_save_load_run_matches_eager(tmp_path):
    model, ep, path = _exported(tmp_path)
    loaded = load(path)
    assert str(loaded.graph) == str(ep.graph)
    assert loaded.graph_signature == ep.graph_signature
    assert loaded.range_constraints == {"batch": (0, 32)}
    x = ember.randn(5, 2, 3)
    np.testing.assert_allclose(loaded.module()(x).detach().numpy(), model(x).detach().numpy(), atol=1e-5)
    for name, tensor in model.state_dict().items():
        np.testing.assert_array_equal(loaded.state_dict[name].numpy(), tensor.detach().numpy())


def test_the_file_is_a_zip_of_arrays_and_json(tmp_path):
    _, _, path = _exported(tmp_path)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert not any(name.endswith((".pkl", ".pt")) or "pickle" in name for name in names)
    data = ember.load(path)  # ember.load reads it: the graph is JSON text, the weights arrays
    assert data["format"] == "ember.export"
    graph = json.loads(data["program"])["graph"]
    assert graph["nodes"][0]["target"] == "ember.ops.shape:Reshape"


def test_a_loaded_program_runs_without_the_models_code(tmp_path):
    model, _, path = _exported(tmp_path)
    x = ember.randn(3, 2, 3)
    ember.save({"x": x, "want": model(x).detach()}, tmp_path / "io.ember")
    script = f"""
import sys, numpy as np, ember, ember.export
ep = ember.export.load({str(path)!r})
io = ember.load({str(tmp_path / "io.ember")!r})
got = ep.module()(io["x"])
assert not any("test_serialize" in name or name.startswith("tests") for name in sys.modules), "model code imported"
np.testing.assert_allclose(got.detach().numpy(), io["want"].numpy(), atol=1e-5)
print("ran", tuple(got.shape))
"""
    env = {**os.environ, "PYTHONPATH": ""}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "ran (3, 3)" in result.stdout


def test_load_refuses_other_files_and_unknown_ops(tmp_path):
    ember.save({"weights": ember.ones(2)}, tmp_path / "plain.ember")
    with pytest.raises(ValueError, match="not an exported program"):
        load(tmp_path / "plain.ember")
    path = _exported(tmp_path)[2]
    data = ember.load(path)
    program = json.loads(data["program"])
    program["graph"]["nodes"][0]["target"] = "os:system"  # a hostile file names something else
    data["program"] = json.dumps(program)
    ember.save(data, tmp_path / "hostile.ember")
    with pytest.raises(RuntimeError, match="'os:system', which is not an op"):
        load(tmp_path / "hostile.ember")


def test_save_checks_its_argument(tmp_path):
    with pytest.raises(TypeError, match="ExportedProgram"):
        save(TinyNet(), tmp_path / "x.ember")


def test_tied_weights_stay_one_parameter(tmp_path):
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Embedding(10, 4)
            self.decoder = nn.Linear(4, 10, bias=False)
            self.decoder.weight = self.encoder.weight

        def forward(self, idx):
            return self.decoder(self.encoder(idx))

    model = Tied()
    ep = export(model, (ember.tensor([[1, 2, 3]]),))
    assert ep.graph_signature.parameters == ["encoder.weight"] and ep.tied == ["decoder.weight"]
    save(ep, tmp_path / "tied.ember")
    for program in (ep, load(tmp_path / "tied.ember")):
        m = program.module()
        m.load_state_dict(model.state_dict())  # both names load, as into the model
        assert m.get_parameter("encoder.weight") is m.get_parameter("decoder.weight")
        idx = ember.tensor([[4, 5, 9]])
        np.testing.assert_allclose(m(idx).detach().numpy(), model(idx).detach().numpy(), rtol=1e-6)
