"""Which arguments a user's hook takes (Lightning passes ``batch_idx`` only to steps that accept it)."""

from __future__ import annotations

import inspect
from collections.abc import Callable


def is_param_in_hook_signature(hook_fx: Callable, param: str, explicit: bool = False,
                               min_args: int | None = None) -> bool:
    """Whether ``hook_fx`` (a bound method) takes ``param``: by name, through ``*args`` (unless
    ``explicit``), or by having at least ``min_args`` positional parameters (Lightning's rule)."""
    parameters = inspect.signature(hook_fx).parameters.values()
    positional = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    has_varargs = any(p.kind is p.VAR_POSITIONAL for p in parameters)
    return (param in positional or (not explicit and has_varargs)
            or (isinstance(min_args, int) and len(positional) >= min_args))
