"""``ember.vision.tv_tensors``: torchvision's tensor subclasses that tell the v2 transforms what a tensor is.

An ``Image``, ``Video``, ``Mask``, ``BoundingBoxes`` or ``KeyPoints`` is an Ember ``Tensor`` (same memory as
the data it was made from) carrying a type, and for boxes and key points the ``canvas_size`` they live on.
The transforms of ``ember.vision.transforms`` (and its ``v2`` view) look at these types: an image is
interpolated, a mask is resized with nearest interpolation, boxes and key points move through the same
coordinate map, and anything else passes through. As in torchvision, operations on a TVTensor give plain
tensors (the type says what the data *is*, and ``boxes + 1`` may no longer be boxes; an in-place
``boxes += 1`` rebinds the name to a plain tensor too), except ``clone``, ``to``, ``detach`` and
``requires_grad_``; :func:`set_return_type` ``("TVTensor")`` keeps the type for
every method and operator of the tensor (``ember.add(boxes, 1)``, a function call, still gives a plain
tensor). :func:`wrap` turns a plain tensor back into the type of another, with its metadata.

Example:
    >>> import ember
    >>> from ember.vision import tv_tensors
    >>> boxes = tv_tensors.BoundingBoxes([[0, 0, 4, 2]], format="XYXY", canvas_size=(8, 8))
    >>> boxes.format, boxes.canvas_size
    (<BoundingBoxFormat.XYXY: 'XYXY'>, (8, 8))
    >>> type(boxes + 1).__name__, type(tv_tensors.wrap(boxes + 1, like=boxes)).__name__
    ('Tensor', 'BoundingBoxes')
"""

from __future__ import annotations

import enum
import inspect
import sys
import types
from typing import Any, Self

import ember
import numpy as np
from ember import Tensor

__all__ = [
    "BoundingBoxFormat",
    "BoundingBoxes",
    "Image",
    "KeyPoints",
    "Mask",
    "TVTensor",
    "Video",
    "is_rotated_bounding_format",
    "set_return_type",
    "wrap",
]

_RETURN_TYPE = {"TVTensor": False}  # the global switch set_return_type flips, as torchvision's


class set_return_type:
    """Sets what methods and operators of a TVTensor return: ``"Tensor"`` (default) or ``"TVTensor"``.

    Takes effect when called; used as a context manager it restores the previous setting on exit.
    """

    def __init__(self, return_type: str):
        if not isinstance(return_type, str) or return_type.lower() not in ("tensor", "tvtensor"):
            raise ValueError(f"set_return_type: return_type must be 'Tensor' or 'TVTensor', got {return_type!r}")
        self._previous = _RETURN_TYPE["TVTensor"]
        _RETURN_TYPE["TVTensor"] = return_type.lower() == "tvtensor"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        _RETURN_TYPE["TVTensor"] = self._previous


def _to_tensor(data, dtype=None, requires_grad: bool | None = None) -> tuple[Tensor, bool]:
    tensor = data if isinstance(data, Tensor) and dtype is None else ember.as_tensor(
        data.numpy(force=True) if isinstance(data, Tensor) else data, dtype=dtype)
    if requires_grad is None:
        requires_grad = isinstance(data, Tensor) and data.requires_grad
    return tensor, bool(requires_grad)


_ALWAYS_KEEP = frozenset({"clone", "to", "detach", "requires_grad_", "pin_memory"})
_NOT_WRAPPED = frozenset({"__init__", "__new__", "__repr__", "__format__", "__reduce_ex__", "__deepcopy__",
                          "__setattr__", "__getattribute__", "__array__", "__init_subclass__", "__hash__",
                          "__bool__", "__len__", "__iter__", "__index__", "__int__", "__float__", "__complex__",
                          "__dlpack__", "__dlpack_device__", "numpy", "tolist", "item"})


