"""Op-spec entries for special ops (see op_specs.py for the fields); ALL_SPECS includes them.

Functions defined on part of the line get their domain from an affine map inside ``fn`` (the same for
ember, torch and the scipy reference): ``_open_unit`` maps the "unit" domain [-0.9, 0.9] into (0, 1).
"""

from __future__ import annotations

import numpy as np
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
# zeta(x, q) likewise is differentiable in q only
ZETA_ORDER = [[1.5], [2.0], [4.25]]


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
    _u("mvlgamma", lambda m, a: a.mvlgamma(2), lambda a: sp.multigammaln(a, 2), domain="positive"),
    _u("special_multigammaln", lambda m, a: m.special.multigammaln(a + 1, 3), lambda a: _multigammaln(a + 1, 3),
       domain="positive"),
    # error function and the normal distribution
    _u("erfc", lambda m, a: m.erfc(a), sp.erfc),
    _u("special_erfc", lambda m, a: m.special.erfc(a), sp.erfc),
    _u("special_erfcx", lambda m, a: m.special.erfcx(a), sp.erfcx),
    _u("erfinv", lambda m, a: a.erfinv(), sp.erfinv, domain="unit"),
    _u("special_erfinv", lambda m, a: m.special.erfinv(a), sp.erfinv, domain="unit"),
    _u("special_ndtr", lambda m, a: m.special.ndtr(a), sp.ndtr),
    _u("special_log_ndtr", lambda m, a: m.special.log_ndtr(a * 4), lambda a: sp.log_ndtr(a * 4)),
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
    _b("special_xlog1py", lambda m, a, b: m.special.xlog1py(a - 1, b - 1.2),
       lambda a, b: sp.xlog1py(a - 1, b - 1.2), domain="positive"),
    _u("special_xlog1py_scalar", lambda m, a: m.special.xlog1py(a, 0.5), lambda a: sp.xlog1py(a, 0.5)),
    _u("special_entr", lambda m, a: m.special.entr(a), sp.entr, domain="positive"),
    # logit, sinc, zeta
    _u("logit", lambda m, a: m.logit(_open_unit(a)), lambda a: sp.logit(_open_unit(a)), domain="unit"),
    _u("logit_eps_method", lambda m, a: _open_unit(a).logit(0.2),
       lambda a: sp.logit(_open_unit(a).clip(0.2, 0.8)), domain="unit"),
    _u("special_logit", lambda m, a: m.special.logit(_open_unit(a), eps=0.01),
       lambda a: sp.logit(_open_unit(a).clip(0.01, 0.99)), domain="unit"),
    _u("sinc", lambda m, a: a.sinc(), np.sinc),
    _u("special_sinc", lambda m, a: m.special.sinc(a * 3), lambda a: np.sinc(a * 3)),
    _u("special_zeta", lambda m, q: m.special.zeta(m.tensor(ZETA_ORDER, dtype=q.dtype), q),
       lambda q: sp.zeta(ZETA_ORDER, q), domain="positive"),
    _u("special_zeta_scalar", lambda m, q: m.special.zeta(3.0, q), lambda q: sp.zeta(3.0, q), domain="positive"),
    # the names torch.special shares with the top level
    _u("special_erf", lambda m, a: m.special.erf(a), sp.erf),
    _u("special_expit", lambda m, a: m.special.expit(a), sp.expit),
    _u("special_exp2", lambda m, a: m.special.exp2(a), np.exp2),
    _u("special_expm1", lambda m, a: m.special.expm1(a), np.expm1),
    _u("special_log1p", lambda m, a: m.special.log1p(a), np.log1p, domain="positive"),
    _u("special_round", lambda m, a: m.special.round(a * 3), lambda a: np.round(a * 3)),
    OpSpec("special_logsumexp", lambda m, a: m.special.logsumexp(a, 1), lambda a: sp.logsumexp(a, 1),
           [((3, 4),), ((2, 3, 4),), ((2, 3, 1, 2),)]),
    OpSpec("special_logsumexp_keepdim", lambda m, a: m.special.logsumexp(a, (0, -1), keepdim=True),
           lambda a: sp.logsumexp(a, (0, -1), keepdims=True), [((3, 4),), ((2, 3, 4),)]),
    OpSpec("special_softmax", lambda m, a: m.special.softmax(a, -1), lambda a: sp.softmax(a, -1),
           [((5,),), ((3, 4),), ((2, 3, 4),)]),
    OpSpec("special_log_softmax", lambda m, a: m.special.log_softmax(a, 0), lambda a: sp.log_softmax(a, 0),
           [((5,),), ((3, 4),), ((2, 3, 4),)]),
]


def _multigammaln(a, p):
    return np.vectorize(lambda x: sp.multigammaln(x, p))(a)
