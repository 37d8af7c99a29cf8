"""MobileNetV3 (Howard et al., 2019) with torchvision's layout, ``state_dict`` names and weights."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from ember import Tensor, nn
from ember.vision.ops import Conv2dNormActivation, SqueezeExcitation

from ._api import Weights, WeightsEnum, classification_meta, load_weights, with_weights
from ._presets import ImageClassification
from ._utils import init_conv_bn_linear, make_divisible

__all__ = [
    "MobileNetV3", "MobileNet_V3_Large_Weights", "MobileNet_V3_Small_Weights", "mobilenet_v3_large",
    "mobilenet_v3_small",
]


class InvertedResidualConfig:
    """One block: kernel size, expanded and output widths (scaled by ``width_mult``), SE, hard-swish or ReLU."""

    def __init__(self, input_channels: int, kernel: int, expanded_channels: int, out_channels: int, use_se: bool,
                 activation: str, stride: int, dilation: int, width_mult: float):
        self.input_channels = self.adjust_channels(input_channels, width_mult)
        self.kernel = kernel
        self.expanded_channels = self.adjust_channels(expanded_channels, width_mult)
        self.out_channels = self.adjust_channels(out_channels, width_mult)
        self.use_se = use_se
        self.use_hs = activation == "HS"
        self.stride = stride
        self.dilation = dilation

    @staticmethod
    def adjust_channels(channels: int, width_mult: float) -> int:
        return make_divisible(channels * width_mult, 8)


_SE_LAYER = partial(SqueezeExcitation, scale_activation=nn.Hardsigmoid)


class InvertedResidual(nn.Module):
    """Expansion, depthwise convolution, optional squeeze-excitation (hard-sigmoid gate), projection."""

    def __init__(self, cnf: InvertedResidualConfig, norm_layer: Callable, se_layer: Callable = _SE_LAYER):
        super().__init__()
        if not 1 <= cnf.stride <= 2:
            raise ValueError("illegal stride value")
        self.use_res_connect = cnf.stride == 1 and cnf.input_channels == cnf.out_channels
        activation_layer = nn.Hardswish if cnf.use_hs else nn.ReLU
        layers: list[nn.Module] = []
        if cnf.expanded_channels != cnf.input_channels:
            layers.append(Conv2dNormActivation(cnf.input_channels, cnf.expanded_channels, kernel_size=1,
                                               norm_layer=norm_layer, activation_layer=activation_layer))
        layers.append(Conv2dNormActivation(cnf.expanded_channels, cnf.expanded_channels, kernel_size=cnf.kernel,
                                           stride=1 if cnf.dilation > 1 else cnf.stride, dilation=cnf.dilation,
                                           groups=cnf.expanded_channels, norm_layer=norm_layer,
                                           activation_layer=activation_layer))
        if cnf.use_se:
            layers.append(se_layer(cnf.expanded_channels, make_divisible(cnf.expanded_channels // 4, 8)))
        layers.append(Conv2dNormActivation(cnf.expanded_channels, cnf.out_channels, kernel_size=1,
                                           norm_layer=norm_layer, activation_layer=None))
        self.block = nn.Sequential(*layers)
        self.out_channels = cnf.out_channels

    def forward(self, input: Tensor) -> Tensor:
        result = self.block(input)
        return result + input if self.use_res_connect else result


class MobileNetV3(nn.Module):
    """``features`` (hard-swish stem, inverted residual blocks, 1x1 conv), pooling, ``classifier``.

    Example:
        >>> import ember
        >>> settings, last = _mobilenet_v3_conf("mobilenet_v3_small", width_mult=0.25)
        >>> MobileNetV3(settings, last, num_classes=10)(ember.randn(2, 3, 32, 32)).shape
        ember.Size([2, 10])
    """

    def __init__(self, inverted_residual_setting: list[InvertedResidualConfig], last_channel: int,
                 num_classes: int = 1000, block: Callable | None = None, norm_layer: Callable | None = None,
                 dropout: float = 0.2):
        super().__init__()
        if not inverted_residual_setting:
            raise ValueError("The inverted_residual_setting should not be empty")
        if not (isinstance(inverted_residual_setting, Sequence)
                and all(isinstance(s, InvertedResidualConfig) for s in inverted_residual_setting)):
            raise TypeError("The inverted_residual_setting should be List[InvertedResidualConfig]")
        block = block or InvertedResidual
        norm_layer = norm_layer or partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
        first = inverted_residual_setting[0].input_channels
        layers: list[nn.Module] = [Conv2dNormActivation(3, first, kernel_size=3, stride=2, norm_layer=norm_layer,
                                                        activation_layer=nn.Hardswish)]
        layers += [block(cnf, norm_layer) for cnf in inverted_residual_setting]
        lastconv_input = inverted_residual_setting[-1].out_channels
        lastconv_output = 6 * lastconv_input
        layers.append(Conv2dNormActivation(lastconv_input, lastconv_output, kernel_size=1, norm_layer=norm_layer,
                                           activation_layer=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(lastconv_output, last_channel), nn.Hardswish(inplace=True),
                                        nn.Dropout(p=dropout, inplace=True), nn.Linear(last_channel, num_classes))
        init_conv_bn_linear(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def _mobilenet_v3_conf(arch: str, width_mult: float = 1.0, reduced_tail: bool = False, dilated: bool = False):
    """The block table of the paper (Tables 1 and 2) for ``arch``, and the classifier's hidden width."""
    r = 2 if reduced_tail else 1
    d = 2 if dilated else 1
    conf = partial(InvertedResidualConfig, width_mult=width_mult)
    if arch == "mobilenet_v3_large":
        setting = [
            conf(16, 3, 16, 16, False, "RE", 1, 1), conf(16, 3, 64, 24, False, "RE", 2, 1),
            conf(24, 3, 72, 24, False, "RE", 1, 1), conf(24, 5, 72, 40, True, "RE", 2, 1),
            conf(40, 5, 120, 40, True, "RE", 1, 1), conf(40, 5, 120, 40, True, "RE", 1, 1),
            conf(40, 3, 240, 80, False, "HS", 2, 1), conf(80, 3, 200, 80, False, "HS", 1, 1),
            conf(80, 3, 184, 80, False, "HS", 1, 1), conf(80, 3, 184, 80, False, "HS", 1, 1),
            conf(80, 3, 480, 112, True, "HS", 1, 1), conf(112, 3, 672, 112, True, "HS", 1, 1),
            conf(112, 5, 672, 160 // r, True, "HS", 2, d), conf(160 // r, 5, 960 // r, 160 // r, True, "HS", 1, d),
            conf(160 // r, 5, 960 // r, 160 // r, True, "HS", 1, d),
        ]
        last_channel = InvertedResidualConfig.adjust_channels(1280 // r, width_mult)
    elif arch == "mobilenet_v3_small":
        setting = [
            conf(16, 3, 16, 16, True, "RE", 2, 1), conf(16, 3, 72, 24, False, "RE", 2, 1),
            conf(24, 3, 88, 24, False, "RE", 1, 1), conf(24, 5, 96, 40, True, "HS", 2, 1),
            conf(40, 5, 240, 40, True, "HS", 1, 1), conf(40, 5, 240, 40, True, "HS", 1, 1),
            conf(40, 5, 120, 48, True, "HS", 1, 1), conf(48, 5, 144, 48, True, "HS", 1, 1),
            conf(48, 5, 288, 96 // r, True, "HS", 2, d), conf(96 // r, 5, 576 // r, 96 // r, True, "HS", 1, d),
            conf(96 // r, 5, 576 // r, 96 // r, True, "HS", 1, d),
        ]
        last_channel = InvertedResidualConfig.adjust_channels(1024 // r, width_mult)
    else:
        raise ValueError(f"Unsupported model type {arch}")
    return setting, last_channel


def _mobilenet_v3(arch: str, weights, weights_enum, progress: bool, kwargs) -> MobileNetV3:
    conf = {k: kwargs.pop(k) for k in ("width_mult", "reduced_tail", "dilated") if k in kwargs}
    setting, last_channel = _mobilenet_v3_conf(arch, **conf)
    return load_weights(arch, partial(MobileNetV3, setting, last_channel), weights, kwargs, weights_enum, progress)


class MobileNet_V3_Large_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/mobilenet_v3_large-8738ca79.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta=classification_meta(
            min_size=(1, 1),
            num_params=5483032,
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#mobilenetv3-large--small",
            _metrics={"ImageNet-1K": {"acc@1": 74.042, "acc@5": 91.34}},
            _ops=0.217,
            _file_size=21.114,
        ),
    )
    IMAGENET1K_V2 = Weights(
        url="https://download.pytorch.org/models/mobilenet_v3_large-5c1a4163.pth",
        transforms=partial(ImageClassification, crop_size=224, resize_size=232),
        meta=classification_meta(
            min_size=(1, 1),
            num_params=5483032,
            recipe="https://github.com/pytorch/vision/issues/3995#new-recipe-with-reg-tuning",
            _metrics={"ImageNet-1K": {"acc@1": 75.274, "acc@5": 92.566}},
            _ops=0.217,
            _file_size=21.107,
        ),
    )
    DEFAULT = IMAGENET1K_V2


class MobileNet_V3_Small_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/mobilenet_v3_small-047dcff4.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta=classification_meta(
            min_size=(1, 1),
            num_params=2542856,
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#mobilenetv3-large--small",
            _metrics={"ImageNet-1K": {"acc@1": 67.668, "acc@5": 87.402}},
            _ops=0.057,
            _file_size=9.829,
        ),
    )
    DEFAULT = IMAGENET1K_V1


@with_weights(MobileNet_V3_Large_Weights)
def mobilenet_v3_large(*, weights: MobileNet_V3_Large_Weights | str | None = None, progress: bool = True,
                       **kwargs) -> MobileNetV3:
    return _mobilenet_v3("mobilenet_v3_large", weights, MobileNet_V3_Large_Weights, progress, kwargs)


@with_weights(MobileNet_V3_Small_Weights)
def mobilenet_v3_small(*, weights: MobileNet_V3_Small_Weights | str | None = None, progress: bool = True,
                       **kwargs) -> MobileNetV3:
    return _mobilenet_v3("mobilenet_v3_small", weights, MobileNet_V3_Small_Weights, progress, kwargs)
