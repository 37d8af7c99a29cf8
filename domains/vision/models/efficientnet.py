"""EfficientNet B0-B3 (Tan & Le, 2019) with torchvision's layout, ``state_dict`` names and weights."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from functools import partial

from ember import Tensor, nn
from ember.vision.ops import Conv2dNormActivation, SqueezeExcitation, StochasticDepth

from ._api import Weights, WeightsEnum, classification_meta, load_weights, with_weights
from ._presets import ImageClassification
from ._utils import make_divisible

__all__ = [
    "EfficientNet", "EfficientNet_B0_Weights", "EfficientNet_B1_Weights", "EfficientNet_B2_Weights",
    "EfficientNet_B3_Weights", "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3",
]


class MBConvConfig:
    """One stage: expansion ratio, kernel, stride, widths (scaled by ``width_mult``) and depth (``depth_mult``)."""

    def __init__(self, expand_ratio: float, kernel: int, stride: int, input_channels: int, out_channels: int,
                 num_layers: int, width_mult: float = 1.0, depth_mult: float = 1.0, block: Callable | None = None):
        self.expand_ratio = expand_ratio
        self.kernel = kernel
        self.stride = stride
        self.input_channels = self.adjust_channels(input_channels, width_mult)
        self.out_channels = self.adjust_channels(out_channels, width_mult)
        self.num_layers = math.ceil(num_layers * depth_mult)
        self.block = block or MBConv

    @staticmethod
    def adjust_channels(channels: int, width_mult: float, min_value: int | None = None) -> int:
        return make_divisible(channels * width_mult, 8, min_value)


class MBConv(nn.Module):
    """Mobile inverted bottleneck with SiLU and squeeze-excitation; the residual branch has stochastic depth."""

    def __init__(self, cnf: MBConvConfig, stochastic_depth_prob: float, norm_layer: Callable,
                 se_layer: Callable = SqueezeExcitation):
        super().__init__()
        if not 1 <= cnf.stride <= 2:
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        expanded = cnf.adjust_channels(cnf.input_channels, cnf.expand_ratio)
        layers: list[nn.Module] = []
        if expanded != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, expanded, kernel_size=1, norm_layer=norm_layer,
                                               activation_layer=nn.SiLU))
        layers.append(Conv2dNormActivation(expanded, expanded, kernel_size=cnf.kernel, stride=cnf.stride,
                                           groups=expanded, norm_layer=norm_layer, activation_layer=nn.SiLU))
        layers.append(se_layer(expanded, max(1, cnf.input_channels // 4), activation=partial(nn.SiLU, inplace=True)))
        layers.append(Conv2dNormActivation(expanded, cnf.out_channels, kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.out_channels = cnf.out_channels

    def forward(self, input: Tensor) -> Tensor:
        result = self.block(input)
        return self.stochastic_depth(result) + input if self.use_res_connect else result


class EfficientNet(nn.Module):
    """``features`` (stem, one ``Sequential`` per stage, 1x1 head conv), pooling, ``classifier``.

    The stochastic-depth probability grows linearly with the block index, up to ``stochastic_depth_prob``.

    Example:
        >>> import ember
        >>> setting = [MBConvConfig(1, 3, 1, 16, 16, 1), MBConvConfig(6, 3, 2, 16, 24, 1)]
        >>> EfficientNet(setting, dropout=0.2, num_classes=10)(ember.randn(2, 3, 32, 32)).shape
        ember.Size([2, 10])
    """

    def __init__(self, inverted_residual_setting: Sequence[MBConvConfig], dropout: float,
                 stochastic_depth_prob: float = 0.2, num_classes: int = 1000, norm_layer: Callable | None = None,
                 last_channel: int | None = None):
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        if not all(isinstance(s, MBConvConfig) for s in inverted_residual_setting):
            raise TypeError("The inverted_residual_setting should be List[MBConvConfig]")
        norm_layer = norm_layer or nn.BatchNorm2d
        layers: list[nn.Module] = [Conv2dNormActivation(3, inverted_residual_setting[0].input_channels,
                                                        kernel_size=3, stride=2, norm_layer=norm_layer,
                                                        activation_layer=nn.SiLU)]
        total_blocks = sum(cnf.num_layers for cnf in inverted_residual_setting)
        block_id = 0
        for cnf in inverted_residual_setting:
            stage: list[nn.Module] = []
            for _ in range(cnf.num_layers):
                block_cnf = copy.copy(cnf)
                if stage:  # only a stage's first block changes width and resolution
                    block_cnf.input_channels = block_cnf.out_channels
                    block_cnf.stride = 1
                stage.append(block_cnf.block(block_cnf, stochastic_depth_prob * block_id / total_blocks, norm_layer))
                block_id += 1
            layers.append(nn.Sequential(*stage))
        lastconv_input = inverted_residual_setting[-1].out_channels
        lastconv_output = last_channel if last_channel is not None else 4 * lastconv_input
        layers.append(Conv2dNormActivation(lastconv_input, lastconv_output, kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(lastconv_output, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                init_range = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -init_range, init_range)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def _efficientnet_conf(width_mult: float, depth_mult: float) -> list[MBConvConfig]:
    """EfficientNet-B0's seven stages (Table 1 of the paper), scaled in width and depth."""
    conf = partial(MBConvConfig, width_mult=width_mult, depth_mult=depth_mult)
    return [conf(1, 3, 1, 32, 16, 1), conf(6, 3, 2, 16, 24, 2), conf(6, 5, 2, 24, 40, 2), conf(6, 3, 2, 40, 80, 3),
            conf(6, 5, 1, 80, 112, 3), conf(6, 5, 2, 112, 192, 4), conf(6, 3, 1, 192, 320, 1)]


