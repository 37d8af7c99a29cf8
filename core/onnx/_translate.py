"""ONNX translations of the captured graph's ops, one small function per op, keyed by the node's target.

A translation receives the :class:`Builder`, the captured ``Node`` and its encoded ``args`` (the op's
``forward`` arguments, as ``ember.export`` records them) and returns the ONNX names of the node's outputs,
in order (None for an output nothing reads). ``used`` tells which outputs are read.
"""

from __future__ import annotations

import math

import numpy as np

from ._builder import INT64_MAX, INT64_MIN, Builder, UnsupportedOperatorError, scalar_of, unwrap

TRANSLATIONS: dict = {}


def translates(*targets: str):
    def register(fn):
        for target in targets:
            TRANSLATIONS[target] = fn
        return fn

    return register


def _out_dtype(node, i: int = 0) -> str:
    return node.outputs[i].dtype


def _axis(axis: int, rank: int) -> int:
    return axis % rank if rank else 0


# --- elementwise --------------------------------------------------------------------------------------------
_UNARY = {"ember.ops.activation:Relu": "Relu", "ember.ops.activation:Tanh": "Tanh",
          "ember.ops.activation:Sigmoid": "Sigmoid", "ember.ops.unary:Exp": "Exp", "ember.ops.unary:Log": "Log",
          "ember.ops.unary:Sqrt": "Sqrt", "ember.ops.unary:Sin": "Sin", "ember.ops.unary:Cos": "Cos",
          "ember.ops.unary:Tan": "Tan", "ember.ops.unary:Erf": "Erf", "ember.ops.unary:Asin": "Asin",
          "ember.ops.unary:Acos": "Acos", "ember.ops.unary:Atan": "Atan", "ember.ops.unary:Sinh": "Sinh",
          "ember.ops.unary:Cosh": "Cosh", "ember.ops.unary:Asinh": "Asinh", "ember.ops.unary:Acosh": "Acosh",
          "ember.ops.unary:Atanh": "Atanh", "ember.ops.arithmetic:Neg": "Neg", "ember.ops.arithmetic:Abs": "Abs",
          "ember.ops.arithmetic:Reciprocal": "Reciprocal"}


@translates(*_UNARY)
def _unary(b: Builder, node, args, used):
    if b.is_complex(args[0]):
        raise UnsupportedOperatorError("complex operands are not supported")
    return [b.add(_UNARY[node.target], [b.operand(args[0], _out_dtype(node))])]


@translates("ember.ops.unary:Rsqrt")
def _rsqrt(b, node, args, used):
    return [b.add("Reciprocal", [b.add("Sqrt", [b.operand(args[0], _out_dtype(node))])])]


@translates("ember.ops.activation:Silu")
def _silu(b, node, args, used):
    x = b.operand(args[0], _out_dtype(node))
    return [b.add("Mul", [x, b.add("Sigmoid", [x])])]


@translates("ember.ops.activation:LeakyRelu")
def _leaky_relu(b, node, args, used):
    return [b.add("LeakyRelu", [b.operand(args[0], _out_dtype(node))], alpha=float(scalar_of(args[1])))]


@translates("ember.ops.activation:Gelu")
def _gelu(b, node, args, used):
    """``0.5 x (1 + erf(x / sqrt 2))``, or the tanh form; composed, so it needs no opset-20 ``Gelu``."""
    dtype = _out_dtype(node)
    x = b.operand(args[0], dtype)
    def const(value):
        return b.const(value, b.metas_dtype(dtype))

    if args[1] == "tanh":
        cube = b.add("Mul", [b.add("Mul", [x, x]), x])
        inner = b.add("Mul", [b.add("Add", [x, b.add("Mul", [cube, const(0.044715)])]), const(math.sqrt(2 / math.pi))])
        core = b.add("Tanh", [inner])
    elif args[1] == "none":
        core = b.add("Erf", [b.add("Mul", [x, const(1 / math.sqrt(2))])])
    else:
        raise UnsupportedOperatorError(f"approximate={args[1]!r}")
    half_x = b.add("Mul", [x, const(0.5)])
    return [b.add("Mul", [half_x, b.add("Add", [core, const(1.0)])])]


