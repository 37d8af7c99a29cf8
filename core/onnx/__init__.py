"""``ember.onnx``: models out to ONNX, ``torch.onnx.export``'s signature on top of ``ember.export``.

``export(model, args, f)`` captures the forward with ``ember.export.export`` (one capture mechanism: the
graph, its op set and module paths are documented there) and translates each captured op into ONNX nodes
(``_translate``: one small function per op, keyed by the op's ``"module:Qualname"``). Parameters and buffers
become initializers under their ``state_dict`` names. ``dynamic_axes`` become ``ember.export.Dim`` s, so the
graph holds symbolic sizes and runs at any batch size; a size computed from them (``x.view(x.shape[0], -1)``)
is computed in the ONNX graph from the input's ``Shape``.

An op without a translation raises :class:`UnsupportedOperatorError` naming the op and the module path where
it runs. The ``onnx`` package is an optional extra (``pip install 'ember[onnx]'``), imported only when
``export`` runs; ``onnxruntime`` runs the result.

What the translation covers: convolutions, max / adaptive pooling, batch and layer norm, linear layers,
embeddings, attention (masks, causal), LSTM and GRU layers, elementwise and reduction ops, shape ops (basic
indexing, reshape, permute, cat, stack, flip, expand), and the spectrogram front end of ``ember.audio``
(framing, the one-sided DFT as a matmul with the DFT basis, ``|z|^2``). Complex values are held as real
tensors with a trailing axis of 2 (real, imaginary), ONNX's DFT layout.

Example:
    >>> import ember, io
    >>> model = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.Tanh())
    >>> buffer = io.BytesIO()
    >>> proto = ember.onnx.export(model, (ember.randn(2, 4),), buffer, input_names=["x"],
    ...                           output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    >>> [i.name for i in proto.graph.initializer]
    ['0.weight', '0.bias']
"""

from __future__ import annotations

from ._builder import UnsupportedOperatorError
from ._export import export

OnnxExporterError = RuntimeError  # torch.onnx's base error; Ember's export errors are RuntimeErrors

__all__ = ["OnnxExporterError", "UnsupportedOperatorError", "export"]
