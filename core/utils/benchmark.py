"""``ember.utils.benchmark``: torch.utils.benchmark's ``Timer`` and ``Measurement`` for ported scripts.

``Timer(stmt, setup, globals=...)`` times a Python statement with ``timeit`` (torch's warm-up included),
with the intra-op threads set to ``num_threads`` (default 1, as torch) while it runs; ``timeit``,
``blocked_autorange`` and ``adaptive_autorange`` return a ``Measurement`` whose ``mean`` / ``median`` /
``iqr`` are seconds per run and whose ``repr`` is torch's summary. Torch's C++ timing, instruction counts
(``collect_callgrind``) and ``Compare`` tables are not here.

Example:
    >>> import ember
    >>> from ember.utils.benchmark import Timer
    >>> m = Timer("x @ x", globals={"x": ember.ones(8, 8)}).timeit(10)
    >>> m.number_per_run, m.mean > 0
    (10, True)
"""

from __future__ import annotations

import contextlib
import dataclasses
import timeit as _timeit
from collections.abc import Callable

import numpy as np

from .. import _settings
from .._settings import set_num_threads

__all__ = ["Measurement", "TaskSpec", "Timer"]


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """What was timed: the statement, its setup and the labels a report shows."""

    stmt: str
    setup: str
    global_setup: str = ""
    label: str | None = None
    sub_label: str | None = None
    description: str | None = None
    env: str | None = None
    num_threads: int = 1

    @property
    def title(self) -> str:
        """The label and sub-label (``"L: S"``), else the statement."""
        if self.label is not None:
            return self.label + (f": {self.sub_label}" if self.sub_label else "")
        if "\n" not in self.stmt:
            return self.stmt + (f": {self.sub_label}" if self.sub_label else "")
        return f"stmt:{f' ({self.sub_label})' if self.sub_label else ''}\n" + "\n".join(
            "  " + line for line in self.stmt.splitlines())

    def summarize(self) -> str:
        """The header of a measurement's repr: title, description, env, setup."""
        lines = [self.title, self.description or ""]
        if self.env:
            lines.append(f"env: {self.env}")
        if self.setup.strip() not in ("", "pass"):
            lines.append(f"setup: {self.setup}" if "\n" not in self.setup else "setup:\n" + "\n".join(
                "  " + line for line in self.setup.splitlines()))
        return "\n".join(line for line in lines if line)


def _unit(seconds: float) -> tuple[str, float]:
    for unit, scale in (("ns", 1e-9), ("us", 1e-6), ("ms", 1e-3)):
        if seconds < scale * 1000:
            return unit, scale
    return "s", 1.0


@dataclasses.dataclass
class Measurement:
    """Times of ``number_per_run`` executions each (``raw_times``, seconds); ``times`` are per execution."""

    number_per_run: int
    raw_times: list[float]
    task_spec: TaskSpec
    metadata: dict | None = None

    @property
    def times(self) -> list[float]:
        return [t / self.number_per_run for t in self.raw_times]

    @property
    def mean(self) -> float:
        return float(np.mean(self.times))

    @property
    def median(self) -> float:
        return float(np.median(self.times))

    @property
    def iqr(self) -> float:
        p25, p75 = np.percentile(self.times, [25, 75])
        return float(p75 - p25)

    @property
    def has_warnings(self) -> bool:
        return len(self.times) > 1 and self.iqr / self.median > 0.1 if self.median > 0 else False

    def meets_confidence(self, threshold: float = 0.1) -> bool:
        """Whether the interquartile range is within ``threshold`` of the median."""
        return self.median > 0 and self.iqr / self.median < threshold

    @property
    def title(self) -> str:
        return self.task_spec.title

    @property
    def env(self) -> str:
        return self.task_spec.env or "Unspecified env"

    @staticmethod
    def merge(measurements: list[Measurement]) -> list[Measurement]:
        """Measurements of the same task joined into one each (their times pooled)."""
        grouped: dict[TaskSpec, Measurement] = {}
        for m in measurements:
            known = grouped.get(m.task_spec)
            if known is None:
                grouped[m.task_spec] = Measurement(1, list(m.times), m.task_spec, m.metadata)
            else:
                known.raw_times.extend(m.times)
        return list(grouped.values())

    def __repr__(self) -> str:
        unit, scale = _unit(self.median)
        runs = len(self.times)
        lines = [f"<{type(self).__module__}.{type(self).__name__} object at {hex(id(self))}>",
                 self.task_spec.summarize()]
        if runs > 1:
            p25, p75 = np.percentile(self.times, [25, 75])
            lines += [f"  Median: {self.median / scale:.2f} {unit}",
                      f"  IQR:    {self.iqr / scale:.2f} {unit} ({p25 / scale:.2f} to {p75 / scale:.2f})"]
            per = f"{runs} measurements, {self.number_per_run} runs per measurement"
        else:
            lines.append(f"  {self.median / scale:.2f} {unit}")
            per = f"{runs} measurement, {self.number_per_run} runs "
        threads = self.task_spec.num_threads
        lines.append(f"  {per}, {threads} thread{'s' if threads > 1 else ''}")
        if self.has_warnings and runs > 1:
            lines.append(f"  WARNING: Interquartile range is {self.iqr / self.median * 100:.1f}% of the median "
                         "measurement.\n           This suggests significant environmental influence.")
        return "\n".join(lines)


