"""ember.linalg and the top-level linear-algebra ops beyond the op table (op_specs_linalg.py): errors,
the ``*_ex`` info tensors, return types, tolerances, dtypes and in-place forms, against torch."""

from __future__ import annotations

import numpy as np
import pytest

import ember

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.parity


def both(array, **kwargs):
    return ember.tensor(array, **kwargs), torch.tensor(array, **kwargs)


def error_of(fn):
    with pytest.raises(Exception) as info:
        fn()
    return info.value


SINGULAR = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])


# --- errors: torch's types and messages ---------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda m, a: m.linalg.inv(a),
    lambda m, a: m.inverse(a),
    lambda m, a: m.linalg.solve(a, a[0]),
    lambda m, a: m.linalg.cholesky(a),
    lambda m, a: m.linalg.cholesky(m.stack([m.eye(3, dtype=a.dtype), a])),
    lambda m, a: m.linalg.inv(m.stack([m.eye(3, dtype=a.dtype), a])),
    lambda m, a: m.linalg.matrix_power(a, -1),
], ids=["inv", "inverse", "solve", "cholesky", "cholesky_batch", "inv_batch", "matrix_power"])
def test_singular_input_raises_linalg_error_as_torch(call):
    e, t = both(SINGULAR)
    e_error, t_error = error_of(lambda: call(ember, e)), error_of(lambda: call(torch, t))
    assert isinstance(e_error, ember.linalg.LinAlgError) and isinstance(e_error, RuntimeError)
    assert str(e_error).replace("ember", "torch") == str(t_error).replace("inverse:", "linalg.inv:")


@pytest.mark.parametrize("call", [
    lambda m, a: m.linalg.inv(a.long()),
    lambda m, a: m.linalg.det(a.long()),
    lambda m, a: m.linalg.vector_norm(a.long()),
    lambda m, a: m.linalg.inv(a[:, :2]),
    lambda m, a: m.linalg.eigh(a[:2]),
    lambda m, a: m.linalg.det(a[0]),
    lambda m, a: m.linalg.svd(a[0]),
    lambda m, a: m.linalg.solve(a, a[:2, 0]),
    lambda m, a: m.linalg.cross(a[:, :2], a[:, :2]),
    lambda m, a: m.linalg.cross(a, a[0]),
    lambda m, a: m.trace(a[None]),
    lambda m, a: m.linalg.norm(a[None], 2),
    lambda m, a: m.cdist(a[0], a),
    lambda m, a: m.cdist(a, a[:, :2]),
    lambda m, a: m.tensordot(a, a[:2], dims=([0], [0])),
    lambda m, a: m.linalg.matrix_power(a[:2], 2),
    lambda m, a: m.linalg.solve(a.float(), a[0]),
    lambda m, a: m.linalg.multi_dot([a, a[None]]),
    lambda m, a: m.linalg.multi_dot([a[:, :2], a[0], a]),
    lambda m, a: m.linalg.multi_dot([a[0, :2], a]),
    lambda m, a: m.addmm(a, a[:, :2], a),
    lambda m, a: m.addmv(a[0], a[:, :2], a[0]),
    lambda m, a: m.linalg.pinv(a[0]),
    lambda m, a: m.cdist(a, a, p=-1.0),
], ids=["inv_long", "det_long", "vector_norm_long", "inv_not_square", "eigh_not_square", "det_1d", "svd_1d",
        "solve_shapes", "cross_not_3", "cross_ndim", "trace_3d", "norm_3d_ord", "cdist_1d", "cdist_columns",
        "tensordot_sizes", "matrix_power_not_square", "solve_dtypes", "multi_dot_last_3d", "multi_dot_middle_1d",
        "multi_dot_shapes", "addmm_shapes", "addmv_shapes", "pinv_1d", "cdist_negative_p"])
def test_bad_input_raises_torch_error(call):
    e, t = both(SINGULAR)
    e_error, t_error = error_of(lambda: call(ember, e)), error_of(lambda: call(torch, t))
    assert type(e_error) is type(t_error) or isinstance(e_error, RuntimeError) and isinstance(t_error, RuntimeError)
    assert str(e_error) == str(t_error)


