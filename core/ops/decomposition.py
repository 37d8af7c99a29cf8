"""Matrix factorizations: Cholesky, QR, LU, LDL and Householder products, with the solves that reuse a
factorization (cholesky_solve, lu_solve, ldl_solve). eigh / eig / SVD are in spectral.py, inverses and plain
solves in solves.py, det / matrix_exp / matrix_power in matrix_functions.py.

Values come from numpy.linalg / scipy.linalg over the leading (batch) axes; the backward formulas are
PyTorch's (FunctionsManual.cpp), written with Ember ops so that second derivatives work. An op with
several outputs (eigh, qr, svd) keeps its outputs as arrays; when its backward is itself recorded
(``create_graph=True``) it runs the decomposition again on its saved input, so the outputs it uses
carry their own graph.
"""

from __future__ import annotations

import warnings
from collections import namedtuple

import numpy as np

from ..autograd.grad_mode import state
from ..creation import eye, zeros
from ..tensor import Tensor
from ._linalg_common import (
    _H,
    _NOT_PD,
    _batches,
    _diag_embed,
    _lapack,
    _NotDifferentiable,
    _outputs,
    _potrf,
    _raise_for_info,
    check_matrix,
)
from ._op import Op
from .arithmetic import where
from .joining import cat
from .shape import tril, triu
from .solves import SolveTriangular, solve_triangular

__all__ = ["cholesky", "cholesky_inverse", "cholesky_solve", "geqrf", "lu", "lu_solve", "lu_unpack", "orgqr",
           "ormqr", "qr"]
METHODS = [name for name in __all__ if name != "lu_unpack"]
INPLACE: list[str] = []


def _cholesky_with_info(a: np.ndarray):
    try:
        return np.linalg.cholesky(a), np.zeros(a.shape[:-2], np.int32)
    except np.linalg.LinAlgError:
        out, info = np.empty_like(a), np.zeros(a.shape[:-2], np.int32)
        for index in _batches(a.shape):
            out[index], info[index] = _potrf(a[index])
        return out, info


class Cholesky(Op):
    @staticmethod
    def forward(ctx, A, op):
        ctx.save_output()
        out, info = _cholesky_with_info(A._data)
        _raise_for_info(info, A._data.shape, _NOT_PD, op)
        return out

    @staticmethod
    def backward(ctx, grad):
        L = ctx.output
        # gA = L^-T Phi(L^T gL) L^-1, symmetrised, Phi = lower triangle with half its diagonal
        gA = tril(_H(L) @ grad)
        gA = 0.5 * (gA + _H(tril(gA, -1)))
        gA = SolveTriangular.apply(_H(L), gA, True, False)  # L^-H gA
        gA = _H(SolveTriangular.apply(_H(L), _H(gA), True, False))  # (L^-H gA^H)^H = gA L^-1
        return gA, None


def cholesky(A, upper: bool = False, *, op: str = "linalg.cholesky"):
    """The lower (or upper) Cholesky factor of each symmetric positive-definite matrix."""
    check_matrix(A, op, square=True)
    L = Cholesky.apply(A, op)
    return _H(L) if upper else L


_CholeskyEx = namedtuple("linalg_cholesky_ex", ["L", "info"])


def cholesky_ex(A, *, upper: bool = False, check_errors: bool = False):
    """``(L, info)``: info is 0 where the factorization succeeded, else the failing minor's order."""
    check_matrix(A, "linalg.cholesky_ex", square=True)
    factor, info = _cholesky_with_info(A._data)
    if check_errors:
        _raise_for_info(info, A._data.shape, _NOT_PD, "linalg.cholesky_ex")
    if not info.any():
        L = Cholesky.apply(A, "linalg.cholesky_ex")
    else:  # the factorizations that succeeded keep their gradient; the others hold LAPACK's partial factor
        failed = Tensor._wrap(info[..., None, None] != 0)
        L = Cholesky.apply(where(failed, eye(A.shape[-1], dtype=A.dtype), A), "linalg.cholesky_ex")
        L = where(failed, Tensor._wrap(factor), L)
    return _CholeskyEx(_H(L) if upper else L, Tensor._wrap(info))


def cholesky_solve(B, L, upper: bool = False):
    """Solves ``A X = B`` given A's Cholesky factor ``L`` (``A = L L^T``, or ``U^T U`` when upper)."""
    check_matrix(L, "cholesky_solve", square=True)
    lower = _H(L) if upper else L
    Y = solve_triangular(lower, B, upper=False)
    return solve_triangular(_H(lower), Y, upper=True)


