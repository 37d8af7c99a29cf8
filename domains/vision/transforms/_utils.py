"""torchvision v2's helpers for writing transforms: find things in a sample's flattened inputs.

``flat_inputs`` is the list of leaves of a sample (``Transform`` hands it flattened); a type check is a
class or a predicate such as ``is_pure_tensor``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import tv_tensors
from . import functional as F
from ._base import is_pure_tensor, query_size
from ._image import is_pil

__all__ = ["check_type", "get_bounding_boxes", "get_keypoints", "has_all", "has_any", "query_chw", "query_size"]


def check_type(obj: Any, types_or_checks: tuple[type | Callable[[Any], bool], ...]) -> bool:
    """Whether ``obj`` is an instance of one of the types, or passes one of the predicates."""
    for check in types_or_checks:
        if isinstance(obj, check) if isinstance(check, type) else check(obj):
            return True
    return False


def has_any(flat_inputs: list, *types_or_checks) -> bool:
    """Whether some input matches one of ``types_or_checks``."""
    return any(check_type(inpt, types_or_checks) for inpt in flat_inputs)


def has_all(flat_inputs: list, *types_or_checks) -> bool:
    """Whether every one of ``types_or_checks`` is matched by some input."""
    return all(has_any(flat_inputs, check) for check in types_or_checks)


def get_bounding_boxes(flat_inputs: list) -> tv_tensors.BoundingBoxes:
    """The (first) ``BoundingBoxes`` of the sample; ``ValueError`` when there is none."""
    for inpt in flat_inputs:
        if isinstance(inpt, tv_tensors.BoundingBoxes):
            return inpt
    raise ValueError("No bounding boxes were found in the sample")


def get_keypoints(flat_inputs: list) -> tv_tensors.KeyPoints:
    """The (first) ``KeyPoints`` of the sample; ``ValueError`` when there is none."""
    for inpt in flat_inputs:
        if isinstance(inpt, tv_tensors.KeyPoints):
            return inpt
    raise ValueError("No keypoints were found in the sample")


def query_chw(flat_inputs: list) -> tuple[int, int, int]:
    """The one (C, H, W) of the sample's images and videos (plain tensors count as images)."""
    chws = {tuple(F.get_dimensions(inpt)) for inpt in flat_inputs
            if is_pure_tensor(inpt) or is_pil(inpt) or isinstance(inpt, (tv_tensors.Image, tv_tensors.Video))}
    if not chws:
        raise TypeError("No image or video was found in the sample")
    if len(chws) > 1:
        raise ValueError(f"Found multiple CxHxW dimensions in the sample: {', '.join(map(str, sorted(chws)))}")
    c, h, w = chws.pop()
    return c, h, w
