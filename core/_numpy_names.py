"""numpy's argument names that torch accepts as aliases: ``axis`` for ``dim``, ``keepdims`` for ``keepdim``.

torch's argument parser takes them in every native function and Tensor method with a ``dim`` / ``keepdim``
parameter (``x.sum(axis=-1, keepdims=True)``, ``torch.cat(ts, axis=1)``, ``x.softmax(axis=-1)``), though
not in functions torch writes in Python (``torch.nn.functional.softmax``, ``torch.split``, ``torch.norm``).
An Ember op with such a parameter takes the aliases keyword-only, default ``None``, and calls these only
when one is given: a call that does not use them pays the defaults and one test (about 20 ns).
"""

from __future__ import annotations


def dim_from_axis(op: str, dim, axis, default=None, **required):
    """The ``dim`` of a call that gave ``axis`` (or, for an op whose ``dim`` is required, neither): torch's
    ``TypeError`` when neither or both names are given. ``required`` are the parameters after a
    required ``dim`` (``gather(input, dim, index)``), which default to None only so that ``dim`` can be
    left out."""
    if axis is not None:
        if dim is not default and not (type(dim) is type(default) and dim == default):
            raise TypeError(
                f"{op}() got an unexpected keyword argument 'axis' (numpy's name for 'dim', which was "
                "given too)"
            )
        dim = axis
    elif dim is None:
        raise TypeError(f'{op}() missing 1 required positional arguments: "dim"')
    for name, value in required.items():
        if value is None:
            raise TypeError(f'{op}() missing 1 required positional arguments: "{name}"')
    return dim


def keepdim_from_keepdims(op: str, keepdim: bool, keepdims: bool) -> bool:
    """The ``keepdim`` of a call that gave ``keepdims``: torch's ``TypeError`` if ``keepdim`` was too."""
    if keepdim:
        raise TypeError(
            f"{op}() got an unexpected keyword argument 'keepdims' (numpy's name for 'keepdim', which was "
            "given too)"
        )
    return keepdims


def numpy_names(op: str, dim, keepdim: bool, axis, keepdims, default=None, required: bool = False):
    """``(dim, keepdim)`` of a reduction called with ``axis`` and/or ``keepdims`` (or, ``required``, without
    ``dim``)."""
    if axis is not None or (required and dim is None):
        dim = dim_from_axis(op, dim, axis, default)
    if keepdims is not None:
        keepdim = keepdim_from_keepdims(op, keepdim, keepdims)
    return dim, keepdim
