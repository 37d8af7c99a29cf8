"""Shape and movement ops: views, reshapes and permutations, flips and rolls, atleast_Nd, as_strided_scatter.
Joining and splitting are in joining.py, repeat / meshgrid / tril_indices in construction.py, the in-place
shape methods (t_, squeeze_, resize_, ...) in inplace_views.py.

View ops share their input's version counter (an in-place change to either is seen
by both), as in PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

from .._numpy_names import dim_from_axis
from ..creation import shape_arg
from ..tensor import Tensor
from ._op import Op
from ._util import normalize_dim, normalize_dims
from .cast import Clone, to


def _as_view(out: Tensor, base: Tensor) -> Tensor:
    """Marks ``out`` as a view of ``base``: the version counter shared, ``_base`` the root tensor."""
    out._vc = base._vc
    out._base = base if base._base is None else base._base
    return out


def _view_of(out: Tensor, base: Tensor) -> Tensor:
    """Marks ``out`` as a view of ``base`` when numpy returned one (shared memory, shared version)."""
    root = out._data.base
    if root is not None and (root is base._data or root is base._data.base  # (the common cases, cheaply)
                             or np.may_share_memory(out._data, base._data)):
        _as_view(out, base)
    return out


class Reshape(Op):
    @staticmethod
    def forward(ctx, a, shape):
        ctx.shape = a._data.shape
        return a._data.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape), None


class Permute(Op):
    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return a._data.transpose(dims)

    @staticmethod
    def backward(ctx, grad):
        return grad.permute(tuple(np.argsort(ctx.dims))), None


def _broadcast(x: np.ndarray, shape: tuple) -> np.ndarray:
    """``np.broadcast_to(x, shape)``: a read-only view. For a C-contiguous array, built from its strides
    directly, a tenth of ``broadcast_to``'s cost (which dominated a small ``expand``)."""
    if type(x) is not np.ndarray or not x.flags.c_contiguous:
        return np.broadcast_to(x, shape)
    lead = len(shape) - x.ndim
    strides = (0,) * lead + tuple([0 if n == 1 else stride for n, stride in zip(x.shape, x.strides)])
    out = np.ndarray(shape, x.dtype, x, 0, strides)
    out.flags.writeable = False
    return out


class Expand(Op):
    @staticmethod
    def forward(ctx, a, shape):
        return _broadcast(a._data, shape)

    @staticmethod
    def backward(ctx, grad):
        return grad, None  # the engine sums the gradient back to the input's shape


class Slice(Op):
    """Basic indexing (ints, slices, None, Ellipsis): a view; its gradient scatters into zeros."""

    @staticmethod
    def forward(ctx, a, index):
        ctx.shape, ctx.index = a._data.shape, index
        out = a._data[index]
        if not isinstance(out, np.ndarray):  # every axis taken by an int: numpy's scalar is a copy, where
            ints = index if isinstance(index, tuple) else (index,)  # torch gives a view (x[0].fill_(5))
            out = a._data[tuple(i for i in ints if i is not Ellipsis) + (Ellipsis,)]  # a 0-d view
        return out

    @staticmethod
    def backward(ctx, grad):
        return _SliceBackward.apply(grad, ctx.shape, ctx.index), None


class _SliceBackward(Op):
    @staticmethod
    def forward(ctx, grad, shape, index):
        ctx.index = index
        out = np.zeros(shape, grad._data.dtype)
        out[index] = grad._data
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.index], None, None


class Flip(Op):
    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        return np.flip(a._data, dims).copy()

    @staticmethod
    def backward(ctx, grad):
        return grad.flip(ctx.dims), None


