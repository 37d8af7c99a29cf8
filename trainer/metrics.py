"""What ``self.log`` does: collecting values and reducing them per epoch.

The rules, in one place (they are also in ``TrainingModule.log``'s docstring):

* A metric keeps the name it was logged under. Nothing is renamed (no ``_step``/``_epoch``
  suffixes). The only exception is a stage with several data loaders, where Lightning's
  ``/dataloader_idx_N`` suffix keeps the loaders apart, unless ``add_dataloader_idx=False`` (then a name
  logged from two loaders is an error, as in Lightning).
* Defaults: in ``training_step`` and the training batch hooks ``on_step=True, on_epoch=False``;
  in ``on_train_epoch_*`` and in everything validation/test ``on_step=False, on_epoch=True``.
* Per-step values (``on_step=True`` in training) go to the loggers in a row whose ``step`` is
  ``trainer.global_step`` when the batch started, every ``log_every_n_steps`` optimizer steps.
* Per-epoch values are reduced with ``reduce_fx`` (``"mean"`` weighted by ``batch_size``, ``"sum"``,
  ``"max"``, ``"min"``) and written in one row at the end of the training epoch, or at the end of
  each validation / test run, with ``step`` = ``trainer.global_step`` at that moment.
* ``trainer.callback_metrics[name]`` is the latest value: the step value during an epoch, replaced
  by the reduced value when the epoch (or validation run) ends. Values logged during the sanity
  check are thrown away.
* Per-step values logged during validation/test (``on_step=True``) reach ``callback_metrics`` and the
  progress bar, not the loggers.
* The store keeps Python floats (``self.log`` runs at every step); ``trainer.callback_metrics`` and
  ``trainer.logged_metrics`` show them as 0-d tensors, as Lightning's do, made when those dicts are read
  (``TensorView``); ``trainer.progress_bar_metrics`` holds floats, as Lightning's does.
"""

from __future__ import annotations

import contextlib
import math

import ember
import numpy as np

_REDUCTIONS = ("mean", "sum", "max", "min")
_CALLABLE_NAMES = {"mean": "mean", "sum": "sum", "max": "max", "min": "min", "amax": "max", "amin": "min"}


def to_float(name: str, value) -> float:
    """A logged value as a Python float (a Tensor/ndarray must hold exactly one element)."""
    if isinstance(value, ember.Tensor):  # the common case: a scalar Tensor
        try:
            return float(value.item())
        except RuntimeError:  # (item() refuses a tensor of several elements)
            if value.numel() != 1:
                raise ValueError(
                    f"self.log({name!r}, value): value must be a scalar (one element), got shape {tuple(value.shape)}"
                ) from None
            raise
    if isinstance(value, float):
        return value
    if isinstance(value, (bool, int)):
        return float(value)
    if isinstance(value, (np.ndarray, np.generic)):
        if np.size(value) != 1:
            raise ValueError(
                f"self.log({name!r}, value): value must be a scalar (one element), got shape {tuple(np.shape(value))}"
            )
        return float(np.asarray(value).reshape(()))
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"self.log({name!r}, value): value must be a number or a one-element Tensor, got {type(value).__name__}"
        ) from None


def _reduction_name(reduce_fx) -> str:
    if isinstance(reduce_fx, str):
        if reduce_fx not in _REDUCTIONS:
            raise ValueError(f"self.log: reduce_fx must be one of {_REDUCTIONS} or a matching function, got {reduce_fx!r}")
        return reduce_fx
    name = getattr(reduce_fx, "__name__", "")
    if name in _CALLABLE_NAMES:
        return _CALLABLE_NAMES[name]
    raise ValueError(f"self.log: unsupported reduce_fx {reduce_fx!r}; use 'mean', 'sum', 'max' or 'min'")


def infer_batch_size(batch) -> int:
    """The size of the first dimension of the first tensor/array found in ``batch`` (1 if none)."""
    stack = [batch]
    while stack:
        item = stack.pop(0)
        shape = getattr(item, "shape", None)
        if shape is not None:
            return int(shape[0]) if len(shape) else 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            if item and isinstance(item[0], (int, float)) and not isinstance(item[0], bool):
                return len(item)
            stack.extend(item)
    return 1


