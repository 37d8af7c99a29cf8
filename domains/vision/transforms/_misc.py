"""Containers, conversions and colour transforms (these leave masks and boxes alone)."""

from __future__ import annotations

import math
import numbers
from typing import Any
from collections.abc import Callable, Sequence

import numpy as np

from ember.tensor import Tensor

from . import functional as F
from ._base import Transform, rand, randint, rng, uniform
from ._image import is_image, is_pil, unpack, unsupported

__all__ = [
    "ColorJitter",
    "Compose",
    "GaussianBlur",
    "Grayscale",
    "Lambda",
    "Normalize",
    "PILToTensor",
    "RandomAdjustSharpness",
    "RandomApply",
    "RandomAutocontrast",
    "RandomChoice",
    "RandomEqualize",
    "RandomErasing",
    "RandomGrayscale",
    "RandomInvert",
    "RandomOrder",
    "RandomPosterize",
    "RandomSolarize",
    "ToDtype",
    "ToPILImage",
    "ToTensor",
    "build_transform",
]


def _build_all(transforms) -> list:
    return [build_transform(t) if isinstance(t, (dict, str)) else t for t in transforms]


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


class Compose(Transform):
    """Chains transforms (each may also be given as a recipe dict, see ``build_transform``).

    Example:
        >>> import numpy as np
        >>> t = Compose([ToTensor(), Normalize([0.5], [0.5])])
        >>> t(np.zeros((2, 2), np.uint8)).tolist()
        [[[-1.0, -1.0], [-1.0, -1.0]]]
    """

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = _build_all(transforms)

    def __call__(self, inputs, *rest):
        if rest:
            raise TypeError(f"Compose takes one image or one sample dict, got {1 + len(rest)} arguments")
        for t in self.transforms:
            inputs = t(inputs)
        return inputs

    def __repr__(self) -> str:
        inner = ",\n".join(_indent(repr(t)) for t in self.transforms)
        return f"{type(self).__name__}([\n{inner},\n])" if self.transforms else f"{type(self).__name__}([])"


class RandomApply(Compose):
    """Applies the list of transforms with probability ``p``."""

    def __init__(self, transforms: Sequence[Callable], p: float = 0.5):
        super().__init__(transforms)
        self.p = p

    def __call__(self, inputs, *rest):
        if rand() >= self.p:
            if not isinstance(inputs, dict) and not is_image(inputs):
                raise unsupported(inputs, "RandomApply")
            return inputs
        return super().__call__(inputs, *rest)

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", p={self.p!r})"


class RandomChoice(Compose):
    """Applies one transform picked at random (weights ``p``, uniform by default)."""

    def __init__(self, transforms: Sequence[Callable], p: Sequence[float] | None = None):
        super().__init__(transforms)
        if p is not None and len(p) != len(self.transforms):
            raise ValueError(f"RandomChoice: {len(p)} probabilities for {len(self.transforms)} transforms")
        self.p = p if p is None else list(p)

    def __call__(self, inputs, *rest):
        weights = np.asarray(self.p if self.p is not None else [1.0] * len(self.transforms), dtype=np.float64)
        index = int(rng().choice(len(self.transforms), p=weights / weights.sum()))
        return self.transforms[index](inputs, *rest)

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + (f", p={self.p!r})" if self.p is not None else ")")


class RandomOrder(Compose):
    """Applies the transforms in a random order."""

    def __call__(self, inputs, *rest):
        for index in rng().permutation(len(self.transforms)):
            inputs = self.transforms[int(index)](inputs, *rest)
        return inputs


