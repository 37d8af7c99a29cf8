"""``ModelCheckpoint``: save checkpoints periodically, keep the top-k by a monitored metric, and ``last``."""

from __future__ import annotations

import math
import os
import re
import time
import warnings
from datetime import timedelta
from typing import Any

import ember

from ..checkpoint import check_folder_writable
from .base import Checkpoint, _ignores_outputs


class ModelCheckpoint(Checkpoint):
    """Saves checkpoints (Lightning's arguments and file names).

    When it saves: every ``every_n_epochs`` epochs (default 1 unless one of the others is given),
    every ``every_n_train_steps`` optimizer steps, or every ``train_time_interval``. An epoch's
    checkpoint is saved when the training epoch ends (after its validation) — or, when validation
    runs several times per epoch or not every epoch, after each validation, so a monitored
    validation metric is always saved after the validation that produced it.

    What it keeps: with ``monitor``, the ``save_top_k`` best files by ``mode`` (-1 keeps all, 0
    none); without it, the latest file only (``save_top_k=1``) or all (-1). ``save_last=True``
    also writes ``last.ckpt`` each time. Files are written at the end of the training step that
    asked for them, so every one can resume the run exactly.

    Args:
        dirpath: folder (default ``<log_dir>/checkpoints``, or ``<default_root_dir>/checkpoints``).
        filename: template with metric names, e.g. ``"{epoch}-{val_loss:.2f}"`` gives
            ``epoch=3-val_loss=0.25.ckpt`` (default ``"{epoch}-{step}"``).
        monitor, mode: the metric that ranks checkpoints and whether lower (``"min"``) or higher is better.
        save_last, save_top_k, save_weights_only, every_n_train_steps, train_time_interval,
        every_n_epochs, save_on_train_epoch_end, auto_insert_metric_name, verbose: as in Lightning.

    Attributes:
        best_model_path, best_model_score, best_k_models, last_model_path, kth_best_model_path.

    Example:
        >>> from ember.trainer.callbacks import ModelCheckpoint
        >>> checkpoint = ModelCheckpoint(monitor="val_loss", save_top_k=2, save_last=True,
        ...                              filename="{epoch}-{val_loss:.3f}")
    """

    CHECKPOINT_JOIN_CHAR = "-"
    CHECKPOINT_EQUALS_CHAR = "="
    CHECKPOINT_NAME_LAST = "last"
    FILE_EXTENSION = ".ckpt"
    priority = -300

    def __init__(self, dirpath: str | None = None, filename: str | None = None, monitor: str | None = None,
                 verbose: bool = False, save_last: bool | None = None, save_top_k: int = 1,
                 save_weights_only: bool = False, mode: str = "min", auto_insert_metric_name: bool = True,
                 every_n_train_steps: int | None = None, train_time_interval: timedelta | None = None,
                 every_n_epochs: int | None = None, save_on_train_epoch_end: bool | None = None):
        if mode not in ("min", "max"):
            raise ValueError(f"ModelCheckpoint: mode must be 'min' or 'max', got {mode!r}")
        if save_top_k < -1:
            raise ValueError(f"ModelCheckpoint: save_top_k must be >= -1, got {save_top_k}")
        if monitor is None and save_top_k not in (-1, 0, 1):
            raise ValueError(f"ModelCheckpoint(save_top_k={save_top_k}) needs a monitor to rank checkpoints by")
        self.dirpath = os.fspath(dirpath) if dirpath is not None else None
        self._dirpath_given = dirpath is not None
        self.filename = filename
        self.monitor, self.mode, self.verbose = monitor, mode, verbose
        self.save_last, self.save_top_k, self.save_weights_only = save_last, save_top_k, save_weights_only
        self.auto_insert_metric_name = auto_insert_metric_name
        given = every_n_train_steps or train_time_interval
        self.every_n_epochs = every_n_epochs if every_n_epochs is not None else (0 if given else 1)
        self.every_n_train_steps = every_n_train_steps or 0
        self.train_time_interval = train_time_interval
        self.save_on_train_epoch_end = save_on_train_epoch_end
        # The scores are 0-d tensors, as Lightning's (ported code calls ``best_model_score.item()``)
        self.best_k_models: dict[str, ember.Tensor] = {}
        self.kth_best_model_path = ""
        self.kth_value: ember.Tensor | None = None
        self.best_model_path = ""
        self.best_model_score: ember.Tensor | None = None
        self.current_score: ember.Tensor | None = None
        self.last_model_path = ""
        self._last_global_step_saved = 0  # (nothing to save before the first optimizer step, as in Lightning)
        self._last_time_checked: float | None = None

    @property
    def state_key(self) -> str:
        return self._generate_state_key(monitor=self.monitor, mode=self.mode,
                                        every_n_train_steps=self.every_n_train_steps,
                                        every_n_epochs=self.every_n_epochs,
                                        train_time_interval=str(self.train_time_interval))

    # -- hooks ---------------------------------------------------------------------------------
    def setup(self, trainer, module, stage: str) -> None:
        if not self._dirpath_given:
            self.dirpath = os.path.join(trainer.log_dir, "checkpoints")
        if stage == "fit" and trainer.is_global_zero and (self.save_top_k != 0 or self.save_last):
            check_folder_writable(self.dirpath, "ModelCheckpoint")  # now, not when the first save is due

    def on_train_start(self, trainer, module) -> None:
        self._last_time_checked = time.monotonic()

    @_ignores_outputs
    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if (not self.every_n_train_steps and self.train_time_interval is None) or trainer.fast_dev_run:
            return
        due_steps = self.every_n_train_steps > 0 and trainer.global_step % self.every_n_train_steps == 0
        due_time = False
        if self.train_time_interval is not None:
            now = time.monotonic()
            interval = self.train_time_interval
            seconds = interval.total_seconds() if isinstance(interval, timedelta) else float(interval)
            if self._last_time_checked is None or now - self._last_time_checked >= seconds:
                due_time, self._last_time_checked = True, now
        if due_steps or due_time:
            self._save(trainer)

    def on_train_epoch_end(self, trainer, module) -> None:
        if self._epoch_due(trainer) and self._saves_on_train_epoch_end(trainer):
            self._save(trainer)

    def on_validation_end(self, trainer, module) -> None:
        if trainer.sanity_checking or trainer.state.fn != "fit":
            return
        if self._epoch_due(trainer) and not self._saves_on_train_epoch_end(trainer):
            self._save(trainer)

    def _epoch_due(self, trainer) -> bool:
        return (not trainer.fast_dev_run and self.every_n_epochs >= 1
                and (trainer.current_epoch + 1) % self.every_n_epochs == 0)

    def _saves_on_train_epoch_end(self, trainer) -> bool:
        if self.save_on_train_epoch_end is not None:
            return self.save_on_train_epoch_end
        if not trainer.enable_validation:
            return True
        if trainer.check_val_every_n_epoch != 1:
            return False
        return trainer.val_check_interval in (None, 1.0)

    # -- saving --------------------------------------------------------------------------------
    def _save(self, trainer) -> None:
        if trainer.global_step == self._last_global_step_saved:
            return  # already saved at this step
        candidates = self._monitor_candidates(trainer)
        if self.monitor is None:
            self._save_without_monitor(trainer, candidates)
        else:
            if self.monitor not in candidates:
                message = (f"ModelCheckpoint(monitor={self.monitor!r}) could not find the monitored key in the logged "
                           f"metrics: {sorted(k for k in candidates if k not in ('epoch', 'step'))}. "
                           f"HINT: did you call self.log({self.monitor!r}, value) in the TrainingModule?")
                if trainer.validation_has_run:
                    raise RuntimeError(message)
                warnings.warn(message, stacklevel=2)
            else:
                self._save_top_k(trainer, candidates)
        if self.save_last:
            previous = self.last_model_path
            self.last_model_path = self.format_checkpoint_name(candidates, self.CHECKPOINT_NAME_LAST, last=True)
            trainer.save_checkpoint(self.last_model_path, self.save_weights_only)
            if previous and self._should_remove(trainer, previous, self.last_model_path):
                trainer.remove_checkpoint(previous)  # (a CHECKPOINT_NAME_LAST with a metric in it: a new name)
        self._last_global_step_saved = trainer.global_step

    def _should_remove(self, trainer, previous: str, current: str) -> bool:
        """Whether the replaced file ``previous`` goes: not when it is ``current``, the checkpoint this run
        resumed from, or a file outside ``dirpath`` (as Lightning decides)."""
        if os.path.abspath(previous) == os.path.abspath(current):
            return False
        if trainer.ckpt_path is not None and os.path.abspath(previous) == os.path.abspath(trainer.ckpt_path):
            return False
        return os.path.dirname(os.path.abspath(previous)) == os.path.abspath(self.dirpath or ".")

    def _monitor_candidates(self, trainer) -> dict[str, Any]:
        candidates = dict(trainer.callback_metrics)
        candidates.setdefault("epoch", trainer.current_epoch)
        candidates.setdefault("step", trainer.global_step)
        return candidates

    def _save_without_monitor(self, trainer, candidates) -> None:
        if self.save_top_k == 0:
            return
        filepath = self.format_checkpoint_name(candidates)
        previous, self.best_model_path = self.best_model_path, filepath
        trainer.save_checkpoint(filepath, self.save_weights_only)
        if self.save_top_k == 1 and previous and previous != filepath:
            trainer.remove_checkpoint(previous)
        if self.verbose:
            print(f"Epoch {trainer.current_epoch}, global step {trainer.global_step}: saving {filepath}")

    def _better(self, a: float, b: float) -> bool:
        return a < b if self.mode == "min" else a > b

    def _save_top_k(self, trainer, candidates) -> None:
        current = float(candidates[self.monitor])
        if math.isnan(current):
            current = math.inf if self.mode == "min" else -math.inf
        self.current_score = _score(current)
        k = self.save_top_k
        if k == 0:
            return
        if (k != -1 and len(self.best_k_models) >= k
                and not self._better(current, float(self.best_k_models[self.kth_best_model_path]))):
            if self.verbose:
                print(f"Epoch {trainer.current_epoch}, step {trainer.global_step}: {self.monitor} was not in top {k}")
            return
        filepath = self.format_checkpoint_name(candidates)
        removed = None
        if k != -1 and len(self.best_k_models) >= k:
            removed = self.kth_best_model_path
            self.best_k_models.pop(removed)
        self.best_k_models[filepath] = self.current_score
        worst = max if self.mode == "min" else min
        best = min if self.mode == "min" else max
        self.kth_best_model_path = worst(self.best_k_models, key=lambda path: float(self.best_k_models[path]))
        self.kth_value = self.best_k_models[self.kth_best_model_path]
        self.best_model_path = best(self.best_k_models, key=lambda path: float(self.best_k_models[path]))
        self.best_model_score = self.best_k_models[self.best_model_path]
        trainer.save_checkpoint(filepath, self.save_weights_only)
        if removed and removed != filepath:
            trainer.remove_checkpoint(removed)
        if self.verbose:
            print(f"Epoch {trainer.current_epoch}, step {trainer.global_step}: {self.monitor} reached {current:.5g} "
                  f"(best {float(self.best_model_score):.5g}), saving {filepath}")

    def format_checkpoint_name(self, metrics: dict[str, Any], filename: str | None = None, last: bool = False) -> str:
        """The file path for ``metrics``: ``"{epoch}-{val_loss:.2f}"`` → ``<dirpath>/epoch=2-val_loss=0.31.ckpt``."""
        filename = filename if filename is not None else (self.filename or "{epoch}" + self.CHECKPOINT_JOIN_CHAR + "{step}")
        metrics = dict(metrics)
        for group in re.findall(r"(\{.*?)[:\}]", filename):
            name = group[1:]
            if self.auto_insert_metric_name and not last:
                label = name.replace("/", "_").replace(os.sep, "_")  # a '/' would make a sub-folder
                filename = filename.replace(group, label + self.CHECKPOINT_EQUALS_CHAR + "{" + name, 1)
            metrics.setdefault(name, 0)
        safe = {re.sub(r"[^0-9a-zA-Z_]", "_", k): v.item() if isinstance(v, ember.Tensor) and v.numel() == 1 else v
                for k, v in metrics.items()}  # (a 0-d tensor formats as its number, as torch's does)
        for name in list(metrics):
            filename = filename.replace("{" + name, "{" + re.sub(r"[^0-9a-zA-Z_]", "_", name))
        filename = filename.format(**safe)
        return os.path.join(self.dirpath or ".", filename + self.FILE_EXTENSION)

    # -- state ---------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor, "best_model_score": _number(self.best_model_score),
            "best_model_path": self.best_model_path, "current_score": _number(self.current_score),
            "dirpath": self.dirpath, "best_k_models": {k: float(v) for k, v in self.best_k_models.items()},
            "kth_best_model_path": self.kth_best_model_path, "kth_value": _number(self.kth_value),
            "last_model_path": self.last_model_path, "last_global_step_saved": self._last_global_step_saved,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        same_dir = state.get("dirpath") == self.dirpath or not self._dirpath_given
        if not same_dir:
            warnings.warn(f"ModelCheckpoint: dirpath changed from {state.get('dirpath')!r} to {self.dirpath!r}; "
                          "only the last step saved is restored", stacklevel=2)
        else:
            if not self._dirpath_given:
                self.dirpath = state.get("dirpath") or self.dirpath
            self.best_model_score = _score(state.get("best_model_score"))
            self.best_model_path = state.get("best_model_path", "")
            self.current_score = _score(state.get("current_score"))
            self.best_k_models = {k: _score(v) for k, v in (state.get("best_k_models") or {}).items()}
            self.kth_best_model_path = state.get("kth_best_model_path", "")
            self.kth_value = _score(state.get("kth_value"))
            self.last_model_path = state.get("last_model_path", "")
        self._last_global_step_saved = int(state.get("last_global_step_saved", -1))


def _score(value: Any) -> ember.Tensor | None:
    """A score as a 0-d float32 tensor (None stays None)."""
    return None if value is None else ember.tensor(float(value))


def _number(score: ember.Tensor | None) -> float | None:
    return None if score is None else float(score)
