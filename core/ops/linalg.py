"""Linear algebra: matmul (batched, broadcasting), mm, bmm, dot, outer, einsum, the matmul family
(addmm, baddbmm, tensordot, kron, ...) and, from decomposition.py, the top-level aliases of torch.linalg
(det, inverse, cholesky, qr, svd, ...)."""

from __future__ import annotations

import math
import string
import warnings

import numpy as np

from .._numpy_names import dim_from_axis
from ..autograd.grad_mode import state
from ..creation import eye, ones, zeros
from ..tensor import Tensor
from . import decomposition
from ._op import Op
from ._util import binary_operands, normalize_dim, result_type
from .arithmetic import where
from .complex_ops import conj
from .decomposition import *
from .joining import cat
from .reduce import norm
from .shape import roll

__all__ = ["addbmm", "addmm", "addmv", "addmv_", "addr", "adjoint", "baddbmm", "block_diag", "bmm", "cdist",
           "chain_matmul", "cross", "dot", "einsum", "ger", "inner", "kron", "matmul", "mm", "mv", "outer", "tensordot",
           "trace", "vander", "vdot"]
__all__ += decomposition.__all__
METHODS = ["matmul", "mm", "bmm", "mv", "dot", "inner", "outer", "ger", "addmm", "addbmm", "baddbmm", "addmv",
           "addr", "kron", "cross", "trace", "adjoint", "vdot"] + decomposition.METHODS
INPLACE = ["addmm", "addbmm", "baddbmm", "addmv", "addr"]


class MatMul(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[0] else None)
        x, y = a._data, b._data
        ctx.other_is_matrix = y.ndim == 2
        ctx.other_transposed = y.ndim == 2 and y.strides[0] < y.strides[1]  # x @ W.t()
        if x.ndim > 2 and y.ndim == 2 and x.shape[-1] > 0:
            # numpy's stacked loop skips BLAS when y is a transposed view (x @ W.T: far slower);
            # folding the batch axes into rows makes it one 2-D BLAS call.
            return np.matmul(x.reshape(-1, x.shape[-1]), y).reshape(*x.shape[:-1], y.shape[-1])
        return np.matmul(x, y)

    @staticmethod
    def meta(ctx, a, b):  # meta operands (ember._device): the product's shape and dtype, not the product
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[0] else None)
        ctx.other_is_matrix, ctx.other_transposed = b._data.ndim == 2, False
        x, y = a._data, b._data
        shape = (*np.broadcast_shapes(x.shape[:-2], y.shape[:-2]), x.shape[-2], y.shape[-1])
        return np.broadcast_to(np.zeros((), np.result_type(x, y)), shape)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        # dA = G B^T, dB = A^T G (batch axes are summed back by the engine)
        ga = grad @ b.mT.conj() if ctx.needs_input_grad[0] else None  # conj: complex operands, as torch
        gb = None
        if ctx.needs_input_grad[1]:
            if ctx.other_is_matrix and a.shape[-1] > 0:
                # one (K, N*L) @ (N*L, M) product instead of a stack of them summed by the engine
                a2, g2 = a, grad
                if a.ndim > 2:
                    a2, g2 = a.reshape(-1, a.shape[-1]), grad.reshape(-1, grad.shape[-1])
                # a transposed weight (x @ W.t()) gets its gradient in its own layout, so that W's is
                # row-major and the engine hands it to W.grad without a copy (torch's mm_mat2_backward)
                gb = (g2.mT @ a2.conj()).mT if ctx.other_transposed else a2.mT.conj() @ g2
            else:
                gb = a.mT.conj() @ grad
        return ga, gb


