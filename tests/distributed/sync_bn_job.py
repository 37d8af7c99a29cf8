"""Run under `mpiexec -n 2`: SyncBatchNorm on each rank's half of a batch must give the outputs and
gradients that BatchNorm2d gives on the whole batch in one process. Rank 0 prints "ok" or raises."""

from __future__ import annotations

import ember
import numpy as np
from ember import nn
from mpi4py import MPI

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
gen = np.random.default_rng(0)
x_all = gen.normal(2.0, 3.0, size=(4 * size, 3, 5, 5))
weights_all = gen.normal(size=x_all.shape)  # loss = sum(y * weights): a different gradient everywhere
mine = slice(4 * rank, 4 * rank + 4)

sync = nn.SyncBatchNorm(3, momentum=0.3).double()
sync.weight._data[:] = [0.5, 2.0, -1.0]
sync.bias._data[:] = [0.1, 0.0, 0.3]
x = ember.tensor(x_all[mine], requires_grad=True)
y = sync(x)
(y * ember.tensor(weights_all[mine])).sum().backward()

gathered = comm.gather((y._data, x.grad._data, sync.weight.grad._data, sync.bias.grad._data), root=0)
if rank == 0:
    plain = nn.BatchNorm2d(3, momentum=0.3).double()
    plain.weight._data[:] = sync.weight._data
    plain.bias._data[:] = sync.bias._data
    x_ref = ember.tensor(x_all, requires_grad=True)
    y_ref = plain(x_ref)
    (y_ref * ember.tensor(weights_all)).sum().backward()
    np.testing.assert_allclose(np.concatenate([g[0] for g in gathered]), y_ref._data, atol=1e-12)
    np.testing.assert_allclose(np.concatenate([g[1] for g in gathered]), x_ref.grad._data, atol=1e-12)
    np.testing.assert_allclose(sum(g[2] for g in gathered), plain.weight.grad._data, atol=1e-10)
    np.testing.assert_allclose(sum(g[3] for g in gathered), plain.bias.grad._data, atol=1e-10)
    np.testing.assert_allclose(sync.running_mean._data, plain.running_mean._data, atol=1e-12)
    np.testing.assert_allclose(sync.running_var._data, plain.running_var._data, atol=1e-12)
    print("ok", flush=True)
