"""Graphs that passed the capture's check on shuffled values, remembered on disk: a later capture of the same
graph runs the forward once instead of twice.

``ember.export`` runs a static capture twice: on the inputs, then on the same values shuffled, and refuses a
graph that differs between the runs (a constant read from the data, an op that records other nodes for other
values). ``ember.compile`` captures on the first call of every process, so from the disk cache the second run
was a whole traced forward more on the first call (ResNet-18 CIFAR: ~0.13 s of CPU). Once a two-run capture
passes, the graph's *key* is written as an empty file ``<cache>/verified/<key>`` (the kernels' cache folder,
``EMBER_COMPILE_CACHE_DIR``). A later capture whose first run gives a graph with a key there stops after that
run; any other graph (other shapes, code, constants) is captured twice as before and remembered if it passes.

The key is a hash of everything the merged graph holds (its inputs with their shapes and dtypes, every node
with its arguments, literals, module path and user line, the outputs, the buffer writes), the bytes of its
constants (a constant read from the data differs between processes, so its graph is checked again), and the
size and modification time of each source file its lines name and of each Ember module its ops come from
(an edited forward or op is checked again). The check is then as strong as before: one run on shuffled values
found this same graph value-independent, in the process that wrote the key instead of this one.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

from ._codegen import cache_dir

_FORMAT = "1"  # bumped when the key's contents change
_KNOWN: set = set()  # keys this process found or wrote (no second look at the disk)


def key(graph, constants: dict) -> str:
    """The key of a merged graph and its constants (``{input target: ndarray}``)."""
    digest = hashlib.sha256(_FORMAT.encode())
    digest.update(json.dumps(graph.to_json(), sort_keys=True, default=repr).encode())
    for spec in graph.inputs:
        if spec.kind == "constant":
            array = constants[spec.target]
            digest.update(f"{spec.target}:{array.dtype.str}:{array.shape}".encode())
            digest.update(memoryview(array.tobytes()))
    files = {node.location.rpartition(":")[0] for node in graph.nodes}
    files.update(getattr(sys.modules.get(node.target.partition(":")[0]), "__file__", None) or ""
                 for node in graph.nodes)
    for path in sorted(files - {""}):
        try:
            stat = os.stat(path)
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        except OSError:  # ("<string>", a file gone): named only
            digest.update(path.encode())
    return digest.hexdigest()[:32]


def _path(key_: str) -> str:
    return os.path.join(cache_dir(), "verified", key_)


def seen(key_: str) -> bool:
    """Whether a two-run capture passed on this graph before (in this process or one before it)."""
    if key_ in _KNOWN:
        return True
    if os.path.exists(_path(key_)):
        _KNOWN.add(key_)
        return True
    return False


def remember(key_: str) -> None:
    """Records that a two-run capture passed on this graph (an unwritable cache: in this process only)."""
    _KNOWN.add(key_)
    path = _path(key_)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a"):
            pass
    except OSError:
        pass
