"""``SimpleProfiler``: wall time per action: mean, count, total and share of the run (Lightning's table)."""

from __future__ import annotations

import os
import time

from .base import Profiler


class SimpleProfiler(Profiler):
    """Times each action (every hook the Trainer calls, ``run_training_epoch``, ``run_training_batch``, the
    module's steps, ``optimizer_step``, ``backward``, ...) and reports, per action, the mean duration, the
    number of calls, the total time and its percentage of the run, longest first.

    Args:
        dirpath: the folder of the report file (default: the trainer's ``log_dir``).
        filename: write the report to ``<dirpath>/<stage>-<filename>.txt`` instead of printing it.
        extended: also show the percentage of the run each action took (Lightning's default).

    Example:
        >>> from ember.trainer import Trainer
        >>> from ember.trainer.profilers import SimpleProfiler
        >>> trainer = Trainer(profiler=SimpleProfiler(filename="perf_logs"))  # or profiler="simple"
    """

    def __init__(self, dirpath: str | os.PathLike | None = None, filename: str | None = None,
                 extended: bool = True) -> None:
        super().__init__(dirpath=dirpath, filename=filename)
        self.extended = extended
        self.current_actions: dict[str, float] = {}
        self.recorded_durations: dict[str, list[float]] = {}
        self.start_time = time.monotonic()

    def start(self, action_name: str) -> None:
        if action_name in self.current_actions:
            raise ValueError(f"Attempted to start {action_name} which has already started.")
        self.current_actions[action_name] = time.monotonic()

    def stop(self, action_name: str) -> None:
        end = time.monotonic()
        if action_name not in self.current_actions:
            raise ValueError(f"Attempting to stop recording an action ({action_name}) which was never started.")
        self.recorded_durations.setdefault(action_name, []).append(end - self.current_actions.pop(action_name))

    def setup(self, stage: str, local_rank: int | None = None, log_dir: str | None = None) -> None:
        super().setup(stage, local_rank, log_dir)
        self.start_time = time.monotonic()

    def summary(self) -> str:
        if not self.recorded_durations:
            return ""
        total = time.monotonic() - self.start_time
        rows = sorted(((name, sum(d), len(d)) for name, d in self.recorded_durations.items()),
                      key=lambda row: row[1], reverse=True)
        width = max(len("Action"), *(len(name) for name, _, _ in rows)) + 2
        columns = ["Mean duration (s)", "Num calls", "Total time (s)"] + (["Percentage %"] if self.extended else [])
        header = f"|  {'Action':<{width}}" + "".join(f"|  {c:<18}" for c in columns) + "|"
        line = "-" * len(header)
        out = [self._header(), "", line, header, line]
        count = sum(n for _, _, n in rows)
        cells = ["-", str(count), f"{total:.5g}"] + (["100 %"] if self.extended else [])
        out.append(f"|  {'Total':<{width}}" + "".join(f"|  {c:<18}" for c in cells) + "|")
        out.append(line)
        for name, seconds, n in rows:
            cells = [f"{seconds / n:.5g}", str(n), f"{seconds:.5g}"]
            if self.extended:
                cells.append(f"{100 * seconds / total:.3g} %" if total > 0 else "-")
            out.append(f"|  {name:<{width}}" + "".join(f"|  {c:<18}" for c in cells) + "|")
        out.append(line)
        return "\n".join(out)

    def teardown(self, stage: str | None) -> None:
        self.current_actions.clear()
        self.recorded_durations.clear()
