"""``RemovableHandle``: what every ``register_*_hook`` returns (tensor, module and optimizer hooks).

As ``torch.utils.hooks`` (and importable from ``ember.utils.hooks``). It sits below ``ember.tensor`` and
imports nothing of Ember's, so the tensor, ``nn.Module`` and the optimizers can all use it; it is not in
``ember/utils/``, whose ``data`` module imports ``ember.data`` and so sits above the tensor.
"""

from __future__ import annotations

import itertools

__all__ = ["RemovableHandle"]


class RemovableHandle:
    """Removes one registered hook: ``handle.remove()``, or at the end of a ``with`` block.

    The registering code stores the hook under ``handle.id`` in ``hooks_dict``; ``remove()`` deletes that
    entry, and does nothing the second time.

    Args:
        hooks_dict: the dict of hooks, keyed by handle id, that holds the hook.

    Example:
        >>> import ember
        >>> x = ember.ones(2, requires_grad=True)
        >>> with x.register_hook(lambda grad: grad * 2):
        ...     (x * 3).sum().backward()
        >>> x.grad
        tensor([6., 6.])
    """

    _next_id = itertools.count()

    def __init__(self, hooks_dict: dict):
        self.id: int = next(RemovableHandle._next_id)
        self.hooks_dict = hooks_dict

    def remove(self) -> None:
        self.hooks_dict.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()
