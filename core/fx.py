"""``torch.fx``'s marks, so model code that names them runs as it is; no FX graphs.

Recent timm attention code decorates a helper with ``@torch.fx.wrap`` (keep this function a leaf when
``symbolic_trace`` traces the model) and library code calls ``torch.fx.wrap("name")`` at module level. In eager
execution these change nothing, and so they do here. Ember has no FX tracer: ``symbolic_trace`` and the graph
classes raise, naming ``ember.export`` (a captured, runnable graph) and ``ember.compile`` (speed) instead.

Example:
    >>> import ember
    >>> @ember.fx.wrap
    ... def maybe_add_mask(scores, mask=None):
    ...     return scores if mask is None else scores + mask
    >>> maybe_add_mask(ember.ones(2)).tolist()
    [1.0, 1.0]
"""

from __future__ import annotations

from typing import Any

__all__ = ["symbolic_trace", "wrap"]


def wrap(fn_or_name: Any) -> Any:
    """``@wrap`` on a function or ``wrap("name")``: the argument, unchanged (FX would keep it a leaf call)."""
    return fn_or_name


def _no_fx(name: str) -> NotImplementedError:
    return NotImplementedError(
        f"ember.fx.{name}: Ember has no FX graphs. For a captured, runnable graph use "
        "ember.export.export(model, (example_input,)); for speed, ember.compile(model) (docs/porting.md)")


def symbolic_trace(root: Any, *args: Any, **kwargs: Any) -> Any:
    """Raises NotImplementedError: no FX tracer (see the module's docstring for what to use)."""
    raise _no_fx("symbolic_trace")


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    raise _no_fx(name)  # GraphModule, Graph, Tracer, Proxy, ...