_BINARY = {"ember.ops.arithmetic:Add": "Add", "ember.ops.arithmetic:Sub": "Sub", "ember.ops.arithmetic:Mul": "Mul",
           "ember.ops.arithmetic:Div": "Div", "ember.ops.arithmetic:Pow": "Pow"}


@translates(*_BINARY)
def _binary(b, node, args, used):
    if b.is_complex(args[0]) or b.is_complex(args[1]):
        raise UnsupportedOperatorError("complex operands are not supported")
    dtype = _out_dtype(node)
    return [b.add(_BINARY[node.target], [b.operand(args[0], dtype), b.operand(args[1], dtype)])]


@translates("ember.ops.arithmetic:Clamp")
def _clamp(b, node, args, used):
    dtype = _out_dtype(node)
    out = b.operand(args[0], dtype)
    if args[1] is not None:
        out = b.add("Max", [out, b.operand(args[1], dtype)])
    if args[2] is not None:
        out = b.add("Min", [out, b.operand(args[2], dtype)])
    return [out if out != b.value(args[0]) else b.add("Identity", [out])]


@translates("ember.ops.arithmetic:Extremum")
def _extremum(b, node, args, used):
    if args[2] not in ("maximum", "minimum"):  # fmax / fmin: NaN loses, which ONNX's Max / Min do not promise
        raise UnsupportedOperatorError(f"{args[2]} (NaN-ignoring)")
    dtype = _out_dtype(node)
    op = "Max" if args[2] == "maximum" else "Min"
    return [b.add(op, [b.operand(args[0], dtype), b.operand(args[1], dtype)])]


@translates("ember.ops.arithmetic:Where")
def _where(b, node, args, used):
    dtype = _out_dtype(node)
    return [b.add("Where", [b.operand(args[0], "bool"), b.operand(args[1], dtype), b.operand(args[2], dtype)])]


@translates("ember.ops.cast:Cast")
def _cast(b, node, args, used):
    if b.is_complex(args[0]) or _out_dtype(node).startswith("complex"):
        raise UnsupportedOperatorError("casts to or from complex dtypes are not supported")
    return [b.cast(b.value(args[0]), _out_dtype(node))]


# --- reductions ---------------------------------------------------------------------------------------------
def _axes(arg):
    if arg is None:
        return None
    return [int(a) for a in unwrap(arg)]


def _reduce(b, op_type, x, axes, keepdim):
    if axes is not None and not axes:  # no axis: nothing is reduced
        return b.add("Identity", [x])
    return b.axes_input(op_type, [x], axes, keepdims=int(bool(keepdim)))


@translates("ember.ops.reduce:Sum")
def _sum(b, node, args, used):
    return [_reduce(b, "ReduceSum", b.operand(args[0], _out_dtype(node)), _axes(args[1]), args[2])]


@translates("ember.ops.reduce:Mean")
def _mean(b, node, args, used):
    return [_reduce(b, "ReduceMean", b.operand(args[0], _out_dtype(node)), _axes(args[1]), args[2])]


@translates("ember.ops.reduce:MaxMin")
def _max_min(b, node, args, used):
    op = "ReduceMax" if args[3] else "ReduceMin"
    return [_reduce(b, op, b.operand(args[0], _out_dtype(node)), _axes(args[1]), args[2])]


@translates("ember.ops.softmax:Softmax", "ember.ops.softmax:LogSoftmax")
def _softmax(b, node, args, used):
    op = "Softmax" if node.op == "Softmax" else "LogSoftmax"
    return [b.add(op, [b.operand(args[0], _out_dtype(node))], axis=int(args[1]))]


# --- shapes -------------------------------------------------------------------------------------------------
def _complex_out(b, node, names):
    """Marks the outputs of a shape op on a complex value as complex (they keep the trailing pair axis)."""
    for name in names:
        if name is not None:
            b.complex.add(name)
    return names


@translates("ember.ops.shape:Reshape")
def _reshape(b, node, args, used):
    pair = b.is_complex(args[0])
    items = list(unwrap(args[1]))
    symbolic = [i for i, s in enumerate(items) if isinstance(s, dict)]
    if len(symbolic) == 1 and -1 not in items:  # one dynamic size: let ONNX infer it (a constant shape)
        items[symbolic[0]] = -1
    out = b.add("Reshape", [b.value(args[0]), b.shape(items, [2] if pair else [])])
    return _complex_out(b, node, [out]) if pair else [out]


