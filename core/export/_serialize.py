"""``ember.export.save`` / ``load``: a program as ``ember.save``'s zip (arrays as ``.npy``, a JSON manifest).

The file holds ``{"format": "ember.export", "version": 1, "program": <the graph and signature as a JSON
string>, "state_dict": {name: tensor}, "constants": {name: tensor}}``. Nothing is pickled: loading reads
arrays and JSON, and a node can only name an op of the Ember that is loaded (``_program.resolve``).
"""

from __future__ import annotations

import json
import os

import numpy as np

from ..serialization import load as _load
from ..serialization import save as _save
from ..tensor import Tensor
from ._graph import Graph
from ._program import FORMAT_VERSION, ExportedProgram, resolve

_FORMAT = "ember.export"


def save(ep: ExportedProgram, f: str | os.PathLike) -> None:
    """Writes an ExportedProgram to ``f`` (atomically, no pickle); :func:`load` reads it back.

    Example:
        >>> import ember, tempfile, os
        >>> ep = ember.export.export(ember.nn.Linear(3, 2), (ember.randn(1, 3),))
        >>> path = os.path.join(tempfile.mkdtemp(), "linear.ember")
        >>> ember.export.save(ep, path)
        >>> ember.export.load(path).module()(ember.ones(1, 3)).shape
        ember.Size([1, 2])
    """
    if not isinstance(ep, ExportedProgram):
        raise TypeError(f"ember.export.save: expected an ExportedProgram, got {type(ep).__name__}")
    for node in ep.graph.nodes:
        if not node.target.startswith(("ember.", "numpy:", "random:")):  # (what resolve() allows)
            raise ValueError(f"ember.export.save: node {node.name} calls {node.target}, which is not an Ember "
                             f"op; a loaded program could not run it")
    program = {"graph": ep.graph.to_json(), "arguments": ep.arguments,
               "range_constraints": {k: list(v) for k, v in ep.range_constraints.items()}}
    copies = {}  # one copy per tensor: tied weights stay one tensor in the file
    _save({"format": _FORMAT, "version": FORMAT_VERSION, "program": json.dumps(program),
           "state_dict": {k: _plain(v, copies) for k, v in ep.state_dict.items()},
           "constants": {k: _plain(v, copies) for k, v in ep.constants.items()}}, f)


def _plain(value, copies: dict) -> Tensor:
    """A detached copy (``ember.save`` keeps what a Parameter is; the program needs the values only)."""
    if id(value) not in copies:
        array = value._data if isinstance(value, Tensor) else value
        copies[id(value)] = Tensor._wrap(np.array(array))
    return copies[id(value)]


def load(f: str | os.PathLike) -> ExportedProgram:
    """Reads a program written by :func:`save`; it runs without the exported model's Python code."""
    data = _load(f)
    name = os.fspath(f) if isinstance(f, (str, os.PathLike)) else "<stream>"
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        raise ValueError(f"ember.export.load: {name} is not an exported program (ember.export.save writes "
                         f"those; ember.save files load with ember.load)")
    if data.get("version") != FORMAT_VERSION:
        raise ValueError(f"ember.export.load: {name} has format version {data.get('version')}; this Ember "
                         f"reads version {FORMAT_VERSION}")
    try:
        program = json.loads(data["program"])
        graph = Graph.from_json(program["graph"])
        ranges = {k: tuple(v) for k, v in program["range_constraints"].items()}
        arguments = list(program["arguments"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"ember.export.load: {name}: damaged program ({error})") from None
    for node in graph.nodes:  # every op a node names must be one of the loaded Ember's (nothing is imported)
        resolve(node.target)
    state_dict, constants = data["state_dict"], data["constants"]
    for spec in graph.inputs:
        table = constants if spec.kind == "constant" else state_dict
        if spec.kind != "user_input" and spec.target not in table:
            raise ValueError(f"ember.export.load: {name}: the graph reads {spec.target!r}, which the file lacks")
    return ExportedProgram(graph, state_dict, constants, arguments, ranges)
