"""``ExportedProgram``: a captured graph with its weights, and the interpreter that runs it."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from .. import creation
from ..autograd.function import Function
from ..nn.modules.module import Module
from ..nn.parameter import Parameter
from ..random import default_generator
from ..tensor import Tensor
from ._capture import NUMPY_FUNCTIONS, RANDOM_METHODS, astype, capture
from ._graph import Graph, decode
from ._merge import merge
from ._symbolic import Dim

FORMAT_VERSION = 1


@dataclass
class GraphSignature:
    """What the graph's inputs and outputs are, as ``torch.export.ExportGraphSignature`` tells it."""

    parameters: list = field(default_factory=list)  # state_dict names
    buffers: list = field(default_factory=list)
    user_inputs: list = field(default_factory=list)  # graph value names
    user_outputs: list = field(default_factory=list)
    inputs_to_parameters: dict = field(default_factory=dict)  # graph value name -> state_dict name
    inputs_to_buffers: dict = field(default_factory=dict)
    buffers_to_mutate: dict = field(default_factory=dict)  # graph value name -> the buffer it is written into

    @classmethod
    def of(cls, graph: Graph) -> GraphSignature:
        sig = cls()
        for spec in graph.inputs:
            if spec.kind == "parameter":
                sig.parameters.append(spec.target)
                sig.inputs_to_parameters[spec.meta.name] = spec.target
            elif spec.kind == "buffer":
                sig.buffers.append(spec.target)
                sig.inputs_to_buffers[spec.meta.name] = spec.target
            elif spec.kind == "user_input":
                sig.user_inputs.append(spec.meta.name)
        sig.user_outputs = _value_names(graph.outputs)
        sig.buffers_to_mutate = {value: target for target, value in graph.mutations.items()}
        return sig


def _value_names(encoded) -> list:
    if isinstance(encoded, list):
        return [n for e in encoded for n in _value_names(e)]
    if isinstance(encoded, dict):
        (kind, value), = encoded.items()
        if kind == "value":
            return [value]
        if kind in ("tuple", "list"):
            return _value_names(value)
        if kind == "dict":
            return [n for _, v in value for n in _value_names(v)]
    return []


class ExportedProgram:
    """A model's forward as a graph of ops, with the weights it reads.

    ``graph`` (a :class:`Graph`: inputs, nodes, outputs; ``print(ep.graph)`` shows it as code),
    ``state_dict`` (the model's: parameters and persistent buffers by their names; tied weights under each
    name, listed in ``tied`` past the first), ``constants`` (other tensors the graph reads), ``graph_signature``
    (``graph_signature.buffers_to_mutate``, {graph value: buffer name}: the buffers the forward changes in
    place, such as batch norm's running statistics in training mode; ``module()`` writes these values into
    its buffers after each run), ``range_constraints`` ({dim name: (min, max)}), ``mutated_inputs`` (the
    user inputs the forward changed in place: the graph computes their new values but does not write them
    back; ``mutated_input_lines`` the line of each) and ``module()``, a Module that runs the graph.

    Example:
        >>> import ember
        >>> model = ember.nn.Sequential(ember.nn.Linear(3, 2), ember.nn.ReLU())
        >>> ep = ember.export.export(model, (ember.randn(4, 3),))
        >>> [node.op for node in ep.graph.nodes]
        ['Linear', 'Relu']
        >>> ep.graph.nodes[-1].module
        '1'
        >>> ep.module()(ember.ones(4, 3)).shape
        ember.Size([4, 2])
    """

    mutated_inputs: tuple = ()

    def __init__(self, graph: Graph, state_dict: dict, constants: dict, arguments: list,
                 range_constraints: dict):
        self.graph = graph
        self.state_dict = state_dict
        self.constants = constants
        self.arguments = arguments  # the forward's argument names, in order
        self.range_constraints = range_constraints
        self.mutated_input_lines: dict = {}  # {input path: the user's line that last changed it in place}
        self.graph_signature = GraphSignature.of(graph)
        # state_dict names that are another parameter's second name (tied weights), not graph inputs
        inputs = {id(state_dict[name]) for name in self.graph_signature.parameters if name in state_dict}
        self.tied = [name for name, value in state_dict.items()
                     if id(value) in inputs and name not in self.graph_signature.parameters]

    def __repr__(self) -> str:
        return f"ExportedProgram:\n{self.graph.python_code()}"

    def print_readable(self, print_output: bool = True) -> str:
        """The graph as Python-like code, one line per op with its output's dtype and shape."""
        text = self.graph.python_code()
        if print_output:
            print(text)
        return text

    def module(self) -> Module:
        """A Module whose forward runs the graph; its state_dict has the exported model's names."""
        return GraphModule(self)


