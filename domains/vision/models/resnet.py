"""ResNets: ImageNet ``resnet18/34/50``, ``resnext50_32x4d`` and ``wide_resnet50_2`` (torchvision's layout
and ``state_dict`` names, so its weights load: ``resnet18(weights="DEFAULT")``) and the CIFAR
``resnet20/32/56`` of He et al. (2016), section 4.2 (3 stages of 16/32/64 channels, projection shortcuts),
with the same block classes and names.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from ember import nn

from ._api import Weights, WeightsEnum, classification_meta, load_weights, with_weights
from ._presets import ImageClassification

__all__ = [
    "BasicBlock",
    "Bottleneck",
    "CifarResNet",
    "ResNeXt50_32X4D_Weights",
    "ResNet",
    "ResNet18_Weights",
    "ResNet34_Weights",
    "ResNet50_Weights",
    "Wide_ResNet50_2_Weights",
    "resnet18",
    "resnet20",
    "resnet32",
    "resnet34",
    "resnet50",
    "resnet56",
    "resnext50_32x4d",
    "wide_resnet50_2",
]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation, groups=groups,
                     bias=False, dilation=dilation)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1, norm_layer: Callable | None = None):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """The v1.5 bottleneck (stride on the 3x3 convolution), as torchvision."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1, norm_layer: Callable | None = None):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class _ResNetBase(nn.Module):
    groups = 1
    base_width = 64

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       self._norm_layer(planes * block.expansion))
        options = {"groups": self.groups, "base_width": self.base_width, "norm_layer": self._norm_layer}
        layers = [block(self.inplanes, planes, stride, downsample, **options)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, **options) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def _init_weights(self, zero_init_residual: bool) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)


class ResNet(_ResNetBase):
    """The ImageNet ResNet (He et al., 2016) with torchvision's module names.

    Example:
        >>> import ember
        >>> from ember.vision.models import resnet18
        >>> resnet18(num_classes=10)(ember.randn(1, 3, 64, 64)).shape
        ember.Size([1, 10])
    """

    def __init__(self, block, layers: list[int], num_classes: int = 1000, zero_init_residual: bool = False,
                 groups: int = 1, width_per_group: int = 64, norm_layer: Callable | None = None,
                 in_channels: int = 3):
        super().__init__()
        self._norm_layer = norm_layer or nn.BatchNorm2d
        self.groups = groups
        self.base_width = width_per_group
        self.inplanes = 64
        self.conv1 = nn.Conv2d(in_channels, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = self._norm_layer(self.inplanes)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        self._init_weights(zero_init_residual)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


class CifarResNet(_ResNetBase):
    """The CIFAR ResNet (6n + 2 layers) for 32x32 inputs: 3x3 stem, stages of 16/32/64 channels.

    Example:
        >>> import ember
        >>> from ember.vision.models import resnet20
        >>> resnet20(num_classes=10)(ember.randn(2, 3, 32, 32)).shape
        ember.Size([2, 10])
    """

    def __init__(self, block, layers: list[int], num_classes: int = 10, zero_init_residual: bool = False,
                 norm_layer: Callable | None = None, in_channels: int = 3):
        super().__init__()
        self._norm_layer = norm_layer or nn.BatchNorm2d
        self.inplanes = 16
        self.conv1 = conv3x3(in_channels, 16)
        self.bn1 = self._norm_layer(16)
        self.relu = nn.ReLU()
        self.layer1 = self._make_layer(block, 16, layers[0])
        self.layer2 = self._make_layer(block, 32, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 64, layers[2], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64 * block.expansion, num_classes)
        self._init_weights(zero_init_residual)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.avgpool(x).flatten(1))


class ResNet18_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/resnet18-f37072fd.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta=classification_meta(
            min_size=(1, 1),
            num_params=11689512,
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#resnet",
            _metrics={"ImageNet-1K": {"acc@1": 69.758, "acc@5": 89.078}},
            _ops=1.814,
            _file_size=44.661,
        ),
    )
    DEFAULT = IMAGENET1K_V1


class ResNet34_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/resnet34-b627a593.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta=classification_meta(
            min_size=(1, 1),
            num_params=21797672,
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#resnet",
            _metrics={"ImageNet-1K": {"acc@1": 73.314, "acc@5": 91.42}},
            _ops=3.664,
            _file_size=83.275,
        ),
    )
    DEFAULT = IMAGENET1K_V1


class ResNet50_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/resnet50-0676ba61.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta=classification_meta(
            min_size=(1, 1),
            num_params=25557032,
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#resnet",
            _metrics={"ImageNet-1K": {"acc@1": 76.13, "acc@5": 92.862}},
            _ops=4.089,
            _file_size=97.781,
        ),
    )
    IMAGENET1K_V2 = Weights(
        url="https://download.pytorch.org/models/resnet50-11ad3fa6.pth",
        transforms=partial(ImageClassification, crop_size=224, resize_size=232),
        meta=classification_meta(
            min_size=(1, 1),
            num_params=25557032,
            recipe="https://github.com/pytorch/vision/issues/3995#issuecomment-1013906621",
            _metrics={"ImageNet-1K": {"acc@1": 80.858, "acc@5": 95.434}},
            _ops=4.089,
            _file_size=97.79,
        ),
    )
    DEFAULT = IMAGENET1K_V2