class Linear(Op):
    """``input @ weight.T + bias`` as one node (``nn.Linear``, ``F.linear``; torch's ``addmm``): the batch
    axes of ``input`` folded into rows, one BLAS product, the bias added in place. The weight's gradient
    ``gᵀ x`` is computed in the weight's (row-major) layout, so the engine hands it to ``.grad`` as it is.
    ``input`` is 1-D or more, ``weight`` (out, in), ``bias`` None or (out,) / (1,), all of one dtype."""

    @staticmethod
    def forward(ctx, input, weight, bias):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(input if needs[1] else None, weight if needs[0] else None)
        ctx.matrix, ctx.has_bias = input._data.ndim == 2, bias is not None
        x, w = input._data, weight._data
        out_dtype = x.dtype
        if out_dtype == np.float16:  # numpy has no float16 BLAS: compute in float32, round once (as torch)
            x, w = x.astype(np.float32), w.astype(np.float32)
        rows = x.reshape(math.prod(x.shape[:-1]), x.shape[-1]) if x.ndim > 2 else x
        out = np.matmul(rows, w.T)
        if bias is not None:
            out += bias._data
        if out.dtype != out_dtype:
            out = out.astype(out_dtype)
        return out.reshape(*x.shape[:-1], w.shape[0]) if x.ndim > 2 else out

    @staticmethod
    def meta(ctx, input, weight, bias):  # meta operands (ember._device): the shape and dtype only
        needs = ctx.needs_input_grad
        ctx.save_for_backward(input if needs[1] else None, weight if needs[0] else None)
        ctx.matrix, ctx.has_bias = input._data.ndim == 2, bias is not None
        return np.broadcast_to(np.zeros((), input._data.dtype), (*input._data.shape[:-1], weight._data.shape[0]))

    @staticmethod
    def backward(ctx, grad):
        input, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if state.grad_enabled:  # create_graph=True: the same formulas in ops, differentiable again
            return _linear_backward_ops(grad, input, weight, needs)
        g = grad._data
        complex_ = g.dtype.kind == "c"
        half = g.dtype == np.float16
        if half:
            g = g.astype(np.float32)
        out_features = g.shape[-1]
        rows = g.reshape(math.prod(g.shape[:-1]), out_features) if g.ndim != 2 else g
        # dX = G W, dW = Gᵀ X (a fresh row-major array, W's layout), db = G summed over the leading axes
        grad_input = grad_weight = grad_bias = None
        if needs[0]:
            w = weight._data.astype(np.float32) if half else weight._data
            grad_input = np.matmul(rows, w.conj() if complex_ else w).reshape(*g.shape[:-1], w.shape[1])
        if needs[1]:
            x = input._data.astype(np.float32) if half else input._data
            if x.ndim == 1:
                grad_weight = np.multiply.outer(g, x.conj() if complex_ else x)
            else:
                x = x.reshape(rows.shape[0], x.shape[-1]) if x.ndim != 2 else x
                grad_weight = np.matmul(rows.T, x.conj() if complex_ else x)
        if needs[2]:
            grad_bias = rows.sum(0) if g.ndim > 1 else g
        return tuple(None if a is None else Tensor._wrap(a.astype(np.float16) if half else a)
                     for a in (grad_input, grad_weight, grad_bias))

    def name(self) -> str:  # torch's names for the 2-D forms (without its version suffix, as Ember's ops)
        if getattr(self, "matrix", False):
            return "AddmmBackward" if self.has_bias else "MmBackward"
        return "LinearBackward"


def _linear_backward_ops(grad, input, weight, needs):
    """``Linear``'s gradients written with ops, for gradients of gradients."""
    complex_ = grad._data.dtype.kind == "c"
    rows = grad.reshape(math.prod(grad.shape[:-1]), grad.shape[-1]) if grad.ndim != 2 else grad
    grad_input = grad_weight = grad_bias = None
    if needs[0]:
        grad_input = matmul(grad, weight.conj() if complex_ else weight)
    if needs[1]:
        x = input.conj() if complex_ else input
        if x.ndim == 1:
            grad_weight = outer(grad, x)
        else:
            grad_weight = matmul(rows.mT, x.reshape(rows.shape[0], x.shape[-1]) if x.ndim != 2 else x)
    if needs[2]:
        grad_bias = rows.sum(0) if grad.ndim > 1 else grad
    return grad_input, grad_weight, grad_bias


