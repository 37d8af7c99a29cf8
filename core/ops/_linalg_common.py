"""What the linear-algebra op files share: ``LinAlgError``, the input checks with torch's messages, the
LAPACK calls that report a failing matrix (info), and small array helpers."""

from __future__ import annotations

import warnings

import numpy as np

from ..autograd.grad_mode import state
from ..creation import eye
from ..tensor import Tensor
from ._op import _TORCH_TYPE_NAMES, Op
from .complex_ops import conj


class LinAlgError(RuntimeError):
    """A matrix is singular or not positive-definite (``torch.linalg.LinAlgError``)."""


# --- input checks and batched LAPACK errors ----------------------------------------------------------------

def check_float(A, op: str) -> None:
    """torch.linalg's ops take float32 / float64 (and complex) tensors only."""
    kind = A._data.dtype
    if kind.kind not in "fc":
        name = _TORCH_TYPE_NAMES.get(kind.name, kind.name)
        raise RuntimeError(f"{op}: Expected a floating point or complex tensor as input. Got {name}")
    if kind == np.float16:
        raise RuntimeError(f"{op}: Low precision dtypes not supported. Got Half")


def check_matrix(A, op: str, square: bool = False) -> None:
    """A batch of matrices (at least 2-D), square when ``square``; float dtype."""
    if A._data.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    check_float(A, op)
    if square and A._data.shape[-1] != A._data.shape[-2]:
        m, n = A._data.shape[-2:]
        raise RuntimeError(f"{op}: A must be batches of square matrices, but they are {m} by {n} matrices")


def _batch_prefix(shape, index) -> str:
    """torch names the failing matrix of a batch: ``(Batch element 3): ``."""
    if len(shape) <= 2:
        return ""
    return f"(Batch element {int(np.ravel_multi_index(index, shape[:-2]))}): "


def _lu_info(a: np.ndarray) -> int:
    """LAPACK getrf's info for one matrix: 1 + the index of the first zero pivot, 0 if none."""
    import scipy.linalg  # lazy: heavy

    with warnings.catch_warnings():  # the singular matrix is the case being diagnosed
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        lu, _ = scipy.linalg.lu_factor(a, check_finite=False)
    zero = np.flatnonzero(np.diagonal(lu) == 0)
    return int(zero[0]) + 1 if zero.size else 0


def _potrf(a: np.ndarray) -> tuple[np.ndarray, int]:
    """LAPACK potrf on one matrix: the lower factor and info (order of the failing leading minor)."""
    import scipy.linalg.lapack  # lazy: heavy

    potrf = scipy.linalg.lapack.get_lapack_funcs("potrf", (a,))
    factor, info = potrf(a, lower=True, clean=True)
    return np.tril(factor), int(info)


def _batches(shape):
    return np.ndindex(*shape[:-2]) if len(shape) > 2 else [()]


def _inverse_with_info(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    try:
        return np.linalg.inv(a), np.zeros(a.shape[:-2], np.int32)
    except np.linalg.LinAlgError:
        out, info = np.empty_like(a), np.zeros(a.shape[:-2], np.int32)
        for index in _batches(a.shape):
            info[index] = _lu_info(a[index])
            with np.errstate(all="ignore"):
                out[index] = np.linalg.pinv(a[index]) if info[index] else np.linalg.inv(a[index])
            if info[index]:
                out[index] = np.nan
        return out, info


def _raise_for_info(info: np.ndarray, shape, message: str, op: str) -> None:
    failed = np.argwhere(info.reshape(shape[:-2]) != 0) if len(shape) > 2 else ([()] if info else [])
    if len(failed):
        index = tuple(failed[0])
        raise LinAlgError(f"{op}: {_batch_prefix(shape, index)}{message.format(int(info[index]))}")


_SINGULAR = "The diagonal element {} is zero, the inversion could not be completed because the input matrix is singular."
_NOT_PD = ("The factorization could not be completed because the input is not positive-definite "
           "(the leading minor of order {} is not positive-definite).")


def _svd(a: np.ndarray, **kwargs):
    """numpy's SVD with torch's error for input it cannot converge on (nan or inf)."""
    try:
        return np.linalg.svd(a, **kwargs)
    except np.linalg.LinAlgError:
        raise LinAlgError("linalg.svd: The algorithm failed to converge because the input matrix contained "
                          "non-finite values.") from None


def _H(X):
    """The conjugate transpose (the transpose of a real matrix)."""
    return conj(X.mT) if X._data.dtype.kind == "c" else X.mT


def _diag_embed(v):
    """A batch of diagonal matrices from a batch of vectors (differentiable)."""
    return v.unsqueeze(-1) * eye(v.shape[-1], dtype=v.dtype)


# --- inverse, determinant ----------------------------------------------------------------------------------

def _outputs(ctx, rerun):
    """The op's outputs for its backward: the saved arrays, or, when the backward is being recorded
    (create_graph=True), ``rerun`` on the saved input so that they are differentiable again."""
    if state.grad_enabled:
        return rerun(*ctx.saved_tensors)
    return tuple(Tensor._wrap(a) for a in ctx.arrays)


class _NotDifferentiable(Op):
    """Records an op torch has no derivative for: its backward raises torch's error."""

    @staticmethod
    def forward(ctx, A, value, message):
        ctx.message = message
        return value

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError(ctx.message)


def _lapack(name, a):
    import scipy.linalg.lapack  # lazy: heavy

    return scipy.linalg.lapack.get_lapack_funcs(name, (a,))
