"""SqueezeNet 1.0 and 1.1 (Iandola et al., 2016) with torchvision's layout, ``state_dict`` names and weights."""

from __future__ import annotations

from functools import partial

import ember
from ember import Tensor, nn

from ._api import Weights, WeightsEnum, classification_meta, load_weights, with_weights
from ._presets import ImageClassification

__all__ = ["SqueezeNet", "SqueezeNet1_0_Weights", "SqueezeNet1_1_Weights", "squeezenet1_0", "squeezenet1_1"]


class Fire(nn.Module):
    """A 1x1 ``squeeze`` convolution feeding parallel 1x1 and 3x3 ``expand`` convolutions, concatenated."""

    def __init__(self, inplanes: int, squeeze_planes: int, expand1x1_planes: int, expand3x3_planes: int):
        super().__init__()
        self.inplanes = inplanes
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        return ember.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)


class SqueezeNet(nn.Module):
    """``features`` (Fire modules between ceil-mode max pools) and a convolutional ``classifier``.

    Example:
        >>> import ember
        >>> SqueezeNet("1_1", num_classes=10)(ember.randn(2, 3, 32, 32)).shape
        ember.Size([2, 10])
    """

    def __init__(self, version: str = "1_0", num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        self.num_classes = num_classes
        pool = partial(nn.MaxPool2d, kernel_size=3, stride=2, ceil_mode=True)
        if version == "1_0":
            self.features = nn.Sequential(
                nn.Conv2d(3, 96, kernel_size=7, stride=2), nn.ReLU(inplace=True), pool(),
                Fire(96, 16, 64, 64), Fire(128, 16, 64, 64), Fire(128, 32, 128, 128), pool(),
                Fire(256, 32, 128, 128), Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256),
                pool(), Fire(512, 64, 256, 256),
            )
        elif version == "1_1":
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, kernel_size=3, stride=2), nn.ReLU(inplace=True), pool(),
                Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), pool(),
                Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), pool(),
                Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256), Fire(512, 64, 256, 256),
            )
        else:
            raise ValueError(f"Unsupported SqueezeNet version {version}: 1_0 or 1_1 expected")
        final_conv = nn.Conv2d(512, num_classes, kernel_size=1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), final_conv, nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d((1, 1)))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x)).flatten(1)


class SqueezeNet1_0_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/squeezenet1_0-b66bff10.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta=classification_meta(
            recipe="https://github.com/pytorch/vision/pull/49#issuecomment-277560717",
            min_size=(21, 21),
            num_params=1248424,
            _metrics={"ImageNet-1K": {"acc@1": 58.092, "acc@5": 80.42}},
            _ops=0.819,
            _file_size=4.778,
        ),
    )
    DEFAULT = IMAGENET1K_V1


class SqueezeNet1_1_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta=classification_meta(
            recipe="https://github.com/pytorch/vision/pull/49#issuecomment-277560717",
            min_size=(17, 17),
            num_params=1235496,
            _metrics={"ImageNet-1K": {"acc@1": 58.178, "acc@5": 80.624}},
            _ops=0.349,
            _file_size=4.729,
        ),
    )
    DEFAULT = IMAGENET1K_V1


@with_weights(SqueezeNet1_0_Weights)
def squeezenet1_0(*, weights: SqueezeNet1_0_Weights | str | None = None, progress: bool = True,
                  **kwargs) -> SqueezeNet:
    return load_weights("squeezenet1_0", partial(SqueezeNet, "1_0"), weights, kwargs, SqueezeNet1_0_Weights,
                        progress)


@with_weights(SqueezeNet1_1_Weights)
def squeezenet1_1(*, weights: SqueezeNet1_1_Weights | str | None = None, progress: bool = True,
                  **kwargs) -> SqueezeNet:
    """SqueezeNet 1.1: 2.4x less computation than 1.0 at the same accuracy."""
    return load_weights("squeezenet1_1", partial(SqueezeNet, "1_1"), weights, kwargs, SqueezeNet1_1_Weights,
                        progress)