def test_inv_ex_and_cholesky_ex_report_info_instead_of_raising():
    batch = np.stack([np.eye(3) * 2, SINGULAR, -np.eye(3)])
    e, t = both(batch)
    e_inv, t_inv = ember.linalg.inv_ex(e), torch.linalg.inv_ex(t)
    np.testing.assert_array_equal(e_inv.info.numpy(), t_inv.info.numpy())
    assert e_inv.info.dtype == ember.int32
    e_chol, t_chol = ember.linalg.cholesky_ex(e), torch.linalg.cholesky_ex(t)
    np.testing.assert_array_equal(e_chol.info.numpy(), t_chol.info.numpy())
    np.testing.assert_allclose(e_chol.L.numpy()[0], t_chol.L.numpy()[0])
    with pytest.raises(ember.linalg.LinAlgError, match=r"\(Batch element 1\)"):
        ember.linalg.cholesky_ex(e, check_errors=True)
    fine = ember.linalg.inv_ex(e[:1])
    assert fine.info.tolist() == [0]
    np.testing.assert_allclose(fine.inverse.numpy(), np.eye(3)[None] / 2)


def test_solve_ex_returns_info_for_singular_matrix():
    e, t = both(np.stack([np.eye(3), SINGULAR]))
    rhs = np.ones((2, 3))
    e_out, t_out = ember.linalg.solve_ex(e, ember.tensor(rhs)), torch.linalg.solve_ex(t, torch.tensor(rhs))
    assert e_out.info.tolist() == t_out.info.tolist()
    assert tuple(e_out.result.shape) == tuple(t_out.result.shape)


# --- return types and values torch users read ----------------------------------------------------------

def test_results_are_named_tuples_with_torch_field_names():
    a = ember.randn(4, 3, dtype=ember.float64)
    square = a.mT @ a + ember.eye(3, dtype=ember.float64)
    assert ember.linalg.eigh(square).eigenvalues.shape == (3,)
    assert ember.linalg.eigh(square).eigenvectors.shape == (3, 3)
    assert ember.linalg.qr(a).R.shape == (3, 3)
    assert ember.linalg.svd(a).Vh.shape == (3, 3) and ember.linalg.svd(a).U.shape == (4, 4)
    assert ember.svd(a).V.shape == (3, 3) and ember.svd(a).U.shape == (4, 3)
    assert ember.linalg.slogdet(square).sign.item() == 1.0
    assert ember.linalg.lstsq(a, ember.ones(4, 1, dtype=ember.float64)).solution.shape == (3, 1)
    assert ember.linalg.cholesky_ex(square).L.shape == (3, 3)
    with pytest.warns(UserWarning, match="deprecated"):
        solution, coefficient = ember.triangular_solve(ember.ones(3, 1, dtype=ember.float64), square.triu())
    assert coefficient.shape == (3, 3) and solution.shape == (3, 1)


@pytest.mark.parametrize("full_matrices", [True, False])
@pytest.mark.parametrize("shape", [(4, 2), (2, 5), (2, 3, 3)])
def test_svd_and_qr_shapes_match_torch(shape, full_matrices):
    a = np.random.default_rng(0).standard_normal(shape)
    e, t = both(a)
    for e_out, t_out in zip(ember.linalg.svd(e, full_matrices=full_matrices),
                            torch.linalg.svd(t, full_matrices=full_matrices)):
        assert tuple(e_out.shape) == tuple(t_out.shape)
    for mode in ("reduced", "complete", "r"):
        for e_out, t_out in zip(ember.linalg.qr(e, mode=mode), torch.linalg.qr(t, mode=mode)):
            assert tuple(e_out.shape) == tuple(t_out.shape)
    for e_out, t_out in zip(ember.svd(e, some=not full_matrices, compute_uv=False),
                            torch.svd(t, some=not full_matrices, compute_uv=False)):
        np.testing.assert_allclose(e_out.numpy(), t_out.numpy(), atol=1e-12)


def test_matrix_rank_and_pinv_on_rank_deficient_input_match_torch():
    rng = np.random.default_rng(0)
    low_rank = rng.standard_normal((2, 5, 2)) @ rng.standard_normal((2, 2, 4))  # rank 2
    e, t = both(low_rank)
    assert ember.linalg.matrix_rank(e).tolist() == torch.linalg.matrix_rank(t).tolist() == [2, 2]
    assert ember.linalg.matrix_rank(e).dtype == ember.int64
    assert ember.linalg.matrix_rank(e, atol=1e3).tolist() == torch.linalg.matrix_rank(t, atol=1e3).tolist()
    assert (ember.linalg.matrix_rank(e, rtol=0.5).tolist() == torch.linalg.matrix_rank(t, rtol=0.5).tolist())
    np.testing.assert_allclose(ember.linalg.pinv(e).numpy(), torch.linalg.pinv(t).numpy(), atol=1e-10)
    symmetric = low_rank @ np.swapaxes(low_rank, -1, -2)
    e, t = both(symmetric)
    np.testing.assert_allclose(ember.linalg.pinv(e, hermitian=True).numpy(),
                               torch.linalg.pinv(t, hermitian=True).numpy(), atol=1e-8)
    assert (ember.linalg.matrix_rank(e, hermitian=True).tolist()
            == torch.linalg.matrix_rank(t, hermitian=True).tolist())


