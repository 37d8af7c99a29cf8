"""What the op files share: the ``Op`` base, the zero-gradient ``Stepwise`` op and PyTorch's
"not implemented for" error."""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import state
from ..tensor import Tensor
from ._util import data_of


class Op(Function):
    """Base of Ember's built-in ops: a ``Function`` the engine treats as internal."""

    _internal = True


def on_arrays() -> bool:
    """Whether a backward may compute its gradients with numpy on the arrays, skipping the ops' own cost (a
    few microseconds each, most of a small op's backward): nothing records a graph of the backward (no
    ``create_graph``) and no vmap runs (its batched arrays go through the ops' batching rules)."""
    return not state.grad_enabled and Function._batching_hook is None


def wrap(value) -> Tensor:
    """A numpy result as a tensor outside the graph: numpy's scalar (of 0-d operands) as a 0-d array; arrays
    (and vmap's batched arrays) as they are."""
    return Tensor._wrap(np.asarray(value) if isinstance(value, np.generic) else value)


def conj_data(x):
    """``x``'s array (or ``x``, a number), conjugated when complex."""
    if isinstance(x, Tensor):
        x = x._data
        return x.conj() if x.dtype.kind == "c" else x
    return x.conjugate() if isinstance(x, (complex, np.complexfloating)) else x


class Stepwise(Op):
    """A piecewise-constant function of its operands (round, floor, sign, floor division): recorded with a
    zero gradient, as PyTorch records these ops (their outputs require grad)."""

    @staticmethod
    def forward(ctx, fn, *operands):
        ctx.fn_name = fn.__name__
        return np.asarray(fn(*(data_of(o) for o in operands)))

    @staticmethod
    def backward(ctx, grad):
        zero = Tensor._wrap(np.zeros_like(grad._data))
        return (None,) + tuple(zero if needed else None for needed in ctx.needs_input_grad[1:])

    def name(self) -> str:  # FloorBackward, FloorDivideBackward, as PyTorch names them
        words = getattr(self, "fn_name", "stepwise").split("_")
        return "".join(word.capitalize() for word in words) + "Backward"


_TORCH_TYPE_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int",
                     "int64": "Long", "float16": "Half", "float32": "Float", "float64": "Double",
                     "complex64": "ComplexFloat", "complex128": "ComplexDouble", "uint16": "UInt16",
                     "uint32": "UInt32", "uint64": "UInt64"}


def _not_implemented_for(op: str, input) -> NotImplementedError:
    """PyTorch's error for an op without a kernel for the dtype: ``"op" not implemented for 'Long'``."""
    name = _TORCH_TYPE_NAMES.get(input._data.dtype.name, input._data.dtype.name)
    return NotImplementedError(f'"{op}" not implemented for {name!r}')
