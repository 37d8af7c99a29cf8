"""One layer, one direction of an RNN / LSTM / GRU over a whole sequence, as a single ``Function``.

Running the recurrence as thousands of tiny autograd ops would cost more in Python than in
arithmetic, so each layer is one op: the input projections of all time steps are one
matmul, the loop over time runs on numpy arrays, and ``backward`` is hand-written
backpropagation through time (one matmul per step plus one matmul per weight at the end).
The backward is a raw computation, so these ops are once-differentiable.

Shapes: ``x`` is ``(L, N, I)``; ``h0`` is ``(N, P)`` (``P`` = proj_size or hidden_size);
``c0`` is ``(N, H)``. ``reverse=True`` runs the sequence from the last step to the first.

The cells (``LSTMCell``, ``GRUCell``) are called by a Python loop once per step; each call is one op here
too (``LSTMCellStep``, ``GRUCellStep``), instead of a dozen small ones.
"""

from __future__ import annotations

import numpy as np

from ...autograd.engine import restated_grads
from ...autograd.function import _FREED_MESSAGE, Function, _inplace_message, once_differentiable
from ...autograd.grad_mode import state
from ...ops.joining import stack as _stack
from ...tensor import Tensor
from .. import functional as F


def _steps(length: int, reverse: bool) -> range:
    return range(length - 1, -1, -1) if reverse else range(length)


def _previous_states(h0: np.ndarray, hs: np.ndarray, reverse: bool, out: np.ndarray | None = None
                     ) -> np.ndarray:
    """The state entering each step, ``(L, N, P)``: ``h0`` then the outputs, in processing order
    (written into ``out`` when given)."""
    if out is None:
        out = np.empty(hs.shape, np.result_type(h0, hs))
    if reverse:  # the state entering step t is the output of step t + 1
        out[-1], out[:-1] = h0, hs[1:]
    else:
        out[0], out[1:] = h0, hs[:-1]
    return out


def _input_projection(x: np.ndarray, w_ih: np.ndarray, *biases) -> np.ndarray:
    length, batch, _ = x.shape
    gx = (x.reshape(length * batch, -1) @ w_ih.T).reshape(length, batch, -1)
    present = [b for b in biases if b is not None]
    if present:
        gx += present[0] if len(present) == 1 else present[0] + present[1]  # one pass over gx
    return gx


def _data(t):
    return None if t is None else t._data


def _wrap(a):
    return None if a is None else Tensor._wrap(a)


def _input_grads(ctx, x, w_ih, d_gates_x, biases_from_x, w_ih_index):
    """Gradients that only need the pre-activation gradients of the input projection."""
    length, batch, _ = x.shape
    flat = d_gates_x.reshape(length * batch, -1)
    dx = (flat @ w_ih).reshape(x.shape) if ctx.needs_input_grad[0] else None
    dw_ih = flat.T @ x.reshape(length * batch, -1) if ctx.needs_input_grad[w_ih_index] else None
    db = flat.sum(0) if biases_from_x else None
    return dx, dw_ih, db


class _FusedLayer(Function):
    _internal = True
    arrays = None

    def _release(self) -> None:
        super()._release()
        self.arrays = None
        self.versions = ()


