"""Normalisation: gradcheck in train and eval, torch parity, running statistics."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.nn import functional as F

from .functional_specs import Float, Spec, check_gradcheck, check_parity, ids

RUNNING_MEAN = Float((3,), -0.5, 0.5, grad=False)
RUNNING_VAR = Float((3,), 0.5, 2.0, grad=False)

SPECS = [
    Spec("batch_norm_train", lambda F, x, w, b: F.batch_norm(x, None, None, w, b, training=True),
         [(4, 3, 2, 2), (3,), (3,)]),
    Spec("batch_norm_train_2d_input", lambda F, x: F.batch_norm(x, None, None, training=True), [(5, 3)]),
    Spec("batch_norm_train_running", lambda F, x, rm, rv, w: F.batch_norm(x, rm, rv, w, None, True, 0.3),
         [(3, 3, 4), RUNNING_MEAN, RUNNING_VAR, (3,)]),
    Spec("batch_norm_eval", lambda F, x, rm, rv, w, b: F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-3),
         [(2, 3, 2, 3), RUNNING_MEAN, RUNNING_VAR, (3,), (3,)]),
    Spec("layer_norm", lambda F, x, w, b: F.layer_norm(x, (5,), w, b), [(3, 4, 5), (5,), (5,)]),
    Spec("layer_norm_2dims_noaffine", lambda F, x: F.layer_norm(x, (3, 4), eps=1e-3), [(2, 3, 4)]),
    Spec("group_norm", lambda F, x, w, b: F.group_norm(x, 2, w, b), [(2, 4, 3, 2), (4,), (4,)]),
    Spec("instance_norm", lambda F, x, w, b: F.instance_norm(x, weight=w, bias=b), [(2, 3, 5), (3,), (3,)]),
    Spec("instance_norm_running", lambda F, x, rm, rv: F.instance_norm(x, rm, rv), [(2, 3, 2, 3), RUNNING_MEAN,
                                                                                    RUNNING_VAR]),
    Spec("instance_norm_eval", lambda F, x, rm, rv: F.instance_norm(x, rm, rv, use_input_stats=False),
         [(2, 3, 4), RUNNING_MEAN, RUNNING_VAR]),
    Spec("rms_norm", lambda F, x, w: F.rms_norm(x, (4,), w), [(3, 4), (4,)]),
    Spec("rms_norm_eps", lambda F, x: F.rms_norm(x, (2, 3), eps=1e-4), [(2, 2, 3)]),
    Spec("normalize", lambda F, x: F.normalize(x), [(3, 4)]),
    Spec("normalize_p1_dim0", lambda F, x: F.normalize(x, p=1, dim=0), [(3, 4)]),
    Spec("local_response_norm", lambda F, x: F.local_response_norm(x, 3), [(2, 4, 3, 3)]),
]


@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_gradcheck(spec):
    check_gradcheck(spec)


@pytest.mark.parity
@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_torch_parity(spec):
    pytest.importorskip("torch")
    check_parity(spec)


@pytest.mark.parity
def test_batch_norm_running_stats_match_torch_after_several_steps():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    ours_mean, ours_var = ember.zeros(4), ember.ones(4)
    their_mean, their_var = torch.zeros(4), torch.ones(4)
    for step in range(5):
        x = (rng.standard_normal((8, 4, 3, 3)) * (step + 1) + step).astype(np.float32)
        F.batch_norm(ember.tensor(x), ours_mean, ours_var, training=True, momentum=0.2)
        torch.nn.functional.batch_norm(torch.tensor(x), their_mean, their_var, training=True, momentum=0.2)
    np.testing.assert_allclose(ours_mean.numpy(), their_mean.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours_var.numpy(), their_var.numpy(), rtol=1e-5, atol=1e-5)
    assert ours_mean.dtype == ember.float32
    # eval mode uses them
    x = rng.standard_normal((2, 4, 3, 3)).astype(np.float32)
    ours = F.batch_norm(ember.tensor(x), ours_mean, ours_var)
    theirs = torch.nn.functional.batch_norm(torch.tensor(x), their_mean, their_var)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-5)


def test_batch_norm_training_needs_more_than_one_value_per_channel():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(ember.randn(1, 3), None, None, training=True)


def test_batch_norm_output_is_normalised_float32():
    x = ember.randn(16, 3, 4, 4) * 5 + 2
    y = F.batch_norm(x, None, None, training=True)
    assert y.dtype == ember.float32
    np.testing.assert_allclose(y.numpy().mean((0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(y.numpy().std((0, 2, 3)), 1, atol=1e-3)


def test_layer_norm_shape_error():
    with pytest.raises(RuntimeError, match="normalized_shape"):
        F.layer_norm(ember.randn(2, 3), (4,))




# group_norm is one fused op (the layer-norm kernel per (sample, group) row, then the channel affine map): its
# forward and gradients against torch's, with every subset of (input, weight, bias) requiring grad, on 3-D to
# 5-D inputs, one group (the diffusion U-Net's PreNorm) and one channel per group.
GROUP_NORM_SPECS = [
    Spec("group_norm_3d", lambda F, x, w, b: F.group_norm(x, 3, w, b), [(2, 6, 5), (6,), (6,)]),
    Spec("group_norm_4d_one_group", lambda F, x, w, b: F.group_norm(x, 1, w, b, eps=1e-3),
         [(3, 4, 3, 2), (4,), (4,)]),
    Spec("group_norm_5d_channel_groups", lambda F, x, w, b: F.group_norm(x, 4, w, b), [(2, 4, 2, 3, 2), (4,),
                                                                                      (4,)]),
]


@pytest.mark.parity
@pytest.mark.parametrize("subset", [(0,), (1,), (2,), (0, 1), (0, 2), (1, 2), (0, 1, 2)], ids=str)
@pytest.mark.parametrize("spec", GROUP_NORM_SPECS, ids=ids(GROUP_NORM_SPECS))
def test_group_norm_matches_torch_for_every_subset_requiring_grad(spec, subset):
    pytest.importorskip("torch")
    check_parity(spec, requires_grad=set(subset))


@pytest.mark.parity
@pytest.mark.parametrize("affine", ["none", "weight", "bias"])
def test_group_norm_without_part_of_the_affine_map_matches_torch(affine):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).normal(2.0, 3.0, (2, 6, 4, 4)).astype(np.float32)
    w = np.linspace(0.5, 2.0, 6).astype(np.float32)
    results = []
    for lib in (ember, torch):
        xt = lib.tensor(x, requires_grad=True)
        wt = lib.tensor(w, requires_grad=True) if affine == "weight" else None
        bt = lib.tensor(w, requires_grad=True) if affine == "bias" else None
        if lib is torch and affine == "bias":
            wt = torch.ones(6)  # (torch 2.13's backward fails on a bias without a weight: "tensor does not have a
            # device"; with a weight of ones its results are the same)
        out = lib.nn.functional.group_norm(xt, 2, wt, bt)
        (out * lib.arange(out.numel()).reshape(out.shape).float().sin()).sum().backward()
        results.append([out.detach().numpy(), xt.grad.numpy()] + [t.grad.numpy() for t in (wt, bt)
                                                                   if t is not None and t.requires_grad])
    for ours, theirs in zip(*results, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_group_norm_output_changed_in_place_leaves_the_gradient_right():
    """Without an affine map the output is a copy of the saved normalised values: an in-place op on it (an
    inplace activation, as a U-Net may apply) does not change the input's gradient."""
    x = ember.randn(2, 4, 3, 3, requires_grad=True)
    out = F.group_norm(x, 2)
    g = ember.randn(2, 4, 3, 3)
    expected = ember.autograd.grad(out, x, g, retain_graph=True)[0]
    out.detach().mul_(0.0)
    np.testing.assert_allclose(ember.autograd.grad(out, x, g)[0].numpy(), expected.numpy(), rtol=1e-6, atol=1e-7)
