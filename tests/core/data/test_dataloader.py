"""DataLoader: batching, argument checks, determinism across num_workers, resuming mid-epoch."""

from __future__ import annotations

import multiprocessing
import random

import ember
import numpy as np
import pytest
from ember.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    TensorDataset,
    get_worker_info,
)

FORK = multiprocessing.get_context("fork")


class Augmented(Dataset):
    """Every sample draws from all three global generators, as random augmentations do."""

    def __init__(self, n: int = 22, fetches=None):
        self.n = n
        self.fetches = fetches  # a shared counter of __getitem__ calls (works across fork)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if self.fetches is not None:
            with self.fetches.get_lock():
                self.fetches.value += 1
        x = ember.rand(3) + float(np.random.rand()) + random.random()
        return {"x": x, "index": i, "flip": random.random() < 0.5}


def random_collate(samples):
    batch = ember.data.default_collate(samples)
    batch["noise"] = ember.randn(2)  # randomness in collate_fn is reproducible too
    return batch


def as_plain(batches):
    return [{key: value.numpy().copy() for key, value in batch.items()} for batch in batches]


def assert_same_batches(a, b):
    assert len(a) == len(b)
    for batch_a, batch_b in zip(a, b):
        assert batch_a.keys() == batch_b.keys()
        for key in batch_a:
            np.testing.assert_array_equal(batch_a[key], batch_b[key], err_msg=key)


def run_epochs(epochs=2, **kwargs):
    ember.manual_seed(1234)
    loader = DataLoader(Augmented(), batch_size=4, shuffle=True, collate_fn=random_collate, **kwargs)
    return [as_plain(loader) for _ in range(epochs)]


# --- determinism ------------------------------------------------------------------------------------
def test_batches_identical_for_any_num_workers_and_persistent_workers():
    reference = run_epochs()
    assert reference[0][0]["index"].tolist() != reference[1][0]["index"].tolist()  # a new order per epoch
    for kwargs in (
        dict(num_workers=1, multiprocessing_context=FORK),
        dict(num_workers=2, multiprocessing_context=FORK),
        dict(num_workers=2, multiprocessing_context=FORK, persistent_workers=True, prefetch_factor=1),
    ):
        runs = run_epochs(**kwargs)
        for epoch in range(2):
            assert_same_batches(reference[epoch], runs[epoch])


def test_augmentations_differ_between_samples_and_epochs_but_follow_the_seed():
    first, second = run_epochs(), run_epochs()
    assert_same_batches(first[0], second[0])
    x = np.concatenate([b["x"] for b in first[0]])
    assert len(np.unique(x[:, 0])) == len(x)  # every sample got its own random numbers
    ember.manual_seed(99)
    other = as_plain(DataLoader(Augmented(), batch_size=4, shuffle=True, collate_fn=random_collate))
    assert not np.array_equal(other[0]["index"], first[0][0]["index"])


def test_a_sample_depends_only_on_seed_epoch_and_index():
    ember.manual_seed(5)
    shuffled = DataLoader(Augmented(), batch_size=4, shuffle=True)
    ember.manual_seed(5)
    sequential = DataLoader(Augmented(), batch_size=1)
    by_index = {int(b["index"][0]): b["x"][0].numpy() for b in sequential}
    for batch in shuffled:
        for i, x in zip(batch["index"].tolist(), batch["x"].numpy()):
            np.testing.assert_array_equal(x, by_index[i])


def test_generator_argument_fixes_the_loader_seed():
    make = lambda: DataLoader(Augmented(), batch_size=4, shuffle=True,
                              generator=ember.Generator().manual_seed(3))
    ember.manual_seed(0)
    a = as_plain(make())
    ember.manual_seed(1)  # the default generator no longer matters
    b = as_plain(make())
    assert_same_batches(a, b)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_loading_does_not_disturb_the_main_random_streams(num_workers):
    def draws(iterate: bool):
        ember.manual_seed(7)
        np.random.seed(7)
        random.seed(7)
        kwargs = dict(num_workers=num_workers, multiprocessing_context=FORK) if num_workers else {}
        loader = DataLoader(Augmented(12), batch_size=3, shuffle=True, collate_fn=random_collate, **kwargs)
        seen = []
        batches = iter(loader) if iterate else range(len(loader))
        for _ in batches:  # "dropout" of a model drawing between batches
            seen.append((ember.rand(2).tolist(), np.random.rand(), random.random()))
        return seen

    assert draws(iterate=True) == draws(iterate=False)