def _efficientnet(name: str, width_mult: float, depth_mult: float, dropout: float, weights, weights_enum,
                  progress: bool, kwargs) -> EfficientNet:
    setting = _efficientnet_conf(width_mult, depth_mult)
    kwargs.setdefault("dropout", dropout)
    return load_weights(name, partial(EfficientNet, setting), weights, kwargs, weights_enum, progress)


class EfficientNet_B0_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/efficientnet_b0_rwightman-7f5810bc.pth",
        transforms=partial(ImageClassification, crop_size=224, resize_size=256, interpolation="bicubic"),
        meta=classification_meta(
            min_size=(1, 1),
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v1",
            num_params=5288548,
            _metrics={"ImageNet-1K": {"acc@1": 77.692, "acc@5": 93.532}},
            _ops=0.386,
            _file_size=20.451,
        ),
    )
    DEFAULT = IMAGENET1K_V1


class EfficientNet_B1_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/efficientnet_b1_rwightman-bac287d4.pth",
        transforms=partial(ImageClassification, crop_size=240, resize_size=256, interpolation="bicubic"),
        meta=classification_meta(
            min_size=(1, 1),
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v1",
            num_params=7794184,
            _metrics={"ImageNet-1K": {"acc@1": 78.642, "acc@5": 94.186}},
            _ops=0.687,
            _file_size=30.134,
        ),
    )
    IMAGENET1K_V2 = Weights(
        url="https://download.pytorch.org/models/efficientnet_b1-c27df63c.pth",
        transforms=partial(ImageClassification, crop_size=240, resize_size=255, interpolation="bilinear"),
        meta=classification_meta(
            min_size=(1, 1),
            recipe="https://github.com/pytorch/vision/issues/3995#new-recipe-with-lr-wd-crop-tuning",
            num_params=7794184,
            _metrics={"ImageNet-1K": {"acc@1": 79.838, "acc@5": 94.934}},
            _ops=0.687,
            _file_size=30.136,
        ),
    )
    DEFAULT = IMAGENET1K_V2


class EfficientNet_B2_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/efficientnet_b2_rwightman-c35c1473.pth",
        transforms=partial(ImageClassification, crop_size=288, resize_size=288, interpolation="bicubic"),
        meta=classification_meta(
            min_size=(1, 1),
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v1",
            num_params=9109994,
            _metrics={"ImageNet-1K": {"acc@1": 80.608, "acc@5": 95.31}},
            _ops=1.088,
            _file_size=35.174,
        ),
    )
    DEFAULT = IMAGENET1K_V1


class EfficientNet_B3_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/efficientnet_b3_rwightman-b3899882.pth",
        transforms=partial(ImageClassification, crop_size=300, resize_size=320, interpolation="bicubic"),
        meta=classification_meta(
            min_size=(1, 1),
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#efficientnet-v1",
            num_params=12233232,
            _metrics={"ImageNet-1K": {"acc@1": 82.008, "acc@5": 96.054}},
            _ops=1.827,
            _file_size=47.184,
        ),
    )
    DEFAULT = IMAGENET1K_V1


@with_weights(EfficientNet_B0_Weights)
def efficientnet_b0(*, weights: EfficientNet_B0_Weights | str | None = None, progress: bool = True,
                    **kwargs) -> EfficientNet:
    return _efficientnet("efficientnet_b0", 1.0, 1.0, 0.2, weights, EfficientNet_B0_Weights, progress, kwargs)


@with_weights(EfficientNet_B1_Weights)
def efficientnet_b1(*, weights: EfficientNet_B1_Weights | str | None = None, progress: bool = True,
                    **kwargs) -> EfficientNet:
    return _efficientnet("efficientnet_b1", 1.0, 1.1, 0.2, weights, EfficientNet_B1_Weights, progress, kwargs)


@with_weights(EfficientNet_B2_Weights)
def efficientnet_b2(*, weights: EfficientNet_B2_Weights | str | None = None, progress: bool = True,
                    **kwargs) -> EfficientNet:
    return _efficientnet("efficientnet_b2", 1.1, 1.2, 0.3, weights, EfficientNet_B2_Weights, progress, kwargs)


@with_weights(EfficientNet_B3_Weights)
def efficientnet_b3(*, weights: EfficientNet_B3_Weights | str | None = None, progress: bool = True,
                    **kwargs) -> EfficientNet:
    return _efficientnet("efficientnet_b3", 1.2, 1.4, 0.3, weights, EfficientNet_B3_Weights, progress, kwargs)
