"""``ember.export``: graph capture, the base of export (this package, ``ember.onnx``) and compilation.

``export(model, args)`` runs the forward once with tracing tensors (``_capture``) and records every op it
calls, through the hook ``Function.apply`` offers (``Function._batching_hook``, as ``ember.func.vmap`` uses
it), into a :class:`Graph`. Python control flow runs during the capture; only the ops reach the graph.

The graph (``ep.graph``, JSON-able through ``Graph.to_json``; ``ember.export.save`` stores that JSON):

- ``inputs``: :class:`InputSpec` list, each ``kind`` ("parameter", "buffer", "constant", "user_input"),
  ``target`` (the state_dict name of a parameter / buffer, the key in ``ep.constants``, or the user input's
  path such as ``"x"`` or ``"hidden[0]"``), ``meta`` (a :class:`TensorMeta`: value ``name``, ``shape``,
  ``dtype``) and, for user inputs, ``dims`` ``{axis: [dim name, min, max]}``. Parameters are named
  ``p_<path>`` (``p_layer1_0_conv1_weight``), buffers ``b_<path>``, constants ``c_...``.
- ``nodes``: :class:`Node` list in execution order. ``target`` is the op, ``"module:Qualname"`` of an
  Ember ``Op`` class (``"ember.nn.functional.conv:ConvNd"``) called as ``Op.apply(*args, **kwargs)``: its
  ``args`` are exactly the arguments of that op's ``forward`` (after ``ctx``); ``op`` is the class name. A
  constant filled with one value whose size follows a dynamic size (``ember.zeros(x.shape[0], 4)``) is
  ``"ember.creation:full"``, called directly as ``full(size, fill_value, dtype=)``. What Ember computes with
  numpy outside its ops on traced arrays (comparisons, ``max(dim)``'s indices, batch norm's ``1 /
  sqrt(running_var + eps)``) is ``"numpy:<function>"`` (``"numpy:greater"``, ``"numpy:argmax"``,
  ``"numpy:astype"`` for ``array.astype(dtype)``) or ``"numpy:<ufunc>.<method>"``
  (``"numpy:maximum.reduce"``): called on ndarrays (its tensor arguments are ``{"array": name}``), its
  result a tensor value. ``outputs`` is one ``TensorMeta`` per output (most ops have one). ``module`` is the path of the
  innermost module whose forward ran the op (``"layer1.0.conv1"``; ``""`` for the top module's own code),
  ``module_type`` its class name, ``location`` the user's ``file:line`` that called it.
  A draw from the default generator outside an op (``ember.rand``, dropout's mask) is ``"random:<method>"``
  (``"random:random"``, a ``numpy.random.Generator`` method with its arguments), drawn again from
  ``ember``'s default generator each time the graph runs.
- ``outputs``: the forward's result, encoded as an argument is.
- ``mutations``: ``{buffer state_dict name: value name}``, the buffers the forward changes in place (batch
  norm's running statistics in training mode) and the value each holds afterwards, which ``ep.module()``
  and ``ember.compile`` write back into it after each run (``ep.graph_signature.buffers_to_mutate`` is the
  same the other way round, as torch.export's).

An argument is JSON: null, a bool, an int, a float, a string, or a one-key object: ``{"value": name}`` (a
graph value, a Tensor), ``{"array": name}`` (a constant value passed as an ndarray, e.g. indices),
``{"tuple": [...]}``, ``{"list": [...]}``, ``{"dict": [[key, arg], ...]}``, ``{"sym": "2*batch"}`` (a size
expression over Dim names: integers, ``+ - * // %``), ``{"slice": [start, stop, step]}``,
``{"ellipsis": null}``, ``{"dtype": "float32"}`` (an Ember dtype), ``{"np_dtype": "int64"}``,
``{"scalar": [value, "float32"]}`` (a numpy scalar), ``{"float": "inf"}`` (non-finite floats),
``{"function": "numpy:floor"}`` (a rounding op's numpy function).

A shape lists ints and, for dynamic sizes, expressions (``["batch", 6, 24, 24]``, ``["batch*16", 10]``).

Dynamic sizes: each :class:`Dim` is moved to other sizes in its range and the forward runs again at those
points (``_capture``); the runs must record the same ops, and every size or int argument that differs between
them is fitted as a polynomial of the Dims (``_merge``), so Python arithmetic on sizes (``x.view(x.shape[0] *
2, -1)``) stays symbolic. An op that fails at another size, a branch on a dynamic size, or an argument the
fit cannot express is refused with the line that caused it.

Example:
    >>> import ember
    >>> model = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.Tanh()).eval()
    >>> ep = ember.export.export(model, (ember.randn(2, 4),))
    >>> ep.graph_signature.parameters
    ['0.weight', '0.bias']
    >>> out = ep.module()(ember.randn(2, 4))
"""

from __future__ import annotations

from ._graph import Graph, InputSpec, Node, TensorMeta
from ._program import ExportedProgram, GraphModule, GraphSignature, export
from ._serialize import load, save
from ._symbolic import DataDependentError, Dim

__all__ = ["DataDependentError", "Dim", "ExportedProgram", "Graph", "GraphModule", "GraphSignature", "InputSpec",
           "Node", "TensorMeta", "export", "load", "save"]
