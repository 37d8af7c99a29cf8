"""Stochastic gradient descent, with momentum and Nesterov momentum."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .._sparse_tensor import COO, SparseTensor
from ..tensor import Tensor
from .optimizer import Optimizer, one_pass_arrays, to_float

# Without momentum numpy's update is one expression, and the kernel's call (its arguments checked and
# converted, numba's dispatch) costs more than it saves below ~16k elements (benchmarks/README.md, fourth
# session: the Trainer benchmark's small MLP).
_ONE_PASS_PLAIN = 1 << 14


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), PyTorch's formulation.

    With :math:`g_t` the gradient (negated when ``maximize``), each step computes

    .. math::
        g_t &\leftarrow g_t + \lambda \theta_{t-1} \quad \text{(weight decay)} \\
        b_t &= \mu b_{t-1} + (1 - \tau) g_t \quad (b_1 = g_1) \\
        g_t &\leftarrow g_t + \mu b_t \text{ if nesterov else } b_t \\
        \theta_t &= \theta_{t-1} - \gamma g_t

    A sparse COO gradient (``Embedding(sparse=True)``) updates only the rows it holds; its momentum buffer
    is sparse too, as torch's, and weight decay is refused as torch refuses it.

    Nesterov momentum follows Sutskever et al., "On the importance of initialization and momentum
    in deep learning" (ICML 2013).

    Args:
        params: parameters or parameter groups.
        lr: learning rate :math:`\gamma` (default 1e-3).
        momentum: momentum factor :math:`\mu` (default 0).
        dampening: dampening :math:`\tau` of the momentum (default 0).
        weight_decay: L2 penalty :math:`\lambda` (default 0).
        nesterov: use Nesterov momentum (default False).
        maximize: maximize the objective instead of minimizing it (default False).

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        tensor([0.8000], requires_grad=True)
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                        "nesterov": nesterov, "maximize": maximize, "foreach": foreach, "differentiable": differentiable,
                        "fused": fused}
        super().__init__(params, defaults)

    def _init_state(self, param, group) -> dict[str, Any]:
        return {"momentum_buffer": None} if group["momentum"] != 0 else {}

    _sparse_grads = True

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        weight_decay, momentum = group["weight_decay"], group["momentum"]
        buf = state.get("momentum_buffer")
        if isinstance(grad, COO) or isinstance(buf, SparseTensor):
            self._sparse_update(param, grad, state, group)
            return
        if (momentum != 0 or param.size >= _ONE_PASS_PLAIN) and type(self)._update is SGD._update and one_pass_arrays(
                param, grad, *(() if buf is None else (buf._data,))):
            from ..kernels.optim import sgd_update  # numba loads on first use, not at `import ember`

            first = buf is None
            if first and momentum != 0:
                buf = state["momentum_buffer"] = Tensor._wrap(np.empty_like(param))
            scalar = param.dtype.type  # (torch's alphas: in the tensor's dtype)
            sgd_update(param.size, param.reshape(-1), np.ascontiguousarray(grad).reshape(-1),
                       param.reshape(-1) if buf is None else buf._data.reshape(-1), first, scalar(weight_decay),
                       scalar(momentum), scalar(1 - group["dampening"]), bool(group["nesterov"]),
                       scalar(-to_float(group["lr"])))
            return
        if weight_decay != 0:
            grad = grad + weight_decay * param
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = Tensor._wrap(np.array(grad, copy=True))
            else:
                buf._data *= momentum
                buf._data += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf._data if group["nesterov"] else buf._data
        param -= to_float(group["lr"]) * grad

    def _sparse_update(self, param: np.ndarray, grad, state: dict, group: dict) -> None:
        """The update with a sparse gradient: ``param[rows] -= lr * step`` for the rows the gradient (or the
        sparse momentum buffer) holds."""
        if group["weight_decay"] != 0 and isinstance(grad, COO):
            raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
        if not isinstance(grad, COO):  # a dense gradient after sparse ones: the buffer becomes dense
            state["momentum_buffer"] = Tensor._wrap(state["momentum_buffer"]._data.to_dense())
            self._update(param, grad, state, group)
            return
        momentum, step = group["momentum"], grad
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = grad.coalesce().copy()
            elif isinstance(buf, SparseTensor):
                old = buf._data
                buf = COO(np.concatenate([old.indices, grad.indices], axis=1),
                          np.concatenate([momentum * old.values, (1 - group["dampening"]) * grad.values]),
                          old.shape, False).coalesce()
            else:  # a dense buffer from dense gradients: it stays dense
                buf._data *= momentum
                np.add.at(buf._data, tuple(grad.indices), (1 - group["dampening"]) * grad.values)
                step = buf._data
            if isinstance(buf, COO):
                state["momentum_buffer"] = SparseTensor._wrap(buf)
                step = buf
                if group["nesterov"]:
                    step = COO(np.concatenate([grad.indices, buf.indices], axis=1),
                               np.concatenate([grad.values, momentum * buf.values]), buf.shape, False)
            elif group["nesterov"]:
                step = step * momentum
                np.add.at(step, tuple(grad.indices), grad.values)
        lr = to_float(group["lr"])
        if isinstance(step, COO):
            np.add.at(param, tuple(step.indices), (-lr * step.values).astype(param.dtype, copy=False))
        else:
            param -= lr * step