def test_lstsq_returns_rank_and_empty_fields_as_torch_gelsy():
    rng = np.random.default_rng(1)
    e_a, t_a = both(rng.standard_normal((2, 5, 3)))
    e_b, t_b = both(rng.standard_normal((2, 5, 2)))
    e_out, t_out = ember.linalg.lstsq(e_a, e_b), torch.linalg.lstsq(t_a, t_b)
    np.testing.assert_allclose(e_out.solution.numpy(), t_out.solution.numpy(), atol=1e-10)
    assert e_out.rank.tolist() == t_out.rank.tolist()
    assert tuple(e_out.residuals.shape) == tuple(t_out.residuals.shape) == (0,)
    assert tuple(e_out.singular_values.shape) == tuple(t_out.singular_values.shape)


def test_det_logdet_slogdet_of_singular_and_negative_matrices():
    exactly_singular = np.array([[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 1.0]])  # LU pivots exactly 0
    e, t = both(np.stack([exactly_singular, -np.eye(3), np.diag([1.0, -2.0, -3.0])]))
    np.testing.assert_allclose(ember.logdet(e).numpy(), torch.logdet(t).numpy())  # -inf, nan, log 6
    for e_out, t_out in zip(ember.linalg.slogdet(e), torch.linalg.slogdet(t)):
        np.testing.assert_allclose(e_out.numpy(), t_out.numpy(), atol=1e-12)
    np.testing.assert_allclose(ember.det(e).numpy(), torch.det(t).numpy(), atol=1e-12)
    assert e.slogdet()[0].tolist() == [0.0, -1.0, 1.0]


