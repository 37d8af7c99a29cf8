"""The captured graph: inputs, nodes (one per op call), outputs, all plain JSON-able data.

The package docstring (``ember/export/__init__.py``) describes the format; this file holds the classes, the
encoding of op arguments and the Python-like printing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import _dtype
from ._symbolic import evaluate

_SHORT_DTYPES = {"float32": "f32", "float64": "f64", "float16": "f16", "bfloat16": "bf16", "int64": "i64",
                 "int32": "i32", "int16": "i16", "int8": "i8", "uint8": "u8", "uint16": "u16", "uint32": "u32",
                 "uint64": "u64", "bool": "b8", "complex64": "c64", "complex128": "c128"}


@dataclass
class TensorMeta:
    """A value of the graph: its name, shape (ints, and size expressions for dynamic sizes) and dtype."""

    name: str
    shape: list
    dtype: str

    def annotation(self) -> str:
        dims = ", ".join(str(d) if d is not None else "?" for d in self.shape)
        return f'"{_SHORT_DTYPES.get(self.dtype, self.dtype)}[{dims}]"'


@dataclass
class InputSpec:
    """A graph input: ``kind`` is "parameter", "buffer", "constant" or "user_input"; ``target`` is the
    state_dict name (parameters, buffers), the key in ``ExportedProgram.constants`` or the user input's
    path in ``(args, kwargs)`` ("args[0]", "kwargs['mask']")."""

    kind: str
    target: str
    meta: TensorMeta
    dims: dict = field(default_factory=dict)  # user inputs: {axis: [dim name, min, max]}


@dataclass
class Node:
    """One op call: ``target`` is the op (``"ember.nn.functional.conv:ConvNd"``, an ``Op`` subclass applied
    as ``ConvNd.apply(*args, **kwargs)``), arguments encoded as in the package docstring, one
    ``TensorMeta`` per output, the module path and type it ran in, and the user's line that called it."""

    target: str
    args: list
    kwargs: dict
    outputs: list
    module: str = ""
    module_type: str = ""
    location: str = ""

    @property
    def name(self) -> str:
        return self.outputs[0].name

    @property
    def op(self) -> str:
        return self.target.rpartition(":")[2]

    def to_json(self) -> dict:
        return {"target": self.target, "args": self.args, "kwargs": self.kwargs,
                "outputs": [vars(o) for o in self.outputs], "module": self.module,
                "module_type": self.module_type, "location": self.location}

    @classmethod
    def from_json(cls, data: dict) -> Node:
        outputs = [TensorMeta(**o) for o in data["outputs"]]
        return cls(data["target"], data["args"], data["kwargs"], outputs, data.get("module", ""),
                   data.get("module_type", ""), data.get("location", ""))


@dataclass
class Graph:
    """Inputs, nodes in execution order and the output structure; ``str(graph)`` is Python-like code."""

    inputs: list
    nodes: list
    outputs: object
    # buffer state_dict name -> the graph value written back into it after each run (batch norm's running
    # statistics in training mode); torch.export's ``graph_signature.buffers_to_mutate``, keyed the other way
    mutations: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"inputs": [{"kind": i.kind, "target": i.target, "meta": vars(i.meta), "dims": i.dims}
                           for i in self.inputs],
                "nodes": [n.to_json() for n in self.nodes], "outputs": self.outputs,
                "mutations": dict(self.mutations)}

    @classmethod
    def from_json(cls, data: dict) -> Graph:
        inputs = [InputSpec(i["kind"], i["target"], TensorMeta(**i["meta"]),
                            {int(k): v for k, v in i.get("dims", {}).items()}) for i in data["inputs"]]
        mutations = data.get("mutations", {})
        if not isinstance(mutations, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                       for k, v in mutations.items()):
            raise ValueError("mutations must map buffer names to graph value names")
        return cls(inputs, [Node.from_json(n) for n in data["nodes"]], data["outputs"], dict(mutations))

    def __str__(self) -> str:
        return self.python_code()

    def python_code(self, name: str = "GraphModule") -> str:
        signature = ", ".join(f"{i.meta.name}: {i.meta.annotation()}" for i in self.inputs)
        lines = [f"class {name}(ember.nn.Module):", f"    def forward(self, {signature}):"]
        module = None
        for node in self.nodes:
            if node.module != module:
                module = node.module
                if module:
                    lines.append(f"        # module: {module} ({node.module_type})")
            targets = ", ".join(o.name for o in node.outputs)
            annotation = ", ".join(o.annotation() for o in node.outputs)
            call = ", ".join([format_arg(a) for a in node.args]
                             + [f"{k}={format_arg(v)}" for k, v in node.kwargs.items()])
            function = f"{node.target.partition(':')[0]}.{node.op}" \
                if node.target.startswith(("numpy:", "random:")) else node.op
            if len(node.outputs) == 1:
                lines.append(f"        {targets}: {annotation} = {function}({call})")
            else:
                lines.append(f"        {targets} = {function}({call})  # {annotation}")
        for target, value in self.mutations.items():
            lines.append(f"        # buffer {target} <- {value}")
        lines.append(f"        return {format_arg(self.outputs)}")
        return "\n".join(lines) + "\n"


