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

# The probes and the do-nothing calls answer as ``ember.cuda``'s: no devices, no generator, no memory.
from .cuda import (  # noqa: F401 (ember.xpu's API)
    device_count,
    empty_cache,
    get_rng_state_all,
    is_available,
    is_bf16_supported,
    is_initialized,
    manual_seed,
    manual_seed_all,
    max_memory_allocated,
    max_memory_reserved,
    memory_allocated,
    memory_reserved,
    reset_peak_memory_stats,
    seed,
    seed_all,
    set_rng_state_all,
)

_NOT_COMPILED = "Ember has no XPU support (ember.xpu.is_available() is False): it runs on the CPU"


def _no_xpu(*args, **kwargs):
    raise AssertionError(_NOT_COMPILED)


# What needs a device to answer raises, as PyTorch's CPU build does ("Torch not compiled with XPU enabled").
init = synchronize = current_device = get_device_name = get_device_capability = _no_xpu
get_device_properties = set_device = initial_seed = get_rng_state = set_rng_state = _no_xpu
current_stream = mem_get_info = _no_xpu
