"""``MultiScaleRoIAlign``: RoIAlign over a feature pyramid, each box pooled from the level its size maps to.

torchvision's ``poolers``: the scale of each feature map is inferred from its height against the largest
image (a power of two), and a box of area ``A`` goes to level ``floor(4 + log2(sqrt(A) / 224) + 1e-6)``
(eq. 1 of the FPN paper, with ``canonical_level`` 4 and ``canonical_scale`` 224), clamped to the levels
present.
"""

from __future__ import annotations

import math

import ember
import numpy as np
from ember import Tensor, nn

from .roi import roi_align

__all__ = ["LevelMapper", "MultiScaleRoIAlign"]


class LevelMapper:
    """Maps boxes to pyramid levels ``k_min..k_max`` (returned as ``level - k_min``), FPN's eq. 1."""

    def __init__(self, k_min: int, k_max: int, canonical_scale: int = 224, canonical_level: int = 4,
                 eps: float = 1e-6):
        self.k_min = k_min
        self.k_max = k_max
        self.s0 = canonical_scale
        self.lvl0 = canonical_level
        self.eps = eps

    def __call__(self, boxlists: list[Tensor]) -> Tensor:
        boxes = np.concatenate([np.asarray(b.detach()).reshape(-1, 4) for b in boxlists], axis=0)
        dtype = boxes.dtype if boxes.dtype.kind == "f" else np.float32
        area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).astype(dtype)
        levels = np.floor(self.lvl0 + np.log2(np.sqrt(area) / dtype.type(self.s0)) + dtype.type(self.eps))
        levels = np.clip(levels, self.k_min, self.k_max)
        return ember.from_numpy(levels.astype(np.int64) - self.k_min)


def _infer_scale(feature: Tensor, original_size: tuple[int, int]) -> float:
    approx = np.float32(float(feature.shape[-2]) / float(original_size[0]))
    return 2 ** float(np.round(np.log2(approx)))


class MultiScaleRoIAlign(nn.Module):
    """RoIAlign over the feature maps named ``featmap_names``, each box from the level of its size.

    Args:
        featmap_names: the keys of the feature dict to pool from (finest first).
        output_size: ``(height, width)`` of the pooled output, or an int.
        sampling_ratio: RoIAlign's samples per bin (``<= 0``: adaptive).
        canonical_scale, canonical_level: the box side that maps to ``canonical_level`` (224 -> 4).

    ``forward(x, boxes, image_shapes)``: ``x`` a dict of ``(N, C, H_l, W_l)`` feature maps, ``boxes`` a
    list of ``(L_i, 4)`` boxes per image in image coordinates, ``image_shapes`` the ``(H, W)`` of each
    image before the backbone. Returns ``(sum L_i, C, output_height, output_width)``.

    Example:
        >>> pooler = MultiScaleRoIAlign(["p2", "p3"], 2, sampling_ratio=2)
        >>> feats = {"p2": ember.rand(1, 4, 16, 16), "p3": ember.rand(1, 4, 8, 8)}
        >>> pooler(feats, [ember.tensor([[0.0, 0.0, 20.0, 20.0]])], [(64, 64)]).shape
        ember.Size([1, 4, 2, 2])
    """

    def __init__(self, featmap_names: list[str], output_size, sampling_ratio: int, *,
                 canonical_scale: int = 224, canonical_level: int = 4):
        super().__init__()
        if isinstance(output_size, int):
            output_size = (output_size, output_size)
        self.featmap_names = list(featmap_names)
        self.sampling_ratio = sampling_ratio
        self.output_size = tuple(output_size)
        self.scales = None
        self.map_levels = None
        self.canonical_scale = canonical_scale
        self.canonical_level = canonical_level

    def _setup_scales(self, features: list[Tensor], image_shapes: list[tuple[int, int]]) -> None:
        if not image_shapes:
            raise ValueError("images list should not be empty")
        original = (max(s[0] for s in image_shapes), max(s[1] for s in image_shapes))
        self.scales = [_infer_scale(f, original) for f in features]
        lvl_min = -math.log2(self.scales[0])
        lvl_max = -math.log2(self.scales[-1])
        self.map_levels = LevelMapper(int(lvl_min), int(lvl_max), self.canonical_scale, self.canonical_level)

    def forward(self, x: dict[str, Tensor], boxes: list[Tensor], image_shapes: list[tuple[int, int]]) -> Tensor:
        features = [v for k, v in x.items() if k in self.featmap_names]
        if not features:
            raise KeyError(f"MultiScaleRoIAlign: none of {self.featmap_names} is in the features {list(x)}")
        self._setup_scales(features, image_shapes)
        if len(features) == 1:
            return roi_align(features[0], boxes, self.output_size, self.scales[0], self.sampling_ratio)
        levels = self.map_levels(boxes).numpy()
        index = np.concatenate([np.full(len(b), i) for i, b in enumerate(boxes)])
        flat = np.concatenate([np.asarray(b.detach()).reshape(-1, 4) for b in boxes], axis=0)
        rois = np.concatenate([index[:, None], flat], axis=1).astype(np.asarray(features[0].detach()).dtype)
        parts, order = [], []
        for level, (feature, scale) in enumerate(zip(features, self.scales)):
            where = np.flatnonzero(levels == level)
            if len(where):
                parts.append(roi_align(feature, ember.from_numpy(rois[where]), self.output_size, scale,
                                       self.sampling_ratio))
                order.append(where)
        if not parts:
            return ember.zeros((0, features[0].shape[1], *self.output_size), dtype=features[0].dtype)
        out = ember.cat(parts, dim=0)
        return out[ember.from_numpy(np.argsort(np.concatenate(order)))]

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(featmap_names={self.featmap_names}, output_size={self.output_size}, "
                f"sampling_ratio={self.sampling_ratio})")