class _Accumulator:
    __slots__ = ("dataloader_idx", "logger", "prog_bar", "reduction", "total", "weight")

    def __init__(self, reduction: str, prog_bar: bool, logger: bool, dataloader_idx: int | None = None):
        self.reduction = reduction
        self.dataloader_idx = dataloader_idx  # the evaluation loader it was logged from (None: training, or one)
        self.total = 0.0 if reduction in ("mean", "sum") else None
        self.weight = 0.0
        self.prog_bar, self.logger = prog_bar, logger

    def add(self, value: float, batch_size: float) -> None:
        if self.reduction == "mean":
            self.total += value * batch_size
            self.weight += batch_size
        elif self.reduction == "sum":
            self.total += value
        elif self.total is None:
            self.total = value
        elif self.reduction == "max":
            self.total = max(self.total, value)
        else:
            self.total = min(self.total, value)

    def compute(self) -> float:
        if self.reduction == "mean":
            return self.total / self.weight if self.weight else math.nan
        return math.nan if self.total is None else self.total

    def state(self) -> list:
        return [self.reduction, self.total, self.weight, self.prog_bar, self.logger]

    @classmethod
    def from_state(cls, state: list) -> _Accumulator:
        acc = cls(str(state[0]), bool(state[3]), bool(state[4]))
        acc.total = None if state[1] is None else float(state[1])
        acc.weight = float(state[2])
        return acc


class TensorView:
    """A dict of 0-d tensors kept in step with a dict of floats, refreshed when read (``read()``).

    Only values that changed since the last read are converted, so reading once per step costs one dict
    walk. The dict returned is the same object at every read: a value written into it (Lightning's
    ``trainer.callback_metrics.update(...)``) stays until its name is logged again.
    """

    __slots__ = ("floats", "seen", "tensors")

    def __init__(self, floats: dict):
        self.floats = floats
        self.tensors: dict = {}
        self.seen: dict = {}  # name -> the float its tensor was made from

    def read(self) -> dict:
        floats, seen, tensors = self.floats, self.seen, self.tensors
        for name, value in floats.items():
            if seen.get(name, _UNSEEN) is not value:
                seen[name] = value
                tensors[name] = ember.tensor(value, dtype=ember.get_default_dtype())
        if len(seen) > len(floats):  # names the store dropped (a checkpoint was loaded)
            for name in [name for name in seen if name not in floats]:
                del seen[name]
                tensors.pop(name, None)
        return tensors


_UNSEEN = object()


