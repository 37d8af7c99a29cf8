"""Complex tensors and the wide unsigned dtypes: dtypes, promotion, printing, views, and complex autograd
against PyTorch's convention (the gradient of a real loss is dL/dx + i dL/dy)."""

from __future__ import annotations

import numpy as np
import pytest

import ember

RNG = np.random.default_rng(0)
Z = RNG.standard_normal((3, 4)) + 1j * RNG.standard_normal((3, 4))
W = RNG.standard_normal((4, 2)) + 1j * RNG.standard_normal((4, 2))


# --- dtypes -----------------------------------------------------------------------------------------
def test_complex_dtypes_have_torch_names_and_flags():
    assert ember.cfloat is ember.complex64 and ember.cdouble is ember.complex128
    assert ember.complex64.is_complex and not ember.complex64.is_floating_point
    assert not ember.float32.is_complex
    assert ember.complex64.itemsize == 8 and repr(ember.complex128) == "ember.complex128"


def test_python_complex_numbers_give_the_default_complex_dtype():
    assert ember.tensor([1 + 2j]).dtype == ember.complex64
    assert ember.tensor([[1, 2j], [3, 4]]).dtype == ember.complex64
    ember.set_default_dtype(ember.float64)
    try:
        assert ember.tensor([1j]).dtype == ember.complex128
        assert ember.get_default_complex_dtype() == ember.complex128
    finally:
        ember.set_default_dtype(ember.float32)


@pytest.mark.parametrize("a, b, expected", [
    (("float64", 2), ("complex64", 0), "complex128"),   # a float tensor keeps its precision
    (("float32", 2), ("complex128", 0), "complex64"),
    (("complex64", 2), ("float64", 0), "complex64"),
    (("int64", 2), ("complex128", 0), "complex128"),
    (("float64", 0), ("complex64", 0), "complex128"),
    (("float32", 2), ("complex64", 2), "complex64"),
    (("float64", 2), ("complex64", 2), "complex128"),
    (("int32", 2), ("complex64", 2), "complex64"),
])
def test_promotion_with_complex_tensors_follows_torch(a, b, expected):
    x = ember.ones(*([2] * a[1]), dtype=getattr(ember, a[0]))
    y = ember.ones(*([2] * b[1]), dtype=getattr(ember, b[0]))
    assert (x + y).dtype == getattr(ember, expected)
    assert (y * x).dtype == getattr(ember, expected)


def test_python_complex_scalars_promote_as_in_torch():
    assert (ember.ones(2, dtype=ember.float64) * 1j).dtype == ember.complex128
    assert (ember.ones(2) * 1j).dtype == ember.complex64
    assert (ember.ones(2, dtype=ember.int32) + 1j).dtype == ember.complex64
    assert (ember.ones(2, dtype=ember.complex64) * 2.5).dtype == ember.complex64
    assert (1j * ember.ones(2, dtype=ember.complex128)).dtype == ember.complex128
    assert ember.promote_types(ember.float64, ember.complex64) == ember.complex128
    assert ember.promote_types(ember.int64, ember.complex64) == ember.complex64


def test_complex_tensors_print_like_torch():
    assert repr(ember.tensor([1 + 2j])) == "tensor([1.+2.j])"
    assert repr(ember.tensor(1 + 1j)) == "tensor(1.+1.j)"
    assert repr(ember.tensor([1 + 2j, 3.5 - 1e-5j], dtype=ember.complex128)) == (
        "tensor([1.0000+2.0000e+00j, 3.5000-1.0000e-05j], dtype=ember.complex128)")
    assert repr(ember.tensor([1.5 + 2j, float("nan") + 1j, 1e10j])) == (
        "tensor([1.5000+2.0000e+00j,    nan+1.0000e+00j, 0.0000+1.0000e+10j])")
    assert repr(ember.tensor([1.25 - 3j], requires_grad=True)) == "tensor([1.2500-3.j], requires_grad=True)"


