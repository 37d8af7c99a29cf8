"""The kernels of ``_fused_norm.BatchNormRelu``: batch norm's normalisation with the residual add and ReLU in
the same pass, and its backward with ReLU's mask inside batch norm's two passes. Arithmetic and summation
order as ``ember.kernels.norm``'s ``_normalize_affine`` / ``_batch_norm_backward``; the outer loop over
(sample, channel) planes or channels is split over threads the same way."""

from __future__ import annotations

from ..kernels._threads import split

# elements from which both threads run (ember.kernels.norm's thresholds for the same loops)
_LIGHT_WORK, _WORK = 1 << 19, 1 << 18


@split(_LIGHT_WORK, fastmath=True)
def bn_relu_forward(x, mean, invstd, weight, bias, residual, y, start, stop):
    """y = max(x * scale[c] + shift[c] (+ residual), 0) for x (N, C, L); ``residual`` of shape (0, 0, 0): none."""
    c_size, l_size = x.shape[1:]
    zero = x.dtype.type(0)
    for nc in range(start, stop):
        n = nc // c_size
        c = nc % c_size
        scale = invstd[c] * weight[c]
        s = x.dtype.type(scale)
        t = x.dtype.type(bias[c] - mean[c] * scale)
        if residual.shape[0] == 0:
            for i in range(l_size):
                v = x[n, c, i] * s + t
                y[n, c, i] = zero if v < zero else v  # noqa: FURB136 (NaN stays NaN, as np.maximum)
        else:
            for i in range(l_size):
                v = x[n, c, i] * s + t
                v = v + residual[n, c, i]
                y[n, c, i] = zero if v < zero else v  # noqa: FURB136 (NaN stays NaN, as np.maximum)


@split(_WORK, fastmath=True)
def bn_relu_backward(g, y, x, mean, invstd, weight, training, gx, gr, gw, gb, start, stop):
    """Batch norm's backward (``ember.kernels.norm.batch_norm_backward``) of ``g`` masked by ``y > 0``; the
    masked gradient is also written to ``gr`` (the residual's gradient) unless ``gr`` is (0, 0, 0)."""
    n_size, _, l_size = x.shape
    count = n_size * l_size
    zero = g.dtype.type(0)
    residual = gr.shape[0] != 0
    for c in range(start, stop):
        m = mean[c]
        s = invstd[c]
        sum_g = 0.0
        sum_gx = 0.0
        for n in range(n_size):
            for i in range(l_size):
                gv = g[n, c, i] if y[n, c, i] > zero else zero
                if residual:
                    gr[n, c, i] = gv
                sum_g += gv
                sum_gx += gv * (x[n, c, i] - m)
        sum_gxhat = sum_gx * s
        gw[c] = sum_gxhat
        gb[c] = sum_g
        k = weight[c] * s
        if training:
            mg = sum_g / count
            mgx = sum_gxhat / count
            for n in range(n_size):
                for i in range(l_size):
                    gv = g[n, c, i] if y[n, c, i] > zero else zero
                    xhat = (x[n, c, i] - m) * s
                    gx[n, c, i] = k * (gv - mg - xhat * mgx)
        else:
            for n in range(n_size):
                for i in range(l_size):
                    gv = g[n, c, i] if y[n, c, i] > zero else zero
                    gx[n, c, i] = k * gv