class TVTensor(Tensor):
    """Base class of the tagged tensors; a TVTensor shares memory with the data it was built from."""

    def __init__(self, data, *, dtype=None, device=None, requires_grad: bool | None = None):
        if device is not None and str(device) != "cpu":
            raise RuntimeError(f"{type(self).__name__}: Ember computes on the CPU only, got device={device!r}")
        tensor, grad = _to_tensor(data, dtype, requires_grad)
        Tensor.__init__(self, self._checked(Tensor.detach(tensor)))
        if grad:
            self.requires_grad = True

    def _checked(self, tensor: Tensor) -> Tensor:
        """The data in this type's layout (e.g. an image gets its channel axis), or a ValueError."""
        return tensor

    @classmethod
    def _make(cls, tensor: Tensor, **metadata) -> TVTensor:
        """``tensor``'s memory as this type, with ``metadata`` as attributes (no checks)."""
        out = object.__new__(cls)
        Tensor.__init__(out, Tensor.detach(tensor))
        if tensor.requires_grad and tensor.grad_fn is None:
            out.requires_grad = True
        for key, value in metadata.items():
            object.__setattr__(out, key, value)
        return out

    @classmethod
    def wrap_like(cls, tensor: Tensor, like: TVTensor, **kwargs) -> TVTensor:
        return cls._make(tensor, **{**like._metadata(), **kwargs})

    def _metadata(self) -> dict:
        return {}

    def __repr__(self) -> str:
        text = super().__repr__()
        extra = "".join(f", {k}={v!r}" for k, v in self._metadata().items())
        if text.startswith("tensor("):
            name = type(self).__name__
            text = text[len("tensor("):-1].replace("\n" + " " * len("tensor("), "\n" + " " * (len(name) + 1))
        return f"{type(self).__name__}({text}{extra})"

    def __deepcopy__(self, memo):
        return type(self).wrap_like(Tensor.__deepcopy__(self, memo), self)

    def __reduce_ex__(self, protocol):
        return (_rebuild, (type(self), self.numpy(force=True), self.requires_grad, self._metadata()))


def _rebuild(cls, data, requires_grad, metadata):
    return cls._make(ember.as_tensor(data).requires_grad_(requires_grad), **metadata)


def _keeping(name: str, method):
    def method_keeping_type(self, *args, **kwargs):
        out = method(self, *args, **kwargs)
        keep = name in _ALWAYS_KEEP or _RETURN_TYPE["TVTensor"]
        if out is self:  # in-place (``add_``, ``+=``) or a no-op (``cpu()``): torchvision hands back a plain view
            return out if keep else Tensor.view(out, tuple(out.shape))
        if not keep:
            return out
        if isinstance(out, Tensor) and not isinstance(out, TVTensor):
            return type(self).wrap_like(out, self)
        if isinstance(out, (tuple, list)) and _RETURN_TYPE["TVTensor"]:
            return type(out)(type(self).wrap_like(o, self) if isinstance(o, Tensor) else o for o in out)
        return out

    method_keeping_type.__name__ = name
    method_keeping_type.__doc__ = method.__doc__
    return method_keeping_type


def _install_methods() -> None:
    """Gives TVTensor a wrapper of every Tensor method: the result keeps the type when it should."""
    for name in dir(Tensor):
        method = inspect.getattr_static(Tensor, name)
        if isinstance(method, types.FunctionType) and name not in _NOT_WRAPPED and (
                not name.startswith("_") or name.startswith("__")):
            setattr(TVTensor, name, _keeping(name, method))


_install_methods()


class Image(TVTensor):
    """An image or a batch of images, ``(..., C, H, W)``; a PIL image or a 2-D tensor becomes ``(C, H, W)``."""

    def __init__(self, data, *, dtype=None, device=None, requires_grad: bool | None = None):
        if _is_pil(data):
            data = _pil_array(data)
        super().__init__(data, dtype=dtype, device=device, requires_grad=requires_grad)

    def _checked(self, tensor):
        if tensor.ndim < 2:
            raise ValueError(f"Image: expected a tensor of at least 2 dimensions (H, W), got shape "
                             f"{tuple(tensor.shape)}")
        return tensor.unsqueeze(0) if tensor.ndim == 2 else tensor


class Video(TVTensor):
    """A video or a batch of videos, ``(..., T, C, H, W)``."""

    def _checked(self, tensor):
        if tensor.ndim < 4:
            raise ValueError(f"Video: expected a tensor of at least 4 dimensions (T, C, H, W), got shape "
                             f"{tuple(tensor.shape)}")
        return tensor


class Mask(TVTensor):
    """A segmentation mask, ``(..., H, W)`` (one per object, or one of class indices); resized with nearest."""

    def __init__(self, data, *, dtype=None, device=None, requires_grad: bool | None = None):
        if _is_pil(data):
            data = _pil_array(data)  # (1, H, W) for a one-band image, as torchvision
        super().__init__(data, dtype=dtype, device=device, requires_grad=requires_grad)


class BoundingBoxFormat(enum.Enum):
    """How the numbers of a box are laid out (``XYXY``: corners; ``XYWH``: corner and size; ``CXCYWH``: centre
    and size; ``XYWHR``, ``CXCYWHR``, ``XYXYXYXY``: rotated boxes)."""

    XYXY = "XYXY"
    XYWH = "XYWH"
    CXCYWH = "CXCYWH"
    XYWHR = "XYWHR"
    CXCYWHR = "CXCYWHR"
    XYXYXYXY = "XYXYXYXY"


