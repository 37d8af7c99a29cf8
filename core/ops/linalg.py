"""Linear algebra: matmul (batched, broadcasting), mm, bmm, dot, outer, einsum."""

from __future__ import annotations

import numpy as np

from ..creation import eye, ones
from ._op import Op
from ._util import binary_operands, result_type

__all__ = ["bmm", "dot", "einsum", "ger", "inner", "matmul", "mm", "mv", "outer"]
METHODS = ["matmul", "mm", "bmm", "mv", "dot", "inner", "outer", "ger"]
INPLACE: list[str] = []


class MatMul(Op):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b if ctx.needs_input_grad[0] else None)
        x, y = a._data, b._data
        ctx.other_is_matrix = y.ndim == 2
        if x.ndim > 2 and y.ndim == 2 and x.shape[-1] > 0:
            # numpy's stacked loop skips BLAS when y is a transposed view (x @ W.T: far slower);
            # folding the batch axes into rows makes it one 2-D BLAS call.
            return np.matmul(x.reshape(-1, x.shape[-1]), y).reshape(*x.shape[:-1], y.shape[-1])
        return np.matmul(x, y)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        # dA = G B^T, dB = A^T G (batch axes are summed back by the engine)
        ga = grad @ b.mT if ctx.needs_input_grad[0] else None
        gb = None
        if ctx.needs_input_grad[1]:
            if a.ndim > 2 and ctx.other_is_matrix and a.shape[-1] > 0:
                # one (K, N*L) @ (N*L, M) product instead of a stack of them summed by the engine
                gb = a.reshape(-1, a.shape[-1]).mT @ grad.reshape(-1, grad.shape[-1])
            else:
                gb = a.mT @ grad
        return ga, gb


def _shape_error(op, a, b):
    return RuntimeError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied")


def matmul(input, other):
    """Matrix product with NumPy/PyTorch semantics: 1-D operands are promoted and the added axis
    removed after; leading (batch) axes broadcast."""
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


def mm(input, mat2):
    if input._data.ndim != 2 or mat2._data.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got {input._data.ndim}-D and {mat2._data.ndim}-D")
    if input._data.shape[1] != mat2._data.shape[0]:
        raise _shape_error("mm", input, mat2)
    return matmul(input, mat2)


def bmm(input, mat2):
    if input._data.ndim != 3 or mat2._data.ndim != 3:
        raise RuntimeError(f"bmm: expected 3-D tensors, got {input._data.ndim}-D and {mat2._data.ndim}-D")
    if input._data.shape[0] != mat2._data.shape[0] or input._data.shape[2] != mat2._data.shape[1]:
        raise _shape_error("bmm", input, mat2)
    return matmul(input, mat2)


def mv(input, vec):
    if input._data.ndim != 2 or vec._data.ndim != 1 or input._data.shape[1] != vec._data.shape[0]:
        raise _shape_error("mv", input, vec)
    return matmul(input, vec)


def dot(input, other):
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


def outer(input, vec2):
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


ger = outer


class Einsum(Op):
    @staticmethod
    def forward(ctx, equation, *operands):
        ctx.save_for_backward(*operands)
        ctx.equation = equation
        return np.asarray(np.einsum(equation, *(o._data for o in operands), optimize=len(operands) > 2))

    @staticmethod
    def backward(ctx, grad):
        operands = ctx.saved_tensors
        inputs, output = ctx.equation.split("->")
        terms = inputs.split(",")
        grads = [None]
        for i, term in enumerate(terms):
            grads.append(_einsum_operand_grad(grad, output, terms, operands, i) if ctx.needs_input_grad[i + 1] else None)
        return tuple(grads)


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
    tensors = [grad] + [o for k, o in enumerate(operands) if k != i]
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


def einsum(equation: str, *operands):
    """Einstein summation (explicit ``->`` or implicit output); differentiable in every operand."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    equation = equation.replace(" ", "")
    if "..." in equation:
        raise NotImplementedError("einsum: ellipsis ('...') is not supported yet; write the axes explicitly")
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
