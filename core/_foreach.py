"""torch's ``torch._foreach_*`` functions: one op applied to each tensor of a list (or of several lists, pairwise).

Code written for torch uses them for weight averages (timm's ``ModelEmaV3``: ``_foreach_lerp_``), hand-written
optimizers and gradient norms. torch fuses each into few kernel launches on a GPU; here each is the op applied
tensor by tensor, with the same arguments: ``other`` a number, a list of numbers, a list of tensors or one
tensor; ``alpha`` on add / sub; ``weight`` of lerp a number, a list of numbers or a list of tensors; ``value`` of
addcmul / addcdiv a number, a list of numbers or a 1-d tensor of them. The in-place forms (``_foreach_add_``) change
the tensors of the first list through their in-place methods (so versions and autograd's checks are as for
``add_``) and return that list; the others return a tuple of new tensors.
"""

from __future__ import annotations

from numbers import Number

from .tensor import Tensor

_UNARY = ["abs", "acos", "asin", "atan", "ceil", "cos", "cosh", "erf", "erfc", "exp", "expm1", "floor", "frac", "lgamma",
          "log", "log10", "log1p", "log2", "neg", "reciprocal", "round", "rsqrt", "sigmoid", "sign", "sin", "sinh",
          "sqrt", "tan", "tanh", "trunc"]
_BINARY = ["add", "sub", "mul", "div", "maximum", "minimum", "pow", "clamp_min", "clamp_max"]
_TERNARY = ["addcmul", "addcdiv"]


def _check_lengths(first, *others) -> None:
    for other in others:
        if len(other) != len(first):
            raise RuntimeError(f"Tensor lists must have the same number of tensors, got {len(first)} and {len(other)}")


def _per_tensor(arg, count: int, what: str) -> list:
    """``arg`` as one value per tensor: a list or tuple as it is (its length checked), a 1-d tensor of numbers
    as its elements, anything else repeated."""
    if isinstance(arg, (list, tuple)):
        if len(arg) != count:
            raise RuntimeError(f"Tensor lists must have the same number of tensors, got {count} and {len(arg)} "
                               f"({what})")
        return list(arg)
    if what == "scalars" and isinstance(arg, Tensor) and arg.ndim == 1:
        _check_lengths(range(count), arg.tolist())
        return arg.tolist()
    return [arg] * count


def _method(t: Tensor, name: str, inplace: bool):
    if not inplace:
        return getattr(t, name)
    method = getattr(t, name + "_", None)
    if method is None:  # (no in-place method of that name: torch has none either, only the foreach form)
        return lambda *args, **kwargs: t.copy_(getattr(t, name)(*args, **kwargs))
    return method


def _results(self, values, inplace: bool):
    return self if inplace else tuple(values)


def _unary(name: str, inplace: bool):
    def fn(self):
        return _results(self, [_method(t, name, inplace)() for t in self], inplace)

    return fn


def _binary(name: str, inplace: bool):
    def fn(self, other, *, alpha=None):
        if name == "pow" and isinstance(self, Number):  # _foreach_pow(scalar base, exponents)
            return tuple(self ** t for t in other)
        others = _per_tensor(other, len(self), "other")
        extra = {} if alpha is None else {"alpha": alpha}
        return _results(self, [_method(t, name, inplace)(o, **extra) for t, o in zip(self, others)], inplace)

    return fn


def _ternary(name: str, inplace: bool):
    def fn(self, tensor1, tensor2, value=1):
        _check_lengths(self, tensor1, tensor2)
        values = _per_tensor(value, len(self), "scalars")
        return _results(self, [_method(t, name, inplace)(a, b, value=v)
                               for t, a, b, v in zip(self, tensor1, tensor2, values)], inplace)

    return fn


def _lerp(inplace: bool):
    def fn(self, tensors1, weight):
        _check_lengths(self, tensors1)
        weights = _per_tensor(weight, len(self), "weight")
        return _results(self, [_method(t, "lerp", inplace)(end, w) for t, end, w in zip(self, tensors1, weights)],
                        inplace)

    return fn


def _foreach_norm(self, ord=2, dtype=None):
    from .linalg import vector_norm

    return tuple(vector_norm(t, ord, dtype=dtype) for t in self)


def _foreach_max(self):
    return tuple(t.max() for t in self)


def _foreach_powsum(self, exponent=2):
    return tuple((t.abs() ** exponent).sum() for t in self)


def _foreach_mm(self, mat2):
    _check_lengths(self, mat2)
    return tuple(a @ b for a, b in zip(self, mat2))


def _foreach_clone(self):
    return tuple(t.clone() for t in self)


def _foreach_copy_(self, src, non_blocking=False):
    _check_lengths(self, src)
    for t, s in zip(self, src):
        t.copy_(s)
    return self


def _foreach_zero_(self):
    for t in self:
        t.zero_()
    return self


_foreach_lerp, _foreach_lerp_ = _lerp(False), _lerp(True)
for _name in _UNARY:
    globals()[f"_foreach_{_name}"], globals()[f"_foreach_{_name}_"] = _unary(_name, False), _unary(_name, True)
for _name in _BINARY:
    globals()[f"_foreach_{_name}"], globals()[f"_foreach_{_name}_"] = _binary(_name, False), _binary(_name, True)
for _name in _TERNARY:
    globals()[f"_foreach_{_name}"], globals()[f"_foreach_{_name}_"] = _ternary(_name, False), _ternary(_name, True)
del _name

NAMES = sorted(name for name in globals() if name.startswith("_foreach_"))
for _name in NAMES:
    globals()[_name].__name__ = globals()[_name].__qualname__ = _name
del _name