def _is_parameter(program: ExportedProgram, name: str) -> bool:
    return name in program.graph_signature.parameters or name in program.tied


class GraphModule(Module):
    """Runs an ExportedProgram's graph; parameters and buffers sit under their original names."""

    def __init__(self, program: ExportedProgram):
        super().__init__()
        object.__setattr__(self, "_program", program)
        buffers = {spec.target for spec in program.graph.inputs if spec.kind == "buffer"}
        registered = {}  # id(tensor) -> the Parameter made for it: tied weights stay one Parameter
        for name, value in program.state_dict.items():
            owner, _, leaf = self._owner(name)
            if name in buffers or (id(value) not in registered and not _is_parameter(program, name)):
                owner.register_buffer(leaf, value)
                continue
            if id(value) not in registered:
                registered[id(value)] = value if isinstance(value, Parameter) else Parameter(value)
            setattr(owner, leaf, registered[id(value)])

    def _owner(self, dotted: str):
        module = self
        *path, leaf = dotted.split(".")
        for part in path:
            if part not in module._modules:
                module.add_module(part, Module())
            module = module._modules[part]
        return module, path, leaf

    def forward(self, *args, **kwargs):
        program = self._program
        state = dict(self.named_parameters(remove_duplicate=False))
        state.update(self.named_buffers(remove_duplicate=False))
        tensors = {}
        for spec in program.graph.inputs:
            if spec.kind in ("parameter", "buffer"):
                tensors[spec.meta.name] = state[spec.target]
            elif spec.kind == "constant":
                constant = program.constants[spec.target]
                tensors[spec.meta.name] = constant if isinstance(constant, Tensor) else Tensor._wrap(constant)
        out = run_graph(program.graph, program.arguments, tensors, args, kwargs)
        write_buffers(program.graph.mutations, tensors, state)
        return out

    @property
    def graph(self) -> Graph:
        return self._program.graph

    @property
    def code(self) -> str:
        """The graph as Python-like code (``torch.fx.GraphModule.code``'s role)."""
        return self._program.graph.python_code()

    def print_readable(self, print_output: bool = True) -> str:
        return self._program.print_readable(print_output)


# --- running a graph --------------------------------------------------------------------------------------
def _user_tensors(arguments: list, args: tuple, kwargs: dict) -> dict:
    """The user's tensors by input path ("x", "x[0]", "mask['a']"), as the capture named them."""
    if len(args) > len(arguments):
        raise TypeError(f"the exported forward takes {len(arguments)} arguments ({', '.join(arguments)}), "
                        f"got {len(args)} positional")
    named = dict(zip(arguments, args))
    for key, value in kwargs.items():
        if key not in arguments:
            raise TypeError(f"the exported forward has no argument {key!r} (it has {', '.join(arguments)})")
        if key in named:
            raise TypeError(f"the exported forward got two values for argument {key!r}")
        named[key] = value
    found = {}

    def walk(value, path):
        if isinstance(value, Tensor):
            found[path] = value
        elif isinstance(value, (tuple, list)):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]")
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{path}[{k!r}]")

    for name, value in named.items():
        walk(value, name)
    return found


