"""Optimizer updates as one pass over a parameter (``ember.optim``'s fused paths).

Adam's update in numpy is a dozen passes over the parameter's size (the moments, the square root,
the denominator, the quotient), each reading and writing a full array; here each element is read
once and its parameter and moments written once. The arithmetic is PyTorch's single-tensor Adam,
operation for operation, in the arrays' precision (float32 scalars for float32 arrays, no fastmath),
so the results are PyTorch's to the rounding of each operation.
"""

from __future__ import annotations

import math

from ._llvm import fma
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