class ResNeXt50_32X4D_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/resnext50_32x4d-7cdf4587.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta=classification_meta(
            min_size=(1, 1),
            num_params=25028904,
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#resnext",
            _metrics={"ImageNet-1K": {"acc@1": 77.618, "acc@5": 93.698}},
            _ops=4.23,
            _file_size=95.789,
        ),
    )
    IMAGENET1K_V2 = Weights(
        url="https://download.pytorch.org/models/resnext50_32x4d-1a0047aa.pth",
        transforms=partial(ImageClassification, crop_size=224, resize_size=232),
        meta=classification_meta(
            min_size=(1, 1),
            num_params=25028904,
            recipe="https://github.com/pytorch/vision/issues/3995#new-recipe",
            _metrics={"ImageNet-1K": {"acc@1": 81.198, "acc@5": 95.34}},
            _ops=4.23,
            _file_size=95.833,
        ),
    )
    DEFAULT = IMAGENET1K_V2


class Wide_ResNet50_2_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/wide_resnet50_2-95faca4d.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta=classification_meta(
            min_size=(1, 1),
            num_params=68883240,
            recipe="https://github.com/pytorch/vision/pull/912#issue-445437439",
            _metrics={"ImageNet-1K": {"acc@1": 78.468, "acc@5": 94.086}},
            _ops=11.398,
            _file_size=131.82,
        ),
    )
    IMAGENET1K_V2 = Weights(
        url="https://download.pytorch.org/models/wide_resnet50_2-9ba9bcbe.pth",
        transforms=partial(ImageClassification, crop_size=224, resize_size=232),
        meta=classification_meta(
            min_size=(1, 1),
            num_params=68883240,
            recipe="https://github.com/pytorch/vision/issues/3995#new-recipe-with-fixres",
            _metrics={"ImageNet-1K": {"acc@1": 81.602, "acc@5": 95.758}},
            _ops=11.398,
            _file_size=263.124,
        ),
    )
    DEFAULT = IMAGENET1K_V2


def _resnet(name: str, block, layers: list[int], weights, weights_enum, progress: bool, kwargs) -> ResNet:
    return load_weights(name, partial(ResNet, block, layers), weights, kwargs, weights_enum, progress)


@with_weights(ResNet18_Weights)
def resnet18(*, weights: ResNet18_Weights | str | None = None, progress: bool = True, **kwargs) -> ResNet:
    """ResNet-18; ``weights="DEFAULT"`` downloads torchvision's ImageNet weights (see ``ResNet18_Weights``)."""
    return _resnet("resnet18", BasicBlock, [2, 2, 2, 2], weights, ResNet18_Weights, progress, kwargs)


@with_weights(ResNet34_Weights)
def resnet34(*, weights: ResNet34_Weights | str | None = None, progress: bool = True, **kwargs) -> ResNet:
    return _resnet("resnet34", BasicBlock, [3, 4, 6, 3], weights, ResNet34_Weights, progress, kwargs)


@with_weights(ResNet50_Weights)
def resnet50(*, weights: ResNet50_Weights | str | None = None, progress: bool = True, **kwargs) -> ResNet:
    return _resnet("resnet50", Bottleneck, [3, 4, 6, 3], weights, ResNet50_Weights, progress, kwargs)


@with_weights(ResNeXt50_32X4D_Weights)
def resnext50_32x4d(*, weights: ResNeXt50_32X4D_Weights | str | None = None, progress: bool = True,
                    **kwargs) -> ResNet:
    """ResNeXt-50 (Xie et al., 2017): 32 groups of width 4 in each bottleneck's 3x3 convolution."""
    kwargs.setdefault("groups", 32)
    kwargs.setdefault("width_per_group", 4)
    return _resnet("resnext50_32x4d", Bottleneck, [3, 4, 6, 3], weights, ResNeXt50_32X4D_Weights, progress,
                   kwargs)


@with_weights(Wide_ResNet50_2_Weights)
def wide_resnet50_2(*, weights: Wide_ResNet50_2_Weights | str | None = None, progress: bool = True,
                    **kwargs) -> ResNet:
    """Wide ResNet-50-2 (Zagoruyko & Komodakis, 2016): bottlenecks twice as wide inside."""
    kwargs.setdefault("width_per_group", 128)
    return _resnet("wide_resnet50_2", Bottleneck, [3, 4, 6, 3], weights, Wide_ResNet50_2_Weights, progress,
                   kwargs)


def resnet20(*, weights=None, **kwargs) -> CifarResNet:
    return load_weights("resnet20", partial(CifarResNet, BasicBlock, [3, 3, 3]), weights, kwargs)


def resnet32(*, weights=None, **kwargs) -> CifarResNet:
    return load_weights("resnet32", partial(CifarResNet, BasicBlock, [5, 5, 5]), weights, kwargs)


def resnet56(*, weights=None, **kwargs) -> CifarResNet:
    return load_weights("resnet56", partial(CifarResNet, BasicBlock, [9, 9, 9]), weights, kwargs)
