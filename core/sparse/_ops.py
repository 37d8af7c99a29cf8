"""The differentiable ops of sparse COO tensors, an ``Op`` per op with forward and backward side by side.

An op whose result is sparse is recorded on its values: the function works out the result's ``COO``
(indices, values, shape) with numpy first, the ``Op``'s ``forward`` hands back those values, and
``sparse_result`` wraps them with the op's node as ``grad_fn``. The gradient reaching such a node has the
result's full shape, dense or sparse; ``gather`` reads it at the result's indices. The gradient an op returns
for a sparse input is sparse, on that input's coalesced pattern (torch's rule); for a dense input, dense.
The backwards compute on arrays (scipy's products among them), so they are once differentiable: a second
derivative through them raises instead of coming out silently wrong.
"""

from __future__ import annotations

import numpy as np

from .._sparse_tensor import COO, SparseTensor
from ..autograd.function import once_differentiable
from ..ops._op import Op
from ..tensor import Tensor


def sparse_result(values: Tensor, coo: COO) -> SparseTensor:
    """The sparse tensor holding ``coo`` whose values ``values`` are (with their graph, if any)."""
    return SparseTensor._wrap(COO(coo.indices, values._data, coo.shape, coo.coalesced), values._requires_grad,
                              values.grad_fn, 0)


def gather(grad: Tensor, coo: COO) -> np.ndarray:
    """The gradient ``grad`` (full shape, dense or sparse) at each entry of ``coo``: ``(nnz, *dense_shape)``."""
    if not isinstance(grad, SparseTensor):
        return grad._data[tuple(coo.indices)]
    source = grad._data.coalesce()
    out = np.zeros((coo.nnz,) + source.values.shape[1:], source.dtype)
    if source.nnz and coo.nnz:
        keys, wanted = source.linear(), coo.linear()
        position = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
        hit = keys[position] == wanted
        out[hit] = source.values[position[hit]]
    return out


def masked(grad: Tensor, coo: COO, scale=None) -> SparseTensor:
    """``grad`` on the coalesced pattern of ``coo`` (times ``scale``): the gradient of a sparse input."""
    pattern = coo.coalesce()
    values = gather(grad, pattern)
    if scale is not None:
        values = values * scale
    return SparseTensor._wrap(COO(pattern.indices, values.astype(coo.dtype, copy=False), coo.shape, True))


def dense_of(grad: Tensor) -> np.ndarray:
    return grad._data.to_dense() if isinstance(grad, SparseTensor) else grad._data


class SparseCooTensorWithDimsAndTensors(Op):
    """values -> the sparse tensor made of them; each value's gradient is the gradient at its index."""

    @staticmethod
    def forward(ctx, values, coo):
        ctx.coo = coo
        return coo.values

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        return Tensor._wrap(gather(grad, ctx.coo)), None


class ToDense(Op):
    """The dense tensor; its gradient is sparse on the input's pattern (``to_dense``) or dense (inside
    ``dense + sparse``, as torch)."""

    @staticmethod
    def forward(ctx, sparse, dense_grad=False):
        ctx.coo, ctx.dense_grad = sparse._data, dense_grad
        return sparse._data.to_dense()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        return (Tensor._wrap(dense_of(grad)) if ctx.dense_grad else masked(grad, ctx.coo)), None


class ToSparse(Op):
    @staticmethod
    def forward(ctx, dense, coo):
        return coo.values

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        return Tensor._wrap(dense_of(grad)), None


class SparseMask(Op):
    """A dense tensor read at a sparse mask's indices; the gradient adds back at those indices."""

    @staticmethod
    def forward(ctx, dense, out):
        ctx.out = out
        return out.values

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        out = ctx.out
        g = np.zeros(out.shape, out.dtype)
        np.add.at(g, tuple(out.indices), gather(grad, out))
        return Tensor._wrap(g), None


class SparseValues(Op):
    """``values()`` of a coalesced sparse tensor, differentiable (``_values()`` is not)."""

    @staticmethod
    def forward(ctx, sparse):
        ctx.coo = sparse._data
        return sparse._data.values

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        coo = ctx.coo
        return SparseTensor._wrap(COO(coo.indices, grad._data, coo.shape, coo.coalesced))

    def name(self) -> str:
        return "ValuesBackward"


class SparseReshape(Op):
    """A result with new values from the input's pattern: coalesce, scale by a number, cast, clone.

    ``scale`` multiplies the values (None: 1); the gradient is the result's, on the input's pattern."""

    @staticmethod
    def forward(ctx, sparse, out, scale, op_name):
        ctx.coo, ctx.out, ctx.scale, ctx.op_name = sparse._data, out, scale, op_name
        return out.values

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        return masked(grad, ctx.coo, ctx.scale), None, None, None

    def name(self) -> str:  # CoalesceBackward, MulBackward, ... as torch names them
        return self.op_name + "Backward"


class SparseAdd(Op):
    """sparse + alpha * sparse: the result holds both tensors' entries."""

    @staticmethod
    def forward(ctx, a, b, out, alpha):
        ctx.coos, ctx.alpha = (a._data, b._data), alpha
        return out.values

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        a, b = ctx.coos
        return masked(grad, a), masked(grad, b, None if ctx.alpha == 1 else ctx.alpha), None, None

    def name(self) -> str:
        return "AddBackward"


