"""Profilers: where the time of a run goes, per hook and action (Lightning's ``lightning.pytorch.profilers``).

``Trainer(profiler="simple")`` times every hook the run calls and the loop's actions and prints a table
when the run ends; ``"advanced"`` runs ``cProfile`` per action. Both write to
``<dirpath>/<stage>-<filename>.txt`` instead when given a ``filename``.
"""

from __future__ import annotations

from .advanced import AdvancedProfiler
from .base import PassThroughProfiler, Profiler
from .simple import SimpleProfiler

__all__ = ["AdvancedProfiler", "PassThroughProfiler", "Profiler", "SimpleProfiler", "resolve_profiler"]


def resolve_profiler(profiler) -> Profiler:
    """The profiler for ``Trainer(profiler=...)``: None, ``"simple"``, ``"advanced"`` or a ``Profiler``."""
    if profiler is None:
        return PassThroughProfiler()
    if isinstance(profiler, Profiler):
        return profiler
    if isinstance(profiler, str) and profiler.lower() in ("simple", "advanced"):
        return SimpleProfiler() if profiler.lower() == "simple" else AdvancedProfiler()
    raise ValueError(f'Trainer(profiler={profiler!r}) is invalid: it must be None, "simple", "advanced" or a '
                     "ember.trainer.profilers.Profiler instance")
