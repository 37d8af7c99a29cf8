"""Ember's differentiable ops, grouped by kind, and their binding as ``Tensor`` methods."""

from __future__ import annotations

import numpy as np

from .. import creation
from ..tensor import Tensor
from . import (activation, arithmetic, cast, comparison, complex_ops, construction, cumulative,  # noqa: F401
               diagonals, fft, gather_scatter, index, inplace, inplace_views, joining, linalg, masked,
               matrix_functions, pointwise, reduce, shape, solves, sorting, special, spectral, statistics, unary)
from ._op import Op as _Op
from .activation import *  # noqa: F401,F403
from .arithmetic import *  # noqa: F401,F403
from .cast import *  # noqa: F401,F403
from .comparison import *  # noqa: F401,F403
from .unary import *  # noqa: F401,F403
from .complex_ops import *  # noqa: F401,F403
from .fft import *  # noqa: F401,F403
from .pointwise import *  # noqa: F401,F403
from .special import *  # noqa: F401,F403
from .diagonals import diag, diag_embed, diagflat, diagonal, diagonal_scatter  # noqa: F401
from .gather_scatter import (gather, index_add, index_copy, index_fill, index_reduce, index_select,  # noqa: F401
                             put, scatter, scatter_add, scatter_reduce, take, take_along_dim)
from .index import argwhere, getitem, index_put, nonzero, nonzero_static, select, setitem, unravel_index  # noqa: F401
from .masked import masked_fill, masked_scatter, masked_select, select_scatter, slice_scatter  # noqa: F401
from .linalg import *  # noqa: F401,F403
from .matrix_functions import *  # noqa: F401,F403
from .solves import *  # noqa: F401,F403
from .spectral import *  # noqa: F401,F403
# the name ``ember.ops.softmax`` is the function, as ``ember.softmax`` (the module stays in sys.modules)
from .softmax import log_softmax, softmax  # noqa: F401
from .sorting import (argsort, bincount, bucketize, histc, histogram, isin, kthvalue, median,  # noqa: F401
                      nanmedian, searchsorted, sort, topk, unique, unique_consecutive, quantile,
                      nanquantile, mode, msort, histogramdd)
from .cumulative import (cummax, cummin, cumprod, cumsum, cumulative_trapezoid, diff, gradient,  # noqa: F401
                         logcumsumexp, trapezoid, trapz)
from .reduce import (aminmax, all, amax, amin, any, argmax, argmin, count_nonzero, logsumexp, max,  # noqa: F401
                     mean, min, nanmean, nansum, norm, prod, sum, dist, renorm)
from .statistics import corrcoef, cov, std, std_mean, var, var_mean  # noqa: F401
from .construction import (broadcast_shapes, cartesian_prod, combinations, meshgrid, repeat,  # noqa: F401
                           repeat_interleave, tile, tril_indices, triu_indices)
from .joining import (cat, chunk, column_stack, concat, concatenate, dsplit, dstack, hsplit, hstack,  # noqa: F401
                      row_stack, split, split_with_sizes, stack, tensor_split, unbind, unsafe_chunk,
                      unsafe_split, unsafe_split_with_sizes, vsplit, vstack)
from .shape import (as_strided_scatter, atleast_1d, atleast_2d, atleast_3d,  # noqa: F401
                    broadcast_tensors, broadcast_to, contiguous, expand, expand_as, flatten, flip, fliplr,
                    flipud, movedim, moveaxis, narrow, narrow_copy, permute, ravel, reshape, reshape_as, roll,
                    rot90, squeeze, swapaxes, swapdims, t, transpose, tril, triu, unflatten, unsqueeze, view,
                    view_as)