class LSTMLayer(_FusedLayer):
    """``(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, reverse) -> (y, h_n, c_n)``; gates ordered i, f, g, o."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, reverse):
        X, Whh, Whr = x._data, w_hh._data, _data(w_hr)
        if _use_kernels(Whr, X, w_ih._data, Whh, h0._data, c0._data):
            return _lstm_forward_kernels(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse)
        length, batch, _ = X.shape
        hidden = Whh.shape[0] // 4
        gx = _input_projection(X, w_ih._data, _data(b_ih), _data(b_hh))
        dtype = gx.dtype
        # sigmoid(v) = 0.5 tanh(v / 2) + 0.5: one tanh over all four gates, then a scale and shift.
        scale = np.full(4 * hidden, 0.5, dtype)
        scale[2 * hidden : 3 * hidden] = 1.0
        shift = 0.5 * (scale == 0.5).astype(dtype)
        gates = np.empty((length, batch, 4 * hidden), dtype)
        cs = np.empty((length, batch, hidden), dtype)
        tcs = np.empty((length, batch, hidden), dtype)
        hfull = np.empty((length, batch, hidden), dtype) if Whr is not None else None
        ys = np.empty((length, batch, Whh.shape[1]), dtype)
        WhhT = np.ascontiguousarray(Whh.T)
        WhrT = None if Whr is None else np.ascontiguousarray(Whr.T)
        h, c = h0._data, c0._data
        for t in _steps(length, reverse):
            g = gates[t]
            np.matmul(h, WhhT, out=g)
            g += gx[t]
            g *= scale
            np.tanh(g, out=g)
            g *= scale
            g += shift
            i, f, gg, o = (
                g[:, :hidden],
                g[:, hidden : 2 * hidden],
                g[:, 2 * hidden : 3 * hidden],
                g[:, 3 * hidden :],
            )
            c_new = cs[t]
            np.multiply(f, c, out=c_new)
            c_new += i * gg
            tc = tcs[t]
            np.tanh(c_new, out=tc)
            if Whr is None:
                np.multiply(o, tc, out=ys[t])
            else:
                np.multiply(o, tc, out=hfull[t])
                np.matmul(hfull[t], WhrT, out=ys[t])
            h, c = ys[t], c_new
        _save_lstm(ctx, x, h0, c0, w_ih, w_hh, w_hr, b_ih, b_hh, reverse, gates, cs, tcs, hfull, ys)
        last = 0 if reverse else -1
        return ys, ys[last].copy(), cs[last].copy()

    @staticmethod
    def backward(ctx, grad_y, grad_hn, grad_cn):
        _check_versions(ctx)
        if state.grad_enabled:  # create_graph: the layer restated as a loop of the cell's formula
            return restated_grads(lambda *inputs: lstm_layer_composite(*inputs, ctx.reverse), ctx.inputs,
                                  ctx.needs_input_grad[:8], (grad_y, grad_hn, grad_cn)) + (None,)
        if ctx.feature_major:
            return _lstm_backward_kernels(ctx, grad_y, grad_hn, grad_cn)
        c0, Whh, Whr, gates, cs, tcs, ys = (ctx.arrays[i] for i in (2, 4, 5, 6, 7, 8, 10))
        length = gates.shape[0]
        hidden = Whh.shape[0] // 4
        dtype = gates.dtype
        dG = np.empty_like(gates)
        # local derivatives of the activations, for all steps at once
        deriv = gates * (1 - gates)
        deriv[..., 2 * hidden : 3 * hidden] = 1 - gates[..., 2 * hidden : 3 * hidden] ** 2
        dtanh_c = 1 - tcs * tcs
        dY = grad_y._data
        dH = np.empty_like(ys) if Whr is not None else None
        dh = grad_hn._data.astype(dtype, copy=True)
        dc = grad_cn._data.astype(dtype, copy=True)
        order = list(_steps(length, ctx.reverse))
        for k in range(length - 1, -1, -1):
            t = order[k]
            c_prev = cs[order[k - 1]] if k > 0 else c0
            dh_t = dY[t] + dh
            if Whr is not None:
                dH[t] = dh_t
                dh_t = dh_t @ Whr
            g = gates[t]
            i, f, gg, o = (
                g[:, :hidden],
                g[:, hidden : 2 * hidden],
                g[:, 2 * hidden : 3 * hidden],
                g[:, 3 * hidden :],
            )
            dc += dh_t * o * dtanh_c[t]
            d = dG[t]
            np.multiply(dc, gg, out=d[:, :hidden])
            np.multiply(dc, c_prev, out=d[:, hidden : 2 * hidden])
            np.multiply(dc, i, out=d[:, 2 * hidden : 3 * hidden])
            np.multiply(dh_t, tcs[t], out=d[:, 3 * hidden :])
            d *= deriv[t]
            dc *= f
            dh = d @ Whh
        return _lstm_weight_grads(ctx, dG, dh, dc, dH)


class EmbeddedLSTMLayer(_FusedLayer):
    """:class:`LSTMLayer` over the rows of an embedding table, for ``ember.compile`` (``compiler._patterns``
    puts it in place of ``embedding`` -> ``LSTM`` where the table has no more rows than the sequence has
    tokens): ``(table, tokens, padding_idx, scale_grad_by_freq, batch_first, h0, c0, w_ih, w_hh, b_ih, b_hh,
    reverse) -> (y, h_n, c_n)``, ``tokens`` ``(N, L)`` with ``batch_first`` else ``(L, N)``.

    The input part of the gates of token ``v`` is row ``v`` of ``table @ W_ihᵀ``: computed once for the V
    rows instead of once per token, and the backward sums the gate gradients per token before its products
    (:func:`_token_gate_grads`). The arithmetic is the layer's, grouped differently; outputs and gradients
    match ``LSTMLayer(embedding(tokens))`` to float32 rounding. float32 without ``proj_size`` (the step
    kernels' case). Once differentiable (compiled graphs are)."""

    @staticmethod
    def forward(ctx, table, tokens, padding_idx, scale_grad_by_freq, batch_first, h0, c0, w_ih, w_hh, b_ih,
                b_hh, reverse):
        tokens = tokens._data if isinstance(tokens, Tensor) else np.asarray(tokens)
        ctx.embedding_options = (padding_idx, scale_grad_by_freq)
        return _lstm_forward_kernels(ctx, table, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse,
                                     tokens.T if batch_first else tokens)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y, grad_hn, grad_cn):
        _check_versions(ctx)
        d_table, dh, dc, dw_ih, dw_hh, db_ih, db_hh, _, _ = _lstm_backward_kernels(ctx, grad_y, grad_hn, grad_cn)
        return d_table, None, None, None, None, dh, dc, dw_ih, dw_hh, db_ih, db_hh, None


