"""``ember.onnx.export``: a model captured by ``ember.export`` written as an ONNX ``ModelProto``."""

from __future__ import annotations

import os
import warnings

import numpy as np

from ..export import Dim, ExportedProgram
from ..export import export as capture_program
from ..export._graph import decode
from ..export._inputs import _flatten_inputs, bind_arguments
from ..export._program import resolve, resolve_function
from ..nn.modules.module import Module
from ..tensor import Tensor
from ._builder import DTYPES, Builder, UnsupportedOperatorError
from ._translate import TRANSLATIONS

MIN_OPSET = 17  # LayerNormalization


def _onnx():
    try:
        import onnx  # lazy: an optional extra, and `import ember` must not load it
    except ModuleNotFoundError:
        raise ModuleNotFoundError("ember.onnx needs the onnx package: pip install 'ember[onnx]'") from None
    return onnx


def export(model, args=(), f: str | os.PathLike | None = None, *, kwargs: dict | None = None,
           export_params: bool = True, verbose: bool | None = None, input_names=None, output_names=None,
           opset_version: int | None = 17, dynamic_axes=None, keep_initializers_as_inputs: bool = False,
           dynamic_shapes=None, do_constant_folding: bool = True):
    """Exports ``model`` to ONNX (``torch.onnx.export``'s arguments and meaning), through ``ember.export``.

    The forward is captured once on ``args`` (in eval mode, as torch exports by default; the model's
    training flags are restored afterwards), each captured op becomes ONNX nodes, and the parameters and
    buffers become initializers named by their ``state_dict`` names.

    Args:
        model: an ``ember.nn.Module``, or an ``ember.export.ExportedProgram`` already captured.
        args: the example inputs: a tuple, or one tensor (a trailing dict in the tuple is taken as kwargs).
        f: a path or a binary file object to write the model to; None writes nothing.
        kwargs: example keyword arguments of the forward.
        export_params: False leaves the weights out: they become inputs of the ONNX graph.
        verbose: print the ONNX graph as text.
        input_names: names of the graph's tensor inputs, in order (default: the forward's argument names;
            a tuple argument ``hidden`` gives ``hidden_0``, ``hidden_1``).
        output_names: names of the tensor outputs, in order (default ``output``, or ``output_0``, ...).
        opset_version: the ONNX opset, 17 or above (default 17).
        dynamic_axes: ``{name: {axis: "label"}}`` or ``{name: [axes]}`` for inputs and outputs: those sizes
            stay symbolic (captured as ``ember.export.Dim``); every other size is fixed to the example's.
        keep_initializers_as_inputs: also list the initializers among the graph's inputs.
        dynamic_shapes: ``ember.export.export``'s form of the same (``{arg: {axis: Dim}}``), instead of
            ``dynamic_axes`` for the inputs.
        do_constant_folding: accepted for torch's signature (onnxruntime folds constants when it loads).

    Returns:
        The ``onnx.ModelProto`` (also written to ``f`` when given).

    Raises:
        UnsupportedOperatorError: an op has no ONNX translation; the message names it and the module path
            where it runs.

    Example:
        >>> import ember
        >>> model = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.ReLU())
        >>> proto = ember.onnx.export(model, (ember.randn(2, 4),), None, input_names=["x"],
        ...                           dynamic_axes={"x": {0: "batch"}})
        >>> [node.op_type for node in proto.graph.node]
        ['Gemm', 'Relu', 'Identity']
        >>> proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param
        'batch'
    """
    onnx = _onnx()
    opset = MIN_OPSET if opset_version is None else int(opset_version)
    if not MIN_OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise ValueError(f"ember.onnx.export: opset_version must be between {MIN_OPSET} and "
                         f"{onnx.defs.onnx_opset_version()} (the installed onnx's newest), got {opset_version}")
    args, kwargs = _split_args(args, kwargs)
    labels: dict[str, str] = {}  # Dim name -> the user's label for it
    if isinstance(model, ExportedProgram):
        program = model
        if program.graph.mutations:  # (captured in training mode: an ONNX graph writes no buffers)
            raise ValueError(f"ember.onnx.export: the program changes buffers in place "
                             f"({', '.join(program.graph.mutations)}), as a training-mode forward does; ONNX "
                             f"holds inference graphs: pass the module, or a program captured after model.eval()")
    elif isinstance(model, Module):
        program = _capture(model, args, kwargs, input_names, dynamic_axes, dynamic_shapes, labels)
    else:
        raise TypeError(f"ember.onnx.export: model must be an ember.nn.Module or an ExportedProgram, got "
                        f"{type(model).__name__}")
    proto = build_model(onnx, program, opset, input_names, output_names, dynamic_axes or {}, labels,
                        export_params, keep_initializers_as_inputs)
    if verbose:
        print(onnx.printer.to_text(proto.graph))
    if f is not None:
        onnx.save_model(proto, f)
    return proto