# Tensor method name -> function. Methods whose name differs from the function (float -> float_)
# or that have operator forms are listed explicitly below.
_METHODS = """
add sub mul div neg abs pow exp expm1 log log1p log2 log10 sqrt rsqrt sin cos tan tanh sigmoid relu
gelu silu softplus leaky_relu elu erf clamp clip clamp_min clamp_max sign sgn floor ceil trunc round
reciprocal square maximum minimum fmax fmin frac lerp clone to type_as double half long short byte char
floor_divide remainder eq ne lt le gt ge logical_and logical_or logical_xor logical_not
bitwise_and bitwise_or bitwise_xor bitwise_not isnan isinf isfinite equal allclose isclose
subtract multiply divide true_divide negative absolute greater greater_equal less less_equal not_equal
sum mean prod max min amax amin argmax argmin var std logsumexp norm cumsum cumprod all any count_nonzero
reshape view view_as reshape_as flatten unflatten permute transpose swapaxes swapdims t squeeze
unsqueeze expand expand_as broadcast_to repeat tile split chunk tensor_split unbind flip fliplr flipud
roll narrow tril triu contiguous movedim moveaxis diagonal diagonal_scatter
gather scatter scatter_add index_select masked_fill masked_select take_along_dim take nonzero index_add
index_put
asin acos atan sinh cosh asinh acosh atanh arcsin arccos arctan arcsinh arccosh arctanh exp2 deg2rad rad2deg
sort argsort topk kthvalue median unique bincount softmax log_softmax
nansum nanmean nanmedian logcumsumexp cummax cummin aminmax
ravel narrow_copy rot90 repeat_interleave
scatter_reduce index_reduce index_fill index_copy masked_scatter diag diag_embed diagflat
histc histogram unique_consecutive
diff cov corrcoef dist renorm quantile nanquantile mode msort as_strided_scatter
argwhere select select_scatter slice_scatter put hsplit vsplit dsplit split_with_sizes unsafe_split unsafe_chunk
unsafe_split_with_sizes signbit isposinf isneginf isreal is_nonzero is_same_size is_signed nonzero_static
""".split()

_INPLACE = """
add sub mul div pow abs neg exp log sqrt sin cos tanh sigmoid relu clamp clamp_min clamp_max clip
floor ceil round trunc frac sign reciprocal square lerp leaky_relu masked_fill scatter scatter_add index_add
index_put log1p expm1 rsqrt floor_divide
remainder
asin acos atan sinh cosh asinh acosh atanh arcsin arccos arctan arcsinh arccosh arctanh exp2 deg2rad rad2deg
log2 log10 erf tan sgn absolute negative subtract multiply divide true_divide cumsum cumprod
eq ne lt le gt ge greater greater_equal less less_equal not_equal logical_and logical_or logical_xor logical_not
bitwise_and bitwise_or bitwise_xor bitwise_not
scatter_reduce index_reduce index_fill index_copy masked_scatter renorm put tril triu
""".split()


def _fill(input, value):
    value = value.item() if isinstance(value, Tensor) else value
    return Tensor._wrap(np.full(input._data.shape, value, dtype=input._data.dtype))


def _zero(input):
    return _fill(input, 0)


def _copy(input, src, non_blocking: bool = False):
    data = src._data if isinstance(src, Tensor) else np.asarray(src)
    try:
        np.broadcast_to(data, input._data.shape)
    except ValueError:
        raise RuntimeError(
            f"copy_: the source of shape {tuple(data.shape)} cannot be broadcast to {tuple(input.shape)}"
        ) from None
    if input.requires_grad or (isinstance(src, Tensor) and src.requires_grad):
        # differentiable w.r.t. src; the overwritten values get a zero gradient, as in torch
        source = src.to(input.dtype) if isinstance(src, Tensor) else Tensor._wrap(data.astype(input._data.dtype))
        return where(Tensor._wrap(np.ones((), bool)), source.expand(input.shape), input)
    return Tensor._wrap(np.broadcast_to(data, input._data.shape).astype(input._data.dtype))


def _random_fill(kind):
    def fn(input, *args, generator=None, **kwargs):
        return creation.fill_random(input, kind, *args, generator=generator, **kwargs)

    fn.__name__ = kind
    return fn