def _use_kernels(Whr, *arrays) -> bool:
    """The numba step kernels cover float32 LSTMs without projection; the rest runs on numpy."""
    return Whr is None and all(a.dtype == np.float32 for a in arrays)


def _save_lstm(ctx, x, h0, c0, w_ih, w_hh, w_hr, b_ih, b_hh, reverse, gates, cs, tcs, hfull, ys,
               feature_major=False, tokens=None):
    ctx.arrays = (x._data, h0._data, c0._data, w_ih._data, w_hh._data, _data(w_hr), gates, cs, tcs, hfull, ys)
    ctx.reverse, ctx.feature_major, ctx.tokens = reverse, feature_major, tokens
    ctx.has_bias = (b_ih is not None, b_hh is not None)
    ctx.versions = [(t, t._vc[0]) for t in (x, h0, c0, w_ih, w_hh, w_hr) if t is not None]
    ctx.inputs = (x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)  # (for a recorded backward: ``lstm_layer_composite``)


# Above this many bytes of ``[W_hh | W_ih]`` (the 2 MB L2 of a core here) the per-step product streams its
# weights from L3 or memory, at half BLAS's speed with N = batch columns, so the input part moves out of the
# loop into one large product (timings: benchmarks/README.md, 2026-12-07).
_FUSED_WEIGHT_BYTES = 1 << 21


def _lstm_forward_kernels(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, tokens=None):
    """The float32 forward with the numba step kernels, feature-major (see ``ember.kernels.rnn``): the
    gates, cells and states of step ``t`` are ``(features, N)`` blocks. With weights that fit a core's L2
    each step is one product ``[W_hh | W_ih] @ [h; x_t]``: 20% more work per step than ``W_hh @ h``, but no
    projection of the whole sequence computed first and read back from memory step by step (a little
    faster, and less memory). With larger weights (the word-language-model's 2 x 650) the input part is
    one product ``W_ih @ [x_0 ... x_L]`` before the loop, and each step multiplies by ``W_hh`` alone
    (timings: benchmarks/README.md). The output is transposed once at the end, into the input's layout
    (batch-major input gives a batch-major output, so that ``batch_first`` costs no further copy).

    With ``tokens`` (``(L, N)`` indices, :class:`EmbeddedLSTMLayer`), ``x`` is an embedding table ``(V, I)``
    and step ``t``'s input is its rows ``tokens[t]``: the input part is the columns ``tokens[t]`` of
    ``W_ih @ xᵀ``, one product of V columns before the loop."""
    from ...kernels import rnn as kernels  # numba loads on first use, not at `import ember`

    X, Whh, Wih = x._data, w_hh._data, w_ih._data
    if tokens is None:
        (length, batch, inputs), major = X.shape, X.strides
    else:
        (length, batch), inputs, major = tokens.shape, X.shape[1], tokens.strides
    hidden = Whh.shape[1]
    f32 = np.float32
    bias = np.zeros(4 * hidden, f32)
    for b in (b_ih, b_hh):
        if b is not None:
            bias += b._data
    gates = np.empty((length, 4 * hidden, batch), f32)
    cs, tcs = (np.empty((length, hidden, batch), f32) for _ in range(2))
    order = list(_steps(length, reverse))
    fused = tokens is None and (Whh.size + Wih.size) * 4 <= _FUSED_WEIGHT_BYTES
    # operands[k] = [h; x_t] (fused) or h of the k-th step taken (t = order[k]); the step writes its h
    # into k + 1
    operands = np.empty((length + 1, hidden + (inputs if fused else 0), batch), f32)
    weights = np.concatenate([Whh, Wih], axis=1) if fused else Whh  # (4H, H + I) or (4H, H)
    in_order = X[::-1] if reverse else X  # (the steps' inputs, a view; unused with tokens)
    if fused:
        kernels.swap_last_axes(in_order, operands[:length, hidden:])
    elif tokens is None:
        xs = np.empty((inputs, length, batch), f32)  # x_t as columns, in processing order
        kernels.swap_last_axes(in_order, xs.transpose(1, 0, 2))
        projected = (Wih @ xs.reshape(inputs, length * batch)).reshape(4 * hidden, length, batch)
    else:
        table = Wih @ X.T  # (4H, V): column v is token v's input part
    operands[0, :hidden] = h0._data.T
    pre = np.empty((4 * hidden, batch), f32)
    c = np.ascontiguousarray(c0._data.T)
    for k, t in enumerate(order):
        np.matmul(weights, operands[k], out=pre)
        if tokens is not None:
            kernels.add_token_columns(pre, table, tokens[t])
        elif not fused:
            pre += projected[:, k]
        kernels.lstm_step_forward(pre, bias, c, gates[t], cs[t], tcs[t], operands[k + 1, :hidden])
        c = cs[t]
    if major[1] > major[0]:  # batch-major input
        ys = np.empty((batch, length, hidden), f32).transpose(1, 0, 2)
    else:
        ys = np.empty((length, batch, hidden), f32)
    kernels.swap_last_axes(operands[1:, :hidden], ys[::-1] if reverse else ys)
    _save_lstm(ctx, x, h0, c0, w_ih, w_hh, None, b_ih, b_hh, reverse, gates, cs, tcs, None, ys, True, tokens)
    return ys, ys[order[-1]].copy(), np.ascontiguousarray(c.T)


