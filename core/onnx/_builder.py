"""The ONNX graph being built: nodes, initializers, the captured graph's values by name, and helpers for
constants and sizes that the op translations (``_translate``) share.

A complex value of the captured graph is held in ONNX as a real tensor with a trailing axis of 2 (real,
imaginary), the layout of ONNX's own ``DFT``; ``complex`` names those values, whose logical rank is one less.
"""

from __future__ import annotations

import ast

import numpy as np

from ..export._graph import Node

# Ember dtype name -> (ONNX TensorProto element type name, numpy dtype); complex dtypes are pairs of reals
DTYPES = {"float32": ("FLOAT", np.float32), "float64": ("DOUBLE", np.float64), "float16": ("FLOAT16", np.float16),
          "int64": ("INT64", np.int64), "int32": ("INT32", np.int32), "int16": ("INT16", np.int16),
          "int8": ("INT8", np.int8), "uint8": ("UINT8", np.uint8), "uint16": ("UINT16", np.uint16),
          "uint32": ("UINT32", np.uint32), "uint64": ("UINT64", np.uint64), "bool": ("BOOL", np.bool_),
          "complex64": ("FLOAT", np.float32), "complex128": ("DOUBLE", np.float64)}

INT64_MAX = np.iinfo(np.int64).max
INT64_MIN = np.iinfo(np.int64).min


class UnsupportedOperatorError(RuntimeError):
    """An op of the captured graph has no ONNX translation (``torch.onnx.errors.UnsupportedOperatorError``)."""


