"""F.grid_sample and F.affine_grid: every mode x padding_mode x align_corners against torch (forward, the
gradients of input and grid, every requires-grad subset), float64 gradchecks, and torch's errors."""

from __future__ import annotations

import itertools
import warnings

import ember
import numpy as np
import pytest
from ember.nn import functional as F

from .functional_specs import (Float, Spec, check_gradcheck, check_parity, check_requires_grad_subset,
                               requires_grad_subsets)

# grid points reach outside [-1, 1], so that every padding mode has work to do
GRID_2D = Float((2, 3, 4, 2), low=-1.6, high=1.6)
GRID_3D = Float((2, 2, 3, 4, 3), low=-1.6, high=1.6)


SMALL_GRID_2D = Float((1, 2, 3, 2), low=-1.6, high=1.6)
SMALL_GRID_3D = Float((1, 2, 2, 2, 3), low=-1.6, high=1.6)


def _sample_spec(mode, padding_mode, align_corners, volumetric=False, small=False):
    name = f"grid_sample{'3d' if volumetric else ''}_{mode}_{padding_mode}_{'ac' if align_corners else 'noac'}"
    if small:  # for the float64 finite differences, which perturb every element in turn
        name += "_small"
        inputs = [(1, 1, 2, 3, 4), SMALL_GRID_3D] if volumetric else [(1, 2, 3, 4), SMALL_GRID_2D]
    else:
        inputs = [(2, 2, 3, 4, 5), GRID_3D] if volumetric else [(2, 3, 4, 5), GRID_2D]
    return Spec(name, lambda F, x, g: F.grid_sample(x, g, mode, padding_mode, align_corners), inputs)


MODES_2D = ["bilinear", "nearest", "bicubic"]
MODES_3D = ["bilinear", "nearest"]
PADDINGS = ["zeros", "border", "reflection"]
SPECS = ([_sample_spec(m, p, a) for m, p, a in itertools.product(MODES_2D, PADDINGS, [False, True])]
         + [_sample_spec(m, p, a, True) for m, p, a in itertools.product(MODES_3D, PADDINGS, [False, True])])
AFFINE_SPECS = [
    Spec("affine_grid_2d", lambda F, t: F.affine_grid(t, [2, 3, 4, 5], align_corners=False), [(2, 2, 3)]),
    Spec("affine_grid_2d_ac", lambda F, t: F.affine_grid(t, [2, 3, 4, 5], align_corners=True), [(2, 2, 3)]),
    Spec("affine_grid_3d", lambda F, t: F.affine_grid(t, [2, 1, 3, 4, 5], align_corners=False), [(2, 3, 4)]),
    Spec("affine_grid_3d_ac", lambda F, t: F.affine_grid(t, [2, 1, 3, 4, 5], align_corners=True), [(2, 3, 4)]),
    # a unit dimension sits at 0 with align_corners (torch's rule since 1.3)
    Spec("affine_grid_unit_dim", lambda F, t: F.affine_grid(t, [1, 1, 1, 3], align_corners=True), [(1, 2, 3)]),
]
# the two composed, as a spatial transformer uses them: gradients reach theta through the grid
STN_SPEC = Spec("affine_then_sample", lambda F, x, t: F.grid_sample(
    x, F.affine_grid(t, [2, 3, 4, 5], align_corners=False), "bilinear", "border", False), [(2, 3, 4, 5), (2, 2, 3)])


@pytest.mark.parity
@pytest.mark.parametrize("spec", SPECS + AFFINE_SPECS + [STN_SPEC], ids=repr)
def test_matches_torch_for_every_requires_grad_subset(spec):
    pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the unit-size affine_grid warning
        for subset in requires_grad_subsets(spec):
            check_parity(spec, requires_grad=subset)


GRADCHECK_SPECS = [_sample_spec(m, p, a, v, small=True) for m, p, a, v in [
    ("bilinear", "zeros", False, False), ("bilinear", "reflection", True, False), ("bicubic", "border", False, False),
    ("bicubic", "reflection", True, False), ("bilinear", "border", True, True), ("bilinear", "reflection", False, True),
]]


@pytest.mark.parametrize("spec", GRADCHECK_SPECS + AFFINE_SPECS[:3], ids=repr)
def test_gradcheck(spec):
    check_gradcheck(spec)


@pytest.mark.parametrize("spec", [SPECS[0], SPECS[-1]], ids=repr)
def test_only_the_inputs_that_require_grad_get_one(spec):
    for subset in requires_grad_subsets(spec):
        check_requires_grad_subset(spec, subset)


def test_nearest_gives_the_grid_a_zero_gradient():
    x = ember.randn(1, 2, 3, 3, requires_grad=True)
    grid = ember.rand(1, 2, 2, 2, requires_grad=True)
    F.grid_sample(x, grid, mode="nearest", align_corners=False).sum().backward()
    assert grid.grad is not None and float(grid.grad.abs().sum()) == 0.0
    assert float(x.grad.sum()) == 2 * 4  # each of the 4 points picks one pixel in each of 2 channels


