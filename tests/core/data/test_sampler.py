"""Samplers: orders, lengths, generators and argument checks (PyTorch's semantics)."""

from __future__ import annotations

from collections import Counter

import ember
import numpy as np
import pytest
from ember.data import (
    BatchSampler,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)


def gen(seed=0):
    return ember.Generator().manual_seed(seed)


def test_sequential_sampler():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    assert len(SequentialSampler([7, 8])) == 2


def test_random_sampler_is_a_permutation_fixed_by_its_generator():
    a = list(RandomSampler(range(20), generator=gen(1)))
    assert sorted(a) == list(range(20)) and a != list(range(20))
    assert a == list(RandomSampler(range(20), generator=gen(1)))
    g = gen(1)
    sampler = RandomSampler(range(20), generator=g)
    assert list(sampler) != list(sampler)  # the generator advances between epochs


def test_random_sampler_without_generator_follows_manual_seed():
    ember.manual_seed(3)
    a = list(RandomSampler(range(10)))
    ember.manual_seed(3)
    assert list(RandomSampler(range(10))) == a


def test_random_sampler_num_samples_and_replacement():
    longer = list(RandomSampler(range(5), num_samples=12, generator=gen()))
    assert len(longer) == 12 and sorted(longer[:10]) == sorted(list(range(5)) * 2)
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=300, generator=gen()))
    assert len(drawn) == 300 and set(drawn) == {0, 1, 2}
    assert max(Counter(drawn).values()) > 1
    assert len(RandomSampler(range(3), replacement=True, num_samples=7)) == 7


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(num_samples=0), ValueError, "num_samples should be a positive integer value"),
        (dict(replacement=1), TypeError, "replacement should be a boolean value"),
    ],
)
def test_random_sampler_rejects_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        RandomSampler(range(3), **kwargs)


def test_subset_random_sampler():
    out = list(SubsetRandomSampler([10, 20, 30, 40], generator=gen(2)))
    assert sorted(out) == [10, 20, 30, 40] and len(SubsetRandomSampler([1, 2])) == 2


def test_weighted_random_sampler_follows_the_weights():
    sampler = WeightedRandomSampler([0.0, 1.0, 3.0], num_samples=4000, generator=gen())
    counts = Counter(sampler)
    assert counts[0] == 0 and 2.6 < counts[2] / counts[1] < 3.4
    unique = list(WeightedRandomSampler([1, 1, 1, 1, 0], 4, replacement=False, generator=gen()))
    assert sorted(unique) == [0, 1, 2, 3]


def test_weighted_random_sampler_checks():
    with pytest.raises(ValueError, match="weights should be a 1d sequence"):
        WeightedRandomSampler(np.ones((2, 2)), 3)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        WeightedRandomSampler([1.0], 0)
    with pytest.raises(ValueError, match="without replacement"):
        WeightedRandomSampler([1.0, 0.0], 2, replacement=False)


def test_batch_sampler():
    assert list(BatchSampler(range(7), 3, drop_last=False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(range(7), 3, drop_last=True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(range(7), 3, drop_last=False)) == 3
    assert len(BatchSampler(range(7), 3, drop_last=True)) == 2
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(TypeError, match="drop_last should be a boolean"):
        BatchSampler(range(3), 2, 0)