def _lstm_backward_kernels(ctx, grad_y, grad_hn, grad_cn):
    """Backpropagation through time for ``_lstm_forward_kernels``, feature-major like it. (Taking
    ``dx`` from each step's product ``[W_hh | W_ih]ᵀ dG`` too, as the forward does, was no faster.)"""
    from ...kernels import rnn as kernels  # numba loads on first use, not at `import ember`

    c0, Whh, gates, cs, tcs = (ctx.arrays[i] for i in (2, 4, 6, 7, 8))
    length, hidden, batch = cs.shape
    f32 = np.float32
    dY = np.empty((length, hidden, batch), f32)
    kernels.swap_last_axes(grad_y._data.astype(f32, copy=False), dY)
    dh, spare = np.array(grad_hn._data.T, dtype=f32, order="C"), np.empty((hidden, batch), f32)
    dc = np.array(grad_cn._data.T, dtype=f32, order="C")  # updated in place
    c0 = np.ascontiguousarray(c0.T)
    dG = np.empty((length, 4 * hidden, batch), f32)
    order = list(_steps(length, ctx.reverse))
    WhhT = np.ascontiguousarray(Whh.T)  # a row-major (H, 4H) copy: each step's product ~5-20% faster
    for k in range(length - 1, -1, -1):
        t = order[k]
        c_prev = cs[order[k - 1]] if k > 0 else c0
        kernels.lstm_step_backward(dY[t], dh, gates[t], c_prev, tcs[t], dc, dG[t])
        dh, spare = np.matmul(WhhT, dG[t], out=spare), dh
    batch_major = np.empty((length, batch, 4 * hidden), f32)
    kernels.swap_last_axes(dG, batch_major)
    return _lstm_weight_grads(ctx, batch_major, np.ascontiguousarray(dh.T), np.ascontiguousarray(dc.T), None)


def _lstm_weight_grads(ctx, dG, dh, dc, dH):
    """The gradients that need every step's gate gradients (``dG``, batch-major); with ``ctx.tokens``
    (:class:`EmbeddedLSTMLayer`) the first is the embedding table's instead of ``dx``."""
    X, h0, Wih, Whr, hfull, ys = (ctx.arrays[i] for i in (0, 1, 3, 5, 9, 10))
    length, batch, _ = dG.shape
    if ctx.tokens is None:
        dx, dw_ih, dw_hh, db = _gate_grads(ctx, X, Wih, h0, ys, dG, 3)
    else:
        dx, dw_ih, dw_hh, db = _token_gate_grads(ctx, X, Wih, h0, ys, dG)
    dw_hr = None
    if Whr is not None:
        dw_hr = dH.reshape(length * batch, -1).T @ hfull.reshape(length * batch, -1)
    has_ih, has_hh = ctx.has_bias
    return (
        _wrap(dx),
        Tensor._wrap(dh),
        Tensor._wrap(dc),
        _wrap(dw_ih),
        Tensor._wrap(dw_hh),
        _wrap(db) if has_ih else None,
        _wrap(db.copy()) if has_hh else None,
        _wrap(dw_hr),
        None,
    )


def _gate_grads(ctx, X, Wih, h0, ys, dG, w_ih_index):
    """``dx``, ``dW_ih``, ``dW_hh`` and the bias gradient of a layer whose gates are
    ``W_ih x_t + W_hh h_{t-1} + b`` (LSTM, RNN), from the gate gradients ``dG`` (L, N, G): ``dx`` is
    one product, the other three come from one product ``dGᵀ [x | h_prev | 1]`` (one large BLAS
    call instead of three, and no separate pass for the bias)."""
    length, batch, inputs = X.shape
    flat = dG.reshape(length * batch, -1)
    dx = (flat @ Wih).reshape(X.shape) if ctx.needs_input_grad[0] else None
    r = _weight_products(ctx, h0, ys, flat, X)
    dw_ih = np.ascontiguousarray(r[:, :inputs]) if ctx.needs_input_grad[w_ih_index] else None
    return dx, dw_ih, np.ascontiguousarray(r[:, inputs:-1]), r[:, -1].copy()


def _weight_products(ctx, h0, ys, flat, X=None):
    """``dGᵀ [x | h_prev | 1]`` (``flat``: the gate gradients, (L N, G)), or ``dGᵀ [h_prev | 1]`` without ``X``:
    the weight and bias gradients in one large BLAS call instead of three, with no separate pass for the bias."""
    length, batch, hidden = ys.shape
    inputs = 0 if X is None else X.shape[2]
    z = np.empty((length, batch, inputs + hidden + 1), flat.dtype)
    if X is not None:
        z[..., :inputs] = X
    _previous_states(h0, ys, ctx.reverse, out=z[..., inputs:-1])
    z[..., -1] = 1
    return flat.T @ z.reshape(length * batch, -1)


