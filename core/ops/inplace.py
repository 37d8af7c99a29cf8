"""One mechanism for every in-place op (``add_``, ``mul_``, ``__setitem__``, ``x += y``, ...).

The result is computed by the out-of-place op and written into the tensor's own
array, and the tensor's version counter is bumped, so a backward that needs the old
value raises PyTorch's error instead of using the new one. When gradients are being
recorded the tensor's history is rebased onto the op (its old value is kept as a copy).
"""

from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import state
from ..tensor import Tensor


def apply_inplace(self: Tensor, fn, *args, **kwargs) -> Tensor:
    recording = state.grad_enabled and (
        self._requires_grad or any(isinstance(a, Tensor) and a._requires_grad for a in args)
    )
    if recording:
        if self.grad_fn is None and self._requires_grad:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation. "
                "Wrap it in `with ember.no_grad():` if you mean to change its value."
            )
        if self._base is not None and self._base._requires_grad:
            raise RuntimeError(
                "in-place modification of a view of a tensor that requires grad is not supported by Ember's "
                "autograd; modify the base tensor, or use an out-of-place op (where, index_put, cat)"
            )
        old = Tensor._wrap(self.data.copy(), self._requires_grad, self.grad_fn, self._output_nr)
        result = fn(old, *args, **kwargs)
    else:
        result = fn(self, *args, **kwargs)
    _write(self, result.data, fn)
    if recording:
        self.grad_fn, self._output_nr, self._requires_grad = result.grad_fn, result._output_nr, result._requires_grad
    self._vc[0] += 1
    return self


def _write(self: Tensor, values: np.ndarray, fn) -> None:
    if values.shape != self.data.shape:
        raise RuntimeError(
            f"output with shape {list(self.data.shape)} doesn't match the broadcast shape {list(values.shape)}"
        )
    if values.dtype != self.data.dtype and not np.can_cast(values.dtype, self.data.dtype, "same_kind"):
        from .._dtype import from_numpy_dtype

        raise RuntimeError(
            f"result type {from_numpy_dtype(values.dtype)} can't be cast to the desired output type "
            f"{from_numpy_dtype(self.data.dtype)}"
        )
    if values is not self.data:
        np.copyto(self.data, values, casting="unsafe")


def inplace(fn, name: str):
    """Makes the in-place method (``add_``) of an out-of-place function (``add``)."""

    def method(self, *args, **kwargs):
        return apply_inplace(self, fn, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"In-place version of ``{fn.__name__}``."
    return method