# In-place-only methods (``fill_``, ``uniform_``, ...): their out-of-place value, by method name.
_INPLACE_ONLY = {
    "fill": _fill, "zero": _zero, "copy": _copy, "uniform": _random_fill("uniform"),
    "normal": _random_fill("normal"), "exponential": _random_fill("exponential"),
    "bernoulli": _random_fill("bernoulli"), "random": _random_fill("random"), "cauchy": _random_fill("cauchy"),
    "log_normal": _random_fill("log_normal"), "geometric": _random_fill("geometric"),
}


def _reflected(fn):
    def method(self, other):
        return fn(other, self)

    method.__name__ = "__r" + fn.__name__ + "__"
    return method


# Newer op modules say themselves what they add: ``__all__`` (names in ``ember``), ``METHODS`` (Tensor
# methods of the same name; a value may be a ``property``) and ``INPLACE`` (names that get a ``name_``).
_SELF_DESCRIBED = (complex_ops, fft, linalg, matrix_functions, pointwise, solves, special, spectral)


def bind_methods(Tensor) -> None:
    """Installs the ops as methods and operators of ``Tensor`` (called once by tensor.py)."""
    namespace = globals()
    for name in _METHODS:
        setattr(Tensor, name, namespace[name])
    for module in _SELF_DESCRIBED:
        for name in module.METHODS:
            value = getattr(module, name)
            setattr(Tensor, name, value)
        for name in module.INPLACE:
            setattr(Tensor, name + "_", inplace.inplace(getattr(module, name), name + "_"))
    for name, fn in {"float": float_, "int": int_, "bool": bool_}.items():
        setattr(Tensor, name, fn)
    for name in _INPLACE:
        setattr(Tensor, name + "_", inplace.inplace(namespace[name], name + "_"))
    for name, fn in _INPLACE_ONLY.items():
        setattr(Tensor, name + "_", inplace.inplace(fn, name + "_"))
    Tensor.T = property(shape._T)
    Tensor.mT = property(shape._mT)
    Tensor.__getitem__ = getitem
    Tensor.__setitem__ = setitem
    Tensor.__iter__ = index.iterate
    for op, fn in {
        "add": add, "sub": sub, "mul": mul, "truediv": div, "floordiv": floor_divide, "mod": remainder,
        "pow": pow, "matmul": matmul, "and": bitwise_and, "or": bitwise_or, "xor": bitwise_xor,
    }.items():
        setattr(Tensor, f"__{op}__", fn)
        setattr(Tensor, f"__r{op}__", _reflected(fn))
        setattr(Tensor, f"__i{op}__", inplace.inplace(fn, f"__i{op}__"))
    Tensor.__neg__ = neg
    Tensor.__pos__ = lambda self: self
    Tensor.__abs__ = abs
    Tensor.__invert__ = lambda self: logical_not(self) if self._data.dtype.kind == "b" else bitwise_not(self)
    for op, fn in {"eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge}.items():
        setattr(Tensor, f"__{op}__", fn)


# Functions bound above as Tensor methods that torch has only as methods (``x.view(...)``, not
# ``torch.view``), or whose method name differs (``float_`` is ``x.float()``): not exported to ``ember``.
_METHOD_ONLY = {"contiguous", "expand", "expand_as", "repeat", "reshape_as", "to", "type_as", "view", "view_as",
                "byte", "char", "float_", "int_", "bool_", "getitem", "setitem"}


def _is_public_op(name: str, value) -> bool:
    """An op of an ``ember.ops`` module, not a module, an ``Op`` class, a helper imported from elsewhere."""
    if name.startswith("_") or name in _METHOD_ONLY or name == "bind_methods" or isinstance(value, type(np)):
        return False
    if isinstance(value, type) and issubclass(value, _Op):
        return False
    module = getattr(value, "__module__", "") or ""
    return module.startswith("ember.ops.") and module not in ("ember.ops._op", "ember.ops._util")


# What ``from ember.ops import *`` (and so ``ember``) gets: the ops, not this package's modules or helpers
# (``ember.fft`` / ``ember.special`` / ``ember.linalg`` are the public namespaces, not ``ember.ops.fft``).
__all__ = [name for name, value in globals().items() if _is_public_op(name, value)]
