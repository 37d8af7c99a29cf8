"""``DistributedDataParallel``: PyTorch's DDP wrapper, averaging gradients over the ranks of an MPI job.

Each rank runs its own copy of the model on its own share of the data. At construction rank 0's
parameters and buffers are copied to every rank; after each backward pass, once every parameter's
gradient is complete, the gradients are averaged over the ranks (one in-place ``Allreduce`` per flat
bucket, ``ember.distributed.buckets``), so that every rank's optimizer takes the same step. In a world of
one process the wrapper changes nothing but the ``module.`` prefix of the state dict, as in PyTorch.
"""

from __future__ import annotations

import contextlib

from ... import distributed as dist
from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled
from ...distributed.buckets import allreduce_mean, broadcast_tensors, make_buckets
from ...tensor import Tensor
from ..modules.module import Module
from .data_parallel import _check_cpu_devices

__all__ = ["DistributedDataParallel"]


class DistributedDataParallel(Module):
    """Wraps ``module`` so that backward averages its gradients over every rank of the process group.

    Example (``mpiexec -n 2 python train.py``; run alone it is a world of one)::

        dist.init_process_group("gloo")
        model = DistributedDataParallel(Net())
        loss_fn(model(x), y).backward()   # every rank now holds the same, averaged gradients
        optimizer.step()

    ``find_unused_parameters=True`` lets a forward pass leave parameters out (found by walking the graph
    from the outputs, as PyTorch does); otherwise every parameter must get a gradient in each backward.
    ``no_sync()`` accumulates gradients locally; the next backward outside it averages the sum.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, init_sync: bool = True, process_group=None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False, static_graph: bool = False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None, mixed_precision=None,
                 device_mesh=None):
        super().__init__()
        _check_cpu_devices("DistributedDataParallel", device_ids, output_device)
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        self.module = module
        self.process_group = dist.new_group() if process_group is None else process_group
        self.dim, self.broadcast_buffers = dim, broadcast_buffers
        self.find_unused_parameters, self.static_graph = find_unused_parameters, static_graph
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 2**20)
        self.require_backward_grad_sync = True
        self._params = params
        self._names = {id(p): name for name, p in module.named_parameters() if p.requires_grad}
        self._buckets = make_buckets(params, self.bucket_bytes_cap)
        self._expected: set | None = None  # ids of parameters this backward must still reach
        self._started = False
        comm = self.process_group.comm
        if comm is not None and init_sync:
            broadcast_tensors([*module.parameters(), *module.buffers()], comm)
        for p in params:
            p.register_post_accumulate_grad_hook(self._gradient_ready)

    def forward(self, *inputs, **kwargs):
        if self._expected and self._started:
            missing = [self._names[id(p)] for p in self._params if id(p) in self._expected]
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a new one. This "
                "error indicates that your module has parameters that were not used in producing loss: "
                f"{', '.join(missing)}. Pass find_unused_parameters=True to DistributedDataParallel, or make "
                "sure every forward output takes part in computing the loss.")
        comm = self.process_group.comm
        if comm is not None and self.broadcast_buffers:
            broadcast_tensors(list(self.module.buffers()), comm)
        output = self.module(*inputs, **kwargs)
        self._expected, self._started = None, False
        if is_grad_enabled() and self.require_backward_grad_sync:
            self._expected = {id(p) for p in self._params}
            if self.find_unused_parameters:
                self._expected &= _leaves_reached(output)
                if not self._expected:  # nothing to wait for: the average happens now (of no gradient)
                    self._average()
        return output

    def _gradient_ready(self, param: Tensor) -> None:
        if self._expected is None:
            return
        self._started = True
        self._expected.discard(id(param))
        if not self._expected:
            self._average()

    def _average(self) -> None:
        self._expected, self._started = None, False
        comm = self.process_group.comm
        if comm is not None:
            allreduce_mean(self._buckets, comm)

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes inside this block accumulate gradients on each rank without averaging them."""
        previous, self.require_backward_grad_sync = self.require_backward_grad_sync, False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def join(self, *args, **kwargs):
        """Uneven inputs across ranks (PyTorch's ``join``) are not supported: give every rank equal batches
        (``DistributedSampler(drop_last=True)``)."""
        raise NotImplementedError("DistributedDataParallel.join: uneven inputs are not supported; give every "
                                  "rank the same number of batches (DistributedSampler(..., drop_last=True))")


def _leaves_reached(output) -> set:
    """The ids of the leaf tensors the autograd graph of ``output`` (tensors in any nesting) leads to."""
    stack, seen, leaves = list(_tensors_in(output)), set(), set()
    while stack:
        item = stack.pop()
        if isinstance(item, Tensor):
            if item.grad_fn is None:
                leaves.add(id(item))
                continue
            item = item.grad_fn
        if id(item) in seen or not isinstance(item, Function):
            continue
        seen.add(id(item))
        stack.extend(edge[0] for edge in item._edges if edge is not None)
    return leaves


def _tensors_in(value):
    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _tensors_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _tensors_in(v)
