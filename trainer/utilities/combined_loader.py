"""``CombinedLoader``: several data loaders read together (Lightning's class of the same name and modes).

A dict (or list / tuple) of loaders gives one batch per step holding a batch of each, in the same container:
``{"a": batch_a, "b": batch_b}``. Iterating a ``CombinedLoader`` yields ``(batch, batch_idx, dataloader_idx)``,
as Lightning's does. The Trainer combines the training loaders it is given as a dict or a list in
``"max_size_cycle"`` mode, so ``training_step`` receives the dict (or list) of batches; validation / test /
predict loaders given as a dict are read one after the other (``"sequential"``), each step told its
``dataloader_idx``.

Example:
    >>> from ember.data import DataLoader
    >>> from ember.trainer.utilities import CombinedLoader
    >>> loaders = {"a": DataLoader(range(6), batch_size=4), "b": DataLoader(range(15), batch_size=5)}
    >>> combined = CombinedLoader(loaders, "max_size_cycle")
    >>> len(combined)
    3
    >>> [sorted(batch) for batch, _, _ in combined][0]
    ['a', 'b']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from ember import Tensor

_MODES = ("min_size", "max_size_cycle", "max_size", "sequential")


class CombinedLoader:
    """Reads ``iterables`` (one iterable, or a dict / list / tuple of them) together.

    Modes:
        * ``min_size``: stops when the shortest iterable is done.
        * ``max_size_cycle``: stops when the longest is done; the others start over when they run out.
        * ``max_size``: stops when the longest is done; an exhausted iterable gives None.
        * ``sequential``: reads each iterable to its end, one after the other; the batch is that iterable's
          and ``dataloader_idx`` says which.
    """

    def __init__(self, iterables: Any, mode: str = "min_size") -> None:
        if mode not in _MODES:
            raise ValueError(f"Unsupported mode {mode!r}, please select one of: {list(_MODES)}.")
        self._iterables = iterables
        self._mode = mode
        if isinstance(iterables, dict):
            self._keys, self._flattened = list(iterables), list(iterables.values())
        elif isinstance(iterables, (list, tuple)):
            self._keys, self._flattened = None, list(iterables)
        else:
            self._keys, self._flattened = None, [iterables]

    @property
    def iterables(self) -> Any:
        """The collection of iterables as given."""
        return self._iterables

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def flattened(self) -> list:
        """The iterables, in order, as one list."""
        return list(self._flattened)

    def _pack(self, batches: list) -> Any:
        if self._keys is not None:
            return dict(zip(self._keys, batches))
        if isinstance(self._iterables, (list, tuple)):
            return type(self._iterables)(batches)
        return batches[0]

    def __len__(self) -> int:
        lengths = [len(iterable) for iterable in self._flattened]  # (TypeError for an iterable without a length)
        if self._mode == "sequential":
            return sum(lengths)
        if not lengths:
            return 0
        return min(lengths) if self._mode == "min_size" else max(lengths)

    def __iter__(self) -> Iterator[tuple[Any, int, int]]:
        if self._mode == "sequential":
            for dataloader_idx, iterable in enumerate(self._flattened):
                for batch_idx, batch in enumerate(iterable):
                    yield batch, batch_idx, dataloader_idx
            return
        for batch_idx, batches in enumerate(self._together()):
            yield self._pack(batches), batch_idx, 0

    def _together(self) -> Iterator[list]:
        """One list of batches (one per iterable) per step, by the mode's rule for unequal lengths."""
        iterators = [iter(iterable) for iterable in self._flattened]
        if not iterators:
            return
        done = [False] * len(iterators)
        while True:
            batches = []
            for i, iterator in enumerate(iterators):
                batch, ended = _next(iterator)
                if ended:
                    done[i] = True
                    if self._mode == "min_size":
                        return
                    if self._mode == "max_size":
                        batches.append(None)
                        continue
                    if all(done):  # max_size_cycle: every iterable has run out at least once
                        return
                    iterators[i] = iter(self._flattened[i])
                    batch, ended = _next(iterators[i])
                    if ended:  # (an empty iterable cannot be cycled)
                        return
                batches.append(batch)
            if self._mode == "max_size" and all(done):
                return
            yield batches


def _next(iterator: Iterator) -> tuple[Any, bool]:
    try:
        return next(iterator), False
    except StopIteration:
        return None, True


class _Batches:
    """What a loop reads from a ``CombinedLoader`` not in ``"sequential"`` mode: its batches alone (the step
    gets no ``dataloader_idx``), with its length when it has one."""

    def __init__(self, combined: CombinedLoader) -> None:
        self.combined = combined

    def __len__(self) -> int:
        return len(self.combined)

    def __iter__(self) -> Iterator[Any]:
        return (batch for batch, _, _ in self.combined)


def combine_training_loaders(loaders: Any, process=None) -> Any:
    """``loaders`` as the fit loop reads them: a dict or list / tuple of loaders (Lightning's several training
    loaders) combined in ``"max_size_cycle"`` mode, a ``CombinedLoader`` by its own mode; one loader as it is.
    ``process`` (e.g. the strategy's share of a loader for this rank) is applied to each combined loader."""
    if isinstance(loaders, (dict, list, tuple)) and loaders and all(_is_loader(x) for x in _values(loaders)):
        loaders = CombinedLoader(loaders, "max_size_cycle")
    if not isinstance(loaders, CombinedLoader):
        return loaders
    if loaders.mode == "sequential":
        raise ValueError("`fit` does not support the `CombinedLoader(mode=\"sequential\")` mode. The available "
                         f"modes are: {[m for m in _MODES if m != 'sequential']}")
    if process is not None:
        iterables = loaders.iterables
        if isinstance(iterables, dict):
            iterables = {key: process(value) for key, value in iterables.items()}
        elif isinstance(iterables, (list, tuple)):
            iterables = type(iterables)(process(value) for value in iterables)
        else:
            iterables = process(iterables)
        loaders = CombinedLoader(iterables, loaders.mode)
    return _Batches(loaders)


def split_evaluation_loaders(loaders: Any) -> Any:
    """``loaders`` as the evaluation loops read them: a dict of loaders, or a ``CombinedLoader`` in
    ``"sequential"`` mode, as the list of its loaders (each read in turn, with its ``dataloader_idx``, as
    Lightning reads them); a ``CombinedLoader`` in another mode as one loader of combined batches."""
    if isinstance(loaders, dict) and loaders and all(_is_loader(x) for x in loaders.values()):
        return list(loaders.values())
    if isinstance(loaders, CombinedLoader):
        if loaders.mode == "sequential":
            return loaders.flattened
        return _Batches(loaders)
    return loaders


def _is_loader(value: Any) -> bool:
    """A loader, not a batch: iterable, and not a tensor, array or container (a list of batches is a loader)."""
    return isinstance(value, Iterable) and not isinstance(value, (Tensor, np.ndarray, list, tuple, dict, str, bytes))


def _values(loaders: Any) -> list:
    return list(loaders.values()) if isinstance(loaders, dict) else list(loaders)