def test_eigh_gradient_of_a_symmetric_leaf_matches_torch():
    """The gradient w.r.t. the matrix itself (not through a symmetrisation), as a user sees it."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal((3, 3))
    a = a + a.T
    weights = rng.standard_normal((3, 3))
    grads = []
    for m in (ember, torch):
        x = m.tensor(a, requires_grad=True)
        values, vectors = m.linalg.eigh(x)
        ((vectors**2 * m.tensor(weights)).sum() + values[0] * 2).backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], atol=1e-10)


def test_eigvalsh_and_svdvals_without_grad_are_not_recorded():
    a = ember.randn(3, 3)
    assert not ember.linalg.eigvalsh(a + a.mT).requires_grad
    assert ember.linalg.svdvals(a.requires_grad_()).requires_grad


# --- norms ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    {}, {"ord": 1}, {"ord": float("inf")}, {"ord": -1}, {"ord": "nuc"}, {"ord": 2}, {"ord": -2}, {"ord": "fro"},
    {"dim": 1}, {"ord": 0, "dim": 0}, {"ord": 0.5, "dim": -1, "keepdim": True}, {"dim": (0, 1), "ord": -float("inf")},
    {"keepdim": True},
])
def test_linalg_norm_matches_torch(kwargs):
    a = np.random.default_rng(3).standard_normal((3, 4))
    e, t = both(a)
    e_out, t_out = ember.linalg.norm(e, **kwargs), torch.linalg.norm(t, **kwargs)
    assert tuple(e_out.shape) == tuple(t_out.shape)
    assert str(e_out.dtype).split(".")[-1] == str(t_out.dtype).split(".")[-1]
    np.testing.assert_allclose(e_out.numpy(), t_out.numpy(), rtol=1e-6)


def test_vector_norm_gradient_at_zero_is_zero_as_in_torch():
    x = ember.zeros(3, requires_grad=True)
    ember.linalg.vector_norm(x).backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    y = ember.zeros(2, 3, requires_grad=True)
    ember.cdist(y, y).sum().backward()
    assert y.grad.abs().sum().item() == 0.0


# --- the matmul family, products, dtypes ------------------------------------------------------------------

def test_addmm_with_beta_zero_ignores_nan_in_input():
    nan = ember.full((2, 2), float("nan"))
    out = ember.addmm(nan, ember.eye(2), ember.ones(2, 2), beta=0)
    assert out.tolist() == [[1.0, 1.0], [1.0, 1.0]]


def test_inplace_matmul_family_writes_into_the_tensor():
    rng = np.random.default_rng(4)
    m1, m2 = rng.standard_normal((2, 4)), rng.standard_normal((4, 3))
    cases = [  # (method, shape of self, operands, keyword arguments)
        ("addmm_", (2, 3), (m1, m2), {"beta": 2, "alpha": -1}),
        ("addmv_", (2,), (m1, m2[:, 0]), {"beta": 0.5}),
        ("addr_", (2, 3), (m1[:, 0], m2[0]), {"alpha": 0.5}),
        ("addbmm_", (2, 3), (m1[None], m2[None]), {}),
        ("baddbmm_", (1, 2, 3), (m1[None], m2[None]), {"beta": 0}),
    ]
    for method, shape, operands, kwargs in cases:
        self_array = rng.standard_normal(shape)
        results = []
        for m in (ember, torch):
            x = m.tensor(self_array)
            returned = getattr(x, method)(*(m.tensor(o) for o in operands), **kwargs)
            assert returned is x, method
            results.append(x.numpy())
        np.testing.assert_allclose(results[0], results[1], err_msg=method)


@pytest.mark.parametrize("call", [
    lambda m, a, b: m.trace(a),
    lambda m, a, b: m.kron(a, b),
    lambda m, a, b: m.tensordot(a, b, dims=1),
    lambda m, a, b: m.linalg.matrix_power(a, 3),
    lambda m, a, b: m.linalg.matrix_power(a, 0),
    lambda m, a, b: m.vander(a[0]),
    lambda m, a, b: m.vander(a[0].int(), N=2, increasing=True),
    lambda m, a, b: m.block_diag(a, b.float(), a[0]),
    lambda m, a, b: m.addmm(a, a, b),
    lambda m, a, b: m.cross(a, b.mT),
    lambda m, a, b: m.einsum("...i,i...->...", a, b),
], ids=["trace", "kron", "tensordot", "matrix_power", "matrix_power_0", "vander", "vander_int32", "block_diag",
        "addmm", "cross", "einsum_ellipsis"])
def test_integer_inputs_keep_torch_dtype_and_values(call):
    rng = np.random.default_rng(5)
    ea, ta = both(rng.integers(-3, 4, (3, 3)))
    eb, tb = both(rng.integers(-3, 4, (3, 3)))
    e_out, t_out = call(ember, ea, eb), call(torch, ta, tb)
    assert str(e_out.dtype).split(".")[-1] == str(t_out.dtype).split(".")[-1]
    np.testing.assert_array_equal(e_out.numpy(), t_out.numpy())


def test_vander_forward_matches_torch_for_floats():
    """vander's gradient is checked in the op table; torch's own vander backward fails, so only values here."""
    e, t = both(np.array([0.5, -1.0, 2.0, 3.0]))
    np.testing.assert_allclose(ember.vander(e, N=5).numpy(), torch.vander(t, N=5).numpy())
    assert tuple(ember.vander(e, N=0).shape) == tuple(torch.vander(t, N=0).shape)


def test_einsum_ellipsis_broadcasts_and_reports_mismatch():
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((2, 1, 3, 4)), rng.standard_normal((5, 4, 2))
    out = ember.einsum("...ij,...jk->...ik", ember.tensor(a), ember.tensor(b))
    np.testing.assert_allclose(out.numpy(), torch.einsum("...ij,...jk->...ik", torch.tensor(a), torch.tensor(b)))
    implicit = ember.einsum("...ij,...jk", ember.tensor(a), ember.tensor(b))
    assert tuple(implicit.shape) == (2, 5, 3, 2)
    with pytest.raises(RuntimeError, match="dimension 0 covered by ellipsis in operand 1 has size 4 which does not "
                                           "broadcast with previously seen ellipsis with size 2"):
        ember.einsum("...i,...i->...", ember.ones(2, 3), ember.ones(4, 3))


def test_linalg_namespace_has_torch_linalg_names():
    names = ["cholesky", "cholesky_ex", "cross", "det", "diagonal", "eigh", "eigvalsh", "householder_product",
             "inv", "inv_ex", "lstsq", "matmul", "matrix_exp", "matrix_norm", "matrix_power", "matrix_rank",
             "multi_dot", "norm", "pinv", "qr", "slogdet", "solve", "solve_ex", "solve_triangular", "svd",
             "svdvals", "tensorinv", "tensorsolve", "vecdot", "vector_norm", "LinAlgError"]
    missing = [n for n in names if not hasattr(ember.linalg, n)]
    assert not missing
    top_level = ["det", "logdet", "slogdet", "inverse", "pinverse", "cholesky", "cholesky_solve", "cholesky_inverse",
                 "triangular_solve", "matrix_power", "matrix_exp", "qr", "svd", "tensordot", "kron", "cross",
                 "trace", "cdist", "block_diag", "vander", "chain_matmul", "addmm", "addbmm", "baddbmm", "addmv",
                 "addr"]
    assert [n for n in top_level if not hasattr(ember, n)] == []
    methods = [n for n in top_level if hasattr(torch.Tensor, n)] + ["addmm_", "addbmm_", "baddbmm_", "addmv_", "addr_"]
    assert [n for n in methods if not hasattr(ember.Tensor, n)] == []


def test_chain_matmul_and_triangular_solve_warn_as_deprecated():
    a = ember.eye(2)
    with pytest.warns(UserWarning, match="multi_dot"):
        ember.chain_matmul(a, a)
    with pytest.warns(UserWarning, match="solve_triangular"):
        ember.triangular_solve(a, a)
    with pytest.warns(UserWarning, match="dim"):
        ember.cross(ember.ones(3), ember.ones(3))


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("matrix", [[[1.0, 0.0], [2.0, 0.0]], [[0.0, 1.0], [0.0, 2.0]], [[0.0, 0.0], [1.0, 1.0]]])
def test_solve_triangular_with_zero_on_diagonal_gives_torch_inf_and_nan(matrix, upper):
    """Substitution does not raise on a singular triangle; its inf / nan pattern is torch's."""
    e_a, t_a = both(np.array(matrix))
    e_b, t_b = both(np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(ember.linalg.solve_triangular(e_a, e_b, upper=upper).numpy(),
                                  torch.linalg.solve_triangular(t_a, t_b, upper=upper).numpy())


# --- eig, eigvals and complex input -------------------------------------------------------------------

def test_eig_and_eigvals_return_complex_of_torch_dtype():
    a = np.random.default_rng(7).standard_normal((2, 3, 3))
    for dtype, complex_name in (("float32", "complex64"), ("float64", "complex128")):
        e, t = ember.tensor(a, dtype=getattr(ember, dtype)), torch.tensor(a, dtype=getattr(torch, dtype))
        values, vectors = ember.linalg.eig(e)
        assert values.dtype == vectors.dtype == getattr(ember, complex_name)
        assert ember.linalg.eigvals(e).dtype == getattr(ember, complex_name)
        np.testing.assert_allclose(np.sort_complex(values.numpy()), np.sort_complex(torch.linalg.eigvals(t).numpy()),
                                   rtol=1e-4)
    symmetric_free = ember.tensor([[0.0, -1.0], [1.0, 0.0]])  # a rotation: eigenvalues +-i
    assert sorted(ember.linalg.eigvals(symmetric_free).numpy().imag.tolist()) == [-1.0, 1.0]


@pytest.mark.parametrize("loss", [
    lambda m, L, V: L.abs().sum() + (V.abs() ** 2 * m.arange(3.0, dtype=m.float64)).sum(),
    lambda m, L, V: (L.real ** 2 - L.imag).sum(),
], ids=["vectors", "values"])
@pytest.mark.parametrize("is_complex", [False, True], ids=["real_input", "complex_input"])
def test_eig_gradient_matches_torch(loss, is_complex):
    rng = np.random.default_rng(8)
    a = rng.standard_normal((2, 3, 3)) + (1j * rng.standard_normal((2, 3, 3)) if is_complex else 0)
    grads = []
    for m in (ember, torch):
        x = m.tensor(a, requires_grad=True)
        loss(m, *m.linalg.eig(x)).backward()
        grads.append(x.grad.numpy())
    assert grads[0].dtype == grads[1].dtype
    np.testing.assert_allclose(grads[0], grads[1], atol=1e-10)


def test_eig_gradient_of_a_phase_dependent_loss_raises_as_torch():
    a = np.random.default_rng(9).standard_normal((3, 3))
    def phase_dependent_backward(m):
        x = m.tensor(a, requires_grad=True)
        m.linalg.eig(x).eigenvectors.real.sum().backward()

    errors = [error_of(lambda: phase_dependent_backward(ember)), error_of(lambda: phase_dependent_backward(torch))]
    assert isinstance(errors[0], RuntimeError)
    assert str(errors[1]).startswith(str(errors[0]))


@pytest.mark.parametrize("call", [
    lambda m, x, y: m.linalg.solve(x, y).abs().sum(),
    lambda m, x, y: m.linalg.solve(y, x).abs().sum(),
    lambda m, x, y: m.linalg.inv(x).abs().sum(),
    lambda m, x, y: m.linalg.det(x).abs() + m.linalg.det(x).real,
], ids=["solve_A", "solve_B", "inv", "det"])
def test_complex_gradients_of_solve_inv_det_match_torch(call):
    rng = np.random.default_rng(10)
    a = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    b = rng.standard_normal((3, 3)) + 1j * rng.standard_normal((3, 3))
    grads = []
    for m in (ember, torch):
        x = m.tensor(a, requires_grad=True)
        call(m, x, m.tensor(b)).backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], atol=1e-12)


