"""Diagonals: diagonal (a view) and diagonal_scatter, diag, diag_embed, diagflat and fill_diagonal_."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._op import Op
from ._util import data_of, normalize_dim
from .inplace import apply_inplace
from .masked import masked_fill
from .shape import _view_of


def _diagonal_view(x: np.ndarray, offset: int, d1: int, d2: int) -> np.ndarray:
    """The diagonal of ``x`` over axes ``d1``, ``d2`` as a strided view (last axis), so that writes through
    it reach ``x``, as through torch's ``diagonal``."""
    moved = np.moveaxis(x, (d1, d2), (-2, -1))
    row, col = max(0, -offset), max(0, offset)
    length = max(0, min(moved.shape[-2] - row, moved.shape[-1] - col))
    corner = moved[..., row:, col:] if length else moved[..., :0, :0]
    return np.lib.stride_tricks.as_strided(corner, moved.shape[:-2] + (length,),
                                           moved.strides[:-2] + (moved.strides[-2] + moved.strides[-1],),
                                           writeable=x.flags.writeable)


class Diagonal(Op):
    @staticmethod
    def forward(ctx, a, offset, d1, d2):
        ctx.shape, ctx.args = a._data.shape, (offset, d1, d2)
        return _diagonal_view(a._data, offset, d1, d2)

    @staticmethod
    def backward(ctx, grad):
        # the gradient lands on the diagonal of zeros shaped like the input
        zeros = Tensor._wrap(np.zeros(ctx.shape, grad._data.dtype))
        return DiagonalScatter.apply(zeros, grad, *ctx.args), None, None, None


class DiagonalScatter(Op):
    """``input`` with its diagonal replaced by ``src`` (torch's ``diagonal_scatter``)."""

    @staticmethod
    def forward(ctx, a, src, offset, d1, d2):
        ctx.args = (offset, d1, d2)
        out = a._data.copy()
        _diagonal_view(out, offset, d1, d2)[...] = data_of(src)
        return out

    @staticmethod
    def backward(ctx, grad):
        ga = gs = None
        if ctx.needs_input_grad[0]:  # what the diagonal held is overwritten: no gradient there
            zeros = Tensor._wrap(np.zeros(_diagonal_view(grad._data, *ctx.args).shape, grad._data.dtype))
            ga = DiagonalScatter.apply(grad, zeros, *ctx.args)
        if ctx.needs_input_grad[1]:
            gs = Diagonal.apply(grad, *ctx.args)
        return ga, gs, None, None, None


def diagonal(input, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """The diagonal over ``dim1``, ``dim2`` as the last axis: a view, as in torch (``d.fill_(0)`` changes
    ``input``)."""
    ndim = input._data.ndim
    d1, d2 = normalize_dim(dim1, ndim, "diagonal"), normalize_dim(dim2, ndim, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return _view_of(Diagonal.apply(input, offset, d1, d2), input)


def diagonal_scatter(input, src, offset: int = 0, dim1: int = 0, dim2: int = 1):
    ndim = input._data.ndim
    d1, d2 = normalize_dim(dim1, ndim, "diagonal_scatter"), normalize_dim(dim2, ndim, "diagonal_scatter")
    expected = _diagonal_view(input._data, offset, d1, d2).shape
    if tuple(src.shape) != expected:
        raise RuntimeError(f"diagonal_scatter: expected src to have a size equal to the slice of self. "
                           f"src size = {list(src.shape)}, slice size = {list(expected)}")
    return DiagonalScatter.apply(input, src, offset, d1, d2)


# --- diagonal matrices ---------------------------------------------------------------------------
class DiagEmbed(Op):
    """A tensor whose diagonals over ``dim1``, ``dim2`` hold the last axis of the input, zeros elsewhere."""

    @staticmethod
    def forward(ctx, a, offset, d1, d2):
        ctx.args = (offset, d1, d2)
        x = a._data
        size = x.shape[-1] + abs(offset) if x.ndim else 1 + abs(offset)
        shape = list(x.shape[:-1])
        for d in sorted((d1, d2)):
            shape.insert(d, size)
        out = np.zeros(shape, x.dtype)
        _diagonal_view(out, offset, d1, d2)[...] = x
        return out

    @staticmethod
    def backward(ctx, grad):
        return Diagonal.apply(grad, *ctx.args), None, None, None


def diag_embed(input, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """Batched diagonal matrices: the last axis of ``input`` goes on the ``offset`` diagonal of the new
    dimensions ``dim1`` and ``dim2``."""
    ndim = input._data.ndim + 1
    d1, d2 = normalize_dim(dim1, ndim, "diag_embed"), normalize_dim(dim2, ndim, "diag_embed")
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return DiagEmbed.apply(input, offset, d1, d2)


def diag(input, diagonal: int = 0):
    """A 1-D input becomes the ``diagonal``-th diagonal of a square matrix; of a 2-D input, the
    ``diagonal``-th diagonal is taken (a copy)."""
    if input._data.ndim == 1:
        return DiagEmbed.apply(input, diagonal, 0, 1)
    if input._data.ndim == 2:
        return Diagonal.apply(input, diagonal, 0, 1) * 1  # a copy, as torch.diag's
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input._data.ndim}D")


def diagflat(input, offset: int = 0):
    """The flattened input on the ``offset`` diagonal of a square matrix."""
    return DiagEmbed.apply(input.reshape(-1), offset, 0, 1)


def fill_diagonal_(input, fill_value, wrap: bool = False):
    """Fills the main diagonal (of a matrix, or of a tensor whose dimensions are all equal) in place; a tall
    matrix's diagonal starts again below the square with ``wrap=True``."""
    return apply_inplace(input, _fill_diagonal, fill_value, wrap)


def _fill_diagonal(input, fill_value, wrap):
    x = input._data
    if x.ndim < 2:
        raise RuntimeError("dimensions must larger than 1")
    if x.ndim > 2 and len(set(x.shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    mask = np.zeros(x.shape, bool)
    if x.ndim == 2:
        rows, cols = x.shape
        step = cols + 1
        last = rows * cols if wrap else min(rows, cols) * cols
        mask.reshape(-1)[:last:step] = True
    else:
        mask[(np.arange(x.shape[0]),) * x.ndim] = True
    return masked_fill(input, Tensor._wrap(mask), fill_value)
