"""``ember.multiprocessing``: ``torch.multiprocessing``'s names over the standard library's one.

Everything of ``multiprocessing`` is here (``Process``, ``Queue``, ``Pool``, ``get_context``,
``set_start_method``, ``Manager``, ``Event``, ...), plus torch's ``spawn`` / ``start_processes`` and its
sharing strategies. A tensor in shared memory (``Tensor.share_memory_()``, ``Module.share_memory()``) that is
sent through a queue, a pipe or as a spawned process's argument arrives as a tensor on the same memory: the
receiver's writes are the sender's (Hogwild training). As in torch, a tensor not in shared memory is moved
there when multiprocessing pickles it (once this module is imported; unlike torch, views of it made before
keep the old memory). ``fork``-ed children share the memory of every shared tensor they inherit. How a block
of shared memory is handed over (``file_descriptor`` or ``file_system``) and when it is freed:
``ember/_shared.py``.

Example:
    >>> import ember
    >>> import ember.multiprocessing as mp
    >>> model = ember.nn.Linear(2, 2)
    >>> model.share_memory().weight.is_shared()
    True
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import *  # noqa: F401,F403

from multiprocessing.reduction import ForkingPickler

from .._shared import get_all_sharing_strategies, get_sharing_strategy, set_sharing_strategy
from ..nn.parameter import Buffer, Parameter
from ..tensor import Tensor
from .spawn import (
    ProcessContext, ProcessException, ProcessExitedException, ProcessRaisedException, SpawnContext, spawn,
    start_processes,
)

__all__ = [
    "ProcessContext", "ProcessException", "ProcessExitedException", "ProcessRaisedException", "SpawnContext",
    "get_all_sharing_strategies", "get_sharing_strategy", "set_sharing_strategy", "spawn", "start_processes",
] + list(multiprocessing.__all__)


def _reduce_tensor(tensor: Tensor):
    """How multiprocessing pickles a tensor: moved into shared memory, then sent as a handle to it (the
    array's own reducer, ``ember/_shared.py``), as torch's reductions do for CPU tensors."""
    if tensor.requires_grad and not tensor.is_leaf:
        raise RuntimeError(
            "Cowardly refusing to serialize non-leaf tensor which requires_grad, since autograd does not "
            "support crossing process boundaries.  If you just want to transfer the data, call detach() on "
            "the tensor before serializing (e.g., putting it on the queue)."
        )
    if not tensor.is_meta:
        tensor.share_memory_()
    return tensor.__reduce_ex__(4)


def init_reductions() -> None:
    """Registers ``_reduce_tensor`` with multiprocessing's pickler for Ember's tensor types (done on import,
    as torch.multiprocessing does; a subclass of ``Tensor`` defined elsewhere pickles by copy)."""
    for cls in (Tensor, Parameter, Buffer):
        ForkingPickler.register(cls, _reduce_tensor)


init_reductions()