class Builder:
    """Collects the ONNX nodes and initializers of one export.

    ``metas`` maps every captured value's name to its ``TensorMeta``; ``names`` maps it to the ONNX tensor
    that holds it; ``constants`` holds the arrays of values known at export time (weights, constant inputs),
    so a translation can read them (a batch norm's statistics, an index array); ``dim_sources`` maps each
    Dim name to the (ONNX input, axis) its size is read from at run time.
    """

    def __init__(self, onnx, opset: int, metas: dict, dim_sources: dict):
        self.onnx, self.helper, self.opset = onnx, onnx.helper, opset
        self.metas, self.dim_sources = metas, dim_sources
        self.names: dict[str, str] = {}
        self.constants: dict[str, np.ndarray] = {}
        self.complex: set[str] = set()
        self.nodes: list = []
        self.initializers: list = []
        self._taken: set[str] = set()
        self._sizes: dict[str, str] = {}
        self.node: Node | None = None  # the captured node being translated (names the ONNX nodes)

    # --- names and nodes ----------------------------------------------------------------------------------
    def fresh(self, base: str) -> str:
        name, count = base, 0
        while name in self._taken:
            count += 1
            name = f"{base}_{count}"
        self._taken.add(name)
        return name

    def reserve(self, name: str) -> None:
        self._taken.add(name)

    def add(self, op_type: str, inputs: list, outputs: int | list = 1, **attributes) -> str | list:
        """Appends an ONNX node; returns its output name (or names when ``outputs`` is a count above 1 or a
        list of names)."""
        base = self.node.outputs[0].name if self.node is not None else op_type.lower()
        names = [self.fresh(f"{base}_{op_type}") for _ in range(outputs)] if isinstance(outputs, int) else outputs
        node_name = self.fresh(f"/{self.node.module.replace('.', '/')}/{op_type}" if self.node is not None
                               and self.node.module else f"/{op_type}")
        self.nodes.append(self.helper.make_node(op_type, [i or "" for i in inputs], names, name=node_name,
                                                **attributes))
        return names[0] if isinstance(outputs, int) and outputs == 1 else names

    # --- constants ----------------------------------------------------------------------------------------
    def initializer(self, name: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        self.reserve(name)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def const(self, array, dtype=None, base: str = "const") -> str:
        """A constant tensor (an initializer) holding ``array``."""
        array = np.asarray(array, dtype=dtype)
        if array.dtype.kind == "c":
            array = np.stack([array.real, array.imag], axis=-1)
        name = self.initializer(self.fresh(base), array)
        self.constants[name] = array
        return name

    def ints(self, values) -> str:
        return self.const(np.asarray(values, np.int64).reshape(-1), base="ints")

    # --- values -------------------------------------------------------------------------------------------
    def value(self, encoded) -> str:
        """The ONNX name of an argument that refers to a captured value (``{"value": n}`` or ``{"array": n}``)."""
        if isinstance(encoded, dict) and len(encoded) == 1:
            (kind, name), = encoded.items()
            if kind in ("value", "array"):
                return self.names[name]
        raise UnsupportedOperatorError(f"expected a tensor argument, got {encoded!r}")

    def is_value(self, encoded) -> bool:
        return isinstance(encoded, dict) and len(encoded) == 1 and next(iter(encoded)) in ("value", "array")

    def meta_of(self, encoded):
        (_, name), = encoded.items()
        return self.metas[name]

    def known(self, encoded) -> np.ndarray | None:
        """The array of a value known at export time (a weight, a constant input), else None."""
        return self.constants.get(self.value(encoded)) if self.is_value(encoded) else None

    def rank(self, encoded) -> int:
        return len(self.meta_of(encoded).shape)

    def is_complex(self, encoded) -> bool:
        return self.is_value(encoded) and self.value(encoded) in self.complex

    def operand(self, arg, dtype: str) -> str:
        """A tensor or Python / numpy scalar argument as an ONNX tensor of Ember dtype ``dtype`` (cast when the
        value's dtype differs: the captured op promoted it)."""
        if self.is_value(arg):
            name, meta = self.value(arg), self.meta_of(arg)
            return name if meta.dtype == dtype else self.cast(name, dtype)
        return self.const(scalar_of(arg), DTYPES[dtype][1], base="scalar")

    @staticmethod
    def metas_dtype(dtype: str):
        """The numpy dtype that holds an Ember dtype's values in ONNX (a complex dtype's real parts)."""
        return DTYPES[dtype][1]

    def cast(self, name: str, dtype: str) -> str:
        return self.add("Cast", [name], to=getattr(self.onnx.TensorProto, DTYPES[dtype][0]))

    # --- sizes --------------------------------------------------------------------------------------------
    def size(self, item) -> str:
        """A size (an int, or ``{"sym": expr}`` over Dim names) as a 1-element int64 tensor."""
        if isinstance(item, dict) and "sym" in item:
            expr = item["sym"]
            if expr not in self._sizes:
                self._sizes[expr] = self._expression(ast.parse(expr, mode="eval").body)
            return self._sizes[expr]
        return self.ints([int(item)])

    def _expression(self, tree) -> str:
        if isinstance(tree, ast.Constant):
            return self.ints([int(tree.value)])
        if isinstance(tree, ast.Name):
            source, axis = self.dim_sources[tree.id]
            return self.add("Shape", [source], start=axis, end=axis + 1)
        if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.USub):
            return self.add("Neg", [self._expression(tree.operand)])
        ops = {ast.Add: "Add", ast.Sub: "Sub", ast.Mult: "Mul", ast.FloorDiv: "Div", ast.Mod: "Mod"}
        if isinstance(tree, ast.BinOp) and type(tree.op) in ops:
            return self.add(ops[type(tree.op)], [self._expression(tree.left), self._expression(tree.right)])
        raise UnsupportedOperatorError(f"cannot express the size {ast.unparse(tree)!r} in ONNX")

    def shape(self, items, extra=()) -> str:
        """A shape argument (ints and size expressions), plus ``extra`` trailing ints, as a 1-D int64 tensor."""
        items = list(unwrap(items)) + list(extra)
        if all(not isinstance(i, dict) for i in items):
            return self.ints(items)
        return self.add("Concat", [self.size(i) for i in items], axis=0)

    def axes_input(self, op_type: str, inputs: list, axes, **attributes) -> str:
        """A reduction whose axes are an attribute before opset 18 and an input from it (ReduceSum: 13)."""
        as_input = self.opset >= (13 if op_type == "ReduceSum" else 18)
        if axes is None:
            return self.add(op_type, inputs, **attributes)
        if as_input:
            return self.add(op_type, inputs + [self.ints(axes)], **attributes)
        return self.add(op_type, inputs, axes=list(axes), **attributes)


def unwrap(arg):
    """An encoded tuple / list argument as a Python list of its encoded items (ints stay ints)."""
    if isinstance(arg, dict) and len(arg) == 1 and next(iter(arg)) in ("tuple", "list"):
        return next(iter(arg.values()))
    if isinstance(arg, list):
        return arg
    return [arg]


def scalar_of(arg):
    """A plain number argument (int, float, ``{"float": "inf"}``, ``{"scalar": [v, dtype]}``) as a Python value."""
    if isinstance(arg, dict):
        (kind, value), = arg.items()
        if kind == "float":
            return float(value)
        if kind == "scalar":
            return value[0]
        raise UnsupportedOperatorError(f"expected a number, got {arg!r}")
    return arg