@contextlib.contextmanager
def _threads(n: int):
    """``n`` intra-op threads inside, and afterwards the settings exactly as they were (a process that
    never called ``set_num_threads`` is left without an explicit limit)."""
    if _settings._state["threads"] == n:
        yield
        return
    previous, previous_limiter = _settings._state["threads"], _settings._blas_limiter
    import numba

    numba_threads = numba.get_num_threads()
    set_num_threads(n)
    limiter = _settings._blas_limiter
    try:
        yield
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
        _settings._state["threads"], _settings._blas_limiter = previous, previous_limiter
        numba.set_num_threads(numba_threads)


class Timer:
    """Times ``stmt`` after ``setup``, both run in a copy of ``globals`` (which gets ``ember``, as torch's gets
    ``torch``). Arguments as torch's ``Timer``; ``language`` must be Python."""

    def __init__(self, stmt: str = "pass", setup: str = "pass", global_setup: str = "",
                 timer: Callable[[], float] = _timeit.default_timer, globals: dict | None = None,
                 label: str | None = None, sub_label: str | None = None, description: str | None = None,
                 env: str | None = None, num_threads: int = 1, language: str = "python"):
        if str(getattr(language, "name", language)).lower() not in ("python", "py"):
            raise ValueError(f"Timer: only Python statements can be timed, got language={language!r}")
        if not isinstance(stmt, str):
            raise ValueError(f"Timer: stmt must be a string, got {type(stmt).__name__}")  # noqa: TRY004 (torch's)
        import ember

        namespace = {"ember": ember, **(globals or {})}
        self._task_spec = TaskSpec(stmt, setup, global_setup, label, sub_label, description, env, num_threads)
        self._timer = _timeit.Timer(stmt=stmt, setup=setup, timer=timer, globals=namespace)

    def _run(self, number: int) -> float:
        return self._timer.timeit(number=number)

    def timeit(self, number: int = 1000000) -> Measurement:
        """One measurement of ``number`` runs, after a warm-up of ``number // 100`` (at least 2) runs."""
        with _threads(self._task_spec.num_threads):
            self._run(max(number // 100, 2))
            return Measurement(number, [self._run(number)], self._task_spec)

    def repeat(self, repeat: int = -1, number: int = -1):
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def autorange(self, callback=None):
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def _block_size(self, min_run_time: float) -> int:
        """torch's rule: grow the block tenfold until the timer's own overhead is at most 1e-4 of a block and a
        block takes 1/1000 of ``min_run_time``, or a block alone exceeds ``min_run_time``."""
        overhead = sorted(self._run(0) for _ in range(5))[2]
        number = 1
        while True:
            taken = self._run(number)
            if (overhead <= 1e-4 * taken and taken >= min_run_time / 1000) or taken > min_run_time:
                return number
            if number * 10 > 2147483647:
                return number
            number *= 10

    def blocked_autorange(self, callback: Callable[[int, float], None] | None = None,
                          min_run_time: float = 0.2) -> Measurement:
        """Blocks of a fixed size, timed until ``min_run_time`` seconds have passed (at least 3 blocks).
        ``callback(number, time_taken)`` sees each block."""
        with _threads(self._task_spec.num_threads):
            return self._blocked(callback, min_run_time)

    def _blocked(self, callback, min_run_time: float) -> Measurement:
        number = self._block_size(min_run_time)
        times, total = [], 0.0
        while total < min_run_time or len(times) < 3:
            t = self._run(number)
            if callback is not None:
                callback(number, t)
            times.append(t)
            total += t
        return Measurement(number, times, self._task_spec)

    def adaptive_autorange(self, threshold: float = 0.1, *, min_run_time: float = 0.01, max_run_time: float = 10.0,
                           callback: Callable[[int, float], None] | None = None) -> Measurement:
        """Blocks of ``min_run_time`` each until the interquartile range is within ``threshold`` of the median
        (or ``max_run_time`` is spent)."""
        with _threads(self._task_spec.num_threads):
            return self._adaptive(threshold, min_run_time, max_run_time, callback)

    def _adaptive(self, threshold, min_run_time, max_run_time, callback) -> Measurement:
        number = self._block_size(min_run_time)
        times, total = [], 0.0
        while True:
            t = self._run(number)
            if callback is not None:
                callback(number, t)
            times.append(t)
            total += t
            measurement = Measurement(number, list(times), self._task_spec)
            if len(times) > 3 and (measurement.meets_confidence(threshold) or total > max_run_time):
                return measurement
