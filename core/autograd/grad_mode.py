"""Gradient recording switches: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

The switch is thread-local, like PyTorch's. Each class works as a context manager and
as a decorator.
"""

from __future__ import annotations

import functools

from .._grad_state import state


def is_grad_enabled() -> bool:
    """True when operations are recorded for autograd."""
    return state.grad_enabled


def is_inference_mode_enabled() -> bool:
    """True inside an ``inference_mode()`` block."""
    return state.inference


class _GradMode:
    """Base: subclasses set ``_mode``; usable as ``with`` block or as ``@decorator``."""

    _mode = True

    def __enter__(self):
        self._previous = state.grad_enabled
        state.grad_enabled = self._mode
        return self

    def __exit__(self, *exc):
        state.grad_enabled = self._previous
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return func(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Disables gradient recording inside the block or decorated function.

    Example:
        >>> import ember
        >>> x = ember.ones(2, requires_grad=True)
        >>> with ember.no_grad():
        ...     y = x * 2
        >>> y.requires_grad
        False
    """

    _mode = False


class enable_grad(_GradMode):
    """Enables gradient recording, e.g. inside a ``no_grad`` block."""

    _mode = True


class inference_mode(_GradMode):
    """Like ``no_grad`` (``inference_mode(False)`` leaves recording as it is)."""

    def __init__(self, mode: bool = True):
        self._enabled = mode

    def __enter__(self):
        self._previous = state.grad_enabled
        self._previous_inference = state.inference
        if self._enabled:
            state.grad_enabled = False
            state.inference = True
        return self

    def __exit__(self, *exc):
        state.grad_enabled = self._previous
        state.inference = self._previous_inference
        return False

    def __call__(self, func):
        enabled = self._enabled

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with inference_mode(enabled):
                return func(*args, **kwargs)

        return wrapper


class set_grad_enabled(_GradMode):
    """Sets recording on or off; takes effect immediately, and as a context manager restores it after."""

    def __init__(self, mode: bool):
        self._previous = state.grad_enabled
        self._mode = bool(mode)
        state.grad_enabled = self._mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        state.grad_enabled = self._previous
        return False

    def __call__(self, func):
        mode = self._mode
        state.grad_enabled = self._previous

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return func(*args, **kwargs)

        return wrapper
