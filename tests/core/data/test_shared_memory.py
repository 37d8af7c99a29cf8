"""The shared-memory transport: round trips, one copy, nothing left in /dev/shm."""

from __future__ import annotations

import mmap
import os
from collections import namedtuple

import ember
import numpy as np
from ember.data import shared_memory
from ember.data.shared_memory import SHM_DIR, discard, pack, remove_leftovers, unpack

Pair = namedtuple("Pair", ["a", "b"])
PREFIX = f"ember_dl_test_{os.getpid()}_"


def test_round_trip_of_a_nested_batch():
    batch = {
        "image": ember.arange(24).float().reshape(2, 3, 4),
        "mask": np.array([[True, False]]),
        "strided": np.arange(20)[::3],
        "empty": np.zeros((0, 3)),
        "scalar": np.float64(2.5),
        "objects": np.array(["a", None], dtype=object),
        "pair": Pair(ember.tensor(1, dtype=ember.int64), "text"),
        "list": [1, 2.0, None],
    }
    message = pack(batch, PREFIX + "0")
    assert os.path.exists(os.path.join(SHM_DIR, PREFIX + "0"))
    assert len(message[0]) < 2000  # only a small pickle goes through the pipe
    out = unpack(message)
    assert not os.path.exists(os.path.join(SHM_DIR, PREFIX + "0"))  # unlinked as soon as it is mapped
    assert isinstance(out["image"], ember.Tensor) and out["image"].tolist() == batch["image"].tolist()
    assert isinstance(out["image"]._data.base, mmap.mmap)
    np.testing.assert_array_equal(out["mask"], batch["mask"])
    np.testing.assert_array_equal(out["strided"], batch["strided"])
    assert out["empty"].shape == (0, 3) and out["scalar"] == 2.5
    assert out["objects"].tolist() == ["a", None]
    assert isinstance(out["pair"], Pair) and int(out["pair"].a) == 1 and out["pair"].b == "text"
    assert out["list"] == [1, 2.0, None]


def test_batch_without_arrays_needs_no_file():
    message = pack(["a", 1], PREFIX + "1")
    assert message[1] is None and unpack(message) == ["a", 1]


def test_discard_and_remove_leftovers():
    discard(pack(np.ones(4), PREFIX + "2"))
    pack(np.ones(4), PREFIX + "3")
    pack(np.ones(4), PREFIX + "4")
    assert sorted(n for n in os.listdir(SHM_DIR) if n.startswith(PREFIX)) == [PREFIX + "3", PREFIX + "4"]
    remove_leftovers(PREFIX)
    assert [n for n in os.listdir(SHM_DIR) if n.startswith(PREFIX)] == []
    assert shared_memory.SHM_DIR == SHM_DIR
