"""RMSprop: gradient scaled by a running root-mean-square."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .._device import is_meta_array
from .optimizer import Optimizer, fresh, lerp_, scalar_state, to_float, zeros_state


class RMSprop(Optimizer):
    r"""RMSprop: Hinton, "Neural Networks for Machine Learning", lecture 6e (2012); the centered
    version follows Graves, "Generating Sequences With Recurrent Neural Networks" (2013).

    .. math::
        g_t &\leftarrow g_t + \lambda\theta_{t-1} \\
        v_t &= \alpha v_{t-1} + (1 - \alpha) g_t^2 \\
        \tilde v_t &= v_t - \bar g_t^2, \quad \bar g_t = \alpha \bar g_{t-1} + (1 - \alpha) g_t
            \quad\text{if centered, else } \tilde v_t = v_t \\
        b_t &= \mu b_{t-1} + g_t / (\sqrt{\tilde v_t} + \epsilon), \qquad \theta_t = \theta_{t-1} - \gamma b_t
            \quad\text{(with } \mu = 0\text{: } \theta_t = \theta_{t-1} - \gamma g_t / (\sqrt{\tilde v_t}
            + \epsilon)\text{)}

    Args:
        params: parameters or parameter groups.
        lr: learning rate :math:`\gamma` (default 1e-2).
        alpha: smoothing constant :math:`\alpha` (default 0.99).
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: :math:`\lambda` (default 0).
        momentum: momentum factor :math:`\mu` (default 0).
        centered: normalize by the estimated variance of the gradient (default False).
        maximize: maximize the objective (default False).

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.RMSprop([w], lr=0.01)
        >>> (w * w).sum().backward()
        >>> opt.step()
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps, "centered": centered,
                        "weight_decay": weight_decay, "capturable": capturable, "foreach": foreach, "maximize": maximize,
                        "differentiable": differentiable}
        super().__init__(params, defaults)

    def _init_state(self, param, group) -> dict[str, Any]:
        state = {"step": scalar_state(0.0), "square_avg": zeros_state(param)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = zeros_state(param)
        if group["centered"]:
            state["grad_avg"] = zeros_state(param)
        return state

    def _buffer(self, like: np.ndarray, slot: int) -> np.ndarray:
        """An array shaped like ``like`` to compute into: a view of one of two flat buffers the optimizer keeps
        for every parameter and step (fresh arrays the size of a large model's weights pay a page fault per 4 KiB
        at each step: U-Net's 17M weights spent half of RMSprop's time there), or a fresh array for a 0-d or meta
        parameter."""
        if type(like) is not np.ndarray or like.ndim == 0 or is_meta_array(like):
            return fresh(like)
        buffers = self.__dict__.setdefault("_scratch", {})
        flat = buffers.get((slot, like.dtype))
        if flat is None or flat.size < like.size:
            flat = buffers[slot, like.dtype] = np.empty(like.size, like.dtype)
        return flat[:like.size].reshape(like.shape)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        alpha, weight_decay, momentum = group["alpha"], group["weight_decay"], group["momentum"]
        square_avg = state["square_avg"]._data
        state["step"]._data += 1
        if weight_decay != 0:
            decayed = np.multiply(param, weight_decay, out=self._buffer(param, 0))
            grad = np.add(grad, decayed, out=decayed)
        square_avg *= alpha
        avg = np.multiply(grad, 1 - alpha, out=self._buffer(param, 1))
        avg *= grad
        square_avg += avg
        if group["centered"]:
            grad_avg = state["grad_avg"]._data
            lerp_(grad_avg, grad, 1 - alpha, avg)
            np.multiply(grad_avg, grad_avg, out=avg)
            np.subtract(square_avg, avg, out=avg)
            np.sqrt(avg, out=avg)
        else:
            np.sqrt(square_avg, out=avg)
        avg += group["eps"]
        lr = to_float(group["lr"])
        np.divide(grad, avg, out=avg)
        if momentum > 0:
            buf = state["momentum_buffer"]._data
            buf *= momentum
            buf += avg
            np.multiply(buf, lr, out=avg)
            param -= avg
        else:
            avg *= -lr
            param += avg