class SparseTranspose(Op):
    @staticmethod
    def forward(ctx, sparse, out, dims):
        ctx.dims = dims
        return out.values

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        d0, d1 = ctx.dims
        if isinstance(grad, SparseTensor):
            coo = grad._data
            indices = coo.indices.copy()
            indices[[d0, d1]] = indices[[d1, d0]]
            shape = list(coo.shape)
            shape[d0], shape[d1] = shape[d1], shape[d0]
            return SparseTensor._wrap(COO(indices, coo.values, tuple(shape), False)), None, None
        return Tensor._wrap(np.swapaxes(grad._data, d0, d1)), None, None

    def name(self) -> str:
        return "TransposeBackward"


class SparseSum(Op):
    """Sum over some dimensions; ``keep`` maps each input entry (coalesced) to its result entry."""

    @staticmethod
    def forward(ctx, sparse, pattern, keep, dense_axes, out_values, out_coo, dense_grad=False):
        ctx.pattern, ctx.keep, ctx.dense_axes, ctx.out_coo = pattern, keep, dense_axes, out_coo
        ctx.dense_grad = dense_grad  # ``Tensor.sum()`` of a sparse tensor: a dense gradient, as torch's
        return out_values

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        pattern = ctx.pattern
        if ctx.out_coo is not None:  # a sparse result: read its gradient at each input entry's result entry
            g = gather(grad, ctx.out_coo)[ctx.keep]
        else:  # a dense result over the dense dimensions left: the same for every entry
            g = np.broadcast_to(dense_of(grad), (pattern.nnz,) + np.shape(dense_of(grad)))
        for axis in ctx.dense_axes:  # a summed dense dimension: broadcast back
            g = np.expand_dims(g, axis)
        g = np.broadcast_to(g, pattern.values.shape).astype(pattern.dtype)
        result = SparseTensor._wrap(COO(pattern.indices, np.ascontiguousarray(g), pattern.shape, True))
        if ctx.dense_grad:
            result = Tensor._wrap(np.broadcast_to(dense_of(grad), pattern.shape).astype(pattern.dtype))
        return result, None, None, None, None, None, None


class SparseSoftmax(Op):
    """Softmax over the specified entries of each slice along a sparse dimension (absent entries are -inf)."""

    @staticmethod
    def forward(ctx, sparse, pattern, groups, log):
        values = pattern.values
        peak = np.full(groups.max() + 1 if groups.size else 0, -np.inf, values.dtype)
        np.maximum.at(peak, groups, values)
        shifted = values - peak[groups]
        total = np.zeros_like(peak)
        np.add.at(total, groups, np.exp(shifted))
        out = shifted - np.log(total)[groups] if log else np.exp(shifted) / total[groups]
        ctx.pattern, ctx.groups, ctx.log, ctx.out = pattern, groups, log, out
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        g, y, groups = gather(grad, ctx.pattern), ctx.out, ctx.groups
        total = np.zeros(groups.max() + 1 if groups.size else 0, y.dtype)
        if ctx.log:  # d log_softmax: g - softmax * sum(g)
            np.add.at(total, groups, g)
            dx = g - np.exp(y) * total[groups]
        else:  # d softmax: y * (g - sum(g * y))
            np.add.at(total, groups, g * y)
            dx = y * (g - total[groups])
        pattern = ctx.pattern
        return SparseTensor._wrap(COO(pattern.indices, dx, pattern.shape, True)), None, None, None

    def name(self) -> str:
        return "SparseLogSoftmaxBackward" if self.log else "SparseSoftmaxBackward"


def csr(coo: COO):
    """``coo`` (2-D, no dense dimensions) as a scipy CSR matrix (repeated entries summed)."""
    import scipy.sparse  # lazy: heavy

    return scipy.sparse.csr_matrix((coo.values, (coo.indices[0], coo.indices[1])), shape=coo.shape)


class SparseMM(Op):
    """sparse (n, m) @ dense (m, p) -> dense (n, p), by scipy's CSR product.

    d dense = S^T G; d S = G D^T, dense (``mm``, ``@``, ``spmm``) or on S's pattern (``ember.sparse.mm``)."""

    @staticmethod
    def forward(ctx, sparse, dense, sparse_grad):
        matrix = csr(sparse._data)
        ctx.coo, ctx.matrix, ctx.sparse_grad = sparse._data, matrix, sparse_grad
        ctx.save_for_backward(dense)
        return np.asarray(matrix @ dense._data, dtype=dense._data.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        (dense,) = ctx.saved_tensors
        g = dense_of(grad)
        grad_sparse = grad_dense = None
        if ctx.needs_input_grad[0]:
            if ctx.sparse_grad:
                pattern = ctx.coo.coalesce()
                rows, cols = pattern.indices
                values = np.einsum("ij,ij->i", g[rows], dense._data[cols]).astype(pattern.dtype)
                grad_sparse = SparseTensor._wrap(COO(pattern.indices, values, pattern.shape, True))
            else:
                grad_sparse = Tensor._wrap(g @ dense._data.T)
        if ctx.needs_input_grad[1]:
            grad_dense = Tensor._wrap(np.asarray(ctx.matrix.T @ g, dtype=g.dtype))
        return grad_sparse, grad_dense, None

    def name(self) -> str:
        return "SparseAddmmBackward" if self.sparse_grad else "MmBackward"
