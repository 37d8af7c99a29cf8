"""Buffers a compiled forward changes in place (batch norm's running statistics in training mode).

The capture records each in-place change of a buffer as the graph value the buffer holds afterwards
(``ExportedProgram.graph_signature.buffers_to_mutate``). :class:`BufferWriteBack` compiles the graph with
those values as extra outputs and, after each call, writes them into the module's own buffers, so the
running statistics and ``num_batches_tracked`` after N compiled steps are eager's.
"""

from __future__ import annotations

import copy
import dataclasses

from ..export._program import write_buffers
from ._plan import CompiledGraph


class BufferWriteBack:
    """A :class:`CompiledGraph` whose forward changes buffers: the graph returns ``(outputs, new values)``
    and each call writes the new values into ``tensors``' buffers. Other attributes are the graph's."""

    def __init__(self, program, tensors: dict):
        graph = program.graph
        self.mutations = dict(graph.mutations)
        self.buffers = {spec.target: tensors[spec.meta.name] for spec in graph.inputs if spec.kind == "buffer"}
        writes = {"tuple": [{"value": name} for name in self.mutations.values()]}
        extended = copy.copy(program)
        extended.graph = dataclasses.replace(graph, outputs={"tuple": [graph.outputs, writes]})
        self.compiled = CompiledGraph(extended, tensors)

    def __call__(self, args: tuple, kwargs: dict):
        out, values = self.compiled(args, kwargs)
        write_buffers(self.mutations, dict(zip(self.mutations.values(), values)), self.buffers)
        return out

    def __getattr__(self, name: str):
        return getattr(self.__dict__["compiled"], name)


def compiled_graph(program, tensors: dict):
    """The program's compiled graph; with buffer writes when the forward changes buffers in place."""
    if program.graph.mutations:
        return BufferWriteBack(program, tensors)
    return CompiledGraph(program, tensors)
