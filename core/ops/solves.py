"""Inverses and linear solves: inv, solve, solve_triangular, pinv and torch's top-level aliases (inverse,
triangular_solve, pinverse). Values from numpy.linalg / scipy.linalg over the leading (batch) axes; backward
formulas are PyTorch's (FunctionsManual.cpp), written with Ember ops so that second derivatives work.
"""

from __future__ import annotations

import warnings
from collections import namedtuple

import numpy as np

from ..creation import eye
from ..tensor import Tensor
from ._linalg_common import (
    _H,
    _SINGULAR,
    LinAlgError,
    _inverse_with_info,
    _raise_for_info,
    _svd,
    check_float,
    check_matrix,
)
from ._op import _TORCH_TYPE_NAMES, Op
from .arithmetic import where
from .shape import tril, triu


class Inv(Op):
    @staticmethod
    def forward(ctx, A, op):
        ctx.save_output()
        out, info = _inverse_with_info(A._data)
        _raise_for_info(info, A._data.shape, _SINGULAR, op)
        return out

    @staticmethod
    def backward(ctx, grad):
        Y = ctx.output
        return -(_H(Y) @ grad @ _H(Y)), None  # d(A^-1) = -A^-1 dA A^-1


def inv(A, op: str = "linalg.inv"):
    """The inverse of each square matrix; a singular one raises ``LinAlgError``."""
    check_matrix(A, op, square=True)
    return Inv.apply(A, op)


def inv_ex(A, *, check_errors: bool = False):
    """``(inverse, info)``: info is 0 where the matrix was invertible, LAPACK's pivot index where not."""
    check_matrix(A, "linalg.inv_ex", square=True)
    info = _inverse_with_info(A._data)[1]
    if check_errors:
        _raise_for_info(info, A._data.shape, _SINGULAR, "linalg.inv_ex")
    if not info.any():
        return _InvEx(Inv.apply(A, "linalg.inv_ex"), Tensor._wrap(info))
    # the invertible matrices keep their gradient; the singular ones are inverted as identities, then nan
    failed = Tensor._wrap(info[..., None, None] != 0)
    inverse = Inv.apply(where(failed, eye(A.shape[-1], dtype=A.dtype), A), "linalg.inv_ex")
    return _InvEx(where(failed, float("nan"), inverse), Tensor._wrap(info))


_InvEx = namedtuple("linalg_inv_ex", ["inverse", "info"])


def inverse(input):
    """``torch.inverse``: the same as ``linalg.inv``."""
    return inv(input)


class Solve(Op):
    @staticmethod
    def forward(ctx, A, B):
        ctx.save_for_backward(A)
        ctx.save_output()
        try:
            return np.linalg.solve(A._data, B._data)
        except np.linalg.LinAlgError:
            raise LinAlgError("torch.linalg.solve: The solver failed because the input matrix is singular.") from None

    @staticmethod
    def backward(ctx, grad):
        (A,) = ctx.saved_tensors
        X = ctx.output
        grad_B = Solve.apply(_H(A), grad)  # X = A^-1 B: dB = A^-H G, dA = -dB X^H
        return (-(grad_B @ _H(X)) if ctx.needs_input_grad[0] else None), grad_B


def is_vector_rhs(A, B) -> bool:
    """torch's rule: B is a (batch of) vector(s) when it is 1-D or has exactly A's batch shape plus n."""
    return B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))


def solve(A, B, *, left: bool = True):
    """The solution X of ``A X = B`` (or ``X A = B`` when ``left=False``), batched and broadcast."""
    check_matrix(A, "linalg.solve", square=True)
    check_float(B, "linalg.solve")
    if not left:
        return solve(A.mT, B.mT).mT
    vector = is_vector_rhs(A, B)
    rhs = B.unsqueeze(-1) if vector else B
    n = A.shape[-1]
    if rhs.shape[-2] != n:
        columns = 1 if vector else rhs.shape[-1]
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({A.shape[-2]}x{n} and {rhs.shape[-2]}x{columns})")
    if A.dtype != B.dtype:
        names = [_TORCH_TYPE_NAMES.get(t._data.dtype.name, t._data.dtype.name) for t in (A, B)]
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
                           f"{names[0]} and B of type {names[1]} instead")
    X = Solve.apply(A, rhs)
    return X.squeeze(-1) if vector else X


class SolveTriangular(Op):
    @staticmethod
    def forward(ctx, A, B, upper, unitriangular):
        ctx.save_for_backward(A)
        ctx.save_output()
        ctx.upper, ctx.unitriangular = upper, unitriangular
        a = np.triu(A._data) if upper else np.tril(A._data)
        if unitriangular:
            a = a.copy()
            np.einsum("...ii->...i", a)[...] = 1
        try:  # one batched LAPACK call (an LU of a triangular matrix is the substitution)
            return np.linalg.solve(a, B._data)
        except np.linalg.LinAlgError:  # a zero on the diagonal: substitution gives inf / nan, as in torch
            return _substitution(a, B._data, upper)

    @staticmethod
    def backward(ctx, grad):
        (A,) = ctx.saved_tensors
        X = ctx.output
        grad_B = SolveTriangular.apply(_H(A), grad, not ctx.upper, ctx.unitriangular)
        grad_A = None
        if ctx.needs_input_grad[0]:
            grad_A = -(grad_B @ _H(X))  # only the triangle that was read has a gradient
            grad_A = triu(grad_A, 1 if ctx.unitriangular else 0) if ctx.upper else tril(
                grad_A, -1 if ctx.unitriangular else 0)
        return grad_A, grad_B, None, None


