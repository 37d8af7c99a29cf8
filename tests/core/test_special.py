"""``ember.special`` and the special functions at ember's top level: what the op table (op_specs_special.py)
cannot express: names, errors, edge values, in-place forms and the functions torch does not differentiate."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import scipy.special as sp

import ember

# torch.special's module attributes that are not functions
NOT_FUNCTIONS = {"Tensor", "torch", "common_args", "multi_dim_common"}
# torch's top-level special functions (all also Tensor methods with an in-place form)
TOP_LEVEL = ["digamma", "erfc", "erfinv", "i0", "igamma", "igammac", "lgamma", "logit", "mvlgamma", "polygamma",
             "sinc", "xlogy"]
# torch.special functions that torch has only there
SPECIAL_ONLY = ["entr", "erfcx", "gammainc", "gammaincc", "gammaln", "i0e", "i1", "i1e", "log_ndtr",
                "multigammaln", "ndtr", "ndtri", "psi", "xlog1py", "zeta", "bessel_j0", "expit",
                "chebyshev_polynomial_t"]
NOT_DIFFERENTIABLE = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
                      "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0",
                      "scaled_modified_bessel_k1", "spherical_bessel_j0"]
POLYNOMIALS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
               "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
               "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w", "hermite_polynomial_h",
               "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p"]
EDGES = [-math.inf, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, math.inf, math.nan]


def _args(name, x):
    """Arguments for the out-of-place function ``name`` of the top level, with ``x`` as its input."""
    second = {"igamma": (x + 1,), "igammac": (x + 1,), "xlogy": (x + 1,), "mvlgamma": (2,), "logit": (0.1,)}
    return second.get(name, ())


# --- names ---------------------------------------------------------------------------------------
@pytest.mark.parity
def test_special_has_every_function_of_torch_special():
    torch = pytest.importorskip("torch")
    names = {n for n in dir(torch.special) if not n.startswith("_")} - NOT_FUNCTIONS
    assert sorted(n for n in names if not callable(getattr(ember.special, n, None))) == []


@pytest.mark.parity
@pytest.mark.parametrize("name", TOP_LEVEL + SPECIAL_ONLY)
def test_top_level_names_and_methods_are_where_torch_has_them(name):
    torch = pytest.importorskip("torch")
    assert hasattr(ember, name) == hasattr(torch, name)
    assert hasattr(ember.Tensor, name) == hasattr(torch.Tensor, name)
    assert hasattr(ember.Tensor, name + "_") == hasattr(torch.Tensor, name + "_")


def test_import_ember_special_does_not_load_scipy_until_a_function_runs():
    code = ("import sys, ember, ember.special\n"
            "before = 'scipy' in sys.modules\n"
            "ember.special.gammaln(ember.tensor([2.0]))\n"
            "print(before, 'scipy' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "True"]


# --- dtypes ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [
    ember.lgamma, ember.digamma, ember.erfinv, ember.erfc, ember.i0, ember.sinc, ember.logit,
    lambda x: ember.polygamma(2, x), lambda x: ember.mvlgamma(x, 2), lambda x: ember.xlogy(x, x),
    lambda x: ember.special.zeta(x, x), ember.special.ndtri, ember.special.i1e, ember.special.entr,
    ember.special.bessel_j0, lambda x: ember.special.hermite_polynomial_h(x, 3),
], ids=lambda fn: getattr(fn, "__name__", "fn"))
def test_integer_and_bool_inputs_compute_in_the_default_float_dtype(fn):
    for values in ([1, 2, 3], [True, False]):
        assert fn(ember.tensor(values)).dtype == ember.float32
    previous = ember.get_default_dtype()
    ember.set_default_dtype(ember.float64)
    try:
        assert fn(ember.tensor([1, 2, 3])).dtype == ember.float64
    finally:
        ember.set_default_dtype(previous)


@pytest.mark.parity
def test_float16_is_refused_exactly_where_torch_refuses_it():
    torch = pytest.importorskip("torch")
    names = sorted(n for n in dir(torch.special) if not n.startswith("_") and n not in NOT_FUNCTIONS)
    for name in names:
        outcomes = []
        for lib in (ember, torch):
            x = lib.tensor([0.25, 0.5], dtype=lib.float16)
            fn = getattr(lib.special, name)
            arguments = {"multigammaln": (x + 2, 2), "polygamma": (1, x), "softmax": (x, 0), "log_softmax": (x, 0),
                         "logsumexp": (x, 0)}.get(name)
            if arguments is None:
                binary = name in ("xlogy", "xlog1py", "zeta", "gammainc", "gammaincc") or "polynomial" in name
                arguments = (x, x) if binary else (x,)
            try:
                fn(*arguments)
                outcomes.append("ok")
            except NotImplementedError as error:
                outcomes.append(str(error))
        assert outcomes[0] == outcomes[1], name


def test_float32_stays_float32_and_values_match_scipy():
    x = np.array([0.25, 1.5, 7.0], dtype=np.float32)
    out = ember.lgamma(ember.tensor(x))
    assert out.dtype == ember.float32
    np.testing.assert_allclose(out.numpy(), sp.gammaln(x.astype(np.float64)), rtol=1e-6)


def test_incomplete_gamma_promotes_its_operands_and_refuses_integer_results_as_torch():
    assert ember.igamma(ember.tensor([1, 2]), ember.tensor([1.0, 2.0])).dtype == ember.float32
    with pytest.raises(NotImplementedError, match="\"igamma_cpu\" not implemented for 'Long'"):
        ember.igamma(ember.tensor([1, 2]), ember.tensor([1, 2]))
    with pytest.raises(NotImplementedError, match="\"igammac_cpu\" not implemented for 'Bool'"):
        ember.special.gammaincc(ember.tensor([True]), ember.tensor([True]))
    with pytest.raises(TypeError, match="argument 'other' \\(position 2\\) must be Tensor, not float"):
        ember.igamma(ember.tensor([1.0]), 2.0)


# --- gradients that torch does not have -------------------------------------------------------------
@pytest.mark.parametrize("fn, message", [
    (ember.igamma, "igamma: input"), (ember.special.gammaincc, "igammac: input"), (ember.special.zeta, "zeta"),
])
def test_no_derivative_for_the_first_argument_as_in_torch(fn, message):
    a = ember.tensor([1.5, 2.5], dtype=ember.float64, requires_grad=True)
    x = ember.tensor([0.5, 3.0], dtype=ember.float64, requires_grad=True)
    out = fn(a, x)
    with pytest.raises(NotImplementedError, match=f"the derivative for '{message}' is not implemented"):
        out.sum().backward()


def test_incomplete_gamma_derivative_in_x_is_the_gamma_density():
    a = ember.tensor([1.5, 2.5], dtype=ember.float64)
    x = ember.tensor([0.5, 3.0], dtype=ember.float64, requires_grad=True)
    ember.special.gammainc(a, x).sum().backward()
    density = x.detach().numpy() ** (a.numpy() - 1) * np.exp(-x.detach().numpy()) / sp.gamma(a.numpy())
    np.testing.assert_allclose(x.grad.numpy(), density, rtol=1e-12)


# --- argument errors --------------------------------------------------------------------------------
def test_polygamma_and_mvlgamma_argument_errors_match_torch():
    x = ember.tensor([1.5])
    with pytest.raises(RuntimeError, match=r"polygamma\(n, x\) does not support negative n"):
        ember.polygamma(-1, x)
    with pytest.raises(TypeError, match="must be int, not float"):
        ember.polygamma(1.5, x)
    with pytest.raises(RuntimeError, match="p has to be greater than or equal to 1"):
        ember.mvlgamma(x, 0)
    with pytest.raises(TypeError, match="must be int, not float"):
        ember.mvlgamma(x, 1.5)
    with pytest.raises(TypeError, match="'eps' must be float, not str"):
        ember.logit(x, "0.1")


# --- method and in-place forms --------------------------------------------------------------------
def test_polygamma_method_takes_n_like_torch():
    x = ember.tensor([0.5, 2.0], dtype=ember.float64)
    np.testing.assert_allclose(x.polygamma(2).numpy(), sp.polygamma(2, [0.5, 2.0]), rtol=1e-12)
    np.testing.assert_allclose(ember.polygamma(2, x).numpy(), sp.polygamma(2, [0.5, 2.0]), rtol=1e-12)


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_in_place_forms_write_the_out_of_place_value_into_the_tensor(name):
    x = ember.tensor([0.2, 0.4, 0.7], dtype=ember.float64)
    args = (2,) if name == "polygamma" else _args(name, x)
    expected = getattr(x, name)(*args).numpy()
    y = x.clone()
    assert getattr(y, name + "_")(*args) is y
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12)


def test_in_place_form_on_an_intermediate_is_differentiated():
    x = ember.tensor([0.5, 2.0, 3.5], dtype=ember.float64, requires_grad=True)
    y = x * 1
    y.lgamma_()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), sp.psi([0.5, 2.0, 3.5]), rtol=1e-12)


# --- values and gradients at edges -------------------------------------------------------------------
def test_xlogy_and_xlog1py_are_zero_where_x_is_zero_unless_y_is_nan():
    zeros = ember.zeros(3, dtype=ember.float64)
    y = ember.tensor([0.0, math.inf, math.nan], dtype=ember.float64)
    np.testing.assert_array_equal(ember.xlogy(zeros, y).numpy(), [0.0, 0.0, math.nan])
    np.testing.assert_array_equal(ember.special.xlog1py(zeros, y - 1).numpy(), [0.0, 0.0, math.nan])


def test_logit_without_eps_is_nan_outside_the_unit_interval_and_with_eps_clamps():
    p = ember.tensor([-0.5, 0.0, 0.3, 1.0, 1.5], dtype=ember.float64, requires_grad=True)
    out = ember.logit(p)
    np.testing.assert_array_equal(out.detach().numpy()[[0, 1, 3, 4]], [math.nan, -math.inf, math.inf, math.nan])
    out.sum().backward()
    assert np.isnan(p.grad.numpy()[[0, 4]]).all()
    p.grad = None
    clamped = ember.logit(p, eps=0.1)
    np.testing.assert_allclose(clamped.detach().numpy(), sp.logit(np.clip(p.detach().numpy(), 0.1, 0.9)))
    clamped.sum().backward()
    np.testing.assert_array_equal(p.grad.numpy()[[0, 1, 3, 4]], 0.0)  # clamped: no gradient, as in torch


@pytest.mark.parity
@pytest.mark.parametrize("eps", [-1.0, 0.0, 0.2, 0.7])
def test_logit_eps_matches_torch_also_when_negative_or_past_one_half(eps):
    torch = pytest.importorskip("torch")
    results = []
    for lib in (ember, torch):
        p = lib.tensor([-0.5, 0.05, 0.3, 0.95, 1.2, math.nan], dtype=lib.float64, requires_grad=True)
        out = lib.logit(p, eps)
        out.sum().backward()
        results.append((out.detach().numpy(), p.grad.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, equal_nan=True)


@pytest.mark.parity
@pytest.mark.parametrize("name", ["gammaln", "digamma", "erfinv", "ndtri", "i0", "i0e", "i1", "i1e", "erfc",
                                  "erfcx", "ndtr", "log_ndtr", "entr", "sinc", "expit", "logit"])
def test_values_at_poles_infinities_and_nan_match_torch(name):
    torch = pytest.importorskip("torch")
    ours = getattr(ember.special, name)(ember.tensor(EDGES, dtype=ember.float64)).numpy()
    theirs = getattr(torch.special, name)(torch.tensor(EDGES, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, equal_nan=True)


@pytest.mark.parity
@pytest.mark.parametrize("name, x", [("xlogy", [0.0, 0.0, 0.0, 0.0, 1.0, -1.0]),
                                     ("xlog1py", [0.0, 0.0, 0.0, 0.0, 1.0, -1.0])])
def test_gradients_of_xlogy_at_zero_match_torch(name, x):
    torch = pytest.importorskip("torch")
    y = [0.0, 2.0, math.nan, math.inf, 0.0, 0.5]
    y = y if name == "xlogy" else [v - 1 for v in y]
    grads = []
    for lib in (ember, torch):
        a = lib.tensor(x, dtype=lib.float64, requires_grad=True)
        b = lib.tensor(y, dtype=lib.float64, requires_grad=True)
        getattr(lib.special, name)(a, b).sum().backward()
        grads.append((a.grad.numpy(), b.grad.numpy()))
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, equal_nan=True)


@pytest.mark.parity
@pytest.mark.parametrize("name", ["i1", "i1e", "sinc"])
def test_gradient_at_zero_matches_torch(name):
    torch = pytest.importorskip("torch")
    grads = []
    for lib in (ember, torch):
        x = lib.tensor([0.0, 1.0], dtype=lib.float64, requires_grad=True)
        getattr(lib.special, name)(x).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(*grads, rtol=1e-12)


# --- the functions torch does not differentiate -------------------------------------------------------
@pytest.mark.parametrize("name", NOT_DIFFERENTIABLE + POLYNOMIALS)
def test_bessel_functions_and_polynomials_are_not_recorded(name):
    x = ember.tensor([0.5, 1.5], requires_grad=True)
    fn = getattr(ember.special, name)
    out = fn(x, 3) if name in POLYNOMIALS else fn(x)
    assert not out.requires_grad and out.grad_fn is None


@pytest.mark.parity
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", NOT_DIFFERENTIABLE)
def test_bessel_functions_match_torch(name, dtype):
    torch = pytest.importorskip("torch")
    x = [-3.0, -1.0, -0.2, 0.0, 0.3, 1.0, 4.5, 30.0, math.inf, math.nan]
    ours = getattr(ember.special, name)(ember.tensor(x, dtype=getattr(ember, dtype)))
    theirs = getattr(torch.special, name)(torch.tensor(x, dtype=getattr(torch, dtype)))
    assert ours.dtype == getattr(ember, dtype)
    # torch has its own approximations (cephes'): they agree with scipy's to about 1e-8
    tolerance = {"rtol": 2e-6, "atol": 1e-7} if dtype == "float32" else {"rtol": 1e-7, "atol": 1e-12}
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), equal_nan=True, **tolerance)


@pytest.mark.parity
@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomials_match_torch_for_every_kind_of_n(name):
    """n may be a number (truncated to an integer; negative gives 0) or a tensor, and x a number."""
    torch = pytest.importorskip("torch")
    x = [-1.5, -1.0, -0.3, 0.0, 0.4, 0.999, 1.0, 2.0]
    for n in [-1, 0, 1, 2, 3, 7, 12, 2.5]:
        ours = getattr(ember.special, name)(ember.tensor(x, dtype=ember.float64), n)
        theirs = getattr(torch.special, name)(torch.tensor(x, dtype=torch.float64), n)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12, err_msg=f"n={n}")
    ours = getattr(ember.special, name)(ember.tensor(x), ember.tensor(range(8)))
    theirs = getattr(torch.special, name)(torch.tensor(x), torch.tensor(range(8)))
    assert ours.dtype == ember.float32
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-5)
    ours = getattr(ember.special, name)(0.5, ember.tensor([1, 2, 3]))
    theirs = getattr(torch.special, name)(0.5, torch.tensor([1, 2, 3]))
    assert ours.dtype == ember.float32
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_multigammaln_is_a_sum_of_shifted_lgammas():
    x = ember.tensor([[2.5, 4.0]], dtype=ember.float64)
    expected = [sp.multigammaln(2.5, 3), sp.multigammaln(4.0, 3)]
    np.testing.assert_allclose(ember.special.multigammaln(x, 3).numpy(), [expected], rtol=1e-12)
