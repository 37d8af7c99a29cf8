"""Moving a batch from a worker to the main process through shared memory.

The worker pickles the batch with every numeric ndarray (and so every tensor) replaced by a reference,
writes the arrays into one file in ``/dev/shm`` and sends only the small pickle and the file's name
through its pipe. The main process maps the file, unlinks it at once and rebuilds the batch with arrays
that *view* the mapping: the data is copied once (into shared memory), never pickled or piped. The
mapping is freed when the last array viewing it is.

A file is named ``<prefix><worker>_<n>``; the prefix is unique to one iterator, so whatever a crash
leaves behind is removed by ``remove_leftovers(prefix)`` when the iterator shuts down.
"""

from __future__ import annotations

import errno
import io
import mmap
import os
import pickle
import tempfile

import numpy as np

SHM_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
_ALIGN = 64


class _ArrayPickler(pickle.Pickler):
    def __init__(self, file, arrays: list):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._arrays = arrays

    def persistent_id(self, obj):
        if isinstance(obj, np.ndarray) and not obj.dtype.hasobject:
            self._arrays.append(obj)
            return len(self._arrays) - 1
        return None


class _ArrayUnpickler(pickle.Unpickler):
    def __init__(self, file, arrays: list):
        super().__init__(file)
        self._arrays = arrays

    def persistent_load(self, pid):
        return self._arrays[pid]


def pack(obj, name: str) -> tuple:
    """Writes the arrays of ``obj`` to shared-memory file ``name``; returns the small message to send."""
    arrays: list[np.ndarray] = []
    buffer = io.BytesIO()
    _ArrayPickler(buffer, arrays).dump(obj)
    layout, offset = [], 0
    for array in arrays:
        offset = (offset + _ALIGN - 1) // _ALIGN * _ALIGN
        layout.append((offset, array.shape, array.dtype))
        offset += array.nbytes
    if offset == 0:
        return buffer.getvalue(), None, 0, layout
    path = os.path.join(SHM_DIR, name)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            # Reserve the pages now: a full /dev/shm then raises here instead of killing us with SIGBUS.
            os.posix_fallocate(fd, 0, offset)
        except OSError as error:
            if error.errno in (errno.ENOSPC, errno.ENOMEM):
                os.unlink(path)
                raise RuntimeError(
                    f"DataLoader worker: not enough shared memory in {SHM_DIR} for a batch of {offset} bytes "
                    "(enlarge /dev/shm, e.g. docker --shm-size, or use smaller batches)"
                ) from error
            os.ftruncate(fd, offset)
        mapping = mmap.mmap(fd, offset)
    finally:
        os.close(fd)
    for array, (start, shape, dtype) in zip(arrays, layout):
        np.ndarray(shape, dtype=dtype, buffer=mapping, offset=start)[...] = array
    mapping.close()
    return buffer.getvalue(), name, offset, layout


def unpack(message: tuple):
    """Rebuilds the batch ``pack`` described, its arrays viewing the (already unlinked) mapping."""
    payload, name, size, layout = message
    if name is None:
        arrays = [np.empty(shape, dtype=dtype) for _, shape, dtype in layout]
    else:
        path = os.path.join(SHM_DIR, name)
        fd = os.open(path, os.O_RDWR)
        try:
            mapping = mmap.mmap(fd, size)
        finally:
            os.close(fd)
            os.unlink(path)
        arrays = [np.ndarray(shape, dtype=dtype, buffer=mapping, offset=start) for start, shape, dtype in layout]
    return _ArrayUnpickler(io.BytesIO(payload), arrays).load()


def discard(message: tuple) -> None:
    """Frees the shared memory of a message that will not be unpacked."""
    name = message[1]
    if name is not None:
        try:
            os.unlink(os.path.join(SHM_DIR, name))
        except FileNotFoundError:
            pass


def remove_leftovers(prefix: str) -> None:
    """Unlinks every shared-memory file whose name starts with ``prefix``."""
    try:
        names = os.listdir(SHM_DIR)
    except OSError:
        return
    for name in names:
        if name.startswith(prefix):
            try:
                os.unlink(os.path.join(SHM_DIR, name))
            except OSError:
                pass