def test_unsigned_dtypes_wrap_numpy():
    for name in ("uint16", "uint32", "uint64"):
        d = getattr(ember, name)
        t = ember.tensor([1, 2], dtype=d)
        assert t.dtype == d and not d.is_signed
        assert repr(t) == f"tensor([1, 2], dtype=ember.{name})"
        assert (t + 1).dtype == d and (t + 1).tolist() == [2, 3]
    assert ember.from_numpy(np.arange(3, dtype=np.uint32)).dtype == ember.uint32


def test_python_complex_of_a_one_element_tensor():
    assert complex(ember.tensor(1 + 2j)) == 1 + 2j
    assert complex(ember.tensor([2.5])) == 2.5 + 0j
    assert ember.tensor([3 - 1j]).item() == 3 - 1j


def test_random_complex_tensors_have_random_imaginary_parts():
    ember.manual_seed(0)
    z = ember.randn(20000, dtype=ember.complex64)
    assert z.dtype == ember.complex64
    # torch: real and imaginary parts independent, each of variance 1/2, so E|z|^2 = 1
    assert abs(z.real.var().item() - 0.5) < 0.03 and abs(z.imag.var().item() - 0.5) < 0.03
    assert abs((z.abs() ** 2).mean().item() - 1) < 0.05
    u = ember.rand(20000, dtype=ember.complex128)
    assert u.dtype == ember.complex128
    assert 0 <= u.imag.min().item() and u.imag.max().item() < 1 and abs(u.imag.mean().item() - 0.5) < 0.02


def test_wide_unsigned_dtypes_promote_only_with_floats_as_in_torch():
    u = ember.tensor([1, 2], dtype=ember.uint16)
    assert (u * 2.5).dtype == ember.float32 and (u + ember.ones(2)).dtype == ember.float32
    assert ember.promote_types(ember.uint64, ember.float64) == ember.float64
    assert ember.promote_types(ember.uint32, ember.uint32) == ember.uint32
    with pytest.raises(RuntimeError, match="Promotion for uint16, uint32, uint64 types is not supported, "
                                           "attempted to promote UInt16 and Long"):
        u + ember.tensor([1, 2])
    with pytest.raises(RuntimeError, match="attempted to promote UInt32 and Byte"):
        ember.promote_types(ember.uint32, ember.uint8)
    with pytest.raises(RuntimeError, match="attempted to promote UInt64 and ComplexFloat"):
        ember.promote_types(ember.uint64, ember.complex64)


def test_casts_to_and_from_complex():
    x = ember.tensor([1.0, -2.0], dtype=ember.float64)
    assert x.to(ember.complex64).dtype == ember.complex64
    assert x.cdouble().tolist() == [1 + 0j, -2 + 0j]
    with pytest.warns(UserWarning, match="discards the imaginary part"):
        assert ember.tensor([1 + 2j]).float().tolist() == [1.0]


# --- views and functions ----------------------------------------------------------------------------
def test_real_and_imag_are_writable_views():
    z = ember.tensor([1 + 2j, 3 - 4j])
    assert z.is_complex() and ember.is_complex(z) and not z.is_floating_point()
    assert z.real.dtype == ember.float32 and z.real.tolist() == [1.0, 3.0] and z.imag.tolist() == [2.0, -4.0]
    z.real[0] = 10
    z.imag.mul_(2)
    assert z.tolist() == [10 + 4j, 3 - 8j]
    z.real = ember.tensor([0.0, 0.0])
    assert z.tolist() == [4j, -8j]
    r = ember.tensor([1.0, 2.0])
    assert r.real is r
    with pytest.raises(RuntimeError, match="imag is not implemented for tensors with non-complex dtypes"):
        _ = r.imag