def _bind_inputs(graph: Graph, tensors: dict, given: dict) -> dict:
    """Checks each user input against its spec (dtype, rank, static sizes, Dim ranges); the Dims' sizes."""
    sizes = {}
    for spec in graph.inputs:
        if spec.kind != "user_input":
            continue
        if spec.target not in given:
            raise TypeError(f"the exported forward expects a tensor for {spec.target}, got none")
        t = given[spec.target]
        shape, meta = tuple(t.shape), spec.meta
        if t.dtype.name != meta.dtype:
            raise TypeError(f"input {spec.target}: expected dtype {meta.dtype}, got {t.dtype.name}")
        if len(shape) != len(meta.shape):
            raise ValueError(f"input {spec.target}: expected a {len(meta.shape)}-d tensor of shape "
                             f"{meta.shape}, got shape {list(shape)}")
        for axis, (size, expected) in enumerate(zip(shape, meta.shape)):
            if axis in spec.dims:
                name, low, high = spec.dims[axis]
                if size < low or (high is not None and size > high):
                    raise ValueError(f"input {spec.target}: size {size} of axis {axis} is outside Dim {name!r} "
                                     f"[{low}, {'inf' if high is None else high}]")
                if sizes.setdefault(name, size) != size:
                    raise ValueError(f"input {spec.target}: axis {axis} is Dim {name!r}, size {sizes[name]} "
                                     f"elsewhere, but {size} here")
            elif size != expected:
                raise ValueError(f"input {spec.target}: expected shape {meta.shape}, got {list(shape)} (axis "
                                 f"{axis} was not exported as dynamic: pass dynamic_shapes to export)")
        tensors[meta.name] = t
    return sizes


def write_buffers(mutations: dict, values: dict, buffers: dict) -> None:
    """After a run: each mutated buffer (``buffers`` by state_dict name) takes its new value in place (so
    an optimizer, a state_dict or another module holding the tensor sees it), its version bumped."""
    for target, name in mutations.items():
        buffer = buffers[target]
        np.copyto(buffer._data, values[name]._data, casting="unsafe")
        buffer._vc[0] += 1


def run_graph(graph: Graph, arguments: list, tensors: dict, args: tuple, kwargs: dict):
    """Runs the nodes in order on ``tensors`` (weights and constants by value name), which holds every
    value of the run afterwards; returns the outputs."""
    given = _user_tensors(arguments, args, kwargs)
    sizes = _bind_inputs(graph, tensors, given)
    for node in graph.nodes:
        fn = resolve(node.target)
        call_args = [decode(a, tensors, sizes, resolve_function) for a in node.args]
        call_kwargs = {k: decode(v, tensors, sizes, resolve_function) for k, v in node.kwargs.items()}
        try:
            out = fn.apply(*call_args, **call_kwargs) if isinstance(fn, type) else fn(*call_args, **call_kwargs)
        except Exception as error:
            where = f" in module {node.module!r} ({node.module_type})" if node.module else ""
            try:
                named = type(error)(f"{node.name} = {node.op}(...){where}, from {node.location}: {error}")
            except TypeError:  # an exception type that takes other arguments: as it was raised
                raise error from None
            raise named from error
        if len(node.outputs) == 1:
            out = (out,)
        for meta, o in zip(node.outputs, out):
            tensors[meta.name] = o
    return decode(graph.outputs, tensors, sizes, resolve_function)


# --- what a target names ----------------------------------------------------------------------------------
_OPS: dict = {}


def _ember_ops() -> dict:
    """Every loaded op class (a ``Function`` subclass of an Ember module) by "module:Qualname"."""
    found, stack = {}, [Function]
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__module__.startswith("ember."):
            found[f"{cls.__module__}:{cls.__qualname__}"] = cls
    return found


def resolve(target: str):
    """The op a node's target names: a loaded Ember op class, or one of the sized creation functions. A
    file can name nothing else, so loading a program never imports or runs code it names."""
    module, _, name = target.partition(":")
    if module == "ember.creation" and name == "full":  # a constant that follows the dynamic sizes
        return creation.full
    if module == "numpy":
        return _numpy_node(target, name)
    if module == "random":
        return _random_node(target, name)
    if target not in _OPS:
        _OPS.update(_ember_ops())
    if target not in _OPS:
        raise RuntimeError(f"the graph calls op {target!r}, which is not an op of the Ember that is loaded "
                           f"(import the package that defines it first, e.g. ember.vision for its ops)")
    return _OPS[target]


def _numpy_node(target: str, name: str):
    """A numpy function (``numpy:argmax``) or ufunc method (``numpy:add.reduce``) a node calls on arrays."""
    function, _, method = name.partition(".")
    fn = getattr(np, function, None)
    if function == "astype" and not method:
        fn = astype
    elif isinstance(fn, np.ufunc) and method in ("", "reduce", "accumulate", "outer"):
        fn = getattr(fn, method or "__call__")
    elif not (fn is not None and not method and function in NUMPY_FUNCTIONS):
        raise RuntimeError(f"the graph calls {target!r}, which is not a numpy function graphs may call")

    def numpy_node(*args, **kwargs):
        out = fn(*args, **kwargs)
        return tuple(Tensor._wrap(np.asarray(o)) for o in out) if isinstance(out, tuple) \
            else Tensor._wrap(np.asarray(out))

    return numpy_node