def _token_gate_grads(ctx, table, Wih, h0, ys, dG):
    """:func:`_gate_grads` of an :class:`EmbeddedLSTMLayer`: the gate gradients summed per token (``dP``,
    ``(V, G)``) give ``dW_ih = dPᵀ table`` and the table's gradient ``dP W_ih`` (its padding row zero, rows
    divided by their token's count with ``scale_grad_by_freq``), two products of V rows instead of
    ``dx`` and ``dGᵀ x`` over every token; ``dW_hh`` and the bias gradient are one product
    ``dGᵀ [h_prev | 1]``."""
    from ...kernels import embedding as kernels  # numba loads on first use, not at `import ember`

    length, batch, gates = dG.shape
    flat = dG.reshape(length * batch, gates)
    tokens = np.ascontiguousarray(ctx.tokens).reshape(-1)
    per_token = kernels.embedding_backward(flat, tokens, table.shape[0], -1, False)
    padding_idx, scale_grad_by_freq = ctx.embedding_options
    d_table = None
    if ctx.needs_input_grad[0]:
        d_table = per_token @ Wih
        if scale_grad_by_freq:
            d_table /= np.maximum(np.bincount(tokens, minlength=table.shape[0]), 1)[:, None].astype(d_table.dtype)
        if padding_idx >= 0:
            d_table[padding_idx] = 0
    dw_ih = per_token.T @ table if ctx.needs_input_grad[7] else None
    r = _weight_products(ctx, h0, ys, flat)
    return d_table, dw_ih, np.ascontiguousarray(r[:, :-1]), r[:, -1].copy()