def test_view_as_real_and_view_as_complex_share_memory():
    z = ember.tensor([1 + 2j, 3 - 4j])
    r = ember.view_as_real(z)
    assert r.shape == (2, 2) and r.tolist() == [[1.0, 2.0], [3.0, -4.0]]
    r[1, 1] = 7.0
    assert z.tolist()[1] == 3 + 7j
    back = ember.view_as_complex(r)
    assert back.dtype == ember.complex64 and back.tolist() == z.tolist()
    back[0] = 0
    assert r[0].tolist() == [0.0, 0.0]
    with pytest.raises(RuntimeError, match="last dimension of size 2"):
        ember.view_as_complex(ember.ones(2, 3))
    with pytest.raises(RuntimeError, match="last dimension with stride 1"):
        ember.view_as_complex(ember.ones(2, 4)[:, ::2])
    with pytest.raises(RuntimeError, match="only supported for complex tensors"):
        ember.view_as_real(ember.ones(2))


def test_conj_abs_angle_polar_complex_values():
    z = ember.tensor([3 + 4j, -1 + 0j, 0j])
    assert z.conj().tolist() == [3 - 4j, -1 - 0j, 0j] and ember.conj_physical(z).tolist()[0] == 3 - 4j
    assert not z.is_conj() and z.resolve_conj() is z
    assert z.abs().dtype == ember.float32 and z.abs().tolist() == [5.0, 1.0, 0.0]
    assert np.allclose(z.angle().numpy(), [np.arctan2(4, 3), np.pi, 0.0])
    assert ember.angle(ember.tensor([-2.0, 0.0, 3.0])).tolist() == pytest.approx([np.pi, 0.0, 0.0])
    p = ember.polar(ember.tensor([2.0]), ember.tensor([np.pi / 2]))
    assert p.dtype == ember.complex64 and np.allclose(p.numpy(), [2j], atol=1e-6)
    f64 = ember.float64
    c = ember.complex(ember.tensor([1.0, 2.0], dtype=f64), ember.tensor([3.0, 4.0], dtype=f64))
    assert c.dtype == ember.complex128 and c.tolist() == [1 + 3j, 2 + 4j]
    with pytest.raises(RuntimeError, match="expected both inputs to be Float or Double"):
        ember.complex(ember.tensor([1]), ember.tensor([2]))


def test_arithmetic_and_reductions_on_complex_tensors():
    z, w = ember.tensor(Z), ember.tensor(W)
    assert z.dtype == ember.complex128
    for got, want in [(z + 1j, Z + 1j), (z - z * 2, -Z), (z / (z + 1), Z / (Z + 1)), (z ** 2, Z ** 2),
                      (-z, -Z), (z.exp(), np.exp(Z)), (z.log(), np.log(Z)), (z.sqrt(), np.sqrt(Z)),
                      (z.sum(), Z.sum()), (z.mean(0), Z.mean(0)), (z @ w, Z @ W)]:
        assert got.dtype == ember.complex128
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda z: z.floor(), "floor is not supported for complex inputs"),
    (lambda z: z.ceil(), "ceil is not supported for complex inputs"),
    (lambda z: z.trunc(), "trunc is not supported for complex inputs"),
    (lambda z: z.round(), "round is not supported for complex inputs"),
    (lambda z: z.frac(), "\"frac\" not implemented for 'ComplexFloat'"),
    (lambda z: z.sign(), "Unlike NumPy, torch.sign is not intended to support complex numbers"),
    (lambda z: z.clamp(0, 1), "clamp is not supported for complex types"),
    (lambda z: ember.maximum(z, z), "maximum not implemented for complex tensors"),
    (lambda z: z < 1, "\"lt_cpu\" not implemented for 'ComplexFloat'"),
    (lambda z: z >= z, "\"ge_cpu\" not implemented for 'ComplexFloat'"),
])
def test_ops_undefined_on_complex_numbers_raise_as_torch(call, message):
    with pytest.raises((NotImplementedError, RuntimeError), match=message.replace("(", "\\(")):
        call(ember.tensor([1.5 + 1j]))