def _substitution(a, b, upper):
    """Row-by-row substitution, vectorised over the batch: a zero on the diagonal gives inf / nan, as torch."""
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = np.broadcast_to(a, batch + a.shape[-2:])
    out = np.array(np.broadcast_to(b, batch + b.shape[-2:]), dtype=np.result_type(a, b))
    n = a.shape[-1]
    for i in range(n - 1, -1, -1) if upper else range(n):
        known = slice(i + 1, n) if upper else slice(0, i)
        done = np.einsum("...k,...kj->...j", a[..., i, known], out[..., known, :])
        out[..., i, :] = (out[..., i, :] - done) / a[..., i, i, None]
    return out


def solve_triangular(A, B, *, upper: bool, left: bool = True, unitriangular: bool = False):
    """Solves ``A X = B`` (``X A = B`` when ``left=False``) reading only A's upper or lower triangle."""
    check_matrix(A, "linalg.solve_triangular", square=True)
    check_matrix(B, "linalg.solve_triangular")
    if not left:
        return solve_triangular(A.mT, B.mT, upper=not upper, unitriangular=unitriangular).mT
    if B.shape[-2] != A.shape[-1]:
        raise RuntimeError(f"linalg.solve_triangular: Incompatible shapes of A and B for the equation AX = B "
                           f"({A.shape[-2]}x{A.shape[-1]} and {B.shape[-2]}x{B.shape[-1]})")
    return SolveTriangular.apply(A, B, upper, unitriangular)


_TriangularSolve = namedtuple("triangular_solve", ["solution", "cloned_coefficient"])


def triangular_solve(b, A, upper: bool = True, transpose: bool = False, unitriangular: bool = False):
    """``torch.triangular_solve``: ``(solution, cloned_coefficient)`` of ``A X = b`` (``A^T X = b``)."""
    warnings.warn("ember.triangular_solve is deprecated, as torch.triangular_solve is, in favor of "
                  "ember.linalg.solve_triangular (arguments reversed, no copy of A returned).",
                  UserWarning, stacklevel=2)
    coefficient = A.mT if transpose else A
    X = solve_triangular(coefficient, b, upper=upper != transpose, unitriangular=unitriangular)
    return _TriangularSolve(X, A.clone())


# --- Cholesky ------------------------------------------------------------------------------------------------

class Pinv(Op):
    @staticmethod
    def forward(ctx, A, atol, rtol, hermitian):
        ctx.save_for_backward(A)
        ctx.save_output()
        a = A._data
        if hermitian:
            w, v = np.linalg.eigh(a)
            size = np.abs(w)
            u, vh = v * np.sign(w)[..., None, :], np.swapaxes(v, -1, -2).conj()
        else:
            u, size, vh = _svd(a, full_matrices=False)
        largest = size.max(-1, keepdims=True, initial=0.0)
        cutoff = np.maximum(atol, rtol * largest)
        keep = size > cutoff
        with np.errstate(all="ignore"):
            inverted = np.where(keep, 1 / np.where(keep, size, 1), 0).astype(a.dtype)
        return np.swapaxes(vh, -1, -2).conj() @ (inverted[..., :, None] * np.swapaxes(u, -1, -2).conj())

    @staticmethod
    def backward(ctx, grad):
        (A,) = ctx.saved_tensors
        P = ctx.output
        # PyTorch's pinv_backward: exact where the rank does not change
        m, n = A.shape[-2], A.shape[-1]
        Ph, gh = _H(P), _H(grad)
        if m <= n:
            K = gh @ P
            KPh = K @ Ph
            gA = -_H(P @ K) + KPh - (A @ P) @ KPh + (Ph @ P) @ (gh - K @ A)
        else:
            K = P @ gh
            PhK = Ph @ K
            gA = -_H(K @ P) + (gh - A @ K) @ P @ Ph + PhK - PhK @ P @ A
        return gA, None, None, None


def pinv(A, *, atol=None, rtol=None, hermitian: bool = False):
    """The Moore-Penrose pseudo-inverse; singular values below ``max(atol, rtol * largest)`` count as 0."""
    if A.ndim < 2:
        name = _TORCH_TYPE_NAMES.get(A._data.dtype.name, A._data.dtype.name)
        raise RuntimeError(f"linalg.pinv({name}{{{list(A.shape)}}}): expected a tensor with 2 or more dimensions "
                           "of float, double, cfloat or cdouble types")
    check_matrix(A, "linalg.pinv")
    atol, rtol = _tolerances(A, atol, rtol)
    return Pinv.apply(A, atol, rtol, hermitian)


def _tolerances(A, atol, rtol):
    """torch's defaults: rtol = eps * max(m, n) when neither is given, 0 when only atol is."""
    atol = _as_array(atol)
    if rtol is None:
        rtol = np.finfo(A._data.dtype).eps * max(A.shape[-2:]) if atol is None or not np.any(atol > 0) else 0.0
    rtol = _as_array(rtol)
    atol = 0.0 if atol is None else atol
    return np.expand_dims(atol, -1) if np.ndim(atol) else atol, np.expand_dims(rtol, -1) if np.ndim(rtol) else rtol


def _as_array(value):
    return value._data if isinstance(value, Tensor) else value


def pinverse(input, rcond: float = 1e-15):
    """``torch.pinverse``: ``linalg.pinv`` with a relative cutoff ``rcond``."""
    return pinv(input, rtol=rcond)


__all__ = ["inverse", "pinverse", "triangular_solve"]
METHODS = list(__all__)
INPLACE: list[str] = []
