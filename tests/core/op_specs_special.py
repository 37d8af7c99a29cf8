"""Op-spec entries for special ops (see op_specs.py for the fields); ALL_SPECS includes them.

Functions defined on part of the line get their domain from an affine map inside ``fn`` (the same for
ember, torch and the scipy reference): ``_open_unit`` maps the "unit" domain [-0.9, 0.9] into (0, 1).
"""

from __future__ import annotations

import scipy.special as sp

from .op_specs import BINARY_SHAPES, OpSpec

UNARY = [((),), ((5,),), ((3, 4),), ((2, 1, 4),), ((2, 3, 1, 2),)]
BINARY = BINARY_SHAPES + [((2, 1, 3, 1), (4,))]


def _u(name, fn, ref, **kw):
    return OpSpec(name, fn, ref, UNARY, **kw)


def _b(name, fn, ref, **kw):
    return OpSpec(name, fn, ref, BINARY, **kw)


def _open_unit(a):
    return a * 0.5 + 0.5


# The incomplete gamma functions are differentiable in x only: their shape parameter is a constant (exact in
# float32, so both dtypes' references are exact), shaped (3, 1) to broadcast against x.
SHAPE_PARAMETER = [[0.5], [1.5], [3.25]]


SPECS = [
    # the gamma family
    _u("lgamma", lambda m, a: m.lgamma(a), sp.gammaln),
    _u("lgamma_positive", lambda m, a: a.lgamma(), sp.gammaln, domain="positive"),
    _u("special_gammaln", lambda m, a: m.special.gammaln(a), sp.gammaln, domain="positive"),
    _u("digamma", lambda m, a: a.digamma(), sp.psi, domain="positive"),
    _u("special_psi", lambda m, a: m.special.psi(a), sp.psi, domain="positive"),
    _u("polygamma_0", lambda m, a: m.polygamma(0, a), sp.psi, domain="positive"),
    _u("polygamma_1", lambda m, a: m.special.polygamma(1, a), lambda a: sp.polygamma(1, a), domain="positive"),
    _u("polygamma_3_method", lambda m, a: a.polygamma(3), lambda a: sp.polygamma(3, a), domain="positive"),
    _u("igamma", lambda m, x: m.igamma(m.tensor(SHAPE_PARAMETER, dtype=x.dtype), x), lambda x: sp.gammainc(SHAPE_PARAMETER, x),
       domain="positive"),
    _u("igammac_method", lambda m, x: m.tensor(SHAPE_PARAMETER, dtype=x.dtype).igammac(x), lambda x: sp.gammaincc(SHAPE_PARAMETER, x),
       domain="positive"),
    _u("special_gammainc", lambda m, x: m.special.gammainc(m.tensor(SHAPE_PARAMETER, dtype=x.dtype), x),
       lambda x: sp.gammainc(SHAPE_PARAMETER, x), domain="positive"),
    _u("special_gammaincc", lambda m, x: m.special.gammaincc(m.tensor(SHAPE_PARAMETER, dtype=x.dtype), x),
       lambda x: sp.gammaincc(SHAPE_PARAMETER, x), domain="positive"),
    # error function and the normal distribution
    _u("erfinv", lambda m, a: a.erfinv(), sp.erfinv, domain="unit"),
    _u("special_ndtri", lambda m, a: m.special.ndtri(_open_unit(a)), lambda a: sp.ndtri(_open_unit(a)),
       domain="unit"),
    # modified Bessel functions
    _u("i0", lambda m, a: a.i0(), sp.i0),
    _u("special_i0e", lambda m, a: m.special.i0e(a), sp.i0e),
    _u("special_i1", lambda m, a: m.special.i1(a), sp.i1),
    _u("special_i1e", lambda m, a: m.special.i1e(a), sp.i1e),
    # x log y
    _b("xlogy", lambda m, a, b: m.xlogy(a - 1, b), lambda a, b: sp.xlogy(a - 1, b), domain="positive"),
    _b("xlogy_method", lambda m, a, b: a.xlogy(b), sp.xlogy, domain="positive"),
    _u("xlogy_scalar_other", lambda m, a: m.special.xlogy(a, 2.5), lambda a: sp.xlogy(a, 2.5)),
    _u("xlogy_scalar_self", lambda m, a: m.xlogy(2.0, a), lambda a: sp.xlogy(2.0, a), domain="positive"),
]