def cholesky_inverse(L, upper: bool = False):
    """The inverse of ``A = L L^T`` (``U^T U`` when upper) from its Cholesky factor."""
    check_matrix(L, "cholesky_inverse", square=True)
    identity = eye(L.shape[-1], dtype=L.dtype).expand(L.shape)
    return cholesky_solve(identity, L, upper)


# --- eigh, qr, svd -------------------------------------------------------------------------------------------

class QR(Op):
    @staticmethod
    def forward(ctx, A, mode):
        ctx.save_for_backward(A)
        ctx.mode = mode
        ctx.set_materialize_grads(False)
        ctx.arrays = np.linalg.qr(A._data, mode=mode)
        return tuple(ctx.arrays)

    @staticmethod
    def backward(ctx, grad_Q, grad_R):
        Q, R = _outputs(ctx, lambda A: QR.apply(A, ctx.mode))
        m, n = R.shape[-2], R.shape[-1]
        if ctx.mode == "complete" and Q.shape[-2] > n:
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "linalg.qr with mode='complete' is not differentiable when nrows > ncols.")
        grad_Q = zeros(Q.shape, dtype=Q.dtype) if grad_Q is None else grad_Q
        grad_R = zeros(R.shape, dtype=R.dtype) if grad_R is None else grad_R
        if m >= n:
            return _qr_backward_tall(Q, R, grad_Q, grad_R), None
        # A = [X | Y] with X square: X = Q U, Y = Q V (Walter & Lehmann; TensorFlow's QrGrad)
        U, grad_U, grad_V = R[..., :, :m], grad_R[..., :, :m], grad_R[..., :, m:]
        Y = ctx.saved_tensors[0][..., :, m:] if state.grad_enabled else Tensor._wrap(
            ctx.saved_tensors[0]._data[..., :, m:])
        grad_X = _qr_backward_tall(Q, U, grad_Q + Y @ _H(grad_V), grad_U)
        return cat([grad_X, Q @ grad_V], -1), None


def _qr_backward_tall(Q, R, grad_Q, grad_R):
    """gA = (gQ + Q copyltu(M)) R^-H with M = R gR^H - gQ^H Q, for a tall or square A."""
    M = R @ _H(grad_R) - _H(grad_Q) @ Q
    lower = tril(M, -1)
    copyltu = lower + _H(lower) + _diag_embed(M.diagonal(0, -2, -1))
    rhs = grad_Q + Q @ copyltu
    # X R^H = rhs  <=>  R X^H = rhs^H
    return _H(SolveTriangular.apply(R, _H(rhs), True, False))


_QR = namedtuple("linalg_qr", ["Q", "R"])


def linalg_qr(A, mode: str = "reduced"):
    """ember.linalg.qr (see there)."""
    check_matrix(A, "linalg.qr")
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                           "'r', or 'complete'")
    if mode == "r":
        R = QR.apply(A, "reduced")[1]
        return _QR(Tensor._wrap(np.empty(0, A._data.dtype)), R)
    return _QR(*QR.apply(A, mode))


def qr(input, some: bool = True):
    """``torch.qr``: ``(Q, R)``, reduced unless ``some=False``."""
    return linalg_qr(input, "reduced" if some else "complete")


def _lu_factor_arrays(a: np.ndarray):
    """LAPACK getrf over the batch: the packed factors, 1-based pivots (int32) and info."""
    import scipy.linalg  # lazy: heavy

    with warnings.catch_warnings():  # a singular matrix is reported through info, not a warning
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        packed, pivots = scipy.linalg.lu_factor(a, check_finite=False)
    k = min(a.shape[-2:])
    diagonal = np.diagonal(packed, 0, -2, -1)[..., :k]
    zero = diagonal == 0
    info = np.where(zero.any(-1), zero.argmax(-1) + 1, 0).astype(np.int32)
    return packed.astype(a.dtype, copy=False), (pivots + 1).astype(np.int32), info


def _permutation(pivots: np.ndarray, m: int, dtype) -> np.ndarray:
    """The permutation matrix P (``A = P L U``) of LAPACK's row interchanges ``pivots`` (1-based)."""
    batch = pivots.shape[:-1]
    order = np.array(np.broadcast_to(np.arange(m), batch + (m,)))
    for i in range(pivots.shape[-1]):
        j = pivots[..., i, None].astype(np.int64) - 1
        row_i, row_j = order[..., i].copy(), np.take_along_axis(order, j, -1)[..., 0]
        order[..., i] = row_j
        np.put_along_axis(order, j, row_i[..., None], -1)
    # row r of P^T A is row order[r] of A
    return np.swapaxes(np.eye(m, dtype=dtype)[order], -1, -2)


