"""``ThroughputMonitor``: batches, samples and items per second, logged as Lightning's callback logs them."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import Any

import ember

from .base import Callback, _ignores_outputs


class Throughput:
    """Running totals and rates over the last ``window_size`` updates (Lightning Fabric's ``Throughput``).

    ``compute()`` gives ``time``, ``batches``, ``samples`` (and ``lengths``) seen so far and, once the window is
    full, ``device/batches_per_sec``, ``device/samples_per_sec`` (``device/items_per_sec`` with lengths,
    ``device/flops_per_sec`` with flops); with several processes also the totals over all of them
    (``batches_per_sec``, ``samples_per_sec``, ``items_per_sec``, ``flops_per_sec``).
    """

    def __init__(self, world_size: int = 1, window_size: int = 100, separator: str = "/"):
        if window_size < 2:
            raise ValueError(f"window_size must be > 1, got {window_size}")
        self.world_size, self.window_size, self.separator = world_size, window_size, separator
        self.reset()

    def reset(self) -> None:
        window = self.window_size
        self._time, self._batches = collections.deque(maxlen=window), collections.deque(maxlen=window)
        self._samples, self._lengths = collections.deque(maxlen=window), collections.deque(maxlen=window)
        self._flops: collections.deque = collections.deque(maxlen=window)

    def update(self, *, time: float, batches: int, samples: int, lengths: int | None = None,
               flops: float | None = None) -> None:
        """Totals so far: ``time`` since the start, ``batches`` and ``samples`` (and ``lengths``) seen;
        ``flops`` of this batch on one process."""
        self._time.append(time)
        self._batches.append(batches)
        self._samples.append(samples)
        if lengths is not None:
            self._lengths.append(lengths)
        if flops is not None:
            self._flops.append(flops * self.world_size)

    def compute(self) -> dict[str, float]:
        sep, several = self.separator, self.world_size > 1
        metrics = {"time": self._time[-1], "batches": self._batches[-1], "samples": self._samples[-1]}
        if self._lengths:
            metrics["lengths"] = self._lengths[-1]
        elapsed = self._time[-1] - self._time[0] if len(self._time) == self.window_size else 0.0
        if elapsed > 0:
            batches_per_sec = (self._batches[-1] - self._batches[0]) / elapsed
            samples_per_sec = (self._samples[-1] - self._samples[0]) / elapsed
            metrics[f"device{sep}batches_per_sec"] = batches_per_sec
            metrics[f"device{sep}samples_per_sec"] = samples_per_sec
            if several:
                metrics["batches_per_sec"] = batches_per_sec * self.world_size
                metrics["samples_per_sec"] = samples_per_sec * self.world_size
            if len(self._lengths) == self.window_size:
                items_per_sec = (self._lengths[-1] - self._lengths[0]) / elapsed
                metrics[f"device{sep}items_per_sec"] = items_per_sec
                if several:
                    metrics["items_per_sec"] = items_per_sec * self.world_size
            if len(self._flops) == self.window_size:
                flops_per_sec = (sum(self._flops) - self._flops[0]) / elapsed
                if several:
                    metrics["flops_per_sec"] = flops_per_sec
                metrics[f"device{sep}flops_per_sec"] = flops_per_sec / self.world_size
        return metrics


class ThroughputMonitor(Callback):
    """Logs how fast each stage runs, as ``<stage>/<metric>`` (``train/device/samples_per_sec``,
    ``validate/batches``, ...; the metrics of ``Throughput``), on rank 0.

    Training values are logged at the end of every ``log_every_n_steps``-th optimizer step (so the optimizer's
    time counts), and validation inside ``fit`` is left out of the training time; evaluation values
    (``validate``, ``test``, ``predict``) are logged after every batch at the stage's batch count. Rates need a
    full window of ``window_size`` batches. A module with a ``flops_per_batch`` attribute adds
    ``device/flops_per_sec``.

    Args:
        batch_size_fn: the number of samples in a batch (``lambda batch: batch[0].shape[0]``).
        length_fn: the number of items (tokens, frames) in a batch, for ``items_per_sec``.
        window_size: how many batches the rates average over (> 1).
        separator: between the parts of a metric's name.

    Example:
        >>> from ember.trainer.callbacks import ThroughputMonitor
        >>> monitor = ThroughputMonitor(batch_size_fn=lambda batch: batch[0].shape[0], window_size=10)
    """

    def __init__(self, batch_size_fn: Callable[[Any], int], length_fn: Callable[[Any], int] | None = None,
                 window_size: int = 100, separator: str = "/"):
        self.batch_size_fn, self.length_fn = batch_size_fn, length_fn
        self.window_size, self.separator = window_size, separator
        self._throughputs: dict[str, Throughput] = {}
        self._t0s: dict[str, float] = {}
        self._counts: dict[str, list[int]] = {}  # stage -> [batches, samples, lengths]
        self._validation_started = 0.0

    def setup(self, trainer, module, stage: str) -> None:
        for name in ("train", "validate") if stage == "fit" else (stage,):
            self._throughputs[name] = Throughput(trainer.world_size, self.window_size, self.separator)

    def _start(self, trainer, stage: str) -> None:
        if trainer.state.fn == "fit" or stage not in self._counts:
            self._throughputs[stage].reset()
            self._counts[stage] = [0, 0, 0]
        self._t0s[stage] = time.perf_counter()

    def _update(self, trainer, module, stage: str, batch) -> None:
        counts = self._counts[stage]
        with ember.no_grad():  # (in case batch_size_fn / length_fn compute with tensors)
            counts[0] += 1
            counts[1] += int(self.batch_size_fn(batch))
            if self.length_fn is not None:
                counts[2] += int(self.length_fn(batch))
        self._throughputs[stage].update(time=time.perf_counter() - self._t0s[stage], batches=counts[0],
                                        samples=counts[1], lengths=counts[2] if self.length_fn else None,
                                        flops=getattr(module, "flops_per_batch", None))

    def _log(self, trainer, stage: str, step: int) -> None:
        metrics = self._throughputs[stage].compute()
        trainer.log_metrics({f"{stage}{self.separator}{k}": float(v) for k, v in metrics.items()}, step)

    def on_train_start(self, trainer, module) -> None:
        if trainer.is_global_zero:
            self._start(trainer, "train")

    @_ignores_outputs
    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx: int) -> None:
        if not trainer.is_global_zero:
            return
        self._update(trainer, module, "train", batch)
        window = trainer.accumulate_grad_batches
        stepped = (batch_idx + 1) % window == 0 or batch_idx + 1 == trainer.state.epoch_batches
        every = trainer.log_every_n_steps or 1
        if stepped and (trainer.global_step % every == 0 or trainer.should_stop):
            self._log(trainer, "train", trainer.global_step)

    def _eval_start(self, trainer, stage: str) -> None:
        if trainer.is_global_zero and not trainer.sanity_checking:
            if stage == "validate" and trainer.state.fn == "fit":
                self._validation_started = time.perf_counter()
            self._start(trainer, stage)

    def _eval_batch_end(self, trainer, module, stage: str, batch) -> None:
        if trainer.is_global_zero and not trainer.sanity_checking:
            self._update(trainer, module, stage, batch)
            self._log(trainer, stage, self._counts[stage][0])

    def on_validation_start(self, trainer, module) -> None:
        self._eval_start(trainer, "validate")

    def on_validation_batch_end(self, trainer, module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._eval_batch_end(trainer, module, "validate", batch)

    def on_validation_end(self, trainer, module) -> None:
        if trainer.is_global_zero and not trainer.sanity_checking and trainer.state.fn == "fit":
            self._t0s["train"] += time.perf_counter() - self._validation_started  # training time only

    def on_test_start(self, trainer, module) -> None:
        self._eval_start(trainer, "test")

    def on_test_batch_end(self, trainer, module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._eval_batch_end(trainer, module, "test", batch)

    def on_predict_start(self, trainer, module) -> None:
        self._eval_start(trainer, "predict")

    def on_predict_batch_end(self, trainer, module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._eval_batch_end(trainer, module, "predict", batch)