class GRULayer(_FusedLayer):
    """``(x, h0, w_ih, w_hh, b_ih, b_hh, reverse) -> (y, h_n)``; gates ordered r, z, n (PyTorch's)."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, reverse):
        X, Whh = x._data, w_hh._data
        length, batch, _ = X.shape
        hidden = Whh.shape[1]
        gx = _input_projection(X, w_ih._data, _data(b_ih))
        dtype = gx.dtype
        Bhh = _data(b_hh)
        rz = np.empty((length, batch, 2 * hidden), dtype)
        ns = np.empty((length, batch, hidden), dtype)
        ghn = np.empty((length, batch, hidden), dtype)
        ys = np.empty((length, batch, hidden), dtype)
        WhhT = np.ascontiguousarray(Whh.T)
        gh = np.empty((batch, 3 * hidden), dtype)
        h = h0._data
        for t in _steps(length, reverse):
            np.matmul(h, WhhT, out=gh)
            if Bhh is not None:
                gh += Bhh
            a = rz[t]
            np.add(gx[t, :, : 2 * hidden], gh[:, : 2 * hidden], out=a)
            a *= 0.5  # sigmoid(v) = 0.5 tanh(v / 2) + 0.5
            np.tanh(a, out=a)
            a *= 0.5
            a += 0.5
            r, z = a[:, :hidden], a[:, hidden:]
            ghn[t] = gh[:, 2 * hidden :]
            n = ns[t]
            np.multiply(r, ghn[t], out=n)
            n += gx[t, :, 2 * hidden :]
            np.tanh(n, out=n)
            # h' = (1 - z) n + z h = n + z (h - n)
            y = ys[t]
            np.subtract(h, n, out=y)
            y *= z
            y += n
            h = y
        ctx.arrays = (X, h0._data, w_ih._data, Whh, rz, ns, ghn, ys)
        ctx.reverse = reverse
        ctx.has_bias = (b_ih is not None, b_hh is not None)
        ctx.versions = [(t, t._vc[0]) for t in (x, h0, w_ih, w_hh)]
        ctx.inputs = (x, h0, w_ih, w_hh, b_ih, b_hh)  # (for a recorded backward)
        return ys, h.copy()

    @staticmethod
    def backward(ctx, grad_y, grad_hn):
        _check_versions(ctx)
        if state.grad_enabled:  # create_graph: the layer restated as a loop of the cell's formula
            return restated_grads(lambda *inputs: gru_layer_composite(*inputs, ctx.reverse), ctx.inputs,
                                  ctx.needs_input_grad[:6], (grad_y, grad_hn)) + (None,)
        X, h0, Wih, Whh, rz, ns, ghn, ys = ctx.arrays
        length, batch, _ = X.shape
        hidden = Whh.shape[1]
        deriv_rz = rz * (1 - rz)
        deriv_n = 1 - ns * ns
        h_prev_all = _previous_states(h0, ys, ctx.reverse)
        dY = grad_y._data
        dGx = np.empty((length, batch, 3 * hidden), rz.dtype)
        dGh = np.empty_like(dGx)
        dh = grad_hn._data.astype(rz.dtype, copy=True)
        for t in _steps(length, not ctx.reverse):
            r, z = rz[t, :, :hidden], rz[t, :, hidden:]
            n = ns[t]
            dh_t = dY[t] + dh
            dn = dh_t * (1 - z) * deriv_n[t]  # gradient at n's pre-activation
            gx_t, gh_t = dGx[t], dGh[t]
            np.multiply(dh_t, h_prev_all[t] - n, out=gx_t[:, hidden : 2 * hidden])  # dz
            np.multiply(dn, ghn[t], out=gx_t[:, :hidden])  # dr
            gx_t[:, : 2 * hidden] *= deriv_rz[t]
            gx_t[:, 2 * hidden :] = dn
            gh_t[:, : 2 * hidden] = gx_t[:, : 2 * hidden]
            np.multiply(dn, r, out=gh_t[:, 2 * hidden :])
            dh = dh_t * z + gh_t @ Whh
        dx, dw_ih, db_ih = _input_grads(ctx, X, Wih, dGx, ctx.has_bias[0], 2)
        flat_h = dGh.reshape(length * batch, -1)
        dw_hh = flat_h.T @ h_prev_all.reshape(length * batch, -1)
        db_hh = flat_h.sum(0) if ctx.has_bias[1] else None
        return (
            _wrap(dx),
            Tensor._wrap(dh),
            _wrap(dw_ih),
            Tensor._wrap(dw_hh),
            _wrap(db_ih),
            _wrap(db_hh),
            None,
        )


class RNNLayer(_FusedLayer):
    """``(x, h0, w_ih, w_hh, b_ih, b_hh, nonlinearity, reverse) -> (y, h_n)`` with tanh or relu."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, nonlinearity, reverse):
        X, Whh = x._data, w_hh._data
        length, batch, _ = X.shape
        gx = _input_projection(X, w_ih._data, _data(b_ih), _data(b_hh))
        ys = np.empty((length, batch, Whh.shape[0]), gx.dtype)
        WhhT = np.ascontiguousarray(Whh.T)
        h = h0._data
        for t in _steps(length, reverse):
            y = ys[t]
            np.matmul(h, WhhT, out=y)
            y += gx[t]
            if nonlinearity == "tanh":
                np.tanh(y, out=y)
            else:
                np.maximum(y, 0, out=y)
            h = y
        ctx.arrays = (X, h0._data, w_ih._data, Whh, ys)
        ctx.reverse, ctx.nonlinearity = reverse, nonlinearity
        ctx.has_bias = (b_ih is not None, b_hh is not None)
        ctx.versions = [(t, t._vc[0]) for t in (x, h0, w_ih, w_hh)]
        ctx.inputs = (x, h0, w_ih, w_hh, b_ih, b_hh)  # (for a recorded backward)
        return ys, h.copy()

    @staticmethod
    def backward(ctx, grad_y, grad_hn):
        _check_versions(ctx)
        if state.grad_enabled:  # create_graph: the layer restated as a loop of the cell's formula
            return restated_grads(lambda *inputs: rnn_layer_composite(*inputs, ctx.nonlinearity, ctx.reverse),
                                  ctx.inputs, ctx.needs_input_grad[:6], (grad_y, grad_hn)) + (None, None)
        X, h0, Wih, Whh, ys = ctx.arrays
        length = X.shape[0]
        deriv = 1 - ys * ys if ctx.nonlinearity == "tanh" else (ys > 0).astype(ys.dtype)
        dY = grad_y._data
        dG = np.empty_like(ys)
        dh = grad_hn._data.astype(ys.dtype, copy=True)
        for t in _steps(length, not ctx.reverse):
            np.add(dY[t], dh, out=dG[t])
            dG[t] *= deriv[t]
            dh = dG[t] @ Whh
        dx, dw_ih, dw_hh, db = _gate_grads(ctx, X, Wih, h0, ys, dG, 2)
        has_ih, has_hh = ctx.has_bias
        return (
            _wrap(dx),
            Tensor._wrap(dh),
            _wrap(dw_ih),
            Tensor._wrap(dw_hh),
            _wrap(db) if has_ih else None,
            _wrap(db.copy()) if has_hh else None,
            None,
            None,
        )


def _check_versions(ctx) -> None:
    if ctx.arrays is None:
        raise RuntimeError(_FREED_MESSAGE)
    for i, (t, version) in enumerate(ctx.versions):
        if t._vc[0] != version:
            raise RuntimeError(_inplace_message(t, i, ctx, version))


# --- single cells (LSTMCell, GRUCell): one op per call of the cell ---------------------------------
def lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One ``LSTMCell`` step, ``(h', c')``: the fused op where it applies, else the composite formula."""
    if _fusable(x, h, c, w_ih, w_hh, b_ih, b_hh):
        return LSTMCellStep.apply(x, h, c, w_ih, w_hh, b_ih, b_hh)
    return lstm_cell_composite(x, h, c, w_ih, w_hh, b_ih, b_hh)


def gru_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    """One ``GRUCell`` step, ``h'``: the fused op where it applies, else the composite formula."""
    if _fusable(x, h, w_ih, w_hh, b_ih, b_hh):
        return GRUCellStep.apply(x, h, w_ih, w_hh, b_ih, b_hh)
    return gru_cell_composite(x, h, w_ih, w_hh, b_ih, b_hh)


