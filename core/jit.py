"""``torch.jit``'s annotations, so model code written to be TorchScript-ready runs as it is.

timm's models and the research code copied from them mark their modules for TorchScript:
``fused_attn: Final[bool]`` (``from torch.jit import Final``), ``@torch.jit.ignore`` on ``no_weight_decay`` /
``group_matcher``, ``if self.grad_checkpointing and not torch.jit.is_scripting():``. In eager execution these
change nothing, and so they do here. Ember has no TorchScript compiler: ``script`` and ``trace`` raise, naming
``ember.export`` (a saved, runnable graph) and ``ember.compile`` (speed) instead.

Example:
    >>> import ember
    >>> from ember.jit import Final
    >>> class Attention(ember.nn.Module):
    ...     fused_attn: Final[bool]
    ...     @ember.jit.ignore
    ...     def no_weight_decay(self):
    ...         return {"pos_embed"}
    >>> ember.jit.is_scripting()
    False
"""

from __future__ import annotations

from typing import Any, Final  # torch.jit.Final is typing.Final

__all__ = ["Final", "annotate", "export", "ignore", "is_scripting", "is_tracing", "script", "trace", "unused"]


def is_scripting() -> bool:
    """False: Ember runs every function eagerly (torch's answer outside ``torch.jit.script``)."""
    return False


def is_tracing() -> bool:
    """False: nothing in Ember traces through ``torch.jit.trace``."""
    return False


def ignore(drop: Any = False, **kwargs: Any) -> Any:
    """``@ignore`` and ``@ignore(drop=True)``: the function, unchanged (TorchScript would leave it to Python)."""
    if callable(drop):  # used bare: @ignore
        return drop
    return lambda fn: fn


def unused(fn: Any) -> Any:
    """The function, unchanged (TorchScript would replace it with a raise)."""
    return fn


def export(fn: Any) -> Any:
    """The method, unchanged (TorchScript would compile it as an entry point)."""
    return fn


def annotate(the_type: Any, the_value: Any) -> Any:
    """``the_value``: the type is for TorchScript's checker only."""
    return the_value


def _no_torchscript(name: str) -> NotImplementedError:
    return NotImplementedError(
        f"ember.jit.{name}: Ember has no TorchScript. For a saved, runnable graph use "
        "ember.export.export(model, (example_input,)); for speed, ember.compile(model); or drop the call "
        "(docs/porting.md)")


def script(obj: Any, *args: Any, **kwargs: Any) -> Any:
    """Raises NotImplementedError: no TorchScript (see the module's docstring for what to use)."""
    raise _no_torchscript("script")


def trace(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Raises NotImplementedError: no TorchScript (see the module's docstring for what to use)."""
    raise _no_torchscript("trace")
