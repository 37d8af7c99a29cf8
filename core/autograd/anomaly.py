"""``detect_anomaly``: turns a NaN produced in backward into an error naming the op and the
line of the user's forward that created it."""

from __future__ import annotations

import functools

from .grad_mode import state


class detect_anomaly:
    """Context manager (and decorator) enabling anomaly detection.

    While on, every op records where it was called, and the engine checks each
    gradient an op's backward returns for NaN.
    """

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan

    def __enter__(self):
        self._previous = state.anomaly
        state.anomaly = self.check_nan
        return self

    def __exit__(self, *exc):
        state.anomaly = self._previous
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return func(*args, **kwargs)

        return wrapper


class set_detect_anomaly(detect_anomaly):
    """Sets anomaly detection on or off (immediately; restored when used as a context manager)."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self._previous = state.anomaly
        self.check_nan = bool(mode) and check_nan
        state.anomaly = self.check_nan

    def __enter__(self):
        return self


def is_anomaly_enabled() -> bool:
    return state.anomaly