@translates("ember.ops.shape:Permute")
def _permute(b, node, args, used):
    pair = b.is_complex(args[0])
    rank = b.rank(args[0])
    perm = [_axis(int(d), rank) for d in unwrap(args[1])] + ([rank] if pair else [])
    out = b.add("Transpose", [b.value(args[0])], perm=perm)
    return _complex_out(b, node, [out]) if pair else [out]


@translates("ember.ops.shape:Expand")
def _expand(b, node, args, used):
    pair = b.is_complex(args[0])
    out = b.add("Expand", [b.value(args[0]), b.shape(args[1], [2] if pair else [])])
    return _complex_out(b, node, [out]) if pair else [out]


@translates("ember.ops.shape:Flip")
def _flip(b, node, args, used):
    rank = b.rank(args[0])
    dims = [_axis(int(d), rank) for d in unwrap(args[1])]
    n = len(dims)
    out = b.add("Slice", [b.value(args[0]), b.ints([-1] * n), b.ints([INT64_MIN] * n), b.ints(dims),
                          b.ints([-1] * n)])
    return _complex_out(b, node, [out]) if b.is_complex(args[0]) else [out]


def _index_items(index, rank: int) -> list:
    """A basic index as a list of items (ints, ``{"slice": ...}``, None), its Ellipsis expanded."""
    items = list(index["tuple"]) if isinstance(index, dict) and "tuple" in index else [index]
    for item in items:
        if isinstance(item, dict) and next(iter(item)) not in ("slice", "ellipsis", "sym", "scalar"):
            raise UnsupportedOperatorError(f"indexing with {item!r}")
    ellipsis = {"ellipsis": None}
    missing = rank - sum(1 for i in items if i is not None and i != ellipsis)
    full = [{"slice": [None, None, None]}] * missing
    if ellipsis in items:
        at = items.index(ellipsis)
        return items[:at] + full + items[at + 1:]
    return items + full


@translates("ember.ops.shape:Slice")
def _slice(b, node, args, used):
    """Basic indexing: one ``Slice`` for the slices and ints, then ``Squeeze`` (ints) and ``Unsqueeze`` (None)."""
    rank = b.rank(args[0])
    items = _index_items(args[1], rank)
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    axis = out_axis = 0
    for item in items:
        if item is None:
            unsqueeze.append(out_axis)
            out_axis += 1
            continue
        if isinstance(item, dict) and "slice" in item:
            start, stop, step = item["slice"]
            step = 1 if step is None else step
            if start is not None or stop is not None or step != 1:
                negative = not isinstance(step, dict) and step < 0
                starts.append(start if start is not None else (-1 if negative else 0))
                ends.append(stop if stop is not None else (INT64_MIN if negative else INT64_MAX))
                axes.append(axis)
                steps.append(step)
            out_axis += 1
        else:  # an int: one element, its axis dropped
            i = item if isinstance(item, dict) and "sym" in item else int(scalar_of(item))
            starts.append(i)
            ends.append(INT64_MAX if i == -1 else (i + 1 if not isinstance(i, dict) else {"sym": f"{i['sym']} + 1"}))
            axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
        axis += 1
    out = b.value(args[0])
    if axes:
        out = b.add("Slice", [out, b.shape(starts), b.shape(ends), b.ints(axes), b.shape(steps)])
    if squeeze:
        out = b.add("Squeeze", [out, b.ints(squeeze)])
    if unsqueeze:
        out = b.add("Unsqueeze", [out, b.ints(unsqueeze)])
    if out == b.value(args[0]):
        out = b.add("Identity", [out])
    return _complex_out(b, node, [out]) if b.is_complex(args[0]) else [out]


@translates("ember.ops.joining:Cat")
def _cat(b, node, args, used):
    dtype = _out_dtype(node)
    rank = len(node.outputs[0].shape)
    return [b.add("Concat", [b.operand(t, dtype) for t in args[1:]], axis=_axis(int(args[0]), rank))]


@translates("ember.ops.joining:Stack")
def _stack(b, node, args, used):
    dtype = _out_dtype(node)
    axis = b.ints([_axis(int(args[0]), len(node.outputs[0].shape))])
    parts = [b.add("Unsqueeze", [b.operand(t, dtype), axis]) for t in args[1:]]
    return [b.add("Concat", parts, axis=_axis(int(args[0]), len(node.outputs[0].shape)))]


