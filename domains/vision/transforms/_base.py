"""The ``Transform`` base class: one image, or a sample dict transformed consistently.

A transform is called on an image (PIL, ndarray or tensor) or on a sample dict with the keys
``image``, ``mask``, ``boxes`` (a ``BoundingBoxes``) and ``labels``. Called as torchvision's v2 transforms
are -- on several arguments, a tuple, or a structure (dicts, lists, tuples) holding ``tv_tensors`` -- it
dispatches on the type of each leaf as torchvision does: ``Image`` / ``Video``, PIL images and the first
plain tensor (when there is no image) are images, a ``Mask`` is a mask, ``BoundingBoxes`` and
``KeyPoints`` move with the geometry (all of them kept; ``SanitizeBoundingBoxes`` drops), anything else
passes through. Random parameters are drawn once
per call, from Ember's default generator (which the DataLoader seeds per sample), and applied to every
entry: a geometric transform moves the mask with nearest interpolation and the boxes through the same
coordinate map; boxes that end up outside the image are dropped together with their labels. Other
keys pass through untouched.
"""

from __future__ import annotations

import inspect
from typing import Any

import ember
import ember.random as _random
import numpy as np
from ember import Tensor

from .. import tv_tensors
from ._image import image_size, is_image, is_pil, unsupported

BOX_FORMATS = ("XYXY", "XYWH", "CXCYWH")


def rng() -> np.random.Generator:
    """Ember's default generator (numpy API); looked up on each call since ``manual_seed`` replaces it."""
    return _random.default_generator.np


def uniform(low: float, high: float) -> float:
    return low + (high - low) * _random.default_generator.np.random()


def randint(low: int, high: int) -> int:
    """An int in ``[low, high)`` (``floor`` of a uniform draw: one cheap call instead of ``integers``)."""
    if high <= low:
        raise ValueError(f"randint: empty range [{low}, {high})")
    return low + min(int((high - low) * _random.default_generator.np.random()), high - low - 1)


def rand() -> float:
    return _random.default_generator.np.random()


class BoundingBoxes:
    """Boxes of one image: an (N, 4) float array, its ``format`` and the ``canvas_size`` (H, W) it lives on.

    Args:
        data: (N, 4) boxes (list, ndarray or tensor).
        format: ``"XYXY"``, ``"XYWH"`` or ``"CXCYWH"`` (pixel units, x to the right, y down).
        canvas_size: ``(height, width)`` of the image the boxes belong to.

    Example:
        >>> boxes = BoundingBoxes([[10, 20, 30, 40]], format="XYXY", canvas_size=(64, 64))
        >>> len(boxes)
        1
    """

    def __init__(self, data, format: str = "XYXY", canvas_size: tuple[int, int] | None = None):
        if canvas_size is None:
            raise ValueError("BoundingBoxes needs canvas_size=(height, width)")
        fmt = str(format).upper()
        if fmt not in BOX_FORMATS:
            raise ValueError(f"BoundingBoxes: format must be one of {BOX_FORMATS}, got {format!r}")
        arr = np.asarray(data, dtype=np.float32).reshape(-1, 4)
        self.data = arr
        self.format = fmt
        self.canvas_size = (int(canvas_size[0]), int(canvas_size[1]))

    def __len__(self) -> int:
        return len(self.data)

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def to_tensor(self) -> Tensor:
        return ember.from_numpy(self.data.copy())

    def convert(self, format: str) -> BoundingBoxes:
        """The same boxes in another format."""
        return BoundingBoxes(from_xyxy(to_xyxy(self.data, self.format), format.upper()), format, self.canvas_size)

    def __repr__(self) -> str:
        return (f"BoundingBoxes({self.data.tolist()}, format={self.format!r}, "
                f"canvas_size={self.canvas_size})")


def to_xyxy(b: np.ndarray, fmt: str) -> np.ndarray:
    if fmt == "XYXY":
        return b.copy()
    if fmt == "XYWH":
        return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)
    return np.concatenate([b[:, :2] - b[:, 2:] / 2, b[:, :2] + b[:, 2:] / 2], axis=1)