def _shape_error(op, a, b):
    return RuntimeError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied")


def matmul(input, other):
    """Matrix product with NumPy/PyTorch semantics: 1-D operands are promoted and the added axis
    removed after; leading (batch) axes broadcast."""
    if getattr(input, "is_sparse", False) or getattr(other, "is_sparse", False):
        return _sparse_product("matmul", input, other)
    a, b = binary_operands(input, other)
    if a._data.ndim == 0 or b._data.ndim == 0:
        raise RuntimeError(
            f"matmul: both arguments to matmul need to be at least 1D, but they are {a._data.ndim}D and {b._data.ndim}D"
        )
    if a._data.shape[-1] != b._data.shape[-2 if b._data.ndim > 1 else 0]:
        raise _shape_error("matmul", a, b)
    if a._data.ndim == 1 and b._data.ndim == 1:
        return (a * b).sum()
    if a._data.ndim == 1:
        return MatMul.apply(a.unsqueeze(0), b).squeeze(-2)
    if b._data.ndim == 1:
        return MatMul.apply(a, b.unsqueeze(-1)).squeeze(-1)
    try:
        np.broadcast_shapes(a._data.shape[:-2], b._data.shape[:-2])
    except ValueError:
        raise _shape_error("matmul", a, b) from None
    return MatMul.apply(a, b)


def _sparse_product(op: str, *operands, **options):
    """A product with a sparse COO operand: ``ember.sparse`` computes it (it binds ``_sparse_product`` onto
    the sparse tensor class, a layer above this one)."""
    sparse = next(t for t in operands[-2:] if getattr(t, "is_sparse", False))
    return sparse._sparse_product(op, *operands, **options)


def mm(input, mat2):
    """The product of two 2-D matrices (no broadcasting)."""
    if input.is_sparse or mat2.is_sparse:
        return _sparse_product("mm", input, mat2)
    if input._data.ndim != 2 or mat2._data.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got {input._data.ndim}-D and {mat2._data.ndim}-D")
    if input._data.shape[1] != mat2._data.shape[0]:
        raise _shape_error("mm", input, mat2)
    return matmul(input, mat2)


def bmm(input, mat2):
    """The products of two batches of matrices, ``(b, n, m) @ (b, m, p)`` (no broadcasting)."""
    if input._data.ndim != 3 or mat2._data.ndim != 3:
        raise RuntimeError(f"bmm: expected 3-D tensors, got {input._data.ndim}-D and {mat2._data.ndim}-D")
    if input._data.shape[0] != mat2._data.shape[0] or input._data.shape[2] != mat2._data.shape[1]:
        raise _shape_error("bmm", input, mat2)
    return matmul(input, mat2)


def mv(input, vec):
    """The product of a 2-D matrix and a 1-D vector."""
    if input._data.ndim != 2 or vec._data.ndim != 1 or input._data.shape[1] != vec._data.shape[0]:
        raise _shape_error("mv", input, vec)
    return matmul(input, vec)


def dot(input, other):
    """The dot product of two 1-D tensors of the same size."""
    if input._data.ndim != 1 or other._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input._data.ndim}D and {other._data.ndim}D tensors")
    if input._data.shape != other._data.shape:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{input._data.shape[0]}] and src [{other._data.shape[0]}] "
            "to have the same number of elements, but got different sizes"
        )
    return (input * other).sum()


def inner(input, other):
    """Sums products over the last axis: the result has shape ``input.shape[:-1] + other.shape[:-1]``
    (a 0-D operand multiplies, as in torch)."""
    if input._data.ndim == 0 or other._data.ndim == 0:
        return input * other
    if input._data.shape[-1] != other._data.shape[-1]:
        raise _shape_error("inner", input, other)
    size = input._data.shape[-1]
    flat = matmul(input.reshape(-1, size), other.reshape(-1, size).mT)
    return flat.reshape(*input._data.shape[:-1], *other._data.shape[:-1])


