"""``ember.xpu``: PyTorch's Intel-GPU (XPU) probing API with honest CPU-only answers, as ``ember.cuda``.

Scripts probe ``torch.xpu.is_available()`` beside CUDA and MPS when they pick a device
(pytorch/examples do: ``use_xpu = not args.no_xpu and torch.xpu.is_available()``), and seed or empty caches
"just in case"; those calls work here. Calls that need an XPU to answer raise as PyTorch's CPU build does.

Example:
    >>> import ember
    >>> ember.xpu.is_available(), ember.xpu.device_count()
    (False, 0)
"""

from __future__ import annotations

_NOT_COMPILED = "Ember has no XPU support (ember.xpu.is_available() is False): it runs on the CPU"


def _no_xpu(*args, **kwargs):
    raise AssertionError(_NOT_COMPILED)


def is_available() -> bool:
    """False: Ember computes on the CPU."""
    return False


def device_count() -> int:
    """0: no XPU devices."""
    return 0


def is_initialized() -> bool:
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def manual_seed(seed: int) -> None:
    """Does nothing (there is no XPU generator); seeds no other generator either, as in PyTorch."""


def manual_seed_all(seed: int) -> None:
    """Does nothing (there is no XPU generator)."""


def seed() -> None:
    """Does nothing (there is no XPU generator)."""


def seed_all() -> None:
    """Does nothing (there is no XPU generator)."""


def get_rng_state_all() -> list:
    """The states of every XPU generator: none."""
    return []


def set_rng_state_all(new_states) -> None:
    """Does nothing (there is no XPU generator)."""


def empty_cache() -> None:
    """Does nothing (no XPU memory is cached)."""


def memory_allocated(device=None) -> int:
    return 0


def max_memory_allocated(device=None) -> int:
    return 0


def memory_reserved(device=None) -> int:
    return 0


def max_memory_reserved(device=None) -> int:
    return 0


def reset_peak_memory_stats(device=None) -> None:
    """Does nothing (no XPU memory is tracked)."""


# What needs a device to answer raises, as PyTorch's CPU build does ("Torch not compiled with XPU enabled").
init = synchronize = current_device = get_device_name = get_device_capability = _no_xpu
get_device_properties = set_device = initial_seed = get_rng_state = set_rng_state = _no_xpu
current_stream = mem_get_info = _no_xpu
