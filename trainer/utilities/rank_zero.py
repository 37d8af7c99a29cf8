"""Run or report something on the process of global rank 0 only (Lightning's ``rank_zero_*``).

``rank_zero_only.rank`` is taken from the environment (``RANK``, ``PMI_RANK``, ``OMPI_COMM_WORLD_RANK``,
``SLURM_PROCID``, ``LOCAL_RANK``) when this module is imported, and set again by the Trainer once its
strategy knows the rank.

Example:
    >>> from ember.trainer.utilities import rank_zero_only, rank_zero_info
    >>> @rank_zero_only
    ... def save_plot(path): ...
    >>> rank_zero_info("written on rank 0 only")
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from collections.abc import Callable
from typing import Any

log = logging.getLogger("ember.trainer")

_RANK_VARIABLES = ("RANK", "PMI_RANK", "OMPI_COMM_WORLD_RANK", "SLURM_PROCID", "JSM_NAMESPACE_RANK", "LOCAL_RANK")


def _rank_from_environment() -> int:
    for name in _RANK_VARIABLES:
        value = os.environ.get(name)
        if value is not None and value.strip().isdigit():
            return int(value)
    return 0


def rank_zero_only(fn: Callable) -> Callable:
    """Decorates ``fn`` so that it runs only on global rank 0 (elsewhere it returns None)."""

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if rank_zero_only.rank == 0:
            return fn(*args, **kwargs)
        return None

    return wrapped


rank_zero_only.rank = _rank_from_environment()


@rank_zero_only
def rank_zero_debug(*args: Any, stacklevel: int = 4, **kwargs: Any) -> None:
    """``logging.debug`` on rank 0 (logger ``"ember.trainer"``)."""
    log.debug(*args, stacklevel=stacklevel, **kwargs)


@rank_zero_only
def rank_zero_info(*args: Any, stacklevel: int = 4, **kwargs: Any) -> None:
    """``logging.info`` on rank 0 (logger ``"ember.trainer"``)."""
    log.info(*args, stacklevel=stacklevel, **kwargs)


@rank_zero_only
def rank_zero_warn(message: str | Warning, stacklevel: int = 4, **kwargs: Any) -> None:
    """``warnings.warn`` on rank 0."""
    warnings.warn(message, stacklevel=stacklevel, **kwargs)


@rank_zero_only
def rank_zero_deprecation(message: str | Warning, stacklevel: int = 4, **kwargs: Any) -> None:
    """``warnings.warn(..., DeprecationWarning)`` on rank 0."""
    kwargs.setdefault("category", DeprecationWarning)
    warnings.warn(message, stacklevel=stacklevel, **kwargs)