def _split_args(args, kwargs):
    if isinstance(args, Tensor):
        args = (args,)
    elif isinstance(args, list):
        args = tuple(args)
    elif not isinstance(args, tuple):
        raise TypeError(f"ember.onnx.export: args must be a tuple of example inputs (or one tensor), got "
                        f"{type(args).__name__}")
    if kwargs is None and args and isinstance(args[-1], dict):  # torch's (x, {"mask": m}) form
        args, kwargs = args[:-1], args[-1]
    return args, dict(kwargs or {})


def _capture(model, args, kwargs, input_names, dynamic_axes, dynamic_shapes, labels) -> ExportedProgram:
    """``ember.export.export`` in eval mode, with ``dynamic_axes`` turned into Dims."""
    if dynamic_axes and dynamic_shapes is not None:
        raise ValueError("ember.onnx.export: pass dynamic_axes or dynamic_shapes, not both")
    if dynamic_axes:
        dynamic_shapes = _dims_from_axes(model, args, kwargs, input_names, dynamic_axes, labels)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        return capture_program(model, args, kwargs, dynamic_shapes=dynamic_shapes)
    finally:
        for m, mode in modes:
            m.training = mode


def _leaf_names(named: dict, input_names) -> list[tuple[str, str]]:
    """(input path, ONNX name) of every tensor among the arguments, in the graph's order."""
    leaves = _flatten_inputs(named, {})
    names = [name for _, name, _, _ in leaves]
    if input_names is not None:
        input_names = list(input_names)
        if len(input_names) > len(names):
            raise ValueError(f"ember.onnx.export: {len(input_names)} input_names for {len(names)} tensor inputs "
                             f"({', '.join(names)})")
        names[:len(input_names)] = input_names
    return [(path, name) for (path, _, _, _), name in zip(leaves, names)]


def _axes_of(name: str, spec) -> dict:
    """``{axis: label}`` of one ``dynamic_axes`` entry (a dict, or a list of axes torch names itself)."""
    if isinstance(spec, dict):
        return {int(axis): str(label) for axis, label in spec.items()}
    if isinstance(spec, (list, tuple)):
        return {int(axis): f"{name}_dynamic_axes_{i + 1}" for i, axis in enumerate(spec)}
    raise TypeError(f"ember.onnx.export: dynamic_axes[{name!r}] must be a dict {{axis: name}} or a list of axes, "
                    f"got {type(spec).__name__}")


