"""DistributedSampler: every index once per epoch across replicas, PyTorch's padding, set_epoch."""

from __future__ import annotations

from collections import Counter

import pytest
from ember.data import DistributedSampler


@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
@pytest.mark.parametrize("n", [1, 3, 10, 13])
@pytest.mark.parametrize("shuffle", [False, True])
def test_replicas_cover_every_index_once_padding_as_pytorch(replicas, n, shuffle):
    samplers = [DistributedSampler(range(n), replicas, rank, shuffle=shuffle, seed=4) for rank in range(replicas)]
    shares = [list(s) for s in samplers]
    per_replica = -(-n // replicas)
    assert all(len(share) == per_replica == len(s) for share, s in zip(shares, samplers))
    counts = Counter(i for share in shares for i in share)
    assert set(counts) == set(range(n))  # every index is seen
    total = per_replica * replicas
    assert sum(counts.values()) == total
    if total == n:
        assert set(counts.values()) == {1}  # exactly once when nothing needs padding
    else:  # padding repeats indices from the start of the (shuffled) list, as PyTorch does
        order = [shares[k % replicas][k // replicas] for k in range(total)]
        padded = order[:n]
        while len(padded) < total:
            padded += order[: total - len(padded)]
        assert order == padded


@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
def test_drop_last_gives_disjoint_equal_shares(replicas):
    n = 13
    shares = [list(DistributedSampler(range(n), replicas, r, drop_last=True)) for r in range(replicas)]
    flat = [i for share in shares for i in share]
    assert len(flat) == len(set(flat)) == (n // replicas) * replicas
    assert len({len(share) for share in shares}) == 1


def test_set_epoch_changes_the_order_the_same_way_on_every_replica():
    a0, a1 = (DistributedSampler(range(20), 2, rank, seed=1) for rank in range(2))
    epoch0 = list(a0) + list(a1)
    assert sorted(epoch0) == list(range(20)) and list(a0) == epoch0[:10]  # same epoch, same order
    a0.set_epoch(1)
    a1.set_epoch(1)
    epoch1 = list(a0) + list(a1)
    assert sorted(epoch1) == list(range(20)) and epoch1 != epoch0


def test_no_shuffle_interleaves_like_pytorch():
    assert list(DistributedSampler(range(5), num_replicas=2, rank=0, shuffle=False)) == [0, 2, 4]
    assert list(DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False)) == [1, 3, 0]


def test_invalid_rank():
    with pytest.raises(ValueError, match=r"Invalid rank 2, rank should be in the interval \[0, 1\]"):
        DistributedSampler(range(4), num_replicas=2, rank=2)


@pytest.mark.parity
@pytest.mark.parametrize("drop_last", [False, True])
def test_unshuffled_shares_match_pytorch(drop_last):
    torch_data = pytest.importorskip("torch.utils.data")
    for n in (1, 5, 10, 11):
        for replicas in (1, 2, 3, 4):
            for rank in range(replicas):
                ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
                theirs = torch_data.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
                assert list(ours) == list(theirs) and len(ours) == len(theirs)
