"""``ember.multiprocessing``: ``torch.multiprocessing``'s names over the standard library's one.

Everything of ``multiprocessing`` is here (``Process``, ``Queue``, ``Pool``, ``get_context``,
``set_start_method``, ``Manager``, ``Event``, ...), plus torch's ``spawn`` / ``start_processes`` and its
sharing strategies. A tensor in shared memory (``Tensor.share_memory_()``, ``Module.share_memory()``) that is
sent through a queue, a pipe or as a spawned process's argument arrives as a tensor on the same memory: the
receiver's writes are the sender's (Hogwild training). A tensor not in shared memory arrives as a copy (torch
would move it into shared memory first). ``fork``-ed children share the memory of every shared tensor they
inherit. How a block of shared memory is handed over (``file_descriptor`` or ``file_system``) and when it is
freed: ``ember/_shared.py``.

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

from .._shared import get_all_sharing_strategies, get_sharing_strategy, set_sharing_strategy
from .spawn import (
    ProcessContext, ProcessException, ProcessExitedException, ProcessRaisedException, SpawnContext, spawn,
    start_processes,
)

__all__ = [
    "ProcessContext", "ProcessException", "ProcessExitedException", "ProcessRaisedException", "SpawnContext",
    "get_all_sharing_strategies", "get_sharing_strategy", "set_sharing_strategy", "spawn", "start_processes",
] + list(multiprocessing.__all__)