def lstm_cell_composite(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """The LSTM step as a formula of ops (gates i, f, g, o): any dtype, any order of gradient."""
    i, f, g, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(4, dim=1)
    c_new = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c_new.tanh(), c_new


def gru_cell_composite(x, h, w_ih, w_hh, b_ih, b_hh):
    """The GRU step as a formula of ops (gates r, z, n, PyTorch's order)."""
    i_r, i_z, i_n = F.linear(x, w_ih, b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, dim=1)
    r, z = (i_r + h_r).sigmoid(), (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()
    return n + z * (h - n)


def lstm_layer_composite(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, reverse):
    """``LSTMLayer`` as a loop of ``lstm_cell_composite`` (and the projection): ``(y, h_n, c_n)``."""
    h, c, ys = h0, c0, [None] * x.shape[0]
    for t in _steps(x.shape[0], reverse):
        h, c = lstm_cell_composite(x[t], h, c, w_ih, w_hh, b_ih, b_hh)
        ys[t] = h = h if w_hr is None else F.linear(h, w_hr)
    return _stack(ys), h, c


def gru_layer_composite(x, h0, w_ih, w_hh, b_ih, b_hh, reverse):
    """``GRULayer`` as a loop of ``gru_cell_composite``: ``(y, h_n)``."""
    h, ys = h0, [None] * x.shape[0]
    for t in _steps(x.shape[0], reverse):
        ys[t] = h = gru_cell_composite(x[t], h, w_ih, w_hh, b_ih, b_hh)
    return _stack(ys), h


def rnn_layer_composite(x, h0, w_ih, w_hh, b_ih, b_hh, nonlinearity, reverse):
    """``RNNLayer`` as a loop of its formula: ``(y, h_n)``."""
    h, ys = h0, [None] * x.shape[0]
    for t in _steps(x.shape[0], reverse):
        pre = F.linear(x[t], w_ih, b_ih) + F.linear(h, w_hh, b_hh)
        ys[t] = h = pre.tanh() if nonlinearity == "tanh" else F.relu(pre)
    return _stack(ys), h


# (hook, array type) while ember.compile captures a forward (set by core/compiler/_compile.py): the cells are
# then recorded as one fused node each, which compiled graphs run, instead of as their formula of ops
compile_capture = None


def _fusable(*tensors) -> bool:
    """The kernels take plain float32 or float64 arrays of one dtype (not meta, vmap's batches, half);
    with ``ember.func``'s transforms or ``ember.export`` active the composite formula runs, as they need ops
    they can see (``ember.compile``'s capture records the fused op)."""
    dtype = tensors[0]._data.dtype
    if dtype != np.float32 and dtype != np.float64:
        return False
    kinds = (np.ndarray,)
    if Function._batching_hook is not None:
        if compile_capture is None or Function._batching_hook is not compile_capture[0]:
            return False
        kinds = (np.ndarray, compile_capture[1])
    for t in tensors:
        if t is not None and (type(t._data) not in kinds or t._data.dtype != dtype):
            return False
    return True


def _contiguous(t):
    return np.ascontiguousarray(t._data)


def _summed_bias(b_ih, b_hh, size, dtype):
    if b_ih is None and b_hh is None:
        return np.zeros(size, dtype)
    if b_ih is None or b_hh is None:
        return (b_ih if b_hh is None else b_hh)._data
    return b_ih._data + b_hh._data


class _FusedCell(Function):
    """A cell step whose backward is a numba kernel and a few products. Under ``create_graph=True`` the
    backward differentiates the composite formula instead, so gradients of gradients stay exact."""

    _internal = True
    arrays = None

    def _release(self) -> None:
        super()._release()
        self.arrays = None


class LSTMCellStep(_FusedCell):
    """``(x, h, c, w_ih, w_hh, b_ih, b_hh) -> (h', c')``, batch-major (N, ·), gates i, f, g, o: the two
    products in BLAS, everything pointwise in one kernel (``ember.kernels.rnn.lstm_cell_forward``)."""

    @staticmethod
    def forward(ctx, x, h, c, w_ih, w_hh, b_ih, b_hh):
        from ...kernels import rnn as kernels  # numba loads on first use, not at `import ember`

        X, Hp, Cp = x._data, h._data, _contiguous(c)
        gates = _times_transposed(X, w_ih._data)
        gates += Hp @ w_hh._data.T
        batch, hidden = Cp.shape
        dtype = gates.dtype
        c_new, tc, h_new = (np.empty((batch, hidden), dtype) for _ in range(3))
        kernels.lstm_cell_forward(gates, _summed_bias(b_ih, b_hh, 4 * hidden, dtype), Cp, c_new, tc, h_new)
        ctx.save_for_backward(x, h, c, w_ih, w_hh, b_ih, b_hh)
        ctx.arrays = (gates, Cp, tc)
        return h_new, c_new

    @staticmethod
    def backward(ctx, grad_h, grad_c):
        if state.grad_enabled:
            return restated_grads(lstm_cell_composite, ctx.saved_tensors, ctx.needs_input_grad, (grad_h, grad_c))
        from ...kernels import rnn as kernels

        x, h, _, w_ih, w_hh, _, _ = ctx.saved_tensors  # (raises if one was modified in place)
        gates, Cp, tc = ctx.arrays
        dtype = gates.dtype
        d_gates, dc_prev = np.empty_like(gates), np.empty_like(Cp)
        d_bias = np.empty(gates.shape[1], dtype)
        kernels.lstm_cell_backward(_gradient(grad_h, dtype), _gradient(grad_c, dtype), gates, Cp, tc, d_gates,
                                   dc_prev, d_bias)
        needs = ctx.needs_input_grad
        return (
            Tensor._wrap(d_gates @ w_ih._data) if needs[0] else None,
            Tensor._wrap(d_gates @ w_hh._data) if needs[1] else None,
            Tensor._wrap(dc_prev) if needs[2] else None,
            Tensor._wrap(d_gates.T @ x._data) if needs[3] else None,
            Tensor._wrap(d_gates.T @ h._data) if needs[4] else None,
            Tensor._wrap(d_bias) if needs[5] else None,
            Tensor._wrap(d_bias.copy() if needs[5] else d_bias) if needs[6] else None,
        )


class GRUCellStep(_FusedCell):
    """``(x, h, w_ih, w_hh, b_ih, b_hh) -> h'``, batch-major, gates r, z, n (PyTorch's): the two
    products in BLAS, everything pointwise in one kernel (``ember.kernels.rnn.gru_cell_forward``)."""

    @staticmethod
    def forward(ctx, x, h, w_ih, w_hh, b_ih, b_hh):
        from ...kernels import rnn as kernels  # numba loads on first use, not at `import ember`

        X, Hp = x._data, _contiguous(h)
        gi, gh = _times_transposed(X, w_ih._data), Hp @ w_hh._data.T
        batch, hidden = Hp.shape
        dtype = gi.dtype
        zeros = np.zeros(3 * hidden, dtype) if b_ih is None or b_hh is None else None
        rz = np.empty((batch, 2 * hidden), dtype)
        n, ghn, h_new = (np.empty((batch, hidden), dtype) for _ in range(3))
        kernels.gru_cell_forward(gi, gh, zeros if b_ih is None else b_ih._data,
                                 zeros if b_hh is None else b_hh._data, Hp, rz, n, ghn, h_new)
        ctx.save_for_backward(x, h, w_ih, w_hh, b_ih, b_hh)
        ctx.arrays = (Hp, rz, n, ghn)
        return h_new

    @staticmethod
    def backward(ctx, grad_h):
        if state.grad_enabled:
            return restated_grads(gru_cell_composite, ctx.saved_tensors, ctx.needs_input_grad, grad_h)
        from ...kernels import rnn as kernels

        x, _, w_ih, w_hh, _, _ = ctx.saved_tensors  # (raises if one was modified in place)
        Hp, rz, n, ghn = ctx.arrays
        dtype = rz.dtype
        batch, hidden = Hp.shape
        d_gi, d_gh = np.empty((batch, 3 * hidden), dtype), np.empty((batch, 3 * hidden), dtype)
        dh_prev = np.empty_like(Hp)
        db_ih, db_hh = np.empty(3 * hidden, dtype), np.empty(3 * hidden, dtype)
        kernels.gru_cell_backward(_gradient(grad_h, dtype), rz, n, ghn, Hp, d_gi, d_gh, dh_prev, db_ih, db_hh)
        needs = ctx.needs_input_grad
        if needs[1]:
            dh_prev += d_gh @ w_hh._data
        return (
            Tensor._wrap(d_gi @ w_ih._data) if needs[0] else None,
            Tensor._wrap(dh_prev) if needs[1] else None,
            Tensor._wrap(d_gi.T @ x._data) if needs[2] else None,
            Tensor._wrap(d_gh.T @ Hp) if needs[3] else None,
            Tensor._wrap(db_ih) if needs[4] else None,
            Tensor._wrap(db_hh) if needs[5] else None,
        )


def _times_transposed(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w.T``; with one input feature (a time series) an outer product, which numpy's matmul
    computes several times slower than a broadcast multiply."""
    return np.multiply(x, w.T) if x.shape[1] == 1 else x @ w.T


def _gradient(g, dtype) -> np.ndarray:
    """An incoming gradient as the kernels take it: C-contiguous, in the op's dtype (an expanded
    gradient, e.g. of a sum, arrives as a broadcast view)."""
    return np.ascontiguousarray(g._data, dtype=dtype)