def _unpack(packed):
    """L (unit lower trapezoidal) and U (upper trapezoidal) from packed LU factors (differentiable)."""
    m, n = packed.shape[-2:]
    k = min(m, n)
    L = tril(packed[..., :, :k], -1) + eye(m, k, dtype=packed.dtype)
    return L, triu(packed[..., :k, :])


class LU(Op):
    @staticmethod
    def forward(ctx, A):
        ctx.save_for_backward(A)
        ctx.set_materialize_grads(False)
        packed, ctx.pivots, _ = _lu_factor_arrays(A._data)
        L, U = _unpack(Tensor._wrap(packed))
        ctx.arrays = (L._data, U._data)
        return ctx.arrays

    @staticmethod
    def backward(ctx, grad_L, grad_U):
        (A,) = ctx.saved_tensors
        L, U = _outputs(ctx, LU.apply)
        m, n = A.shape[-2:]
        grad_L = zeros(L.shape, dtype=L.dtype) if grad_L is None else grad_L
        grad_U = zeros(U.shape, dtype=U.dtype) if grad_U is None else grad_U
        if m > n:  # P^T A = [A1; A2], L = [L1; L2]: L2 = A2 U^-1
            L1, L2, gL1, gL2 = L[..., :n, :], L[..., n:, :], grad_L[..., :n, :], grad_L[..., n:, :]
            gA2 = _right_solve_upper(gL2, U)
            gA = cat([_lu_backward_square(L1, U, gL1, grad_U - _H(L2) @ gA2), gA2], -2)
        elif m < n:  # P^T A = [A1 A2], U = [U1 U2]: U2 = L^-1 A2
            U1, U2, gU1, gU2 = U[..., :, :m], U[..., :, m:], grad_U[..., :, :m], grad_U[..., :, m:]
            gA2 = SolveTriangular.apply(_H(L), gU2, True, True)
            gA = cat([_lu_backward_square(L, U1, grad_L - gA2 @ _H(U2), gU1), gA2], -1)
        else:
            gA = _lu_backward_square(L, U, grad_L, grad_U)
        P = Tensor._wrap(_permutation(ctx.pivots, m, A._data.dtype))
        return P @ gA


def _right_solve_upper(X, U):
    """``X U^-H`` for an upper-triangular U."""
    return _H(SolveTriangular.apply(U, _H(X), True, False))


def _lu_backward_square(L, U, gL, gU):
    """gA = L^-H [tril(L^H gL, -1) + triu(gU U^H)] U^-H, for P^T A = L U with square L and U."""
    inner = tril(_H(L) @ gL, -1) + triu(gU @ _H(U))
    return _right_solve_upper(SolveTriangular.apply(_H(L), inner, True, True), U)


_LU = namedtuple("linalg_lu", ["P", "L", "U"])
_LUFactor = namedtuple("linalg_lu_factor", ["LU", "pivots"])
_LUFactorEx = namedtuple("linalg_lu_factor_ex", ["LU", "pivots", "info"])


def _check_pivot(pivot: bool, op: str) -> None:
    if not pivot:
        raise RuntimeError(f"{op}: LU without pivoting is not implemented on the CPU")


def linalg_lu(A, *, pivot: bool = True):
    """ember.linalg.lu (see there)."""
    check_matrix(A, "linalg.lu")
    _check_pivot(pivot, "linalg.lu_factor")
    L, U = LU.apply(A)
    P = Tensor._wrap(_permutation(_lu_factor_arrays(A._data)[1], A.shape[-2], A._data.dtype))
    return _LU(P, L, U)


def _packed(L, U):
    """The packed LU factors (one m x n matrix) from differentiable L and U."""
    m, n = L.shape[-2], U.shape[-1]
    lower = tril(L, -1)
    if m > n:
        U = cat([U, zeros(*U.shape[:-2], m - n, n, dtype=U.dtype)], -2)
    elif m < n:
        lower = cat([lower, zeros(*L.shape[:-2], m, n - m, dtype=L.dtype)], -1)
    return lower + U


def lu_factor_ex(A, *, pivot: bool = True, check_errors: bool = False):
    """``(LU, pivots, info)``: the packed LU factors, LAPACK's 1-based row interchanges and 0 where no pivot
    of U is zero."""
    check_matrix(A, "linalg.lu_factor_ex")
    _check_pivot(pivot, "linalg.lu_factor")
    _, pivots, info = _lu_factor_arrays(A._data)
    if check_errors:
        _raise_for_info(info, A._data.shape, _LU_SINGULAR, "torch.linalg.lu_factor_ex")
    L, U = LU.apply(A)
    return _LUFactorEx(_packed(L, U), Tensor._wrap(pivots), Tensor._wrap(info))