# --- lu, cond, linalg.vander ------------------------------------------------------------------------------

def test_lu_factor_errors_info_and_deprecated_forms_match_torch():
    batch = np.stack([np.eye(3) * 2, np.ones((3, 3))])
    e, t = both(batch)
    e_error = error_of(lambda: ember.linalg.lu_factor(e))
    assert isinstance(e_error, ember.linalg.LinAlgError)
    assert str(e_error) == str(error_of(lambda: torch.linalg.lu_factor(t)))
    assert str(error_of(lambda: ember.linalg.lu(e, pivot=False))) == str(
        error_of(lambda: torch.linalg.lu(t, pivot=False)))
    e_out, t_out = ember.linalg.lu_factor_ex(e), torch.linalg.lu_factor_ex(t)
    for e_part, t_part in zip(e_out, t_out):
        np.testing.assert_array_equal(e_part.numpy(), t_part.numpy())
    assert e_out.pivots.dtype == e_out.info.dtype == ember.int32
    with pytest.warns(UserWarning, match="lu_factor"):
        info = ember.lu(e, get_infos=True)[2]
    assert info.tolist() == t_out.info.tolist()
    with pytest.warns(UserWarning, match="lu_solve"):
        x = ember.lu_solve(ember.ones(3, 1, dtype=ember.float64), *ember.linalg.lu_factor(e[:1]))
    np.testing.assert_allclose(x.numpy(), np.full((1, 3, 1), 0.5))


