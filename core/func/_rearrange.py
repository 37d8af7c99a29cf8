"""``rearrange``: einops-style reordering of dimensions (``torch.func.rearrange``)."""

from __future__ import annotations

import math
import re

from ..ops.joining import stack
from ..tensor import Tensor

_TOKEN = re.compile(r"\.\.\.|\(|\)|[A-Za-z_][A-Za-z0-9_]*|\S")


def _parse(side: str, pattern: str) -> list:
    """``"b (h w) ..."`` -> ``[["b"], ("h", "w"), ["..."]]``: the groups of elementary axis names."""
    groups, current = [], None
    for token in _TOKEN.findall(side):
        if token == "(":
            if current is not None:
                raise ValueError(f"rearrange: nested parentheses in {pattern!r}")
            current = []
        elif token == ")":
            if current is None:
                raise ValueError(f"rearrange: unbalanced parentheses in {pattern!r}")
            groups.append(tuple(current))  # a parenthesized group is a tuple, a bare name a 1-list
            current = None
        elif token == "..." or token.isidentifier():
            (current if current is not None else groups).append(token if current is not None else [token])
        else:
            raise ValueError(f"rearrange: unexpected {token!r} in {pattern!r}")
    if current is not None:
        raise ValueError(f"rearrange: unbalanced parentheses in {pattern!r}")
    return groups


def rearrange(tensor, pattern: str, **axes_lengths) -> Tensor:
    """Reshapes and permutes dims as ``pattern`` says, e.g. ``"b c (h w) -> b h w c"`` (with ``h=...``).

    ``tensor`` may be a list or tuple of tensors (stacked along a new first dim). Each name stands for one
    dim; ``( )`` groups dims into one; ``...`` stands for the dims not named.

    Example:
        >>> import ember
        >>> from ember.func import rearrange
        >>> rearrange(ember.zeros(2, 3, 8), "b c (h w) -> b h w c", h=2).shape
        ember.Size([2, 2, 4, 3])
    """
    if isinstance(tensor, (list, tuple)):
        tensor = stack(list(tensor))
    if pattern.count("->") != 1:
        raise ValueError(f"rearrange: the pattern must have one '->', got {pattern!r}")
    left, right = (_parse(side, pattern) for side in pattern.split("->"))
    left_names = [n for g in left for n in g]
    right_names = [n for g in right for n in g]
    for names, side in ((left_names, "left"), (right_names, "right")):
        if len(set(names)) != len(names):
            raise ValueError(f"rearrange: a name appears twice on the {side} of {pattern!r}")
    if set(left_names) != set(right_names):
        raise ValueError(f"rearrange: both sides of {pattern!r} must name the same dims, got {sorted(left_names)} "
                         f"and {sorted(right_names)}")
    unknown = set(axes_lengths) - set(left_names)
    if unknown:
        raise ValueError(f"rearrange: sizes given for dims not in the pattern: {sorted(unknown)}")
    has_ellipsis = "..." in left_names
    if len(left) - has_ellipsis > tensor.ndim or (not has_ellipsis and len(left) != tensor.ndim):
        raise ValueError(f"rearrange: {pattern!r} describes {len(left)} dims but the tensor has {tensor.ndim}")
    ellipsis_shape = ()
    if has_ellipsis:
        if ["..."] not in left:
            raise ValueError(f"rearrange: '...' cannot be inside parentheses on the left of {pattern!r}")
        at = left.index(["..."])
        ellipsis_shape = tuple(tensor.shape[at:tensor.ndim - (len(left) - at - 1)])
    sizes, flat_shape, shape_iter = dict(axes_lengths), [], iter(tensor.shape)
    for group in left:
        if group == ["..."]:
            for _ in ellipsis_shape:
                next(shape_iter)
            flat_shape.extend(ellipsis_shape)
            continue
        total = next(shape_iter)
        missing = [n for n in group if n not in sizes]
        if len(missing) > 1:
            raise ValueError(f"rearrange: give the sizes of all but one of {group} in {pattern!r}")
        known = math.prod(sizes[n] for n in group if n in sizes)
        if missing:
            if known == 0 or total % known:
                raise ValueError(f"rearrange: dim of size {total} cannot be split into {group} ({sizes})")
            sizes[missing[0]] = total // known
        elif known != total:
            raise ValueError(f"rearrange: dim of size {total} does not match {group} of sizes {known}")
        flat_shape.extend(sizes[n] for n in group)
    positions, at = {}, 0
    for name in left_names:
        count = len(ellipsis_shape) if name == "..." else 1
        positions[name] = list(range(at, at + count))
        at += count
    order = [p for name in right_names for p in positions[name]]
    out = tensor.reshape(tuple(flat_shape)).permute(*order)
    final = []
    for group in right:
        if group == ["..."]:
            final.extend(ellipsis_shape)
        else:
            final.append(math.prod(math.prod(ellipsis_shape) if n == "..." else sizes[n] for n in group))
    return out.reshape(tuple(final))