# torch puts LAPACK's 1-based info where a 0-based index would be: kept, so that messages match
_LU_SINGULAR = ("U[{0},{0}] is zero and using it on lu_solve would result in a division by zero. If you still "
                "want to perform the factorization, consider calling linalg.lu(A, pivot) or "
                "linalg.lu_factor_ex(A, pivot)")


def lu_factor(A, *, pivot: bool = True):
    """``(LU, pivots)``: the packed LU factors with partial pivoting; a zero pivot raises ``LinAlgError``."""
    check_matrix(A, "linalg.lu_factor")
    _check_pivot(pivot, "linalg.lu_factor")
    _raise_for_info(_lu_factor_arrays(A._data)[2], A._data.shape, _LU_SINGULAR, "torch.linalg.lu_factor")
    packed, pivots, _ = lu_factor_ex(A)
    return _LUFactor(packed, pivots)


def lu_unpack(LU_data, LU_pivots, unpack_data: bool = True, unpack_pivots: bool = True):
    """``(P, L, U)`` from packed LU factors and their pivots (``lu_factor``'s results)."""
    L, U = _unpack(LU_data) if unpack_data else (None, None)
    P = Tensor._wrap(_permutation(LU_pivots._data, LU_data.shape[-2], LU_data._data.dtype)) if unpack_pivots else None
    return _LU(P, L, U)


def linalg_lu_solve(LU, pivots, B, *, left: bool = True, adjoint: bool = False):
    """ember.linalg.lu_solve (see there)."""
    if not left:  # X A = B  <=>  A^H X^H = B^H
        return _H(linalg_lu_solve(LU, pivots, _H(B), adjoint=not adjoint))
    P, L, U = lu_unpack(LU, pivots)
    if adjoint:  # A^H X = B with A = P L U: X = P L^-H U^-H B
        Y = SolveTriangular.apply(_H(U), B, False, False)
        return P @ SolveTriangular.apply(_H(L), Y, True, True)
    Y = SolveTriangular.apply(L, P.mT @ B, False, True)
    return SolveTriangular.apply(U, Y, True, False)


def lu(A, pivot: bool = True, get_infos: bool = False):
    """``torch.lu`` (deprecated for ``linalg.lu_factor``): ``(LU, pivots)``, and ``infos`` when asked."""
    warnings.warn("ember.lu is deprecated, as torch.lu is, in favor of ember.linalg.lu_factor / "
                  "ember.linalg.lu_factor_ex.", UserWarning, stacklevel=2)
    result = lu_factor_ex(A, pivot=pivot, check_errors=not get_infos)
    return tuple(result) if get_infos else tuple(result[:2])


def lu_solve(b, LU_data, LU_pivots):
    """``torch.lu_solve`` (deprecated for ``linalg.lu_solve``, which takes its arguments the other way)."""
    warnings.warn("ember.lu_solve is deprecated, as torch.lu_solve is, in favor of ember.linalg.lu_solve "
                  "(arguments reversed).", UserWarning, stacklevel=2)
    return linalg_lu_solve(LU_data, LU_pivots, b)


# --- LDL (Bunch-Kaufman) ------------------------------------------------------------------------------------------

_LDLFactor = namedtuple("linalg_ldl_factor", ["LD", "pivots"])
_LDLFactorEx = namedtuple("linalg_ldl_factor_ex", ["LD", "pivots", "info"])


def ldl_factor_ex(A, *, hermitian: bool = False, check_errors: bool = False):
    """``(LD, pivots, info)``: LAPACK's Bunch-Kaufman factorization ``A = L D L^T`` of a symmetric matrix
    (lower triangle read), with its 1-based pivots. Not differentiable, as in torch."""
    check_matrix(A, "torch.linalg.ldl_factor_ex", square=True)
    a = A._data
    sytrf = _lapack("hetrf" if hermitian and a.dtype.kind == "c" else "sytrf", a)
    packed, pivots, info = np.empty_like(a), np.empty(a.shape[:-1], np.int32), np.empty(a.shape[:-2], np.int32)
    for index in np.ndindex(*a.shape[:-2]):
        packed[index], pivots[index], info[index] = sytrf(a[index], lower=1)
    if check_errors:
        _raise_for_info(info, A._data.shape, "The factorization could not be completed because the input is "
                        "singular (D[{0},{0}] is zero).", "torch.linalg.ldl_factor_ex")
    LD = _NotDifferentiable.apply(A, np.tril(packed), "derivative for aten::linalg_ldl_factor_ex is not implemented")
    return _LDLFactorEx(LD, Tensor._wrap(pivots), Tensor._wrap(info))