class Lambda(Transform):
    """Applies a user function to the image (the one transform that needs a callable)."""

    def __init__(self, lambd: Callable):
        if not callable(lambd):
            raise TypeError(f"Lambda needs a callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def apply_image(self, img, params):
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"Lambda({getattr(self.lambd, '__name__', repr(self.lambd))})"


class ToTensor(Transform):
    """PIL image or HWC ndarray (uint8 in [0, 255]) -> float32 CHW tensor in [0, 1]."""

    def apply_image(self, img, params):
        return F.to_tensor(img)


class PILToTensor(Transform):
    """PIL image -> uint8 CHW tensor (no scaling)."""

    def apply_image(self, img, params):
        return F.pil_to_tensor(img)


class ToPILImage(Transform):
    """CHW tensor or HWC ndarray -> PIL image."""

    def __init__(self, mode: str | None = None):
        self.mode = mode

    def apply_image(self, img, params):
        return F.to_pil_image(img, self.mode)


class ToDtype(Transform):
    """Casts the image to ``dtype`` (e.g. ``"float32"``); ``scale=True`` rescales the value range."""

    def __init__(self, dtype, scale: bool = False):
        self.dtype = dtype if isinstance(dtype, str) else str(dtype).replace("ember.", "")
        self.scale = scale

    def apply_image(self, img, params):
        return F.to_dtype(img, self.dtype, self.scale)


class Normalize(Transform):
    """``(x - mean) / std`` per channel on a float image."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False):
        self.mean = [float(m) for m in mean]
        self.std = [float(s) for s in std]
        self.inplace = inplace

    def apply_image(self, img, params):
        if isinstance(img, Tensor) and img.data.dtype == np.float32 and img.data.ndim == 3 and (
                img.data.shape[0] == len(self.mean) and not self.inplace):
            if not hasattr(self, "_arrays"):  # cached per instance: the common float32 CHW case
                self._arrays = (np.asarray(self.mean, np.float32).reshape(-1, 1, 1),
                                np.asarray(self.std, np.float32).reshape(-1, 1, 1))
                F.normalize(img, self.mean, self.std)  # validates std once
            out = img.data - self._arrays[0]
            out /= self._arrays[1]
            return Tensor._wrap(out)
        return F.normalize(img, self.mean, self.std, self.inplace)


class ColorJitter(Transform):
    """Random brightness, contrast, saturation and hue, applied in a random order.

    Each of ``brightness``, ``contrast``, ``saturation`` is a number ``b`` (factor drawn from
    ``[max(0, 1 - b), 1 + b]``) or a (min, max) pair; ``hue`` is ``h`` (shift in ``[-h, h]``, h <= 0.5).
    """

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        self.brightness = self._check(brightness, "brightness")
        self.contrast = self._check(contrast, "contrast")
        self.saturation = self._check(saturation, "saturation")
        self.hue = self._check(hue, "hue", center=0.0, bound=(-0.5, 0.5))

    @staticmethod
    def _check(value, name, center=1.0, bound=(0.0, math.inf)):
        if value is None:
            return None
        if isinstance(value, numbers.Number):
            if value < 0:
                raise ValueError(f"ColorJitter: {name} must be non-negative, got {value}")
            value = (max(center - value, bound[0]), center + value)
        value = tuple(float(v) for v in value)
        if len(value) != 2 or not bound[0] <= value[0] <= value[1] <= bound[1]:
            raise ValueError(f"ColorJitter: {name} must be a number or a (min, max) pair within {bound}, got {value}")
        return None if value[0] == value[1] == center else value

    def _repr_items(self):
        return [(k, v) for k, v in super()._repr_items() if v is not None]

    def make_params(self, size):
        order = rng().permutation(4)
        factors = [None if not r else uniform(*r) for r in (self.brightness, self.contrast, self.saturation, self.hue)]
        return {"order": order, "factors": factors}

    def apply_image(self, img, params):
        ops = (F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue)
        for index in params["order"]:
            factor = params["factors"][index]
            if factor is not None:
                img = ops[index](img, factor)
        return img


class Grayscale(Transform):
    """Converts to greyscale with 1 or 3 output channels."""

    def __init__(self, num_output_channels: int = 1):
        self.num_output_channels = num_output_channels

    def apply_image(self, img, params):
        return F.rgb_to_grayscale(img, self.num_output_channels)


class RandomGrayscale(Transform):
    """With probability ``p``, greyscale keeping the number of channels."""

    def __init__(self, p: float = 0.1):
        self.p = p

    def make_params(self, size):
        return {"apply": rand() < self.p}

    def apply_image(self, img, params):
        if not params["apply"]:
            return img
        channels = F.get_dimensions(img)[0]
        return F.rgb_to_grayscale(img, 3 if channels >= 3 else 1)


class GaussianBlur(Transform):
    """Gaussian blur with ``sigma`` drawn uniformly from ``(min, max)``."""

    def __init__(self, kernel_size, sigma=(0.1, 2.0)):
        self.kernel_size = kernel_size if isinstance(kernel_size, numbers.Number) else tuple(kernel_size)
        ks = F._pair(kernel_size)
        if any(k <= 0 or k % 2 == 0 for k in ks):
            raise ValueError(f"GaussianBlur: kernel_size must be odd and positive, got {kernel_size}")
        self.sigma = (float(sigma), float(sigma)) if isinstance(sigma, numbers.Number) else tuple(
            float(s) for s in sigma)
        if not 0 < self.sigma[0] <= self.sigma[1]:
            raise ValueError(f"GaussianBlur: sigma must be positive with min <= max, got {sigma}")

    def make_params(self, size):
        return {"sigma": uniform(*self.sigma)}

    def apply_image(self, img, params):
        return F.gaussian_blur(img, self.kernel_size, params["sigma"])


class _RandomColorOp(Transform):
    """Applies ``self._op(img, *self._args())`` with probability ``p``."""

    def make_params(self, size):
        return {"apply": rand() < self.p}

    def apply_image(self, img, params):
        return self._op(img, *self._args()) if params["apply"] else img

    def _args(self) -> tuple:
        return ()


class RandomInvert(_RandomColorOp):
    """Inverts the colours with probability ``p``."""

    _op = staticmethod(F.invert)

    def __init__(self, p: float = 0.5):
        self.p = p


class RandomPosterize(_RandomColorOp):
    """Keeps ``bits`` bits per channel with probability ``p`` (uint8 images)."""

    _op = staticmethod(F.posterize)

    def __init__(self, bits: int, p: float = 0.5):
        self.bits = bits
        self.p = p

    def _args(self):
        return (self.bits,)


class RandomSolarize(_RandomColorOp):
    """Inverts the values at or above ``threshold`` with probability ``p``."""

    _op = staticmethod(F.solarize)

    def __init__(self, threshold: float, p: float = 0.5):
        self.threshold = threshold
        self.p = p

    def _args(self):
        return (self.threshold,)


class RandomAdjustSharpness(_RandomColorOp):
    """Adjusts the sharpness by ``sharpness_factor`` with probability ``p``."""

    _op = staticmethod(F.adjust_sharpness)

    def __init__(self, sharpness_factor: float, p: float = 0.5):
        self.sharpness_factor = sharpness_factor
        self.p = p

    def _args(self):
        return (self.sharpness_factor,)


class RandomAutocontrast(_RandomColorOp):
    """Stretches each channel to the full range with probability ``p``."""

    _op = staticmethod(F.autocontrast)

    def __init__(self, p: float = 0.5):
        self.p = p


class RandomEqualize(_RandomColorOp):
    """Equalises the histogram with probability ``p`` (uint8 images)."""

    _op = staticmethod(F.equalize)

    def __init__(self, p: float = 0.5):
        self.p = p


class RandomErasing(Transform):
    """With probability ``p``, erases a random rectangle (area ``scale``, aspect ``ratio``) with ``value``
    (a number, per-channel values, or ``"random"`` for Gaussian noise)."""

    def __init__(self, p: float = 0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value: Any = 0, inplace: bool = False):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomErasing: p must be in [0, 1], got {p}")
        if isinstance(value, str) and value != "random":
            raise ValueError(f"RandomErasing: value must be a number, a sequence or 'random', got {value!r}")
        self.p = p
        self.scale = tuple(float(s) for s in scale)
        self.ratio = tuple(float(r) for r in ratio)
        self.value = value if isinstance(value, (numbers.Number, str)) else list(value)
        self.inplace = inplace

    def make_params(self, size):
        h, w = size
        if rand() >= self.p:
            return {"box": None}
        area = h * w
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            erase_area = area * uniform(*self.scale)
            aspect = math.exp(uniform(*log_ratio))
            eh = round(math.sqrt(erase_area * aspect))
            ew = round(math.sqrt(erase_area / aspect))
            if eh < h and ew < w:
                return {"box": (randint(0, h - eh + 1), randint(0, w - ew + 1), eh, ew)}
        return {"box": None}

    def apply_image(self, img, params):
        if params["box"] is None:
            return img
        i, j, eh, ew = params["box"]
        arr, _ = unpack(img, "RandomErasing")
        if self.value == "random":
            noise = rng().standard_normal((arr.shape[-3], eh, ew)).astype(np.float32)
            v = noise if arr.dtype.kind == "f" else np.clip(noise * 64 + 128, 0, 255)
        else:
            v = np.asarray(self.value, dtype=np.float64).reshape(-1, 1, 1)
        return F.erase(img, i, j, eh, ew, v, self.inplace and not is_pil(img))


# --- recipes ------------------------------------------------------------------------------------------


def build_transform(spec):
    """Builds a transform from plain data, as a recipe holds it.

    ``spec`` is a list (-> ``Compose``), a class name string (no arguments), ``{"Name": {args}}``, or
    LightningCLI's ``{"class_path": "Name" or "dotted.path.Name", "init_args": {args}}``. Nested
    transform lists inside the arguments (``RandomApply``, ``RandomChoice``) may be specs too.

    Example:
        >>> build_transform([{"RandomCrop": {"size": 32, "padding": 4}}, "ToTensor"])
        Compose([
            RandomCrop(size=(32, 32), padding=4),
            ToTensor(),
        ])
    """
    import importlib

    from ember.vision import transforms as namespace

    if isinstance(spec, Transform):
        return spec
    if isinstance(spec, (list, tuple)):
        return namespace.Compose([build_transform(s) for s in spec])
    if isinstance(spec, str):
        name, args = spec, {}
    elif isinstance(spec, dict) and "class_path" in spec:
        unknown = set(spec) - {"class_path", "init_args"}
        if unknown:
            raise ValueError(f"build_transform: unknown keys {sorted(unknown)} next to class_path")
        name, args = spec["class_path"], dict(spec.get("init_args") or {})
    elif isinstance(spec, dict) and len(spec) == 1:
        name, args = next(iter(spec.items()))
        args = dict(args or {})
    else:
        raise TypeError(f"build_transform: expected a list, a name, {{name: args}} or {{class_path, init_args}}, "
                        f"got {spec!r}")
    if "." in name:
        module_name, _, attr = name.rpartition(".")
        cls = getattr(importlib.import_module(module_name), attr)
        if not (isinstance(cls, type) and issubclass(cls, Transform)):  # recipe data must not run any callable
            raise ValueError(f"build_transform: {name} is not a Transform class (got {type(cls).__name__})")
    else:
        cls = getattr(namespace, name, None)
        if not (isinstance(cls, type) and issubclass(cls, Transform)):
            import difflib

            names = [n for n in dir(namespace) if isinstance(getattr(namespace, n), type)
                     and issubclass(getattr(namespace, n), Transform)]
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"build_transform: unknown transform {name!r}{hint}")
    if "transforms" in args:
        args["transforms"] = _build_all(args["transforms"])
    return cls(**args)