class Roll(Op):
    @staticmethod
    def forward(ctx, a, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return np.roll(a._data, shifts, dims)

    @staticmethod
    def backward(ctx, grad):
        negative = tuple(-s for s in ctx.shifts) if isinstance(ctx.shifts, tuple) else -ctx.shifts
        return grad.roll(negative, ctx.dims), None, None


class Triangle(Op):
    @staticmethod
    def forward(ctx, a, diagonal, upper):
        ctx.diagonal, ctx.upper = diagonal, upper
        return (np.triu if upper else np.tril)(a._data, diagonal)

    @staticmethod
    def backward(ctx, grad):
        return (triu if ctx.upper else tril)(grad, ctx.diagonal), None, None


# --- functional forms -----------------------------------------------------------------
def _infer_shape(shape: tuple, numel: int, op: str, input_shape) -> tuple:
    """``shape`` (a tuple of ints) with its -1 inferred, checked against ``numel`` elements."""
    if -1 in shape:
        if shape.count(-1) > 1:
            raise RuntimeError(f"{op}: only one dimension can be inferred")
        known = math.prod(s for s in shape if s != -1)
        if known == 0 or numel % known:
            raise RuntimeError(f"{op}: shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    if math.prod(shape) != numel:
        raise RuntimeError(
            f"{op}: shape '{list(shape)}' is invalid for input of size {numel} (input shape {tuple(input_shape)})"
        )
    return shape


def reshape(input, *shape):
    return _reshaped(input, _infer_shape(shape_arg(shape), input._data.size, "reshape", input._data.shape))


def _reshaped(input, shape: tuple):
    """``input`` reshaped to ``shape`` (valid, nothing to infer): a view of it where numpy gives one."""
    if shape == input._data.shape and not input._requires_grad:
        return input
    return _view_of(Reshape.apply(input, shape), input)


def view(input, *shape):
    """Like ``reshape``, but never copies: a non-contiguous input raises, as in PyTorch."""
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, int)):
        return to(input, shape[0])  # view(dtype) is not supported as a reinterpretation; treat as cast
    shape = _infer_shape(shape_arg(shape), input._data.size, "view", input._data.shape)
    out = Reshape.apply(input, shape)
    if input._data.size and out._data.size and not np.may_share_memory(out._data, input._data):
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one dimension spans "
            "across two contiguous subspaces). Use .reshape(...) instead."
        )
    return _view_of(out, input)


def view_as(input, other):
    return view(input, other.shape)


def reshape_as(input, other):
    return reshape(input, other.shape)


def flatten(input, start_dim: int = 0, end_dim: int = -1):
    ndim = input._data.ndim
    if ndim == 0:
        return reshape(input, (1,))
    start = normalize_dim(start_dim, ndim, "flatten")
    end = normalize_dim(end_dim, ndim, "flatten")
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = input._data.shape
    return reshape(input, shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])


def unflatten(input, dim: int | None = None, sizes=None, *, axis=None):
    if axis is not None or sizes is None or dim is None:
        dim = dim_from_axis("unflatten", dim, axis, sizes=sizes)
    dim = normalize_dim(dim, input._data.ndim, "unflatten")
    shape = input._data.shape
    sizes = _infer_shape(shape_arg((sizes,)), shape[dim], "unflatten", shape)
    return reshape(input, shape[:dim] + tuple(sizes) + shape[dim + 1:])


def permute(input, *dims):
    dims = shape_arg(dims)
    if len(dims) != input._data.ndim:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the length of the "
            f"desired ordering of dimensions i.e. input.dim() = {input._data.ndim} is not equal to len(dims) = {len(dims)}"
        )
    dims = tuple(normalize_dim(d, input._data.ndim, "permute") for d in dims)
    return _view_of(Permute.apply(input, dims), input)


def transpose(input, dim0: int, dim1: int):
    ndim = input._data.ndim
    if ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return input
    d0, d1 = normalize_dim(dim0, ndim, "transpose"), normalize_dim(dim1, ndim, "transpose")
    dims = list(range(ndim))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return _view_of(Permute.apply(input, tuple(dims)), input)


swapaxes = swapdims = transpose


def t(input):
    if input._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {input._data.ndim}D")
    return transpose(input, 0, -1) if input._data.ndim == 2 else input


