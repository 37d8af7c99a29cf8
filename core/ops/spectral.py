"""Spectral decompositions: eigh / eigvalsh, eig / eigvals and the SVD (svd, svdvals). Values from
numpy.linalg over the leading (batch) axes; backward formulas are PyTorch's (FunctionsManual.cpp), written
with Ember ops. Each op keeps its outputs as arrays; when its backward is itself recorded
(``create_graph=True``) it runs the decomposition again on its saved input, so the outputs it uses carry
their own graph.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..autograd.grad_mode import state
from ..creation import eye, zeros
from ..tensor import Tensor
from ._linalg_common import (
    _H,
    _diag_embed,
    _outputs,
    _svd,
    check_matrix,
)
from ._op import Op
from .complex_ops import conj, imag, real
from .solves import Solve


class Eigh(Op):
    @staticmethod
    def forward(ctx, A, UPLO):
        ctx.save_for_backward(A)
        ctx.UPLO = UPLO
        ctx.set_materialize_grads(False)
        ctx.arrays = np.linalg.eigh(A._data, UPLO=UPLO)
        return ctx.arrays

    @staticmethod
    def backward(ctx, grad_L, grad_V):
        L, V = _outputs(ctx, lambda A: Eigh.apply(A, ctx.UPLO))
        if grad_V is None:
            return (V * grad_L.unsqueeze(-2)) @ _H(V), None
        # gA = V (diag(gL) + skew(V^H gV) / 2 / (L_j - L_i)) V^H: the symmetric (Hermitian) gradient
        VhgV = _H(V) @ grad_V
        gaps = L.unsqueeze(-2) - L.unsqueeze(-1) + eye(L.shape[-1], dtype=L.dtype)
        inner = 0.5 * (VhgV - _H(VhgV)) / gaps
        inner = inner - _diag_embed(inner.diagonal(0, -2, -1))  # (an eigenvector's phase has no gradient)
        if grad_L is not None:
            inner = inner + _diag_embed(grad_L)
        return V @ inner @ _H(V), None


_Eigh = namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])


def eigh(A, UPLO: str = "L"):
    """Eigenvalues (ascending) and orthonormal eigenvectors of each symmetric matrix (one triangle read)."""
    check_matrix(A, "linalg.eigh", square=True)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return _Eigh(*Eigh.apply(A, UPLO))


def eigvalsh(A, UPLO: str = "L"):
    """The eigenvalues (ascending) of each symmetric matrix."""
    check_matrix(A, "linalg.eigvalsh", square=True)
    if not A.requires_grad:
        return Tensor._wrap(np.linalg.eigvalsh(A._data, UPLO=UPLO))
    return Eigh.apply(A, UPLO)[0]


class Eig(Op):
    @staticmethod
    def forward(ctx, A):
        ctx.save_for_backward(A)
        ctx.set_materialize_grads(False)
        complex_type = np.result_type(A._data.dtype, np.complex64)  # always complex, as in torch
        if not np.isfinite(A._data).all():
            raise RuntimeError("torch.linalg.eig: input tensor should not contain infs or NaNs.")
        values, vectors = np.linalg.eig(A._data)
        ctx.arrays = (values.astype(complex_type, copy=False), vectors.astype(complex_type, copy=False))
        return ctx.arrays

    @staticmethod
    def backward(ctx, grad_L, grad_V):
        (A,) = ctx.saved_tensors
        L, V = _outputs(ctx, Eig.apply)
        Vh = _H(V)
        inner = zeros(V.shape, dtype=V.dtype) if grad_L is None else _diag_embed(grad_L)
        if grad_V is not None:
            VhgV = Vh @ grad_V
            diagonal = VhgV.diagonal(0, -2, -1)
            if not np.allclose(diagonal._data.imag, 0, rtol=1e-2, atol=1e-2):
                raise RuntimeError(
                    "linalg_eig_backward: The eigenvectors in the complex case are specified up to multiplication "
                    "by e^{i phi}. The specified loss function depends on this quantity, so it is ill-defined.")
            # the eigenvectors have norm 1: project out the part of gV along them
            VhgV = VhgV - Vh @ (V * real(diagonal).unsqueeze(-2))
            gaps = conj(L).unsqueeze(-2) - conj(L).unsqueeze(-1)  # conj(L_j - L_i), 1 on the diagonal
            gaps = gaps + Tensor._wrap(np.eye(L.shape[-1], dtype=L._data.real.dtype))
            off_diagonal = VhgV / gaps
            inner = inner + off_diagonal - _diag_embed(off_diagonal.diagonal(0, -2, -1))
        gA = Solve.apply(Vh, inner @ Vh)  # V^-H (...) V^H
        return real(gA) if A._data.dtype.kind == "f" else gA


_Eig = namedtuple("linalg_eig", ["eigenvalues", "eigenvectors"])


def eig(A):
    """Eigenvalues and eigenvectors (complex, each of norm 1) of each square matrix."""
    check_matrix(A, "linalg.eig", square=True)
    return _Eig(*Eig.apply(A))


def eigvals(A):
    """The eigenvalues (complex) of each square matrix."""
    check_matrix(A, "linalg.eigvals", square=True)
    if not (A.requires_grad and state.grad_enabled):
        complex_type = np.result_type(A._data.dtype, np.complex64)
        return Tensor._wrap(np.linalg.eigvals(A._data).astype(complex_type, copy=False))
    return Eig.apply(A)[0]


class SVD(Op):
    @staticmethod
    def forward(ctx, A, full_matrices):
        ctx.save_for_backward(A)
        ctx.full_matrices = full_matrices
        ctx.set_materialize_grads(False)
        ctx.arrays = _svd(A._data, full_matrices=full_matrices)
        return tuple(ctx.arrays)

    @staticmethod
    def backward(ctx, grad_U, grad_S, grad_Vh):
        U, S, Vh = _outputs(ctx, lambda A: SVD.apply(A, ctx.full_matrices))
        k = S.shape[-1]
        if ctx.full_matrices:  # the columns past min(m, n) are arbitrary: only the first k count
            U, Vh = U[..., :, :k], Vh[..., :k, :]
            grad_U = None if grad_U is None else grad_U[..., :, :k]
            grad_Vh = None if grad_Vh is None else grad_Vh[..., :k, :]
        return _svd_backward(U, S, Vh, grad_U, grad_S, grad_Vh), None


def _svd_backward(U, S, Vh, gU, gS, gVh):
    """PyTorch's svd_backward: the part of the gradient that does not depend on the singular vectors'
    phases (signs)."""
    if gU is None and gVh is None:
        return (U * gS.unsqueeze(-2)) @ Vh if gS is not None else None
    m, n, k = U.shape[-2], Vh.shape[-1], S.shape[-1]
    is_complex = U._data.dtype.kind == "c"
    V, gV = _H(Vh), None if gVh is None else _H(gVh)
    S2 = S * S
    gaps = S2.unsqueeze(-2) - S2.unsqueeze(-1) + eye(k, dtype=S.dtype)  # s_j^2 - s_i^2, 1 on the diagonal
    inner, UhgU = 0, None
    if gU is not None:
        UhgU = _H(U) @ gU
        inner = (UhgU - _H(UhgU)) * S.unsqueeze(-2)
    if gV is not None:
        VhgV = _H(V) @ gV
        inner = inner + S.unsqueeze(-1) * (VhgV - _H(VhgV))
    inner = inner / gaps
    if is_complex:  # the diagonal is set below: gS, and the phase term of U^H gU
        inner = inner - _diag_embed(inner.diagonal(0, -2, -1))
        if UhgU is not None:
            inner = inner + _diag_embed(1j * imag(UhgU.diagonal(0, -2, -1)) / S)
    if gS is not None:
        inner = inner + _diag_embed(gS)
    if m > k and gU is not None:  # + (I - U U^H) gU S^-1 V^H
        gU_Sinv = gU / S.unsqueeze(-2)
        return (U @ inner + gU_Sinv - U @ (_H(U) @ gU_Sinv)) @ Vh
    if n > k and gV is not None:  # + U S^-1 gV^H (I - V V^H)
        Sinv_gVh = _H(gV / S.unsqueeze(-2))
        return U @ (inner @ Vh + Sinv_gVh - (Sinv_gVh @ V) @ Vh)
    return U @ inner @ Vh


_SVD = namedtuple("linalg_svd", ["U", "S", "Vh"])
_TorchSVD = namedtuple("svd", ["U", "S", "V"])


def linalg_svd(A, full_matrices: bool = True, *, driver=None):
    """ember.linalg.svd (see there)."""
    check_matrix(A, "linalg.svd")
    return _SVD(*SVD.apply(A, full_matrices))


def svd(input, some: bool = True, compute_uv: bool = True):
    """``torch.svd``: ``(U, S, V)`` with V (not V^T); reduced unless ``some=False``."""
    if not compute_uv:
        check_matrix(input, "svd")
        S = svdvals(input)
        m, n = input.shape[-2:]
        U = zeros(*input.shape[:-2], m, m, dtype=input.dtype)  # torch: zero-filled, full size whatever ``some``
        V = zeros(*input.shape[:-2], n, n, dtype=input.dtype)
        return _TorchSVD(U, S, V)
    U, S, Vh = linalg_svd(input, full_matrices=not some)
    return _TorchSVD(U, S, _H(Vh))


def svdvals(A, *, driver=None):
    """The singular values (descending) of each matrix."""
    check_matrix(A, "linalg.svdvals")
    if not (A.requires_grad and state.grad_enabled):
        return Tensor._wrap(_svd(A._data, compute_uv=False))
    return SVD.apply(A, False)[1]


# --- LU --------------------------------------------------------------------------------------------------------


__all__ = ["svd"]
METHODS = list(__all__)
INPLACE: list[str] = []
