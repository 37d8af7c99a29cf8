"""Datasets: TensorDataset, Subset, ConcatDataset, ChainDataset, StackDataset, random_split."""

from __future__ import annotations

import ember
import pytest
from ember.data import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)


class Range(IterableDataset):
    def __init__(self, start, stop):
        self.start, self.stop = start, stop

    def __iter__(self):
        return iter(range(self.start, self.stop))

    def __len__(self):
        return self.stop - self.start


class Squares(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return i * i


def test_tensor_dataset():
    ds = TensorDataset(ember.arange(6).reshape(3, 2), ember.tensor([5, 6, 7]))
    x, y = ds[2]
    assert len(ds) == 3 and x.tolist() == [4, 5] and int(y) == 7
    with pytest.raises(ValueError, match="Size mismatch between tensors"):
        TensorDataset(ember.zeros(3), ember.zeros(4))


def test_subset_and_dataset_addition():
    s = Subset(Squares(), [3, 1])
    assert len(s) == 2 and s[0] == 9 and s[1] == 1 and s[[0, 1]] == [9, 1]
    both = Squares() + Squares()
    assert isinstance(both, ConcatDataset) and len(both) == 8 and both[5] == 1


def test_concat_dataset_indexing():
    ds = ConcatDataset([[1, 2], [], [3, 4, 5]])
    assert len(ds) == 5 and [ds[i] for i in range(5)] == [1, 2, 3, 4, 5]
    assert ds[-1] == 5 and ds.cumulative_sizes == [2, 2, 5]
    with pytest.raises(ValueError, match="absolute value of index"):
        ds[-6]
    with pytest.raises(IndexError):
        ds[5]
    with pytest.raises(TypeError, match="does not support IterableDataset"):
        ConcatDataset([Range(0, 2)])


def test_chain_dataset():
    chain = ChainDataset([Range(0, 2), Range(5, 7)])
    assert list(chain) == [0, 1, 5, 6] and len(chain) == 4
    assert list(Range(0, 1) + Range(3, 4)) == [0, 3]


def test_stack_dataset():
    assert StackDataset([1, 2], ["a", "b"])[1] == (2, "b")
    assert StackDataset(x=[1, 2], y=["a", "b"])[0] == {"x": 1, "y": "a"}
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        StackDataset([1, 2], [1])
    with pytest.raises(ValueError, match="but both types are given"):
        StackDataset([1], y=[2])


def test_random_split_with_lengths_is_a_partition_fixed_by_the_generator():
    parts = random_split(range(10), [3, 7], generator=ember.Generator().manual_seed(1))
    again = random_split(range(10), [3, 7], generator=ember.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [3, 7]
    assert sorted(list(parts[0]) + list(parts[1])) == list(range(10))
    assert list(parts[0]) == list(again[0])
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(range(10), [3, 6])


def test_random_split_with_fractions_hands_out_the_remainder_round_robin():
    parts = random_split(range(11), [0.5, 0.3, 0.2], generator=ember.Generator().manual_seed(0))
    assert [len(p) for p in parts] == [6, 3, 2]  # floor gives 5, 3, 2; the remainder 1 goes to the first
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(range(2), [0.9, 0.1])


@pytest.mark.parity
def test_random_split_fraction_lengths_match_pytorch():
    torch_data = pytest.importorskip("torch.utils.data")
    for n, fractions in ((11, [0.5, 0.3, 0.2]), (10, [0.33, 0.33, 0.34]), (7, [0.25, 0.75])):
        ours = [len(p) for p in random_split(range(n), fractions)]
        theirs = [len(p) for p in torch_data.random_split(range(n), fractions)]
        assert ours == theirs