def vdot(input, other):
    """The dot product ``sum(conj(input) * other)`` of two 1-D tensors."""
    if input._data.dtype.kind == "c":
        input = conj(input)
    return dot(input, other)


def adjoint(input):
    """The conjugate transpose of the last two axes (a view-like op; the transpose of a real tensor)."""
    return conj(input.mT) if input._data.dtype.kind == "c" else input.mT


def outer(input, vec2):
    """The outer product of two 1-D tensors (``ger`` is the same)."""
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


ger = outer


class Einsum(Op):
    @staticmethod
    def forward(ctx, equation, *operands):
        ctx.save_for_backward(*operands)
        ctx.equation = equation
        arrays = [o._data for o in operands]
        return np.asarray(np.einsum(equation, *arrays, optimize=_einsum_optimize(arrays)))

    @staticmethod
    def backward(ctx, grad):
        operands = ctx.saved_tensors
        inputs, output = ctx.equation.split("->")
        terms = inputs.split(",")
        grads = [None]
        for i, term in enumerate(terms):
            grads.append(_einsum_operand_grad(grad, output, terms, operands, i) if ctx.needs_input_grad[i + 1] else None)
        return tuple(grads)


def _einsum_optimize(arrays) -> bool:
    """Whether ``np.einsum`` should plan its contraction (``optimize=True``): with three operands or more, and
    with large ones, where the plan hands the contraction to BLAS (a linear attention's ``bhdn,bhen->bhde``
    runs ~7x faster); the planning costs more than a small product takes (timings: benchmarks/README.md,
    2026-12-07, sixth session)."""
    return len(arrays) > 2 or sum(a.size for a in arrays) >= 1 << 16


def _einsum_operand_grad(grad, output, terms, operands, i):
    """The gradient of operand ``i`` contracts the output gradient with every other operand.

    Letters summed within this operand alone get a ones vector (the gradient is constant
    along them); letters repeated in this operand (a diagonal) are put back with identities.
    """
    term = terms[i]
    sizes = dict(zip(term, operands[i].shape))
    unique = "".join(dict.fromkeys(term))
    others = [t for k, t in enumerate(terms) if k != i]
    available = set(output + "".join(others))
    missing = [c for c in unique if c not in available]
    subscripts = [output] + others + missing
    tensors = [grad] + [o.conj() for k, o in enumerate(operands) if k != i]  # conj: complex, as torch
    tensors += [ones(sizes[c], dtype=grad.dtype) for c in missing]
    g = einsum(",".join(subscripts) + "->" + unique, *tensors)
    if len(unique) == len(term):
        return g
    fresh = iter(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in term)
    target, eyes, eye_terms, seen = "", [], [], set()
    for c in term:
        if c in seen:
            renamed = next(fresh)
            eyes.append(eye(sizes[c], dtype=grad.dtype))
            eye_terms.append(c + renamed)
            target += renamed
        else:
            seen.add(c)
            target += c
    return einsum(",".join([unique] + eye_terms) + "->" + target, g, *eyes)


def einsum(equation, *operands):
    """Einstein summation (explicit ``->`` or implicit output, ``...`` for broadcast axes, or torch's sublist
    form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``); differentiable in every operand."""
    if not isinstance(equation, str):
        equation, operands = _from_sublists((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    equation = equation.replace(" ", "")
    if "..." in equation:
        equation, operands = _expand_ellipsis(equation, operands)
    if "->" not in equation:
        terms = equation.split(",")
        counts = {}
        for c in "".join(terms):
            counts[c] = counts.get(c, 0) + 1
        equation += "->" + "".join(sorted(c for c, n in counts.items() if n == 1))
    inputs = equation.split("->")[0].split(",")
    if len(inputs) != len(operands):
        raise RuntimeError(f"einsum(): {len(inputs)} operands in the equation but {len(operands)} given")
    for term, op in zip(inputs, operands):
        if len(term) != op.ndim:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(term)}) does not match the number "
                f"of dimensions ({op.ndim}) for operand {inputs.index(term)}"
            )
    target = result_type(*operands).numpy
    operands = tuple(o if o._data.dtype == target else o.to(target) for o in operands)
    return Einsum.apply(equation, *operands)