class MetricStore:
    """Collects ``self.log`` calls for the trainer.

    ``stage`` is ``"train"`` or an evaluation stage; ``batch_level`` says whether a batch is being
    processed (it decides the ``on_step``/``on_epoch`` defaults).
    """

    def __init__(self):
        self.stage = "train"
        self.batch_level = False
        self.enabled = True
        self.batch = None
        self._batch_size: int | None = None
        self.step_values: dict[str, float] = {}
        self.step_flags: dict[str, tuple[bool, bool]] = {}
        self.accumulators: dict[str, dict[str, _Accumulator]] = {}
        self.callback_metrics: dict[str, float] = {}
        self.logged_metrics: dict[str, float] = {}
        self.progress_bar_metrics: dict[str, float] = {}
        self.dataloader_suffix = ""
        self.dataloader_idx: int | None = None  # the evaluation loader being run when there are several
        self.callback_view = TensorView(self.callback_metrics)
        self.logged_view = TensorView(self.logged_metrics)
        self.sync = None  # set by the trainer under DDP: (value, reduction) -> value reduced over the ranks

    # -- called by TrainingModule.log -----------------------------------------------------------
    def log(self, name, value, prog_bar=False, logger=True, on_step=None, on_epoch=None, reduce_fx="mean",
            batch_size=None, sync_dist=False, add_dataloader_idx=True) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"self.log: the name must be a non-empty string, got {name!r}")
        if isinstance(value, ember.Tensor):  # the common case, to_float's first, inline: a one-element tensor
            try:
                value = value.item()
            except RuntimeError:  # (item() refuses a tensor of several elements: to_float names the metric)
                value = to_float(name, value)
            if type(value) is not float:
                value = float(value)
        elif type(value) is not float:
            value = to_float(name, value)
        in_train_batch = self.batch_level and self.stage == "train"
        if on_step is None:
            on_step = in_train_batch
        if on_epoch is None:
            on_epoch = not in_train_batch
        if on_step and not self.batch_level:
            raise ValueError(
                f"self.log({name!r}, on_step=True) was called outside a batch (in an epoch-level hook); "
                "a value logged there can only be logged on_epoch"
            )
        if not (on_step or on_epoch):
            raise ValueError(f"self.log({name!r}): on_step and on_epoch are both False, so nothing would be logged")
        if not self.enabled:
            return
        if sync_dist and self.sync is not None:  # DDP: the value reduced over the ranks, at once
            value = self.sync(value, _reduction_name(reduce_fx))
        if self.dataloader_suffix:
            if add_dataloader_idx:
                name = name + self.dataloader_suffix
            elif on_epoch:
                self._check_one_loader(name)
        if on_step:
            self.step_values[name] = value
            self.step_flags[name] = (prog_bar, logger)
            self.callback_metrics[name] = value
            if prog_bar:
                self.progress_bar_metrics[name] = value
        if on_epoch:
            accumulators = self.accumulators.setdefault(self.stage, {})
            acc = accumulators.get(name)
            if acc is None:
                acc = accumulators[name] = _Accumulator(_reduction_name(reduce_fx), prog_bar, logger,
                                                        self.dataloader_idx)
            if acc.reduction == "mean":
                if batch_size is None:
                    if self._batch_size is None:
                        self._batch_size = infer_batch_size(self.batch) if self.batch_level else 1
                    batch_size = self._batch_size
                acc.add(value, float(batch_size))
            else:
                acc.add(value, 1.0)
            if not self.batch_level:
                self.callback_metrics[name] = value

    def _check_one_loader(self, name: str) -> None:
        """``add_dataloader_idx=False``: ``name`` must not have been logged from another loader (Lightning's error)."""
        acc = self.accumulators.get(self.stage, {}).get(name)
        if acc is not None and acc.dataloader_idx != self.dataloader_idx:
            step = "validation_step" if self.stage in ("validate", "sanity_check") else f"{self.stage}_step"
            raise ValueError(f"You called `self.log({name}, ...)` twice in `{step}` with different arguments. This is "
                             f"not allowed (it was logged from dataloader {acc.dataloader_idx} and now from "
                             f"{self.dataloader_idx} with add_dataloader_idx=False: give each loader its own name)")

    # -- called by the trainer ------------------------------------------------------------------
    @contextlib.contextmanager
    def silenced(self):
        """``self.log`` calls inside are checked but not recorded (``LearningRateFinder``'s trial steps)."""
        self.enabled = False
        try:
            yield self
        finally:
            self.enabled = True
            self.step_values.clear()

    def start_batch(self, batch) -> None:
        self.batch = batch
        self._batch_size = None
        self.batch_level = True

    def end_batch(self) -> None:
        self.batch = None
        self.batch_level = False

    def pop_step_metrics(self) -> dict[str, float]:
        """The per-step values meant for the loggers, and forget all pending step values."""
        out = {name: v for name, v in self.step_values.items() if self.step_flags[name][1]}
        self.step_values.clear()
        return out

    def reset_stage(self, stage: str) -> None:
        self.accumulators.pop(stage, None)

    def reduce_stage(self, stage: str) -> tuple[dict[str, float], dict[str, float]]:
        """Reduces the epoch accumulators of ``stage`` (and clears them); updates the callback and
        progress-bar metrics. Returns (every reduced value, the values meant for the loggers)."""
        values, for_loggers = {}, {}
        for name, acc in self.accumulators.pop(stage, {}).items():
            value = values[name] = acc.compute()
            self.callback_metrics[name] = value
            if acc.prog_bar:
                self.progress_bar_metrics[name] = value
            if acc.logger:
                for_loggers[name] = value
        return values, for_loggers

    def state_dict(self) -> dict:
        return {
            "train": {name: acc.state() for name, acc in self.accumulators.get("train", {}).items()},
            "callback_metrics": dict(self.callback_metrics),
            "logged_metrics": dict(self.logged_metrics),
            "progress_bar_metrics": dict(self.progress_bar_metrics),
        }

    def load_state_dict(self, state: dict) -> None:
        self.accumulators = {"train": {n: _Accumulator.from_state(s) for n, s in state.get("train", {}).items()}}
        for key in ("callback_metrics", "logged_metrics", "progress_bar_metrics"):
            getattr(self, key).clear()
            getattr(self, key).update({n: float(v) for n, v in state.get(key, {}).items()})
