"""``ember.linalg``: torch.linalg's functions, with its names, batching and gradients.

Every function takes a matrix or a batch of matrices (leading axes are batch axes) of float32 or float64.
Singular or non-positive-definite input raises ``LinAlgError`` (a ``RuntimeError``), except in the
``*_ex`` variants, which return an ``info`` tensor instead.

Example:
    >>> import ember
    >>> A = ember.tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
    >>> ember.linalg.det(A)
    tensor(5., grad_fn=<DetBackward>)
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from ._numpy_names import dim_from_axis, numpy_names
from .creation import ones_like
from .ops import decomposition as _decomposition
from .ops import spectral as _spectral
from .ops._linalg_common import LinAlgError, check_float, check_matrix
from .ops.arithmetic import where
from .ops.complex_ops import conj
from .ops.decomposition import (
    cholesky_ex,
    householder_product,
    ldl_factor,
    ldl_factor_ex,
    ldl_solve,
    lu_factor,
    lu_factor_ex,
)
from .ops.joining import stack
from .ops.linalg import _cross, matmul
from .ops.matrix_functions import det, matrix_exp, matrix_power, matrix_rank, slogdet
from .ops.reduce import amax, amin
from .ops.reduce import norm as _vector_norm_impl
from .ops.reduce import sum as _sum
from .ops.solves import inv, inv_ex, is_vector_rhs, pinv, solve, solve_triangular
from .ops.spectral import eig, eigh, eigvals, eigvalsh, svdvals
from .tensor import Tensor

__all__ = ["LinAlgError", "cholesky", "cholesky_ex", "cond", "cross", "det", "diagonal", "eig", "eigh", "eigvals",
           "eigvalsh", "householder_product", "inv", "inv_ex", "ldl_factor", "ldl_factor_ex", "ldl_solve", "lstsq",
           "lu", "lu_factor", "lu_factor_ex", "lu_solve", "matmul", "matrix_exp", "matrix_norm", "matrix_power",
           "matrix_rank", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_ex", "solve_triangular", "svd",
           "svdvals", "tensorinv", "tensorsolve", "vander", "vecdot", "vector_norm"]


def cholesky(A, *, upper: bool = False):
    """The lower (``upper=True``: upper) Cholesky factor of each symmetric positive-definite matrix."""
    return _decomposition.cholesky(A, upper)


def qr(A, mode: str = "reduced"):
    """``(Q, R)`` with orthonormal Q and upper-triangular R; ``mode`` is reduced, complete or r."""
    return _decomposition.linalg_qr(A, mode)


def svd(A, full_matrices: bool = True, *, driver=None):
    """``(U, S, Vh)`` with ``A = U diag(S) Vh``, singular values descending."""
    return _spectral.linalg_svd(A, full_matrices)


_SolveEx = namedtuple("linalg_solve_ex", ["result", "info"])


def lu(A, *, pivot: bool = True):
    """``(P, L, U)`` with ``A = P L U``: P a permutation, L unit lower and U upper triangular (trapezoidal)."""
    return _decomposition.linalg_lu(A, pivot=pivot)


def lu_solve(LU, pivots, B, *, left: bool = True, adjoint: bool = False):
    """Solves ``A X = B`` (``X A = B`` when ``left=False``; with ``A^H`` when ``adjoint``) from
    ``lu_factor``'s results."""
    return _decomposition.linalg_lu_solve(LU, pivots, B, left=left, adjoint=adjoint)


def solve_ex(A, B, *, left: bool = True, check_errors: bool = False):
    """``(result, info)`` of ``solve``: info is non-zero for a singular matrix instead of raising."""
    info = inv_ex(A).info
    if check_errors or not info.any():
        return _SolveEx(solve(A, B, left=left), info)
    shape = np.broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-1 if is_vector_rhs(A, B) else -2]))
    vector = is_vector_rhs(A, B)
    full = shape + ((A.shape[-1],) if vector else tuple(B.shape[-2:]))
    return _SolveEx(Tensor._wrap(np.full(full, np.nan, A._data.dtype)), info)


# --- norms -----------------------------------------------------------------------------------------------------

