"""``ember``'s top-level names are torch's public names (plus a short, documented list of Ember's own), never
internals such as ``Op`` classes or the ops' helpers that star imports used to leak."""

from __future__ import annotations

import types

import pytest

import ember
from ember.ops._op import Op

torch = pytest.importorskip("torch")

# Ember's own top-level names that torch does not have, each with the reason it is there.
EMBER_OWN = {
    # the activations as tensor ops (torch has them only in torch.nn.functional); Tensor methods use them
    "elu": "activation op behind nn.functional.elu",
    "gelu": "activation op behind nn.functional.gelu",
    "leaky_relu": "activation op behind nn.functional.leaky_relu",
    "silu": "activation op behind nn.functional.silu",
    "softplus": "activation op behind nn.functional.softplus",
    # Ember's numpy-backed RNG: one call saves / restores ember's and numpy's generators together
    "fork_rng": "torch.random.fork_rng, also at top level",
    "get_all_rng_states": "ember and numpy generator states at once",
    "set_all_rng_states": "restores get_all_rng_states",
    "get_default_complex_dtype": "the complex dtype paired with get_default_dtype",
    # safetensors files without the safetensors package
    "load_safetensors": "reads a .safetensors file into a dict of tensors",
    "save_safetensors": "writes a dict of tensors as a .safetensors file",
    # not an API: the ``from __future__ import annotations`` line of ember/__init__.py
    "annotations": "__future__ feature of the package module",
}


def _public_names():
    return [name for name in dir(ember)
            if not name.startswith("_") and not isinstance(getattr(ember, name), types.ModuleType)]


@pytest.mark.parity
def test_every_top_level_name_is_torchs_or_a_documented_ember_one():
    unknown = [name for name in _public_names() if not hasattr(torch, name) and name not in EMBER_OWN]
    assert unknown == [], f"ember exports names torch does not have (internals?): {unknown}"


@pytest.mark.parity
def test_the_documented_ember_names_exist_and_are_not_torchs():
    assert [name for name in EMBER_OWN if not hasattr(ember, name) or hasattr(torch, name)] == []


def test_no_op_class_is_exported():
    ops = [name for name in _public_names()
           if isinstance(getattr(ember, name), type) and issubclass(getattr(ember, name), Op)]
    assert ops == []


def test_helpers_of_the_op_files_are_not_exported():
    for name in ("as_operand", "binary_operands", "data_of", "default_float", "conj_of", "getitem", "view"):
        assert not hasattr(ember, name), name
    x = ember.arange(6.0)
    assert x.view(2, 3).shape == (2, 3) and x[1].item() == 1.0  # still Tensor methods and indexing