def _from_sublists(arguments):
    """``(a, [0, 1], b, [1, 2], [0, 2])`` -> ``("ab,bc->ac", (a, b))``: subscripts 0-51 are letters."""
    letters = string.ascii_letters  # torch: 0-25 are a-z, 26-51 are A-Z

    def term(sublist):
        out = ""
        for index in sublist:
            if index is Ellipsis:
                out += "..."
            elif not 0 <= index < 52:
                raise RuntimeError("einsum(): subscript in subscript list is not within the valid range [0, 52)")
            else:
                out += letters[index]
        return out

    has_output = len(arguments) % 2 == 1
    pairs = arguments[:-1] if has_output else arguments
    equation = ",".join(term(sublist) for sublist in pairs[1::2])
    if has_output:
        equation += "->" + term(arguments[-1])
    return equation, tuple(pairs[0::2])


def _expand_ellipsis(equation: str, operands):
    """Writes ``...`` out as fresh letters (the broadcast batch axes, right-aligned as in torch) and
    expands each operand's ellipsis axes to the broadcast sizes."""
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(operands):
        raise RuntimeError(f"einsum(): {len(terms)} operands in the equation but {len(operands)} given")
    fresh = [c for c in string.ascii_letters if c not in equation]
    spans = []  # per operand: (start, number of ellipsis axes) or None
    for i, (term, op) in enumerate(zip(terms, operands)):
        if "..." not in term:
            spans.append(None)
            continue
        count = op.ndim - (len(term) - 3)
        if count < 0:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(term) - 3}) is more "
                               f"than the number of dimensions ({op.ndim}) for operand {i}")
        spans.append((term.index("..."), count))
    batch: tuple = ()  # the broadcast ellipsis shape, checked right-aligned as torch does
    for i, (op, span) in enumerate(zip(operands, spans)):
        if not span:
            continue
        own = tuple(op.shape[span[0]:span[0] + span[1]])
        for d in range(1, min(len(own), len(batch)) + 1):
            if own[-d] != batch[-d] and 1 not in (own[-d], batch[-d]):
                raise RuntimeError(f"einsum(): dimension {len(own) - d} covered by ellipsis in operand {i} has size "
                                   f"{own[-d]} which does not broadcast with previously seen ellipsis with size "
                                   f"{batch[-d]} for the respective dimension")
        batch = np.broadcast_shapes(batch, own)
    letters = "".join(fresh[:len(batch)])
    new_terms, new_operands = [], []
    for term, op, span in zip(terms, operands, spans):
        if span:
            start, count = span
            own = batch[len(batch) - count:] if count else ()
            target = tuple(op.shape[:start]) + own + tuple(op.shape[start + count:])
            op = op.expand(target) if target != tuple(op.shape) else op
            term = term.replace("...", letters[len(letters) - count:] if count else "")
        new_terms.append(term)
        new_operands.append(op)
    if arrow:
        output = output.replace("...", letters)
    else:  # implicit output: the ellipsis axes, then the letters used once, sorted
        counts = {}
        for c in inputs.replace("...", "").replace(",", ""):
            counts[c] = counts.get(c, 0) + 1
        output = letters + "".join(sorted(c for c, n in counts.items() if n == 1))
    return ",".join(new_terms) + "->" + output, tuple(new_operands)


# --- the matmul family: beta * input + alpha * product ---------------------------------------------------------

