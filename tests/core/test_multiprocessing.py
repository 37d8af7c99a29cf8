"""Shared-memory tensors and ember.multiprocessing: processes that receive a shared tensor write the same
numbers, and the memory is freed when the last of them lets go."""

from __future__ import annotations

import gc
import os
import pickle
from multiprocessing.reduction import ForkingPickler

import ember
import ember.multiprocessing as mp
import numpy as np
import pytest
from ember import nn

fork = mp.get_context("fork")


@pytest.fixture
def strategy():
    """Restores the sharing strategy a test changes."""
    before = mp.get_sharing_strategy()
    yield mp.set_sharing_strategy
    mp.set_sharing_strategy(before)


def _shm_files() -> set:
    return {name for name in os.listdir("/dev/shm") if name.startswith(f"ember_{os.getpid()}_")}


def _mapped_blocks() -> int:
    with open("/proc/self/maps") as maps:
        return maps.read().count("ember_shared")


def test_share_memory_keeps_values_and_is_idempotent():
    t = ember.arange(12.0).reshape(3, 4).t()  # a non-contiguous view
    expected = t.numpy().copy()
    assert not t.is_shared()
    assert t.share_memory_() is t and t.is_shared()
    np.testing.assert_array_equal(t.numpy(), expected)
    data = t._data
    t.share_memory_()
    assert t._data is data
    assert t[1:].is_shared() and t.detach().is_shared()  # views of a shared tensor share its memory
    assert ember.zeros(0).share_memory_().is_shared()


def test_module_share_memory_shares_every_parameter_gradient_and_buffer():
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    model[0].weight.grad = ember.ones(2, 3)
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    assert model.share_memory() is model
    assert all(t.is_shared() for t in list(model.parameters()) + list(model.buffers()))
    assert model[0].weight.grad.is_shared() and model[1].num_batches_tracked.is_shared()
    assert isinstance(model[0].weight, nn.Parameter) and model[0].weight.requires_grad
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key])


def _add_many(tensor, lock, times):
    for _ in range(times):
        with lock:
            tensor.add_(1.0)


def test_forked_processes_update_the_same_shared_tensor():
    shared, private = ember.zeros(3).share_memory_(), ember.zeros(3)
    lock = fork.Lock()
    processes = [fork.Process(target=_add_many, args=(t, lock, 50)) for t in (shared, shared)]
    processes.append(fork.Process(target=_add_many, args=(private, lock, 5)))
    for p in processes:
        p.start()
    for p in processes:
        p.join()
        assert p.exitcode == 0
    np.testing.assert_array_equal(shared.numpy(), [100.0, 100.0, 100.0])
    np.testing.assert_array_equal(private.numpy(), [0.0, 0.0, 0.0])  # a forked child's copy


def _receive_and_double(inbox, outbox):
    tensor = inbox.get()
    with ember.no_grad():
        tensor.mul_(2)
    outbox.put((type(tensor).__name__, tensor.requires_grad, tensor.is_shared()))
    assert inbox.get() == "done"  # keeps the tensor until the parent has looked


@pytest.mark.parametrize("sharing", ["file_descriptor", "file_system"])
def test_a_shared_tensor_sent_through_a_queue_arrives_on_the_same_memory(sharing, strategy):
    strategy(sharing)
    before = _shm_files()
    inbox, outbox = fork.Queue(), fork.Queue()
    child = fork.Process(target=_receive_and_double, args=(inbox, outbox))
    child.start()
    weight = nn.Parameter(ember.arange(4.0)).share_memory_()
    inbox.put(weight)
    assert outbox.get(timeout=10) == ("Parameter", True, True)
    np.testing.assert_array_equal(weight.detach().numpy(), [0.0, 2.0, 4.0, 6.0])
    inbox.put("done")
    child.join()
    assert child.exitcode == 0
    del weight
    gc.collect()
    assert _shm_files() == before  # the last process to let go removed the file


