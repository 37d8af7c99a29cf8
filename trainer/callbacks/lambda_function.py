"""``LambdaCallback``: a callback made of plain functions, one per hook (Lightning's ``LambdaCallback``)."""

from __future__ import annotations

from collections.abc import Callable

from .base import Callback

_HOOKS = frozenset(name for name in vars(Callback) if name.startswith("on_") or name in ("setup", "teardown"))


class LambdaCallback(Callback):
    """Runs the given functions at their hooks; each receives the hook's arguments
    ``(trainer, module, *args)``.

    Args:
        **hooks: hook name → function, e.g. ``on_train_epoch_end=fn`` (any hook of ``Callback``).

    Example:
        >>> from ember.trainer.callbacks import LambdaCallback
        >>> callback = LambdaCallback(on_train_epoch_end=lambda trainer, module: print(trainer.current_epoch))
    """

    def __init__(self, **hooks: Callable) -> None:
        unknown = sorted(set(hooks) - _HOOKS)
        if unknown:
            raise TypeError(f"LambdaCallback got unknown hooks {unknown}; the hooks are {sorted(_HOOKS)}")
        for name, fn in hooks.items():
            if not callable(fn):
                raise TypeError(f"LambdaCallback({name}=...) must be a function, got {type(fn).__name__}")
        # The trainer calls only the hooks a callback's class defines, so each instance gets a class of its own
        methods = {name: _method(fn) for name, fn in hooks.items()}
        self.__class__ = type("LambdaCallback", (LambdaCallback,), {**methods, "__qualname__": "LambdaCallback"})
        self.hooks = dict(hooks)


def _method(fn: Callable) -> Callable:
    def hook(self, *args, **kwargs):
        return fn(*args, **kwargs)

    return hook