@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 3), (2, 3, 5)])
def test_lu_permutation_and_factors_match_torch(shape):
    a = np.random.default_rng(11).standard_normal(shape)
    e, t = both(a)
    for e_part, t_part in zip(ember.linalg.lu(e), torch.linalg.lu(t)):
        np.testing.assert_allclose(e_part.numpy(), t_part.numpy(), atol=1e-12)
    P, L, U = ember.linalg.lu(e)
    assert not P.requires_grad
    np.testing.assert_allclose((P @ L @ U).numpy(), a, atol=1e-12)


@pytest.mark.parametrize("p", [None, "fro", "nuc", 1, -1, 2, -2, float("inf"), -float("inf")])
def test_cond_matches_torch_and_is_inf_for_a_singular_matrix(p):
    a = np.random.default_rng(12).standard_normal((2, 3, 3))
    e, t = both(a)
    np.testing.assert_allclose(ember.linalg.cond(e, p).numpy(), torch.linalg.cond(t, p).numpy(), rtol=1e-10)
    if p in ("fro", 1, float("inf")):
        singular = np.stack([a[0], np.zeros((3, 3))])
        np.testing.assert_array_equal(ember.linalg.cond(ember.tensor(singular), p).numpy()[1:], [np.inf])


def test_linalg_vander_matches_torch():
    e, t = both(np.array([[1.0, 2.0, 3.0], [2.0, 0.0, -1.0]]))
    np.testing.assert_allclose(ember.linalg.vander(e).numpy(), torch.linalg.vander(t).numpy())
    np.testing.assert_allclose(ember.linalg.vander(e, N=4).numpy(), torch.linalg.vander(t, N=4).numpy())
    assert ember.linalg.vander(ember.tensor([1, 2])).dtype == ember.int64
    assert str(error_of(lambda: ember.linalg.vander(e, N=1))) == str(error_of(lambda: torch.linalg.vander(t, N=1)))


