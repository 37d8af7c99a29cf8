"""``ember.amp.autocast``: torch.amp.autocast's signature; Ember computes in the tensors' own dtypes."""

from __future__ import annotations

import functools
import warnings

from .. import _dtype

_DEVICE_TYPES = ("cpu", "cuda", "mps", "xpu", "meta")


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast applies to ``device_type``: False everywhere, since Ember has no per-op autocast lists."""
    if device_type not in _DEVICE_TYPES:
        raise ValueError(f"unknown device type {device_type!r}")
    return False


class autocast:
    """torch.amp.autocast's context manager and decorator.

    Ember keeps each op in its inputs' dtype (no autocast op lists, no bfloat16), so inside the block
    float32 stays float32. ``enabled=False`` is torch's no-op exactly; an enabled autocast warns once that it
    computes in float32, so a program written for it runs, more precisely. An autocast for ``"cuda"`` warns and
    disables itself, as torch's does without CUDA.

    Example:
        >>> import ember
        >>> with ember.amp.autocast("cpu", enabled=False):
        ...     y = ember.ones(2, 2) @ ember.ones(2, 2)
        >>> y.dtype
        ember.float32
    """

    _warned = False

    def __init__(self, device_type: str, dtype=None, enabled: bool = True, cache_enabled: bool | None = None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")  # noqa: TRY004 (torch's)
        if device_type not in _DEVICE_TYPES:
            raise ValueError(f"unknown device type {device_type!r} for autocast")
        self.device = device_type
        self.fast_dtype = dtype if dtype is not None else (_dtype.bfloat16 if device_type == "cpu" else _dtype.float16)
        self._enabled = bool(enabled)
        if self._enabled and device_type == "cuda":
            warnings.warn("User provided device_type of 'cuda', but CUDA is not available. Disabling", stacklevel=2)
            self._enabled = False
        if self._enabled and not autocast._warned:
            autocast._warned = True
            warnings.warn(f"ember.amp.autocast({device_type!r}): Ember has no autocast op lists; ops compute in "
                          "their inputs' dtypes (float32 stays float32)", stacklevel=2)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def __call__(self, function):
        @functools.wraps(function)
        def decorated(*args, **kwargs):
            with self:
                return function(*args, **kwargs)

        return decorated


def custom_fwd(fwd=None, *, device_type: str = "cpu", cast_inputs=None):
    """torch.amp.custom_fwd: the forward of a custom Function, unchanged (Ember has no autocast state)."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)
    return fwd


def custom_bwd(bwd=None, *, device_type: str = "cpu"):
    """torch.amp.custom_bwd: the backward of a custom Function, unchanged."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)
    return bwd
