"""VGG (Simonyan & Zisserman, 2015) with torchvision's layout and ``state_dict`` names."""

from __future__ import annotations

from ember import nn

from .resnet import _load

__all__ = ["VGG", "vgg11", "vgg11_bn", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19_bn"]

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


def _vgg(cfg: str, batch_norm: bool, weights, kwargs) -> VGG:
    in_channels = kwargs.pop("in_channels", 3)
    return _load(VGG(make_layers(CFGS[cfg], batch_norm, in_channels), **kwargs), weights)


def vgg11(*, weights=None, **kwargs) -> VGG:
    return _vgg("A", False, weights, kwargs)


def vgg11_bn(*, weights=None, **kwargs) -> VGG:
    return _vgg("A", True, weights, kwargs)


def vgg13_bn(*, weights=None, **kwargs) -> VGG:
    return _vgg("B", True, weights, kwargs)


def vgg16(*, weights=None, **kwargs) -> VGG:
    return _vgg("D", False, weights, kwargs)


def vgg16_bn(*, weights=None, **kwargs) -> VGG:
    return _vgg("D", True, weights, kwargs)


def vgg19_bn(*, weights=None, **kwargs) -> VGG:
    return _vgg("E", True, weights, kwargs)
