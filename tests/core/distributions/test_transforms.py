"""Transforms and constraints against torch: forward, inverse, log|det J|, shapes, signs and checks."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.distributions import constraints, transforms

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.parity

rng = np.random.default_rng(2)

# name -> (builder(m) with m the transforms module of ember or torch, input array)
TRANSFORMS = {
    "Exp": (lambda T, m: T.ExpTransform(), rng.standard_normal((2, 3))),
    "Power": (
        lambda T, m: T.PowerTransform(m.tensor([0.5, 2.0, 3.0], dtype=m.float64)),
        rng.uniform(0.5, 2, (2, 3)),
    ),
    "Sigmoid": (lambda T, m: T.SigmoidTransform(), rng.standard_normal((2, 3))),
    "Tanh": (lambda T, m: T.TanhTransform(), rng.standard_normal((2, 3))),
    "Softplus": (lambda T, m: T.SoftplusTransform(), rng.standard_normal((2, 3))),
    "Affine-scalar": (lambda T, m: T.AffineTransform(1.5, -2.0), rng.standard_normal((2, 3))),
    "Affine-tensor-event": (
        lambda T, m: T.AffineTransform(
            m.tensor([1.0, 2.0, 3.0], dtype=m.float64),
            m.tensor([0.5, -1.0, 2.0], dtype=m.float64),
            event_dim=1,
        ),
        rng.standard_normal((2, 3)),
    ),
    "Softmax": (lambda T, m: T.SoftmaxTransform(), rng.standard_normal((2, 3))),
    "StickBreaking": (lambda T, m: T.StickBreakingTransform(), rng.standard_normal((2, 3))),
    "LowerCholesky": (lambda T, m: T.LowerCholeskyTransform(), rng.standard_normal((2, 3, 3))),
    "PositiveDefinite": (lambda T, m: T.PositiveDefiniteTransform(), rng.standard_normal((2, 3, 3))),
    "Compose": (
        lambda T, m: T.ComposeTransform(
            [
                T.AffineTransform(0.5, 2.0),
                T.SigmoidTransform(),
                T.PowerTransform(m.tensor(2.0, dtype=m.float64)),
            ]
        ),
        rng.standard_normal((2, 3)),
    ),
    "Compose-event": (
        lambda T, m: T.ComposeTransform([T.ExpTransform(), T.StickBreakingTransform()]),
        rng.standard_normal((2, 3)),
    ),
    "Independent": (lambda T, m: T.IndependentTransform(T.ExpTransform(), 1), rng.standard_normal((2, 3))),
    "Reshape": (lambda T, m: T.ReshapeTransform((2, 3), (6,)), rng.standard_normal((4, 2, 3))),
    "Cat": (
        lambda T, m: T.CatTransform([T.ExpTransform(), T.SigmoidTransform()], dim=1, lengths=[1, 2]),
        rng.standard_normal((2, 3)),
    ),
    "Stack": (
        lambda T, m: T.StackTransform(
            [T.ExpTransform(), T.TanhTransform(), T.AffineTransform(1.0, 3.0)], dim=1
        ),
        rng.standard_normal((2, 3)),
    ),
    "Inverse-Exp": (lambda T, m: T.ExpTransform().inv, rng.uniform(0.5, 2, (2, 3))),
    "Abs": (lambda T, m: T.AbsTransform(), rng.standard_normal((2, 3))),
    "CorrCholesky": (lambda T, m: T.CorrCholeskyTransform(), rng.standard_normal((2, 6))),
    "CumulativeDistribution": (
        lambda T, m: T.CumulativeDistributionTransform(
            m.distributions.Normal(m.tensor(0.5, dtype=m.float64), m.tensor(2.0, dtype=m.float64))
        ),
        rng.standard_normal((2, 3)),
    ),
}


def _pair(name):
    build, x = TRANSFORMS[name]
    ours = build(transforms, ember)
    theirs = build(torch.distributions.transforms, torch)
    return ours, theirs, x


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transform_matches_torch(name):
    ours, theirs, x = _pair(name)
    ex = ember.tensor(x, dtype=ember.float64, requires_grad=True)
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ey, ty = ours(ex), theirs(tx)
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        ours.inv(ey).detach().numpy(), theirs.inv(ty).detach().numpy(), rtol=1e-7, atol=1e-9
    )
    if theirs.bijective:
        np.testing.assert_allclose(ours.inv(ey).detach().numpy(), x, rtol=1e-7, atol=1e-9)
    assert ours.bijective == theirs.bijective
    assert repr(ours.domain) == repr(theirs.domain) and repr(ours.codomain) == repr(theirs.codomain)
    assert tuple(ours.forward_shape(x.shape)) == tuple(theirs.forward_shape(torch.Size(x.shape)))
    assert tuple(ours.inverse_shape(ey.shape)) == tuple(theirs.inverse_shape(ty.shape))
    try:
        their_ladj = theirs.log_abs_det_jacobian(tx, ty)
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            ours.log_abs_det_jacobian(ex, ey)
        return
    our_ladj = ours.log_abs_det_jacobian(ex, ey)
    np.testing.assert_allclose(our_ladj.detach().numpy(), their_ladj.detach().numpy(), rtol=1e-8, atol=1e-10)
    assert our_ladj.requires_grad == their_ladj.requires_grad
    if not their_ladj.requires_grad:  # constant Jacobian (affine, reshape)
        return
    our_ladj.sum().backward()
    their_ladj.sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", ["Exp", "Sigmoid", "Tanh", "Affine-scalar", "Softplus", "Compose"])
def test_sign_matches_torch(name):
    ours, theirs, _ = _pair(name)
    assert int(ours.sign) == int(theirs.sign)


def test_log_abs_det_jacobian_is_log_of_the_derivative():
    x = ember.tensor([-1.5, 0.2, 2.0], dtype=ember.float64, requires_grad=True)
    for t in (
        transforms.TanhTransform(),
        transforms.SigmoidTransform(),
        transforms.SoftplusTransform(),
        transforms.AffineTransform(0.3, -4.0),
        transforms.ExpTransform(),
    ):
        (dy,) = ember.autograd.grad(t(x).sum(), [x])
        np.testing.assert_allclose(
            t.log_abs_det_jacobian(x, t(x)).detach().numpy(),
            np.log(np.abs(dy.numpy())),
            rtol=1e-10,
            err_msg=repr(t),
        )


def test_cache_returns_the_same_tensor():
    t = transforms.ExpTransform(cache_size=1)
    x = ember.randn(3)
    y = t(x)
    assert t(x) is y
    assert t.inv(y) is x
    assert transforms.ExpTransform().with_cache(1)._cache_size == 1
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        transforms.ExpTransform(cache_size=2)


def test_transform_equality():
    assert transforms.ExpTransform() == transforms.ExpTransform()
    assert transforms.AffineTransform(1.0, 2.0) == transforms.AffineTransform(1.0, 2.0)
    assert transforms.AffineTransform(1.0, 2.0) != transforms.AffineTransform(1.0, 3.0)
    assert transforms.ExpTransform().inv == transforms.ExpTransform().inv
    assert transforms.ComposeTransform([transforms.ExpTransform()]) == transforms.ComposeTransform(
        [transforms.ExpTransform()]
    )
    assert transforms.identity_transform(ember.tensor([1.5])).item() == 1.5


CONSTRAINT_VALUES = {
    "real": np.array([0.0, np.nan, np.inf, -3.0]),
    "positive": np.array([0.0, 1.0, -1.0, 1e-9]),
    "nonnegative": np.array([0.0, 1.0, -1.0]),
    "unit_interval": np.array([0.0, 1.0, 0.5, 1.1, -0.1]),
    "boolean": np.array([0.0, 1.0, 0.5]),
    "nonnegative_integer": np.array([0.0, 1.0, 1.5, -1.0]),
    "positive_integer": np.array([0.0, 1.0, 2.0]),
    "simplex": np.array([[0.5, 0.5], [0.5, 0.6], [1.0, 0.0], [-0.1, 1.1]]),
    "real_vector": np.array([[0.5, np.nan], [0.5, 0.6]]),
    "one_hot": np.array([[0.0, 1.0], [1.0, 1.0], [0.5, 0.5]]),
    "lower_cholesky": np.array(
        [[[1.0, 0.0], [2.0, 3.0]], [[1.0, 1.0], [0.0, 1.0]], [[-1.0, 0.0], [0.0, 1.0]]]
    ),
    "lower_triangular": np.array([[[1.0, 0.0], [2.0, 3.0]], [[1.0, 1.0], [0.0, 1.0]]]),
    "positive_definite": np.array(
        [[[2.0, 1.0], [1.0, 2.0]], [[1.0, 2.0], [2.0, 1.0]], [[1.0, 0.5], [0.0, 1.0]]]
    ),
    "positive_semidefinite": np.array([[[1.0, 1.0], [1.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]]]),
    "symmetric": np.array([[[1.0, 1.0], [1.0, 3.0]], [[1.0, 2.0], [0.0, 1.0]]]),
    "square": np.zeros((2, 3, 3)),
    "corr_cholesky": np.array([[[1.0, 0.0], [0.6, 0.8]], [[1.0, 0.0], [0.6, 0.9]]]),
}
PARAMETRISED = {
    "interval": (lambda c: c.interval(0.0, 2.0), np.array([0.0, 2.0, 2.5])),
    "half_open_interval": (lambda c: c.half_open_interval(0.0, 2.0), np.array([0.0, 2.0, 1.0])),
    "greater_than": (lambda c: c.greater_than(1.0), np.array([1.0, 2.0])),
    "greater_than_eq": (lambda c: c.greater_than_eq(1.0), np.array([1.0, 0.5])),
    "less_than": (lambda c: c.less_than(1.0), np.array([1.0, 0.5])),
    "integer_interval": (lambda c: c.integer_interval(0, 3), np.array([0.0, 3.0, 1.5, 4.0])),
    "multinomial": (lambda c: c.multinomial(3), np.array([[1.0, 2.0], [2.0, 2.0], [-1.0, 1.0]])),
    "independent": (lambda c: c.independent(c.positive, 1), np.array([[1.0, 2.0], [1.0, -2.0]])),
    "cat": (
        lambda c: c.cat([c.positive, c.real], dim=-1, lengths=[1, 2]),
        np.array([[1.0, -2.0, 3.0], [-1.0, 0, 0]]),
    ),
    "stack": (lambda c: c.stack([c.positive, c.unit_interval], dim=-1), np.array([[1.0, 0.5], [1.0, 2.0]])),
}


@pytest.mark.parametrize("name", sorted(CONSTRAINT_VALUES) + sorted(PARAMETRISED))
def test_constraint_matches_torch(name):
    if name in PARAMETRISED:
        build, value = PARAMETRISED[name]
        ours, theirs = build(constraints), build(torch.distributions.constraints)
    else:
        value = CONSTRAINT_VALUES[name]
        ours, theirs = getattr(constraints, name), getattr(torch.distributions.constraints, name)
    np.testing.assert_array_equal(
        ours.check(ember.tensor(value)).numpy(), theirs.check(torch.tensor(value)).numpy()
    )
    assert ours.event_dim == theirs.event_dim
    assert ours.is_discrete == theirs.is_discrete
    assert repr(ours) == repr(theirs)


def test_dependent_constraints():
    assert constraints.is_dependent(constraints.dependent)
    assert not constraints.is_dependent(constraints.real)
    with pytest.raises(ValueError, match="Cannot determine validity of dependent constraint"):
        constraints.dependent.check(ember.zeros(1))
    support = ember.distributions.Uniform.support
    assert constraints.is_dependent(support) and support.event_dim == 0 and not support.is_discrete
    assert repr(ember.distributions.Uniform(0.0, 1.0).support).startswith("Interval(lower_bound=")


REGISTRY_CASES = {
    "real": (lambda c: c.real, (2, 3)),
    "real_vector": (lambda c: c.real_vector, (2, 3)),
    "positive": (lambda c: c.positive, (2, 3)),
    "nonnegative": (lambda c: c.nonnegative, (2, 3)),
    "greater_than": (lambda c: c.greater_than(2.0), (2, 3)),
    "less_than": (lambda c: c.less_than(-1.0), (2, 3)),
    "unit_interval": (lambda c: c.unit_interval, (2, 3)),
    "interval": (lambda c: c.interval(-1.0, 3.0), (2, 3)),
    "half_open_interval": (lambda c: c.half_open_interval(0.0, 1.0), (2, 3)),
    "simplex": (lambda c: c.simplex, (2, 3)),
    "lower_cholesky": (lambda c: c.lower_cholesky, (2, 3, 3)),
    "positive_definite": (lambda c: c.positive_definite, (2, 3, 3)),
    "corr_cholesky": (lambda c: c.corr_cholesky, (2, 3)),
    "independent": (lambda c: c.independent(c.positive, 1), (2, 3)),
    "cat": (lambda c: c.cat([c.positive, c.real], dim=-1, lengths=[1, 2]), (2, 3)),
    "stack": (lambda c: c.stack([c.positive, c.unit_interval, c.real], dim=-1), (2, 3)),
}


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
@pytest.mark.parametrize("name", sorted(REGISTRY_CASES))
def test_constraint_registry_matches_torch(registry, name):
    build, shape = REGISTRY_CASES[name]
    ours_registry = getattr(ember.distributions, registry)
    theirs_registry = getattr(torch.distributions, registry)
    try:
        theirs = theirs_registry(build(torch.distributions.constraints))
    except NotImplementedError:
        with pytest.raises(NotImplementedError, match="Cannot transform"):
            ours_registry(build(constraints))
        return
    ours = ours_registry(build(constraints))
    assert type(ours).__name__ == type(theirs).__name__
    x = rng.standard_normal(shape)
    y = ours(ember.tensor(x, dtype=ember.float64))
    np.testing.assert_allclose(y.numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-10, atol=1e-12)
    assert bool(build(constraints).check(y).all())


def test_register_a_new_constraint():
    class _Odd(constraints.Constraint):
        pass

    with pytest.raises(NotImplementedError, match="Cannot transform _Odd constraints"):
        ember.distributions.biject_to(_Odd())
    registry = ember.distributions.constraint_registry.ConstraintRegistry()
    registry.register(_Odd, lambda c: transforms.ExpTransform())
    assert isinstance(registry(_Odd()), transforms.ExpTransform)
    with pytest.raises(TypeError, match="Expected constraint to be either a Constraint subclass or instance"):
        registry.register(int, lambda c: None)