def test_a_tensor_not_in_shared_memory_is_moved_there_when_sent_as_torch_does():
    inbox, outbox = fork.Queue(), fork.Queue()
    child = fork.Process(target=_receive_and_double, args=(inbox, outbox))
    child.start()
    t = ember.arange(3.0)
    inbox.put(t)
    assert outbox.get(timeout=10) == ("Tensor", False, True)
    inbox.put("done")
    child.join()
    assert t.is_shared()
    np.testing.assert_array_equal(t.numpy(), [0.0, 2.0, 4.0])
    with pytest.raises(RuntimeError, match="Cowardly refusing to serialize non-leaf tensor"):
        ForkingPickler.dumps(ember.ones(2, requires_grad=True) * 2)
    assert not pickle.loads(pickle.dumps(ember.ones(2))).is_shared()  # plain pickle copies, as torch's


def test_pickling_for_multiprocessing_sends_the_name_not_the_values(strategy):
    strategy("file_system")
    t = ember.zeros(100_000).share_memory_()  # 400 kB
    payload = bytes(ForkingPickler.dumps(t))
    assert len(payload) < 2_000
    (name,) = _shm_files()
    assert name.encode() in payload
    assert len(pickle.dumps(t)) > 400_000  # plain pickle still stores the values, as torch's
    received = pickle.loads(payload)  # (in the same process: a second mapping of the block)
    received[0] = 5.0
    assert t[0].item() == 5.0
    del t, received
    gc.collect()
    assert not _shm_files()


def test_file_descriptor_blocks_leave_no_file_and_are_unmapped_when_the_last_tensor_goes():
    before_files, before_maps = _shm_files(), _mapped_blocks()
    t = ember.ones(1000).share_memory_()
    view = t[10:20]
    assert _shm_files() == before_files and _mapped_blocks() == before_maps + 1
    del t
    gc.collect()
    assert _mapped_blocks() == before_maps + 1  # the view still uses it
    assert view.sum().item() == 10.0
    del view
    gc.collect()
    assert _mapped_blocks() == before_maps


def test_sharing_strategies(strategy):
    assert mp.get_sharing_strategy() == "file_descriptor"
    assert mp.get_all_sharing_strategies() == {"file_descriptor", "file_system"}
    strategy("file_system")
    assert mp.get_sharing_strategy() == "file_system"
    with pytest.raises(ValueError, match="sharing strategy must be one of"):
        mp.set_sharing_strategy("cuda_ipc")


def test_torch_multiprocessing_names_are_there():
    for name in ("Process", "Queue", "Pool", "get_context", "set_start_method", "get_start_method", "spawn",
                 "start_processes", "current_process", "cpu_count", "Manager", "SimpleQueue", "Event", "Lock",
                 "ProcessContext", "ProcessRaisedException", "ProcessExitedException"):
        assert hasattr(mp, name), name
    assert ember.multiprocessing is mp


def _worker(rank, shared, fail_rank):
    if rank == fail_rank:
        raise ValueError(f"rank {rank} fails on purpose")
    shared[rank] = rank + 10.0


def test_start_processes_runs_fn_with_the_rank_and_args():
    shared = ember.zeros(2).share_memory_()
    assert mp.start_processes(_worker, args=(shared, -1), nprocs=2, start_method="fork") is None
    np.testing.assert_array_equal(shared.numpy(), [10.0, 11.0])


def test_a_failing_process_raises_with_its_traceback_in_the_parent():
    context = mp.start_processes(_worker, args=(ember.zeros(2).share_memory_(), 1), nprocs=2, join=False,
                                 start_method="fork")
    assert len(context.pids()) == 2
    with pytest.raises(mp.ProcessRaisedException, match="rank 1 fails on purpose") as error:
        while not context.join():
            pass
    assert error.value.error_index == 1


def test_spawn_starts_fresh_interpreters_that_receive_the_shared_tensor():
    shared = ember.zeros(2).share_memory_()
    mp.spawn(_worker, args=(shared, -1), nprocs=1)  # (one process: a fresh interpreter takes a second)
    np.testing.assert_array_equal(shared.numpy(), [10.0, 0.0])