def is_rotated_bounding_format(format) -> bool:
    if isinstance(format, BoundingBoxFormat):
        return format.value in ("XYWHR", "CXCYWHR", "XYXYXYXY")
    if isinstance(format, str):
        return format in ("XYWHR", "CXCYWHR", "XYXYXYXY")
    raise ValueError(f"format should be str or BoundingBoxFormat, got {type(format)}")


def _box_format(format) -> BoundingBoxFormat:
    if isinstance(format, BoundingBoxFormat):
        return format
    if isinstance(format, str) and format.upper() in BoundingBoxFormat.__members__:
        return BoundingBoxFormat[format.upper()]
    raise ValueError(f"BoundingBoxes: format must be a BoundingBoxFormat or one of "
                     f"{list(BoundingBoxFormat.__members__)}, got {format!r}")


def _canvas(canvas_size, where: str) -> tuple[int, int]:
    try:
        h, w = (int(s) for s in canvas_size)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: canvas_size must be (height, width), got {canvas_size!r}") from None
    return h, w


class BoundingBoxes(TVTensor):
    """Boxes of one image, ``(N, K)`` (K = 4, or 5 / 8 for rotated formats), with ``format`` and ``canvas_size``.

    Args:
        data: the boxes (a 1-D tensor is one box).
        format: a :class:`BoundingBoxFormat` or its name.
        canvas_size: ``(height, width)`` of the image the boxes belong to.
        clamping_mode: ``"soft"`` (default) or ``"hard"`` clamp moved boxes to the canvas; ``None`` does not.
    """

    def __init__(self, data, *, format, canvas_size, clamping_mode: str | None = "soft", dtype=None,
                 device=None, requires_grad: bool | None = None):
        super().__init__(data, dtype=dtype, device=device, requires_grad=requires_grad)
        if clamping_mode not in (None, "soft", "hard"):
            raise ValueError(f"clamping_mode must be None, hard or soft, got {clamping_mode}.")
        self.format = _box_format(format)
        if is_rotated_bounding_format(self.format) and not self.is_floating_point():
            raise ValueError(f"Rotated bounding boxes should be floating point tensors, got {self.dtype}.")
        self.canvas_size = _canvas(canvas_size, "BoundingBoxes")
        self.clamping_mode = clamping_mode

    def _checked(self, tensor):
        if tensor.ndim not in (1, 2):
            raise ValueError(f"BoundingBoxes: expected a 1D or 2D tensor, got {tensor.ndim}D")
        return tensor.unsqueeze(0) if tensor.ndim == 1 else tensor

    def _metadata(self) -> dict:
        return {"format": self.format, "canvas_size": self.canvas_size, "clamping_mode": self.clamping_mode}


class KeyPoints(TVTensor):
    """Points ``(..., 2)`` as (x, y) pixel coordinates, with the ``canvas_size`` they live on; a 1-D tensor
    is one point."""

    def __init__(self, data, *, canvas_size, dtype=None, device=None, requires_grad: bool | None = None):
        super().__init__(data, dtype=dtype, device=device, requires_grad=requires_grad)
        self.canvas_size = _canvas(canvas_size, "KeyPoints")

    def _checked(self, tensor):
        if tensor.ndim == 0 or tensor.shape[-1] != 2:
            raise ValueError(f"KeyPoints: expected a tensor of shape (..., 2), got {tuple(tensor.shape)}")
        return tensor.unsqueeze(0) if tensor.ndim == 1 else tensor

    def _metadata(self) -> dict:
        return {"canvas_size": self.canvas_size}


def wrap(wrappee: Tensor, *, like: TVTensor, **kwargs: Any) -> TVTensor:
    """``wrappee`` as the type of ``like``, with ``like``'s metadata unless ``kwargs`` override it."""
    if not isinstance(like, TVTensor):
        raise TypeError(f"wrap: like must be a TVTensor, got {type(like).__name__}")
    if not isinstance(wrappee, Tensor):
        wrappee = ember.as_tensor(np.asarray(wrappee))
    if "format" in kwargs:
        kwargs["format"] = _box_format(kwargs["format"])
    return type(like).wrap_like(wrappee, like, **kwargs)


def _is_pil(obj) -> bool:
    module = sys.modules.get("PIL.Image")
    return module is not None and isinstance(obj, module.Image)


def _pil_array(img) -> np.ndarray:
    """A PIL image as a (C, H, W) array of its own dtype (torchvision's ``pil_to_tensor``)."""
    arr = np.asarray(img)
    return np.ascontiguousarray((arr[:, :, None] if arr.ndim == 2 else arr).transpose(2, 0, 1))