def test_identity_transform_reproduces_the_image():
    x = ember.randn(2, 3, 5, 6)
    theta = ember.tensor([[1.0, 0, 0], [0, 1, 0]]).expand(2, 2, 3)
    for align_corners in (False, True):
        grid = F.affine_grid(theta, list(x.shape), align_corners=align_corners)
        y = F.grid_sample(x, grid, mode="bicubic", align_corners=align_corners)
        np.testing.assert_allclose(y.numpy(), x.numpy(), atol=1e-5)


def test_translation_by_one_pixel_shifts_the_image():
    x = ember.arange(20.0).reshape(1, 1, 4, 5)
    theta = ember.tensor([[[1.0, 0, 2 / 5], [0, 1, 0]]])  # 2 / W in normalised units is one pixel right
    grid = F.affine_grid(theta, [1, 1, 4, 5], align_corners=False)
    y = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    np.testing.assert_allclose(y.numpy()[0, 0, :, :4], x.numpy()[0, 0, :, 1:], atol=1e-5)
    np.testing.assert_allclose(y.numpy()[0, 0, :, 4], x.numpy()[0, 0, :, 4], atol=1e-5)  # border repeats


def test_float32_and_float16_keep_their_dtype():
    x, grid = ember.randn(1, 2, 3, 4), ember.rand(1, 2, 2, 2) * 2 - 1
    assert F.grid_sample(x, grid, align_corners=False).dtype == ember.float32
    half = F.grid_sample(x.half(), grid.half(), align_corners=False)
    assert half.dtype == ember.float16
    np.testing.assert_allclose(half.float().numpy(), F.grid_sample(x, grid, align_corners=False).numpy(), atol=1e-2)


DOUBLE_BACKWARD = [("bilinear", "zeros", (1, 2, 3, 4), (1, 2, 2, 2)), ("bicubic", "reflection", (1, 2, 3, 4), (1, 2, 2, 2)),
                   ("bilinear", "border", (1, 2, 2, 3, 4), (1, 2, 2, 1, 3)), ("nearest", "zeros", (1, 2, 3, 4), (1, 2, 2, 2))]


