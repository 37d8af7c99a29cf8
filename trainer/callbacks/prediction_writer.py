"""``BasePredictionWriter``: write predictions to disk as they are made (Lightning's ``BasePredictionWriter``)."""

from __future__ import annotations

from typing import Any

from .base import Callback

_INTERVALS = ("batch", "epoch", "batch_and_epoch")


class BasePredictionWriter(Callback):
    """Subclass and implement ``write_on_batch_end`` and/or ``write_on_epoch_end``; ``write_interval`` says
    which are called during ``Trainer.predict``.

    ``batch_indices`` are the dataset indices of the batch's samples (None when the loader's sampler does not
    say them, e.g. for an iterable dataset); at the epoch end ``predictions`` holds every batch's output
    (a list per data loader when there are several) and ``batch_indices`` one list of per-batch index
    lists per data loader.

    Args:
        write_interval: ``"batch"``, ``"epoch"`` or ``"batch_and_epoch"``.

    Example:
        >>> import os, ember
        >>> from ember.trainer.callbacks import BasePredictionWriter
        >>> class Writer(BasePredictionWriter):
        ...     def __init__(self, folder):
        ...         super().__init__(write_interval="batch")
        ...         self.folder = folder
        ...     def write_on_batch_end(self, trainer, module, prediction, batch_indices, batch, batch_idx,
        ...                            dataloader_idx):
        ...         ember.save(prediction, os.path.join(self.folder, f"{dataloader_idx}-{batch_idx}.pt"))
    """

    def __init__(self, write_interval: str = "batch") -> None:
        if write_interval not in _INTERVALS:
            raise ValueError(f"write_interval must be one of {_INTERVALS}, got {write_interval!r}")
        self.write_interval = write_interval
        self._predictions: list[list] = []
        self._indices: list[list] = []
        self._samplers: list = []

    def write_on_batch_end(self, trainer, module, prediction: Any, batch_indices: list[int] | None, batch: Any,
                           batch_idx: int, dataloader_idx: int) -> None:
        """Called after each ``predict_step`` (``write_interval`` "batch" or "batch_and_epoch")."""
        raise NotImplementedError(f"{type(self).__name__} must implement write_on_batch_end "
                                  f"(write_interval={self.write_interval!r})")

    def write_on_epoch_end(self, trainer, module, predictions: list, batch_indices: list) -> None:
        """Called once all batches are predicted (``write_interval`` "epoch" or "batch_and_epoch")."""
        raise NotImplementedError(f"{type(self).__name__} must implement write_on_epoch_end "
                                  f"(write_interval={self.write_interval!r})")

    def on_predict_epoch_start(self, trainer, module) -> None:
        loaders = trainer.predict_dataloaders
        self._predictions = [[] for _ in loaders]
        self._indices = [[] for _ in loaders]
        self._samplers = [_index_batches(loader) for loader in loaders]

    def on_predict_batch_end(self, trainer, module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        indices = _batch_indices(self._samplers, dataloader_idx, batch_idx)
        if self.write_interval != "batch":
            self._predictions[dataloader_idx].append(outputs)
            self._indices[dataloader_idx].append(indices)
        if self.write_interval != "epoch":
            self.write_on_batch_end(trainer, module, outputs, indices, batch, batch_idx, dataloader_idx)

    def on_predict_epoch_end(self, trainer, module) -> None:
        if self.write_interval == "batch":
            return
        predictions = self._predictions[0] if len(self._predictions) == 1 else self._predictions
        self.write_on_epoch_end(trainer, module, predictions, self._indices)
        self._predictions, self._indices = [], []


def _index_batches(loader) -> list | None:
    """The dataset indices of each batch, from the loader's batch sampler when its order is fixed."""
    batch_sampler = getattr(loader, "batch_sampler", None)
    sampler = getattr(batch_sampler, "sampler", None)
    if batch_sampler is None or type(sampler).__name__ != "SequentialSampler":
        return None
    return [list(indices) for indices in batch_sampler]


def _batch_indices(samplers: list, dataloader_idx: int, batch_idx: int) -> list[int] | None:
    batches = samplers[dataloader_idx] if dataloader_idx < len(samplers) else None
    if batches is None or batch_idx >= len(batches):
        return None
    return batches[batch_idx]