def test_user_sampler_without_generator_is_reproducible_and_leaves_main_streams_alone():
    class Shuffled(Sampler):  # a user sampler drawing from numpy's global generator
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(np.random.permutation(self.n).tolist())

        def __len__(self):
            return self.n

    def run():
        ember.manual_seed(0)
        np.random.seed(0)
        loader = DataLoader(Augmented(10), batch_size=3, sampler=Shuffled(10))
        batches = as_plain(loader)
        return batches, np.random.rand()

    (a, after_a), (b, after_b) = run(), run()
    assert_same_batches(a, b)
    np.random.seed(0)
    assert after_a == after_b == np.random.rand()


def test_iterable_dataset_same_stream_for_zero_and_one_worker():
    class Stream(IterableDataset):
        def __iter__(self):
            for i in range(7):
                yield {"x": ember.rand(2), "noise": np.random.rand(), "index": i}

    def run(**kwargs):
        ember.manual_seed(2)
        loader = DataLoader(Stream(), batch_size=2, **kwargs)
        return [as_plain(loader) for _ in range(2)]

    single, worker = run(), run(num_workers=1, multiprocessing_context=FORK)
    for epoch in range(2):
        assert_same_batches(single[epoch], worker[epoch])
    assert not np.array_equal(single[0][0]["x"], single[1][0]["x"])  # a new stream each epoch


# --- resuming ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("num_workers", [0, 2])
def test_resume_mid_epoch_yields_exactly_the_remaining_batches_without_fetching_skipped_ones(drop_last, num_workers):
    n, batch_size = 22, 4
    fetches = FORK.Value("i", 0)
    kwargs = dict(num_workers=num_workers, multiprocessing_context=FORK) if num_workers else {}
    ember.manual_seed(11)
    loader = DataLoader(Augmented(n, fetches), batch_size=batch_size, shuffle=True, drop_last=drop_last,
                        collate_fn=random_collate, **kwargs)
    as_plain(loader)  # epoch 0
    states, full = [], []
    for position, batch in enumerate(loader):  # epoch 1, uninterrupted, with a state after every batch
        full.append(as_plain([batch])[0])
        states.append(loader.state_dict())
        assert states[-1]["epoch"] == 1 and states[-1]["position"] == position + 1
    assert loader.state_dict() == {"seed": states[0]["seed"], "epoch": 2, "position": 0}
    batch_count = len(full)
    assert batch_count == len(loader) == (n // batch_size if drop_last else -(-n // batch_size))
    for consumed in (0, 1, 3, batch_count - 1, batch_count):
        state = {"seed": states[0]["seed"], "epoch": 1, "position": consumed}
        ember.manual_seed(999)  # a fresh process: different default generator, new loader
        resumed = DataLoader(Augmented(n, fetches), batch_size=batch_size, shuffle=True, drop_last=drop_last,
                             collate_fn=random_collate, **kwargs)
        resumed.load_state_dict(state)
        fetches.value = 0
        remainder = as_plain(resumed)
        assert_same_batches(remainder, full[consumed:])
        assert fetches.value == sum(len(b["index"]) for b in full[consumed:])  # skipped samples not loaded
        assert resumed.state_dict()["epoch"] == 2


def test_state_dict_after_break_points_at_the_next_batch():
    ember.manual_seed(0)
    loader = DataLoader(Augmented(12), batch_size=2, shuffle=True)
    reference = as_plain(loader)
    loader.load_state_dict({"epoch": 0, "position": 0, "seed": loader.state_dict()["seed"]})
    for i, _ in enumerate(loader):
        if i == 2:
            break
    state = loader.state_dict()
    assert state["epoch"] == 0 and state["position"] == 3
    loader.load_state_dict(state)
    assert_same_batches(as_plain(loader), reference[3:])


def test_load_state_dict_rejects_incomplete_state():
    loader = DataLoader(Augmented(4))
    with pytest.raises(KeyError, match="position"):
        loader.load_state_dict({"epoch": 1})


# --- batching and arguments -------------------------------------------------------------------------
def test_tensor_dataset_batches_and_len():
    ds = TensorDataset(ember.arange(10).float(), ember.arange(10))
    loader = DataLoader(ds, batch_size=4)
    assert len(loader) == 3
    batches = list(loader)
    assert [y.tolist() for _, y in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][0].dtype == ember.float32 and batches[0][1].dtype == ember.int64
    assert len(DataLoader(ds, batch_size=4, drop_last=True)) == 2


def test_batch_size_none_converts_single_samples():
    loader = DataLoader([np.arange(3), np.arange(3) + 1], batch_size=None)
    batches = list(loader)
    assert isinstance(batches[0], ember.Tensor) and batches[1].tolist() == [1, 2, 3]


def test_batch_sampler_argument():
    sampler = BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False)
    loader = DataLoader(list(range(5)), batch_sampler=sampler)
    assert [b.tolist() for b in loader] == [[0, 1], [2, 3], [4]]
    assert loader.batch_size is None and len(loader) == 3


