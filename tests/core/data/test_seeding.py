"""Per-sample seeding: seeds from (loader seed, epoch, index), streams captured and restored."""

from __future__ import annotations

import random

import ember
import numpy as np
from ember.data.seeding import RNGStream, capture, derive_seed, restore, sample_seed, seed_all


def draw():
    return ember.rand(2).tolist(), float(np.random.rand()), random.random()


def test_sample_seeds_are_distinct_and_reproducible():
    seeds = {sample_seed(s, e, i) for s in (0, 1) for e in range(3) for i in range(500)}
    assert len(seeds) == 2 * 3 * 500
    assert sample_seed(7, 2, 9) == sample_seed(7, 2, 9)
    assert derive_seed(1, 2) != derive_seed(2, 1)


def test_seed_all_fixes_all_three_generators():
    seed_all(sample_seed(3, 0, 1))
    first = draw()
    draw()
    seed_all(sample_seed(3, 0, 1))
    assert draw() == first
    seed_all(sample_seed(3, 0, 2))
    assert draw() != first


def test_capture_restore_survives_manual_seed_in_between():
    ember.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    expected = draw()
    ember.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    saved = capture()
    ember.manual_seed(123)  # what a dataset might do
    np.random.seed(5)
    draw()
    restore(saved)
    assert draw() == expected


def test_rng_stream_continues_where_it_left_off_and_leaves_main_streams_alone():
    def reset():
        ember.manual_seed(1)
        np.random.seed(1)
        random.seed(1)

    reset()
    expected_main = [draw(), draw()]
    reset()
    stream, twin = RNGStream(42), RNGStream(42)
    with stream:
        a1 = draw()
    m1 = draw()
    with stream:
        a2 = draw()
    m2 = draw()
    assert [m1, m2] == expected_main  # the stream's draws did not move the main generators
    assert a1 != a2  # the stream continued rather than restarting
    with twin:
        assert [draw(), draw()] == [a1, a2]
