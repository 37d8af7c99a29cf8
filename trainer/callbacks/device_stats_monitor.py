"""``DeviceStatsMonitor``: CPU utilisation and memory, logged during training (Lightning's callback)."""

from __future__ import annotations

import os
import time

from .base import Callback


class DeviceStatsMonitor(Callback):
    """Logs the device's statistics at the start and end of every training (and validation / test) batch,
    every ``log_every_n_steps``, under Lightning's names: ``DeviceStatsMonitor.<hook>/<stat>``, e.g.
    ``DeviceStatsMonitor.on_train_batch_end/cpu_percent``.

    On the CPU (Ember's device) the statistics are Lightning's: ``cpu_percent`` (CPU utilisation of the
    machine since the previous reading, from ``/proc/stat``; of this process where there is no ``/proc``),
    ``cpu_vm_percent`` (memory in use) and ``cpu_swap_percent`` (swap in use), read from ``/proc/meminfo``
    or, without it, the process's peak resident memory from ``resource``. Nothing to install.

    Args:
        cpu_stats: False logs nothing on the CPU (Lightning's switch); None or True logs the CPU statistics.

    Example:
        >>> from ember.trainer import Trainer
        >>> from ember.trainer.callbacks import DeviceStatsMonitor
        >>> trainer = Trainer(callbacks=[DeviceStatsMonitor()])
    """

    def __init__(self, cpu_stats: bool | None = None) -> None:
        self._cpu_stats = cpu_stats
        self._last_cpu: tuple[float, float] | None = None
        self._batch_step = 0

    def setup(self, trainer, module, stage: str) -> None:
        if stage != "fit":
            return
        if not trainer.loggers:
            raise ValueError("Cannot use `DeviceStatsMonitor` callback with `Trainer(logger=False)`.")

    def _log(self, trainer, key: str, step: int | None = None) -> None:
        if self._cpu_stats is False or not trainer.loggers:
            return
        every = trainer.log_every_n_steps
        if not every or (trainer.state.total_batch_idx + 1) % every and not trainer.should_stop:
            return
        stats = self.get_cpu_stats()
        row = {f"{type(self).__qualname__}.{key}/{name}": value for name, value in stats.items()}
        for logger in trainer.loggers:
            logger.log_metrics(row, step=trainer.global_step if step is None else step)

    def get_cpu_stats(self) -> dict[str, float]:
        """``{"cpu_vm_percent", "cpu_percent", "cpu_swap_percent"}`` now."""
        vm, swap = _memory_percents()
        return {"cpu_vm_percent": vm, "cpu_percent": self._cpu_percent(), "cpu_swap_percent": swap}

    def _cpu_percent(self) -> float:
        busy, total = _cpu_times()
        last, self._last_cpu = self._last_cpu, (busy, total)
        if last is None or total <= last[1]:
            return 0.0
        return round(100.0 * (busy - last[0]) / (total - last[1]), 1)

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self._batch_step = trainer.global_step
        self._log(trainer, "on_train_batch_start")

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        # (the step the batch started at, as the rows of self.log's per-step values)
        self._log(trainer, "on_train_batch_end", self._batch_step)

    def on_validation_batch_start(self, trainer, module, batch, batch_idx, dataloader_idx=0) -> None:
        if not trainer.sanity_checking:
            self._log(trainer, "on_validation_batch_start")

    def on_validation_batch_end(self, trainer, module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        if not trainer.sanity_checking:
            self._log(trainer, "on_validation_batch_end")

    def on_test_batch_start(self, trainer, module, batch, batch_idx, dataloader_idx=0) -> None:
        self._log(trainer, "on_test_batch_start")

    def on_test_batch_end(self, trainer, module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        self._log(trainer, "on_test_batch_end")


def _cpu_times() -> tuple[float, float]:
    """(busy, total) CPU time of the machine (``/proc/stat``), or of this process against the wall clock."""
    try:
        with open("/proc/stat") as f:
            fields = [float(v) for v in f.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
        return sum(fields) - idle, sum(fields)
    except (OSError, ValueError, IndexError):
        times = os.times()
        return times.user + times.system, time.monotonic() * (os.cpu_count() or 1)


def _memory_percents() -> tuple[float, float]:
    """(memory in use %, swap in use %)."""
    try:
        info = {}
        with open("/proc/meminfo") as f:
            for line in f:
                name, value = line.split(":", 1)
                info[name] = float(value.split()[0])
        total = info["MemTotal"]
        available = info.get("MemAvailable", info.get("MemFree", 0.0) + info.get("Cached", 0.0))
        swap_total = info.get("SwapTotal", 0.0)
        swap = 100.0 * (swap_total - info.get("SwapFree", 0.0)) / swap_total if swap_total else 0.0
        return round(100.0 * (total - available) / total, 1), round(swap, 1)
    except (OSError, ValueError, KeyError, ZeroDivisionError):
        pass
    try:  # no /proc (macOS): this process's peak resident memory against the machine's
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak_bytes = peak if os.uname().sysname == "Darwin" else peak * 1024
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        return round(100.0 * peak_bytes / physical, 1), 0.0
    except (ImportError, ValueError, OSError, AttributeError):
        return 0.0, 0.0
