"""Models: torchvision's state_dict names and sizes, output shapes, get_model, loading weights."""

from __future__ import annotations

import numpy as np
import pytest

import ember
from ember.vision.models import get_model, list_models, resnet18, resnet20
from ember.vision.models.vgg import CFGS, make_layers


def _count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def test_resnet18_matches_torchvision_layout():
    model = resnet18()
    sd = model.state_dict()
    assert len(sd) == 122 and _count(model) == 11_689_512  # torchvision's resnet18
    shapes = {k: tuple(v.shape) for k, v in sd.items()}
    assert shapes["conv1.weight"] == (64, 3, 7, 7)
    assert shapes["layer1.0.conv1.weight"] == (64, 64, 3, 3)
    assert shapes["layer2.0.downsample.0.weight"] == (128, 64, 1, 1)
    assert shapes["layer2.0.downsample.1.running_mean"] == (128,)
    assert "layer4.1.bn2.num_batches_tracked" in sd
    assert shapes["fc.weight"] == (1000, 512)


def test_resnet50_and_vgg_sizes_match_torchvision():
    r50 = get_model("resnet50")
    assert len(r50.state_dict()) == 320 and _count(r50) == 25_557_032
    assert tuple(r50.state_dict()["layer1.0.conv3.weight"].shape) == (256, 64, 1, 1)
    # vgg16_bn's convolutional part (building the 100M-parameter classifier would only cost time)
    features = make_layers(CFGS["D"], batch_norm=True)
    sd = features.state_dict()
    assert _count(features) == 14_723_136
    assert tuple(sd["0.weight"].shape) == (64, 3, 3, 3) and "1.running_var" in sd
    assert tuple(sd["40.weight"].shape) == (512, 512, 3, 3) and "41.num_batches_tracked" in sd


def test_vit_names_follow_torchvision():
    vit = get_model("vit_tiny", num_layers=2)
    sd = vit.state_dict()
    for key in ["class_token", "conv_proj.weight", "encoder.pos_embedding", "encoder.ln.weight",
                "encoder.layers.encoder_layer_1.self_attention.in_proj_weight",
                "encoder.layers.encoder_layer_1.self_attention.out_proj.weight",
                "encoder.layers.encoder_layer_0.mlp.0.weight", "encoder.layers.encoder_layer_0.mlp.3.bias",
                "encoder.layers.encoder_layer_0.ln_1.weight", "heads.head.weight"]:
        assert key in sd, key
    assert tuple(sd["encoder.pos_embedding"].shape) == (1, 65, 192)
    assert tuple(vit(ember.randn(2, 3, 32, 32)).shape) == (2, 10)


@pytest.mark.parametrize("name, shape", [("lenet5", (2, 1, 28, 28)), ("mlp", (2, 1, 28, 28)),
                                         ("resnet20", (2, 3, 32, 32))])
def test_small_models_forward(name, shape):
    out = get_model(name)(ember.randn(*shape))
    assert tuple(out.shape) == (2, 10)


def test_cifar_resnet_depths():
    for name, blocks in [("resnet20", 3), ("resnet32", 5), ("resnet56", 9)]:
        sd = get_model(name).state_dict()
        assert f"layer3.{blocks - 1}.conv2.weight" in sd and f"layer3.{blocks}.conv1.weight" not in sd
        assert tuple(sd["layer2.0.downsample.0.weight"].shape) == (32, 16, 1, 1)


def test_weights_load_through_safetensors(tmp_path):
    pytest.importorskip("safetensors")
    source = resnet20(num_classes=7)
    path = tmp_path / "resnet20.safetensors"
    ember.save_safetensors(source.state_dict(), path)
    loaded = resnet20(num_classes=7, weights=str(path))
    source.eval()
    loaded.eval()
    x = ember.randn(2, 3, 32, 32)
    np.testing.assert_allclose(loaded(x)._data, source(x)._data, atol=1e-5)
    with pytest.raises(FileNotFoundError, match="download"):
        resnet20(weights="resnet20_cifar10_weights_from_somewhere")


def test_get_model_names():
    assert {"resnet18", "resnet20", "lenet5", "mlp", "vgg16_bn", "vit_tiny"} <= set(list_models())
    with pytest.raises(ValueError, match="did you mean 'lenet5'"):
        get_model("lenet")


def test_list_models_filters_as_torchvision():
    from ember.vision import models

    added = ["convnext_tiny", "densenet121", "efficientnet_b0", "efficientnet_b1", "efficientnet_b2",
             "efficientnet_b3", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "regnet_y_400mf",
             "resnext50_32x4d", "shufflenet_v2_x1_0", "squeezenet1_1", "swin_t", "wide_resnet50_2"]
    assert set(added) <= set(list_models())
    assert list_models(include="resnet*", exclude=["resnet2*", "resnet5*"]) == ["resnet18", "resnet32", "resnet34"]
    assert list_models(include=["vgg1[13]"]) == ["vgg11", "vgg13"]
    assert list_models(models.convnext) == ["convnext_tiny"]
    assert list_models(models.resnet) == ["resnet18", "resnet20", "resnet32", "resnet34", "resnet50", "resnet56",
                                          "resnext50_32x4d", "wide_resnet50_2"]