@translates("ember.creation:full")
def _full(b, node, args, used):
    dtype = _out_dtype(node)
    fill = np.asarray(scalar_of(node.args[1]), b.metas_dtype(dtype)).reshape(1)
    from onnx import numpy_helper

    return [b.add("ConstantOfShape", [b.shape(args[0])], value=numpy_helper.from_array(fill))]


# --- linear algebra, layers ---------------------------------------------------------------------------------
@translates("ember.ops.linalg:MatMul")
def _matmul(b, node, args, used):
    dtype = _out_dtype(node)
    return [b.add("MatMul", [b.operand(args[0], dtype), b.operand(args[1], dtype)])]


@translates("ember.ops.linalg:Linear")
def _linear(b, node, args, used):
    """``nn.Linear``: one ``Gemm`` (transB) for a 2-D input with a bias, as torch exports ``addmm``; else
    ``MatMul`` with the transposed weight, then ``Add`` for the bias."""
    x, weight, bias = args
    if b.is_complex(x) or b.is_complex(weight):
        raise UnsupportedOperatorError("complex operands are not supported")
    dtype = _out_dtype(node)
    if b.rank(x) == 2 and bias is not None:
        return [b.add("Gemm", [b.operand(x, dtype), b.operand(weight, dtype), b.operand(bias, dtype)], transB=1)]
    out = b.add("MatMul", [b.operand(x, dtype), b.add("Transpose", [b.operand(weight, dtype)], perm=[1, 0])])
    return [out if bias is None else b.add("Add", [out, b.operand(bias, dtype)])]


@translates("ember.nn.functional.conv:ConvNd")
def _conv(b, node, args, used):
    x, w, bias, stride, padding, dilation, groups = args
    n = b.rank(x) - 2
    stride, padding, dilation = ([int(v) for v in unwrap(a)][-n:] for a in (stride, padding, dilation))
    inputs = [b.value(x), b.value(w)] + ([b.value(bias)] if bias is not None else [])
    return [b.add("Conv", inputs, strides=stride, pads=padding + padding, dilations=dilation, group=int(groups),
                  kernel_shape=[int(k) for k in b.meta_of(w).shape[2:]])]


@translates("ember.nn.functional.pooling:MaxPool")
def _max_pool(b, node, args, used):
    if used[1]:
        raise UnsupportedOperatorError("max pooling's indices (return_indices=True): ONNX numbers them over the "
                                       "whole tensor, not per plane")
    x, kernel, stride, padding, dilation, out_size = args
    kernel, stride, padding, dilation, out_size = ([int(v) for v in unwrap(a)]
                                                   for a in (kernel, stride, padding, dilation, out_size))
    size = b.meta_of(x).shape[2:]
    floor = [(s + 2 * p - d * (k - 1) - 1) // st + 1 if isinstance(s, int) else o
             for s, p, d, k, st, o in zip(size, padding, dilation, kernel, stride, out_size)]
    ceil_mode = int(floor != out_size)
    return [b.add("MaxPool", [b.value(x)], kernel_shape=kernel, strides=stride, pads=padding + padding,
                  dilations=dilation, ceil_mode=ceil_mode), None]