def test_ex_variants_keep_the_gradient_of_the_matrices_that_succeeded():
    a = np.stack([np.array([[2.0, 1.0], [1.0, 3.0]]), np.zeros((2, 2))])
    grads = []
    for m in (ember, torch):
        x = m.tensor(a, requires_grad=True)
        m.linalg.inv_ex(x).inverse[0].sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0][0], grads[1][0])  # (torch's gradient of the singular one is nan)
    assert not np.isnan(grads[0]).any()
    x = ember.tensor(a, requires_grad=True)
    result = ember.linalg.cholesky_ex(x)
    assert result.info.tolist() == [0, 1]
    result.L[0].sum().backward()
    t = torch.tensor(a[0], requires_grad=True)
    torch.linalg.cholesky(t).sum().backward()
    np.testing.assert_allclose(x.grad.numpy()[0], t.grad.numpy())


def test_ldl_factor_and_solve_match_torch_and_are_not_differentiable():
    rng = np.random.default_rng(13)
    a = rng.standard_normal((2, 4, 4))
    a = a + np.swapaxes(a, -1, -2)
    b = rng.standard_normal((2, 4, 2))
    results = []
    for m in (ember, torch):
        LD, pivots = m.linalg.ldl_factor(m.tensor(a))
        results.append((LD.numpy(), pivots.numpy(), m.linalg.ldl_solve(LD, pivots, m.tensor(b)).numpy(),
                        m.linalg.ldl_factor_ex(m.zeros(3, 3, dtype=m.float64)).info.numpy()))
    for e_part, t_part in zip(*results):
        np.testing.assert_allclose(e_part, t_part, atol=1e-12)
    np.testing.assert_allclose(results[0][2], np.linalg.solve(a, b), atol=1e-10)
    x = ember.tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError, match="derivative for aten::linalg_ldl_factor_ex is not implemented"):
        ember.linalg.ldl_factor(x).LD.sum().backward()


@pytest.mark.parametrize("matrix", [[[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 1.0]],  # rank 2
                                    [[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 0.0]],  # rank 1
                                    [[0.0, 0.0], [0.0, 0.0]]], ids=["rank2", "rank1", "zero"])
def test_det_gradient_of_a_singular_matrix_is_its_cofactor_matrix(matrix):
    """Continuous at singular matrices: the limit of torch's gradient at nearby invertible ones (torch itself
    gives 0 at an exactly singular matrix, where this backward used to raise LinAlgError)."""
    from ember.autograd import gradcheck, gradgradcheck

    a = np.array(matrix)
    x = ember.tensor(a, requires_grad=True)
    ember.linalg.det(x).backward()
    nearby = torch.tensor(a + 1e-8 * np.random.default_rng(14).standard_normal(a.shape), requires_grad=True)
    torch.linalg.det(nearby).backward()
    np.testing.assert_allclose(x.grad.numpy(), nearby.grad.numpy(), atol=1e-6)
    assert gradcheck(ember.linalg.det, (ember.tensor(a, requires_grad=True),))
    if a.any():  # (at the zero matrix the SVD's repeated zero singular values leave the second derivative nan)
        assert gradgradcheck(ember.linalg.det, (ember.tensor(a, requires_grad=True),))


def _hermitian(m, a):
    return a @ (a.mH if m is torch else ember.conj(a.mT))


COMPLEX_CASES = {  # phase-invariant losses of complex inputs (|.| of singular vectors, Q, eigenvectors)
    "solve_triangular": (lambda m, a, b: m.linalg.solve_triangular(a + 3 * m.eye(3), b, upper=True), (3, 3), (3, 2)),
    "solve_triangular_left_false_unit": (lambda m, a, b: m.linalg.solve_triangular(
        a, b, upper=False, unitriangular=True, left=False), (3, 3), (2, 3)),
    "cholesky_upper": (lambda m, a: m.linalg.cholesky(_hermitian(m, a) + 3 * m.eye(3), upper=True), (3, 3)),
    "cholesky_solve": (lambda m, a, b: m.cholesky_solve(b, m.linalg.cholesky(_hermitian(m, a) + 3 * m.eye(3))),
                       (3, 3), (3, 2)),
    "eigvalsh": (lambda m, a: m.linalg.eigvalsh(a + _hermitian(m, a)) ** 2, (3, 3)),
    "eigh_vectors": (lambda m, a: m.linalg.eigh(a + _hermitian(m, a)).eigenvectors, (3, 3)),
    "pinv": (lambda m, a: m.linalg.pinv(a), (4, 3)),
    "pinv_wide": (lambda m, a: m.linalg.pinv(a), (2, 4)),
    "matrix_exp": (lambda m, a: m.linalg.matrix_exp(a), (3, 3)),
    "svdvals": (lambda m, a: m.linalg.svdvals(a), (4, 3)),
    "svd_U": (lambda m, a: m.linalg.svd(a, full_matrices=False).U, (4, 3)),
    "svd_Vh": (lambda m, a: m.linalg.svd(a, full_matrices=False).Vh, (3, 4)),
    "svd_V_of_torch_svd": (lambda m, a: m.svd(a).V, (4, 3)),
    "qr_Q": (lambda m, a: m.linalg.qr(a).Q, (4, 3)),
    "qr_R_wide": (lambda m, a: m.linalg.qr(a).R, (3, 4)),
    "lu_U": (lambda m, a: m.linalg.lu(a).U, (3, 3)),
    "householder_product": (lambda m, a, tau: m.linalg.householder_product(a, tau), (4, 3), (2,)),
    "vecdot": (lambda m, a, b: m.linalg.vecdot(a, b), (2, 3), (3,)),
}


