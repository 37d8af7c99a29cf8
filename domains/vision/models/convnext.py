"""ConvNeXt-Tiny (Liu et al., 2022) with torchvision's layout, ``state_dict`` names and weights."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

import ember
from ember import Tensor, nn
from ember.vision.ops import Conv2dNormActivation, Permute, StochasticDepth

from ._api import Weights, WeightsEnum, classification_meta, load_weights, with_weights
from ._presets import ImageClassification

__all__ = ["CNBlockConfig", "ConvNeXt", "ConvNeXt_Tiny_Weights", "LayerNorm2d", "convnext_tiny"]


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an ``(N, C, H, W)`` input."""

    def forward(self, x: Tensor) -> Tensor:
        x = nn.functional.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class CNBlock(nn.Module):
    """7x7 depthwise conv, LayerNorm, 4x MLP with GELU, a learned per-channel ``layer_scale``, residual."""

    def __init__(self, dim: int, layer_scale: float, stochastic_depth_prob: float, norm_layer: Callable | None = None):
        super().__init__()
        norm_layer = norm_layer or partial(nn.LayerNorm, eps=1e-6)
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=7, padding=3, groups=dim, bias=True),
            Permute([0, 2, 3, 1]),
            norm_layer(dim),
            nn.Linear(in_features=dim, out_features=4 * dim, bias=True),
            nn.GELU(),
            nn.Linear(in_features=4 * dim, out_features=dim, bias=True),
            Permute([0, 3, 1, 2]),
        )
        self.layer_scale = nn.Parameter(ember.ones(dim, 1, 1) * layer_scale)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

    def forward(self, input: Tensor) -> Tensor:
        return self.stochastic_depth(self.layer_scale * self.block(input)) + input


class CNBlockConfig:
    """One stage: its width, the width after its downsampling layer (None for the last), its depth."""

    def __init__(self, input_channels: int, out_channels: int | None, num_layers: int):
        self.input_channels = input_channels
        self.out_channels = out_channels
        self.num_layers = num_layers

    def __repr__(self) -> str:
        return (f"CNBlockConfig(input_channels={self.input_channels}, out_channels={self.out_channels}, "
                f"num_layers={self.num_layers})")


class ConvNeXt(nn.Module):
    """``features`` (4x4 patchify stem, stages with 2x2 downsampling between them), pooling, ``classifier``.

    Example:
        >>> import ember
        >>> setting = [CNBlockConfig(8, 16, 1), CNBlockConfig(16, None, 1)]
        >>> ConvNeXt(setting, num_classes=10)(ember.randn(2, 3, 32, 32)).shape
        ember.Size([2, 10])
    """

    def __init__(self, block_setting: Sequence[CNBlockConfig], stochastic_depth_prob: float = 0.0,
                 layer_scale: float = 1e-6, num_classes: int = 1000, block: Callable | None = None,
                 norm_layer: Callable | None = None):
        super().__init__()
        if not block_setting:
            raise ValueError("The block_setting should not be empty")
        if not all(isinstance(s, CNBlockConfig) for s in block_setting):
            raise TypeError("The block_setting should be List[CNBlockConfig]")
        block = block or CNBlock
        norm_layer = norm_layer or partial(LayerNorm2d, eps=1e-6)
        layers: list[nn.Module] = [Conv2dNormActivation(3, block_setting[0].input_channels, kernel_size=4, stride=4,
                                                        padding=0, norm_layer=norm_layer, activation_layer=None,
                                                        bias=True)]
        total_blocks = sum(cnf.num_layers for cnf in block_setting)
        block_id = 0
        for cnf in block_setting:
            stage: list[nn.Module] = []
            for _ in range(cnf.num_layers):
                sd_prob = stochastic_depth_prob * block_id / (total_blocks - 1.0) if total_blocks > 1 else 0.0
                stage.append(block(cnf.input_channels, layer_scale, sd_prob))
                block_id += 1
            layers.append(nn.Sequential(*stage))
            if cnf.out_channels is not None:
                layers.append(nn.Sequential(norm_layer(cnf.input_channels),
                                            nn.Conv2d(cnf.input_channels, cnf.out_channels, kernel_size=2, stride=2)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last = block_setting[-1]
        last_channels = last.out_channels if last.out_channels is not None else last.input_channels
        self.classifier = nn.Sequential(norm_layer(last_channels), nn.Flatten(1), nn.Linear(last_channels, num_classes))
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)))


class ConvNeXt_Tiny_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/convnext_tiny-983f1562.pth",
        transforms=partial(ImageClassification, crop_size=224, resize_size=236),
        meta=classification_meta(
            min_size=(32, 32),
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#convnext",
            num_params=28589128,
            _metrics={"ImageNet-1K": {"acc@1": 82.52, "acc@5": 96.146}},
            _ops=4.456,
            _file_size=109.119,
        ),
    )
    DEFAULT = IMAGENET1K_V1


@with_weights(ConvNeXt_Tiny_Weights)
def convnext_tiny(*, weights: ConvNeXt_Tiny_Weights | str | None = None, progress: bool = True,
                  **kwargs) -> ConvNeXt:
    """ConvNeXt-T: stages of 96/192/384/768 channels, 3/3/9/3 blocks, stochastic depth up to 0.1."""
    setting = [CNBlockConfig(96, 192, 3), CNBlockConfig(192, 384, 3), CNBlockConfig(384, 768, 9),
               CNBlockConfig(768, None, 3)]
    kwargs.setdefault("stochastic_depth_prob", 0.1)
    return load_weights("convnext_tiny", partial(ConvNeXt, setting), weights, kwargs, ConvNeXt_Tiny_Weights,
                        progress)
