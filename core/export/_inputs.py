"""The inputs of a capture: the forward's arguments by name, the tensors among them, their Dims, and the
capture points (the sizes and values each run of the forward gets)."""

from __future__ import annotations

import inspect

import numpy as np

from ..tensor import Tensor
from ._symbolic import Dim


def bind_arguments(model, args: tuple, kwargs: dict) -> dict:
    """The forward's arguments by name, in the forward's order (as the graph's user inputs are named)."""
    try:
        signature = inspect.signature(model.forward)
        bound = signature.bind(*args, **kwargs)
    except (TypeError, ValueError) as error:
        raise TypeError(f"ember.export: the example arguments do not fit {type(model).__name__}.forward: "
                        f"{error}") from None
    named = {}
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            named.update({f"{name}_{i}": v for i, v in enumerate(value)})
        elif kind is inspect.Parameter.VAR_KEYWORD:
            named.update(value)
        else:
            named[name] = value
    return named


def _dims_of(name: str, value, spec) -> dict:
    """``{axis: Dim}`` of one tensor input from its ``dynamic_shapes`` entry (a dict or a per-axis list)."""
    if spec is None:
        return {}
    if isinstance(spec, dict):
        items = spec.items()
    elif isinstance(spec, (tuple, list)):
        items = enumerate(spec)
    else:
        raise TypeError(f"ember.export: dynamic_shapes[{name!r}] must be a dict {{axis: Dim}} or a list of "
                        f"Dim / None per axis, got {type(spec).__name__}")
    dims = {}
    for axis, dim in items:
        if dim is None:
            continue
        if not isinstance(dim, Dim):
            raise TypeError(f"ember.export: dynamic_shapes[{name!r}][{axis}] must be an ember.export.Dim, "
                            f"got {type(dim).__name__}")
        if not -value.ndim <= axis < value.ndim:
            raise ValueError(f"ember.export: dynamic_shapes[{name!r}] names axis {axis} of a "
                             f"{value.ndim}-d input")
        dims[axis % value.ndim] = dim
    return dims


def _leaf_specs(named: dict, dynamic_shapes) -> dict:
    """``dynamic_shapes`` as {input name: spec}: a dict keyed by the forward's argument names, or a
    tuple / list in their order."""
    if dynamic_shapes is None:
        return {}
    if isinstance(dynamic_shapes, dict):
        unknown = set(dynamic_shapes) - set(named)
        if unknown:
            raise ValueError(f"ember.export: dynamic_shapes names {sorted(unknown)}, which are not arguments "
                             f"of forward (it has {list(named)})")
        return dict(dynamic_shapes)
    if isinstance(dynamic_shapes, (tuple, list)):
        if len(dynamic_shapes) != len(named):
            raise ValueError(f"ember.export: dynamic_shapes has {len(dynamic_shapes)} entries for "
                             f"{len(named)} arguments")
        return dict(zip(named, dynamic_shapes))
    raise TypeError(f"ember.export: dynamic_shapes must be a dict or a tuple, got {type(dynamic_shapes).__name__}")


def _flatten_inputs(named: dict, specs: dict):
    """(path, name, tensor, spec) for every tensor among the arguments (in tuples, lists and dicts too)."""
    leaves = []

    def walk(value, path, name, spec):
        if isinstance(value, Tensor):
            leaves.append((path, name, value, spec))
        elif isinstance(value, (tuple, list)):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]", f"{name}_{i}", spec[i] if isinstance(spec, (tuple, list)) else None)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{path}[{k!r}]", f"{name}_{k}", spec.get(k) if isinstance(spec, dict) else None)

    for name, value in named.items():
        walk(value, name, name, specs.get(name))
    return leaves


def _points(leaves) -> tuple[list[dict], dict]:
    """The capture points: the example's sizes of every Dim; the same sizes with the input values shuffled
    (values read in Python then differ between the runs); each Dim moved (and pairs moved together)."""
    dims, base = {}, {}
    for path, name, tensor, spec in leaves:
        for axis, dim in _dims_of(path, tensor, spec).items():
            size = tensor.shape[axis]
            if dim.name in base and base[dim.name] != size:
                raise ValueError(f"ember.export: Dim {dim.name!r} has size {base[dim.name]} in one input and "
                                 f"{size} in {path} (axis {axis})")
            if not dim.contains(size):
                raise ValueError(f"ember.export: {path} has size {size} on axis {axis}, outside {dim!r}")
            dims[dim.name], base[dim.name] = dim, size
    points = [base, dict(base)]
    probes = {name: dim.probe_values(base[name]) for name, dim in dims.items()}
    for name, values in probes.items():
        points += [{**base, name: v} for v in values]
    names = [n for n in probes if probes[n]]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            points.append({**base, a: probes[a][0], b: probes[b][0]})
    return points, dims


def _shuffled(array: np.ndarray) -> np.ndarray:
    """The same values in another order (still valid inputs: token ids stay token ids)."""
    order = np.random.default_rng(0).permutation(array.size)
    return np.ascontiguousarray(array.reshape(-1)[order].reshape(array.shape))


def _resized(array: np.ndarray, dims: dict, point: dict) -> np.ndarray:
    """The example input with each dynamic axis cycled to the point's size (its values stay valid inputs)."""
    for axis, dim in dims.items():
        array = np.take(array, np.arange(point[dim.name]) % array.shape[axis], axis=axis)
    return array
