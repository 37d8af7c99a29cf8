"""Feature Pyramid Network (Lin et al., 2017) with torchvision's module layout and state-dict keys."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from ember import Tensor, nn
from ember.nn import functional as F

from .misc import Conv2dNormActivation

__all__ = ["ExtraFPNBlock", "FeaturePyramidNetwork", "LastLevelMaxPool", "LastLevelP6P7"]


class ExtraFPNBlock(nn.Module):
    """Base of the extra levels added on top of the FPN: ``forward(results, x, names) -> (results, names)``."""

    def forward(self, results: list[Tensor], x: list[Tensor], names: list[str]):
        raise NotImplementedError


class LastLevelMaxPool(ExtraFPNBlock):
    """Adds a ``"pool"`` level: the last FPN map subsampled by 2 (max pool of kernel 1, stride 2)."""

    def forward(self, x: list[Tensor], y: list[Tensor], names: list[str]):
        names.append("pool")
        x.append(F.max_pool2d(x[-1], kernel_size=1, stride=2, padding=0))
        return x, names


class LastLevelP6P7(ExtraFPNBlock):
    """RetinaNet's extra levels P6 and P7 (stride-2 3x3 convolutions)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.p6 = nn.Conv2d(in_channels, out_channels, 3, 2, 1)
        self.p7 = nn.Conv2d(out_channels, out_channels, 3, 2, 1)
        for module in (self.p6, self.p7):
            nn.init.kaiming_uniform_(module.weight, a=1)
            nn.init.constant_(module.bias, 0)
        self.use_P5 = in_channels == out_channels

    def forward(self, p: list[Tensor], c: list[Tensor], names: list[str]):
        p6 = self.p6(p[-1] if self.use_P5 else c[-1])
        p7 = self.p7(F.relu(p6))
        p.extend([p6, p7])
        names.extend(["p6", "p7"])
        return p, names


class FeaturePyramidNetwork(nn.Module):
    """Top-down pathway with lateral 1x1 convolutions over feature maps given in increasing depth.

    Args:
        in_channels_list: channels of each input map.
        out_channels: channels of every output map.
        extra_blocks: an :class:`ExtraFPNBlock` (e.g. :class:`LastLevelMaxPool`) or None.
        norm_layer: norm after each convolution, or None.

    Example:
        >>> import ember
        >>> fpn = FeaturePyramidNetwork([4, 8], 5, extra_blocks=LastLevelMaxPool())
        >>> out = fpn({"c3": ember.rand(1, 4, 8, 8), "c4": ember.rand(1, 8, 4, 4)})
        >>> [(k, tuple(v.shape)) for k, v in out.items()]
        [('c3', (1, 5, 8, 8)), ('c4', (1, 5, 4, 4)), ('pool', (1, 5, 2, 2))]
    """

    def __init__(self, in_channels_list: list[int], out_channels: int, extra_blocks: ExtraFPNBlock | None = None,
                 norm_layer: Callable[..., nn.Module] | None = None):
        super().__init__()
        self.inner_blocks = nn.ModuleList()
        self.layer_blocks = nn.ModuleList()
        for in_channels in in_channels_list:
            if in_channels == 0:
                raise ValueError("FeaturePyramidNetwork: in_channels=0 is not supported")
            self.inner_blocks.append(Conv2dNormActivation(in_channels, out_channels, kernel_size=1, padding=0,
                                                          norm_layer=norm_layer, activation_layer=None))
            self.layer_blocks.append(Conv2dNormActivation(out_channels, out_channels, kernel_size=3,
                                                          norm_layer=norm_layer, activation_layer=None))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_uniform_(m.weight, a=1)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0)
        if extra_blocks is not None and not isinstance(extra_blocks, ExtraFPNBlock):
            raise TypeError(f"FeaturePyramidNetwork: extra_blocks should be an ExtraFPNBlock, "
                            f"got {type(extra_blocks).__name__}")
        self.extra_blocks = extra_blocks

    def forward(self, x: dict[str, Tensor]) -> dict[str, Tensor]:
        names, x = list(x.keys()), list(x.values())
        last_inner = self.inner_blocks[-1](x[-1])
        results = [self.layer_blocks[-1](last_inner)]
        for idx in range(len(x) - 2, -1, -1):
            inner_lateral = self.inner_blocks[idx](x[idx])
            top_down = F.interpolate(last_inner, size=tuple(inner_lateral.shape[-2:]), mode="nearest")
            last_inner = inner_lateral + top_down
            results.insert(0, self.layer_blocks[idx](last_inner))
        if self.extra_blocks is not None:
            results, names = self.extra_blocks(results, x, names)
        return OrderedDict(zip(names, results))
