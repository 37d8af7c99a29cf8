"""GPT-2 checkpoints in Hugging Face's layout, for ``GPT.from_pretrained``.

A checkpoint is a folder (or a URL of one) holding ``config.json`` and the weights as
``model.safetensors``, ``pytorch_model.bin``, or shards listed by ``model.safetensors.index.json`` /
``pytorch_model.bin.index.json``.
Files from a URL are downloaded once through ``ember.hub`` into ``ember.hub.get_dir()/huggingface``; torch
files are read without unpickling. The parameter names map onto Ember's GPT as nanoGPT maps them:
the ``transformer.`` prefix goes, the causal-mask buffers are dropped, and the four ``Conv1D`` weights
(stored ``(in, out)``) are transposed into ``Linear`` weights.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from typing import Any

__all__ = ["GPT2_NAMES", "gpt_config_from_hf", "gpt_state_from_hf", "resolve_checkpoint"]

# nanoGPT's names for OpenAI's checkpoints, and where Hugging Face keeps them
GPT2_NAMES = {name: f"https://huggingface.co/openai-community/{name}/resolve/main"
              for name in ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl")}
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")
_CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
_MASK_BUFFER = re.compile(r"^h\.\d+\.attn\.(bias|masked_bias)$")
_GELU = {"gelu_new": "tanh", "gelu_pytorch_tanh": "tanh", "gelu_fast": "tanh", "gelu": "none"}


def _is_url(path_or_url: str) -> bool:
    return urllib.parse.urlparse(path_or_url).scheme in ("http", "https")


def _cache_folder(url: str) -> str:
    from ember import hub

    parsed = urllib.parse.urlparse(url)
    name = re.sub(r"[^\w.-]+", "--", f"{parsed.netloc}{parsed.path}".strip("/"))
    return os.path.join(hub.get_dir(), "huggingface", name)


def _fetch(base_url: str, folder: str, name: str, progress: bool) -> str | None:
    """``folder/name``, downloaded from ``base_url/name`` unless cached; None if the server has no such file."""
    from ember import hub

    path = os.path.join(folder, name)
    if not os.path.exists(path):
        try:
            hub.download_url_to_file(f"{base_url.rstrip('/')}/{name}", path, progress=progress)
        except RuntimeError as error:
            if "HTTP 404" in str(error):
                return None
            raise
    return path


def _shards(index_path: str) -> list[str]:
    with open(index_path, encoding="utf-8") as f:
        weight_map = json.load(f).get("weight_map", {})
    return list(dict.fromkeys(weight_map.values()))


def resolve_checkpoint(path_or_url: str, progress: bool = True) -> tuple[str, str]:
    """``(config.json path, weights path)`` of a local folder, a URL of a folder, or a nanoGPT name.

    The weights path is a single file or a ``*.index.json`` of shards (all downloaded for a URL).
    """
    path_or_url = os.fspath(path_or_url)
    if path_or_url in GPT2_NAMES and not os.path.exists(path_or_url):
        path_or_url = GPT2_NAMES[path_or_url]
    if _is_url(path_or_url):
        folder = _cache_folder(path_or_url)
        config = _fetch(path_or_url, folder, "config.json", progress)
        if config is None:
            raise FileNotFoundError(f"GPT.from_pretrained: {path_or_url} has no config.json")
        cached = [name for name in WEIGHT_FILES if os.path.exists(os.path.join(folder, name))]
        for name in cached + [name for name in WEIGHT_FILES if name not in cached]:
            weights = _fetch(path_or_url, folder, name, progress)
            if weights is not None:
                if weights.endswith(".index.json"):
                    for shard in _shards(weights):
                        if os.path.basename(shard) != shard:
                            raise ValueError(f"{weights}: shard {shard!r} is not a file name next to the index")
                        if _fetch(path_or_url, folder, shard, progress) is None:
                            raise FileNotFoundError(f"GPT.from_pretrained: {path_or_url} has no shard {shard}")
                return config, weights
        raise FileNotFoundError(f"GPT.from_pretrained: {path_or_url} has none of {', '.join(WEIGHT_FILES)}")
    if not os.path.isdir(path_or_url):
        raise FileNotFoundError(f"GPT.from_pretrained: {path_or_url!r} is neither a folder, a URL nor one of "
                                f"{', '.join(GPT2_NAMES)}")
    config = os.path.join(path_or_url, "config.json")
    if not os.path.isfile(config):
        raise FileNotFoundError(f"GPT.from_pretrained: {path_or_url} has no config.json")
    for name in WEIGHT_FILES:
        if os.path.isfile(os.path.join(path_or_url, name)):
            return config, os.path.join(path_or_url, name)
    raise FileNotFoundError(f"GPT.from_pretrained: {path_or_url} has none of {', '.join(WEIGHT_FILES)}")


def gpt_config_from_hf(config: dict[str, Any]) -> tuple[dict[str, Any], float, str]:
    """``(GPT constructor arguments, layer-norm epsilon, GELU approximation)`` of a GPT-2 ``config.json``.

    Raises ``ValueError`` for settings Ember's GPT does not have (another model type, a different MLP width,
    attention scaled by layer index or upcast and reordered, an activation other than GELU).
    """
    if config.get("model_type", "gpt2") != "gpt2":
        raise ValueError(f"GPT.from_pretrained: model_type {config['model_type']!r} is not GPT-2")
    n_embd = config["n_embd"]
    unsupported = {
        "n_inner": config.get("n_inner") not in (None, 4 * n_embd),
        "scale_attn_weights": not config.get("scale_attn_weights", True),
        "scale_attn_by_inverse_layer_idx": config.get("scale_attn_by_inverse_layer_idx", False),
        "reorder_and_upcast_attn": config.get("reorder_and_upcast_attn", False),
    }
    bad = [key for key, flag in unsupported.items() if flag]
    if bad:
        settings = ", ".join(f"{key}={config.get(key)!r}" for key in bad)
        raise ValueError(f"GPT.from_pretrained: Ember's GPT has no such setting: {settings}")
    activation = config.get("activation_function", "gelu_new")
    if activation not in _GELU:
        raise ValueError(f"GPT.from_pretrained: activation_function {activation!r} is not supported "
                         f"(known: {', '.join(_GELU)})")
    arguments = {"vocab_size": config["vocab_size"], "block_size": config["n_positions"],
                 "n_layer": config["n_layer"], "n_head": config["n_head"], "n_embd": n_embd, "bias": True}
    return arguments, float(config.get("layer_norm_epsilon", 1e-5)), _GELU[activation]


def gpt_state_from_hf(state: dict[str, Any]) -> dict[str, Any]:
    """A Hugging Face GPT-2 state dict renamed (and Conv1D weights transposed) for Ember's GPT."""
    out = {}
    for key, value in state.items():
        name = key.removeprefix("transformer.")
        if _MASK_BUFFER.match(name) or name == "lm_head.weight":  # a buffer; the head is tied to wte
            continue
        out[name] = value.t() if name.endswith(_CONV1D) else value
    if "wte.weight" in out:
        out["lm_head.weight"] = out["wte.weight"]
    return out
