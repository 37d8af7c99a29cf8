"""MobileNetV2 (Sandler et al., 2018) with torchvision's layout, ``state_dict`` names and weights."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from ember import Tensor, nn
from ember.vision.ops import Conv2dNormActivation

from ._api import Weights, WeightsEnum, classification_meta, load_weights, with_weights
from ._presets import ImageClassification
from ._utils import init_conv_bn_linear, make_divisible

__all__ = ["MobileNetV2", "MobileNet_V2_Weights", "mobilenet_v2"]


class InvertedResidual(nn.Module):
    """1x1 expansion, 3x3 depthwise convolution, linear 1x1 projection; a residual when shapes allow."""

    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int, norm_layer: Callable | None = None):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride should be 1 or 2 instead of {stride}")
        norm_layer = norm_layer or nn.BatchNorm2d
        hidden_dim = round(inp * expand_ratio)
        self.stride = stride
        self.use_res_connect = stride == 1 and inp == oup
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(Conv2dNormActivation(inp, hidden_dim, kernel_size=1, norm_layer=norm_layer,
                                               activation_layer=nn.ReLU6))
        layers += [
            Conv2dNormActivation(hidden_dim, hidden_dim, stride=stride, groups=hidden_dim, norm_layer=norm_layer,
                                 activation_layer=nn.ReLU6),
            nn.Conv2d(hidden_dim, oup, 1, 1, 0, bias=False),
            norm_layer(oup),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """``features`` (a stem and 17 inverted residual blocks), average pooling, ``classifier``.

    Example:
        >>> import ember
        >>> MobileNetV2(num_classes=10, width_mult=0.25)(ember.randn(2, 3, 32, 32)).shape
        ember.Size([2, 10])
    """

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0,
                 inverted_residual_setting: list[list[int]] | None = None, round_nearest: int = 8,
                 block: Callable | None = None, norm_layer: Callable | None = None, dropout: float = 0.2):
        super().__init__()
        block = block or InvertedResidual
        norm_layer = norm_layer or nn.BatchNorm2d
        if inverted_residual_setting is None:  # expansion t, channels c, repeats n, stride s
            inverted_residual_setting = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1],
                                         [6, 160, 3, 2], [6, 320, 1, 1]]
        if len(inverted_residual_setting) == 0 or len(inverted_residual_setting[0]) != 4:
            raise ValueError("inverted_residual_setting should be non-empty or a 4-element list, got "
                             f"{inverted_residual_setting}")
        input_channel = make_divisible(32 * width_mult, round_nearest)
        self.last_channel = make_divisible(1280 * max(1.0, width_mult), round_nearest)
        features: list[nn.Module] = [Conv2dNormActivation(3, input_channel, stride=2, norm_layer=norm_layer,
                                                          activation_layer=nn.ReLU6)]
        for t, c, n, s in inverted_residual_setting:
            output_channel = make_divisible(c * width_mult, round_nearest)
            for i in range(n):
                features.append(block(input_channel, output_channel, s if i == 0 else 1, expand_ratio=t,
                                      norm_layer=norm_layer))
                input_channel = output_channel
        features.append(Conv2dNormActivation(input_channel, self.last_channel, kernel_size=1, norm_layer=norm_layer,
                                             activation_layer=nn.ReLU6))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout), nn.Linear(self.last_channel, num_classes))
        init_conv_bn_linear(self)

    def forward(self, x: Tensor) -> Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(x.flatten(1))


class MobileNet_V2_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/mobilenet_v2-b0353104.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta=classification_meta(
            num_params=3504872,
            min_size=(1, 1),
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#mobilenetv2",
            _metrics={"ImageNet-1K": {"acc@1": 71.878, "acc@5": 90.286}},
            _ops=0.301,
            _file_size=13.555,
        ),
    )
    IMAGENET1K_V2 = Weights(
        url="https://download.pytorch.org/models/mobilenet_v2-7ebf99e0.pth",
        transforms=partial(ImageClassification, crop_size=224, resize_size=232),
        meta=classification_meta(
            num_params=3504872,
            min_size=(1, 1),
            recipe="https://github.com/pytorch/vision/issues/3995#new-recipe-with-reg-tuning",
            _metrics={"ImageNet-1K": {"acc@1": 72.154, "acc@5": 90.822}},
            _ops=0.301,
            _file_size=13.598,
        ),
    )
    DEFAULT = IMAGENET1K_V2


@with_weights(MobileNet_V2_Weights)
def mobilenet_v2(*, weights: MobileNet_V2_Weights | str | None = None, progress: bool = True,
                 **kwargs) -> MobileNetV2:
    return load_weights("mobilenet_v2", MobileNetV2, weights, kwargs, MobileNet_V2_Weights, progress)
