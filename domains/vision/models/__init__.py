"""Models with torchvision's names, ``state_dict`` layouts and pretrained weights, and ``get_model``.

Every ImageNet model torchvision publishes weights for takes ``weights=`` as torchvision's builders do:
an enum member (``ResNet18_Weights.IMAGENET1K_V1``), its name (``"DEFAULT"``, ``"IMAGENET1K_V1"``) or
None; the file is downloaded once through ``ember.hub`` (hash checked) and read without unpickling.
Ember also accepts a weights file path or a state dict.

Example:
    >>> from ember.vision.models import get_model, get_model_weights, list_models
    >>> model = get_model("resnet20", num_classes=10)
    >>> "lenet5" in list_models()
    True
    >>> get_model_weights("resnet18").DEFAULT.url
    'https://download.pytorch.org/models/resnet18-f37072fd.pth'
"""

from __future__ import annotations

from collections.abc import Callable

from ._api import Weights, WeightsEnum, get_model_weights, get_weight
from ._presets import ImageClassification
from .convnext import ConvNeXt, ConvNeXt_Tiny_Weights, convnext_tiny
from .densenet import DenseNet, DenseNet121_Weights, densenet121
from .efficientnet import (
    EfficientNet,
    EfficientNet_B0_Weights,
    EfficientNet_B1_Weights,
    EfficientNet_B2_Weights,
    EfficientNet_B3_Weights,
    efficientnet_b0,
    efficientnet_b1,
    efficientnet_b2,
    efficientnet_b3,
)
from .lenet import LeNet5, lenet5
from .mlp import MLP, mlp
from .mobilenetv2 import MobileNet_V2_Weights, MobileNetV2, mobilenet_v2
from .mobilenetv3 import (
    MobileNet_V3_Large_Weights,
    MobileNet_V3_Small_Weights,
    MobileNetV3,
    mobilenet_v3_large,
    mobilenet_v3_small,
)
from .regnet import RegNet, RegNet_Y_400MF_Weights, regnet_y_400mf
from .resnet import (
    BasicBlock,
    Bottleneck,
    CifarResNet,
    ResNet,
    ResNet18_Weights,
    ResNet34_Weights,
    ResNet50_Weights,
    ResNeXt50_32X4D_Weights,
    Wide_ResNet50_2_Weights,
    resnet18,
    resnet20,
    resnet32,
    resnet34,
    resnet50,
    resnet56,
    resnext50_32x4d,
    wide_resnet50_2,
)
from .shufflenetv2 import ShuffleNet_V2_X1_0_Weights, ShuffleNetV2, shufflenet_v2_x1_0
from .squeezenet import SqueezeNet, SqueezeNet1_0_Weights, SqueezeNet1_1_Weights, squeezenet1_0, squeezenet1_1
from .swin_transformer import Swin_T_Weights, SwinTransformer, swin_t
from .vgg import (
    VGG,
    VGG11_BN_Weights,
    VGG11_Weights,
    VGG13_BN_Weights,
    VGG13_Weights,
    VGG16_BN_Weights,
    VGG16_Weights,
    VGG19_BN_Weights,
    VGG19_Weights,
    vgg11,
    vgg11_bn,
    vgg13,
    vgg13_bn,
    vgg16,
    vgg16_bn,
    vgg19,
    vgg19_bn,
)
from .vit import VisionTransformer, ViT_B_16_Weights, ViT_B_32_Weights, vit_b_16, vit_b_32, vit_tiny

_BUILDERS: list[Callable] = [
    mlp, lenet5, resnet18, resnet34, resnet50, resnext50_32x4d, wide_resnet50_2, resnet20, resnet32, resnet56,
    vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn, vit_tiny, vit_b_16, vit_b_32,
    mobilenet_v2, mobilenet_v3_small, mobilenet_v3_large, efficientnet_b0, efficientnet_b1, efficientnet_b2,
    efficientnet_b3, convnext_tiny, densenet121, regnet_y_400mf, shufflenet_v2_x1_0, squeezenet1_0,
    squeezenet1_1, swin_t,
]
_MODELS: dict[str, Callable] = {builder.__name__: builder for builder in _BUILDERS}