def from_xyxy(b: np.ndarray, fmt: str) -> np.ndarray:
    if fmt == "XYXY":
        return b
    if fmt == "XYWH":
        return np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)
    return np.concatenate([(b[:, :2] + b[:, 2:]) / 2, b[:, 2:] - b[:, :2]], axis=1)


def transform_boxes(boxes: BoundingBoxes, forward: np.ndarray, out_size: tuple[int, int],
                    min_size: float = 1.0, clamp: bool = True) -> tuple[BoundingBoxes, np.ndarray]:
    """Maps boxes through a 3x3 input->output matrix; returns the clamped boxes and the kept-rows mask.

    Each box becomes the enclosing box of its four mapped corners, clamped to the new canvas (unless
    ``clamp`` is False); boxes narrower or shorter than ``min_size`` pixels after clamping (i.e. that
    left the image) are dropped.
    """
    xyxy = to_xyxy(boxes.data.astype(np.float64), boxes.format)
    x1, y1, x2, y2 = xyxy.T
    corners = np.stack([np.stack([x1, y1], 1), np.stack([x2, y1], 1), np.stack([x2, y2], 1),
                        np.stack([x1, y2], 1)], axis=1)  # (N, 4, 2)
    homogeneous = np.concatenate([corners, np.ones(corners.shape[:2] + (1,))], axis=2) @ forward.T
    mapped = homogeneous[..., :2] / homogeneous[..., 2:3]
    h, w = out_size
    new = np.concatenate([mapped.min(axis=1), mapped.max(axis=1)], axis=1)
    if clamp:
        new[:, 0::2] = np.clip(new[:, 0::2], 0, w)
        new[:, 1::2] = np.clip(new[:, 1::2], 0, h)
    keep = ((new[:, 2] - new[:, 0]) >= min_size) & ((new[:, 3] - new[:, 1]) >= min_size)
    out = from_xyxy(new[keep], boxes.format).astype(np.float32)
    return BoundingBoxes(out, boxes.format, out_size), keep


def _filter_labels(labels, keep: np.ndarray):
    if isinstance(labels, Tensor):
        return ember.from_numpy(labels.numpy(force=True)[keep])
    if isinstance(labels, np.ndarray):
        return labels[keep]
    return [label for label, k in zip(labels, keep) if k]


