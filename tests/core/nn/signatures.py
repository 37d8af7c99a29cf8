"""One check that an Ember function or class takes torch's arguments, used by the nn tests."""

from __future__ import annotations

import inspect

import pytest


def their_signature(theirs, name: str) -> inspect.Signature:
    """torch's signature of ``theirs``, or a skip for a builtin without a Python signature."""
    try:
        return inspect.signature(theirs)
    except (TypeError, ValueError):
        pytest.skip(f"torch's {name} has no inspectable signature")


def assert_same_signature(ours, theirs, name: str) -> None:
    """Every named argument of torch's ``theirs`` is in ``ours``, of the same kind and with the same default."""
    our_params = inspect.signature(ours).parameters
    for param_name, param in their_signature(theirs, name).parameters.items():
        if param_name.startswith("_") or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        assert param_name in our_params, f"{name}: argument {param_name!r} is missing"
        assert our_params[param_name].kind == param.kind, f"{name}: {param_name!r} is {our_params[param_name].kind}"
        if param.default is not inspect.Parameter.empty and not callable(param.default):
            assert our_params[param_name].default == param.default, (
                f"{name}: default of {param_name!r} is {our_params[param_name].default!r}, torch's is "
                f"{param.default!r}"
            )
