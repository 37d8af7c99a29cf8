"""``EarlyStopping``: stop when a monitored metric stops improving (optionally restoring the best weights)."""

from __future__ import annotations

import math
from typing import Any

import ember
import numpy as np

from .base import Callback


class EarlyStopping(Callback):
    """Stops training when ``monitor`` has not improved by ``min_delta`` for ``patience`` checks.

    A check happens when the training epoch ends (the default, when validation runs once per
    epoch) or after each validation (when it runs several times per epoch or not every epoch).

    Args:
        monitor: the logged metric to watch.
        min_delta: the smallest change that counts as an improvement.
        patience: checks without improvement before stopping.
        mode: ``"min"`` (lower is better) or ``"max"``.
        strict: raise if ``monitor`` was never logged (else skip the check).
        check_finite: stop as soon as the metric is NaN or infinite.
        stopping_threshold: stop as soon as the metric is better than this.
        divergence_threshold: stop as soon as the metric is worse than this.
        check_on_train_epoch_end: force where the check happens (None: as described above).
        restore_best_weights: when training ends, put back the weights of the best check (not in
            Lightning; as in Keras).

    Example:
        >>> from ember.trainer.callbacks import EarlyStopping
        >>> stopper = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    """

    priority = -200

    def __init__(self, monitor: str, min_delta: float = 0.0, patience: int = 3, verbose: bool = False,
                 mode: str = "min", strict: bool = True, check_finite: bool = True,
                 stopping_threshold: float | None = None, divergence_threshold: float | None = None,
                 check_on_train_epoch_end: bool | None = None, restore_best_weights: bool = False):
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        self.monitor, self.mode, self.patience, self.verbose = monitor, mode, patience, verbose
        self.min_delta = abs(min_delta)
        self.strict, self.check_finite = strict, check_finite
        self.stopping_threshold, self.divergence_threshold = stopping_threshold, divergence_threshold
        self._check_on_train_epoch_end = check_on_train_epoch_end
        self.restore_best_weights = restore_best_weights
        self.wait_count = 0
        self.stopped_epoch = 0
        self.best_score = math.inf if mode == "min" else -math.inf
        self.best_weights: dict | None = None
        self.stopping_reason_message: str | None = None

    @property
    def state_key(self) -> str:
        return self._generate_state_key(monitor=self.monitor, mode=self.mode)

    def _better(self, a: float, b: float) -> bool:
        return a < b if self.mode == "min" else a > b

    def _checks_on_train_epoch_end(self, trainer) -> bool:
        if self._check_on_train_epoch_end is not None:
            return self._check_on_train_epoch_end
        return trainer.val_check_interval in (None, 1.0) and trainer.check_val_every_n_epoch == 1

    def on_train_epoch_end(self, trainer, module) -> None:
        if self._checks_on_train_epoch_end(trainer):
            self._check(trainer, module)

    def on_validation_end(self, trainer, module) -> None:
        if trainer.state.fn == "fit" and not trainer.sanity_checking and not self._checks_on_train_epoch_end(trainer):
            self._check(trainer, module)

    def on_train_end(self, trainer, module) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            module.load_state_dict(self.best_weights)
            if self.verbose:
                print(f"EarlyStopping: restored the weights with the best {self.monitor} = {self.best_score:.5g}")

    def _check(self, trainer, module) -> None:
        if trainer.fast_dev_run:
            return
        metrics = trainer.callback_metrics
        if self.monitor not in metrics:
            if self.strict:
                raise RuntimeError(
                    f"Early stopping conditioned on metric {self.monitor!r}, which is not available. Pass in or modify "
                    f"your EarlyStopping callback to use any of the following: {sorted(metrics)}"
                )
            return
        current = float(metrics[self.monitor])
        should_stop, reason = self._evaluate(current, module)
        if should_stop:
            trainer.should_stop = True
            self.stopped_epoch = trainer.current_epoch
        if reason:
            self.stopping_reason_message = reason
            if self.verbose:
                print(reason)

    def _evaluate(self, current: float, module) -> tuple[bool, str | None]:
        sign = -1.0 if self.mode == "min" else 1.0
        if self.check_finite and not math.isfinite(current):
            return True, (f"Monitored metric {self.monitor} = {current} is not finite. "
                          f"Previous best value was {self.best_score:.3f}. Signaling Trainer to stop.")
        if self.stopping_threshold is not None and self._better(current, self.stopping_threshold):
            return True, (f"Stopping threshold reached: {self.monitor} = {current} "
                          f"{'<' if self.mode == 'min' else '>'} {self.stopping_threshold}. Signaling Trainer to stop.")
        if self.divergence_threshold is not None and self._better(self.divergence_threshold, current):
            return True, (f"Divergence threshold reached: {self.monitor} = {current} "
                          f"{'>' if self.mode == 'min' else '<'} {self.divergence_threshold}. Signaling Trainer to stop.")
        if self._better(current - sign * self.min_delta, self.best_score):
            self.best_score = current
            self.wait_count = 0
            if self.restore_best_weights:
                self.best_weights = {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}
            return False, f"Metric {self.monitor} improved. New best score: {current:.3f}"
        self.wait_count += 1
        if self.wait_count >= self.patience:
            return True, (f"Monitored metric {self.monitor} did not improve in the last {self.wait_count} records. "
                          f"Best score: {self.best_score:.3f}. Signaling Trainer to stop.")
        return False, None

    def state_dict(self) -> dict[str, Any]:
        return {"wait_count": self.wait_count, "stopped_epoch": self.stopped_epoch, "best_score": self.best_score,
                "patience": self.patience, "best_weights": self.best_weights}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.wait_count = int(state["wait_count"])
        self.stopped_epoch = int(state["stopped_epoch"])
        self.best_score = float(state["best_score"])
        self.patience = int(state.get("patience", self.patience))
        weights = state.get("best_weights")
        self.best_weights = None if weights is None else {k: _as_array(v) for k, v in weights.items()}


def _as_array(value) -> np.ndarray:
    """A saved weight as an ndarray (checkpoints may hold Tensors or arrays)."""
    return value.detach().numpy() if isinstance(value, ember.Tensor) else np.asarray(value)
