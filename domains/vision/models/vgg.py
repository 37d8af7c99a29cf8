"""VGG (Simonyan & Zisserman, 2015) with torchvision's layout, ``state_dict`` names and weights."""

from __future__ import annotations

from functools import partial

from ember import nn

from ._api import Weights, WeightsEnum, classification_meta, load_weights, with_weights
from ._presets import ImageClassification

__all__ = [
    "VGG", "VGG11_BN_Weights", "VGG11_Weights", "VGG13_BN_Weights", "VGG13_Weights", "VGG16_BN_Weights",
    "VGG16_Weights", "VGG19_BN_Weights", "VGG19_Weights", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16",
    "vgg16_bn", "vgg19", "vgg19_bn",
]

CFGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def make_layers(cfg: list, batch_norm: bool = False, in_channels: int = 3) -> nn.Sequential:
    layers: list[nn.Module] = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU())
        in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """``features`` (convolutions), ``avgpool`` to 7x7, ``classifier`` (3 linear layers).

    Example:
        >>> import ember
        >>> from ember.vision.models import vgg11_bn
        >>> vgg11_bn(num_classes=10)(ember.randn(1, 3, 32, 32)).shape
        ember.Size([1, 10])
    """

    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(p=dropout),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        if init_weights:
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(x.flatten(1))


class VGG11_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/vgg11-8a719046.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta=classification_meta(
            min_size=(32, 32),
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg",
            num_params=132863336,
            _metrics={"ImageNet-1K": {"acc@1": 69.02, "acc@5": 88.628}},
            _ops=7.609,
            _file_size=506.84,
        ),
    )
    DEFAULT = IMAGENET1K_V1


class VGG11_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/vgg11_bn-6002323d.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta=classification_meta(
            min_size=(32, 32),
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg",
            num_params=132868840,
            _metrics={"ImageNet-1K": {"acc@1": 70.37, "acc@5": 89.81}},
            _ops=7.609,
            _file_size=506.881,
        ),
    )
    DEFAULT = IMAGENET1K_V1


class VGG13_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/vgg13-19584684.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta=classification_meta(
            min_size=(32, 32),
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg",
            num_params=133047848,
            _metrics={"ImageNet-1K": {"acc@1": 69.928, "acc@5": 89.246}},
            _ops=11.308,
            _file_size=507.545,
        ),
    )
    DEFAULT = IMAGENET1K_V1


class VGG13_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/vgg13_bn-abd245e5.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta=classification_meta(
            min_size=(32, 32),
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg",
            num_params=133053736,
            _metrics={"ImageNet-1K": {"acc@1": 71.586, "acc@5": 90.374}},
            _ops=11.308,
            _file_size=507.59,
        ),
    )
    DEFAULT = IMAGENET1K_V1


class VGG16_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/vgg16-397923af.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta=classification_meta(
            min_size=(32, 32),
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg",
            num_params=138357544,
            _metrics={"ImageNet-1K": {"acc@1": 71.592, "acc@5": 90.382}},
            _ops=15.47,
            _file_size=527.796,
        ),
    )
    IMAGENET1K_FEATURES = Weights(
        url="https://download.pytorch.org/models/vgg16_features-amdegroot-88682ab5.pth",
        transforms=partial(
            ImageClassification, crop_size=224,
            mean=(0.48235, 0.45882, 0.40784),
            std=(0.00392156862745098, 0.00392156862745098, 0.00392156862745098),
        ),
        meta=classification_meta(
            categories=None,
            min_size=(32, 32),
            recipe="https://github.com/amdegroot/ssd.pytorch#training-ssd",
            num_params=138357544,
            _metrics={"ImageNet-1K": {"acc@1": float("nan"), "acc@5": float("nan")}},
            _ops=15.47,
            _file_size=527.802,
        ),
    )
    DEFAULT = IMAGENET1K_V1


class VGG16_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/vgg16_bn-6c64b313.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta=classification_meta(
            min_size=(32, 32),
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg",
            num_params=138365992,
            _metrics={"ImageNet-1K": {"acc@1": 73.36, "acc@5": 91.516}},
            _ops=15.47,
            _file_size=527.866,
        ),
    )
    DEFAULT = IMAGENET1K_V1


class VGG19_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta=classification_meta(
            min_size=(32, 32),
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg",
            num_params=143667240,
            _metrics={"ImageNet-1K": {"acc@1": 72.376, "acc@5": 90.876}},
            _ops=19.632,
            _file_size=548.051,
        ),
    )
    DEFAULT = IMAGENET1K_V1


class VGG19_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/vgg19_bn-c79401a0.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta=classification_meta(
            min_size=(32, 32),
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg",
            num_params=143678248,
            _metrics={"ImageNet-1K": {"acc@1": 74.218, "acc@5": 91.842}},
            _ops=19.632,
            _file_size=548.143,
        ),
    )
    DEFAULT = IMAGENET1K_V1


def _make_vgg(cfg: str, batch_norm: bool, in_channels: int = 3, **kwargs) -> VGG:
    return VGG(make_layers(CFGS[cfg], batch_norm, in_channels), **kwargs)


def _vgg(name: str, cfg: str, batch_norm: bool, weights, weights_enum, progress: bool, kwargs) -> VGG:
    if weights is not None:
        kwargs.setdefault("init_weights", False)
    return load_weights(name, partial(_make_vgg, cfg, batch_norm), weights, kwargs, weights_enum, progress)


@with_weights(VGG11_Weights)
def vgg11(*, weights: VGG11_Weights | str | None = None, progress: bool = True, **kwargs) -> VGG:
    return _vgg("vgg11", "A", False, weights, VGG11_Weights, progress, kwargs)


@with_weights(VGG11_BN_Weights)
def vgg11_bn(*, weights: VGG11_BN_Weights | str | None = None, progress: bool = True, **kwargs) -> VGG:
    return _vgg("vgg11_bn", "A", True, weights, VGG11_BN_Weights, progress, kwargs)


@with_weights(VGG13_Weights)
def vgg13(*, weights: VGG13_Weights | str | None = None, progress: bool = True, **kwargs) -> VGG:
    return _vgg("vgg13", "B", False, weights, VGG13_Weights, progress, kwargs)


@with_weights(VGG13_BN_Weights)
def vgg13_bn(*, weights: VGG13_BN_Weights | str | None = None, progress: bool = True, **kwargs) -> VGG:
    return _vgg("vgg13_bn", "B", True, weights, VGG13_BN_Weights, progress, kwargs)


@with_weights(VGG16_Weights)
def vgg16(*, weights: VGG16_Weights | str | None = None, progress: bool = True, **kwargs) -> VGG:
    return _vgg("vgg16", "D", False, weights, VGG16_Weights, progress, kwargs)


@with_weights(VGG16_BN_Weights)
def vgg16_bn(*, weights: VGG16_BN_Weights | str | None = None, progress: bool = True, **kwargs) -> VGG:
    return _vgg("vgg16_bn", "D", True, weights, VGG16_BN_Weights, progress, kwargs)


@with_weights(VGG19_Weights)
def vgg19(*, weights: VGG19_Weights | str | None = None, progress: bool = True, **kwargs) -> VGG:
    return _vgg("vgg19", "E", False, weights, VGG19_Weights, progress, kwargs)


@with_weights(VGG19_BN_Weights)
def vgg19_bn(*, weights: VGG19_BN_Weights | str | None = None, progress: bool = True, **kwargs) -> VGG:
    return _vgg("vgg19_bn", "E", True, weights, VGG19_BN_Weights, progress, kwargs)
