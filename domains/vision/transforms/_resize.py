"""Random resizes of torchvision v2's detection recipes: the size is drawn per call, boxes and masks follow."""

from __future__ import annotations

import numbers

import numpy as np

from . import functional as F
from ._base import rand, randint
from ._geometry import Resize

__all__ = ["RandomResize", "RandomShortestSize", "ScaleJitter"]


class _RandomSizeResize(Resize):
    """A ``Resize`` whose output size ``(h, w)`` comes from ``_draw_size(input_size)``."""

    def _draw_size(self, size: tuple[int, int]) -> tuple[int, int]:
        raise NotImplementedError

    def make_params(self, size):
        oh, ow = self._draw_size(size)
        return {"size": (oh, ow), "matrix": np.diag([ow / size[1], oh / size[0], 1.0])}


class RandomResize(_RandomSizeResize):
    """Resizes the shorter edge to a size drawn uniformly from ``[min_size, max_size)``.

    Example:
        >>> import numpy as np
        >>> RandomResize(4, 5)(np.zeros((8, 16, 3), np.uint8)).shape
        (4, 8, 3)
    """

    def __init__(self, min_size: int, max_size: int, interpolation="bilinear", antialias: bool = True):
        super().__init__(min_size, interpolation, antialias=antialias)
        self.min_size = min_size
        self.max_size = max_size

    def _draw_size(self, size):
        return F._output_size(size[0], size[1], randint(self.min_size, self.max_size), None)


class RandomShortestSize(_RandomSizeResize):
    """Resizes so the shorter edge is one of ``min_size`` (drawn), the longer at most ``max_size``."""

    def __init__(self, min_size, max_size: int | None = None, interpolation="bilinear", antialias: bool = True):
        self.min_size = [min_size] if isinstance(min_size, numbers.Number) else list(min_size)
        super().__init__(self.min_size[0], interpolation, antialias=antialias)
        self.max_size = max_size

    def _draw_size(self, size):
        h, w = size
        r = self.min_size[randint(0, len(self.min_size))] / min(h, w)
        if self.max_size is not None:
            r = min(r, self.max_size / max(h, w))
        return int(h * r), int(w * r)


class ScaleJitter(_RandomSizeResize):
    """Large-scale jitter (Ghiasi et al., 2021): fits the image in ``target_size`` times a random scale."""

    def __init__(self, target_size, scale_range=(0.1, 2.0), interpolation="bilinear", antialias: bool = True):
        super().__init__(tuple(target_size), interpolation, antialias=antialias)
        self.target_size = tuple(target_size)
        self.scale_range = tuple(scale_range)

    def _draw_size(self, size):
        h, w = size
        scale = self.scale_range[0] + rand() * (self.scale_range[1] - self.scale_range[0])
        r = min(self.target_size[1] / w, self.target_size[0] / h) * scale
        return int(h * r), int(w * r)
