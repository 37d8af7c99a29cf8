"""Random number generation: ``Generator``, ``manual_seed``, ``default_generator`` and state capture.

One default generator feeds init, dropout, ``rand*`` and shuffling. A generator's state
is a uint8 tensor (as in PyTorch), so it can be stored in a checkpoint and restored.
"""

from __future__ import annotations

import random as _py_random

import numpy as np

from . import _device
from ._device import resolve
from .tensor import Tensor

_STATE_BYTES = 40  # 128-bit state, 128-bit increment, has_uint32 flag, cached uint32


class Generator:
    """A seedable stream of random numbers (numpy's PCG64 underneath).

    Example:
        >>> import ember
        >>> g = ember.Generator().manual_seed(0)
        >>> a = ember.rand(3, generator=g)
        >>> b = ember.rand(3, generator=g.manual_seed(0))
        >>> bool((a == b).all())
        True
    """

    def __init__(self, device="cpu"):
        if resolve(device) != "cpu":
            raise RuntimeError("META device type not an accelerator.")
        self.device = _device.device("cpu")
        self._seed = 67280421310721  # PyTorch's default seed
        self._bitgen = np.random.PCG64(self._seed)
        self.np = np.random.Generator(self._bitgen)

    def manual_seed(self, seed: int) -> Generator:
        """Reseeds this generator and returns it."""
        seed = int(seed)
        if seed < 0:
            seed &= 0xFFFF_FFFF_FFFF_FFFF
        self._seed = seed
        self._bitgen = np.random.PCG64(seed)
        self.np = np.random.Generator(self._bitgen)
        return self

    def seed(self) -> int:
        """Reseeds from the operating system's entropy and returns the new seed."""
        seed = int(np.random.SeedSequence().entropy) & 0xFFFF_FFFF_FFFF_FFFF
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        """The generator's state as a uint8 tensor of 40 bytes."""
        s = self._bitgen.state
        raw = (
            s["state"]["state"].to_bytes(16, "little")
            + s["state"]["inc"].to_bytes(16, "little")
            + int(s["has_uint32"]).to_bytes(4, "little")
            + int(s["uinteger"]).to_bytes(4, "little")
        )
        return Tensor._wrap(np.frombuffer(raw, dtype=np.uint8).copy())

    def set_state(self, new_state) -> Generator:
        """Restores a state returned by ``get_state``."""
        raw = bytes(np.asarray(getattr(new_state, "_data", new_state), dtype=np.uint8).reshape(-1))
        if len(raw) != _STATE_BYTES:
            raise ValueError(f"Generator.set_state: expected a state of {_STATE_BYTES} bytes, got {len(raw)}")
        self._bitgen.state = {
            "bit_generator": "PCG64",
            "state": {
                "state": int.from_bytes(raw[0:16], "little"),
                "inc": int.from_bytes(raw[16:32], "little"),
            },
            "has_uint32": int.from_bytes(raw[32:36], "little"),
            "uinteger": int.from_bytes(raw[36:40], "little"),
        }
        return self

    def __repr__(self) -> str:
        return f"<ember.Generator seed={self._seed}>"


default_generator = Generator()


def _generator(generator: Generator | None) -> np.random.Generator:
    return (generator or default_generator).np


def manual_seed(seed: int) -> Generator:
    """Seeds the default generator and returns it."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    """The default generator's state (a uint8 tensor)."""
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    default_generator.set_state(new_state)


def get_all_rng_states() -> dict:
    """Every random state a training run depends on: Ember's default generator, numpy's global
    generator and Python's ``random``, as plain data that ``ember.save`` can store."""
    np_state = np.random.get_state()
    py_state = _py_random.getstate()
    return {
        "ember": get_rng_state(),
        "numpy": {
            "name": np_state[0],
            "keys": np_state[1].copy(),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "python": {"version": py_state[0], "state": np.asarray(py_state[1], dtype=np.int64), "gauss": py_state[2]},
    }


def set_all_rng_states(states: dict) -> None:
    """Restores what ``get_all_rng_states`` captured."""
    set_rng_state(states["ember"])
    n = states["numpy"]
    keys = np.asarray(getattr(n["keys"], "_data", n["keys"]), dtype=np.uint32)
    np.random.set_state((n["name"], keys, int(n["pos"]), int(n["has_gauss"]), float(n["cached_gaussian"])))
    p = states["python"]
    py_state = np.asarray(getattr(p["state"], "_data", p["state"])).tolist()
    _py_random.setstate((int(p["version"]), tuple(int(v) for v in py_state), p["gauss"]))


class fork_rng:
    """Context manager that saves every random state on entry and restores it on exit."""

    def __enter__(self):
        self._states = get_all_rng_states()
        return self

    def __exit__(self, *exc):
        set_all_rng_states(self._states)
        return False
