"""GPT.from_pretrained: GPT-2 checkpoints in Hugging Face's layout (safetensors, torch .bin, shards, URLs),
compared with the ``transformers`` model that wrote them; and ``ember.serialization.load_sharded``."""

from __future__ import annotations

import json
import os

import ember
import numpy as np
import pytest
from ember import hub
from ember.serialization import load_sharded
from ember.text.models import GPT

from tests.http_server import FileServer
from tests.vision._torchvision import import_torchvision

pytestmark = pytest.mark.parity

TOKENS = [[3, 14, 15, 9, 2, 6, 5, 35], [8, 9, 7, 9, 3, 2, 38, 4]]


@pytest.fixture(scope="module")
def reference():
    """A tiny random GPT-2 built by ``transformers`` (imported after torchvision's tolerant loader: it
    imports torchvision, whose compiled operators this CPU torch lacks)."""
    pytest.importorskip("torch")
    import_torchvision()
    transformers = pytest.importorskip("transformers")
    import torch

    torch.manual_seed(0)
    config = transformers.GPT2Config(vocab_size=40, n_positions=16, n_embd=32, n_layer=2, n_head=4,
                                     layer_norm_epsilon=1e-5)
    model = transformers.GPT2LMHeadModel(config).eval()
    with torch.no_grad():  # non-trivial norms and biases (fresh ones are 1 and 0)
        for name, p in model.named_parameters():
            if p.ndim == 1:
                p.add_(torch.randn(p.shape) * 0.1)
        logits = model(torch.tensor(TOKENS)).logits.numpy()
    return model, logits


