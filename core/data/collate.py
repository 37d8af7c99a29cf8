"""``default_collate`` and ``default_convert``: turning samples into batches of Ember tensors.

The rules are PyTorch's (``torch.utils.data._utils.collate``): tensors and numeric arrays are stacked
along a new first dimension, Python floats become a float64 tensor, ints an int64 tensor, bools a bool
tensor, numpy scalars a tensor of their dtype; strings stay a list; dicts, namedtuples and sequences are
collated field by field (a tuple sample gives a list, as in PyTorch).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, MutableMapping, MutableSequence, Sequence

import numpy as np

from .._dtype import from_numpy_dtype
from ..tensor import Tensor

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)
_NOT_NUMERIC = "OSUV"  # numpy kinds that have no tensor type: object, bytes, str, void


def _as_tensor(array: np.ndarray) -> Tensor:
    from_numpy_dtype(array.dtype)  # a clear error for dtypes Ember has no tensor type for
    return Tensor._wrap(array)


def _stack(arrays: list[np.ndarray]) -> Tensor:
    first = arrays[0].shape
    for entry, array in enumerate(arrays):
        if array.shape != first:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(first)} at entry 0 and "
                f"{list(array.shape)} at entry {entry}"
            )
    return _as_tensor(np.stack(arrays))


def _is_namedtuple(obj) -> bool:
    return isinstance(obj, tuple) and hasattr(obj, "_fields")


def default_collate(batch: list | tuple):
    """Collates a list of samples into a batch (PyTorch's rules; see the module docstring).

    Example:
        >>> import ember
        >>> batch = default_collate([{"x": ember.tensor([1.0, 2.0]), "y": 0}, {"x": ember.tensor([3.0, 4.0]), "y": 1}])
        >>> batch["x"].shape, batch["y"].tolist(), batch["y"].dtype
        (ember.Size([2, 2]), [0, 1], ember.int64)
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack([b._data for b in batch])
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in _NOT_NUMERIC:
            raise TypeError(default_collate_err_msg_format.format(elem.dtype))
        return _stack([np.asarray(b) for b in batch])
    if isinstance(elem, np.generic):
        if elem.dtype.kind in _NOT_NUMERIC:
            raise TypeError(default_collate_err_msg_format.format(elem.dtype))
        return _as_tensor(np.array(batch))
    if isinstance(elem, bool):
        return _as_tensor(np.array(batch, dtype=np.bool_))
    if isinstance(elem, float):
        return _as_tensor(np.array(batch, dtype=np.float64))
    if isinstance(elem, int):
        array = np.array(batch)
        return _as_tensor(array.astype(np.int64) if array.dtype.kind in "iu" else array.astype(np.float32))
    if isinstance(elem, Mapping):
        if isinstance(elem, MutableMapping):
            clone = copy.copy(elem)
            clone.update({key: default_collate([d[key] for d in batch]) for key in elem})
            return clone
        try:
            return type(elem)({key: default_collate([d[key] for d in batch]) for key in elem})
        except TypeError:
            return {key: default_collate([d[key] for d in batch]) for key in elem}
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, Sequence):
        size = len(elem)
        for position, sample in enumerate(batch):
            if len(sample) != size:
                raise RuntimeError(
                    f"each element in list of batch should be of equal size (sample 0 has {size} fields, "
                    f"sample {position} has {len(sample)})"
                )
        transposed = list(zip(*batch))  # tuples: strings inside come back as tuples, as in PyTorch
        if isinstance(elem, tuple):
            return [default_collate(samples) for samples in transposed]  # a list, as PyTorch returns
        if isinstance(elem, MutableSequence):
            clone = copy.copy(elem)
            for i, samples in enumerate(transposed):
                clone[i] = default_collate(samples)
            return clone
        try:
            return type(elem)([default_collate(samples) for samples in transposed])
        except TypeError:
            return [default_collate(samples) for samples in transposed]
    raise TypeError(default_collate_err_msg_format.format(type(elem)))


def default_convert(data):
    """Converts numpy arrays (and numpy scalars) inside ``data`` to tensors, recursively; no batching.

    The ``collate_fn`` a ``DataLoader`` uses when ``batch_size=None``.

    Example:
        >>> import numpy as np
        >>> out = default_convert({"a": np.arange(3), "b": "text"})
        >>> type(out["a"]).__name__, out["b"]
        ('Tensor', 'text')
    """
    if isinstance(data, (Tensor, str, bytes)):
        return data
    if isinstance(data, np.ndarray):
        return data if data.dtype.kind in _NOT_NUMERIC else _as_tensor(data)
    if isinstance(data, np.generic):
        return data if data.dtype.kind in _NOT_NUMERIC else _as_tensor(np.asarray(data))
    if isinstance(data, Mapping):
        if isinstance(data, MutableMapping):
            clone = copy.copy(data)
            clone.update({key: default_convert(data[key]) for key in data})
            return clone
        try:
            return type(data)({key: default_convert(data[key]) for key in data})
        except TypeError:
            return {key: default_convert(data[key]) for key in data}
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, Sequence):
        if isinstance(data, MutableSequence):
            clone = copy.copy(data)
            for i, d in enumerate(data):
                clone[i] = default_convert(d)
            return clone
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
