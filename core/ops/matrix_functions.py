"""Functions of a matrix: det, slogdet / logdet, matrix_rank, matrix_exp and matrix_power, with PyTorch's
backward formulas written with Ember ops (so second derivatives work)."""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..creation import eye, zeros
from ..tensor import Tensor
from ._linalg_common import _H, _outputs, _svd, check_matrix
from ._op import Op
from .complex_ops import conj, imag
from .joining import cat
from .solves import _tolerances, inv
from .spectral import SVD


class Det(Op):
    @staticmethod
    def forward(ctx, A):
        ctx.save_for_backward(A)
        ctx.save_output()
        return np.asarray(np.linalg.det(A._data))

    @staticmethod
    def backward(ctx, grad):
        (A,) = ctx.saved_tensors
        det = ctx.output
        if (det._data == 0).any():
            cofactors = _cofactors(A)
        else:  # d det(A) = det(A) tr(A^-1 dA): the cofactor matrix is det(A) A^-T
            cofactors = det.unsqueeze(-1).unsqueeze(-1) * inv(A).mT
        cofactors = conj(cofactors) if cofactors._data.dtype.kind == "c" else cofactors
        return grad.unsqueeze(-1).unsqueeze(-1) * cofactors


def _cofactors(A):
    """The cofactor matrix (the gradient of det) of possibly singular matrices, through the SVD
    ``A = U S V^H``: ``det(U) det(V^H) U diag(prod_{j != i} s_j) V^H``."""
    U, S, Vh = SVD.apply(A, False)
    ones = zeros(*S.shape[:-1], 1, dtype=S.dtype) + 1
    before = cat([ones, S[..., :-1]], -1).cumprod(-1)  # prod_{j < i} s_j
    after = cat([ones, S.flip(-1)[..., :-1]], -1).cumprod(-1).flip(-1)  # prod_{j > i} s_j
    phase = Det.apply(U) * Det.apply(Vh)
    return phase.unsqueeze(-1).unsqueeze(-1) * (U * (before * after).unsqueeze(-2)) @ Vh


def det(A):
    """The determinant of each square matrix."""
    check_matrix(A, "linalg.det", square=True)
    return Det.apply(A)


class Slogdet(Op):
    @staticmethod
    def forward(ctx, A):
        ctx.save_for_backward(A)
        sign, logabsdet = np.linalg.slogdet(A._data)
        ctx.arrays = (np.asarray(sign), np.asarray(logabsdet))
        return ctx.arrays

    @staticmethod
    def backward(ctx, grad_sign, grad_logabsdet):
        (A,) = ctx.saved_tensors
        # d log det A = tr(A^-1 dA) =: z; log|det A| = Re z, and a complex sign turns by i Im z (a real
        # sign is piecewise constant: no gradient)
        grad_z = grad_logabsdet
        if A._data.dtype.kind == "c":
            sign = _outputs(ctx, Slogdet.apply)[0]
            grad_z = grad_z - 1j * imag(conj(grad_sign) * sign)
        return grad_z.unsqueeze(-1).unsqueeze(-1) * _H(inv(A))


_Slogdet = namedtuple("linalg_slogdet", ["sign", "logabsdet"])


def slogdet(A):
    """``(sign, logabsdet)`` of each square matrix's determinant."""
    check_matrix(A, "linalg.slogdet", square=True)
    return _Slogdet(*Slogdet.apply(A))


def logdet(input):
    """log det: ``nan`` where the determinant is negative, ``-inf`` where it is zero."""
    check_matrix(input, "logdet", square=True)
    sign, logabsdet = Slogdet.apply(input)
    if input._data.dtype.kind == "c":  # log det = log|det| + i arg(det)
        return logabsdet + sign.log()
    return logabsdet + sign.detach().log()  # log(-1) = nan, log(0) = -inf; a real sign has no gradient


# --- solves ------------------------------------------------------------------------------------------------

def matrix_rank(A, *, atol=None, rtol=None, hermitian: bool = False):
    """The number of singular values above ``max(atol, rtol * largest)`` (an int64 tensor)."""
    check_matrix(A, "linalg.matrix_rank")
    atol, rtol = _tolerances(A, atol, rtol)
    a = A._data
    size = np.abs(np.linalg.eigvalsh(a)) if hermitian else _svd(a, compute_uv=False)
    cutoff = np.maximum(atol, rtol * size.max(-1, keepdims=True, initial=0.0))
    return Tensor._wrap(np.asarray((size > cutoff).sum(-1), dtype=np.int64))


class MatrixExp(Op):
    @staticmethod
    def forward(ctx, A):
        import scipy.linalg  # lazy: heavy

        ctx.save_for_backward(A)
        return np.asarray(scipy.linalg.expm(A._data), dtype=A._data.dtype)

    @staticmethod
    def backward(ctx, grad):
        (A,) = ctx.saved_tensors
        # the Frechet derivative: exp([[A^T, G], [0, A^T]]) holds the gradient in its upper-right block
        n = A.shape[-1]
        At = _H(A).expand(grad.shape)
        block = cat([cat([At, grad], -1), cat([zeros(grad.shape, dtype=grad.dtype), At], -1)], -2)
        return MatrixExp.apply(block)[..., :n, n:]


def matrix_exp(A):
    """The matrix exponential of each square matrix."""
    check_matrix(A, "linalg.matrix_exp", square=True)
    return MatrixExp.apply(A)


def matrix_power(A, n: int):
    """``A`` multiplied by itself ``n`` times (``n < 0``: of its inverse; ``n = 0``: the identity)."""
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_power: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    if n == 0:
        return eye(A.shape[-1], dtype=A.dtype).expand(A.shape).clone()
    if n < 0:
        A, n = inv(A, "linalg.inv"), -n
    result, square = None, A
    while True:  # binary powering: log2(n) products
        if n & 1:
            result = square if result is None else result @ square
        n >>= 1
        if not n:
            return result
        square = square @ square


__all__ = ["det", "logdet", "matrix_exp", "matrix_power", "slogdet"]
METHODS = list(__all__)
INPLACE: list[str] = []
