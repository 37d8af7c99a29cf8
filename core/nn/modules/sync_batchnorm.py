"""``SyncBatchNorm``: batch normalisation whose statistics are taken over the whole batch of every
process of an MPI job (PyTorch's ``torch.nn.SyncBatchNorm``).

In training, each rank computes the count, mean and sum of squared deviations of its own share;
one ``Allgather`` combines them (Chan et al.'s parallel variance formula) into the statistics of the
global batch. Backward needs two global sums per channel, ``sum(dy)`` and ``sum(dy * xhat)``, taken
with one ``Allreduce``; the weight and bias gradients stay local (DDP averages them with the others):

    dx = w * invstd * (dy - sum(dy) / N - xhat * sum(dy * xhat) / N)     (sums over all N samples)

Outside an MPI job of several processes, or in eval mode, it is exactly ``BatchNorm``. mpi4py is
never imported here: the communicator is the one the caller gave, or MPI's ``COMM_WORLD`` when the
program (e.g. ``Trainer(strategy="ddp")``) has already started MPI.
"""

from __future__ import annotations

import sys

import numpy as np

from ...autograd.function import once_differentiable
from ...ops._op import Op
from ...tensor import Tensor
from .module import Module
from .normalization import _BatchNorm

__all__ = ["SyncBatchNorm"]


def _default_communicator():
    if SyncBatchNorm.default_process_group is not None:
        return SyncBatchNorm.default_process_group
    MPI = sys.modules.get("mpi4py.MPI")
    if MPI is None or not MPI.Is_initialized() or MPI.Is_finalized():
        return None
    return MPI.COMM_WORLD


class _SyncBatchNormFn(Op):
    @staticmethod
    def forward(ctx, x, weight, bias, mean, invstd, count, comm):
        xd = x._data
        shape = (1, xd.shape[1]) + (1,) * (xd.ndim - 2)
        xhat = (xd - mean.reshape(shape).astype(xd.dtype)) * invstd.reshape(shape).astype(xd.dtype)
        ctx.save_for_backward(weight)
        ctx.stats = (xhat, invstd, count, comm)
        out = xhat
        if weight is not None:
            out = out * weight._data.reshape(shape)
        if bias is not None:
            out = out + bias._data.reshape(shape)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        from mpi4py import MPI  # optional extra (ember[mpi]), loaded on first use

        (weight,) = ctx.saved_tensors
        xhat, invstd, count, comm = ctx.stats
        dy = grad._data
        axes = (0,) + tuple(range(2, dy.ndim))
        shape = (1, dy.shape[1]) + (1,) * (dy.ndim - 2)
        local_dy = dy.sum(axis=axes, dtype=np.float64)
        local_dy_xhat = (dy * xhat).sum(axis=axes, dtype=np.float64)
        sums = np.concatenate([local_dy, local_dy_xhat])
        comm.Allreduce(MPI.IN_PLACE, sums, op=MPI.SUM)
        c = dy.shape[1]
        mean_dy, mean_dy_xhat = sums[:c] / count, sums[c:] / count
        scale = invstd if weight is None else invstd * weight._data.astype(np.float64)
        dx = (dy - mean_dy.reshape(shape) - xhat * mean_dy_xhat.reshape(shape)) * scale.reshape(shape)
        dtype = dy.dtype
        return (
            Tensor._wrap(dx.astype(dtype, copy=False)) if ctx.needs_input_grad[0] else None,
            Tensor._wrap(local_dy_xhat.astype(dtype)) if ctx.needs_input_grad[1] else None,
            Tensor._wrap(local_dy.astype(dtype)) if ctx.needs_input_grad[2] else None,
            None, None, None, None,
        )


def _global_stats(xd: np.ndarray, comm) -> tuple[np.ndarray, np.ndarray, int]:
    """Mean, biased variance and sample count per channel over every rank's ``xd``."""
    channels = xd.shape[1]
    axes = (0,) + tuple(range(2, xd.ndim))
    n = xd.size // channels
    local_mean = xd.mean(axis=axes, dtype=np.float64)
    centred = xd - local_mean.reshape((1, channels) + (1,) * (xd.ndim - 2)).astype(xd.dtype)
    local_m2 = np.square(centred, dtype=np.float64).sum(axis=axes)
    mine = np.concatenate([[float(n)], local_mean, local_m2])
    every = np.empty((comm.Get_size(), mine.size), np.float64)
    comm.Allgather(mine, every)
    counts, means, m2s = every[:, :1], every[:, 1: 1 + channels], every[:, 1 + channels:]
    total = float(counts.sum())
    mean = (counts * means).sum(axis=0) / total
    m2 = m2s.sum(axis=0) + (counts * np.square(means - mean)).sum(axis=0)  # Chan et al.
    return mean, m2 / total, int(total)


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation over the global batch of every process (PyTorch's ``nn.SyncBatchNorm``).

    Args:
        num_features: channels ``C`` of an input ``(N, C, ...)``.
        eps, momentum, affine, track_running_stats: as ``BatchNorm2d``.
        process_group: an mpi4py communicator (default: ``SyncBatchNorm.default_process_group``, which
            ``DDPStrategy`` sets, else ``MPI.COMM_WORLD`` once MPI is running).

    Example:
        >>> import ember
        >>> from ember import nn
        >>> model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU())
        >>> model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        >>> type(model[1]).__name__
        'SyncBatchNorm'
        >>> tuple(model(ember.randn(4, 3, 6, 6)).shape)  # one process: exactly BatchNorm2d
        (4, 8, 4, 4)
    """

    default_process_group = None  # the communicator used when none is given (set by DDPStrategy)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, process_group=None, device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)
        self.process_group = process_group

    def _check_input_dim(self, input) -> None:
        if input.ndim < 2:
            raise ValueError(f"SyncBatchNorm: expected at least 2D input (N, C, ...), got shape {tuple(input.shape)}")

    def forward(self, input):
        comm = self.process_group if self.process_group is not None else _default_communicator()
        if not self.training or comm is None or comm.Get_size() == 1:
            return super().forward(input)
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked._data += 1
            self.num_batches_tracked._vc[0] += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked._data)
        xd = input._data
        if input.shape[1] != self.num_features:
            raise ValueError(f"SyncBatchNorm({self.num_features}): input has {input.shape[1]} channels "
                             f"(shape {tuple(input.shape)})")
        mean, var, count = _global_stats(xd, comm)
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got {count} over all ranks")
        if self.track_running_stats and self.running_mean is not None:
            rm, rv = self.running_mean._data, self.running_var._data
            rm *= 1 - factor
            rm += (factor * mean).astype(rm.dtype)
            rv *= 1 - factor
            rv += (factor * var * (count / (count - 1))).astype(rv.dtype)
            self.running_mean._vc[0] += 1
            self.running_var._vc[0] += 1
        invstd = 1.0 / np.sqrt(var + self.eps)
        return _SyncBatchNormFn.apply(input, self.weight, self.bias, mean, invstd, count, comm)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """``module`` with every ``BatchNorm*d`` replaced by a ``SyncBatchNorm`` sharing its parameters
        and buffers (returns the new module when ``module`` itself is a batch norm)."""
        output = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            output = SyncBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                                   module.track_running_stats, process_group)
            if module.affine:
                output.weight = module.weight
                output.bias = module.bias
            output.running_mean = module.running_mean
            output.running_var = module.running_var
            output.num_batches_tracked = module.num_batches_tracked
            output.training = module.training
        for name, child in list(module.named_children()):
            output.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return output
