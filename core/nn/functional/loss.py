"""Loss functions, PyTorch's signatures and reductions.

``cross_entropy`` with class indices is one fused op (log-softmax, weights, ``ignore_index``
and label smoothing, forward and backward in numpy); so are ``nll_loss`` (``NllLoss``) and the
losses of ``input - target`` (``PointwiseLoss``: mse, l1, smooth_l1, huber), each with its
reduction. The others are compositions of Ember ops.
"""

from __future__ import annotations

import warnings

import numpy as np

from ...autograd.engine import restated_grads
from ...autograd.function import once_differentiable, unchanged_input
from ...autograd.grad_mode import state
from ...ops._op import Op, _not_implemented_for
from ...ops.activation import softplus
from ...ops.arithmetic import minimum, where
from ...ops.joining import cat
from ...tensor import Tensor
from ._utils import legacy_reduction, reduce_loss
from .activation import log_softmax, logsigmoid
from .conv import linear
from .distance import pairwise_distance

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_embedding_loss",
    "cross_entropy",
    "ctc_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "linear_cross_entropy",
    "margin_ranking_loss",
    "mse_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "poisson_nll_loss",
    "smooth_l1_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]


def _class_last(input: Tensor, target, op: str):
    """(N, C, d1, ...) logits and (N, d1, ...) targets -> (M, C) and (M,)."""
    if input.ndim == 1:
        return input.unsqueeze(0), target.reshape(1), ()
    if input.ndim > 2:
        rest = tuple(input.shape[2:])
        c = input.shape[1]
        return input.movedim(1, -1).reshape(-1, c), target.reshape(-1), rest
    return input, target, ()


def _softmax_rows(z):
    """(shifted, softmax, log of the row sums) of (M, C) logits: ``shifted = z - max(z, axis=1)``."""
    from ...kernels import softmax as kernels  # numba loads on first use, not at `import ember`

    shifted = np.array(z, order="C")
    if kernels.supported(shifted):
        p = np.empty_like(shifted)
        return shifted, p, kernels.softmax_(kernels.shift_rows(shifted), out=p)
    shifted -= np.amax(shifted, axis=1, keepdims=True)
    p = np.exp(shifted)
    total = p.sum(axis=1)
    p /= total[:, None]
    return shifted, p, np.log(total)


class CrossEntropy(Op):
    """Cross-entropy of logits (M, C) against class indices (M,), fused with its log-softmax.

    Forward keeps the softmax ``p``; with ``w_t`` the target's weight (0 when ignored) and ``eps`` the
    label smoothing, the gradient of a row's loss is ``a p_j - (1 - eps) w_t [j = t] - eps / C w_j`` with
    ``a = (1 - eps) w_t + eps / C * sum_c w_c`` (numpy's vectorised exp beats a scalar numba loop here).
    """

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, label_smoothing, reduction):
        z = x._data
        m, c = z.shape
        valid = target != ignore_index
        all_valid = bool(valid.all())
        safe = target if all_valid else np.where(valid, target, 0)
        if m and (safe.min() < 0 or safe.max() >= c):
            bad = safe.max() if safe.max() >= c else safe.min()
            raise IndexError(f"cross_entropy: target {bad} is out of bounds for {c} classes")
        shifted, p, log_total = _softmax_rows(z)  # log_softmax = shifted - log_total
        rows = np.arange(m)
        w = weight._data if weight is not None else None
        w_t = w[safe] if w is not None else np.ones(m, z.dtype)
        if not all_valid:
            w_t = w_t * valid
        eps = label_smoothing
        loss = -(1 - eps) * w_t * (shifted[rows, safe] - log_total)
        if eps > 0:
            logp = shifted - log_total[:, None]
            smooth = -(logp @ w) if w is not None else -logp.sum(axis=1)
            loss += (eps / c) * (smooth if all_valid else smooth * valid)
        loss = loss.astype(z.dtype, copy=False)
        ctx.saved = (p, safe, valid, w_t, w)
        ctx.options = (eps, reduction)
        ctx.input = (x, x._vc[0])  # for a recorded backward only (not saved: the fast one may outlive changes to x)
        if reduction == "none":
            return loss
        if reduction == "sum":
            return np.asarray(loss.sum(), dtype=z.dtype)
        ctx.denominator = w_t.sum()
        return np.asarray(loss.sum() / ctx.denominator, dtype=z.dtype)

    @staticmethod
    def backward(ctx, grad):
        p, safe, valid, w_t, w = ctx.saved
        eps, reduction = ctx.options
        if state.grad_enabled:  # create_graph (MAML's inner step): the loss restated in ops, differentiable again
            x = unchanged_input(ctx, *ctx.input)
            return restated_grads(lambda x: _cross_entropy_ops(x, *ctx.saved[1:], eps, reduction), (x,),
                                  ctx.needs_input_grad[:1], grad) + (None,) * 5
        m, c = p.shape
        dtype = p.dtype
        g = grad._data
        if reduction == "none":
            scale = g.astype(dtype, copy=False)
        else:
            scale = dtype.type(g / ctx.denominator if reduction == "mean" else g)
        total_w = w.sum() if w is not None else c
        a = ((1 - eps) * w_t + (eps / c) * total_w * valid) * scale
        gz = p * a.astype(dtype, copy=False).reshape(-1, 1)
        gz[np.arange(m), safe] -= ((1 - eps) * w_t * scale).astype(dtype, copy=False)
        if eps > 0:
            gz -= ((eps / c) * (valid * scale)).astype(dtype, copy=False).reshape(-1, 1) * (w if w is not None else 1)
        if not valid.all():
            # ignored rows have no gradient, even when every row is ignored and the mean is 0 / 0 (PyTorch's)
            gz[~valid] = 0
        return Tensor._wrap(gz), None, None, None, None, None


