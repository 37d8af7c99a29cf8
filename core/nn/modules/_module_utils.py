"""Helpers of ``Module``: hook handles, the error-path annotation, repr indentation, state-dict values."""

from __future__ import annotations

import itertools
from collections import namedtuple

import numpy as np

from ...tensor import Tensor

_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])
_IncompatibleKeys.__repr__ = lambda self: (
    "<All keys matched successfully>"
    if not self.missing_keys and not self.unexpected_keys
    else f"_IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"
)


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods; ``remove()`` unregisters the hook."""

    _next_id = itertools.count()

    def __init__(self, *hook_dicts: dict):
        self.id = next(RemovableHandle._next_id)
        self._hook_dicts = hook_dicts

    def remove(self) -> None:
        for hooks in self._hook_dicts:
            hooks.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


def _remove_from(name: str, d: dict, *containers) -> None:
    for container in containers:
        if container is None:
            continue
        if isinstance(container, set):
            container.discard(name)
        elif name in container:
            del container[name]
    d.pop(name, None)


def _type_name(value) -> str:
    return (
        type(value).__module__.replace("builtins", "").strip(".")
        + ("." if type(value).__module__ != "builtins" else "")
        + type(value).__name__
    )


def _as_array(value) -> np.ndarray | None:
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor, without importing torch
        return value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except Exception:
        return None


def _name_module_in_error(module, error: Exception) -> None:
    """Puts the path of the innermost failing sub-module in front of the error's message.

    The innermost module's ``__call__`` marks the error with itself; every enclosing call
    rewrites the message with the path relative to itself, so the outermost call leaves
    the full path (``encoder.layers.1.linear1 (Linear): ...``).
    """
    origin = getattr(error, "_ember_module", None)
    if origin is None:
        if (
            type(error).__str__ is not BaseException.__str__
            or len(error.args) != 1
            or not isinstance(error.args[0], str)
        ):
            return
        try:
            error._ember_module = module
            error._ember_message = error.args[0]
        except AttributeError:  # an exception type that takes no attributes: leave it untouched
            pass
        return
    if origin is module:
        return
    for path, sub in module.named_modules():
        if sub is origin:
            error.args = (f"{path} ({type(origin).__name__}): {error._ember_message}",)
            return
