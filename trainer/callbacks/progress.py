"""``ProgressBar``: tqdm bars in a terminal, plain periodic lines otherwise (tqdm loads only when used)."""

from __future__ import annotations

import sys
import time
from typing import Any

from .base import Callback, _ignores_outputs


def _format(metrics: dict[str, float]) -> str:
    return " ".join(f"{k}={v:.4g}" for k, v in metrics.items())


class ProgressBar(Callback):
    """Shows training progress and the metrics logged with ``prog_bar=True``.

    In a terminal: a tqdm bar per training epoch and per validation run. When the output is not a
    terminal (a log file, CI): one plain line every ``print_interval`` seconds and one at the end of
    every epoch, e.g. ``Epoch 2: 40/100 batches, 3.1s, loss=0.412``.

    Args:
        refresh_rate: update the bar every this many batches (0 disables the bar).
        print_interval: seconds between plain lines when not in a terminal.
        leave: keep finished bars on screen.
        file: where to write (default ``sys.stderr``).

    Example:
        >>> from ember.trainer.callbacks import ProgressBar
        >>> bar = ProgressBar(refresh_rate=10)
    """

    priority = -400

    def __init__(self, refresh_rate: int = 1, print_interval: float = 10.0, leave: bool = False, file=None,
                 process_position: int = 0):
        self.refresh_rate = refresh_rate
        self.is_enabled = refresh_rate > 0
        self.print_interval = print_interval
        self.leave = leave
        self._file = file
        self._bar = None
        self._val_bar = None
        self._count = 0
        self._next_refresh = 0.0
        self._epoch_start = 0.0

    @property
    def file(self):
        return self._file or sys.stderr


    @property
    def _terminal(self) -> bool:
        isatty = getattr(self.file, "isatty", None)
        return bool(isatty and isatty())

    def get_metrics(self, trainer, module) -> dict[str, float]:
        return dict(trainer.progress_bar_metrics)

    def print(self, *args: Any, **kwargs: Any) -> None:
        if self._bar is not None:
            from tqdm import tqdm  # (lazy: slow to import, needed only when a bar is shown)

            tqdm.write(" ".join(str(a) for a in args), file=kwargs.get("file") or sys.stdout)
        else:
            print(*args, **kwargs)

    # -- training --------------------------------------------------------------------------------
    def on_train_epoch_start(self, trainer, module) -> None:
        if not self.is_enabled:
            return
        total = trainer.num_training_batches
        self._count = trainer.state.batch_idx
        self._epoch_start = time.monotonic()
        self._next_refresh = self._epoch_start + (0.1 if self._terminal else self.print_interval)
        if self._terminal:
            from tqdm import tqdm  # (lazy: slow to import, needed only when a bar is shown)

            self._bar = tqdm(total=None if total == float("inf") else int(total), initial=self._count,
                             desc=f"Epoch {trainer.current_epoch}", leave=self.leave, file=self.file,
                             dynamic_ncols=True, smoothing=0)

    @_ignores_outputs
    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        self._count += 1
        if not self.is_enabled or self._count % self.refresh_rate:
            return
        now = time.monotonic()
        if now < self._next_refresh:
            return
        if self._bar is not None:
            self._next_refresh = now + 0.1
            self._bar.set_postfix_str(_format(self.get_metrics(trainer, module)), refresh=False)
            self._bar.update(self._count - self._bar.n)
        else:
            self._next_refresh = now + self.print_interval
            self._line(trainer, module)

    def _line(self, trainer, module) -> None:
        total = trainer.num_training_batches
        total = "?" if total == float("inf") else int(total)
        metrics = _format(self.get_metrics(trainer, module))
        print(f"Epoch {trainer.current_epoch}: {self._count}/{total} batches, "
              f"{time.monotonic() - self._epoch_start:.1f}s {metrics}".rstrip(), file=self.file, flush=True)

    def on_train_epoch_end(self, trainer, module) -> None:
        if not self.is_enabled:
            return
        if self._bar is not None:
            self._bar.set_postfix_str(_format(self.get_metrics(trainer, module)), refresh=False)
            self._bar.update(self._count - self._bar.n)
            self._bar.refresh()
            self._bar.close()
            self._bar = None
        else:
            self._line(trainer, module)

    def on_train_end(self, trainer, module) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    on_exception = lambda self, trainer, module, exception: self.on_train_end(trainer, module)

    # -- evaluation ------------------------------------------------------------------------------
    def _eval_start(self, trainer, name: str, totals) -> None:
        if not self.is_enabled or not self._terminal:
            return
        from tqdm import tqdm  # (lazy: slow to import, needed only when a bar is shown)

        total = sum(totals) if totals else None
        total = None if total == float("inf") else total
        self._val_bar = tqdm(total=total, desc=name, leave=False, file=self.file, dynamic_ncols=True,
                             position=1 if self._bar is not None else 0)

    def _eval_batch(self) -> None:
        if self._val_bar is not None:
            self._val_bar.update(1)

    def _eval_end(self, trainer, module, name: str) -> None:
        if self._val_bar is not None:
            self._val_bar.close()
            self._val_bar = None
        if self.is_enabled and not self._terminal and name != "Sanity Checking" and trainer.state.fn != "fit":
            print(f"{name} done {_format(self.get_metrics(trainer, module))}".rstrip(), file=self.file, flush=True)

    def on_validation_start(self, trainer, module) -> None:
        name = "Sanity Checking" if trainer.sanity_checking else "Validation"
        totals = trainer.num_sanity_val_batches if trainer.sanity_checking else trainer.num_val_batches
        self._eval_start(trainer, name, totals)

    def on_validation_batch_end(self, trainer, module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._eval_batch()

    def on_validation_end(self, trainer, module) -> None:
        self._eval_end(trainer, module, "Sanity Checking" if trainer.sanity_checking else "Validation")

    def on_test_start(self, trainer, module) -> None:
        self._eval_start(trainer, "Testing", trainer.num_test_batches)

    def on_test_batch_end(self, trainer, module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._eval_batch()

    def on_test_end(self, trainer, module) -> None:
        self._eval_end(trainer, module, "Testing")

    def on_predict_start(self, trainer, module) -> None:
        self._eval_start(trainer, "Predicting", trainer.num_predict_batches)

    def on_predict_batch_end(self, trainer, module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._eval_batch()

    def on_predict_end(self, trainer, module) -> None:
        self._eval_end(trainer, module, "Predicting")
