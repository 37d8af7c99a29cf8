"""ResNets: ImageNet ``resnet18/34/50`` (torchvision's layout and ``state_dict`` names, so its weights
load) and the CIFAR ``resnet20/32/56`` of He et al. (2016), section 4.2 (3 stages of 16/32/64 channels,
projection shortcuts), with the same block classes and names.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import ember
from ember import nn

__all__ = [
    "BasicBlock",
    "Bottleneck",
    "CifarResNet",
    "ResNet",
    "resnet18",
    "resnet20",
    "resnet32",
    "resnet34",
    "resnet50",
    "resnet56",
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
    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       self._norm_layer(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, norm_layer=self._norm_layer)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, norm_layer=self._norm_layer) for _ in range(1, blocks)]
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
                 norm_layer: Callable | None = None, in_channels: int = 3):
        super().__init__()
        self._norm_layer = norm_layer or nn.BatchNorm2d
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


def _load(model: nn.Module, weights) -> nn.Module:
    """``weights``: a safetensors / ember checkpoint path, or a state dict (no download)."""
    if weights is None:
        return model
    if isinstance(weights, dict):
        state = weights
    elif str(weights).endswith(".safetensors"):
        state = ember.load_safetensors(str(weights))
    else:
        if not os.path.isfile(str(weights)):
            raise FileNotFoundError(f"weights={weights!r}: pass a .safetensors file or a state dict (Ember does not "
                                    "download weights)")
        state = ember.load(str(weights))
    model.load_state_dict(state)
    return model


def resnet18(*, weights=None, **kwargs) -> ResNet:
    return _load(ResNet(BasicBlock, [2, 2, 2, 2], **kwargs), weights)


def resnet34(*, weights=None, **kwargs) -> ResNet:
    return _load(ResNet(BasicBlock, [3, 4, 6, 3], **kwargs), weights)


def resnet50(*, weights=None, **kwargs) -> ResNet:
    return _load(ResNet(Bottleneck, [3, 4, 6, 3], **kwargs), weights)


def resnet20(*, weights=None, **kwargs) -> CifarResNet:
    return _load(CifarResNet(BasicBlock, [3, 3, 3], **kwargs), weights)


def resnet32(*, weights=None, **kwargs) -> CifarResNet:
    return _load(CifarResNet(BasicBlock, [5, 5, 5], **kwargs), weights)


def resnet56(*, weights=None, **kwargs) -> CifarResNet:
    return _load(CifarResNet(BasicBlock, [9, 9, 9], **kwargs), weights)
