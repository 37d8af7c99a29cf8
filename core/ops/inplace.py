"""One mechanism for every in-place op (``add_``, ``mul_``, ``__setitem__``, ``x += y``, ...).

The result is computed by the out-of-place op and written into the tensor's own
array, and the tensor's version counter is bumped, so a backward that needs the old
value raises PyTorch's error instead of using the new one. When gradients are being
recorded the tensor's history is rebased onto the op (its old value is kept as a copy).
"""

from __future__ import annotations

import numpy as np

from .._device import is_meta_array
from .._dtype import from_numpy_dtype
from ..autograd import forward_ad
from ..autograd.grad_mode import state
from ..tensor import Tensor
from .complex_ops import real_parts, view_as_complex, view_as_real


def apply_inplace(self: Tensor, fn, *args, **kwargs) -> Tensor:
    if is_meta_array(self._data):  # a meta tensor has no values to change (init on the meta device)
        self._vc[0] += 1
        return self
    recording = state.grad_enabled and (
        self._requires_grad or any(isinstance(a, Tensor) and a._requires_grad for a in args)
        or (kwargs and any(isinstance(a, Tensor) and a._requires_grad for a in kwargs.values()))
    )
    if recording and self._base is not None:
        return _apply_on_view(self, fn, args, kwargs)
    if recording:
        if self.grad_fn is None and self._requires_grad:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation. "
                "Wrap it in `with ember.no_grad():` if you mean to change its value."
            )
        old = Tensor._wrap(self._data.copy(), self._requires_grad, self.grad_fn, self._output_nr)
        result = fn(old, *args, **kwargs)
    else:
        result = fn(self, *args, **kwargs)
    _write(self, result._data, fn)
    if forward_ad._level is not None:  # a dual tensor's tangent follows its values
        forward_ad.written_in_place(self, result)
    if recording:
        self.grad_fn, self._output_nr, self._requires_grad = result.grad_fn, result._output_nr, result._requires_grad
    self._vc[0] += 1
    return self


def _apply_on_view(view: Tensor, fn, args, kwargs) -> Tensor:
    """An in-place op on a view (``y[:, :2] += 1``, ``y.diagonal().zero_()``) while recording: as torch's
    CopySlices, the *base* is rebased onto "the old base with the view's elements replaced by the op's
    result", and the view onto its elements of the new base, so gradients reach the base's history,
    the op's other inputs and every later use of either. (The view's elements are read and written with
    Tensor methods, ``[]`` and ``index_put``: ops.index builds ``__setitem__`` on this module.)"""
    base = view._base
    if base.grad_fn is None and base._requires_grad:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place operation. "
            "Wrap it in `with ember.no_grad():` if you mean to change its value."
        )
    # Elements are matched as reals: a complex tensor as its view_as_real, so that the real views of a
    # complex tensor (``z.real``, ``view_as_real(z)``) and the complex view of a real one map one to one.
    base_parts = real_parts(base._data)
    positions = _positions_in_base(real_parts(view._data), base_parts)
    old_base = Tensor._wrap(base._data.copy(), base._requires_grad, base.grad_fn, base._output_nr)
    old_flat = _as_real(old_base).reshape(-1)
    where = Tensor._wrap(positions)
    result = fn(_like(old_flat[where], view), *args, **kwargs)
    _write(view, result._data, fn)
    if result._data.dtype != view._data.dtype:  # (the view keeps its dtype, as the write above)
        result = result.to(from_numpy_dtype(view._data.dtype))
    new_flat = old_flat.index_put((where,), _as_real(result))
    new_base = _like(new_flat.reshape(base_parts.shape), base)
    base.grad_fn, base._output_nr, base._requires_grad = new_base.grad_fn, new_base._output_nr, True
    new_view = _like(new_flat[where], view)
    view.grad_fn, view._output_nr, view._requires_grad = new_view.grad_fn, new_view._output_nr, True
    view._vc[0] += 1  # shared with the base
    return view


def _as_real(t: Tensor) -> Tensor:
    return view_as_real(t) if t._data.dtype.kind == "c" else t


def _like(parts: Tensor, like: Tensor) -> Tensor:
    """``parts`` (reals, as ``_as_real`` gives) as a tensor of ``like``'s kind: complex again if it is."""
    return view_as_complex(parts) if like._data.dtype.kind == "c" else parts


def _positions_in_base(view: np.ndarray, base: np.ndarray) -> np.ndarray:
    """For each element of ``view`` (an array sharing ``base``'s memory), its index in ``base.reshape(-1)``,
    found from the two arrays' strides and data pointers."""
    item = base.itemsize

    def offsets(a: np.ndarray, start: int) -> np.ndarray:  # each element's distance from base's first, in items
        grids = np.indices(a.shape, sparse=True)
        return start + sum((g * (s // item) for g, s in zip(grids, a.strides)), np.zeros(a.shape, np.int64))

    base_offsets = offsets(base, 0)
    view_offsets = offsets(view, (view.ctypes.data - base.ctypes.data) // item)
    low = base_offsets.min(initial=0)
    table = np.full(base_offsets.max(initial=0) - low + 1, -1, np.int64)
    table[(base_offsets - low).reshape(-1)] = np.arange(base.size)
    inside = (view_offsets >= low) & (view_offsets - low < table.size)
    positions = np.where(inside, table[np.clip(view_offsets - low, 0, table.size - 1)], -1)
    if (positions < 0).any() or len(np.unique(positions)) != positions.size:
        raise RuntimeError(
            "in-place modification of this view of a tensor that requires grad is not supported: its "
            "elements do not map one to one onto the base's; use an out-of-place op (where, index_put, cat)"
        )
    return positions


def _write(self: Tensor, values: np.ndarray, fn) -> None:
    if values.shape != self._data.shape:
        raise RuntimeError(
            f"output with shape {list(self._data.shape)} doesn't match the broadcast shape {list(values.shape)}"
        )
    if values.dtype != self._data.dtype and not np.can_cast(values.dtype, self._data.dtype, "same_kind"):
        raise RuntimeError(
            f"result type {from_numpy_dtype(values.dtype)} can't be cast to the desired output type "
            f"{from_numpy_dtype(self._data.dtype)}"
        )
    if values is not self._data:
        np.copyto(self._data, values, casting="unsafe")


def inplace(fn, name: str):
    """Makes the in-place method (``add_``) of an out-of-place function (``add``)."""

    def method(self, *args, **kwargs):
        return apply_inplace(self, fn, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"In-place version of ``{fn.__name__}``."
    return method