def _add_scaled(input, product, beta, alpha):
    """``beta * input + alpha * product``; with ``beta == 0`` the input is ignored (its nan and inf too)."""
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        input = where(Tensor._wrap(np.zeros((), bool)), input, 0)
    elif beta != 1:
        input = input * beta
    return input + product


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)`` (``input`` broadcasts)."""
    if mat1.is_sparse or mat2.is_sparse:
        return _sparse_product("addmm", input, mat1, mat2, beta=beta, alpha=alpha)
    for name, mat in (("mat1", mat1), ("mat2", mat2)):
        if mat.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {mat.ndim}-D tensor")
    if mat1.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({mat1.shape[0]}x{mat1.shape[1]} and "
                           f"{mat2.shape[0]}x{mat2.shape[1]})")
    return _add_scaled(input, mm(mat1, mat2), beta, alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat @ vec)``."""
    if mat.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {mat.ndim}, {vec.ndim}")
    if mat.shape[1] != vec.shape[0]:
        size = "x".join(map(str, input.shape))
        raise RuntimeError(f"size mismatch, got input ({size}), mat ({mat.shape[0]}x{mat.shape[1]}), "
                           f"vec ({vec.shape[0]})")
    return _add_scaled(input, mv(mat, vec), beta, alpha)


def addmv_(input, mat, vec, *, beta=1, alpha=1):
    """``addmv`` written into ``input`` (torch has this in-place form as a function too)."""
    return input.addmv_(mat, vec, beta=beta, alpha=alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    """``beta * input + alpha * outer(vec1, vec2)``."""
    if vec1.ndim != 1 or vec2.ndim != 1:
        raise RuntimeError(f"addr: Expected 1-D argument vec1, but got {vec1.ndim}-D" if vec1.ndim != 1 else
                           f"addr: Expected 1-D argument vec2, but got {vec2.ndim}-D")
    return _add_scaled(input, outer(vec1, vec2), beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    return _add_scaled(input, bmm(batch1, batch2), beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * sum_b batch1[b] @ batch2[b]``."""
    return _add_scaled(input, bmm(batch1, batch2).sum(0), beta, alpha)


def chain_matmul(*matrices):
    """The product of 2-D matrices, left to right (deprecated in torch for ``linalg.multi_dot``)."""
    warnings.warn("ember.chain_matmul is deprecated, as torch.chain_matmul is. Use ember.linalg.multi_dot "
                  "instead, which accepts a list of two or more tensors rather than multiple parameters.",
                  UserWarning, stacklevel=2)
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    for i, m in enumerate(matrices):
        if m.ndim != 2:
            raise RuntimeError(f"Tensor dimension is {m.ndim}, expected 2 instead.")
    result = matrices[0]
    for m in matrices[1:]:
        result = mm(result, m)
    return result


# --- products of tensors ---------------------------------------------------------------------------------------

def tensordot(a, b, dims=2, out=None):
    """Sums the products of ``a``'s and ``b``'s elements over ``dims`` (an int: the last ``dims`` of
    ``a`` with the first of ``b``; or two lists of axes)."""
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(dims_a) != len(dims_b):
        raise RuntimeError("both dimension lists should have same length")
    dims_a = [normalize_dim(d, a.ndim, "tensordot") for d in dims_a]
    dims_b = [normalize_dim(d, b.ndim, "tensordot") for d in dims_b]
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a.shape[da]} in dim "
                               f"{da} and second has size {b.shape[db]} in dim {db}")
    free_a = [d for d in range(a.ndim) if d not in dims_a]
    free_b = [d for d in range(b.ndim) if d not in dims_b]
    size = math.prod(a.shape[d] for d in dims_a)
    left = a.permute(*free_a, *dims_a).reshape(-1, size)
    right = b.permute(*dims_b, *free_b).reshape(size, -1)
    return matmul(left, right).reshape(*(a.shape[d] for d in free_a), *(b.shape[d] for d in free_b))


def kron(input, other):
    """The Kronecker product: every element of ``input`` scales a copy of ``other``."""
    n = max(input.ndim, other.ndim)
    a_shape = (1,) * (n - input.ndim) + tuple(input.shape)
    b_shape = (1,) * (n - other.ndim) + tuple(other.shape)
    a = input.reshape(*(s for size in a_shape for s in (size, 1)))
    b = other.reshape(*(s for size in b_shape for s in (1, size)))
    return (a * b).reshape(*(x * y for x, y in zip(a_shape, b_shape)))


def trace(input):
    """The sum of a matrix's diagonal."""
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return input.diagonal().sum()


def cross(input, other, dim=None, *, axis=None):
    """The cross product of 3-vectors along ``dim`` (by default the first axis of size 3)."""
    if axis is not None:
        dim = dim_from_axis("cross", dim, axis)
    shape = np.broadcast_shapes(tuple(input.shape), tuple(other.shape))
    if dim is None:
        warnings.warn("Using ember.cross without specifying the dim arg is deprecated, as in torch. Please either "
                      "pass the dim explicitly or simply use ember.linalg.cross.", UserWarning, stacklevel=2)
        dim = next((d for d, size in enumerate(shape) if size == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    return _cross(input, other, dim, "linalg.cross")


def _cross(input, other, given_dim, op):
    if op == "linalg.cross" and input.ndim != other.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    dim = normalize_dim(given_dim, max(input.ndim, other.ndim), op)
    offset_a, offset_b = max(other.ndim - input.ndim, 0), max(input.ndim - other.ndim, 0)
    size_a = input.shape[dim - offset_a] if dim >= offset_a else 1
    size_b = other.shape[dim - offset_b] if dim >= offset_b else 1
    if size_a != 3 or size_b != 3:
        raise RuntimeError(f"{op}: inputs dimension {given_dim} must have length 3. Got {size_a} and {size_b}")
    a, b = binary_operands(input, other)
    shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    a, b = a.expand(shape), b.expand(shape)
    # (a x b)_i = a_{i+1} b_{i+2} - a_{i+2} b_{i+1}
    return roll(a, -1, dim) * roll(b, -2, dim) - roll(a, -2, dim) * roll(b, -1, dim)


def cdist(x1, x2, p: float = 2.0, compute_mode=None):
    """The p-norm distance between each row of ``x1`` and each row of ``x2`` (batched)."""
    for name, x in (("X1", x1), ("X2", x2)):
        if x.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {x.ndim}D")
        if x._data.dtype.kind != "f":
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: {x.dtype}")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    return norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), p=p, dim=-1)


def block_diag(*tensors):
    """A block-diagonal matrix from 0-, 1- (one row) and 2-D tensors."""
    blocks = []
    for i, t in enumerate(tensors):
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t.ndim} dimensions")
        blocks.append(t.reshape(1, -1) if t.ndim < 2 else t)
    if not blocks:
        return zeros(1, 0)
    dtype = result_type(*blocks)
    width = sum(b.shape[1] for b in blocks)
    rows, column = [], 0
    for b in blocks:
        b = b.to(dtype.numpy) if b._data.dtype != dtype.numpy else b
        rows_, cols = b.shape
        rows.append(cat([zeros(rows_, column, dtype=dtype), b, zeros(rows_, width - column - cols, dtype=dtype)], 1))
        column += cols
    return cat(rows, 0)


def vander(x, N=None, increasing: bool = False):
    """The Vandermonde matrix: columns ``x**(N-1), ..., x, 1`` (reversed when ``increasing``)."""
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    N = x.shape[0] if N is None else N
    if N < 0:
        raise RuntimeError("N must be non-negative.")
    if x._data.dtype.kind in "biu":
        x = x.to(np.int64)
    powers = range(N) if increasing else range(N - 1, -1, -1)
    columns = [ones(x.shape[0], dtype=x.dtype) if k == 0 else x**k for k in powers]
    return Tensor._wrap(np.empty((x.shape[0], 0), x._data.dtype)) if N == 0 else cat(
        [c.unsqueeze(1) for c in columns], 1)
