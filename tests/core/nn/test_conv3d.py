"""3-d convolution, transposed convolution, conv_tbc, 3-d batch / instance norm and 3-d padding: gradcheck,
torch parity of forward and gradients with every subset of the inputs requiring grad, the layers against
torch's (weights loaded from torch), and the errors naming the shape at fault."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember import nn
from ember.nn import functional as F

from .functional_specs import (
    Const,
    Spec,
    check_gradcheck,
    check_parity,
    check_requires_grad_subset,
    differentiable_positions,
    ids,
    requires_grad_subsets,
)
from .layer_parity import check_parity as check_layer_parity

SPECS = [
    Spec("conv3d", lambda F, x, w, b: F.conv3d(x, w, b), [(2, 3, 5, 6, 4), (4, 3, 3, 2, 3), (4,)]),
    Spec("conv3d_stride_pad_dil", lambda F, x, w, b: F.conv3d(x, w, b, stride=(2, 1, 2), padding=(1, 2, 0),
                                                              dilation=(1, 2, 1)),
         [(2, 3, 5, 6, 4), (2, 3, 3, 3, 2), (2,)]),
    # stride 1 with padding that keeps the size: the input gradient is itself a convolution
    Spec("conv3d_groups_same", lambda F, x, w, b: F.conv3d(x, w, b, padding="same", groups=2),
         [(1, 4, 4, 5, 3), (6, 2, 3, 3, 3), (6,)]),
    Spec("conv3d_depthwise_dil", lambda F, x, w: F.conv3d(x, w, padding=2, dilation=2, groups=3),
         [(2, 3, 4, 4, 5), (3, 1, 3, 2, 3)]),
    Spec("conv3d_same_even_unbatched", lambda F, x, w: F.conv3d(x, w, padding="same"),
         [(2, 4, 5, 3), (3, 2, 2, 3, 2)]),
    Spec("conv_transpose3d", lambda F, x, w, b: F.conv_transpose3d(x, w, b, stride=2, padding=1, output_padding=1),
         [(2, 3, 3, 4, 2), (3, 2, 3, 3, 2), (2,)]),
    Spec("conv_transpose3d_groups_dil", lambda F, x, w, b: F.conv_transpose3d(
        x, w, b, stride=(2, 1, 1), output_padding=(1, 0, 0), groups=2, dilation=(1, 2, 1)),
        [(1, 4, 3, 3, 2), (4, 3, 2, 2, 2), (6,)]),
    Spec("conv_tbc", lambda F, x, w, b: F.conv_tbc(x, w, b, 1), [(6, 2, 3), (3, 3, 4), (4,)]),
    Spec("conv_tbc_crop", lambda F, x, w, b: F.conv_tbc(x, w, b, -1), [(7, 2, 3), (2, 3, 4), (4,)]),
    Spec("batch_norm_5d", lambda F, x, w, b: F.batch_norm(x, None, None, w, b, training=True),
         [(3, 2, 3, 4, 2), (2,), (2,)]),
    Spec("batch_norm_5d_eval", lambda F, x, m, v, w, b: F.batch_norm(x, m, v, w, b, training=False),
         [(2, 3, 2, 3, 2), Const(np.array([0.1, -0.2, 0.3])), Const(np.array([1.5, 0.5, 2.0])), (3,), (3,)]),
    Spec("instance_norm_5d", lambda F, x, w, b: F.instance_norm(x, weight=w, bias=b),
         [(2, 3, 2, 3, 4), (3,), (3,)]),
    Spec("pad3d_reflect", lambda F, x: F.pad(x, (1, 2, 0, 1, 2, 1), mode="reflect"), [(2, 1, 4, 3, 4)]),
    Spec("pad3d_replicate", lambda F, x: F.pad(x, (2, 0, 1, 3, 1, 1), mode="replicate"), [(1, 2, 3, 2, 3)]),
    Spec("pad3d_circular", lambda F, x: F.pad(x, (1, 1, 2, 0, 0, 3), mode="circular"), [(1, 2, 3, 2, 4)]),
    Spec("pad3d_constant", lambda F, x: F.pad(x, (1, 0, 2, 1, -1, 1), value=0.5), [(2, 3, 2, 3)]),
]


def _subset_cases(specs):
    return [pytest.param(spec, subset, id=f"{spec.name}-" + "".join(
        "g" if i in subset else "n" for i in differentiable_positions(spec)))
        for spec in specs for subset in requires_grad_subsets(spec)]


@pytest.mark.parametrize("spec", SPECS, ids=ids(SPECS))
def test_gradcheck(spec):
    check_gradcheck(spec)


@pytest.mark.parametrize("spec, subset", _subset_cases(SPECS))
def test_requires_grad_subset(spec, subset):
    check_requires_grad_subset(spec, subset)


@pytest.mark.parity
@pytest.mark.parametrize("spec, subset", _subset_cases(SPECS))
def test_requires_grad_subset_matches_torch(spec, subset):
    pytest.importorskip("torch")
    check_parity(spec, requires_grad=subset)


# --- errors ---------------------------------------------------------------------------------------------------


def test_conv3d_wrong_channels_names_both_shapes():
    with pytest.raises(RuntimeError, match=r"expected input with 3 channels.*\(4, 3, 3, 3, 3\).*\(2, 2, 5, 6, 4\)"):
        F.conv3d(ember.randn(2, 2, 5, 6, 4), ember.randn(4, 3, 3, 3, 3))


def test_conv3d_wrong_rank_names_the_shape():
    with pytest.raises(RuntimeError, match=r"4-d \(unbatched\) or 5-d \(batched\) input.*\(2, 3, 5\)"):
        F.conv3d(ember.randn(2, 3, 5), ember.randn(4, 3, 3, 3, 3))
    with pytest.raises(RuntimeError, match=r"5-d weight.*\(4, 3, 3, 3\)"):
        F.conv3d(ember.randn(2, 3, 5, 5, 5), ember.randn(4, 3, 3, 3))


def test_conv3d_kernel_larger_than_input_names_sizes():
    with pytest.raises(RuntimeError, match=r"spatial size \(2, 2, 2\).*kernel of size \(3, 3, 3\)"):
        F.conv3d(ember.randn(1, 3, 2, 2, 2), ember.randn(4, 3, 3, 3, 3))


def test_conv3d_bias_and_geometry_errors():
    x, w = ember.randn(1, 3, 4, 4, 4), ember.randn(4, 3, 3, 3, 3)
    with pytest.raises(RuntimeError, match=r"bias of shape \(4,\), got bias of shape \(3,\)"):
        F.conv3d(x, w, ember.randn(3))
    with pytest.raises(RuntimeError, match="not supported for strided convolutions"):
        F.conv3d(x, w, stride=2, padding="same")
    with pytest.raises(RuntimeError, match="negative padding"):
        F.conv3d(x, w, padding=(1, -1, 0))
    with pytest.raises(RuntimeError, match="non-positive stride"):
        F.conv3d(x, w, stride=(1, 0, 1))


def test_conv_transpose3d_errors():
    x = ember.randn(1, 3, 3, 3, 3)
    with pytest.raises(RuntimeError, match=r"expected input with 4 channels.*\(1, 3, 3, 3, 3\)"):
        F.conv_transpose3d(x, ember.randn(4, 2, 2, 2, 2))
    with pytest.raises(RuntimeError, match="output padding must be smaller than either stride or dilation"):
        F.conv_transpose3d(x, ember.randn(3, 2, 2, 2, 2), output_padding=1)
    with pytest.raises(TypeError, match="'padding' must be tuple of ints, not str"):
        F.conv_transpose3d(x, ember.randn(3, 2, 2, 2, 2), padding="same")


def test_conv_tbc_errors_name_the_shapes():
    x, w, b = ember.randn(5, 2, 3), ember.randn(3, 3, 4), ember.randn(4)
    with pytest.raises(TypeError, match="'bias' must be Tensor, not NoneType"):
        F.conv_tbc(x, w, None)
    with pytest.raises(RuntimeError, match=r"3 dims.*\(5, 2\)"):
        F.conv_tbc(ember.randn(5, 2), w, b)
    with pytest.raises(RuntimeError, match=r"input channels.*\(5, 2, 3\).*\(3, 2, 4\)"):
        F.conv_tbc(x, ember.randn(3, 2, 4), b)
    with pytest.raises(RuntimeError, match=r"bias of shape \(5,\)"):
        F.conv_tbc(x, w, ember.randn(5))


def test_pad3d_modules_reject_inputs_of_the_wrong_rank():
    with pytest.raises(NotImplementedError, match=r"ReflectionPad3d: expected 4D or 5D input \(got 3D"):
        nn.ReflectionPad3d(1)(ember.randn(2, 3, 4))
    with pytest.raises(ValueError, match=r"CircularPad3d: expected 4D or 5D input"):
        nn.CircularPad3d(1)(ember.randn(2, 3, 4))
    with pytest.raises(RuntimeError, match="reflect"):
        nn.ReflectionPad3d(3)(ember.randn(1, 1, 3, 3, 3))
    with pytest.raises(ValueError, match="expected 5D input"):
        nn.BatchNorm3d(3)(ember.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"size at dim=1 to match num_features \(4\), but got: 3"):
        nn.InstanceNorm3d(4, affine=True)(ember.randn(2, 3, 2, 2, 2))


# --- layers against torch's -----------------------------------------------------------------------------------


def _f(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


LAYERS = [
    ("Conv3d", lambda nn: nn.Conv3d(3, 4, (3, 2, 3), stride=(1, 2, 1), padding=1), [_f(2, 3, 5, 6, 4)], {}),
    ("Conv3d_groups_dilation", lambda nn: nn.Conv3d(4, 6, 3, padding="same", dilation=(2, 1, 1), groups=2,
                                                    bias=False), [_f(1, 4, 5, 4, 3)], {}),
    ("Conv3d_reflect", lambda nn: nn.Conv3d(2, 3, 3, padding=(1, 2, 1), padding_mode="reflect"),
     [_f(2, 2, 3, 4, 3)], {}),
    ("Conv3d_circular", lambda nn: nn.Conv3d(2, 3, (2, 3, 3), padding=1, padding_mode="circular"),
     [_f(1, 2, 3, 4, 5)], {}),
    ("Conv3d_replicate_unbatched", lambda nn: nn.Conv3d(2, 3, 2, padding="same", padding_mode="replicate"),
     [_f(2, 3, 4, 3)], {}),
    ("ConvTranspose3d", lambda nn: nn.ConvTranspose3d(4, 6, (3, 2, 2), stride=(2, 1, 2), padding=(1, 0, 0),
                                                      output_padding=(1, 0, 1), groups=2),
     [_f(2, 4, 3, 3, 2)], {}),
    ("ConvTranspose3d_output_size", lambda nn: nn.ConvTranspose3d(3, 2, 3, stride=2, padding=1),
     [_f(1, 3, 2, 3, 2)], {"output_size": (4, 6, 4)}),
    ("BatchNorm3d", lambda nn: nn.BatchNorm3d(3), [_f(2, 3, 2, 3, 4)], {}),
    ("BatchNorm3d_eval", lambda nn: nn.BatchNorm3d(3), [_f(2, 3, 2, 3, 4)], {"train": False}),
    ("InstanceNorm3d_affine", lambda nn: nn.InstanceNorm3d(3, affine=True), [_f(2, 3, 2, 3, 4)], {}),
    ("InstanceNorm3d_unbatched", lambda nn: nn.InstanceNorm3d(2), [_f(2, 3, 2, 4)], {}),
    ("ReflectionPad3d", lambda nn: nn.ReflectionPad3d((1, 0, 2, 1, 0, 1)), [_f(1, 2, 3, 3, 2)], {}),
    ("ReplicationPad3d", lambda nn: nn.ReplicationPad3d(2), [_f(2, 2, 1, 3)], {}),
    ("CircularPad3d", lambda nn: nn.CircularPad3d((1, 2, 0, 1, 1, 1)), [_f(1, 2, 2, 3, 3)], {}),
    ("ConstantPad3d", lambda nn: nn.ConstantPad3d((1, 0, 0, 2, 1, 1), 3.5), [_f(2, 2, 2, 2)], {}),
    ("ZeroPad3d", lambda nn: nn.ZeroPad3d(1), [_f(1, 1, 2, 2, 2)], {}),
]


@pytest.mark.parity
@pytest.mark.parametrize("name, constructor, inputs, options", LAYERS, ids=[row[0] for row in LAYERS])
def test_layer_matches_torch(name, constructor, inputs, options):
    torch = pytest.importorskip("torch")
    options = dict(options)
    torch.manual_seed(0)
    kwargs = {k: options.pop(k) for k in ("output_size",) if k in options}
    ember_module, torch_module = constructor(nn), constructor(torch.nn)
    assert repr(ember_module) == repr(torch_module)
    check_layer_parity(ember_module, torch_module, inputs, kwargs, train=options.pop("train", True))


@pytest.mark.parity
def test_batchnorm3d_running_stats_match_torch_after_training_steps():
    torch = pytest.importorskip("torch")
    e, t = nn.BatchNorm3d(3, momentum=0.3), torch.nn.BatchNorm3d(3, momentum=0.3)
    for seed in range(3):
        x = _f(2, 3, 2, 2, 3, seed=seed) * 2 + 1
        e(ember.tensor(x))
        t(torch.tensor(x))
    np.testing.assert_allclose(e.running_mean.numpy(), t.running_mean.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(e.running_var.numpy(), t.running_var.numpy(), rtol=1e-5, atol=1e-6)
    assert int(e.num_batches_tracked) == 3


def test_conv3d_init_is_uniform_in_one_over_sqrt_fan_in():
    ember.manual_seed(0)
    conv = nn.Conv3d(4, 16, (3, 3, 3))
    bound = 1 / np.sqrt(4 * 27)
    weight = conv.weight.detach().numpy()
    assert conv.weight.shape == (16, 4, 3, 3, 3) and conv.bias.shape == (16,)
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.9 * bound
    assert np.abs(conv.bias.detach().numpy()).max() <= bound


def test_conv3d_learns_to_match_a_target_convolution():
    ember.manual_seed(0)
    x = ember.randn(4, 2, 4, 5, 4)
    target = F.conv3d(x, ember.randn(3, 2, 2, 2, 2), padding=1)
    conv = nn.Conv3d(2, 3, 2, padding=1)
    optimizer = ember.optim.Adam(conv.parameters(), lr=0.05)
    losses = []
    for _ in range(60):
        optimizer.zero_grad()
        loss = F.mse_loss(conv(x), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.05 * losses[0]
