"""Optimizer updates as one pass over a parameter (``ember.optim``'s fused paths).

Adam's update in numpy is a dozen passes over the parameter's size (the moments, the square root,
the denominator, the quotient), each reading and writing a full array; here each element is read
once and its parameter and moments written once. The arithmetic is PyTorch's single-tensor Adam,
operation for operation, in the arrays' precision (float32 scalars for float32 arrays, no fastmath),
so the results are PyTorch's to the rounding of each operation.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from . import _blas
from ._llvm import address_to_pointer, fma
from ._threads import split


@split(1 << 17, error_model="numpy")
def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, weight, keep, beta2, one_minus_beta2, decay,
                l2, step_size, bias_correction2_sqrt, eps, amsgrad, start, stop):
    """One Adam / AdamW step of the flat (1-d, contiguous) arrays over ``[start, stop)``, in place:
    ``param *= decay`` (AdamW's decoupled decay; 1 otherwise), ``g = grad + l2 * param`` (L2 decay),
    ``exp_avg`` lerped towards ``g`` by ``weight`` (torch's two-sided lerp; ``keep = 1 - weight``),
    ``exp_avg_sq = beta2 exp_avg_sq + (1 - beta2) g^2``, AMSGrad's running maximum into
    ``max_exp_avg_sq`` when ``amsgrad``, then
    ``param -= step_size * exp_avg / (sqrt(v) / bias_correction2_sqrt + eps)``."""
    # slices from 0: LLVM vectorises a loop from 0 to a size, not one over [start, stop)
    param, grad, exp_avg, exp_avg_sq = param[start:stop], grad[start:stop], exp_avg[start:stop], exp_avg_sq[start:stop]
    max_exp_avg_sq = max_exp_avg_sq[start:stop]
    decayed, two_sided = l2 != 0, weight >= 0.5  # (the branches below are selects, also vectorised)
    if amsgrad:  # a loop of its own: its conditional store would keep the other from vectorising
        for k in range(param.size):
            p = param[k] * decay
            g = grad[k] + l2 * p if decayed else grad[k]
            m = exp_avg[k]
            m = g - (g - m) * keep if two_sided else m + weight * (g - m)
            v = exp_avg_sq[k] * beta2 + one_minus_beta2 * g * g
            exp_avg[k] = m
            exp_avg_sq[k] = v
            largest = max_exp_avg_sq[k]
            if not v >= largest:  # torch.maximum: the larger, NaN if either is
                v = v if math.isnan(v) else largest
            max_exp_avg_sq[k] = v
            param[k] = p + -step_size * (m / (math.sqrt(v) / bias_correction2_sqrt + eps))
    else:
        for k in range(param.size):
            p = param[k] * decay
            g = grad[k] + l2 * p if decayed else grad[k]
            m = exp_avg[k]
            m = g - (g - m) * keep if two_sided else m + weight * (g - m)
            v = exp_avg_sq[k] * beta2 + one_minus_beta2 * g * g
            exp_avg[k] = m
            exp_avg_sq[k] = v
            param[k] = p + -step_size * (m / (math.sqrt(v) / bias_correction2_sqrt + eps))


@split(1 << 17, error_model="numpy")
def adadelta_update(param, grad, square_avg, acc_delta, rho, one_minus_rho, eps, l2, neg_lr, start, stop):
    """One Adadelta step of the flat (1-d, contiguous) arrays over ``[start, stop)``, in place, in the
    operations' order of the numpy path (``core/optim/adadelta.py``): ``g = grad + l2 * param``,
    ``square_avg = rho square_avg + ((1 - rho) g) g``, ``delta = sqrt(acc_delta + eps) / sqrt(square_avg +
    eps) * g``, ``acc_delta = rho acc_delta + ((1 - rho) delta) delta``, ``param += -lr * delta``."""
    param, grad, square_avg, acc_delta = param[start:stop], grad[start:stop], square_avg[start:stop], \
        acc_delta[start:stop]
    decayed = l2 != 0
    for k in range(param.size):
        g = grad[k] + l2 * param[k] if decayed else grad[k]
        v = square_avg[k] * rho + one_minus_rho * g * g
        square_avg[k] = v
        delta = math.sqrt(acc_delta[k] + eps) / math.sqrt(v + eps) * g
        acc_delta[k] = acc_delta[k] * rho + one_minus_rho * delta * delta
        param[k] += neg_lr * delta


# From 1M elements on two threads: a 400k-element update takes ~66 us on one, about what handing half of it to
# another thread costs on a busy machine (10-40 us, benchmarks/README.md).
@split(1 << 20, error_model="numpy")
def sgd_update(param, grad, buf, first, l2, momentum, one_minus_dampening, nesterov, neg_lr, start, stop):
    """One SGD step of the flat (1-d, contiguous) arrays over ``[start, stop)``, in place, as PyTorch's
    single-tensor SGD: ``g = grad.add(param, alpha=l2)``; with a momentum, ``buf.mul_(momentum).add_(g,
    alpha=1 - dampening)`` (on the ``first`` step the buffer is ``g`` itself) and ``g = g.add(buf,
    alpha=momentum) if nesterov else buf``; ``param.add_(g, alpha=-lr)``. Each ``add`` with ``alpha`` is a
    fused multiply-add, as there, and the scalars are in the arrays' dtype. Without a momentum ``buf`` is not
    read (pass any array)."""
    param, grad = param[start:stop], grad[start:stop]
    decayed = l2 != 0
    if momentum == 0:
        for k in range(param.size):
            g = fma(param[k], l2, grad[k]) if decayed else grad[k]
            param[k] = fma(g, neg_lr, param[k])
        return
    buf = buf[start:stop]
    for k in range(param.size):
        g = fma(param[k], l2, grad[k]) if decayed else grad[k]
        b = g if first else fma(g, one_minus_dampening, buf[k] * momentum)
        buf[k] = b
        param[k] = fma(fma(b, momentum, g) if nesterov else b, neg_lr, param[k])


# --- The updates on numpy's OpenBLAS workers (``Split.on_blas_workers``) ----------------------------------------
#
# Each kernel has a ``cfunc`` that rebuilds its arrays from the addresses in an int64 context and runs its piece:
# ``[shift, total, itemsize, array addresses..., address of the float scalars, flags..., float scalars (as
# float64 bits)...]``. The scalars go through float64 and back to the arrays' dtype, which is exact.
#
# From 128k elements for both: handing a piece over costs 20-50 us on this VM, so on its own an SGD update breaks
# even near 256k elements and Adam's near 128k (benchmarks/README.md, 2026-12-08); in
# the VM's slow state, where reading what the other core wrote is costly, the halves save far more (MLP b32's
# update 380 us against 520 with SGD's threshold at 256k, torch 750).

_compiled = {}  # the cfuncs, compiled on first use (kept: their addresses must stay valid)


def _address(py_func) -> int:
    piece = _compiled.get(py_func)
    if piece is None:
        piece = _compiled[py_func] = numba.cfunc(_blas.PIECE_SIGNATURE, cache=True)(py_func)
    return piece.address


def _context(arrays, flags, floats):
    """The int64 context of a call, or None unless its arrays are 1-d, C-contiguous and all float32 or all float64."""
    dtype = arrays[0].dtype
    if dtype not in (np.float32, np.float64) or any(a.dtype != dtype or not a.flags.c_contiguous for a in arrays):
        return None
    head = 3 + len(arrays) + 1 + len(flags)
    context = np.empty(head + len(floats), np.int64)
    context[1:3] = arrays[0].size, dtype.itemsize
    context[3:3 + len(arrays)] = [a.ctypes.data for a in arrays]
    context[3 + len(arrays)] = context.ctypes.data + 8 * head
    context[4 + len(arrays):head] = flags
    context[head:].view(np.float64)[:] = floats
    return context


@numba.njit(cache=True)
def _array(context, i, dtype):
    """The ``i``-th array of a context."""
    return numba.carray(address_to_pointer(context[3 + i]), context[1], dtype)


_sgd = sgd_update.serial
_adam = adam_update.serial


def _sgd_piece(m, n, k, alpha, a, lda, b, ldb, c, ldc, sb):
    context = numba.carray(c, 9)
    start = a >> context[0]
    f = numba.carray(address_to_pointer(context[6]), 4, np.float64)
    first, nesterov = context[7] != 0, context[8] != 0
    if context[2] == 4:
        _sgd(_array(context, 0, np.float32), _array(context, 1, np.float32), _array(context, 2, np.float32), first,
             np.float32(f[0]), np.float32(f[1]), np.float32(f[2]), nesterov, np.float32(f[3]), start, start + m)
    else:
        _sgd(_array(context, 0, np.float64), _array(context, 1, np.float64), _array(context, 2, np.float64), first,
             f[0], f[1], f[2], nesterov, f[3], start, start + m)
    return 0


@sgd_update.on_blas_workers(1 << 17)
def _sgd_entry(param, grad, buf, first, l2, momentum, one_minus_dampening, nesterov, neg_lr):
    context = _context((param, grad, buf), (first, nesterov), (l2, momentum, one_minus_dampening, neg_lr))
    return None if context is None else (_address(_sgd_piece), context)


def _adam_piece(m, n, k, alpha, a, lda, b, ldb, c, ldc, sb):
    context = numba.carray(c, 10)
    start = a >> context[0]
    f = numba.carray(address_to_pointer(context[8]), 9, np.float64)
    amsgrad = context[9] != 0
    if context[2] == 4:
        _adam(_array(context, 0, np.float32), _array(context, 1, np.float32), _array(context, 2, np.float32),
              _array(context, 3, np.float32), _array(context, 4, np.float32), np.float32(f[0]), np.float32(f[1]),
              np.float32(f[2]), np.float32(f[3]), np.float32(f[4]), np.float32(f[5]), np.float32(f[6]),
              np.float32(f[7]), np.float32(f[8]), amsgrad, start, start + m)
    else:
        _adam(_array(context, 0, np.float64), _array(context, 1, np.float64), _array(context, 2, np.float64),
              _array(context, 3, np.float64), _array(context, 4, np.float64), f[0], f[1], f[2], f[3], f[4], f[5],
              f[6], f[7], f[8], amsgrad, start, start + m)
    return 0


@adam_update.on_blas_workers(1 << 17)
def _adam_entry(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, weight, keep, beta2, one_minus_beta2, decay, l2,
                step_size, bias_correction2_sqrt, eps, amsgrad):
    context = _context((param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq), (amsgrad,),
                       (weight, keep, beta2, one_minus_beta2, decay, l2, step_size, bias_correction2_sqrt, eps))
    return None if context is None else (_address(_adam_piece), context)
