"""Vision Transformer (Dosovitskiy et al., 2021) with torchvision's module and ``state_dict`` names."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from functools import partial

import ember
from ember import nn

from ._api import Weights, WeightsEnum, classification_meta, load_weights, with_weights
from ._presets import ImageClassification
from .mlp import MLP

__all__ = ["ViT_B_16_Weights", "ViT_B_32_Weights", "VisionTransformer", "vit_b_16", "vit_b_32", "vit_tiny"]


class MLPBlock(MLP):
    """Linear - GELU - Dropout - Linear - Dropout (indices 0 and 3 hold the weights, as torchvision)."""

    def __init__(self, in_dim: int, mlp_dim: int, dropout: float):
        super().__init__(in_dim, [mlp_dim, in_dim], activation_layer=nn.GELU, dropout=dropout, flatten=False)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.normal_(m.bias, std=1e-6)


class EncoderBlock(nn.Module):
    def __init__(self, num_heads: int, hidden_dim: int, mlp_dim: int, dropout: float, attention_dropout: float,
                 norm_layer: Callable):
        super().__init__()
        self.num_heads = num_heads
        self.ln_1 = norm_layer(hidden_dim)
        self.self_attention = nn.MultiheadAttention(hidden_dim, num_heads, dropout=attention_dropout,
                                                    batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.ln_2 = norm_layer(hidden_dim)
        self.mlp = MLPBlock(hidden_dim, mlp_dim, dropout)

    def forward(self, input):
        x = self.ln_1(input)
        x, _ = self.self_attention(x, x, x, need_weights=False)
        x = self.dropout(x) + input
        return x + self.mlp(self.ln_2(x))


class Encoder(nn.Module):
    def __init__(self, seq_length: int, num_layers: int, num_heads: int, hidden_dim: int, mlp_dim: int,
                 dropout: float, attention_dropout: float, norm_layer: Callable):
        super().__init__()
        self.pos_embedding = nn.Parameter(ember.empty(1, seq_length, hidden_dim))
        nn.init.normal_(self.pos_embedding, std=0.02)
        self.dropout = nn.Dropout(dropout)
        layers = OrderedDict(
            (f"encoder_layer_{i}", EncoderBlock(num_heads, hidden_dim, mlp_dim, dropout, attention_dropout,
                                                norm_layer))
            for i in range(num_layers)
        )
        self.layers = nn.Sequential(layers)
        self.ln = norm_layer(hidden_dim)

    def forward(self, input):
        return self.ln(self.layers(self.dropout(input + self.pos_embedding)))


class VisionTransformer(nn.Module):
    """Patchify (``conv_proj``), prepend ``class_token``, transformer ``encoder``, ``heads`` on the class token.

    Example:
        >>> import ember
        >>> vit = VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32,
        ...                         mlp_dim=64, num_classes=10)
        >>> vit(ember.randn(2, 3, 32, 32)).shape
        ember.Size([2, 10])
    """

    def __init__(self, image_size: int, patch_size: int, num_layers: int, num_heads: int, hidden_dim: int,
                 mlp_dim: int, dropout: float = 0.0, attention_dropout: float = 0.0, num_classes: int = 1000,
                 representation_size: int | None = None, norm_layer: Callable | None = None, in_channels: int = 3):
        super().__init__()
        if image_size % patch_size != 0:
            raise ValueError(f"VisionTransformer: image_size {image_size} is not divisible by patch_size {patch_size}")
        norm_layer = norm_layer or partial(nn.LayerNorm, eps=1e-6)
        self.image_size = image_size
        self.patch_size = patch_size
        self.hidden_dim = hidden_dim
        self.mlp_dim = mlp_dim
        self.num_classes = num_classes
        self.representation_size = representation_size
        self.conv_proj = nn.Conv2d(in_channels, hidden_dim, kernel_size=patch_size, stride=patch_size)
        seq_length = (image_size // patch_size) ** 2 + 1
        self.class_token = nn.Parameter(ember.zeros(1, 1, hidden_dim))
        self.encoder = Encoder(seq_length, num_layers, num_heads, hidden_dim, mlp_dim, dropout, attention_dropout,
                               norm_layer)
        self.seq_length = seq_length
        heads: OrderedDict[str, nn.Module] = OrderedDict()
        if representation_size is None:
            heads["head"] = nn.Linear(hidden_dim, num_classes)
        else:
            heads["pre_logits"] = nn.Linear(hidden_dim, representation_size)
            heads["act"] = nn.Tanh()
            heads["head"] = nn.Linear(representation_size, num_classes)
        self.heads = nn.Sequential(heads)
        fan_in = self.conv_proj.in_channels * patch_size * patch_size
        nn.init.trunc_normal_(self.conv_proj.weight, std=math.sqrt(1 / fan_in))
        nn.init.zeros_(self.conv_proj.bias)
        nn.init.zeros_(self.heads.head.weight)
        nn.init.zeros_(self.heads.head.bias)

    def _process_input(self, x):
        n, _, h, w = x.shape
        if h != self.image_size or w != self.image_size:
            raise ValueError(f"VisionTransformer: expected {self.image_size}x{self.image_size} images, got {h}x{w}")
        x = self.conv_proj(x)
        return x.reshape(n, self.hidden_dim, -1).permute(0, 2, 1)

    def forward(self, x):
        x = self._process_input(x)
        n = x.shape[0]
        x = ember.cat([self.class_token.expand(n, -1, -1), x], dim=1)
        x = self.encoder(x)
        return self.heads(x[:, 0])


class ViT_B_16_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/vit_b_16-c867db91.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta=classification_meta(
            num_params=86567656,
            min_size=(224, 224),
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#vit_b_16",
            _metrics={"ImageNet-1K": {"acc@1": 81.072, "acc@5": 95.318}},
            _ops=17.564,
            _file_size=330.285,
        ),
    )
    IMAGENET1K_SWAG_E2E_V1 = Weights(
        url="https://download.pytorch.org/models/vit_b_16_swag-9ac1b537.pth",
        transforms=partial(ImageClassification, crop_size=384, resize_size=384, interpolation="bicubic"),
        meta=classification_meta(
            recipe="https://github.com/facebookresearch/SWAG",
            license="https://github.com/facebookresearch/SWAG/blob/main/LICENSE",
            num_params=86859496,
            min_size=(384, 384),
            _metrics={"ImageNet-1K": {"acc@1": 85.304, "acc@5": 97.65}},
            _ops=55.484,
            _file_size=331.398,
        ),
    )
    IMAGENET1K_SWAG_LINEAR_V1 = Weights(
        url="https://download.pytorch.org/models/vit_b_16_lc_swag-4e70ced5.pth",
        transforms=partial(ImageClassification, crop_size=224, resize_size=224, interpolation="bicubic"),
        meta=classification_meta(
            recipe="https://github.com/pytorch/vision/pull/5793",
            license="https://github.com/facebookresearch/SWAG/blob/main/LICENSE",
            num_params=86567656,
            min_size=(224, 224),
            _metrics={"ImageNet-1K": {"acc@1": 81.886, "acc@5": 96.18}},
            _ops=17.564,
            _file_size=330.285,
        ),
    )
    DEFAULT = IMAGENET1K_V1


class ViT_B_32_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/vit_b_32-d86f8d99.pth",
        transforms=partial(ImageClassification, crop_size=224),
        meta=classification_meta(
            num_params=88224232,
            min_size=(224, 224),
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#vit_b_32",
            _metrics={"ImageNet-1K": {"acc@1": 75.912, "acc@5": 92.466}},
            _ops=4.409,
            _file_size=336.604,
        ),
    )
    DEFAULT = IMAGENET1K_V1


def _vision_transformer(name: str, patch_size: int, weights, weights_enum, progress: bool, kwargs):
    def make(image_size: int = 224, **options) -> VisionTransformer:
        return VisionTransformer(image_size=image_size, patch_size=patch_size, num_layers=12, num_heads=12,
                                 hidden_dim=768, mlp_dim=3072, **options)

    # the SWAG weights were trained at 384x384: the image size (and so pos_embedding) follows the weights
    return load_weights(name, make, weights, kwargs, weights_enum, progress,
                        image_size=lambda w: w.meta["min_size"][0])


@with_weights(ViT_B_16_Weights)
def vit_b_16(*, weights: ViT_B_16_Weights | str | None = None, progress: bool = True,
             **kwargs) -> VisionTransformer:
    return _vision_transformer("vit_b_16", 16, weights, ViT_B_16_Weights, progress, kwargs)


@with_weights(ViT_B_32_Weights)
def vit_b_32(*, weights: ViT_B_32_Weights | str | None = None, progress: bool = True,
             **kwargs) -> VisionTransformer:
    return _vision_transformer("vit_b_32", 32, weights, ViT_B_32_Weights, progress, kwargs)


def vit_tiny(*, weights=None, **kwargs) -> VisionTransformer:
    """A small ViT for 32x32 images: 4x4 patches, 6 layers, width 192, 3 heads."""
    options = {"image_size": 32, "patch_size": 4, "num_layers": 6, "num_heads": 3, "hidden_dim": 192,
               "mlp_dim": 384, "num_classes": 10}
    options.update(kwargs)
    return load_weights("vit_tiny", VisionTransformer, weights, options)
