"""``out=``: the result of a top-level function written into a tensor the caller gives, as torch's functions do.

``ember.add(a, b, out=c)`` computes ``a + b`` and writes it into ``c`` (resized to the result's shape, with
torch's warning where ``c`` had elements and another shape), then returns ``c`` itself; functions with several
results (``max(x, 1)``, ``sort``, ``topk``) take a tuple of tensors and return it as their named tuple. As in
torch, the result's dtype must cast to ``out``'s without changing kind (float into int raises), and ``out=`` is
not differentiable: with grad mode on, an argument or ``out`` that requires grad raises.

One wrapper (:func:`accepting_out`) gives every function of :data:`NAMES` the keyword; a call without it costs
one more Python call.
"""

from __future__ import annotations

import functools
import inspect
import warnings

import numpy as np

from .autograd.grad_mode import state
from .creation import _into
from .ops._results import _MinMaxResult, _type_name
from .tensor import Tensor

# torch's top-level functions that take ``out=`` (their documentation's "out (Tensor, optional)", and the
# reductions whose ``dim`` form takes it), where Ember's own function does not already (the creation functions
# have it themselves).
NAMES = """
abs acos acosh add addbmm addcdiv addcmul addmm addmv addr all amax amin aminmax angle any asin asinh atan atan2
atanh baddbmm bitwise_and bitwise_left_shift bitwise_not bitwise_or bitwise_right_shift bitwise_xor bmm bucketize
cat ceil chain_matmul cholesky cholesky_inverse cholesky_solve clamp clip column_stack complex concat concatenate
conj_physical copysign cos cosh cross cummax cummin cumprod cumsum deg2rad diag diff digamma div divide dot
dstack eq erf erfc erfinv exp exp2 expm1 fix float_power floor floor_divide fmax fmin fmod frac frexp gather gcd
ge geqrf ger greater greater_equal gt heaviside histc hstack hypot i0 igamma igammac index_select inner inverse
isneginf isposinf kron kthvalue lcm ldexp le lerp less less_equal lgamma log log10 log1p log2 logaddexp
logaddexp2 logcumsumexp logical_and logical_not logical_or logical_xor logit logsumexp lt lu_solve lu_unpack
masked_select matmul matrix_power max maximum mean min minimum mm mode msort mul multiply mv mvlgamma
nan_to_num nanmean nanquantile narrow_copy ne neg negative nextafter nonzero norm not_equal ormqr outer polar
polygamma pow quantile rad2deg reciprocal remainder renorm round row_stack rsqrt searchsorted sgn sigmoid sign
signbit sin sinc sinh sort sqrt square stack std sub subtract take_along_dim tan tanh topk triangular_solve
tril triu trunc vdot vstack where xlogy sum prod argmax argmin nansum var softmax log_softmax median nanmedian
""".split()


def _requires_grad(value) -> bool:
    if isinstance(value, Tensor):
        return value._requires_grad
    if isinstance(value, (list, tuple)):
        return any(_requires_grad(v) for v in value)
    return False


def _write(name: str, out, result) -> Tensor:
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    array = result._data if isinstance(result, Tensor) else np.asarray(result)
    if not np.can_cast(array.dtype, out._data.dtype, casting="same_kind"):
        raise RuntimeError(f"result type {_type_name(Tensor._wrap(array))} can't be cast to the desired output "
                           f"type {_type_name(out)}")
    if out._data.size and out._data.shape != array.shape:
        warnings.warn(f"An output with one or more elements was resized since it had shape {list(out.shape)}, which "
                      f"does not match the required output shape {list(array.shape)}. This behavior is deprecated, "
                      "and in a future PyTorch release outputs will not be resized unless they have zero elements. "
                      "You can explicitly reuse an out tensor t by resizing it, inplace, to zero elements with "
                      "t.resize_(0).", UserWarning, stacklevel=3)
    return _into(out, array)


def accepting_out(fn, signature: inspect.Signature | None = None):
    """``fn`` taking torch's ``out=`` keyword (see the module's docstring); ``signature``: ``fn``'s, if known."""
    name = fn.__name__

    @functools.wraps(fn)
    def with_out(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        if state.grad_enabled and (_requires_grad(args) or _requires_grad(list(kwargs.values()))
                                   or _requires_grad(out)):
            raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                               "differentiation, but one of the arguments requires grad.")
        result = fn(*args, **kwargs)
        if not isinstance(result, tuple):
            if isinstance(out, (list, tuple)):
                raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
            return _write(name, out, result)
        if not isinstance(out, (list, tuple)) or len(out) != len(result):
            raise TypeError(f"{name}(): argument 'out' must be a tuple of {len(result)} Tensors")
        written = [_write(name, o, r) for o, r in zip(out, result)]
        if isinstance(result, _MinMaxResult):
            return _MinMaxResult(*written, result.op)
        return type(result)(*written) if hasattr(result, "_fields") else tuple(written)

    with_out.__wrapped_without_out__ = fn
    if signature is None:
        signature = _signature(fn)
    if signature is not None:  # help() and inspect show the keyword
        params = list(signature.parameters.values())
        at = next((i for i, p in enumerate(params) if p.kind is p.VAR_KEYWORD), len(params))
        params.insert(at, inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None))
        with_out.__signature__ = signature.replace(parameters=params)
    return with_out


def _signature(fn) -> inspect.Signature | None:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def install(namespace: dict) -> None:
    """Wraps each function of :data:`NAMES` found in ``namespace`` (``ember``'s globals)."""
    for name in NAMES:
        fn = namespace.get(name)
        if not callable(fn) or isinstance(fn, type) or hasattr(fn, "__wrapped_without_out__"):
            continue
        signature = _signature(fn)
        if signature is not None and "out" in signature.parameters:
            continue  # (takes it itself)
        namespace[name] = accepting_out(fn, signature)