@pytest.mark.parity
@pytest.mark.parametrize("mode, padding_mode, input_shape, grid_shape", DOUBLE_BACKWARD)
def test_gradients_of_gradients_match_torch(mode, padding_mode, input_shape, grid_shape):
    # a gradient penalty through a spatial transformer: both first gradients, then their gradients
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, grid = rng.standard_normal(input_shape), rng.uniform(-1.3, 1.3, grid_shape)
    upstream = rng.standard_normal(input_shape[:2] + grid_shape[1:-1])
    weights_x, weights_grid = rng.standard_normal(input_shape), rng.standard_normal(grid_shape)
    results = []
    for lib, functional, grad in [(ember, F, ember.autograd.grad),
                                  (torch, torch.nn.functional, torch.autograd.grad)]:
        xt, gt = lib.tensor(x, requires_grad=True), lib.tensor(grid, requires_grad=True)
        y = (functional.grid_sample(xt, gt, mode, padding_mode, align_corners=False) * lib.tensor(upstream)).sum()
        first = grad(y, (xt, gt), create_graph=True)
        penalty = (first[0] * lib.tensor(weights_x)).sum() + (first[1] * lib.tensor(weights_grid)).sum()
        second = grad(penalty, (xt, gt), allow_unused=True)
        results.append([None if t is None else t.detach().numpy() for t in (*first, *second)])
    for ours, theirs, name in zip(*results, ["d x", "d grid", "d2 x", "d2 grid"]):
        assert (ours is None) == (theirs is None), name
        if theirs is not None:
            np.testing.assert_allclose(ours, theirs, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_gradgradcheck(mode):
    x = ember.randn(1, 2, 3, 3, dtype=ember.float64, requires_grad=True)
    grid = (ember.rand(1, 2, 2, 2, dtype=ember.float64) * 2.4 - 1.2).requires_grad_()
    assert ember.autograd.gradgradcheck(lambda x, g: F.grid_sample(x, g, mode, "border", True), (x, grid))


def test_constants_match_torch():
    assert F.GRID_SAMPLE_INTERPOLATION_MODES == {"bilinear": 0, "nearest": 1, "bicubic": 2}
    assert F.GRID_SAMPLE_PADDING_MODES == {"zeros": 0, "border": 1, "reflection": 2}


def test_align_corners_none_warns_and_means_false():
    x, grid = ember.randn(1, 1, 3, 3), ember.rand(1, 2, 2, 2)
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        y = F.grid_sample(x, grid)
    np.testing.assert_array_equal(y.numpy(), F.grid_sample(x, grid, align_corners=False).numpy())
    with pytest.warns(UserWarning, match="align_corners=False since 1.3.0"):
        F.affine_grid(ember.randn(1, 2, 3), [1, 1, 2, 2])


BAD_SAMPLES = [
    ((2, 3, 4, 5), (2, 3, 4, 3), {}, RuntimeError, "size 2 in last dimension"),
    ((2, 3, 4, 5), (3, 3, 4, 2), {}, RuntimeError, "same batch size"),
    ((2, 3, 4, 5), (2, 3, 4, 5, 3), {}, RuntimeError, "same number of dimensions"),
    ((2, 3, 4, 5, 6), (2, 3, 4, 5, 3), {"mode": "bicubic"}, RuntimeError, "bicubic interpolation only supports 4D"),
    ((2, 3, 0, 5), (2, 3, 4, 2), {}, RuntimeError, "dimension 2 being empty"),
    ((2, 3, 4, 5), (2, 3, 4, 2), {"mode": "area"}, ValueError, "expected mode to be 'bilinear', 'nearest'"),
    ((2, 3, 4, 5), (2, 3, 4, 2), {"padding_mode": "wrap"}, ValueError, "expected padding_mode to be 'zeros'"),
]


@pytest.mark.parametrize("input_shape, grid_shape, kwargs, error, message", BAD_SAMPLES)
def test_bad_operands_raise_as_torch(input_shape, grid_shape, kwargs, error, message):
    with pytest.raises(error, match=message):
        F.grid_sample(ember.randn(*input_shape), ember.randn(*grid_shape), align_corners=False, **kwargs)


def test_dtype_errors():
    with pytest.raises(RuntimeError, match="same dtype"):
        F.grid_sample(ember.randn(1, 1, 2, 2), ember.randn(1, 1, 1, 2, dtype=ember.float64), align_corners=False)
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        F.grid_sample(ember.ones(1, 1, 2, 2, dtype=ember.int64), ember.zeros(1, 1, 1, 2, dtype=ember.int64),
                      align_corners=False)


BAD_AFFINE = [
    ((2, 2, 3), (2, 3, 4), NotImplementedError, "only supports 4D and 5D sizes"),
    ((2, 3, 4), (2, 3, 4, 5), ValueError, "Nx2x3"),
    ((2, 2, 3), (2, 1, 3, 4, 5), ValueError, "Nx3x4"),
    ((2, 2, 3), (2, 3, 0, 5), ValueError, "non-zero, positive output size"),
    ((3, 2, 3), (2, 3, 4, 5), RuntimeError, "3 affine matrices"),
]


@pytest.mark.parametrize("theta_shape, size, error, message", BAD_AFFINE)
def test_affine_grid_errors(theta_shape, size, error, message):
    with pytest.raises(error, match=message):
        F.affine_grid(ember.randn(*theta_shape), size, align_corners=False)


def test_affine_grid_needs_a_float_theta():
    with pytest.raises(ValueError, match="floating point type"):
        F.affine_grid(ember.zeros(1, 2, 3, dtype=ember.int64), [1, 1, 2, 2], align_corners=False)


def test_grad_fn_is_named_as_torch_and_survives_backward():
    x = ember.randn(1, 1, 2, 2, 2, requires_grad=True)
    y = F.grid_sample(x, ember.zeros(1, 1, 1, 1, 3), align_corners=False)
    assert "GridSampler3DBackward" in repr(y)
    y.sum().backward()
    assert repr(y.grad_fn) == "<GridSampler3DBackward>"


@pytest.mark.parity
@pytest.mark.parametrize("mode", MODES_2D)
def test_nan_and_infinite_grid_points_sample_as_torch(mode):
    # zeros padding propagates a NaN point's NaN (it is not hidden as a 0); border and reflection clamp NaN to the
    # first pixel. (torch's own backward crashes on NaN points with border / reflection: forward compared only.)
    torch = pytest.importorskip("torch")
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    grid = np.array([[[[np.nan, 0.2], [0.3, np.nan], [np.inf, 0.1], [-np.inf, 0.5], [0.2, -0.3]]]])
    for padding_mode in PADDINGS:
        ours = F.grid_sample(ember.tensor(x), ember.tensor(grid), mode, padding_mode, False).numpy()
        theirs = torch.nn.functional.grid_sample(torch.tensor(x), torch.tensor(grid), mode, padding_mode, False)
        np.testing.assert_allclose(ours, theirs.numpy(), equal_nan=True, err_msg=padding_mode)
    if mode == "bilinear":
        assert np.isnan(ours).sum() == 0 and np.isnan(F.grid_sample(
            ember.tensor(x), ember.tensor(grid), mode, "zeros", False).numpy()[..., :2]).all()


@pytest.mark.parametrize("input_shape, grid_shape, out_shape", [
    ((1, 2, 3, 3), (1, 0, 2, 2), (1, 2, 0, 2)), ((0, 2, 3, 3), (0, 1, 2, 2), (0, 2, 1, 2)),
    ((1, 2, 3, 3, 3), (1, 0, 2, 2, 3), (1, 2, 0, 2, 2)),
])
def test_empty_grid_or_batch(input_shape, grid_shape, out_shape):
    x, grid = ember.zeros(*input_shape, requires_grad=True), ember.zeros(*grid_shape, requires_grad=True)
    y = F.grid_sample(x, grid, align_corners=False)
    assert tuple(y.shape) == out_shape
    y.sum().backward()
    assert x.grad.shape == x.shape and grid.grad.shape == grid.shape
