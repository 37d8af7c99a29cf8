"""Op-spec entries for pointwise, reduction, shape, index and sorting ops added by issue 21 (see
op_specs.py for the fields); ALL_SPECS includes them."""

from __future__ import annotations

import numpy as np

from .op_specs import BINARY_SHAPES, UNARY_SHAPES, OpSpec

# every spec here also runs on a 4-D input, and binary ones on a 4-D broadcasting pair
U = [(s,) for s in UNARY_SHAPES] + [((2, 3, 1, 2),)]
B = BINARY_SHAPES + [((2, 1, 3, 1), (3, 4)), ((3, 1), (2, 2, 1, 4))]
R = [((5,),), ((3, 4),), ((2, 3, 4),), ((2, 3, 2, 2),)]  # reductions over dim 0 / -1
R2 = [((3, 4),), ((2, 3, 4),), ((2, 3, 2, 2),)]  # ops that need two dimensions


def _u(name, fn, ref, **kw):
    return OpSpec(name, fn, ref, U, **kw)


def _b(name, fn, ref, **kw):
    return OpSpec(name, fn, ref, B, **kw)


def _quiet(compute):
    with np.errstate(all="ignore"):
        return compute()


UNARY = [
    _u("asin", lambda m, a: a.asin(), np.arcsin, domain="unit"),
    _u("acos", lambda m, a: m.acos(a), np.arccos, domain="unit"),
    _u("atan", lambda m, a: a.atan(), np.arctan),
    _u("arcsin", lambda m, a: m.arcsin(a), np.arcsin, domain="unit"),
    _u("arccos", lambda m, a: a.arccos(), np.arccos, domain="unit"),
    _u("arctan", lambda m, a: m.arctan(a), np.arctan),
    _u("sinh", lambda m, a: a.sinh(), np.sinh),
    _u("cosh", lambda m, a: m.cosh(a), np.cosh),
    _u("asinh", lambda m, a: a.asinh(), np.arcsinh),
    _u("arcsinh", lambda m, a: m.arcsinh(a), np.arcsinh),
    # acosh needs inputs above 1
    _u("acosh", lambda m, a: (a * a + 1.2).acosh(), lambda a: np.arccosh(a * a + 1.2)),
    _u("arccosh", lambda m, a: m.arccosh(a * a + 1.2), lambda a: np.arccosh(a * a + 1.2)),
    _u("atanh", lambda m, a: a.atanh(), np.arctanh, domain="unit"),
    _u("arctanh", lambda m, a: m.arctanh(a), np.arctanh, domain="unit"),
    _u("exp2", lambda m, a: a.exp2(), np.exp2),
    _u("deg2rad", lambda m, a: a.deg2rad(), np.deg2rad),
    _u("rad2deg", lambda m, a: m.rad2deg(a), np.rad2deg),
    _u("asin_", lambda m, a: (a * 0.5).asin_(), lambda a: np.arcsin(a * 0.5), domain="unit"),
    _u("cosh_", lambda m, a: (a * 1).cosh_(), np.cosh),
    _u("nan_to_num", lambda m, a: (a.log()).nan_to_num(nan=0.5), lambda a: _quiet(lambda: np.nan_to_num(np.log(a), nan=0.5))),
    _u("nan_to_num_inf", lambda m, a: m.nan_to_num(1 / a.floor(), posinf=3.0, neginf=-2.0),
       lambda a: _quiet(lambda: np.nan_to_num(1 / np.floor(a), posinf=3.0, neginf=-2.0))),
    _u("nan_to_num_", lambda m, a: (a.log()).nan_to_num_(), lambda a: _quiet(lambda: np.nan_to_num(np.log(a)))),
]


def _logaddexp2(a, b):
    return np.logaddexp2(a, b)


BINARY = [
    _b("atan2", lambda m, a, b: m.atan2(a, b), np.arctan2, domain="nonzero"),
    _b("arctan2", lambda m, a, b: a.arctan2(b), np.arctan2, domain="nonzero"),
    _b("hypot", lambda m, a, b: m.hypot(a, b), np.hypot, domain="nonzero"),
    _b("copysign", lambda m, a, b: m.copysign(a, b), np.copysign, domain="nonzero"),
    _u("copysign_scalar", lambda m, a: a.copysign(-1.0), lambda a: np.copysign(a, -1.0), domain="nonzero"),
    _b("logaddexp", lambda m, a, b: m.logaddexp(a, b), np.logaddexp),
    _b("logaddexp2", lambda m, a, b: a.logaddexp2(b), _logaddexp2),
    _b("fmod", lambda m, a, b: m.fmod(a, b), np.fmod, domain="nonzero"),
    _u("fmod_scalar", lambda m, a: a.fmod(0.7), lambda a: np.fmod(a, 0.7), domain="nonzero"),
    _b("float_power", lambda m, a, b: m.float_power(a, b).to(a.dtype), lambda a, b: np.power(a, b).astype(a.dtype),
       domain="positive"),
    _u("float_power_scalar", lambda m, a: a.float_power(2).to(a.dtype), lambda a: (a.astype(np.float64) ** 2).astype(a.dtype)),
    _b("heaviside", lambda m, a, b: m.heaviside(a.floor(), b), lambda a, b: np.heaviside(np.floor(a), b), grad=False),
    OpSpec("addcmul", lambda m, a, b, c: m.addcmul(a, b, c, value=0.5), lambda a, b, c: a + 0.5 * b * c,
           [((4,), (4,), (4,)), ((3, 4), (4,), (3, 1)), ((2, 1, 4), (3, 4), ()), ((2, 3, 1, 2), (3, 4, 1), (2,))]),
    OpSpec("addcdiv", lambda m, a, b, c: a.addcdiv(b, c, value=-2), lambda a, b, c: a - 2 * b / c,
           [((4,), (4,), (4,)), ((3, 4), (4,), (3, 1)), ((2, 1, 4), (3, 4), ()), ((2, 3, 1, 2), (3, 4, 1), (2,))],
           domain="nonzero"),
    OpSpec("addcmul_", lambda m, a, b, c: (a * 1).addcmul_(b, c), lambda a, b, c: a + b * c,
           [((4,), (4,), (4,)), ((3, 4), (4,), (3, 1)), ((2, 3, 4), (3, 4), ())]),
    OpSpec("addcdiv_", lambda m, a, b, c: (a * 1).addcdiv_(b, c, value=3), lambda a, b, c: a + 3 * b / c,
           [((4,), (4,), (4,)), ((3, 4), (4,), (3, 1)), ((2, 3, 4), (3, 4), ())], domain="nonzero"),
    _b("atan2_", lambda m, a, b: (a * 1).atan2_(b) if np.broadcast_shapes(a.shape, b.shape) == tuple(a.shape)
       else m.atan2(a, b), np.arctan2, domain="nonzero"),
]

SPECS: list = UNARY + BINARY
