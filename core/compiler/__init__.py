"""``ember.compile`` (``torch.compile``'s signature): the forward captured by ``ember.export``, runs of
elementwise ops generated as fused numba kernels.

- ``_compile``: ``compile``, the guards (input shapes, dtypes, requires_grad, grad mode, training mode), the
  cache of compiled graphs with its size limit, eager fallback, ``OptimizedModule``, the debug folder.
- ``_plan``: the captured graph grouped into steps: fused runs and single nodes (Ember's ops).
- ``_breaks``: graph breaks (a forward the capture refuses runs eagerly, its submodules compiled one by
  one), ``disable``; ``_explain``: ``explain``.
- ``_codegen``: a run's kernels (forward, and its backward derived per element) as Python source, written
  to the disk cache and compiled by numba (``cache=True``).
- ``_patterns``: ``LSTMCell`` / ``GRUCell`` steps as eager's fused cell ops (recorded so by the capture, or
  found in a formula written out); ``_fused_norm``: batch norm + (residual add +) ReLU as one op
  (its kernels beside eager batch norm's, in ``ember.kernels.norm``).
- ``_runtime``: a compiled graph as one autograd node.

``docs/compile.md`` tells when it helps, how to read the generated code and what breaks a graph.
"""

from __future__ import annotations

from . import config
from ._breaks import GraphBreak, GraphBreakError, disable, is_compiling
from ._compile import OptimizedModule, compile, reset
from ._explain import ExplainOutput, explain

__all__ = ["ExplainOutput", "GraphBreak", "GraphBreakError", "OptimizedModule", "compile", "config", "disable",
           "explain", "is_compiling", "reset"]