def vector_norm(x, ord=2, dim=None, keepdim: bool = False, *, dtype=None, axis=None, keepdims=None):
    """The vector ``ord``-norm over ``dim`` (all axes when None): ``sum(|x|^ord)^(1/ord)``, ``inf``: max |x|,
    ``-inf``: min |x|, ``0``: the number of non-zeros."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("linalg_vector_norm", dim, keepdim, axis, keepdims)
    check_float(x if dtype is None else x.to(dtype), "linalg.vector_norm")
    if dtype is not None:
        x = x.to(dtype)
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None and len(dim) == 0:
        dim = None
    if x.ndim == 0:
        x, dim = x.reshape(1), None if dim is None else (0,)
    if dim is None and keepdim:
        dim = tuple(range(x.ndim))
    return _vector_norm_impl(x, p=ord, dim=dim, keepdim=keepdim)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None, axis=None, keepdims=None):
    """The matrix norm over the two axes ``dim``: ``'fro'``, ``'nuc'``, ``inf``, ``-inf``, ``1``, ``-1``,
    ``2`` (largest singular value) or ``-2`` (smallest)."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("linalg_matrix_norm", dim, keepdim, axis, keepdims, default=(-2, -1))
    if dtype is not None:
        A = A.to(dtype)
    check_matrix(A, "linalg.matrix_norm")
    rows, cols = (d % A.ndim for d in dim)
    if rows == cols:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    if ord == "fro":
        return _vector_norm_impl(A, p=2, dim=(rows, cols), keepdim=keepdim)
    if ord in ("nuc", 2, -2):
        S = svdvals(A.movedim((rows, cols), (-2, -1)))
        out = S.sum(-1) if ord == "nuc" else amax(S, -1) if ord == 2 else amin(S, -1)
        if keepdim:
            out = out.unsqueeze(min(rows, cols)).unsqueeze(max(rows, cols))
        return out
    if ord in (1, -1, math.inf, -math.inf):
        summed, reduced = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = _sum(A.abs(), summed, keepdim=True)
        out = amax(sums, reduced, keepdim=True) if ord > 0 else amin(sums, reduced, keepdim=True)
        return out if keepdim else out.squeeze(max(rows, cols)).squeeze(min(rows, cols))
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(A, ord=None, dim=None, keepdim: bool = False, *, dtype=None, axis=None, keepdims=None):
    """A vector norm (``dim`` an int, or a 1-D input) or a matrix norm (``dim`` a pair, or a 2-D input);
    with neither ``ord`` nor ``dim``, the 2-norm of the flattened input."""
    if axis is not None or keepdims is not None:
        dim, keepdim = numpy_names("linalg_norm", dim, keepdim, axis, keepdims)
    if isinstance(dim, int) or (dim is not None and len(dim) == 1):
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    if dim is not None:
        return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.ndim == 1:
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    if A.ndim == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                       f"Got {A.ndim}D.")


def cond(A, p=None):
    """The condition number of each matrix in the norm ``p``: ``None`` / ``2`` (largest over smallest
    singular value), ``-2``, or, for square matrices, ``'fro'``, ``'nuc'``, ``inf``, ``-inf``, ``1``, ``-1``."""
    check_matrix(A, "linalg.cond")
    if p in (None, 2, -2):
        S = svdvals(A)
        largest, smallest = S[..., 0], S[..., -1]
        return largest / smallest if p != -2 else smallest / largest
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.cond(ord={p}): A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    inverse, info = inv_ex(A)
    if not info.any():
        return matrix_norm(A, p) * matrix_norm(inverse, p)
    singular = info != 0  # a singular matrix: inf, as in torch (not an error)
    inverse = where(singular.unsqueeze(-1).unsqueeze(-1), 0.0, inverse)
    return where(singular, float("inf"), matrix_norm(A, p) * matrix_norm(inverse, p))


# --- products ----------------------------------------------------------------------------------------------------

def cross(input, other, *, dim: int = -1, axis=None):
    """The cross product of 3-vectors along ``dim`` (inputs broadcast)."""
    if axis is not None:
        dim = dim_from_axis("linalg_cross", dim, axis, -1)
    return _cross(input, other, dim, "linalg.cross")


def vecdot(x, y, *, dim: int = -1, axis=None):
    """The dot product ``sum(conj(x) * y)`` of vectors along ``dim`` (inputs broadcast)."""
    if axis is not None:
        dim = dim_from_axis("linalg_vecdot", dim, axis, -1)
    return ((conj(x) if x._data.dtype.kind == "c" else x) * y).sum(dim)