def _random_node(target: str, name: str):
    """A draw from the default generator (``random:standard_normal``), made each time the node runs."""
    if name not in RANDOM_METHODS:
        raise RuntimeError(f"the graph calls {target!r}, which is not a numpy.random.Generator draw graphs may "
                           f"call")

    def random_node(*args, **kwargs):
        return Tensor._wrap(np.asarray(getattr(default_generator.np, name)(*args, **kwargs)))

    return random_node


def resolve_function(name: str):
    """A function passed to an op (the numpy function of a rounding op): numpy's ufuncs and rounding
    functions, or a function of an already-loaded Ember module."""
    module, _, attribute = name.partition(":")
    if module == "numpy":
        fn = getattr(np, attribute, None)
        if isinstance(fn, np.ufunc) or attribute in ("round", "around", "fix"):
            return fn
    elif module.startswith("ember.") and module in sys.modules and "." not in attribute:
        fn = getattr(sys.modules[module], attribute, None)
        if callable(fn) and not isinstance(fn, type):
            return fn
    raise RuntimeError(f"the graph passes function {name!r}, which is not one Ember ops take")


# --- the public entry point ------------------------------------------------------------------------------
def export(model, args: tuple, kwargs: dict | None = None, dynamic_shapes=None, strict: bool = True,
           _enough=None) -> ExportedProgram:
    """Captures ``model``'s forward on example inputs as a graph of ops (``torch.export.export``'s meaning).

    The forward runs once with tracing tensors: Python control flow is evaluated during the capture (only
    the branch taken is recorded), and reading tensor values from Python (``if x.sum() > 0``, ``.item()``)
    is an error naming the line. Parameters and buffers become named inputs of the graph. With
    ``dynamic_shapes`` (``{arg name: {axis: Dim}}`` or a tuple in argument order) those sizes stay symbolic.

    Args:
        model: an ``ember.nn.Module`` (use ``model.eval()`` for inference graphs; in training mode batch
            norm's statistics update is recorded as buffer mutations and dropout's masks as random nodes).
        args: the example positional arguments (a tuple).
        kwargs: the example keyword arguments.
        dynamic_shapes: which input sizes are dynamic, as ``ember.export.Dim`` objects.
        strict: accepted for ``torch.export``'s signature; the capture is always strict about data-dependent
            control flow.
        _enough: internal (``ember.compile``): ``capture``'s ``enough``, which may end a capture after its first run.

    Example:
        >>> import ember
        >>> from ember.export import Dim, export
        >>> model = ember.nn.Linear(3, 2)
        >>> ep = export(model, (ember.randn(4, 3),), dynamic_shapes={"input": {0: Dim("batch")}})
        >>> ep.module()(ember.randn(7, 3)).shape
        ember.Size([7, 2])
    """
    if not isinstance(model, Module):
        raise TypeError(f"ember.export.export: model must be an ember.nn.Module, got {type(model).__name__}")
    if not isinstance(args, tuple):
        raise TypeError(f"ember.export.export: args must be a tuple of example inputs, got {type(args).__name__}")
    kwargs = dict(kwargs or {})
    runs, named, points, dims = capture(model, args, kwargs, dynamic_shapes, _enough)
    graph = merge(runs, points)
    tracer = runs[0]
    state_dict = dict(model.state_dict(keep_vars=True))  # (tied weights: one tensor under each name)
    ranges = {name: (dim.min, dim.max) for name, dim in dims.items()}
    constants = {spec.target: tracer.constants[spec.target] for spec in graph.inputs if spec.kind == "constant"}
    program = ExportedProgram(graph, state_dict, constants, list(named), ranges)
    program.mutated_inputs = tracer.mutated_inputs
    program.mutated_input_lines = tracer.input_writes
    return program


__all__ = ["Dim", "ExportedProgram", "GraphModule", "GraphSignature", "export"]