@translates("ember.nn.functional.pooling:AdaptivePool")
def _adaptive_pool(b, node, args, used):
    """Global pooling for output size 1; else window by window on each axis (a window of an adaptive pool is
    a box, so pooling the axes one after another gives the same result)."""
    if used[1]:
        raise UnsupportedOperatorError("adaptive max pooling's indices (return_indices=True)")
    x, out_size, use_max = args[0], [int(v) for v in unwrap(args[1])], args[2]
    size = b.meta_of(x).shape[2:]
    if all(o == 1 for o in out_size):
        return [b.add("GlobalMaxPool" if use_max else "GlobalAveragePool", [b.value(x)]), None]
    if any(not isinstance(s, int) for s in size):
        raise UnsupportedOperatorError("adaptive pooling over dynamic spatial sizes (export them as static)")
    out = b.value(x)
    for axis, (length, cells) in enumerate(zip(size, out_size), start=2):
        if length % cells == 0:  # equal windows: one pooling op along this axis
            continue
        pieces = []
        for i in range(cells):
            start, end = (i * length) // cells, -((-(i + 1) * length) // cells)
            window = b.add("Slice", [out, b.ints([start]), b.ints([end]), b.ints([axis])])
            pieces.append(_reduce(b, "ReduceMax" if use_max else "ReduceMean", window, [axis], True))
        out = b.add("Concat", pieces, axis=axis)
        size = [cells if a == axis else s for a, s in enumerate(size, start=2)]
    kernel = [s // o for s, o in zip(size, out_size)]
    if any(k != 1 for k in kernel):
        out = b.add("MaxPool" if use_max else "AveragePool", [out], kernel_shape=kernel, strides=kernel)
    elif out == b.value(x):
        out = b.add("Identity", [out])
    return [out, None]


@translates("ember.nn.functional.norm:BatchNorm")
def _batch_norm(b, node, args, used):
    """Inference batch norm (``training=False``): ``BatchNormalization`` with the variance recovered from the
    captured ``1 / sqrt(var + eps)`` (epsilon 0)."""
    x, weight, bias, mean, invstd, training = args
    if training:
        raise UnsupportedOperatorError("batch norm in training mode (export the model in eval mode)")
    dtype = _out_dtype(node)
    real = b.metas_dtype(dtype)
    channels = b.meta_of(x).shape[1]
    mean_arr, invstd_arr = b.known(mean), b.known(invstd)
    if mean_arr is not None and invstd_arr is not None:  # the running statistics, folded at export time
        mean = b.const(mean_arr.astype(real))
        var = b.const((1.0 / np.square(invstd_arr.astype(np.float64))).astype(real))
    else:  # statistics computed in the graph (weights exported as inputs)
        mean, inv = b.operand(mean, dtype), b.value(invstd)
        var = b.cast(b.add("Reciprocal", [b.add("Mul", [inv, inv])]), dtype)
    scale = b.operand(weight, dtype) if weight is not None else b.const(np.ones(channels, real))
    shift = b.operand(bias, dtype) if bias is not None else b.const(np.zeros(channels, real))
    return [b.add("BatchNormalization", [b.operand(x, dtype), scale, shift, mean, var], epsilon=0.0)]


@translates("ember.nn.functional.norm:LayerNorm")
def _layer_norm(b, node, args, used):
    x, weight, bias, eps = args
    dtype = _out_dtype(node)
    width = b.meta_of(x).shape[-1]
    scale = b.operand(weight, dtype) if weight is not None else b.const(np.ones(width, b.metas_dtype(dtype)))
    inputs = [b.operand(x, dtype), scale] + ([b.operand(bias, dtype)] if bias is not None else [])
    return [b.add("LayerNormalization", inputs, axis=-1, epsilon=float(scalar_of(eps)))]


@translates("ember.nn.functional.norm:GroupNorm")
def _group_norm(b, node, args, used):
    """Each (sample, group) row standardised by ``LayerNormalization``, then the per-channel affine map."""
    x, weight, bias, num_groups, eps = args
    dtype = _out_dtype(node)
    meta = b.meta_of(x)
    channels, rank = meta.shape[1], len(meta.shape)
    rows = b.add("Reshape", [b.operand(x, dtype), b.ints([0, int(scalar_of(num_groups)), -1])])
    width = b.const(np.ones(1, b.metas_dtype(dtype)))  # (broadcast along each row)
    out = b.add("LayerNormalization", [rows, width], axis=-1, epsilon=float(scalar_of(eps)))
    out = b.add("Reshape", [out, b.add("Shape", [b.value(x)])])
    per_channel = b.ints([channels] + [1] * (rank - 2))
    if weight is not None:
        out = b.add("Mul", [out, b.add("Reshape", [b.operand(weight, dtype), per_channel])])
    if bias is not None:
        out = b.add("Add", [out, b.add("Reshape", [b.operand(bias, dtype), per_channel])])
    return [out]


@translates("ember.nn.functional.embedding:Embedding")
def _embedding(b, node, args, used):
    return [b.add("Gather", [b.value(args[0]), b.value(args[1])], axis=0)]


@translates("ember.nn.functional.attention:Attention")
def _attention(b, node, args, used):
    """``softmax(q k^T * scale + bias, blocked -> -inf) v``; a row blocked everywhere gets zero weights."""
    q, k, v, bias, blocked, scale, keep = args
    if keep is not None:
        raise UnsupportedOperatorError("attention dropout (export the model in eval mode)")
    dtype = _out_dtype(node)
    real = b.metas_dtype(dtype)
    rank = b.rank(k)
    perm = list(range(rank - 2)) + [rank - 1, rank - 2]
    scores = b.add("MatMul", [b.operand(q, dtype), b.add("Transpose", [b.operand(k, dtype)], perm=perm)])
    scores = b.add("Mul", [scores, b.const(scalar_of(scale), real)])
    if bias is not None:
        scores = b.add("Add", [scores, b.operand(bias, dtype)])
    if blocked is not None:
        scores = b.add("Where", [b.operand(blocked, "bool"), b.const(-np.inf, real), scores])
    weights = b.add("Softmax", [scores], axis=-1)
    if bias is not None or blocked is not None:  # softmax of a row of -inf is NaN in ONNX; Ember gives zeros
        weights = b.add("Where", [b.add("IsNaN", [weights]), b.const(0.0, real), weights])
    return [b.add("MatMul", [weights, b.operand(v, dtype)])]


# --- recurrent layers ---------------------------------------------------------------------------------------
def _gates(b, name: str, order: list[int], count: int) -> str:
    """A gate-stacked weight / bias with its gate blocks reordered (Ember's order to ONNX's), batched by 1."""
    parts = b.add("Split", [name, None], outputs=count, axis=0, num_outputs=count) if b.opset >= 18 else \
        b.add("Split", [name], outputs=count, axis=0)
    return b.add("Unsqueeze", [b.add("Concat", [parts[i] for i in order], axis=0), b.ints([0])])


def _recurrent(b, op_type, node, x, states, w_ih, w_hh, b_ih, b_hh, reverse, order, gates):
    dtype = _out_dtype(node)
    real = b.metas_dtype(dtype)
    hidden = b.meta_of(w_hh).shape[1]
    biases = []
    for bias in (b_ih, b_hh):
        biases.append(_gates(b, b.operand(bias, dtype), order, gates) if bias is not None
                      else b.const(np.zeros((1, gates * hidden), real)))
    inputs = [b.operand(x, dtype), _gates(b, b.operand(w_ih, dtype), order, gates),
              _gates(b, b.operand(w_hh, dtype), order, gates), b.add("Concat", biases, axis=1), None]
    inputs += [b.add("Unsqueeze", [b.operand(s, dtype), b.ints([0])]) for s in states]
    extra = {"linear_before_reset": 1} if op_type == "GRU" else {}
    outs = b.add(op_type, inputs, outputs=1 + len(states), hidden_size=int(hidden),
                 direction="reverse" if reverse else "forward", **extra)
    y = b.add("Squeeze", [outs[0], b.ints([1])])
    return [y] + [b.add("Squeeze", [o, b.ints([0])]) for o in outs[1:]]


@translates("ember.nn.modules._rnn_fused:LSTMLayer")
def _lstm(b, node, args, used):
    x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, reverse = args
    if w_hr is not None:
        raise UnsupportedOperatorError("LSTM with proj_size (ONNX's LSTM has no projection)")
    # Ember (PyTorch) stacks the gates i, f, g, o; ONNX i, o, f, c
    return _recurrent(b, "LSTM", node, x, [h0, c0], w_ih, w_hh, b_ih, b_hh, reverse, [0, 3, 1, 2], 4)


@translates("ember.nn.modules._rnn_fused:GRULayer")
def _gru(b, node, args, used):
    x, h0, w_ih, w_hh, b_ih, b_hh, reverse = args
    # Ember (PyTorch) stacks the gates r, z, n; ONNX z, r, h (with the reset applied after the hidden matmul)
    return _recurrent(b, "GRU", node, x, [h0], w_ih, w_hh, b_ih, b_hh, reverse, [1, 0, 2], 3)


# --- the spectrogram front end ------------------------------------------------------------------------------
@translates("ember._spectral:_WindowedFrames")
def _windowed_frames(b, node, args, used):
    """Frames of the last axis (a ``Gather`` of a constant index array) times the window."""
    x, window, hop = args
    length = b.meta_of(x).shape[-1]
    n_fft = b.meta_of(window).shape[0]
    if not isinstance(length, int):
        raise UnsupportedOperatorError("framing a signal of dynamic length (export the length as static)")
    if b.is_complex(x) or b.is_complex(window):
        raise UnsupportedOperatorError("framing complex signals")
    frames = 1 + (length - n_fft) // int(hop)
    index = np.arange(frames)[:, None] * int(hop) + np.arange(n_fft)[None, :]
    dtype = _out_dtype(node)
    gathered = b.add("Gather", [b.operand(x, dtype), b.const(index, np.int64)], axis=-1)
    return [b.add("Mul", [gathered, b.operand(window, dtype)])]


@translates("ember._spectral:_RealDFT")
def _real_dft(b, node, args, used):
    """The one-sided DFT as one ``MatMul`` with the cosine / sine basis; the result holds (real, imaginary)
    pairs on a trailing axis, the layout of a complex value here."""
    frames, norm = args
    n = b.meta_of(frames).shape[-1]
    bins = n // 2 + 1
    angle = 2 * np.pi * np.outer(np.arange(n), np.arange(bins)) / n
    scale = {"backward": 1.0, "ortho": n ** -0.5, "forward": 1.0 / n}[norm]
    basis = np.stack([np.cos(angle), -np.sin(angle)], axis=-1).reshape(n, 2 * bins) * scale
    real = b.metas_dtype(b.meta_of(frames).dtype)
    product = b.add("MatMul", [b.value(frames), b.const(basis.astype(real))])
    keep = [0] * (b.rank(frames) - 1)
    out = b.add("Reshape", [product, b.ints(keep + [bins, 2])])
    return _complex_out(b, node, [out])


@translates("ember.ops.complex_ops:ViewAsReal")
def _view_as_real(b, node, args, used):
    return [b.add("Identity", [b.value(args[0])])]  # a complex value is already held as (real, imag) pairs


@translates("ember.audio.functional._ops:AbsSquared")
def _abs_squared(b, node, args, used):
    return [b.axes_input("ReduceSumSquare", [b.value(args[0])], [b.rank(args[0]) - 1], keepdims=0)]


# --- numpy functions the capture records on traced arrays (``numpy:name`` nodes) ------------------------------
_NUMPY_UNARY = {"sqrt": "Sqrt", "negative": "Neg", "exp": "Exp", "log": "Log", "reciprocal": "Reciprocal",
                "absolute": "Abs", "tanh": "Tanh", "logical_not": "Not", "isnan": "IsNaN"}
_NUMPY_BINARY = {"add": "Add", "subtract": "Sub", "multiply": "Mul", "divide": "Div", "true_divide": "Div",
                 "power": "Pow", "maximum": "Max", "minimum": "Min", "equal": "Equal", "greater": "Greater",
                 "greater_equal": "GreaterOrEqual", "less": "Less", "less_equal": "LessOrEqual",
                 "logical_and": "And", "logical_or": "Or", "logical_xor": "Xor"}


def _operand_dtype(b, args, node) -> str:
    """The dtype the operands of a numpy function are computed in: the output's, or for a comparison the
    first tensor operand's."""
    out = _out_dtype(node)
    if out != "bool":
        return out
    tensors = [b.meta_of(a).dtype for a in args if b.is_value(a)]
    return tensors[0] if tensors else out


@translates(*(f"numpy:{name}" for name in _NUMPY_UNARY))
def _numpy_unary(b, node, args, used):
    return [b.add(_NUMPY_UNARY[node.op], [b.operand(args[0], _operand_dtype(b, args[:1], node))])]


@translates(*(f"numpy:{name}" for name in _NUMPY_BINARY))
def _numpy_binary(b, node, args, used):
    dtype = _operand_dtype(b, args[:2], node)
    return [b.add(_NUMPY_BINARY[node.op], [b.operand(args[0], dtype), b.operand(args[1], dtype)])]


@translates("numpy:not_equal")
def _numpy_not_equal(b, node, args, used):
    dtype = _operand_dtype(b, args[:2], node)
    return [b.add("Not", [b.add("Equal", [b.operand(args[0], dtype), b.operand(args[1], dtype)])])]


@translates("numpy:astype")
def _numpy_astype(b, node, args, used):
    return [b.cast(b.value(args[0]), _out_dtype(node))]
