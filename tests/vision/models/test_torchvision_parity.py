"""The models with torchvision's weights: a torchvision ``state_dict`` loads with ``strict=True`` and gives
torchvision's logits (ViT and VGG at a reduced size: their full classifiers hold 86M and 120M parameters).

Each torchvision model is randomly initialised, then its BatchNorm statistics, norm affines, biases and
layer scales are perturbed (fresh ones are 0/1 and would hide a swapped or skipped normalisation), and its
logits on one small image (eval mode) are compared with Ember's after loading the same state dict.
"""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.vision import models

from .._torchvision import import_torchvision

pytestmark = pytest.mark.parity

# Built through get_model on both sides, at 32x32 (at least every weights' meta min_size). Those over ~1.5 s
# here are marked slow; they still run by default.
MODELS = [
    "resnet18", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "efficientnet_b0",
    "efficientnet_b3", pytest.param("convnext_tiny", marks=pytest.mark.slow),
    pytest.param("densenet121", marks=pytest.mark.slow), "regnet_y_400mf", "shufflenet_v2_x1_0",
    "squeezenet1_0", "squeezenet1_1", "swin_t",
]
# resnext50_32x4d and wide_resnet50_2 are resnet50's layout with other group counts and widths: building
# the 69M-parameter wide_resnet50_2 twice costs 5 s, so the grouped / widened bottlenecks are compared one
# block per stage (their builders' arguments are checked against torchvision's below).
RESNET_VARIANTS = [("resnext50_32x4d", {"groups": 32, "width_per_group": 4}),
                   ("wide_resnet50_2", {"width_per_group": 128})]


@pytest.fixture(scope="module")
def torch_and_tv():
    tv = import_torchvision()
    import torch

    # torch's trunc_normal_ (erfinv) takes 1.3 s of ConvNeXt's and Swin's construction; any random start
    # will do here, the weights are compared, not their distribution
    def fast_trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
        return torch.nn.init.normal_(tensor, mean, std, generator=generator)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny inputs: a second thread only spins
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(torch.nn.init, "trunc_normal_", fast_trunc_normal_)
            yield torch, tv
    finally:
        torch.set_num_threads(threads)


def _perturb(torch, model, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)
            elif name.endswith("running_mean"):
                t.copy_(torch.randn(t.shape, generator=gen) * 0.1)
            elif "layer_scale" in name:  # 1e-6 at init: the residual branches would not count
                t.copy_(torch.rand(t.shape, generator=gen) * 0.5 + 0.5)
            elif t.ndim == 1 or bool((t == 0).all()):
                t.add_(torch.randn(t.shape, generator=gen) * 0.1)


def _ember_state(state_dict) -> dict:
    return {k: ember.from_numpy(v.detach().numpy().copy()) for k, v in state_dict.items()}


def _compare(torch, reference, model) -> None:
    reference.eval()
    model.eval()
    _perturb(torch, reference, seed=1)
    result = model.load_state_dict(_ember_state(reference.state_dict()), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = reference(x).numpy()
    with ember.no_grad():
        out = model(ember.from_numpy(x.numpy().copy())).numpy()
    assert out.shape == expected.shape == (2, 10)
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(out / scale, expected / scale, atol=1e-4, rtol=0)


@pytest.mark.parametrize("name", MODELS)
def test_torchvision_state_dict_loads_strictly_with_same_logits(torch_and_tv, name):
    torch, tv = torch_and_tv
    torch.manual_seed(0)
    _compare(torch, tv.models.get_model(name, num_classes=10), models.get_model(name, num_classes=10))


@pytest.mark.parametrize("name, options", RESNET_VARIANTS)
def test_grouped_and_wide_bottlenecks_match_torchvision(torch_and_tv, monkeypatch, name, options):
    torch, _ = torch_and_tv
    from ember.vision.models.resnet import Bottleneck, ResNet
    from torchvision.models import resnet as tv_resnet

    torch.manual_seed(0)
    reference = tv_resnet.ResNet(tv_resnet.Bottleneck, [1, 1, 1, 1], num_classes=10, **options)
    _compare(torch, reference, ResNet(Bottleneck, [1, 1, 1, 1], num_classes=10, **options))
    # the builders pass these options, and resnet50's depths, as torchvision's do
    calls = []
    monkeypatch.setattr("ember.vision.models.resnet.ResNet", lambda *a, **kw: calls.append((a, kw)))
    models.get_model(name)
    (block, layers), kwargs = calls[0]
    assert block is Bottleneck and layers == [3, 4, 6, 3]
    assert {k: kwargs[k] for k in options} == options


def test_vit_matches_torchvision(torch_and_tv):
    torch, _ = torch_and_tv
    from ember.vision.models import VisionTransformer
    from torchvision.models.vision_transformer import VisionTransformer as Reference

    config = {"image_size": 32, "patch_size": 8, "num_layers": 2, "num_heads": 2, "hidden_dim": 16, "mlp_dim": 32,
              "num_classes": 10}
    torch.manual_seed(0)
    _compare(torch, Reference(**config), VisionTransformer(**config))


def test_vgg_features_match_torchvision(torch_and_tv):
    torch, _ = torch_and_tv
    from ember.vision.models.vgg import CFGS, make_layers
    from torchvision.models import vgg as tv_vgg

    torch.manual_seed(0)
    for cfg, batch_norm in [("A", True), ("A", False)]:
        reference = tv_vgg.make_layers(tv_vgg.cfgs[cfg], batch_norm).eval()
        _perturb(torch, reference, seed=1)
        model = make_layers(CFGS[cfg], batch_norm).eval()
        model.load_state_dict(_ember_state(reference.state_dict()), strict=True)
        x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))
        with torch.no_grad():
            expected = reference(x).numpy()
        with ember.no_grad():
            out = model(ember.from_numpy(x.numpy().copy())).numpy()
        np.testing.assert_allclose(out, expected, atol=1e-4 * max(1.0, float(np.abs(expected).max())), rtol=0)


@pytest.mark.parametrize("name", ["efficientnet_b1", "efficientnet_b2"])
def test_scaled_efficientnets_have_torchvision_state_dict_shapes(torch_and_tv, name):
    """B1 and B2 are B0's blocks (compared above, with B3) at other widths and depths: the same names and
    shapes as torchvision's, and the same dropout, are what is left to check."""
    _, tv = torch_and_tv
    reference, model = tv.models.get_model(name), models.get_model(name)
    assert {k: tuple(v.shape) for k, v in reference.state_dict().items()} == {
        k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert model.classifier[0].p == reference.classifier[0].p


def test_parameter_counts_match_torchvision_weights_meta():
    """The full-size models have exactly the parameter count torchvision's weights record."""
    for name in ["mobilenet_v3_small", "squeezenet1_1", "shufflenet_v2_x1_0", "regnet_y_400mf"]:
        weights = models.get_model_weights(name).DEFAULT
        model = models.get_model(name)
        assert sum(p.numel() for p in model.parameters()) == weights.meta["num_params"], name