def _T(input):
    return permute(input, tuple(range(input._data.ndim - 1, -1, -1)))


def _mT(input):
    if input._data.ndim < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor.")
    return transpose(input, -2, -1)


def squeeze(input, dim=None, *, axis=None):
    if axis is not None:
        dim = dim_from_axis("squeeze", dim, axis)
    shape = input._data.shape
    if dim is None:
        axes = tuple(i for i, n in enumerate(shape) if n == 1)
    else:
        axes = tuple(d for d in normalize_dims(dim, input._data.ndim, "squeeze") if input._data.ndim and shape[d] == 1)
    if not axes:
        return input
    return _reshaped(input, tuple([n for i, n in enumerate(shape) if i not in axes]))


def unsqueeze(input, dim: int | None = None, *, axis=None):
    if dim is None or axis is not None:
        dim = dim_from_axis("unsqueeze", dim, axis)
    ndim = input._data.ndim + 1
    d = normalize_dim(dim, ndim, "unsqueeze")
    shape = input._data.shape
    return _reshaped(input, shape[:d] + (1,) + shape[d:])


def expand(input, *sizes):
    sizes = shape_arg(sizes)
    shape = input._data.shape
    if sizes == shape:
        return input
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal to the number of "
            f"dimensions in the tensor ({len(shape)})"
        )
    full = (1,) * (len(sizes) - len(shape)) + shape
    target = tuple([f if s == -1 else s for s, f in zip(sizes, full)]) if -1 in sizes else sizes
    for s, f in zip(target, full):
        if f != 1 and s != f:
            raise RuntimeError(
                f"expand: the expanded size of the tensor ({s}) must match the existing size ({f}) at a "
                f"non-singleton dimension. Target sizes: {list(sizes)}. Tensor sizes: {list(shape)}"
            )
    if target == shape:
        return input
    return _as_view(Expand.apply(input, target), input)  # a view of the input's memory, always


def expand_as(input, other):
    return expand(input, other.shape)


def broadcast_to(input, shape):
    return expand(input, tuple(shape))


