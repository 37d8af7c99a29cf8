"""``ember.backends.cudnn``: settable flags (no effect on the CPU); cuDNN is not available."""

from __future__ import annotations

import contextlib

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True
benchmark_limit = 10


def is_available() -> bool:
    """False: Ember has no cuDNN."""
    return False


def version():
    """None: cuDNN is not available."""
    return


@contextlib.contextmanager
def flags(enabled: bool = False, benchmark: bool = False, deterministic: bool = False,
          allow_tf32: bool = True):
    """Sets the flags inside a ``with`` block and restores them after, as PyTorch's ``cudnn.flags``."""
    module = globals()
    saved = {name: module[name] for name in ("enabled", "benchmark", "deterministic", "allow_tf32")}
    module.update(enabled=enabled, benchmark=benchmark, deterministic=deterministic, allow_tf32=allow_tf32)
    try:
        yield
    finally:
        module.update(saved)