def multi_dot(tensors):
    """The product of a chain of matrices; the first may be a row vector, the last a column vector."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for position, i in (("first", 0), ("last", -1)):
        if tensors[i].ndim not in (1, 2):
            raise RuntimeError(f"multi_dot(): the {position} tensor must be 1D or 2D but got {tensors[i].ndim}D")
    for i, t in enumerate(tensors[1:-1], 1):
        if t.ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {t.ndim}D")
    shapes = [list(t.shape) for t in tensors]
    first_vector, last_vector = tensors[0].ndim == 1, tensors[-1].ndim == 1
    if first_vector:
        tensors[0] = tensors[0].unsqueeze(0)
    if last_vector:
        tensors[-1] = tensors[-1].unsqueeze(-1)
    result = tensors[0]
    for i, t in enumerate(tensors[1:], 1):
        if tensors[i - 1].shape[-1] != t.shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i - 1} and {i} with shapes {shapes[i - 1]} and {shapes[i]} "
                               "cannot be multiplied")
        result = matmul(result, t)
    if first_vector:
        result = result.squeeze(0)
    if last_vector:
        result = result.squeeze(-1)
    return result


def vander(x, *, N=None):
    """The Vandermonde matrices of the vectors ``x[..., :]``: columns ``1, x, x**2, ..., x**(N-1)``."""
    if x.ndim == 0:
        raise RuntimeError("N must be greater than 1.")  # torch's message for a 0-D x too
    N = x.shape[-1] if N is None else N
    if N <= 1:
        raise RuntimeError("N must be greater than 1.")
    if x._data.dtype.kind in "biu":
        x = x.to(np.int64)
    columns = [ones_like(x)]
    for _ in range(N - 1):
        columns.append(columns[-1] * x)
    return stack(columns, -1)


def diagonal(A, *, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """The diagonals of a batch of matrices (over the last two axes by default)."""
    return A.diagonal(offset, dim1, dim2)


# --- least squares, tensor inverse -------------------------------------------------------------------------------

_Lstsq = namedtuple("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])


def lstsq(A, B, rcond=None, *, driver=None):
    """The least-squares solution of ``A X = B`` (``(solution, residuals, rank, singular_values)``;
    as torch's default CPU driver ``gelsy``, residuals and singular values are empty)."""
    check_matrix(A, "linalg.lstsq")
    check_float(B, "linalg.lstsq")
    if not (A.ndim == B.ndim or A.ndim - 1 == B.ndim):
        raise RuntimeError("torch.linalg.lstsq: input.dim() must be greater or equal to other.dim() and "
                           "(input.dim() - other.dim()) <= 1")
    vector = B.ndim == A.ndim - 1
    rhs = B.unsqueeze(-1) if vector else B
    if rhs.shape[-2] != A.shape[-2]:
        raise RuntimeError(f"torch.linalg.lstsq: input.size(-2) should match other.size(-{1 if vector else 2})")
    rtol = rcond if rcond is not None and rcond > 0 else None
    solution = matmul(pinv(A, rtol=rtol), rhs)
    rank = matrix_rank(A, rtol=rtol)
    empty = Tensor._wrap(np.empty(0, A._data.dtype))
    return _Lstsq(solution.squeeze(-1) if vector else solution, empty, rank, empty)


def tensorinv(A, ind: int = 2):
    """The inverse of A under ``tensordot(., ., ind)``: ``tensordot(tensorinv(A, ind), A, ind)`` is the identity."""
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    if math.prod(rows) != math.prod(cols):
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {math.prod(cols)} != {math.prod(rows)}")
    return inv(A.reshape(math.prod(rows), -1)).reshape(*cols, *rows)


def tensorsolve(A, B, dims=None):
    """The X with ``tensordot(A, X, X.ndim) == B``; ``dims`` are A's axes moved to the end first."""
    if dims is not None:
        A = A.movedim(tuple(dims), tuple(range(A.ndim - len(dims), A.ndim)))
    result_shape = tuple(A.shape[B.ndim:])
    if math.prod(result_shape) != B.numel():
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                           f"prod(self.shape[:other.ndim]), but got {math.prod(result_shape)} != {B.numel()}")
    X = solve(A.reshape(B.numel(), -1), B.reshape(-1))
    return X.reshape(*result_shape)

