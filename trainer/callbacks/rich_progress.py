"""``RichProgressBar``: the progress bar drawn with ``rich`` (an optional extra: ``pip install ember[rich]``)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

from .base import _ignores_outputs
from .progress import ProgressBar


@dataclass
class RichProgressBarTheme:
    """Styles of the bar's parts (``rich`` style strings), as Lightning's theme."""

    description: str = ""
    progress_bar: str = "#6206E0"
    progress_bar_finished: str = "#6206E0"
    progress_bar_pulse: str = "#6206E0"
    batch_progress: str = ""
    time: str = "dim"
    processing_speed: str = "dim underline"
    metrics: str = "italic"


class RichProgressBar(ProgressBar):
    """Lightning's ``RichProgressBar``: a ``rich`` bar per training epoch and per validation / test / predict
    run, with the metrics logged with ``prog_bar=True``.

    Args:
        refresh_rate: update the bars every this many batches (0 disables them).
        leave: keep each finished epoch's bar on screen.
        theme: a ``RichProgressBarTheme``.
        console_kwargs: arguments of the ``rich.console.Console`` drawn on (e.g. ``{"file": f}``).

    Raises:
        ModuleNotFoundError: when ``rich`` is not installed.

    Example:
        >>> from ember.trainer import Trainer
        >>> from ember.trainer.callbacks import RichProgressBar
        >>> # Trainer(callbacks=[RichProgressBar(leave=True)])
    """

    def __init__(self, refresh_rate: int = 1, leave: bool = False, theme: RichProgressBarTheme | None = None,
                 console_kwargs: dict[str, Any] | None = None) -> None:
        if importlib.util.find_spec("rich") is None:
            raise ModuleNotFoundError("`RichProgressBar` requires `rich`. Install it by running `pip install rich` "
                                      "(or `pip install ember[rich]`).")
        super().__init__(refresh_rate=refresh_rate, leave=leave)
        self.theme = theme or RichProgressBarTheme()
        self.console_kwargs = dict(console_kwargs or {})
        self._progress = None
        self._console = None
        self._train_task = None
        self._eval_task = None

    # -- drawing ---------------------------------------------------------------------------------------
    def _start(self) -> None:
        if self._progress is not None:
            return
        from rich.console import Console  # lazy: an optional extra, needed only when a bar is shown
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._console = Console(**self.console_kwargs)
        self._progress = Progress(
            TextColumn("[progress.description]{task.description}", style=self.theme.description),
            BarColumn(complete_style=self.theme.progress_bar, finished_style=self.theme.progress_bar_finished,
                      pulse_style=self.theme.progress_bar_pulse),
            MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[metrics]}", style=self.theme.metrics),
            console=self._console, transient=not self.leave, auto_refresh=False,
        )
        self._progress.start()

    def _stop(self) -> None:
        if self._progress is not None:
            self._progress.refresh()
            self._progress.stop()
            self._progress = self._train_task = self._eval_task = None

    def _metrics_text(self, trainer) -> str:
        return " ".join(f"{k}: {v:.3g}" for k, v in trainer.progress_bar_metrics.items())

    def _advance(self, task, trainer, batch_idx: int) -> None:
        if self._progress is None or task is None:
            return
        if (batch_idx + 1) % self.refresh_rate == 0:
            self._progress.update(task, completed=batch_idx + 1, metrics=self._metrics_text(trainer))
            self._progress.refresh()

    def print(self, *args: Any, **kwargs: Any) -> None:
        if self._console is not None:
            self._console.print(*args)
        else:
            print(*args, **kwargs)

    # -- training --------------------------------------------------------------------------------------
    def on_train_epoch_start(self, trainer, module) -> None:
        if not self.is_enabled:
            return
        self._start()
        total = trainer.num_training_batches
        if self._train_task is not None and not self.leave:
            self._progress.remove_task(self._train_task)
        self._train_task = self._progress.add_task(f"Epoch {trainer.current_epoch}",
                                                   total=None if total == float("inf") else total,
                                                   completed=trainer.state.batch_idx, metrics="")

    @_ignores_outputs
    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        self._advance(self._train_task, trainer, batch_idx)

    def on_train_epoch_end(self, trainer, module) -> None:
        if self._progress is not None and self._train_task is not None:
            self._progress.update(self._train_task, metrics=self._metrics_text(trainer))
            self._progress.refresh()

    def on_train_end(self, trainer, module) -> None:
        self._stop()

    # -- evaluation ------------------------------------------------------------------------------------
    def _eval_start(self, trainer, name: str, totals) -> None:
        if not self.is_enabled:
            return
        self._start()
        total = sum(totals) if all(t != float("inf") for t in totals) else None
        self._eval_task = self._progress.add_task(name, total=total, metrics="")

    def _eval_end(self, trainer, module, name: str) -> None:
        if self._progress is None or self._eval_task is None:
            return
        self._progress.remove_task(self._eval_task)
        self._eval_task = None
        if trainer.state.fn != "fit":
            self._stop()

    def _eval_batch_end(self, trainer, batch_idx: int) -> None:
        if self._progress is not None and self._eval_task is not None:
            self._progress.advance(self._eval_task)
            if (batch_idx + 1) % self.refresh_rate == 0:
                self._progress.refresh()

    def on_validation_start(self, trainer, module) -> None:
        name = "Sanity Checking" if trainer.sanity_checking else "Validation"
        self._eval_start(trainer, name, trainer.num_sanity_val_batches if trainer.sanity_checking
                         else trainer.num_val_batches)

    def on_validation_batch_end(self, trainer, module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._eval_batch_end(trainer, batch_idx)

    def on_validation_end(self, trainer, module) -> None:
        self._eval_end(trainer, module, "Validation")

    def on_test_start(self, trainer, module) -> None:
        self._eval_start(trainer, "Testing", trainer.num_test_batches)

    def on_test_batch_end(self, trainer, module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._eval_batch_end(trainer, batch_idx)

    def on_test_end(self, trainer, module) -> None:
        self._eval_end(trainer, module, "Testing")

    def on_predict_start(self, trainer, module) -> None:
        self._eval_start(trainer, "Predicting", trainer.num_predict_batches)

    def on_predict_batch_end(self, trainer, module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._eval_batch_end(trainer, batch_idx)

    def on_predict_end(self, trainer, module) -> None:
        self._eval_end(trainer, module, "Predicting")

    def on_exception(self, trainer, module, exception) -> None:
        self._stop()
