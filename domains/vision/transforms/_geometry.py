"""Geometric transforms: they move pixels, so masks and boxes in a sample dict move with the image."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from . import _geometry_kernels
from . import functional as F
from ._base import Transform, mask_apply, rand, randint, rng, uniform
from ._image import InterpolationMode, interpolation_mode

__all__ = [
    "CenterCrop",
    "ElasticTransform",
    "Pad",
    "RandomAffine",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomPerspective",
    "RandomResizedCrop",
    "RandomRotation",
    "RandomVerticalFlip",
    "RandomZoomOut",
    "Resize",
]

_NEAREST = InterpolationMode.NEAREST


def _size_tuple(size, name: str) -> tuple[int, int]:
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    size = tuple(int(s) for s in size)
    if len(size) == 1:
        return size[0], size[0]
    if len(size) != 2:
        raise ValueError(f"{name}: size must be an int or (height, width), got {size}")
    return size


def _translate(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def _range(value, name: str, center: float = 0.0) -> tuple[float, float]:
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"{name}: a single number must be non-negative, got {value}")
        return center - float(value), center + float(value)
    value = tuple(float(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"{name}: expected a number or a (min, max) pair, got {value}")
    return value


class Resize(Transform):
    """Resizes to ``size`` (h, w), or matches the smaller edge to ``size`` when it is an int.

    Example:
        >>> import numpy as np
        >>> Resize((2, 3))(np.zeros((4, 6, 3), np.uint8)).shape
        (2, 3, 3)
    """

    geometric = True

    def __init__(self, size, interpolation="bilinear", max_size: int | None = None, antialias: bool = True):
        self.size = size if size is None or isinstance(size, numbers.Number) else tuple(size)
        self.interpolation = interpolation_mode(interpolation)
        self.max_size = max_size
        self.antialias = antialias

    def make_params(self, size):
        oh, ow = F._output_size(size[0], size[1], self.size, self.max_size)
        return {"size": (oh, ow), "matrix": np.diag([ow / size[1], oh / size[0], 1.0])}

    def apply_image(self, img, params):
        return F.resize(img, params["size"], self.interpolation, antialias=self.antialias)

    def apply_mask(self, mask, params):
        return mask_apply(mask, lambda m: F.resize(m, params["size"], _NEAREST))


class _Crop(Transform):
    geometric = True

    def _crop_params(self, top: int, left: int, h: int, w: int) -> dict:
        return {"box": (top, left, h, w), "size": (h, w), "matrix": _translate(-left, -top)}

    def apply_image(self, img, params):
        return F.crop(img, *params["box"])

    def apply_mask(self, mask, params):
        return mask_apply(mask, lambda m: F.crop(m, *params["box"]))


class CenterCrop(_Crop):
    """Crops the centre (zero-padding when the image is smaller)."""

    def __init__(self, size):
        self.size = _size_tuple(size, "CenterCrop")

    def make_params(self, size):
        return self._crop_params(*F.center_crop_origin(size, self.size), *self.size)


class Pad(Transform):
    """Pads the borders: ``padding`` is an int, (left/right, top/bottom) or (left, top, right, bottom)."""

    geometric = True

    def __init__(self, padding, fill=0, padding_mode: str = "constant"):
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"Pad: padding_mode must be constant, edge, reflect or symmetric, got {padding_mode!r}")
        self.padding = padding if isinstance(padding, numbers.Number) else list(padding)
        self.fill = fill
        self.padding_mode = padding_mode

    def make_params(self, size):
        left, top, right, bottom = F._padding(self.padding)
        return {"pad": (left, top, right, bottom), "size": (size[0] + top + bottom, size[1] + left + right),
                "matrix": _translate(left, top)}

    def apply_image(self, img, params):
        return F.pad(img, list(params["pad"]), self.fill, self.padding_mode)

    def apply_mask(self, mask, params):
        mode = "constant" if self.padding_mode == "constant" else self.padding_mode
        return mask_apply(mask, lambda m: F.pad(m, list(params["pad"]), 0, mode))


class RandomZoomOut(Pad):
    """With probability ``p``, places the image at a random spot of a canvas ``side_range`` times larger
    (SSD's "zoom out"), filling the rest with ``fill``.

    Example:
        >>> import numpy as np
        >>> RandomZoomOut(side_range=(2.0, 2.0), p=1.0)(np.zeros((4, 6), np.uint8)).shape
        (8, 12)
    """

    def __init__(self, fill=0, side_range=(1.0, 4.0), p: float = 0.5):
        side_range = tuple(float(s) for s in side_range)
        if len(side_range) != 2 or side_range[0] < 1.0 or side_range[0] > side_range[1]:
            raise ValueError(f"RandomZoomOut: invalid side_range {side_range}; expected 1 <= min <= max")
        super().__init__(0, fill)
        self.side_range = side_range
        self.p = p

    def make_params(self, size):
        h, w = size
        if rand() >= self.p:
            left = top = right = bottom = 0
        else:
            r = self.side_range[0] + rand() * (self.side_range[1] - self.side_range[0])
            canvas_w, canvas_h = int(w * r), int(h * r)
            left, top = int((canvas_w - w) * rand()), int((canvas_h - h) * rand())
            right, bottom = canvas_w - (left + w), canvas_h - (top + h)
        return {"pad": (left, top, right, bottom), "size": (h + top + bottom, w + left + right),
                "matrix": _translate(left, top)}


class RandomCrop(Transform):
    """Crops a random ``size`` window, after optional ``padding`` (and padding up to ``size`` when
    ``pad_if_needed``).

    Example:
        >>> import numpy as np
        >>> RandomCrop(32, padding=4)(np.zeros((32, 32, 3), np.uint8)).shape
        (32, 32, 3)
    """

    geometric = True

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill=0, padding_mode: str = "constant"):
        self.size = _size_tuple(size, "RandomCrop")
        self.padding = padding if padding is None or isinstance(padding, numbers.Number) else list(padding)
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    def make_params(self, size):
        h, w = size
        left, top, right, bottom = F._padding(self.padding) if self.padding is not None else (0, 0, 0, 0)
        h, w = h + top + bottom, w + left + right
        th, tw = self.size
        if self.pad_if_needed and h < th:
            extra = th - h
            top, bottom, h = top + extra, bottom + extra, h + 2 * extra
        if self.pad_if_needed and w < tw:
            extra = tw - w
            left, right, w = left + extra, right + extra, w + 2 * extra
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: crop size {(th, tw)} is larger than the (padded) image {(h, w)}; "
                             "use pad_if_needed=True")
        i = randint(0, h - th + 1)
        j = randint(0, w - tw + 1)
        return {"pad": (left, top, right, bottom), "box": (i, j, th, tw), "size": (th, tw),
                "matrix": _translate(left - j, top - i)}

    def apply_image(self, img, params):
        left, top = params["pad"][0], params["pad"][1]
        i, j, th, tw = params["box"]
        if self.padding_mode == "constant" and not np.any(self.fill):
            # zero padding then cropping is one crop whose outside is zero: no padded copy
            return F.crop(img, i - top, j - left, th, tw)
        if any(params["pad"]):
            img = F.pad(img, list(params["pad"]), self.fill, self.padding_mode)
        return F.crop(img, *params["box"])

    def apply_mask(self, mask, params):
        def op(m):
            if any(params["pad"]):
                m = F.pad(m, list(params["pad"]), 0, self.padding_mode)
            return F.crop(m, *params["box"])

        return mask_apply(mask, op)


class RandomResizedCrop(Transform):
    """Crops a random area (``scale`` of the image, aspect ``ratio``) and resizes it to ``size``."""

    geometric = True

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0), interpolation="bilinear",
                 antialias: bool = True):
        self.size = _size_tuple(size, "RandomResizedCrop")
        self.scale = tuple(float(s) for s in scale)
        self.ratio = tuple(float(r) for r in ratio)
        self.interpolation = interpolation_mode(interpolation)
        self.antialias = antialias

    def _box(self, h: int, w: int) -> tuple[int, int, int, int]:
        area = h * w
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target_area = area * uniform(*self.scale)
            aspect = math.exp(uniform(*log_ratio))
            cw = round(math.sqrt(target_area * aspect))
            ch = round(math.sqrt(target_area / aspect))
            if 0 < cw <= w and 0 < ch <= h:
                return randint(0, h - ch + 1), randint(0, w - cw + 1), ch, cw
        in_ratio = w / h
        if in_ratio < min(self.ratio):
            cw, ch = w, round(w / min(self.ratio))
        elif in_ratio > max(self.ratio):
            ch, cw = h, round(h * max(self.ratio))
        else:
            cw, ch = w, h
        return (h - ch) // 2, (w - cw) // 2, ch, cw

    def make_params(self, size):
        i, j, ch, cw = self._box(*size)
        oh, ow = self.size
        matrix = np.diag([ow / cw, oh / ch, 1.0]) @ _translate(-j, -i)
        return {"box": (i, j, ch, cw), "size": (oh, ow), "matrix": matrix}

    def apply_image(self, img, params):
        return F.resized_crop(img, *params["box"], params["size"], self.interpolation, self.antialias)

    def apply_mask(self, mask, params):
        return mask_apply(mask, lambda m: F.resized_crop(m, *params["box"], params["size"], _NEAREST))


class _Flip(Transform):
    geometric = True

    def __init__(self, p: float = 0.5):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1], got {p}")
        self.p = p

    def make_params(self, size):
        if rand() >= self.p:
            return {"flip": False, "size": size, "matrix": None}
        return self.flip_params(size)

    def flip_params(self, size) -> dict:
        # boxes flip their edges (x -> W - x); key points are pixel indices (x -> W - 1 - x), as torchvision's
        h, w = size
        return {"flip": True, "size": size, "matrix": self._matrix(size),
                "keypoint_matrix": self._matrix((h - 1, w - 1))}

    def apply_image(self, img, params):
        return self._flip(img) if params["flip"] else img

    def apply_mask(self, mask, params):
        return mask_apply(mask, self._flip) if params["flip"] else mask


class RandomHorizontalFlip(_Flip):
    """Flips left-right with probability ``p``."""

    _flip = staticmethod(F.hflip)

    def _matrix(self, size):
        return np.array([[-1.0, 0.0, size[1]], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


class RandomVerticalFlip(_Flip):
    """Flips top-bottom with probability ``p``."""

    _flip = staticmethod(F.vflip)

    def _matrix(self, size):
        return np.array([[1.0, 0.0, 0.0], [0.0, -1.0, size[0]], [0.0, 0.0, 1.0]])


class _Warp(Transform):
    """A transform whose params are an output->input ``inverse`` matrix and an output ``size``."""

    geometric = True
    fill = 0

    def _warp_params(self, inverse: np.ndarray, size) -> dict:
        return {"inverse": inverse, "size": tuple(size), "matrix": np.linalg.inv(inverse)}

    def apply_image(self, img, params):
        return F.warp(img, params["inverse"], params["size"], self.interpolation, self.fill)

    def apply_mask(self, mask, params):
        return mask_apply(mask, lambda m: F.warp(m, params["inverse"], params["size"], _NEAREST, 0))


class RandomRotation(_Warp):
    """Rotates counter-clockwise by an angle drawn from ``degrees`` ((-d, d) for a number)."""

    def __init__(self, degrees, interpolation="nearest", expand: bool = False, center=None, fill=0):
        self.degrees = _range(degrees, "RandomRotation degrees")
        self.interpolation = interpolation_mode(interpolation)
        self.expand = expand
        self.center = center if center is None else list(center)
        self.fill = fill

    def make_params(self, size):
        angle = uniform(*self.degrees)
        inverse, out_size = F.rotate_matrix(size, angle, self.expand, self.center)
        return self._warp_params(inverse, out_size)


class RandomAffine(_Warp):
    """Random rotation (``degrees``), translation (fractions of width/height), ``scale`` and ``shear``."""

    def __init__(self, degrees, translate: Sequence[float] | None = None, scale: Sequence[float] | None = None,
                 shear=None, interpolation="nearest", fill=0, center=None):
        self.degrees = _range(degrees, "RandomAffine degrees")
        self.translate = translate if translate is None else tuple(float(t) for t in translate)
        if self.translate is not None and not all(0.0 <= t <= 1.0 for t in self.translate):
            raise ValueError(f"RandomAffine: translate values must be in [0, 1], got {translate}")
        self.scale = scale if scale is None else tuple(float(s) for s in scale)
        if isinstance(shear, numbers.Number):
            self.shear = _range(shear, "RandomAffine shear")
        else:
            self.shear = shear if shear is None else tuple(float(s) for s in shear)
        self.interpolation = interpolation_mode(interpolation)
        self.fill = fill
        self.center = center if center is None else list(center)

    def make_params(self, size):
        h, w = size
        angle = uniform(*self.degrees)
        tx = ty = 0
        if self.translate is not None:
            max_dx, max_dy = self.translate[0] * w, self.translate[1] * h
            tx, ty = round(uniform(-max_dx, max_dx)), round(uniform(-max_dy, max_dy))
        scale = uniform(*self.scale) if self.scale is not None else 1.0
        sx = sy = 0.0
        if self.shear is not None:
            sx = uniform(self.shear[0], self.shear[1])
            if len(self.shear) == 4:
                sy = uniform(self.shear[2], self.shear[3])
        inverse = F.affine_matrix(size, angle, (tx, ty), scale, (sx, sy), self.center)
        return self._warp_params(inverse, size)


class RandomPerspective(_Warp):
    """With probability ``p``, moves each corner inwards by up to ``distortion_scale`` of half the size."""

    def __init__(self, distortion_scale: float = 0.5, p: float = 0.5, interpolation="bilinear", fill=0):
        self.distortion_scale = distortion_scale
        self.p = p
        self.interpolation = interpolation_mode(interpolation)
        self.fill = fill

    def make_params(self, size):
        h, w = size
        if rand() >= self.p:
            return {"inverse": None, "size": size, "matrix": None}
        dw, dh = int(self.distortion_scale * (w // 2)), int(self.distortion_scale * (h // 2))
        topleft = [randint(0, dw + 1), randint(0, dh + 1)]
        topright = [randint(w - dw - 1, w), randint(0, dh + 1)]
        botright = [randint(w - dw - 1, w), randint(h - dh - 1, h)]
        botleft = [randint(0, dw + 1), randint(h - dh - 1, h)]
        start = [[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]]
        inverse = _geometry_kernels.perspective_coefficients(start, [topleft, topright, botright, botleft])
        return self._warp_params(inverse, size)

    def apply_image(self, img, params):
        return img if params["inverse"] is None else super().apply_image(img, params)

    def apply_mask(self, mask, params):
        return mask if params["inverse"] is None else super().apply_mask(mask, params)


class ElasticTransform(Transform):
    """Displaces pixels by a smooth random field (Simard et al., 2003), as torchvision v2's transform.

    Each of the x and y displacements is uniform noise in [-1, 1], blurred by a Gaussian of ``sigma``
    and scaled by ``alpha / size``; masks move with nearest interpolation. Boxes are not supported.

    Example:
        >>> import numpy as np
        >>> ElasticTransform(alpha=20.0)(np.zeros((3, 8, 8), np.float32)).shape
        (3, 8, 8)
    """

    def __init__(self, alpha=50.0, sigma=5.0, interpolation="bilinear", fill=0):
        self.alpha = alpha
        self.sigma = sigma
        self.interpolation = interpolation_mode(interpolation)
        self.fill = fill

    def _field(self, h: int, w: int, sigma: float, alpha: float, scale: int) -> np.ndarray:
        noise = rng().random((1, h, w), dtype=np.float32) * 2 - 1
        if sigma > 0.0:
            kernel = int(8 * sigma + 1)
            kernel += 1 - kernel % 2  # odd
            noise = F.gaussian_blur(noise, [kernel, kernel], [sigma, sigma])
        return noise * np.float32(alpha / scale)

    def make_params(self, size):
        h, w = size
        alpha = _pair(self.alpha)
        sigma = _pair(self.sigma)
        dx = self._field(h, w, sigma[0], alpha[0], h)
        dy = self._field(h, w, sigma[1], alpha[1], w)
        return {"displacement": np.stack([dx[0], dy[0]], axis=-1)[None]}

    def apply_image(self, img, params):
        return F.elastic_transform(img, params["displacement"], self.interpolation, self.fill)

    def apply_mask(self, mask, params):
        return mask_apply(mask, lambda m: F.elastic_transform(m, params["displacement"], _NEAREST, 0))

    def apply_boxes(self, boxes, params):
        raise NotImplementedError("ElasticTransform does not move bounding boxes")


def _pair(value) -> tuple[float, float]:
    if isinstance(value, numbers.Number):
        return float(value), float(value)
    value = tuple(float(v) for v in value)
    return value if len(value) == 2 else (value[0], value[0])
