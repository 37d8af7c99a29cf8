"""Where the user's code is: the innermost frame outside Ember's core, for errors and each node's location."""

from __future__ import annotations

import os
import sys

import numpy as np

_EXPORT_DIR = os.path.dirname(os.path.abspath(__file__))
CORE_DIR = os.path.dirname(_EXPORT_DIR)
_TENSOR_FILE = os.path.join(CORE_DIR, "tensor.py")
_NUMPY_DIR = os.path.dirname(np.__file__)


def first_frame(skip_core: bool):
    """The innermost frame outside this package, numpy and ``tensor.py`` (and, with ``skip_core``, all of
    Ember's core)."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        skipped = name.startswith((_EXPORT_DIR, _NUMPY_DIR, "<frozen")) or name == _TENSOR_FILE
        if not skipped and not (skip_core and name.startswith(CORE_DIR)):
            return frame
        frame = frame.f_back
    return None


def user_location() -> str:
    """``file:line`` of the user's code that is running (the innermost frame outside Ember's core)."""
    frame = first_frame(skip_core=True)
    return "<unknown>" if frame is None else f"{frame.f_code.co_filename}:{frame.f_lineno}"


def error_location(error: BaseException) -> str:
    """``file:line`` of the user's code where ``error`` was raised from (its traceback's innermost user frame)."""
    found, tb = "<unknown>", error.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if not name.startswith((CORE_DIR, _NUMPY_DIR, "<frozen")):
            found = f"{name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found
