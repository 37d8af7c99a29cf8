"""Models with torchvision's names and ``state_dict`` layouts, and ``get_model(name, **kwargs)``.

Example:
    >>> from ember.vision.models import get_model, list_models
    >>> model = get_model("resnet20", num_classes=10)
    >>> "lenet5" in list_models()
    True
"""

from __future__ import annotations

from collections.abc import Callable

from .lenet import LeNet5, lenet5
from .mlp import MLP, mlp
from .resnet import (
    BasicBlock, Bottleneck, CifarResNet, ResNet, resnet18, resnet20, resnet32, resnet34, resnet50, resnet56,
)
from .vgg import VGG, vgg11, vgg11_bn, vgg13_bn, vgg16, vgg16_bn, vgg19_bn
from .vit import VisionTransformer, vit_b_16, vit_b_32, vit_tiny

_MODELS: dict[str, Callable] = {
    "mlp": mlp, "lenet5": lenet5, "resnet18": resnet18, "resnet34": resnet34, "resnet50": resnet50,
    "resnet20": resnet20, "resnet32": resnet32, "resnet56": resnet56, "vgg11": vgg11, "vgg11_bn": vgg11_bn,
    "vgg13_bn": vgg13_bn, "vgg16": vgg16, "vgg16_bn": vgg16_bn, "vgg19_bn": vgg19_bn, "vit_tiny": vit_tiny,
    "vit_b_16": vit_b_16, "vit_b_32": vit_b_32,
}


def list_models() -> list[str]:
    """The names ``get_model`` accepts."""
    return sorted(_MODELS)


def get_model_builder(name: str) -> Callable:
    key = name.lower()
    if key not in _MODELS:
        import difflib

        close = difflib.get_close_matches(key, list(_MODELS), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown model {name!r}{hint} (known: {', '.join(list_models())})")
    return _MODELS[key]


def get_model(name: str, **kwargs):
    """Builds a model by name, e.g. ``get_model("resnet20", num_classes=10)``."""
    return get_model_builder(name)(**kwargs)


__all__ = [
    "MLP", "VGG", "BasicBlock", "Bottleneck", "CifarResNet", "LeNet5", "ResNet", "VisionTransformer", "get_model",
    "get_model_builder", "lenet5", "list_models", "mlp", "resnet18", "resnet20", "resnet32", "resnet34",
    "resnet50", "resnet56", "vgg11", "vgg11_bn", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19_bn", "vit_b_16",
    "vit_b_32", "vit_tiny",
]
