"""Swin-T (Liu et al., 2021) with torchvision's layout, ``state_dict`` names and weights."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import ember
import numpy as np
from ember import Tensor, nn
from ember.nn import functional as F
from ember.vision.ops import MLP, Permute, StochasticDepth

from ._api import Weights, WeightsEnum, classification_meta, load_weights, with_weights
from ._presets import ImageClassification

__all__ = ["SwinTransformer", "Swin_T_Weights", "shifted_window_attention", "swin_t"]


def _patch_merging_pad(x: Tensor) -> Tensor:
    """``(..., H, W, C)`` -> ``(..., H/2, W/2, 4C)``: each 2x2 patch's pixels side by side (odd sizes padded)."""
    h, w = x.shape[-3], x.shape[-2]
    x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
    return ember.cat([x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :], x[..., 0::2, 1::2, :], x[..., 1::2, 1::2, :]],
                     -1)


class PatchMerging(nn.Module):
    """Halves the resolution and doubles the width: 2x2 patches concatenated, normalised, projected."""

    def __init__(self, dim: int, norm_layer: Callable = nn.LayerNorm):
        super().__init__()
        self.dim = dim
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = norm_layer(4 * dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.reduction(self.norm(_patch_merging_pad(x)))


def _shift_mask(pad_h: int, pad_w: int, window_size: list[int], shift_size: list[int]) -> np.ndarray:
    """``(windows, N, N)``: -100 between positions that came from different regions before the cyclic shift
    (they must not attend to each other), 0 elsewhere."""
    regions = np.zeros((pad_h, pad_w), np.float32)
    h_slices = ((0, -window_size[0]), (-window_size[0], -shift_size[0]), (-shift_size[0], None))
    w_slices = ((0, -window_size[1]), (-window_size[1], -shift_size[1]), (-shift_size[1], None))
    for count, (h, w) in enumerate((h, w) for h in h_slices for w in w_slices):
        regions[h[0]:h[1], w[0]:w[1]] = count
    regions = regions.reshape(pad_h // window_size[0], window_size[0], pad_w // window_size[1], window_size[1])
    regions = regions.transpose(0, 2, 1, 3).reshape(-1, window_size[0] * window_size[1])
    return np.where(regions[:, None, :] - regions[:, :, None] != 0, np.float32(-100.0), np.float32(0.0))


def shifted_window_attention(input: Tensor, qkv_weight: Tensor, proj_weight: Tensor, relative_position_bias: Tensor,
                             window_size: list[int], num_heads: int, shift_size: list[int],
                             attention_dropout: float = 0.0, dropout: float = 0.0, qkv_bias: Tensor | None = None,
                             proj_bias: Tensor | None = None, training: bool = True) -> Tensor:
    """Multi-head self-attention inside ``window_size`` windows of a ``(B, H, W, C)`` input, with a relative
    position bias; with ``shift_size`` the windows are cyclically shifted first (W-MSA / SW-MSA)."""
    b, h, w, c = input.shape
    pad_r = (window_size[1] - w % window_size[1]) % window_size[1]
    pad_b = (window_size[0] - h % window_size[0]) % window_size[0]
    x = F.pad(input, (0, 0, 0, pad_r, 0, pad_b))
    pad_h, pad_w = x.shape[1], x.shape[2]
    shift_size = list(shift_size)
    if window_size[0] >= pad_h:  # one window covers the image: shifting would change nothing
        shift_size[0] = 0
    if window_size[1] >= pad_w:
        shift_size[1] = 0
    shifted = sum(shift_size) > 0
    if shifted:
        x = ember.roll(x, shifts=(-shift_size[0], -shift_size[1]), dims=(1, 2))
    num_windows = (pad_h // window_size[0]) * (pad_w // window_size[1])
    n = window_size[0] * window_size[1]
    x = x.reshape(b, pad_h // window_size[0], window_size[0], pad_w // window_size[1], window_size[1], c)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(b * num_windows, n, c)
    qkv = F.linear(x, qkv_weight, qkv_bias).reshape(x.shape[0], n, 3, num_heads, c // num_heads)
    q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
    attn = (q * (c // num_heads) ** -0.5).matmul(k.transpose(-2, -1)) + relative_position_bias
    if shifted:
        mask = ember.from_numpy(_shift_mask(pad_h, pad_w, window_size, shift_size))
        attn = attn.reshape(b, num_windows, num_heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.reshape(-1, num_heads, n, n)
    attn = F.dropout(F.softmax(attn, dim=-1), p=attention_dropout, training=training)
    x = attn.matmul(v).transpose(1, 2).reshape(x.shape[0], n, c)
    x = F.dropout(F.linear(x, proj_weight, proj_bias), p=dropout, training=training)
    x = x.reshape(b, pad_h // window_size[0], pad_w // window_size[1], window_size[0], window_size[1], c)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(b, pad_h, pad_w, c)
    if shifted:
        x = ember.roll(x, shifts=(shift_size[0], shift_size[1]), dims=(1, 2))
    return x[:, :h, :w, :]


class ShiftedWindowAttention(nn.Module):
    """See :func:`shifted_window_attention`; the bias table has one entry per relative offset and head."""

    def __init__(self, dim: int, window_size: list[int], shift_size: list[int], num_heads: int,
                 qkv_bias: bool = True, proj_bias: bool = True, attention_dropout: float = 0.0, dropout: float = 0.0):
        super().__init__()
        if len(window_size) != 2 or len(shift_size) != 2:
            raise ValueError("window_size and shift_size must be of length 2")
        self.window_size = list(window_size)
        self.shift_size = list(shift_size)
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.dropout = dropout
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        wh, ww = self.window_size
        self.relative_position_bias_table = nn.Parameter(ember.zeros((2 * wh - 1) * (2 * ww - 1), num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        coords = np.stack(np.meshgrid(np.arange(wh), np.arange(ww), indexing="ij")).reshape(2, -1)
        relative = (coords[:, :, None] - coords[:, None, :]).transpose(1, 2, 0)  # N, N, 2: offsets from -w+1
        index = (relative[..., 0] + wh - 1) * (2 * ww - 1) + relative[..., 1] + ww - 1
        self.register_buffer("relative_position_index", ember.from_numpy(index.reshape(-1).astype(np.int64)))

    def get_relative_position_bias(self) -> Tensor:
        n = self.window_size[0] * self.window_size[1]
        bias = self.relative_position_bias_table[self.relative_position_index].reshape(n, n, -1)
        return bias.permute(2, 0, 1).unsqueeze(0)

    def forward(self, x: Tensor) -> Tensor:
        return shifted_window_attention(x, self.qkv.weight, self.proj.weight, self.get_relative_position_bias(),
                                        self.window_size, self.num_heads, shift_size=self.shift_size,
                                        attention_dropout=self.attention_dropout, dropout=self.dropout,
                                        qkv_bias=self.qkv.bias, proj_bias=self.proj.bias, training=self.training)


class SwinTransformerBlock(nn.Module):
    """Pre-norm (shifted) window attention and MLP, each a residual branch with stochastic depth."""

    def __init__(self, dim: int, num_heads: int, window_size: list[int], shift_size: list[int],
                 mlp_ratio: float = 4.0, dropout: float = 0.0, attention_dropout: float = 0.0,
                 stochastic_depth_prob: float = 0.0, norm_layer: Callable = nn.LayerNorm,
                 attn_layer: Callable = ShiftedWindowAttention):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = attn_layer(dim, window_size, shift_size, num_heads, attention_dropout=attention_dropout,
                               dropout=dropout)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        self.norm2 = norm_layer(dim)
        self.mlp = MLP(dim, [int(dim * mlp_ratio), dim], activation_layer=nn.GELU, inplace=None, dropout=dropout)
        for m in self.mlp.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.normal_(m.bias, std=1e-6)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.stochastic_depth(self.attn(self.norm1(x)))
        return x + self.stochastic_depth(self.mlp(self.norm2(x)))


class SwinTransformer(nn.Module):
    """``features`` (patch embedding, stages of Swin blocks with patch merging between), ``norm``, ``head``.

    Example:
        >>> import ember
        >>> model = SwinTransformer([4, 4], 16, [2, 2], [2, 4], [4, 4], num_classes=10)
        >>> model(ember.randn(2, 3, 32, 32)).shape
        ember.Size([2, 10])
    """

    def __init__(self, patch_size: list[int], embed_dim: int, depths: list[int], num_heads: list[int],
                 window_size: list[int], mlp_ratio: float = 4.0, dropout: float = 0.0,
                 attention_dropout: float = 0.0, stochastic_depth_prob: float = 0.1, num_classes: int = 1000,
                 norm_layer: Callable | None = None, block: Callable | None = None,
                 downsample_layer: Callable = PatchMerging):
        super().__init__()
        self.num_classes = num_classes
        block = block or SwinTransformerBlock
        norm_layer = norm_layer or partial(nn.LayerNorm, eps=1e-5)
        layers: list[nn.Module] = [nn.Sequential(
            nn.Conv2d(3, embed_dim, kernel_size=tuple(patch_size), stride=tuple(patch_size)),
            Permute([0, 2, 3, 1]), norm_layer(embed_dim),
        )]
        total_blocks = sum(depths)
        block_id = 0
        for i_stage, depth in enumerate(depths):
            dim = embed_dim * 2**i_stage
            stage = []
            for i_layer in range(depth):
                sd_prob = stochastic_depth_prob * block_id / (total_blocks - 1) if total_blocks > 1 else 0.0
                stage.append(block(dim, num_heads[i_stage], window_size=window_size,
                                   shift_size=[0 if i_layer % 2 == 0 else w // 2 for w in window_size],
                                   mlp_ratio=mlp_ratio, dropout=dropout, attention_dropout=attention_dropout,
                                   stochastic_depth_prob=sd_prob, norm_layer=norm_layer))
                block_id += 1
            layers.append(nn.Sequential(*stage))
            if i_stage < len(depths) - 1:
                layers.append(downsample_layer(dim, norm_layer))
        self.features = nn.Sequential(*layers)
        num_features = embed_dim * 2 ** (len(depths) - 1)
        self.norm = norm_layer(num_features)
        self.permute = Permute([0, 3, 1, 2])  # B H W C -> B C H W
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)
        self.head = nn.Linear(num_features, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        x = self.permute(self.norm(self.features(x)))
        return self.head(self.flatten(self.avgpool(x)))


class Swin_T_Weights(WeightsEnum):
    IMAGENET1K_V1 = Weights(
        url="https://download.pytorch.org/models/swin_t-704ceda3.pth",
        transforms=partial(ImageClassification, crop_size=224, resize_size=232, interpolation="bicubic"),
        meta=classification_meta(
            num_params=28288354,
            min_size=(224, 224),
            recipe="https://github.com/pytorch/vision/tree/main/references/classification#swintransformer",
            _metrics={"ImageNet-1K": {"acc@1": 81.474, "acc@5": 95.776}},
            _ops=4.491,
            _file_size=108.19,
        ),
    )
    DEFAULT = IMAGENET1K_V1


@with_weights(Swin_T_Weights)
def swin_t(*, weights: Swin_T_Weights | str | None = None, progress: bool = True, **kwargs) -> SwinTransformer:
    """Swin-T: 4x4 patches, width 96, 2/2/6/2 blocks of 3/6/12/24 heads, 7x7 windows."""
    kwargs.setdefault("stochastic_depth_prob", 0.2)
    return load_weights("swin_t", partial(SwinTransformer, [4, 4], 96, [2, 2, 6, 2], [3, 6, 12, 24], [7, 7]),
                        weights, kwargs, Swin_T_Weights, progress)
