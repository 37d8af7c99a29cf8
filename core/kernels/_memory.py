"""Keeps large freed buffers in the process heap.

glibc returns every freed block above 128 KiB to the OS with ``munmap``, so a training
step that allocates the same im2col buffer each iteration page-faults it in again every
time (timings: benchmarks/README.md). Raising the mmap and trim
thresholds lets malloc reuse the memory. This only changes where glibc gets memory from;
it is skipped on other platforms.
"""

from __future__ import annotations

import ctypes
import sys

_done = False


def keep_large_buffers(threshold: int = 1 << 30) -> None:
    global _done
    if _done:
        return
    _done = True
    try:
        if not sys.platform.startswith("linux"):
            return
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, threshold)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, threshold)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):  # not glibc
        pass