@pytest.fixture(autouse=True)
def hub_home(tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "_hub_dir", None)
    monkeypatch.setenv("EMBER_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(hub.time, "sleep", lambda seconds: None)


def _logits(model: GPT) -> np.ndarray:
    with ember.no_grad():
        return model(ember.tensor(TOKENS)).numpy()


def _write_bin(model, folder, shards: int = 1) -> None:
    """OpenAI's checkpoints on the Hub: ``torch.save`` of GPT2Model's state dict (no ``transformer.``
    prefix, the causal-mask buffers included), whole or split across shards with an index."""
    import torch

    os.makedirs(folder, exist_ok=True)
    model.config.to_json_file(os.path.join(folder, "config.json"))
    state = model.transformer.state_dict()
    for i in range(model.config.n_layer):  # what older transformers versions saved as persistent buffers
        state[f"h.{i}.attn.bias"] = torch.tril(torch.ones(16, 16)).view(1, 1, 16, 16)
    if shards == 1:
        torch.save(state, os.path.join(folder, "pytorch_model.bin"))
        return
    names, weight_map = list(state), {}
    for k in range(shards):
        shard = f"pytorch_model-{k + 1:05d}-of-{shards:05d}.bin"
        part = {name: state[name] for name in names[k::shards]}
        torch.save(part, os.path.join(folder, shard))
        weight_map.update(dict.fromkeys(part, shard))
    with open(os.path.join(folder, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f)


def test_safetensors_folder_gives_the_same_logits(reference, tmp_path):
    model, logits = reference
    model.save_pretrained(tmp_path / "tiny")
    assert (tmp_path / "tiny" / "model.safetensors").exists()
    ours = GPT.from_pretrained(tmp_path / "tiny")
    assert not ours.training and ours.block_size == 16 and len(ours.h) == 2
    np.testing.assert_allclose(_logits(ours), logits, atol=1e-4, rtol=1e-4)


def test_torch_bin_folder_with_mask_buffers_gives_the_same_logits(reference, tmp_path):
    model, logits = reference
    _write_bin(model, tmp_path / "bin")
    ours = GPT.from_pretrained(str(tmp_path / "bin"))
    np.testing.assert_allclose(_logits(ours), logits, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("kind", ["safetensors", "bin"])
def test_sharded_checkpoints_load_as_one_state_dict(reference, tmp_path, kind):
    model, logits = reference
    folder = tmp_path / kind
    if kind == "safetensors":
        model.save_pretrained(folder, max_shard_size="20KB")
        index = folder / "model.safetensors.index.json"
    else:
        _write_bin(model, folder, shards=3)
        index = folder / "pytorch_model.bin.index.json"
    weight_map = json.loads(index.read_text())["weight_map"]
    assert len(set(weight_map.values())) >= 2
    state = load_sharded(index)
    assert set(weight_map) <= set(state)
    np.testing.assert_allclose(_logits(GPT.from_pretrained(folder)), logits, atol=1e-4, rtol=1e-4)


def test_load_sharded_refuses_bad_indexes(reference, tmp_path):
    model, _ = reference
    folder = tmp_path / "shards"
    _write_bin(model, folder, shards=2)
    index = folder / "pytorch_model.bin.index.json"
    weight_map = json.loads(index.read_text())["weight_map"]
    (folder / "lying.index.json").write_text(json.dumps({"weight_map": {**weight_map, "h.9.ln_1.weight":
                                                                        next(iter(weight_map.values()))}}))
    with pytest.raises(ValueError, match="'h.9.ln_1.weight'"):
        load_sharded(folder / "lying.index.json")
    (folder / "escape.index.json").write_text(json.dumps({"weight_map": {"wte.weight": "../secret.bin"}}))
    with pytest.raises(ValueError, match="not a file name next to the index"):
        load_sharded(folder / "escape.index.json")
    (folder / "other.index.json").write_text(json.dumps({"shards": []}))
    with pytest.raises(ValueError, match="not a sharded checkpoint index"):
        load_sharded(folder / "other.index.json")


def test_a_url_is_downloaded_once_and_falls_back_to_the_bin_file(reference, tmp_path):
    model, logits = reference
    _write_bin(model, tmp_path / "bin")
    files = {f"/gpt/{name}": (tmp_path / "bin" / name).read_bytes() for name in os.listdir(tmp_path / "bin")}
    with FileServer(files) as server:
        ours = GPT.from_pretrained(server.url("/gpt"), progress=False)
        # config.json, then model.safetensors and its index are not there (404), then pytorch_model.bin
        assert server.requests == ["/gpt/config.json", "/gpt/model.safetensors",
                                   "/gpt/model.safetensors.index.json", "/gpt/pytorch_model.bin"]
        again = GPT.from_pretrained(server.url("/gpt"), progress=False)
        assert len(server.requests) == 4  # everything came from the cache
    np.testing.assert_allclose(_logits(ours), logits, atol=1e-4, rtol=1e-4)
    np.testing.assert_array_equal(_logits(again), _logits(ours))


def test_unsupported_configs_and_missing_files_are_named(reference, tmp_path):
    model, _ = reference
    with pytest.raises(FileNotFoundError, match="neither a folder"):
        GPT.from_pretrained(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "config.json").write_text(json.dumps(model.config.to_dict()))
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        GPT.from_pretrained(tmp_path / "empty")
    _write_bin(model, tmp_path / "bin")
    config = {**model.config.to_dict(), "scale_attn_by_inverse_layer_idx": True}
    (tmp_path / "bin" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="scale_attn_by_inverse_layer_idx=True"):
        GPT.from_pretrained(tmp_path / "bin")
    (tmp_path / "bin" / "config.json").write_text(json.dumps({**config, "model_type": "llama"}))
    with pytest.raises(ValueError, match="'llama' is not GPT-2"):
        GPT.from_pretrained(tmp_path / "bin")


def test_nanogpt_names_point_at_the_hugging_face_hub(reference, tmp_path, monkeypatch):
    from ember.text.models import _pretrained

    assert _pretrained.GPT2_NAMES["gpt2"] == "https://huggingface.co/openai-community/gpt2/resolve/main"
    assert set(_pretrained.GPT2_NAMES) == {"gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"}
    model, logits = reference
    model.save_pretrained(tmp_path / "st")
    files = {f"/hub/{name}": (tmp_path / "st" / name).read_bytes() for name in os.listdir(tmp_path / "st")}
    with FileServer(files) as server:
        monkeypatch.setitem(_pretrained.GPT2_NAMES, "gpt2", server.url("/hub"))
        monkeypatch.chdir(tmp_path)  # no local folder called gpt2
        ours = GPT.from_pretrained("gpt2", progress=False)
        assert server.requests == ["/hub/config.json", "/hub/model.safetensors"]
    np.testing.assert_allclose(_logits(ours), logits, atol=1e-4, rtol=1e-4)