class Transform:
    """Base class. Subclasses override ``make_params`` (random draws) and ``apply_image``; geometric
    transforms also set ``params["matrix"]`` (3x3, input -> output pixel coordinates) and
    ``params["size"]`` (output (H, W)) and override ``apply_mask``.

    A custom transform written for torchvision v2 overrides ``transform(inpt, params)`` instead (and
    optionally ``make_params(flat_inputs)``), calling kernels through ``self._call_kernel``; it then runs
    as in torchvision: ``transform`` sees every input of ``_transformed_types`` (tensors and PIL images,
    plain tensors only as the image), the rest passes through.
    """

    #: set by geometric transforms: their params carry a coordinate map for boxes
    geometric = False
    #: torchvision's: what a custom ``transform`` is called on (types or predicates)
    _transformed_types: tuple = (Tensor, is_pil)

    def __call__(self, *inputs: Any):
        if not inputs:
            raise TypeError(f"{type(self).__name__} needs an image, a sample dict or tv_tensors, got no argument")
        if type(self).transform is not Transform.transform:
            return self._call_custom(inputs if len(inputs) > 1 else inputs[0])
        if uses_tv_tensors(inputs):
            return self._call_tv(inputs if len(inputs) > 1 else inputs[0])
        inputs = inputs[0]
        if isinstance(inputs, dict):
            return self._call_sample(inputs)
        if not is_image(inputs):
            raise unsupported(inputs, type(self).__name__)
        params = self.make_params(image_size(inputs))
        return self.apply_image(inputs, params)

    def _call_sample(self, sample: dict) -> dict:
        if "image" not in sample:
            raise KeyError(f"{type(self).__name__}: a sample dict needs an 'image' key, got keys {list(sample)}")
        image = sample["image"]
        if not is_image(image):
            raise unsupported(image, f"{type(self).__name__} (sample['image'])")
        size = image_size(image)
        params = self.make_params(size)
        out = dict(sample)
        out["image"] = self.apply_image(image, params)
        for key in ("mask", "masks"):
            if key in sample and sample[key] is not None:
                out[key] = self.apply_mask(sample[key], params)
        boxes = sample.get("boxes")
        if boxes is not None:
            if not isinstance(boxes, BoundingBoxes):
                raise TypeError(f"{type(self).__name__}: sample['boxes'] must be a BoundingBoxes (with format "
                                f"and canvas_size), got {type(boxes).__name__}")
            if tuple(boxes.canvas_size) != tuple(size):
                raise ValueError(f"{type(self).__name__}: boxes.canvas_size {boxes.canvas_size} does not match "
                                 f"the image size {size}")
            new_boxes, keep = self.apply_boxes(boxes, params)
            out["boxes"] = new_boxes
            if "labels" in sample and sample["labels"] is not None and not keep.all():
                out["labels"] = _filter_labels(sample["labels"], keep)
        return out

    def make_params(self, size: tuple[int, int]) -> dict:
        return {}

    def apply_image(self, img, params: dict):
        raise NotImplementedError

    def apply_mask(self, mask, params: dict):
        return mask

    def apply_boxes(self, boxes: BoundingBoxes, params: dict):
        if not self.geometric or params.get("matrix") is None:
            return boxes, np.ones(len(boxes), dtype=bool)
        return transform_boxes(boxes, params["matrix"], params["size"], params.get("min_box_size", 1.0),
                               params.get("clamp_boxes", True))

    # --- torchvision v2's protocol for custom transforms ------------------------------------------
    def transform(self, inpt: Any, params: dict) -> Any:
        """torchvision's hook: override it (with ``make_params(flat_inputs)``) to write a v2-style transform."""
        raise NotImplementedError

    def _call_kernel(self, functional, inpt: Any, *args: Any, **kwargs: Any) -> Any:
        """``functional(inpt, ...)``; an input the functional does not take (a mask for a colour op) passes."""
        if getattr(functional, "images_only", False) and isinstance(inpt, tv_tensors.TVTensor) and not isinstance(
                inpt, (tv_tensors.Image, tv_tensors.Video)):
            return inpt
        return functional(inpt, *args, **kwargs)

    def _call_custom(self, structure: Any):
        leaves, rebuild = flatten(structure)
        pure_is_image = not any(isinstance(leaf, (tv_tensors.Image, tv_tensors.Video)) or is_pil(leaf)
                                for leaf in leaves)
        needs = []
        for leaf in leaves:
            need = any(isinstance(leaf, t) if isinstance(t, type) else t(leaf) for t in self._transformed_types)
            if need and is_pure_tensor(leaf):
                need, pure_is_image = pure_is_image, False
            needs.append(need)
        params = self.make_params([leaf for leaf, need in zip(leaves, needs) if need])
        return rebuild([self.transform(leaf, params) if need else leaf for leaf, need in zip(leaves, needs)])

    # --- torchvision v2's calling convention: tv_tensors anywhere in the inputs ------------------
    def _call_tv(self, structure: Any):
        leaves, rebuild = flatten(structure)
        needs = needs_transform(leaves)
        chosen = [leaf for leaf, need in zip(leaves, needs) if need]
        if not chosen:  # nothing a transform understands: an error rather than a silent pass-through
            raise unsupported(structure, type(self).__name__)
        params = dict(self.make_params(query_size(chosen)), min_box_size=0.0)
        return rebuild([self.transform_leaf(leaf, params) if need else leaf for leaf, need in zip(leaves, needs)])

    def transform_leaf(self, leaf: Any, params: dict) -> Any:
        """One input of a v2-style call, transformed according to its type."""
        if isinstance(leaf, tv_tensors.BoundingBoxes):
            return self._tv_boxes(leaf, params)
        if isinstance(leaf, tv_tensors.KeyPoints):
            return self._tv_keypoints(leaf, params)
        if isinstance(leaf, tv_tensors.Mask):
            if type(self).apply_mask is Transform.apply_mask:  # not a geometric transform: passes through
                return leaf
            return _rewrap(self.apply_mask(ember.Tensor.detach(leaf), params), leaf)
        if isinstance(leaf, (tv_tensors.Image, tv_tensors.Video)):
            return _rewrap(self.apply_image(ember.Tensor.detach(leaf), params), leaf)
        if isinstance(leaf, tv_tensors.TVTensor):
            return leaf
        return self.apply_image(leaf, params)

    def _tv_boxes(self, boxes: tv_tensors.BoundingBoxes, params: dict):
        if type(self).apply_boxes is Transform.apply_boxes and (not self.geometric or params.get("matrix") is None):
            return boxes
        holder = boxes_holder(boxes, type(self).__name__)
        moved, _ = self.apply_boxes(holder, dict(params, clamp_boxes=boxes.clamping_mode is not None))
        return tv_boxes_like(moved.data, boxes, moved.canvas_size)

    def _tv_keypoints(self, points: tv_tensors.KeyPoints, params: dict):
        if not self.geometric or params.get("matrix") is None:
            return points
        arr = points.numpy(force=True)
        matrix = params.get("keypoint_matrix", params["matrix"])
        flat = np.concatenate([arr.reshape(-1, 2).astype(np.float64), np.ones((arr.size // 2, 1))], axis=1)
        flat = flat @ matrix.T
        moved = (flat[:, :2] / flat[:, 2:3]).reshape(arr.shape)
        return tv_tensors.KeyPoints._make(ember.from_numpy(_cast(moved, arr.dtype)),
                                          canvas_size=tuple(params["size"]))

    # --- repr: the constructor call that rebuilds this transform ---------------------------------
    def _repr_items(self) -> list[tuple[str, Any]]:
        items = []
        for name, p in inspect.signature(type(self).__init__).parameters.items():
            if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or not hasattr(self, name):
                continue
            value = getattr(self, name)
            if p.default is p.empty or not _same(value, p.default):
                items.append((name, value))
        return items

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._repr_items())
        return f"{type(self).__name__}({args})"


def flatten(structure: Any) -> tuple[list, Any]:
    """The leaves of nested dicts / lists / tuples, and a function rebuilding the structure from new leaves."""
    if isinstance(structure, dict):
        keys = list(structure)
        parts = [flatten(structure[k]) for k in keys]
    elif isinstance(structure, (list, tuple)):
        keys = None
        parts = [flatten(item) for item in structure]
    else:
        return [structure], lambda leaves: leaves[0]
    counts = [len(leaves) for leaves, _ in parts]

    def rebuild(leaves: list):
        items, start = [], 0
        for (_, part_rebuild), n in zip(parts, counts):
            items.append(part_rebuild(leaves[start:start + n]))
            start += n
        if keys is not None:
            return type(structure)(zip(keys, items)) if type(structure) is not dict else dict(zip(keys, items))
        if isinstance(structure, tuple) and hasattr(structure, "_fields"):  # a namedtuple
            return type(structure)(*items)
        return type(structure)(items)

    return [leaf for leaves, _ in parts for leaf in leaves], rebuild


def uses_tv_tensors(inputs: tuple) -> bool:
    """Whether a call takes torchvision v2's path: several arguments, a tuple / list, or tv_tensors inside."""
    if len(inputs) != 1 or isinstance(inputs[0], (list, tuple, tv_tensors.TVTensor)):
        return True
    return isinstance(inputs[0], dict) and any(isinstance(leaf, tv_tensors.TVTensor)
                                               for leaf in flatten(inputs[0])[0])


def is_pure_tensor(obj) -> bool:
    """A tensor that is not a TVTensor (torchvision's ``is_pure_tensor``)."""
    return isinstance(obj, Tensor) and not isinstance(obj, tv_tensors.TVTensor)


def needs_transform(leaves: list) -> list[bool]:
    """torchvision's rule: tensors and PIL images are transformed, a plain tensor (or, in Ember, an ndarray)
    only when it is the first one and the sample holds no Image, Video or PIL image (then it is the image);
    the rest passes through."""
    pure_is_image = not any(isinstance(leaf, (tv_tensors.Image, tv_tensors.Video)) or is_pil(leaf)
                            for leaf in leaves)
    out = []
    for leaf in leaves:
        need = isinstance(leaf, (Tensor, np.ndarray)) or is_pil(leaf)
        if need and (is_pure_tensor(leaf) or isinstance(leaf, np.ndarray)):
            need, pure_is_image = pure_is_image, False
        out.append(need)
    return out


def leaf_size(leaf) -> tuple[int, int]:
    if isinstance(leaf, (tv_tensors.BoundingBoxes, tv_tensors.KeyPoints)):
        return tuple(leaf.canvas_size)
    if isinstance(leaf, tv_tensors.TVTensor):
        return tuple(leaf.shape[-2:])
    return image_size(leaf)


def query_size(leaves: list) -> tuple[int, int]:
    """The one (H, W) of the images, videos, masks, boxes and key points among ``leaves``."""
    sizes = {leaf_size(leaf) for leaf in leaves
             if is_pil(leaf) or is_pure_tensor(leaf) or isinstance(leaf, (np.ndarray,
                 tv_tensors.Image, tv_tensors.Video, tv_tensors.Mask, tv_tensors.BoundingBoxes,
                 tv_tensors.KeyPoints))}
    if not sizes:
        raise TypeError("No image, video, mask, bounding box of keypoint was found in the sample")
    if len(sizes) > 1:
        raise ValueError(f"Found multiple HxW dimensions in the sample: {', '.join(map(str, sorted(sizes)))}")
    return sizes.pop()


def boxes_holder(boxes: tv_tensors.BoundingBoxes, where: str) -> BoundingBoxes:
    """A tv_tensors.BoundingBoxes as the array holder the transforms compute on."""
    if tv_tensors.is_rotated_bounding_format(boxes.format):
        raise NotImplementedError(f"{where}: rotated bounding boxes ({boxes.format.value}) are not supported")
    return BoundingBoxes(boxes.numpy(force=True), boxes.format.value, boxes.canvas_size)


def _cast(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Computed coordinates back in the input's dtype (integers truncate, as torch's ``.to``)."""
    return values.astype(dtype) if dtype.kind == "f" else np.trunc(values).astype(dtype)


def tv_boxes_like(values: np.ndarray, like: tv_tensors.BoundingBoxes, canvas_size) -> tv_tensors.BoundingBoxes:
    """New box values with ``like``'s format, dtype and clamping mode on ``canvas_size``."""
    dtype = like.numpy(force=True).dtype
    arr = np.asarray(values, dtype=np.float64).reshape(-1, like.shape[-1])
    return tv_tensors.BoundingBoxes._make(ember.from_numpy(_cast(arr, dtype)), format=like.format,
                                          canvas_size=tuple(int(s) for s in canvas_size),
                                          clamping_mode=like.clamping_mode)


def _rewrap(result, like: tv_tensors.TVTensor):
    if isinstance(result, Tensor) and not isinstance(result, tv_tensors.TVTensor):
        return type(like).wrap_like(result, like)
    if isinstance(result, (tuple, list)):
        return type(result)(_rewrap(item, like) for item in result)
    return result


def _same(a, b) -> bool:
    if type(a) is not type(b) and not (isinstance(a, str) and isinstance(b, str)):
        return False
    try:
        return bool(a == b)
    except (ValueError, TypeError):
        return False


def mask_apply(mask, fn):
    """Runs an array function on a mask ((H, W) or (N, H, W), any integer/bool dtype) as (N, H, W) floats."""
    if isinstance(mask, Tensor):
        arr, wrap = mask.numpy(force=True), ember.from_numpy
    elif isinstance(mask, np.ndarray):
        arr, wrap = mask, (lambda a: a)
    else:
        raise TypeError(f"mask must be an ndarray or tensor (H, W) or (N, H, W), got {type(mask).__name__}")
    squeeze = arr.ndim == 2
    work = (arr[None] if squeeze else arr).astype(np.float32)
    out = fn(ember.from_numpy(work)).numpy(force=True)
    out = np.rint(out).astype(arr.dtype) if arr.dtype.kind in "iub" else out.astype(arr.dtype)
    return wrap(np.ascontiguousarray(out[0] if squeeze else out))
