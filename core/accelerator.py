"""``ember.accelerator``: PyTorch's device-agnostic accelerator API; Ember has no accelerator.

Example:
    >>> import ember
    >>> ember.accelerator.is_available(), ember.accelerator.current_accelerator()
    (False, None)
"""

from __future__ import annotations

_NONE = "Cannot access accelerator device when none is available."


def is_available() -> bool:
    """False: Ember computes on the CPU."""
    return False


def current_accelerator(check_available: bool = False):
    """None: there is no accelerator."""
    return


def device_count() -> int:
    return 0


def _none(*args, **kwargs):
    raise RuntimeError(_NONE)


current_device_index = current_device_idx = set_device_index = set_device_idx = synchronize = _none
