"""``ember.cuda``: PyTorch's CUDA probing API with honest CPU-only answers.

A PyTorch script asks ``torch.cuda.is_available()`` and seeds, synchronises or empties caches
"just in case"; those calls work here and do nothing. Calls that need a GPU to answer
(``current_device``, ``get_device_name``, ...) raise as PyTorch does on a machine without CUDA.

Example:
    >>> import ember
    >>> device = ember.device("cuda" if ember.cuda.is_available() else "cpu")
    >>> device
    device(type='cpu')
"""

from __future__ import annotations

from ._device import OutOfMemoryError, unavailable  # noqa: F401 (torch.cuda.OutOfMemoryError is torch's)
from .amp import _cuda as amp  # noqa: F401 (torch.cuda.amp: GradScaler, autocast for "cuda", so disabled)

_NOT_COMPILED = "Ember has no CUDA support (ember.cuda.is_available() is False): it runs on the CPU"


def _no_cuda(*args, **kwargs):
    raise AssertionError(_NOT_COMPILED)


def is_available() -> bool:
    """False: Ember computes on the CPU."""
    return False


def device_count() -> int:
    """0: no devices of this kind."""
    return 0


def is_initialized() -> bool:
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def manual_seed(seed: int) -> None:
    """Does nothing (there is no generator on such a device); seeds no other generator either, as in PyTorch."""


def manual_seed_all(seed: int) -> None:
    """Does nothing (there is no generator on such a device); seeds no other generator either, as in PyTorch."""


def seed() -> None:
    """Does nothing (there is no generator on such a device)."""


def seed_all() -> None:
    """Does nothing (there is no generator on such a device)."""


def get_rng_state_all() -> list:
    """The states of every generator on such a device: none."""
    return []


def set_rng_state_all(new_states) -> None:
    """Does nothing (there is no generator on such a device)."""


def empty_cache() -> None:
    """Does nothing (no device memory is cached)."""


def memory_allocated(device=None) -> int:
    return 0


def max_memory_allocated(device=None) -> int:
    return 0


def memory_reserved(device=None) -> int:
    return 0


def max_memory_reserved(device=None) -> int:
    return 0


def reset_peak_memory_stats(device=None) -> None:
    """Does nothing (no device memory is tracked)."""


# What needs a GPU to answer raises, as in PyTorch without CUDA (there: AssertionError "Torch not compiled
# with CUDA enabled").
init = synchronize = current_device = get_device_name = get_device_capability = _no_cuda
get_device_properties = set_device = initial_seed = get_rng_state = set_rng_state = _no_cuda
current_stream = default_stream = mem_get_info = ipc_collect = _no_cuda


class _CudaTensorType(type):
    """``ember.cuda.FloatTensor`` and kin: named (``dtype = cuda.FloatTensor if cuda else FloatTensor``),
    never instantiated (Ember's one device error), and no tensor is an instance of one."""

    def __call__(cls, *args, **kwargs):
        raise unavailable("cuda")

    def __instancecheck__(cls, obj) -> bool:
        return False


for _name in ("FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor",
              "ByteTensor", "BoolTensor"):
    globals()[_name] = _CudaTensorType(_name, (), {"__module__": "ember.cuda"})


class device:
    """``with ember.cuda.device(i):`` is accepted and does nothing, as in PyTorch without CUDA."""

    def __init__(self, device):
        self.idx = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> bool:
        return False
