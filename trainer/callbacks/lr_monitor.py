"""``LearningRateMonitor``: log each optimizer's learning rate (and optionally momentum / weight decay)."""

from __future__ import annotations

from typing import Any

from .base import Callback


class LearningRateMonitor(Callback):
    """Logs the learning rate of every optimizer param group, named like Lightning: ``lr-SGD``,
    ``lr-Adam/pg1`` (several groups), or ``lr-<name>`` when the scheduler config has a ``name``.

    Values go straight to the loggers (not through ``self.log``) and into ``trainer.callback_metrics``, where
    ``EarlyStopping`` / ``ModelCheckpoint`` can monitor them, at every logged step
    (``logging_interval="step"``), at every epoch start (``"epoch"``), or following each
    scheduler's interval (None).

    Example:
        >>> from ember.trainer.callbacks import LearningRateMonitor
        >>> monitor = LearningRateMonitor(logging_interval="step")
    """

    def __init__(self, logging_interval: str | None = None, log_momentum: bool = False,
                 log_weight_decay: bool = False):
        if logging_interval not in (None, "step", "epoch"):
            raise ValueError(f"LearningRateMonitor: logging_interval must be None, 'step' or 'epoch', got "
                             f"{logging_interval!r}")
        self.logging_interval = logging_interval
        self.log_momentum, self.log_weight_decay = log_momentum, log_weight_decay
        self.lrs: dict[str, list[float]] = {}

    def on_train_start(self, trainer, module) -> None:
        if not trainer.loggers:
            raise RuntimeError("Cannot use LearningRateMonitor callback with a Trainer that has no logger.")

    def _names(self, trainer) -> list[tuple[str, Any, str | None]]:
        out = []
        scheduled = {id(c.scheduler.optimizer): c for c in trainer.lr_scheduler_configs
                     if hasattr(c.scheduler, "optimizer")}
        counts: dict[str, int] = {}
        for optimizer in trainer.optimizers:
            config = scheduled.get(id(optimizer))
            base = (config.name if config is not None and config.name else f"lr-{type(optimizer).__name__}")
            counts[base] = counts.get(base, 0) + 1
            if counts[base] > 1:
                base = f"{base}-{counts[base] - 1}"
            out.append((base, optimizer, config.interval if config is not None else None))
        return out

    def _stats(self, trainer, interval: str) -> dict[str, float]:
        stats = {}
        for base, optimizer, sched_interval in self._names(trainer):
            if self.logging_interval is None and sched_interval not in (None, interval):
                continue
            if self.logging_interval is None and sched_interval is None and interval != "epoch":
                continue
            groups = optimizer.param_groups
            for i, group in enumerate(groups):
                name = base if len(groups) == 1 else f"{base}/pg{i + 1}"
                stats[name] = float(group["lr"])
                if self.log_momentum:
                    momentum = group.get("momentum", group.get("betas", (0.0,))[0] if "betas" in group else 0.0)
                    stats[f"{name}-momentum"] = float(momentum)
                if self.log_weight_decay:
                    stats[f"{name}-weight_decay"] = float(group.get("weight_decay", 0.0))
        return stats

    def _write(self, trainer, stats: dict[str, float]) -> None:
        if not stats:
            return
        for name, value in stats.items():
            self.lrs.setdefault(name, []).append(value)
        trainer.metric_store.callback_metrics.update(stats)  # (as Lightning: other callbacks can monitor a rate)
        trainer.log_metrics(stats, trainer.global_step)

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        if self.logging_interval == "epoch":
            return
        if (trainer.state.total_batch_idx + 1) % trainer.log_every_n_steps == 0:
            self._write(trainer, self._stats(trainer, "step"))

    def on_train_epoch_start(self, trainer, module) -> None:
        if trainer.state.batch_idx > 0:  # resumed inside the epoch: its rate was logged before the interruption
            return
        if self.logging_interval != "step":
            self._write(trainer, self._stats(trainer, "epoch"))