def test_shuffle_with_own_random_sampler_and_generator():
    g = ember.Generator().manual_seed(0)
    loader = DataLoader(list(range(8)), batch_size=8, sampler=RandomSampler(range(8), generator=g))
    assert sorted(next(iter(loader)).tolist()) == list(range(8))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_workers=-1), "num_workers option should be non-negative"),
        (dict(timeout=-1), "timeout option should be non-negative"),
        (dict(timeout=1), "needs worker processes"),
        (dict(prefetch_factor=2), "prefetch_factor option could only be specified in multiprocessing"),
        (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
        (dict(sampler=[0, 1], shuffle=True), "sampler option is mutually exclusive with shuffle"),
        (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive"),
        (dict(batch_size=None, drop_last=True), "batch_size=None option disables auto-batching"),
        (dict(multiprocessing_context="fork"), "multiprocessing_context can only be used"),
        (dict(num_workers=1, multiprocessing_context="nonsense"), "valid start method"),
    ],
)
def test_invalid_arguments_are_rejected_with_pytorch_messages(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DataLoader(list(range(4)), **kwargs)


def test_iterable_dataset_rejects_shuffle_and_sampler():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(3))

    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Stream(), shuffle=True)
    with pytest.raises(ValueError, match="expected unspecified sampler option"):
        DataLoader(Stream(), sampler=[0])


def test_settings_cannot_change_after_init():
    loader = DataLoader(list(range(4)), batch_size=2)
    with pytest.raises(ValueError, match="batch_size attribute should not be set"):
        loader.batch_size = 3


def test_pin_memory_is_accepted():
    assert [b.tolist() for b in DataLoader([1, 2], batch_size=2, pin_memory=True)] == [[1, 2]]


class Sharded(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


@pytest.mark.parametrize("num_workers", [0, 2])
def test_iterable_dataset_sharded_through_get_worker_info(num_workers):
    kwargs = dict(num_workers=num_workers, multiprocessing_context=FORK) if num_workers else {}
    loader = DataLoader(Sharded(11), batch_size=3, **kwargs)
    values = [v for batch in loader for v in batch.tolist()]
    assert sorted(values) == list(range(11))
    assert len(loader) == 4


def test_iterable_dataset_with_workers_interleaves_round_robin_and_resumes():
    loader = DataLoader(Sharded(12), batch_size=2, num_workers=2, multiprocessing_context=FORK)
    full = [b.tolist() for b in loader]
    assert full == [[0, 2], [1, 3], [4, 6], [5, 7], [8, 10], [9, 11]]
    loader.load_state_dict({"epoch": 1, "position": 3})
    assert [b.tolist() for b in loader] == full[3:]


class BatchLoading(Dataset):
    """Loads a whole batch in one call, as PyTorch's fetcher allows through ``__getitems__``."""

    def __init__(self):
        self.calls = 0

    def __len__(self):
        return 10

    def __getitem__(self, i):
        raise AssertionError("__getitems__ should be used")

    def __getitems__(self, indices):
        self.calls += 1
        noise = np.random.rand(len(indices))
        return [(i, float(x)) for i, x in zip(indices, noise)]


def test_getitems_is_called_once_per_batch_and_is_deterministic():
    dataset = BatchLoading()
    ember.manual_seed(0)
    single = [(i.tolist(), x.tolist()) for i, x in DataLoader(dataset, batch_size=4, shuffle=True)]
    assert dataset.calls == 3
    ember.manual_seed(0)
    loader = DataLoader(BatchLoading(), batch_size=4, shuffle=True, num_workers=2, multiprocessing_context=FORK)
    assert [(i.tolist(), x.tolist()) for i, x in loader] == single