def list_models(module=None, include: str | list[str] | None = None,
                exclude: str | list[str] | None = None) -> list[str]:
    """The names ``get_model`` accepts, sorted. As torchvision's: only those defined in ``module``, matching
    one of the ``include`` patterns and none of the ``exclude`` ones (``fnmatch``, e.g. ``"resnet*"``).
    """
    import fnmatch

    names = [name for name, builder in _MODELS.items()
             if module is None or builder.__module__.startswith(module.__name__)]
    for patterns, keep in ((include, True), (exclude, False)):
        if patterns is not None:
            patterns = [patterns] if isinstance(patterns, str) else patterns
            names = [n for n in names if any(fnmatch.fnmatch(n, p) for p in patterns) == keep]
    return sorted(names)


def get_model_builder(name: str) -> Callable:
    """The builder function registered as ``name`` (e.g. ``resnet18``)."""
    key = name.lower()
    if key not in _MODELS:
        import difflib

        close = difflib.get_close_matches(key, list(_MODELS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown model {name!r}{hint} (known: {', '.join(list_models())})")
    return _MODELS[key]


def get_model(name: str, **config):
    """Builds a model by name, e.g. ``get_model("resnet20", num_classes=10)`` or
    ``get_model("resnet18", weights="DEFAULT")``."""
    return get_model_builder(name)(**config)


__all__ = [
    "MLP",
    "VGG",
    "BasicBlock",
    "Bottleneck",
    "CifarResNet",
    "ConvNeXt",
    "ConvNeXt_Tiny_Weights",
    "DenseNet",
    "DenseNet121_Weights",
    "EfficientNet",
    "EfficientNet_B0_Weights",
    "EfficientNet_B1_Weights",
    "EfficientNet_B2_Weights",
    "EfficientNet_B3_Weights",
    "ImageClassification",
    "LeNet5",
    "MobileNetV2",
    "MobileNetV3",
    "MobileNet_V2_Weights",
    "MobileNet_V3_Large_Weights",
    "MobileNet_V3_Small_Weights",
    "RegNet",
    "RegNet_Y_400MF_Weights",
    "ResNeXt50_32X4D_Weights",
    "ResNet",
    "ResNet18_Weights",
    "ResNet34_Weights",
    "ResNet50_Weights",
    "ShuffleNetV2",
    "ShuffleNet_V2_X1_0_Weights",
    "SqueezeNet",
    "SqueezeNet1_0_Weights",
    "SqueezeNet1_1_Weights",
    "SwinTransformer",
    "Swin_T_Weights",
    "VGG11_BN_Weights",
    "VGG11_Weights",
    "VGG13_BN_Weights",
    "VGG13_Weights",
    "VGG16_BN_Weights",
    "VGG16_Weights",
    "VGG19_BN_Weights",
    "VGG19_Weights",
    "ViT_B_16_Weights",
    "ViT_B_32_Weights",
    "VisionTransformer",
    "Weights",
    "WeightsEnum",
    "Wide_ResNet50_2_Weights",
    "convnext_tiny",
    "densenet121",
    "efficientnet_b0",
    "efficientnet_b1",
    "efficientnet_b2",
    "efficientnet_b3",
    "get_model",
    "get_model_builder",
    "get_model_weights",
    "get_weight",
    "lenet5",
    "list_models",
    "mlp",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "mobilenet_v3_small",
    "regnet_y_400mf",
    "resnet18",
    "resnet20",
    "resnet32",
    "resnet34",
    "resnet50",
    "resnet56",
    "resnext50_32x4d",
    "shufflenet_v2_x1_0",
    "squeezenet1_0",
    "squeezenet1_1",
    "swin_t",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
    "vit_b_16",
    "vit_b_32",
    "vit_tiny",
    "wide_resnet50_2",
]
