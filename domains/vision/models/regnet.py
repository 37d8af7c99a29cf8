"""RegNetY-400MF (Radosavovic et al., 2020) with torchvision's layout, ``state_dict`` names and weights."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from functools import partial

import numpy as np
from ember import Tensor, nn
from ember.vision.ops import Conv2dNormActivation, SqueezeExcitation

from ._api import Weights, WeightsEnum, classification_meta, load_weights, with_weights
from ._presets import ImageClassification
from ._utils import make_divisible

__all__ = ["BlockParams", "RegNet", "RegNet_Y_400MF_Weights", "regnet_y_400mf"]


class SimpleStemIN(Conv2dNormActivation):
    """The stem: a stride-2 3x3 convolution, norm, activation."""

    def __init__(self, width_in: int, width_out: int, norm_layer: Callable, activation_layer: Callable):
        super().__init__(width_in, width_out, kernel_size=3, stride=2, norm_layer=norm_layer,
                         activation_layer=activation_layer)


class BottleneckTransform(nn.Sequential):
    """``a`` 1x1, ``b`` grouped 3x3 (stride), optional ``se``, ``c`` 1x1 without activation."""

    def __init__(self, width_in: int, width_out: int, stride: int, norm_layer: Callable, activation_layer: Callable,
                 group_width: int, bottleneck_multiplier: float, se_ratio: float | None):
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        w_b = round(width_out * bottleneck_multiplier)
        layers["a"] = Conv2dNormActivation(width_in, w_b, kernel_size=1, stride=1, norm_layer=norm_layer,
                                           activation_layer=activation_layer)
        layers["b"] = Conv2dNormActivation(w_b, w_b, kernel_size=3, stride=stride, groups=w_b // group_width,
                                           norm_layer=norm_layer, activation_layer=activation_layer)
        if se_ratio:
            layers["se"] = SqueezeExcitation(input_channels=w_b, squeeze_channels=round(se_ratio * width_in),
                                             activation=activation_layer)
        layers["c"] = Conv2dNormActivation(w_b, width_out, kernel_size=1, stride=1, norm_layer=norm_layer,
                                           activation_layer=None)
        super().__init__(layers)


class ResBottleneckBlock(nn.Module):
    """``x + f(x)`` (a 1x1 projection ``proj`` of ``x`` when width or resolution change), then activation."""

    def __init__(self, width_in: int, width_out: int, stride: int, norm_layer: Callable, activation_layer: Callable,
                 group_width: int = 1, bottleneck_multiplier: float = 1.0, se_ratio: float | None = None):
        super().__init__()
        self.proj = None
        if width_in != width_out or stride != 1:
            self.proj = Conv2dNormActivation(width_in, width_out, kernel_size=1, stride=stride,
                                             norm_layer=norm_layer, activation_layer=None)
        self.f = BottleneckTransform(width_in, width_out, stride, norm_layer, activation_layer, group_width,
                                     bottleneck_multiplier, se_ratio)
        self.activation = activation_layer(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.proj is None else self.proj(x)
        return self.activation(shortcut + self.f(x))


class AnyStage(nn.Sequential):
    def __init__(self, width_in: int, width_out: int, stride: int, depth: int, block_constructor: Callable,
                 norm_layer: Callable, activation_layer: Callable, group_width: int, bottleneck_multiplier: float,
                 se_ratio: float | None = None, stage_index: int = 0):
        super().__init__()
        for i in range(depth):
            block = block_constructor(width_in if i == 0 else width_out, width_out, stride if i == 0 else 1,
                                      norm_layer, activation_layer, group_width, bottleneck_multiplier, se_ratio)
            self.add_module(f"block{stage_index}-{i}", block)


class BlockParams:
    """Per-stage depths, widths, group widths, bottleneck multipliers and strides of a RegNet."""

    def __init__(self, depths: list[int], widths: list[int], group_widths: list[int],
                 bottleneck_multipliers: list[float], strides: list[int], se_ratio: float | None = None):
        self.depths = depths
        self.widths = widths
        self.group_widths = group_widths
        self.bottleneck_multipliers = bottleneck_multipliers
        self.strides = strides
        self.se_ratio = se_ratio

    @classmethod
    def from_init_params(cls, depth: int, w_0: int, w_a: float, w_m: float, group_width: int,
                         bottleneck_multiplier: float = 1.0, se_ratio: float | None = None) -> BlockParams:
        """The quantised linear parameterisation of the paper: block ``j`` has width ``w_0 + w_a * j``
        snapped to ``w_0 * w_m**k`` (then to a multiple of 8); blocks of equal width form a stage.

        Computed in float32, as torchvision does, so the widths (and so the weights' shapes) agree.
        """
        if w_a < 0 or w_0 <= 0 or w_m <= 1 or w_0 % 8 != 0:
            raise ValueError("Invalid RegNet settings")
        widths_cont = np.arange(depth, dtype=np.float32) * np.float32(w_a) + np.float32(w_0)
        block_capacity = np.round(np.log(widths_cont / np.float32(w_0)) / np.float32(math.log(w_m)))
        block_widths = (np.round(np.float32(w_0) * np.power(np.float32(w_m), block_capacity) / 8) * 8)
        block_widths = block_widths.astype(np.int32).tolist()
        splits = [w != wp for w, wp in zip(block_widths + [0], [0] + block_widths)]
        stage_widths = [w for w, t in zip(block_widths, splits[:-1]) if t]
        stage_depths = np.diff([d for d, t in enumerate(splits) if t]).astype(int).tolist()
        num_stages = len(set(block_widths))
        bottleneck_multipliers = [bottleneck_multiplier] * num_stages
        stage_widths, group_widths = cls._adjust_widths_groups_compatibilty(stage_widths, bottleneck_multipliers,
                                                                            [group_width] * num_stages)
        return cls(stage_depths, stage_widths, group_widths, bottleneck_multipliers, [2] * num_stages, se_ratio)

    def _get_expanded_params(self):
        return zip(self.widths, self.strides, self.depths, self.group_widths, self.bottleneck_multipliers)

    @staticmethod
    def _adjust_widths_groups_compatibilty(stage_widths: list[int], bottleneck_ratios: list[float],
                                           group_widths: list[int]) -> tuple[list[int], list[int]]:
        """Bottleneck widths divisible by their group width (torchvision's spelling of the name)."""
        widths = [int(w * b) for w, b in zip(stage_widths, bottleneck_ratios)]
        group_widths_min = [min(g, w_bot) for g, w_bot in zip(group_widths, widths)]
        ws_bot = [make_divisible(w_bot, g) for w_bot, g in zip(widths, group_widths_min)]
        return [int(w_bot / b) for w_bot, b in zip(ws_bot, bottleneck_ratios)], group_widths_min


class RegNet(nn.Module):
    """``stem``, ``trunk_output`` (one ``AnyStage`` per stage), pooling, ``fc``.

    Example:
        >>> import ember
        >>> params = BlockParams([1, 1], [16, 32], [8, 8], [1.0, 1.0], [2, 2], se_ratio=0.25)
        >>> RegNet(params, num_classes=10, stem_width=16)(ember.randn(2, 3, 32, 32)).shape
        ember.Size([2, 10])
    """

    def __init__(self, block_params: BlockParams, num_classes: int = 1000, stem_width: int = 32,
                 stem_type: Callable | None = None, block_type: Callable | None = None,
                 norm_layer: Callable | None = None, activation: Callable | None = None):
        super().__init__()
        stem_type = stem_type or SimpleStemIN
        norm_layer = norm_layer or nn.BatchNorm2d
        block_type = block_type or ResBottleneckBlock
        activation = activation or nn.ReLU
        self.stem = stem_type(3, stem_width, norm_layer, activation)
        current_width = stem_width
        blocks = []
        for i, (width_out, stride, depth, group_width, multiplier) in enumerate(block_params._get_expanded_params()):
            blocks.append((f"block{i + 1}", AnyStage(current_width, width_out, stride, depth, block_type, norm_layer,
                                                     activation, group_width, multiplier, block_params.se_ratio,
                                                     stage_index=i + 1)))
            current_width = width_out
        self.trunk_output = nn.Sequential(OrderedDict(blocks))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(in_features=current_width, out_features=num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                nn.init.normal_(m.weight, mean=0.0, std=math.sqrt(2.0 / fan_out))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.avgpool(self.trunk_output(self.stem(x)))
        return self.fc(x.flatten(1))


class RegNet_Y_400MF_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/regnet_y_400mf-c65dace8.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta=classification_meta(
            min_size=(1, 1),
            num_params=4344144,
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#small-models",
            _metrics={"ImageNet-1K": {"acc@1": 74.046, "acc@5": 91.716}},
            _ops=0.402,
            _file_size=16.806,
        ),
    )
    IMAGENET1K_V2 = Weights(
        url="https://download.pytorch.org/models/regnet_y_400mf-e6988f5f.pth",
        transforms=partial(ImageClassification, crop_size=224, resize_size=232),
        meta=classification_meta(
            min_size=(1, 1),
            num_params=4344144,
            recipe="https://github.com/pytorch/vision/issues/3995#new-recipe",
            _metrics={"ImageNet-1K": {"acc@1": 75.804, "acc@5": 92.742}},
            _ops=0.402,
            _file_size=16.806,
        ),
    )
    DEFAULT = IMAGENET1K_V2


@with_weights(RegNet_Y_400MF_Weights)
def regnet_y_400mf(*, weights: RegNet_Y_400MF_Weights | str | None = None, progress: bool = True,
                   **kwargs) -> RegNet:
    """RegNetY-400MF: depth 16, w_0 48, w_a 27.89, w_m 2.09, group width 8, squeeze-excitation 0.25."""
    params = BlockParams.from_init_params(depth=16, w_0=48, w_a=27.89, w_m=2.09, group_width=8, se_ratio=0.25)
    return load_weights("regnet_y_400mf", partial(RegNet, params), weights, kwargs, RegNet_Y_400MF_Weights,
                        progress)