def test_backward_of_a_complex_output_needs_a_gradient():
    z = ember.tensor([1 + 1j], requires_grad=True)
    with pytest.raises(RuntimeError, match="only for real scalar outputs"):
        (z * 2).sum().backward()


# --- autograd against torch -------------------------------------------------------------------------
CASES = {
    "mul_abs": lambda m, z, w: (z * z.conj() * 2).abs().sum(),
    "real_imag": lambda m, z, w: (z.real ** 2 + z.imag * 3).sum(),
    "view_as_real": lambda m, z, w: m.view_as_real(z * 1j).pow(2).sum(),
    "angle": lambda m, z, w: m.angle(z).sum(),
    "div_exp": lambda m, z, w: (z / (z.exp() + 1)).abs().sum(),
    "matmul": lambda m, z, w: (z @ w).abs().sum(),
    "exp_log_sqrt": lambda m, z, w: (m.exp(z) + m.log(z) + m.sqrt(z)).real.sum(),
    "mean_sum": lambda m, z, w: (z.mean() * w.sum()).imag,
    "pow": lambda m, z, w: (z ** 2 + z.pow(3)).abs().sum(),
    "neg_sub": lambda m, z, w: (-z).abs().sum() + (z - w[:, :1].T).abs().sum(),
    "polar": lambda m, z, w: m.view_as_real(m.polar(z.abs(), m.angle(z)) * w[0, 0]).sum(),
    "view_as_complex": lambda m, z, w: m.view_as_complex(m.view_as_real(z) * 2).abs().sum(),
    "complex": lambda m, z, w: m.complex(z.real, z.imag * 2).abs().sum(),
    "sgn": lambda m, z, w: (z.sgn() * w[0, 0]).real.sum(),
    "real_times_complex": lambda m, z, w: (z.abs() * w[0, 0]).imag.sum(),
    "sin_cos_tan": lambda m, z, w: (z.sin() * z.cos() + (z * 0.3).tan()).abs().sum(),
    "tanh_sigmoid": lambda m, z, w: (z.tanh() + z.sigmoid()).abs().sum(),
    "prod_cumprod": lambda m, z, w: (z.prod(1).abs().sum() + z.cumprod(0).abs().sum()),
    "var_std_norm": lambda m, z, w: z.var(0).sum() + z.std() + z.norm() + m.linalg.norm(w),
    "einsum": lambda m, z, w: m.einsum("ij,jk->ik", z, w).abs().sum(),
    "reciprocal_rsqrt_log1p": lambda m, z, w: (z.reciprocal() + z.rsqrt() + z.log1p() + z.expm1()).abs().sum(),
}


@pytest.mark.parity
@pytest.mark.parametrize("name", list(CASES))
def test_complex_gradients_match_torch(name):
    torch = pytest.importorskip("torch")

    def run(m):
        z, w = m.tensor(Z, requires_grad=True), m.tensor(W, requires_grad=True)
        out = CASES[name](m, z, w)
        out.backward()
        grads = [t.grad.numpy() if t.grad is not None else None for t in (z, w)]
        return out.detach().numpy(), grads

    (out, grads), (want, want_grads) = run(ember), run(torch)
    np.testing.assert_allclose(out, want, rtol=1e-10)
    for g, wg in zip(grads, want_grads):
        assert (g is None) == (wg is None)
        if g is not None:
            assert g.dtype == wg.dtype
            np.testing.assert_allclose(g, wg, rtol=1e-10, atol=1e-12)


@pytest.mark.parity
def test_double_backward_through_complex_ops_matches_torch():
    torch = pytest.importorskip("torch")

    def run(m):
        z = m.tensor(Z, requires_grad=True)
        loss = (z * z.exp()).abs().sum() + m.angle(z * z).sum()
        (g,) = m.autograd.grad(loss, z, create_graph=True)
        (m.view_as_real(g) ** 2).sum().backward()
        return z.grad.numpy()

    np.testing.assert_allclose(run(ember), run(torch), rtol=1e-8)