# --- arguments ------------------------------------------------------------------------------------------
# An argument is JSON: null, true/false, an int, a float, a string, or an object with one key:
# {"value": name} a graph value; {"array": name} a constant value passed as its ndarray; {"tuple": [...]}, {"list": [...]}, {"dict": [[key, arg], ...]};
# {"sym": "2*batch"} a size; {"slice": [start, stop, step]}; {"ellipsis": null};
# {"dtype": "float32"} an ember dtype; {"np_dtype": "float32"} a numpy dtype;
# {"scalar": [value, "float32"]} a numpy scalar; {"float": "inf" | "-inf" | "nan"}; {"function": "numpy:floor"}.


def format_arg(arg) -> str:
    """An encoded argument as Python-like text."""
    if isinstance(arg, list):
        return "[" + ", ".join(format_arg(a) for a in arg) + "]"
    if not isinstance(arg, dict):
        return repr(arg)
    (kind, value), = arg.items()
    if kind in ("value", "array"):
        return value
    if kind == "tuple":
        inner = ", ".join(format_arg(a) for a in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if kind == "list":
        return "[" + ", ".join(format_arg(a) for a in value) + "]"
    if kind == "dict":
        return "{" + ", ".join(f"{k!r}: {format_arg(v)}" for k, v in value) + "}"
    if kind == "sym":
        return value
    if kind == "slice":
        return f"slice({', '.join(format_arg(v) for v in value)})"
    if kind == "ellipsis":
        return "..."
    if kind == "dtype":
        return f"ember.{value}"
    if kind == "np_dtype":
        return f"numpy.{value}"
    if kind == "scalar":
        return f"numpy.{value[1]}({value[0]!r})"
    if kind == "float":
        return f"float({value!r})"
    if kind == "function":
        return value.replace(":", ".")
    return repr(arg)


def decode(arg, values: dict, sizes: dict, functions) -> object:
    """An encoded argument back as the object the op takes; ``values`` maps names to tensors."""
    if isinstance(arg, list):
        return [decode(a, values, sizes, functions) for a in arg]
    if not isinstance(arg, dict):
        return arg
    (kind, value), = arg.items()
    if kind == "value":
        return values[value]
    if kind == "array":
        return values[value]._data
    if kind == "tuple":
        return tuple(decode(a, values, sizes, functions) for a in value)
    if kind == "list":
        return [decode(a, values, sizes, functions) for a in value]
    if kind == "dict":
        return {k: decode(v, values, sizes, functions) for k, v in value}
    if kind == "sym":
        return evaluate(value, sizes)
    if kind == "slice":
        return slice(*(decode(v, values, sizes, functions) for v in value))
    if kind == "ellipsis":
        return Ellipsis
    if kind == "dtype":
        return getattr(_dtype, "bool_" if value == "bool" else value)
    if kind == "np_dtype":
        return np.dtype(value)
    if kind == "scalar":
        return np.dtype(value[1]).type(value[0])
    if kind == "float":
        return float(value)
    if kind == "function":
        return functions(value)
    raise ValueError(f"unknown argument encoding {kind!r}")


def encode_float(value: float):
    return value if math.isfinite(value) else {"float": repr(float(value))}