@pytest.mark.parametrize("name", sorted(COMPLEX_CASES))
def test_complex_inputs_give_torch_values_and_gradients(name):
    fn, *shapes = COMPLEX_CASES[name]
    rng = np.random.default_rng(15)
    arrays = [rng.standard_normal(s) + 1j * rng.standard_normal(s) for s in shapes]
    results = []
    for m in (ember, torch):
        inputs = [m.tensor(a, requires_grad=True) for a in arrays]
        out = fn(m, *inputs).abs()
        out.sum().backward()
        results.append((out.detach().numpy(), [t.grad.resolve_conj().numpy() for t in inputs]))
    np.testing.assert_allclose(results[0][0], results[1][0], atol=1e-10)
    for e_grad, t_grad in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(e_grad, t_grad, atol=1e-10)


@pytest.mark.parametrize("is_complex", [False, True], ids=["real", "complex"])
def test_geqrf_orgqr_ormqr_vdot_adjoint_match_torch(is_complex):
    rng = np.random.default_rng(16)

    def sample(*shape):
        return rng.standard_normal(shape) + (1j * rng.standard_normal(shape) if is_complex else 0)

    a, right, left, u, v = sample(2, 4, 3), sample(2, 4, 2), sample(2, 2, 4), sample(3), sample(3)
    results = []
    for m in (ember, torch):
        packed, tau = m.geqrf(m.tensor(a))
        results.append([packed, tau, m.orgqr(packed, tau), m.ormqr(packed, tau, m.tensor(right), transpose=True),
                        m.ormqr(packed, tau, m.tensor(left), left=False),
                        m.vdot(m.tensor(u), m.tensor(v)), m.adjoint(m.tensor(a))])
    for e_out, t_out in zip(*results):
        np.testing.assert_allclose(e_out.numpy(), t_out.resolve_conj().numpy(), atol=1e-12)
    x = ember.tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError, match="the derivative for 'geqrf' is not implemented"):
        ember.geqrf(x).a.abs().sum().backward()


def test_addmv_in_place_function_matches_torch():
    e, t = both(np.ones(2))
    returned = ember.addmv_(e, ember.ones(2, 3, dtype=ember.float64), ember.ones(3, dtype=ember.float64), beta=2)
    torch.addmv_(t, torch.ones(2, 3, dtype=torch.float64), torch.ones(3, dtype=torch.float64), beta=2)
    assert returned is e
    np.testing.assert_allclose(e.numpy(), t.numpy())


def test_einsum_sublist_subscripts_out_of_range_raise_as_torch():
    e, t = both(np.ones((2, 3)))
    assert str(error_of(lambda: ember.einsum(e, [0, 60]))) == str(error_of(lambda: torch.einsum(t, [0, 60])))


@pytest.mark.parametrize("loss", [
    lambda m, a: m.linalg.slogdet(a).sign.real.sum(),
    lambda m, a: (m.linalg.slogdet(a).sign ** 2).imag.sum() + m.linalg.slogdet(a).logabsdet.sum(),
    lambda m, a: m.logdet(a).imag.sum() + m.logdet(a).real.sum(),
], ids=["sign_real", "sign_squared_and_logabsdet", "logdet"])
def test_complex_slogdet_sign_and_logdet_have_torch_gradients(loss):
    rng = np.random.default_rng(17)
    a = rng.standard_normal((2, 3, 3)) + 1j * rng.standard_normal((2, 3, 3))
    grads = []
    for m in (ember, torch):
        x = m.tensor(a, requires_grad=True)
        loss(m, x).backward()
        grads.append(x.grad.resolve_conj().numpy())
    np.testing.assert_allclose(grads[0], grads[1], atol=1e-12)
