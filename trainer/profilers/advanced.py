"""``AdvancedProfiler``: a ``cProfile`` report (function calls and their times) per action."""

from __future__ import annotations

import cProfile
import io
import os
import pstats

from .base import Profiler


class AdvancedProfiler(Profiler):
    """Runs ``cProfile`` while each action runs and reports, per action, ``pstats`` sorted by cumulative time.

    Actions nest (a batch contains its ``training_step``); only one ``cProfile`` collects at a time, so the
    time of an inner action is reported under the inner action, not again under the outer one.

    Args:
        dirpath: the folder of the report file (default: the trainer's ``log_dir``).
        filename: write the report to ``<dirpath>/<stage>-<filename>.txt`` instead of printing it.
        line_count_restriction: how many lines of each action's table to show (an int, or a fraction).
        dump_stats: also write each action's raw stats to ``<dirpath>/<stage>-<filename>-<action>.prof``.

    Example:
        >>> from ember.trainer import Trainer
        >>> trainer = Trainer(profiler="advanced")
    """

    def __init__(self, dirpath: str | os.PathLike | None = None, filename: str | None = None,
                 line_count_restriction: float = 1.0, dump_stats: bool = False) -> None:
        super().__init__(dirpath=dirpath, filename=filename)
        self.line_count_restriction = line_count_restriction
        self.dump_stats = dump_stats
        self.profiled_actions: dict[str, cProfile.Profile] = {}
        self._active: list[str] = []

    def start(self, action_name: str) -> None:
        if self._active:
            self.profiled_actions[self._active[-1]].disable()
        profiler = self.profiled_actions.setdefault(action_name, cProfile.Profile())
        self._active.append(action_name)
        profiler.enable()

    def stop(self, action_name: str) -> None:
        if action_name not in self._active:
            raise ValueError(f"Attempting to stop recording an action ({action_name}) which was never started.")
        self.profiled_actions[action_name].disable()
        self._active.remove(action_name)
        if self._active:
            self.profiled_actions[self._active[-1]].enable()

    def summary(self) -> str:
        if not self.profiled_actions:
            return ""
        parts = [self._header()]
        for action_name, profiler in self.profiled_actions.items():
            stream = io.StringIO()
            try:
                stats = pstats.Stats(profiler, stream=stream).strip_dirs().sort_stats("cumulative")
            except TypeError:  # (an action that collected nothing)
                continue
            stats.print_stats(self.line_count_restriction)
            if self.dump_stats and self.dirpath:
                safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in action_name)
                os.makedirs(self.dirpath, exist_ok=True)
                stats.dump_stats(os.path.join(self.dirpath, self._prepare_filename(extension=f"-{safe}.prof")))
            parts.append(f"Profile stats for: {action_name}\n{stream.getvalue()}")
        return "\n".join(parts)

    def teardown(self, stage: str | None) -> None:
        for name in reversed(self._active):
            self.profiled_actions[name].disable()
        self._active = []
        self.profiled_actions = {}