def _cross_entropy_ops(x, safe, valid, w_t, w, eps, reduction):
    """``CrossEntropy``'s loss in differentiable ops, from its forward's arrays (the target's rows, their weights)."""
    m, c = x.shape
    logp = log_softmax(x, 1)
    loss = logp[np.arange(m), safe] * Tensor._wrap(-(1 - eps) * w_t)
    if eps > 0:
        smooth = logp @ Tensor._wrap(w) if w is not None else logp.sum(1)
        loss = loss - smooth * Tensor._wrap((eps / c) * valid.astype(w_t.dtype))
    if reduction == "none":
        return loss
    return loss.sum() / float(w_t.sum()) if reduction == "mean" else loss.sum()


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits ``input`` (N, C, ...) and class indices (N, ...) or class probabilities
    (same shape as ``input``).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> logits = ember.tensor([[2.0, 0.0, 0.0]])
        >>> round(F.cross_entropy(logits, ember.tensor([0])).item(), 4)
        0.2395
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"cross_entropy: {reduction!r} is not a valid value for reduction")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    class_dim = 0 if input.ndim == 1 else 1
    c = input.shape[class_dim]
    if target._data.dtype.kind == "f":  # class probabilities
        if target.shape != input.shape:
            raise RuntimeError(f"cross_entropy: probability targets of shape {tuple(target.shape)} must match "
                               f"the input of shape {tuple(input.shape)}")
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + label_smoothing / c
        logp = log_softmax(input, class_dim)
        if weight is not None:
            logp = logp * weight.reshape((-1,) + (1,) * (input.ndim - class_dim - 1))
        loss = -(logp * target).sum(class_dim)
        if reduction == "mean":
            return loss.sum() / max(input.numel() // c, 1) if input.numel() else loss.sum() / 0.0
        return reduce_loss(loss, reduction, "cross_entropy")
    expected = tuple(input.shape[:class_dim]) + tuple(input.shape[class_dim + 1:])
    if tuple(target.shape) != expected:
        raise RuntimeError(f"cross_entropy: expected target of shape {expected} for input of shape "
                           f"{tuple(input.shape)}, got {tuple(target.shape)}")
    if weight is not None and weight.shape != (c,):
        raise RuntimeError(f"cross_entropy: weight of shape {tuple(weight.shape)} should have {c} elements")
    x, t, _ = _class_last(input, target, "cross_entropy")
    t = t._data.astype(np.int64, order="C", copy=False)  # (a method: inside vmap, a batched array has it)
    out = CrossEntropy.apply(x, t, weight, int(ignore_index), float(label_smoothing), reduction)
    if reduction == "none":
        return out.reshape(expected)
    return out


class NllLoss(Op):
    """``-w_t x_t`` of log-probabilities ``x`` (N, C, d1, ...) or (C,) at class indices ``t`` (N, d1, ...) or
    (), reduced in the same op. ``w_t`` is the target's class weight, 0 where ``t == ignore_index``; the mean
    divides by ``sum(w_t)`` (0 / 0 = nan when every target is ignored, as PyTorch's). The gradient is
    ``-w_t`` (over that sum for the mean) times ``grad`` at each target's class, 0 elsewhere and in ignored rows.
    """

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction):
        z = x._data
        if z.ndim == 1:  # one sample: (C,) scores, a () target
            z, target = z[None], target.reshape(1)
        c = z.shape[1]
        # the targets' range; on a few targets Python's min / max are cheaper than two numpy reductions
        if target.size <= 32:
            values = target.ravel().tolist()
            low, high = (min(values), max(values)) if values else (0, 0)
        else:
            low, high = target.min(), target.max()
        if 0 <= low and high < c and not low <= ignore_index <= high:
            safe, valid = target, None  # every target is a class and none is ignored
        else:
            valid = target != ignore_index
            safe = np.where(valid, target, 0)
            if safe.size and (safe.min() < 0 or safe.max() >= c):
                bad = safe.max() if safe.max() >= c else safe.min()
                raise IndexError(f"nll_loss: target {bad} is out of bounds for {c} classes")
        w_t = weight[safe] if weight is not None else None
        if valid is not None:
            w_t = valid.astype(z.dtype) if w_t is None else w_t * valid
        if z.ndim == 2:
            picked = z[np.arange(z.shape[0]), safe]
        else:  # (N, C, d1, ...): each target's class along axis 1
            picked = np.take_along_axis(z, safe[:, None], axis=1)[:, 0]
        ctx.saved = (safe, w_t, valid, x._data.shape)
        ctx.reduction = reduction
        if reduction == "none":
            loss = -picked if w_t is None else -(picked * w_t)
            return loss.reshape(target.shape) if x._data.ndim > 1 else loss.reshape(())
        total = -(picked.sum() if w_t is None else np.vdot(picked, w_t))
        if reduction == "sum":
            return np.asarray(total, dtype=z.dtype)
        ctx.denominator = z.dtype.type(safe.size) if w_t is None else w_t.sum(dtype=z.dtype)
        return np.asarray(total / ctx.denominator, dtype=z.dtype)

    @staticmethod
    def backward(ctx, grad):
        safe, w_t, valid, shape = ctx.saved
        dtype = grad._data.dtype
        coefficient = -(w_t if w_t is not None else np.ones(safe.shape, dtype))  # d loss / d x_t, per target
        if ctx.reduction == "mean":  # every target ignored: a 0 gradient (PyTorch's), not 0 / 0
            coefficient = coefficient / ctx.denominator if ctx.denominator else np.zeros_like(coefficient)
        recording = state.grad_enabled  # create_graph: the gradient as a product with ``grad``, differentiable
        if not recording:
            g = grad._data
            coefficient = coefficient * (g.reshape(safe.shape) if ctx.reduction == "none" else g)
        if valid is not None:  # ignored targets: exactly 0 (not -0, nor nan from an infinite upstream gradient)
            coefficient = np.where(valid, coefficient, 0)
        gz = np.zeros((safe.shape[0], shape[1]) + safe.shape[1:] if len(shape) > 1 else (1, shape[0]), dtype)
        if gz.ndim == 2:
            gz[np.arange(gz.shape[0]), safe] = coefficient
        else:
            np.put_along_axis(gz, safe[:, None], coefficient.astype(dtype, copy=False)[:, None], axis=1)
        gz = Tensor._wrap(gz.reshape(shape))
        if recording:
            gz = gz * (grad.unsqueeze(1) if ctx.reduction == "none" and len(shape) > 1 else grad)
        return gz, None, None, None, None


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` (N, C, d1, ...) or (C,) at class indices
    ``target`` (N, d1, ...) or (); ``weight`` (C,) weighs each class, and the mean is over the weights' sum.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.nll_loss(ember.tensor([[-0.5, -1.0]]), ember.tensor([1]))
        tensor(1.)
    """
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"nll_loss: {reduction!r} is not a valid value for reduction")
    z, t = input._data, target._data  # (arrays, or vmap's batched stand-ins: shape and dtype as numpy's)
    shape = z.shape
    if not shape:
        raise ValueError("nll_loss: Expected 1 or more dimensions (got 0)")
    expected = shape[:1] + shape[2:] if len(shape) > 1 else ()
    if t.shape != expected:
        raise ValueError(f"nll_loss: expected target of shape {expected} for input of shape {shape}, "
                         f"got {tuple(t.shape)}")
    if t.dtype.kind not in "iu":
        raise RuntimeError(f"nll_loss: expected target dtype to be Long or Byte, but got {target.dtype}")
    if z.dtype.kind != "f":
        raise _not_implemented_for("nll_loss_out_frame", input)
    c = shape[1] if len(shape) > 1 else shape[0]
    if weight is not None:
        if weight.shape != (c,):
            raise RuntimeError(f"nll_loss: weight tensor should be defined either for all {c} classes or no classes "
                               f"but got weight tensor of shape: {list(weight.shape)}")
        weight = weight._data.astype(z.dtype, copy=False)
    if t.dtype != np.int64:
        t = t.astype(np.int64)
    return NllLoss.apply(input, t, weight, int(ignore_index), reduction)


def _check_same_shape(input, target, op):
    if input.shape != target.shape:
        warnings.warn(f"{op}: using a target size ({tuple(target.shape)}) that is different to the input size "
                      f"({tuple(input.shape)}). This will likely lead to incorrect results due to broadcasting.",
                      stacklevel=3)


class PointwiseLoss(Op):
    """A loss of ``d = input - target`` (broadcast), elementwise and reduced in one op. With ``p`` the op's
    parameter (``beta`` of smooth_l1, ``delta`` of huber), the loss and its derivative in ``d``:

    - ``mse``: ``d^2``; ``2 d``
    - ``l1``: ``|d|``; ``sign(d)``
    - ``smooth_l1``: ``0.5 d^2 / p`` where ``|d| < p``, else ``|d| - 0.5 p``; ``clamp(d / p, -1, 1)``
    - ``huber``: ``0.5 d^2`` where ``|d| < p``, else ``p (|d| - 0.5 p)``; ``clamp(d, -p, p)``

    The target's gradient is minus the input's (before the engine sums each back to its operand's shape).
    """

    @staticmethod
    def forward(ctx, x, y, kind, p, reduction):
        d = np.subtract(x._data, y._data)
        if kind == "mse":
            loss = d * d
        else:
            absolute = np.abs(d)
            if kind == "l1":
                loss = absolute
            elif kind == "smooth_l1":
                loss = np.where(absolute < p, (0.5 / p) * (d * d), absolute - 0.5 * p)
            else:
                loss = np.where(absolute < p, 0.5 * (d * d), p * (absolute - 0.5 * p))
        ctx.diff = d
        ctx.options = (kind, p, reduction)
        if ctx.needs_input_grad[0] or ctx.needs_input_grad[1]:
            ctx.save_for_backward(x, y)  # for a differentiable backward (create_graph) only
        if reduction == "none":
            return loss
        total = np.add.reduce(loss, axis=None)
        return np.asarray(total / loss.size if reduction == "mean" else total, dtype=d.dtype)

    @staticmethod
    def backward(ctx, grad):
        kind, p, reduction = ctx.options
        if state.grad_enabled:  # create_graph: the same derivative in ops, differentiable again
            x, y = ctx.saved_tensors
            d = x - y
            slope = {"mse": lambda: d * 2, "l1": d.sign, "smooth_l1": lambda: (d / p).clamp(-1, 1),
                     "huber": lambda: d.clamp(-p, p)}[kind]()
            g = slope * (grad / max(ctx.diff.size, 1) if reduction == "mean" else grad)
            return (g if ctx.needs_input_grad[0] else None), (-g if ctx.needs_input_grad[1] else None)
        d = ctx.diff
        g = grad._data
        if reduction == "mean":
            g = g / d.size if d.size else g
        if kind == "mse":
            g = d * (2 * g)
        elif kind == "l1":
            g = np.sign(d) * g
        elif kind == "smooth_l1":
            g = np.clip(d / p, -1, 1) * g
        else:
            g = np.clip(d, -p, p) * g
        g = g.astype(d.dtype, copy=False)
        return (Tensor._wrap(g) if ctx.needs_input_grad[0] else None), (
            Tensor._wrap(-g) if ctx.needs_input_grad[1] else None)

    def name(self) -> str:  # MseLossBackward, L1LossBackward, SmoothL1LossBackward, HuberLossBackward
        return {"mse": "MseLoss", "l1": "L1Loss", "smooth_l1": "SmoothL1Loss", "huber": "HuberLoss"}[
            self.options[0]] + "Backward"


def _pointwise_loss(input, target, kind, p, reduction, op):
    """``PointwiseLoss`` on floating operands of one dtype; anything else (integers, complex) as ops."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{op}: {reduction!r} is not a valid value for reduction (use 'mean', 'sum' or 'none')")
    if input.shape != target.shape:
        try:
            np.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise RuntimeError(f"{op}: the shapes of input {tuple(input.shape)} and target {tuple(target.shape)} "
                               "cannot be broadcast together") from None
    a, b = input._data.dtype, target._data.dtype
    if a != b and a.kind in "fiub" and b.kind in "fiub":  # huber computes in the input's dtype (PyTorch's)
        common = a if kind == "huber" and a.kind == "f" else (
            np.promote_types(a, b) if a.kind == b.kind else (a if a.kind == "f" else b))
        input, target = input.to(common), target.to(common)
    if input._data.dtype.kind != "f":
        return None
    return PointwiseLoss.apply(input, target, kind, float(p), reduction)


def _weighted(loss, weight, input, reduction, op, mean_over_weights):
    """PyTorch's ``weight=`` of mse / l1 / huber: one weight per element; mse's and l1's mean divides by the
    weights' sum, huber's by the number of elements."""
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError(f"{op}: Weights and input must have the same size (weight {tuple(weight.shape)}, input "
                         f"{tuple(input.shape)})")
    loss = loss * weight
    if reduction == "mean" and mean_over_weights:
        return loss.sum() / weight.sum()
    return reduce_loss(loss, reduction, op)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    """Mean squared error ``(x - y)^2``; with ``weight`` (the input's shape) ``sum(w (x - y)^2) / sum(w)``.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.mse_loss(ember.tensor([1.0, 2.0]), ember.tensor([1.0, 4.0]))
        tensor(2.)
    """
    _check_same_shape(input, target, "mse_loss")
    reduction = legacy_reduction(size_average, reduce, reduction)
    loss = _pointwise_loss(input, target, "mse", 0.0, "none" if weight is not None else reduction, "mse_loss")
    if loss is None:
        diff = input - target
        loss = reduce_loss(diff * diff, "none" if weight is not None else reduction, "mse_loss")
    return loss if weight is None else _weighted(loss, weight, input, reduction, "mse_loss", True)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
            weight: Tensor | None = None) -> Tensor:
    """Mean absolute error ``|x - y|``; with ``weight`` (the input's shape) ``sum(w |x - y|) / sum(w)``."""
    _check_same_shape(input, target, "l1_loss")
    reduction = legacy_reduction(size_average, reduce, reduction)
    loss = _pointwise_loss(input, target, "l1", 0.0, "none" if weight is not None else reduction, "l1_loss")
    if loss is None:
        loss = reduce_loss((input - target).abs(), "none" if weight is not None else reduction, "l1_loss")
    return loss if weight is None else _weighted(loss, weight, input, reduction, "l1_loss", True)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """``0.5 d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 beta``; ``beta = 0`` is the l1 loss."""
    _check_same_shape(input, target, "smooth_l1_loss")
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    reduction = legacy_reduction(size_average, reduce, reduction)
    loss = _pointwise_loss(input, target, "smooth_l1" if beta else "l1", beta, reduction, "smooth_l1_loss")
    if loss is None:
        raise _not_implemented_for("smooth_l1_loss", input)
    return loss


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """``0.5 d^2`` where ``|d| <= delta``, else ``delta (|d| - 0.5 delta)``; ``weight`` (the input's shape)
    multiplies each element's loss before the reduction."""
    _check_same_shape(input, target, "huber_loss")
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    loss = _pointwise_loss(input, target, "huber", delta, "none" if weight is not None else reduction, "huber_loss")
    if loss is None:
        raise _not_implemented_for("huber_loss", input)
    return loss if weight is None else _weighted(loss, weight, input, reduction, "huber_loss", False)


class BinaryCrossEntropy(Op):
    """Elementwise ``-(y log x + (1 - y) log(1 - x))``, each log clamped at -100, with PyTorch's gradient
    ``(x - y) / max(x (1 - x), 1e-12)``, finite where ``x`` is 0 or 1; the target's is
    ``log(1 - x) - log(x)``."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        p, t = x._data, y._data
        return (t - 1) * np.maximum(np.log(1 - p), -100) - t * np.maximum(np.log(p), -100)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        gx = grad * (x - y) / ((1 - x) * x).clamp_min(1e-12) if ctx.needs_input_grad[0] else None
        gy = grad * ((1 - x).log() - x.log()) if ctx.needs_input_grad[1] else None
        return gx, gy


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """``-(y log x + (1 - y) log(1 - x))`` for probabilities ``x``; each log is clamped at -100.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> round(F.binary_cross_entropy(ember.tensor([0.5]), ember.tensor([1.0])).item(), 4)
        0.6931
    """
    if target.shape != input.shape:
        raise ValueError(f"binary_cross_entropy: using a target size ({tuple(target.shape)}) that is different to "
                         f"the input size ({tuple(input.shape)}) is deprecated. Please ensure they have the same size.")
    data = input._data
    if data.size and (data.min() < 0 or data.max() > 1):
        raise RuntimeError("binary_cross_entropy: all elements of input should be between 0 and 1")
    loss = BinaryCrossEntropy.apply(input, target if target.dtype == input.dtype else target.to(input.dtype))
    if weight is not None:
        loss = loss * weight
    return reduce_loss(loss, legacy_reduction(size_average, reduce, reduction), "binary_cross_entropy")


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + binary cross-entropy in one stable expression; ``pos_weight`` weighs the positive term.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> round(F.binary_cross_entropy_with_logits(ember.tensor([0.0]), ember.tensor([1.0])).item(), 4)
        0.6931
    """
    if target.shape != input.shape:
        raise ValueError(f"binary_cross_entropy_with_logits: target size ({tuple(target.shape)}) must be the same "
                         f"as input size ({tuple(input.shape)})")
    # -log sigmoid(x) = softplus(-x); -log(1 - sigmoid(x)) = x + softplus(-x)
    log_sigmoid_neg = softplus(-input, 1.0, 20.0)
    if pos_weight is not None:
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * log_sigmoid_neg
    else:
        loss = (1 - target) * input + log_sigmoid_neg
    if weight is not None:
        loss = loss * weight
    return reduce_loss(loss, legacy_reduction(size_average, reduce, reduction), "binary_cross_entropy_with_logits")


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence ``target * (log target - input)`` with ``input`` log-probabilities.

    ``reduction="batchmean"`` divides the sum by the batch size (the mathematically correct KL).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> p = ember.tensor([[0.5, 0.5]])
        >>> F.kl_div(p.log(), p, reduction="batchmean")
        tensor(0.)
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        positive = target.detach() > 0
        safe_log = where(positive, target, 1.0).log()
        loss = where(positive, target * (safe_log - input), 0.0 * target - 0.0 * input)
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return reduce_loss(loss, reduction, "kl_div")


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, size_average=None,
                          reduce=None, reduction: str = "mean") -> Tensor:
    """``1 - cos(x1, x2)`` for ``y = 1``, ``max(0, cos(x1, x2) - margin)`` for ``y = -1``."""
    eps = 1e-12
    dim = input1.ndim - 1
    dot = (input1 * input2).sum(dim)
    mag1 = (input1 * input1).sum(dim) + eps
    mag2 = (input2 * input2).sum(dim) + eps
    cos = dot / (mag1 * mag2).sqrt()
    zeros = cos * 0
    loss = where(target == 1, 1 - cos, zeros) + where(target == -1, (cos - margin).clamp_min(0.0), zeros)
    return reduce_loss(loss, legacy_reduction(size_average, reduce, reduction), "cosine_embedding_loss")


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """``max(0, -y (x1 - x2) + margin)``."""
    loss = (-target * (input1 - input2) + margin).clamp_min(0.0)
    return reduce_loss(loss, legacy_reduction(size_average, reduce, reduction), "margin_ranking_loss")


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    """``max(0, d(a, p) - d(a, n) + margin)`` with ``d`` the pairwise p-norm distance."""
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    loss = (d_pos - d_neg + margin).clamp_min(0.0)
    return reduce_loss(loss, legacy_reduction(size_average, reduce, reduction), "triplet_margin_loss")


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """``log(1 + exp(-y x))``."""
    loss = softplus(-target * input)
    return reduce_loss(loss, legacy_reduction(size_average, reduce, reduction), "soft_margin_loss")


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """``x`` for ``y = 1``, ``max(0, margin - x)`` for ``y = -1``."""
    zeros = input * 0
    loss = where(target == 1, input, zeros) + where(target == -1, (margin - input).clamp_min(0.0), zeros)
    return reduce_loss(loss, legacy_reduction(size_average, reduce, reduction), "hinge_embedding_loss")


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False, size_average=None,
                     eps: float = 1e-8, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of a Poisson distribution with rate ``exp(input)`` (or ``input``)."""
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        t = target.detach()
        stirling = t * t.clamp_min(1.0).log() - t + 0.5 * (2 * np.pi * t.clamp_min(1.0)).log()
        loss = loss + where(t > 1, stirling, 0.0)
    return reduce_loss(loss, legacy_reduction(size_average, reduce, reduction), "poisson_nll_loss")


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """``0.5 (log var + (x - y)^2 / var)`` (+ ``0.5 log 2 pi`` if ``full``); ``var`` is clamped at ``eps``."""
    if var.ndim == input.ndim - 1 or (var.shape[-1:] == (1,) and input.shape[-1:] != (1,)):
        var = var.reshape(tuple(var.shape[: input.ndim - 1]) + (-1,)) if var.ndim == input.ndim - 1 else var
    var = var.clamp_min(eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * float(np.log(2 * np.pi))
    return reduce_loss(loss, reduction, "gaussian_nll_loss")


class CTCLoss(Op):
    @staticmethod
    def forward(ctx, log_probs, targets, target_starts, input_lengths, target_lengths, blank, zero_infinity):
        from ...kernels import ctc  # numba loads on first use, not at `import ember`

        lp = log_probs._data
        nll, grad = ctc.ctc_loss(lp.astype(np.float64), targets, target_starts, input_lengths, target_lengths, blank)
        if zero_infinity:
            infinite = ~np.isfinite(nll)
            nll[infinite] = 0
            grad[:, infinite, :] = 0
        ctx.grad = grad.astype(lp.dtype)
        return nll.astype(lp.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        # d nll_n / d log_probs[t, n, c] = -exp(log_alpha_beta[t, c] + nll_n - log_probs[t, n, c])
        return Tensor._wrap(ctx.grad * grad._data[None, :, None]), None, None, None, None, None, None


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """Connectionist Temporal Classification loss of ``log_probs`` (T, N, C) (log-softmax outputs).

    ``targets`` is (N, S) padded or 1-d concatenated; ``reduction="mean"`` divides each sample's loss by
    its target length, then averages over the batch.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> log_probs = F.log_softmax(ember.randn(6, 2, 4), 2)
        >>> F.ctc_loss(log_probs, ember.tensor([[1, 2], [3, 3]]), [6, 6], [2, 2]).shape
        ember.Size([])
    """
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        targets = targets.unsqueeze(0) if isinstance(targets, Tensor) and targets.ndim == 1 else targets
    tgt = np.asarray(targets._data if isinstance(targets, Tensor) else targets).astype(np.int64)
    in_lens = np.asarray(input_lengths._data if isinstance(input_lengths, Tensor) else input_lengths,
                         dtype=np.int64).reshape(-1)
    tgt_lens = np.asarray(target_lengths._data if isinstance(target_lengths, Tensor) else target_lengths,
                          dtype=np.int64).reshape(-1)
    t_size, n_size = log_probs.shape[:2]
    if in_lens.size != n_size or tgt_lens.size != n_size:
        raise RuntimeError(f"ctc_loss: expected {n_size} input_lengths and target_lengths, got {in_lens.size} and "
                           f"{tgt_lens.size}")
    if in_lens.max(initial=0) > t_size:
        raise RuntimeError(f"ctc_loss: input_lengths must be at most the input length {t_size}")
    if tgt.ndim == 2:
        starts = np.arange(n_size, dtype=np.int64) * tgt.shape[1]
        flat = tgt.reshape(-1)
    else:
        starts = np.concatenate([[0], np.cumsum(tgt_lens)[:-1]]).astype(np.int64)
        flat = tgt
    nll = CTCLoss.apply(log_probs, flat, starts, in_lens, tgt_lens, int(blank), bool(zero_infinity))
    if reduction == "mean":
        lengths = Tensor._wrap(np.maximum(tgt_lens, 1).astype(log_probs._data.dtype))
        return (nll / lengths).mean()
    if reduction == "sum":
        return nll.sum()
    return nll.squeeze(0) if unbatched else nll


def _class_targets(target: Tensor, op: str) -> np.ndarray:
    """Class-index targets as int64 (any integer dtype is taken; a float one is PyTorch's error)."""
    data = target._data
    if data.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: expected scalar type Long but found {target.dtype} for the target")
    return data.astype(np.int64)


def _vector_or_matrix(input: Tensor, op: str) -> Tensor:
    """(C,) or (N, C) scores with C > 0, as (N, C)."""
    if input.ndim not in (1, 2) or input.shape[-1] == 0:
        raise RuntimeError(f"{op}: Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{list(input.shape)}")
    return input.unsqueeze(0) if input.ndim == 1 else input


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                      size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss of scores (N, C) or (C,) at class indices (N,) or ():
    ``sum_{j != y} w_y max(0, margin - x_y + x_j)^p / C`` with ``p`` 1 or 2.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.multi_margin_loss(ember.tensor([[0.1, 0.2, 0.4, 0.8]]), ember.tensor([3]))
        tensor(0.3250)
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    x = _vector_or_matrix(input, "multi_margin_loss")
    n, c = x.shape
    t = _class_targets(target, "multi_margin_loss")
    if not (t.ndim <= 1 and t.size == n) or (input.ndim == 2 and t.ndim != 1):
        raise RuntimeError(f"multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
                           f"samples (batch size). Expected target size [{n}], but got {list(target.shape)}. Input "
                           f"has shape {list(input.shape)}.")
    if weight is not None and weight.shape[0] != c:
        raise RuntimeError(f"multi_margin_loss: inconsistent weight size, expected {c} but got {list(weight.shape)}")
    t = t.reshape(n, 1)
    if t.size and (t.min() < 0 or t.max() >= c):
        raise RuntimeError(f"multi_margin_loss: target out of range (classes are 0 to {c - 1})")
    index = Tensor._wrap(t)
    hinge = (margin - x.gather(1, index) + x).clamp_min(0.0)
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        hinge = hinge * weight.gather(0, index.reshape(-1)).unsqueeze(1)
    others = (np.arange(c) != t).astype(x._data.dtype)  # the target's own term is left out
    loss = (hinge * Tensor._wrap(others)).sum(1) / c
    if reduction == "none":
        return loss.reshape(target.shape) if input.ndim == 1 else loss
    return reduce_loss(loss, reduction, "multi_margin_loss")


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """Multi-label hinge loss: ``sum_{j in T} sum_{i not in T} max(0, 1 - (x_j - x_i)) / C`` where the target
    classes ``T`` of a sample are its target row up to the first -1 (a class listed twice counts twice).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.multilabel_margin_loss(ember.tensor([[0.1, 0.2, 0.4, 0.8]]), ember.tensor([[3, 0, -1, 1]]))
        tensor(0.8500)
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    x = _vector_or_matrix(input, "multilabel_margin_loss")
    n, c = x.shape
    t = _class_targets(target, "multilabel_margin_loss")
    if t.shape != tuple(input.shape):
        raise RuntimeError(f"multilabel_margin_loss: inconsistent target size: {list(target.shape)} for input of "
                           f"size: {list(input.shape)}")
    t = t.reshape(n, c)
    if t.size and (t.min() < -1 or t.max() >= c):
        raise RuntimeError(f"multilabel_margin_loss: argument #2 'target' is out of range (classes are 0 to {c - 1}, "
                           "and -1 ends a sample's list)")
    listed = np.cumprod(t >= 0, axis=1).astype(bool)  # the entries before the first -1
    counts = np.zeros((n, c), x._data.dtype)
    np.add.at(counts, (np.nonzero(listed)[0], t[listed]), 1)
    rows = max(1, _PAIRS_PER_CHUNK // (c * c))  # (rows, C, C) pairs at a time: memory stays bounded
    loss = cat([_multilabel_hinge(x[i:i + rows], counts[i:i + rows]) for i in range(0, n, rows)]) if n else x.sum(1)
    loss = loss / c
    if input.ndim == 1:
        loss = loss.squeeze(0)
    return reduce_loss(loss, reduction, "multilabel_margin_loss")


_PAIRS_PER_CHUNK = 1 << 21


def _multilabel_hinge(x: Tensor, counts: np.ndarray) -> Tensor:
    """Per row: ``sum_j counts_j sum_{i: counts_i = 0} max(0, 1 - x_j + x_i)`` (target j, non-target i)."""
    pairs = counts[:, :, None] * (counts == 0)[:, None, :]
    hinge = (1.0 - x.unsqueeze(2) + x.unsqueeze(1)).clamp_min(0.0)
    return (hinge * Tensor._wrap(pairs)).sum((1, 2))


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                                reduce=None, reduction: str = "mean") -> Tensor:
    """One-versus-all logistic loss over the classes (last dim):
    ``-mean_c w_c (y_c log sigmoid(x_c) + (1 - y_c) log sigmoid(-x_c))``.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> round(F.multilabel_soft_margin_loss(ember.zeros(1, 3), ember.tensor([[1.0, 0.0, 1.0]])).item(), 4)
        0.6931
    """
    reduction = legacy_reduction(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(input.ndim - 1) / input.shape[-1]
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(reduction + " is not valid")
    return reduce_loss(loss, reduction, "multilabel_soft_margin_loss")


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function=None, margin: float = 1.0, swap: bool = False,
                                      reduction: str = "mean") -> Tensor:
    """``max(0, d(a, p) - d(a, n) + margin)`` with any distance ``d`` (default: ``pairwise_distance``);
    ``swap`` uses ``min(d(a, n), d(p, n))`` as the negative distance (Balntas et al., 2016).

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> a, p, n = ember.zeros(2, 3), ember.zeros(2, 3), ember.ones(2, 3)
        >>> F.triplet_margin_with_distance_loss(a, p, n, distance_function=lambda x, y: (x - y).abs().sum(-1))
        tensor(0.)
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {anchor.ndim}D, positive {positive.ndim}D, and negative "
                           f"{negative.ndim}D inputs")
    distance = pairwise_distance if distance_function is None else distance_function
    d_pos = distance(anchor, positive)
    d_neg = distance(anchor, negative)
    if swap:
        d_neg = minimum(d_neg, distance(positive, negative))
    loss = (d_pos - d_neg + margin).clamp_min(0.0)
    return reduce_loss(loss, reduction, "triplet_margin_with_distance_loss")


def linear_cross_entropy(input: Tensor, linear_weight: Tensor, target: Tensor, *, linear_bias: Tensor | None = None,
                         weight: Tensor | None = None, reduction: str = "mean", ignore_index: int | None = None,
                         label_smoothing: float = 0.0, options=None) -> Tensor:
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)`` (PyTorch 2.13's API).

    ``input`` is (in_features,) or (N, in_features); ``linear_weight`` (C, in_features), or
    (C, d1, ..., dK, in_features) for a K-dimensional loss over (N, d1, ..., dK) targets.
    ``ignore_index=None`` means -100 for class indices; it may not be given with probability targets.
    ``options`` (a ``LinearCrossEntropyOptions``) selects PyTorch's chunked kernel, which saves memory on
    large vocabularies; Ember computes the reference path whatever it says.

    Example:
        >>> import ember
        >>> from ember.nn import functional as F
        >>> F.linear_cross_entropy(ember.ones(2, 3), ember.zeros(4, 3), ember.tensor([0, 3]))
        tensor(1.3863)
    """
    if input.ndim < 1 or input.ndim > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.ndim}")
    if linear_weight.ndim < 2:
        raise RuntimeError(f"expected linear_weight with dimensionality at least 2, got {linear_weight.ndim}")
    batch, in_features = tuple(input.shape[:-1]), input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError("expected equal input and linear_weight last dimensions (in_features), got "
                           f"{in_features} and {linear_weight.shape[-1]}, respectively")
    num_classes, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (num_classes, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(num_classes, *out_features)}, got "
                           f"{tuple(linear_bias.shape)}")
    if out_features and not batch:
        raise RuntimeError(f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} requires "
                           f"batched input, (N, {in_features}), got unbatched input with shape {tuple(input.shape)}")
    logits_shape = (*batch, num_classes, *out_features)
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    if options is not None and (out_features or label_smoothing != 0.0 or target._data.dtype != np.int64
                                or reduction not in ("mean", "sum", "none")):
        warnings.warn("linear_cross_entropy: ``options`` ignored; chunked path needs reduction in "
                      "{'mean','sum','none'}, label_smoothing == 0, target.dtype == int64, out_features == (). Got "
                      f"reduction={reduction!r}, label_smoothing={label_smoothing}, target.dtype={target.dtype}, "
                      f"out_features={out_features}.", stacklevel=2)
    total = int(np.prod(out_features, dtype=np.int64)) * num_classes
    flat_bias = None if linear_bias is None else linear_bias.reshape(total)
    logits = linear(input, linear_weight.reshape(total, in_features), flat_bias).reshape(logits_shape)
    return cross_entropy(logits, target, weight=weight, reduction=reduction,
                         ignore_index=-100 if ignore_index is None else ignore_index,
                         label_smoothing=label_smoothing)