def _dims_from_axes(model, args, kwargs, input_names, dynamic_axes, labels) -> dict:
    named = bind_arguments(model, args, kwargs)
    by_path = {}
    dims: dict[str, Dim] = {}
    for path, name in _leaf_names(named, input_names):
        if name not in dynamic_axes:
            continue
        axes = {}
        for axis, label in _axes_of(name, dynamic_axes[name]).items():
            if label not in dims:
                ident = label if label.isidentifier() else f"dim_{len(dims)}"
                dims[label] = Dim(ident)
                labels[ident] = label
            axes[axis] = dims[label]
        by_path[path] = axes

    def spec(value, path):
        if isinstance(value, Tensor):
            return by_path.get(path)
        if isinstance(value, (tuple, list)):
            return [spec(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {k: spec(v, f"{path}[{k!r}]") for k, v in value.items()}
        return None

    return {name: spec(value, name) for name, value in named.items()}


# --- the ONNX model -----------------------------------------------------------------------------------------
def _as_array(value) -> np.ndarray:
    return np.asarray(value._data if isinstance(value, Tensor) else value)


def _read_values(graph) -> set:
    """The names of the values some node or the output reads."""
    found = set()

    def walk(arg):
        if isinstance(arg, list):
            for a in arg:
                walk(a)
        elif isinstance(arg, dict):
            (kind, value), = arg.items()
            if kind in ("value", "array"):
                found.add(value)
            elif kind in ("tuple", "list", "slice"):
                walk(value)
            elif kind == "dict":
                for _, v in value:
                    walk(v)

    for node in graph.nodes:
        walk(node.args)
        walk(list(node.kwargs.values()))
    walk(graph.outputs)
    return found


def _output_values(encoded) -> list:
    """The forward's outputs, flattened in order: value names (and the plain objects ONNX cannot hold)."""
    if isinstance(encoded, dict):
        (kind, value), = encoded.items()
        if kind == "value":
            return [value]
        if kind in ("tuple", "list"):
            return [v for e in value for v in _output_values(e)]
        if kind == "dict":
            return [v for _, e in value for v in _output_values(e)]
    if isinstance(encoded, list):
        return [v for e in encoded for v in _output_values(e)]
    return [("plain", encoded)]


def _value_info(onnx, name: str, meta, labels: dict, axes: dict, pair: bool):
    dims = []
    for axis, size in enumerate(meta.shape):
        if axis in axes:
            dims.append(axes[axis])
        elif isinstance(size, int):
            dims.append(size)
        elif isinstance(size, str) and size.isidentifier():
            dims.append(labels.get(size, size))
        else:
            dims.append(None)  # a size expression: left unnamed
    if pair:
        dims.append(2)
    elem = getattr(onnx.TensorProto, DTYPES[meta.dtype][0])
    return onnx.helper.make_tensor_value_info(name, elem, dims)


def build_model(onnx, program: ExportedProgram, opset: int, input_names=None, output_names=None,
                dynamic_axes: dict | None = None, labels: dict | None = None, export_params: bool = True,
                keep_initializers_as_inputs: bool = False):
    """The ``onnx.ModelProto`` of a captured program."""
    graph, labels, dynamic_axes = program.graph, dict(labels or {}), dict(dynamic_axes or {})
    metas = {spec.meta.name: spec.meta for spec in graph.inputs}
    metas.update({o.name: o for node in graph.nodes for o in node.outputs})
    for spec in graph.inputs:
        if spec.kind == "user_input" and spec.meta.dtype not in DTYPES:
            raise UnsupportedOperatorError(f"ember.onnx.export: input {spec.target} has dtype {spec.meta.dtype}, "
                                           f"which ONNX has no type for")
    user = [s for s in graph.inputs if s.kind == "user_input"]
    names = [s.meta.name for s in user]
    if input_names is not None:
        if len(input_names) > len(names):
            raise ValueError(f"ember.onnx.export: {len(input_names)} input_names for {len(names)} tensor inputs "
                             f"({', '.join(names)})")
        names[:len(input_names)] = list(input_names)
    dim_sources = {}
    for spec, name in zip(user, names):
        for axis, (dim, _, _) in spec.dims.items():
            dim_sources.setdefault(dim, (name, int(axis)))
    b = Builder(onnx, opset, metas, dim_sources)
    inputs, initializers_as_inputs = [], []
    for spec, name in zip(user, names):
        b.reserve(name)
        b.names[spec.meta.name] = name
        axes = _axes_of(name, dynamic_axes[name]) if name in dynamic_axes else {}
        fixed = sorted(set(axes) - set(spec.dims))
        if fixed:  # (an ExportedProgram captured with these sizes fixed: its graph holds them as numbers)
            raise ValueError(f"ember.onnx.export: dynamic_axes[{name!r}] names axes {fixed}, which the program "
                             f"was captured with as fixed sizes; capture it with dynamic_shapes")
        if spec.meta.dtype.startswith("complex"):
            b.complex.add(name)
        inputs.append(_value_info(onnx, name, spec.meta, labels, axes, spec.meta.dtype.startswith("complex")))
    for spec in graph.inputs:
        if spec.kind == "user_input":
            continue
        array = _as_array(program.state_dict[spec.target] if spec.kind in ("parameter", "buffer")
                          else program.constants[spec.target])
        name = spec.target if spec.kind in ("parameter", "buffer") else spec.meta.name
        pair = array.dtype.kind == "c"
        stored = np.stack([array.real, array.imag], axis=-1) if pair else array
        b.names[spec.meta.name] = name
        if pair:
            b.complex.add(name)
        if spec.kind != "constant" and not export_params:
            b.reserve(name)
            inputs.append(_value_info(onnx, name, spec.meta, labels, {}, pair))
            continue
        b.initializer(name, stored)
        b.constants[name] = stored
        if keep_initializers_as_inputs:
            initializers_as_inputs.append(_value_info(onnx, name, spec.meta, labels, {}, pair))
    values, out_names = _output_names(graph, output_names)
    unknown = sorted(set(dynamic_axes) - set(names) - set(out_names))
    if unknown:  # (torch warns too: a misspelt name would silently leave the axis fixed)
        warnings.warn(f"ember.onnx.export: dynamic_axes names {unknown}, which are neither input names "
                      f"({', '.join(names)}) nor output names ({', '.join(out_names)})", UserWarning, stacklevel=3)
    for name in out_names:
        b.reserve(name)
    read = _read_values(graph)
    for node in graph.nodes:
        _translate_node(b, node, read)
    outputs = _outputs(onnx, b, values, out_names, metas, dynamic_axes, labels)
    read_names = {i for n in b.nodes for i in n.input}  # weights no node reads (a batch norm's running
    initializers = [t for t in b.initializers if t.name in read_names]  # stats: folded) are left out
    initializers_as_inputs = [i for i in initializers_as_inputs if i.name in read_names]
    onnx_graph = onnx.helper.make_graph(b.nodes, "ember", inputs + initializers_as_inputs, outputs,
                                        initializer=initializers)
    opsets = [onnx.helper.make_opsetid("", opset)]
    from .. import __version__

    proto = onnx.helper.make_model(onnx_graph, opset_imports=opsets, producer_name="ember",
                                   producer_version=__version__)
    proto.ir_version = onnx.helper.find_min_ir_version_for(opsets)
    onnx.checker.check_model(proto)
    return proto


def _fold(b: Builder, node) -> bool:
    """Computes a numpy node whose inputs are all known at export time (a batch norm's ``1 / sqrt(var + eps)``
    of its running variance) now, as a constant; False when it reads a value of the run or a dynamic size."""
    if not node.target.startswith("numpy:"):
        return False
    refs, symbolic = set(), []

    def walk(arg):
        if isinstance(arg, list):
            for a in arg:
                walk(a)
        elif isinstance(arg, dict):
            (kind, value), = arg.items()
            if kind in ("value", "array"):
                refs.add(value)
            elif kind == "sym":
                symbolic.append(value)
            elif kind in ("tuple", "list", "slice"):
                walk(value)
            elif kind == "dict":
                walk([v for _, v in value])

    walk([node.args, list(node.kwargs.values())])
    names = {ref: b.names.get(ref) for ref in refs}
    if symbolic or any(n is None or n not in b.constants or n in b.complex for n in names.values()):
        return False
    values = {ref: Tensor._wrap(b.constants[n]) for ref, n in names.items()}
    fn = resolve(node.target)
    out = fn(*[decode(a, values, {}, resolve_function) for a in node.args],
             **{k: decode(v, values, {}, resolve_function) for k, v in node.kwargs.items()})
    for meta, o in zip(node.outputs, out if isinstance(out, tuple) else (out,)):
        b.names[meta.name] = b.const(_as_array(o), base=meta.name)
    return True


def _translate_node(b: Builder, node, read: set) -> None:
    where = f" in module {node.module!r} ({node.module_type})" if node.module else " in the top module's forward"
    if _fold(b, node):
        return
    translate = TRANSLATIONS.get(node.target)
    if translate is None:
        raise UnsupportedOperatorError(
            f"ember.onnx.export: op {node.op} ({node.target}) has no ONNX translation; it runs{where}, called "
            f"from {node.location}. Compute it with other ops, or keep it outside the exported forward")
    b.node = node
    try:
        outs = translate(b, node, node.args, [o.name in read for o in node.outputs])
    except UnsupportedOperatorError as error:
        raise UnsupportedOperatorError(f"ember.onnx.export: op {node.op} ({node.target}){where}, called from "
                                       f"{node.location}: {error}") from None
    finally:
        b.node = None
    for meta, out in zip(node.outputs, outs):
        if out is not None:
            b.names[meta.name] = out


def _output_names(graph, output_names) -> tuple[list, list]:
    values = _output_values(graph.outputs)
    for v in values:
        if isinstance(v, tuple):
            raise UnsupportedOperatorError(f"ember.onnx.export: the forward returns {v[1]!r}; ONNX outputs are "
                                           f"tensors only")
    names = ["output"] if len(values) == 1 else [f"output_{i}" for i in range(len(values))]
    if output_names is not None:
        if len(output_names) > len(values):
            raise ValueError(f"ember.onnx.export: {len(output_names)} output_names for {len(values)} outputs")
        names[:len(output_names)] = list(output_names)
    return values, names


def _outputs(onnx, b: Builder, values, names, metas, dynamic_axes, labels) -> list:
    infos = []
    for value, name in zip(values, names):
        source = b.names[value]
        b.nodes.append(onnx.helper.make_node("Identity", [source], [name], name=b.fresh(f"/output/{name}")))
        axes = _axes_of(name, dynamic_axes[name]) if name in dynamic_axes else {}
        infos.append(_value_info(onnx, name, metas[value], labels, axes, source in b.complex))
    return infos