def ldl_factor(A, *, hermitian: bool = False):
    """``(LD, pivots)`` of ``ldl_factor_ex``; a singular matrix raises ``LinAlgError``."""
    LD, pivots, _ = ldl_factor_ex(A, hermitian=hermitian, check_errors=True)
    return _LDLFactor(LD, pivots)


def ldl_solve(LD, pivots, B, *, hermitian: bool = False):
    """Solves ``A X = B`` from ``ldl_factor``'s results. Not differentiable, as in torch."""
    check_matrix(LD, "torch.linalg.ldl_solve", square=True)
    check_matrix(B, "torch.linalg.ldl_solve")
    sytrs = _lapack("hetrs" if hermitian and LD._data.dtype.kind == "c" else "sytrs", LD._data)
    batch = np.broadcast_shapes(LD.shape[:-2], B.shape[:-2])
    ld = np.broadcast_to(LD._data, batch + LD._data.shape[-2:])
    ipiv = np.broadcast_to(pivots._data, batch + pivots._data.shape[-1:])
    b = np.broadcast_to(B._data, batch + B._data.shape[-2:])
    solution = np.empty(b.shape, b.dtype)
    for index in np.ndindex(*batch):
        solution[index] = sytrs(ld[index], ipiv[index], b[index], lower=1)[0]
    return _NotDifferentiable.apply(B if B.requires_grad else LD, solution,
                                    "derivative for aten::linalg_ldl_solve is not implemented")


# --- Householder reflectors: geqrf, orgqr, ormqr ---------------------------------------------------------------

_Geqrf = namedtuple("geqrf", ["a", "tau"])


def geqrf(input):
    """LAPACK's QR in Householder form: ``(a, tau)``, R on and above a's diagonal, the reflectors below
    (see ``householder_product``). Not differentiable, as in torch."""
    check_matrix(input, "geqrf")
    a = input._data
    routine = _lapack("geqrf", a)
    packed = np.empty_like(a)
    tau = np.empty(a.shape[:-2] + (min(a.shape[-2:]),), a.dtype)
    for index in np.ndindex(*a.shape[:-2]):
        packed[index], tau[index] = routine(a[index])[:2]
    message = "the derivative for 'geqrf' is not implemented."
    return _Geqrf(_NotDifferentiable.apply(input, packed, message), _NotDifferentiable.apply(input, tau, message))


def householder_q(A, tau):
    """The m x m product ``H_1 ... H_k`` of the reflectors ``H_i = I - tau_i v_i v_i^H``, ``v_i`` stored below
    the diagonal of A's column i with an implicit 1 on it (differentiable in A and tau)."""
    m, n = A.shape[-2:]
    V = tril(A, -1) + eye(m, n, dtype=A.dtype)
    Q = eye(m, dtype=A.dtype).expand(*A.shape[:-2], m, m)
    for i in range(tau.shape[-1]):
        v = V[..., :, i : i + 1]
        Q = Q - tau[..., i, None, None] * ((Q @ v) @ _H(v))
    return Q


def householder_product(A, tau):
    """The first n columns of the product of Householder reflectors ``H_i = I - tau_i v_i v_i^H``, with
    ``v_i`` stored below the diagonal of A's column i (an implicit 1 on the diagonal)."""
    check_matrix(A, "linalg.householder_product")
    m, n = A.shape[-2:]
    if n > m:
        raise RuntimeError("torch.linalg.householder_product: input.shape[-2] must be greater than or equal to "
                           "input.shape[-1]")
    if tau.shape[-1] > n:
        raise RuntimeError("torch.linalg.householder_product: input.shape[-1] must be greater than or equal to "
                           "tau.shape[-1]")
    return householder_q(A, tau)[..., :, :n]


def orgqr(input, tau):
    """``torch.orgqr``: the same as ``linalg.householder_product``."""
    return householder_product(input, tau)


def ormqr(input, tau, other, left: bool = True, transpose: bool = False):
    """``other`` multiplied by the full m x m Q of ``geqrf``'s reflectors: ``Q @ other`` (``other @ Q`` when
    ``left=False``; ``Q^H`` when ``transpose``)."""
    side = -2 if left else -1
    if tau.shape[-1] != min(other.shape[side], input.shape[-1]):
        raise RuntimeError(f"torch.ormqr: tau.shape[-1] must be equal to min(other.shape[{side}], input.shape[-1])")
    Q = householder_q(input, tau)
    Q = _H(Q) if transpose else Q
    return Q @ other if left else other @ Q


# --- pinv, matrix functions ----------------------------------------------------------------------------------
