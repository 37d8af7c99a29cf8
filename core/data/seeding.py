"""Per-sample seeding: the heart of the loader's determinism.

Every sample is produced with Ember's default generator, numpy's global generator and Python's
``random`` seeded from ``sample_seed(loader_seed, epoch, index)``. What a sample looks like therefore
depends on nothing but those three numbers: not on the worker that loads it, on ``num_workers``, on
what ran before it, or on where an epoch was resumed. The main process's streams are captured before
and restored after, so loading data never shifts the numbers a model's dropout or init sees.
"""

from __future__ import annotations

import functools
import random as _py_random
from _random import Random as _CRandom

import numpy as np

from ..random import default_generator

_MASK64 = 0xFFFF_FFFF_FFFF_FFFF
_GOLDEN = 0x9E37_79B9_7F4A_7C15

# Tags keep the streams derived from one loader seed apart from one another.
SHUFFLE_TAG = 0x5348_5546  # "SHUF": the epoch's sampling order
COLLATE_TAG = 0x434F_4C4C  # "COLL": collate_fn of batch k
WORKER_TAG = 0x574F_524B  # "WORK": worker start-up and iterable-dataset streams
SAMPLER_TAG = 0x5341_4D50  # "SAMP": the global-RNG context a user's sampler runs in
GETITEMS_TAG = 0x4954_454D  # "ITEM": a dataset's __getitems__ for batch k


def _mix(x: int) -> int:
    # SplitMix64's finalizer: a bijection on 64 bits with full avalanche.
    x = ((x ^ (x >> 30)) * 0xBF58_476D_1CE4_E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D0_49BB_1331_11EB) & _MASK64
    return x ^ (x >> 31)


def derive_seed(*parts: int) -> int:
    """A 64-bit seed that depends on every part (and their order); distinct inputs give unrelated seeds.

    Example:
        >>> derive_seed(7, 0, 3) == derive_seed(7, 0, 3) != derive_seed(7, 3, 0)
        True
    """
    h = _GOLDEN
    for part in parts:
        h = _mix((h + _GOLDEN + (int(part) & _MASK64)) & _MASK64)
    return h


@functools.lru_cache(maxsize=64)
def _epoch_key(loader_seed: int, epoch: int) -> int:
    return derive_seed(loader_seed, epoch)


def sample_seed(loader_seed: int, epoch: int, index: int) -> int:
    """The seed sample ``index`` is loaded with in ``epoch`` by a loader seeded with ``loader_seed``."""
    return _mix((_epoch_key(loader_seed, epoch) + (int(index) + 1) * _GOLDEN) & _MASK64)


_seed_python_random = _CRandom.seed
_PCG_INCREMENT = (0xDA3E_39CB_94B9_5BDB << 64) | 0x5851_F42D_4C95_7F2D  # odd; one stream, distinct positions


def seed_all(seed: int) -> None:
    """Seeds Ember's default generator, numpy's global generator and Python's ``random`` from ``seed``
    (a well-mixed 64-bit value, as ``derive_seed`` and ``sample_seed`` return)."""
    # Setting PCG64's state directly is much cheaper than constructing a new bit generator. Positions
    # 2^64 * seed + mix(seed) of the 2^128-long cycle: far apart for any two seeds.
    seed &= _MASK64
    default_generator._bitgen.state = {
        "bit_generator": "PCG64",
        "state": {"state": (seed << 64) | _mix(seed ^ _GOLDEN), "inc": _PCG_INCREMENT},
        "has_uint32": 0,
        "uinteger": 0,
    }
    np.random.seed(seed & 0xFFFF_FFFF)
    _seed_python_random(_py_random._inst, seed)  # random.seed without its Python-level wrapper
    _py_random._inst.gauss_next = None


def capture() -> tuple:
    """The three global random states, cheaply (for ``restore``)."""
    return default_generator._bitgen, default_generator.np, default_generator._bitgen.state, \
        np.random.get_state(), _py_random.getstate()


def restore(states: tuple) -> None:
    """Puts back what ``capture`` took, even if the code in between called ``ember.manual_seed``."""
    bitgen, np_gen, ember_state, np_state, py_state = states
    default_generator._bitgen, default_generator.np = bitgen, np_gen
    bitgen.state = ember_state
    np.random.set_state(np_state)
    _py_random.setstate(py_state)


class RNGStream:
    """A private set of the three global generators, swapped in with ``with stream:``.

    Used where code draws from the global generators over a long stretch interleaved with the user's own
    code (an iterable dataset in the main process, a user's sampler): the stream continues where it left
    off each time it is entered, and the main process's streams are untouched outside.
    """

    def __init__(self, seed: int):
        saved = capture()
        seed_all(seed)
        self._states = capture()
        restore(saved)
        self._saved = None

    def __enter__(self):
        self._saved = capture()
        restore(self._states)
        return self

    def __exit__(self, *exc) -> bool:
        self._states = capture()
        restore(self._saved)
        self._saved = None
        return False
