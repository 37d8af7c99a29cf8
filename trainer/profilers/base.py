"""``Profiler``: the interface (start / stop / profile an action, a summary written at the end of a run)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator


class Profiler:
    """Base class of the profilers: ``start(action)`` / ``stop(action)`` (or ``with profile(action):``) time an
    action; ``describe()`` writes ``summary()`` when a run ends, to ``<dirpath>/<stage>-<filename>.txt`` if a
    ``filename`` was given (``dirpath`` defaults to the trainer's ``log_dir``), else to standard output.

    Args:
        dirpath: the folder of the report file.
        filename: the report file's name without extension (None: print the report).
    """

    def __init__(self, dirpath: str | os.PathLike | None = None, filename: str | None = None) -> None:
        self.dirpath = os.fspath(dirpath) if dirpath is not None else None
        self.filename = filename
        self._stage: str | None = None
        self._local_rank: int | None = None

    def start(self, action_name: str) -> None:
        raise NotImplementedError

    def stop(self, action_name: str) -> None:
        raise NotImplementedError

    def summary(self) -> str:
        raise NotImplementedError

    @contextlib.contextmanager
    def profile(self, action_name: str) -> Iterator[str]:
        """Times the ``with`` block as ``action_name``."""
        try:
            self.start(action_name)
            yield action_name
        finally:
            self.stop(action_name)

    def setup(self, stage: str, local_rank: int | None = None, log_dir: str | None = None) -> None:
        """Called by the Trainer when a run (``stage``: fit, validate, test, predict) starts."""
        self._stage = stage
        self._local_rank = local_rank
        self.dirpath = self.dirpath or log_dir

    def describe(self) -> None:
        """Writes the report (the Trainer calls this when a run ends), then forgets what was recorded."""
        report = self.summary()
        if report:
            if self.filename:
                os.makedirs(self.dirpath or ".", exist_ok=True)
                with open(os.path.join(self.dirpath or ".", self._prepare_filename()), "a") as f:
                    f.write(report + "\n")
            else:
                print(report)
        self.teardown(self._stage)

    def teardown(self, stage: str | None) -> None:
        """Clears what was recorded."""

    def _prepare_filename(self, extension: str = ".txt") -> str:
        parts = [part for part in (self._stage, self.filename) if part]
        if self._local_rank is not None:
            parts.append(str(self._local_rank))
        return "-".join(parts) + extension

    def _header(self) -> str:
        return f"{(self._stage or '').upper()} Profiler Report".strip()


class PassThroughProfiler(Profiler):
    """Records nothing (the Trainer's default)."""

    def start(self, action_name: str) -> None:
        pass

    def stop(self, action_name: str) -> None:
        pass

    def profile(self, action_name: str) -> contextlib.AbstractContextManager:
        return _NOTHING  # (one shared no-op context: the loops profile every step, so this must cost nothing)

    def summary(self) -> str:
        return ""


_NOTHING = contextlib.nullcontext()