def broadcast_tensors(*tensors):
    shape = np.broadcast_shapes(*(t.shape for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


def narrow(input, dim: int | None = None, start: int | None = None, length: int | None = None, *, axis=None):
    if axis is not None or length is None or dim is None:
        dim = dim_from_axis("narrow", dim, axis, start=start, length=length)
    dim = normalize_dim(dim, input._data.ndim, "narrow")
    start = int(start)
    if start < 0:
        start += input._data.shape[dim]
    if start + length > input._data.shape[dim] or length < 0:
        raise RuntimeError(
            f"narrow: start ({start}) + length ({length}) exceeds dimension size ({input._data.shape[dim]})."
        )
    index = (slice(None),) * dim + (slice(start, start + length),)
    return _view_of(Slice.apply(input, index), input)


def flip(input, *dims):
    dims = normalize_dims(shape_arg(dims), input._data.ndim, "flip")
    return Flip.apply(input, dims)


def fliplr(input):
    return flip(input, 1)


def flipud(input):
    return flip(input, 0)


def roll(input, shifts, dims=None):
    if dims is None:
        flat = flatten(input)
        return Roll.apply(flat, shifts, None).reshape(input.shape)
    if isinstance(shifts, (list, tuple)):
        shifts = tuple(int(s) for s in shifts)
        dims = tuple(normalize_dim(d, input._data.ndim, "roll") for d in dims)
    else:
        shifts, dims = int(shifts), normalize_dim(dims if isinstance(dims, int) else dims[0], input._data.ndim, "roll")
    return Roll.apply(input, shifts, dims)


def tril(input, diagonal: int = 0):
    return Triangle.apply(input, diagonal, False)


def triu(input, diagonal: int = 0):
    return Triangle.apply(input, diagonal, True)


def contiguous(input, memory_format=None):
    if input._data.flags.c_contiguous:
        return input
    return Clone.apply(input)


def movedim(input, source, destination):
    ndim = input._data.ndim
    source = [source] if isinstance(source, int) else list(source)
    destination = [destination] if isinstance(destination, int) else list(destination)
    source = [normalize_dim(s, ndim, "movedim") for s in source]
    destination = [normalize_dim(d, ndim, "movedim") for d in destination]
    order = [d for d in range(ndim) if d not in source]
    for dst, src in sorted(zip(destination, source)):
        order.insert(dst, src)
    return permute(input, tuple(order))


moveaxis = movedim




def ravel(input):
    """The elements as a 1-D tensor (a view when the input is contiguous)."""
    return reshape(input, (-1,))


def narrow_copy(input, dim: int | None = None, start: int | None = None, length: int | None = None, *,
                axis=None):
    """``narrow`` as a new tensor rather than a view."""
    if axis is not None or length is None or dim is None:
        dim = dim_from_axis("narrow_copy", dim, axis, start=start, length=length)
    return Clone.apply(narrow(input, dim, start, length))


def rot90(input, k: int = 1, dims=(0, 1)):
    """Rotates by 90 degrees ``k`` times in the plane of ``dims``, from the first axis towards the second."""
    dims = list(dims)
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    ndim = input._data.ndim
    if ndim < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {ndim}")
    d0, d1 = normalize_dim(dims[0], ndim, "rot90"), normalize_dim(dims[1], ndim, "rot90")
    if d0 == d1:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {d0} and dim1 = {d1}")
    k %= 4
    if k == 1:
        return transpose(flip(input, d1), d0, d1)
    if k == 2:
        return flip(input, d0, d1)
    if k == 3:
        return transpose(flip(input, d0), d0, d1)
    return Clone.apply(input)


# --- sliding windows: Tensor.unfold, and the framing the STFT and the audio functions use -------------
def frame_array(x: np.ndarray, size: int, hop: int) -> np.ndarray:
    """``x[..., t * hop : t * hop + size]`` stacked over ``t``: a strided view, no copy."""
    return np.lib.stride_tricks.sliding_window_view(x, size, axis=-1)[..., ::hop, :]


def overlap_add_array(frames: np.ndarray, hop: int, length: int) -> np.ndarray:
    """Frames ``(..., n_frames, size)`` added into ``(..., length)`` at every ``hop`` samples."""
    n_frames, size = frames.shape[-2:]
    lead = frames.shape[:-2]
    out = np.zeros(lead + (length,), dtype=frames.dtype)
    # frames r = ceil(size / hop) apart do not overlap: each residue class is one reshape and one add
    r = -(-size // hop)
    for j in range(min(r, n_frames)):
        group = frames[..., j::r, :]
        count = group.shape[-2]
        if r * hop > size:
            padded = np.zeros(lead + (count, r * hop), dtype=frames.dtype)
            padded[..., :size] = group
            group = padded
        flat = group.reshape(lead + (count * r * hop,))
        start = j * hop
        stop = min(start + flat.shape[-1], length)
        out[..., start:stop] += flat[..., : stop - start]
    return out


class Frames(Op):
    """``(..., L)`` -> ``(..., n_frames, size)``, frame ``t`` = ``x[..., t * hop : t * hop + size]``."""

    @staticmethod
    def forward(ctx, x, size, hop):
        ctx.hop, ctx.length = hop, x._data.shape[-1]
        return np.ascontiguousarray(frame_array(x._data, size, hop))

    @staticmethod
    def backward(ctx, grad):
        return OverlapAdd.apply(grad, ctx.hop, ctx.length), None, None


class OverlapAdd(Op):
    """The adjoint of ``Frames``: frames ``(..., n_frames, size)`` summed into ``(..., length)``."""

    @staticmethod
    def forward(ctx, frames, hop, length):
        ctx.size, ctx.hop = frames._data.shape[-1], hop
        return overlap_add_array(frames._data, hop, length)

    @staticmethod
    def backward(ctx, grad):
        return Frames.apply(grad, ctx.size, ctx.hop), None, None


def unfold(input, dimension: int, size: int, step: int):
    """Every slice of ``size`` elements along ``dimension``, ``step`` apart, as a new last axis
    (``Tensor.unfold``: sliding windows). A copy, where torch returns a view."""
    dim = normalize_dim(dimension, input._data.ndim, "unfold")
    length = input._data.shape[dim] if input._data.ndim else 1
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {dim} is {length} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if input._data.ndim == 0:
        return reshape(input, (1,))
    windows = Frames.apply(movedim(input, dim, -1), size, step)  # (..., count, size)
    return movedim(windows, -2, dim)


# --- numpy-style joins and splits ------------------------------------------------------------------
def _atleast(tensors, ndim):
    """One tensor in, one out; several (or a list) give a tuple, as torch's ``atleast_*d``."""
    as_sequence = len(tensors) == 1 and isinstance(tensors[0], (list, tuple))
    items = tuple(tensors[0]) if as_sequence else tensors
    out = tuple(_with_dims(t, ndim) for t in items)
    return out[0] if len(out) == 1 and not as_sequence else out


def _with_dims(t, ndim):
    shape = tuple(t._data.shape)
    if len(shape) >= ndim:
        return t
    if ndim == 3 and len(shape) == 2:
        return reshape(t, shape + (1,))  # (M, N) -> (M, N, 1), as numpy
    if ndim == 3 and len(shape) == 1:
        return reshape(t, (1,) + shape + (1,))  # (N,) -> (1, N, 1)
    return reshape(t, (1,) * (ndim - len(shape)) + shape)


def atleast_1d(*tensors):
    """Each tensor with at least one dimension."""
    return _atleast(tensors, 1)


def atleast_2d(*tensors):
    """Each tensor with at least two dimensions (a 1-D tensor becomes a row)."""
    return _atleast(tensors, 2)


def atleast_3d(*tensors):
    """Each tensor with at least three dimensions (``(N,)`` -> ``(1, N, 1)``, ``(M, N)`` -> ``(M, N, 1)``)."""
    return _atleast(tensors, 3)


# --- as_strided_scatter (ember.as_strided itself, a view, is in _toplevel.py) --------------------------
def _storage_positions(input, size, stride, storage_offset):
    """The flat positions in the tensor's memory (its base's, for a view) that ``as_strided`` reads, and that
    memory as a flat array (torch's storage)."""
    base = input._base if input._base is not None else input
    storage = np.ascontiguousarray(base._data).reshape(-1)
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape: {len(size)} sizes, {len(stride)} strides")
    if storage_offset is None:  # where the tensor starts in its memory
        storage_offset = (input._data.__array_interface__["data"][0]
                          - base._data.__array_interface__["data"][0]) // max(input._data.itemsize, 1)
    positions = np.full(size, int(storage_offset), np.int64)
    for axis, (n, s) in enumerate(zip(size, stride)):
        positions += (np.arange(n, dtype=np.int64) * s).reshape([-1 if d == axis else 1 for d in range(len(size))])
    needed = int(positions.max()) + 1 if positions.size else 0
    if needed > storage.size:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {storage_offset}, "
                           f"and itemsize {input._data.itemsize} requiring a storage size of "
                           f"{needed * input._data.itemsize} are out of bounds for storage of size "
                           f"{storage.size * input._data.itemsize}")
    return positions, storage, base


def as_strided_scatter(input, src, size, stride, storage_offset=None):
    """``input`` with the elements ``as_strided(size, stride, storage_offset)`` would read replaced by ``src``."""
    if input._base is not None:
        input = Clone.apply(input)  # a tensor of its own: its memory is its elements, in order
    positions, _, _ = _storage_positions(input, size, stride, storage_offset)
    if tuple(src.shape) != tuple(positions.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                           f"slice size = {list(positions.shape)}")
    return reshape(reshape(input, (-1,)).index_put((Tensor._wrap(positions),), src), input.shape)
