"""``Timer``: measure time per stage and stop training after a time budget (``Trainer(max_time=...)``)."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

from .base import Callback, _ignores_outputs


def parse_duration(duration: str | timedelta | dict | None) -> timedelta | None:
    """``"DD:HH:MM:SS"``, a ``timedelta`` or a dict of ``timedelta`` arguments."""
    if duration is None or isinstance(duration, timedelta):
        return duration
    if isinstance(duration, dict):
        return timedelta(**duration)
    match = re.fullmatch(r"(\d+):(\d\d):(\d\d):(\d\d)", str(duration).strip())
    if not match:
        raise ValueError(f'max_time / Timer duration must look like "DD:HH:MM:SS", got {duration!r}')
    days, hours, minutes, seconds = map(int, match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


class Timer(Callback):
    """Tracks the time spent in training, validation and testing, and stops training once
    ``duration`` has elapsed (checked every step or every epoch, per ``interval``). The elapsed
    training time is stored in checkpoints, so a resumed run keeps counting.

    Example:
        >>> from ember.trainer.callbacks import Timer
        >>> timer = Timer(duration="00:12:00:00")   # 12 hours
        >>> # after fit: timer.time_elapsed("train")
    """

    priority = 100

    def __init__(self, duration: str | timedelta | dict | None = None, interval: str = "step", verbose: bool = True):
        if interval not in ("step", "epoch"):
            raise ValueError(f"Timer: interval must be 'step' or 'epoch', got {interval!r}")
        self._duration = parse_duration(duration)
        self._interval, self._verbose = interval, verbose
        self._start: dict[str, float | None] = {"train": None, "validate": None, "test": None}
        self._end: dict[str, float | None] = {"train": None, "validate": None, "test": None}
        self._offset = 0.0

    def start_time(self, stage: str = "train") -> float | None:
        return self._start[stage]

    def end_time(self, stage: str = "train") -> float | None:
        return self._end[stage]

    def time_elapsed(self, stage: str = "train") -> float:
        start, end = self._start[stage], self._end[stage]
        offset = self._offset if stage == "train" else 0.0
        if start is None:
            return offset
        return offset + ((end if end is not None else time.monotonic()) - start)

    def time_remaining(self, stage: str = "train") -> float | None:
        return None if self._duration is None else self._duration.total_seconds() - self.time_elapsed(stage)

    def on_train_start(self, trainer, module) -> None:
        self._start["train"], self._end["train"] = time.monotonic(), None

    def on_train_end(self, trainer, module) -> None:
        self._end["train"] = time.monotonic()

    def on_validation_start(self, trainer, module) -> None:
        self._start["validate"], self._end["validate"] = time.monotonic(), None

    def on_validation_end(self, trainer, module) -> None:
        self._end["validate"] = time.monotonic()

    def on_test_start(self, trainer, module) -> None:
        self._start["test"], self._end["test"] = time.monotonic(), None

    def on_test_end(self, trainer, module) -> None:
        self._end["test"] = time.monotonic()

    @_ignores_outputs
    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if self._interval == "step":
            self._check(trainer)

    def on_train_epoch_end(self, trainer, module) -> None:
        if self._interval == "epoch":
            self._check(trainer)

    def _check(self, trainer) -> None:
        if self._duration is None or trainer.should_stop:
            return
        if self.time_elapsed("train") >= self._duration.total_seconds():
            trainer.should_stop = True
            if self._verbose:
                print(f"Time limit reached ({self._duration}). Signaling Trainer to stop.")

    def state_dict(self) -> dict[str, Any]:
        return {"time_elapsed": {"train": self.time_elapsed("train")}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._offset = float(state.get("time_elapsed", {}).get("train", 0.0))
