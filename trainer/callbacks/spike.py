"""``SpikeDetection``: stop training at a loss spike and write down the batches to skip (Lightning's)."""

from __future__ import annotations

import collections
import json
import math
import os
from collections.abc import Mapping
from typing import Any

from .base import Callback


class TrainingSpikeException(RuntimeError):
    """Raised by ``SpikeDetection`` when the training loss spiked."""

    def __init__(self, batch_idx: int, *args: Any):
        super().__init__(f"Training spike detected in batch {batch_idx}", *args)
        self.batch_idx = batch_idx


class SpikeDetection(Callback):
    """Ends training with a ``TrainingSpikeException`` when the loss of a training batch spikes, after writing
    that batch's index and the one before (which may have spoiled the weights) to ``exclude_batches_path``
    (a JSON list; default ``<default_root_dir>/skip_batches.json``), so a resumed run can skip them.

    A loss is a spike when it is worse than the previous loss (higher with ``mode="min"``) and differs from the
    running mean of the last ``window`` losses by at least ``atol`` (if given) and by at least ``rtol`` times
    that mean (if given); with ``finite_only`` a NaN or infinite loss is a spike too. The first ``warmup``
    batches of each epoch are not checked. Under DDP a spike on any rank stops every rank.

    Example:
        >>> from ember.trainer.callbacks import SpikeDetection
        >>> spikes = SpikeDetection(window=10, rtol=2.0)
    """

    def __init__(self, mode: str = "min", window: int = 10, warmup: int = 1, atol: float | None = None,
                 rtol: float | None = 2.0, exclude_batches_path: str | None = None, finite_only: bool = True):
        if mode not in ("min", "max"):
            raise ValueError(f"Invalid mode. Has to be min or max, found {mode}")
        self.mode, self.window, self.warmup, self.atol, self.rtol = mode, window, warmup, atol, rtol
        self.exclude_batches_path = exclude_batches_path
        self.finite_only = finite_only
        self.last_val = 0.0
        self.recent: collections.deque = collections.deque(maxlen=window)
        self.bad_batches: list[int] = []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx: int) -> None:
        loss = outputs.get("loss") if isinstance(outputs, Mapping) else outputs
        if not hasattr(loss, "item"):
            raise TypeError(f"outputs have to be a Tensor or a Mapping with a 'loss', got {type(outputs).__qualname__}")
        loss = float(loss.detach().item())
        if self.exclude_batches_path is None:
            self.exclude_batches_path = os.path.join(trainer.default_root_dir, "skip_batches.json")
        is_spike = batch_idx >= self.warmup and self._is_spike(loss)
        if trainer.world_size > 1:  # spikes are found per rank; every rank stops if one does
            is_spike = bool(trainer.strategy.reduce_any([is_spike])[0])
        if is_spike:
            self._handle_spike(trainer, batch_idx)
        elif self.finite_only or math.isfinite(loss):
            self.recent.append(loss)
            self.last_val = loss

    def _is_spike(self, loss: float) -> bool:
        if self.finite_only and not math.isfinite(loss):
            return True
        difference = loss - self.last_val
        if (difference <= 0) if self.mode == "min" else (difference >= 0):  # an improvement is never a spike
            return False
        if not self.recent:
            return False
        mean = sum(self.recent) / len(self.recent)
        return ((self.atol is None or abs(loss - mean) >= abs(self.atol))
                and (self.rtol is None or abs(loss - mean) >= abs(self.rtol * mean)))

    def _handle_spike(self, trainer, batch_idx: int) -> None:
        self.bad_batches.extend([batch_idx - 1, batch_idx])
        if trainer.is_global_zero:
            path = str(self.exclude_batches_path)
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            with open(path, "w") as f:
                json.dump(self.bad_batches, f, indent=4)
        raise TrainingSpikeException(batch_idx=batch_idx)

    def state_dict(self) -> dict[str, Any]:
        return {"last_val": self.last_val, "recent": list(self.recent), "bad_batches": list(self.bad_batches),
                "bad_batches_path": self.exclude_batches_path}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.last_val = float(state_dict["last_val"])
        self.recent = collections.deque((float(v) for v in state_dict["recent"]), maxlen=self.window)
        self.bad_batches = [int(v) for v in state_dict["bad_batches"]]
        self.exclude_batches_path = state_dict["bad_batches_path"]
