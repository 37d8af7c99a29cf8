"""Adadelta: per-coordinate step sizes from running averages of squared gradients and updates."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, one_pass_arrays, scalar_state, to_float, zeros_state


class Adadelta(Optimizer):
    r"""Adadelta: Zeiler, "ADADELTA: An Adaptive Learning Rate Method" (2012).

    .. math::
        g_t &\leftarrow g_t + \lambda\theta_{t-1} \\
        v_t &= \rho v_{t-1} + (1 - \rho) g_t^2 \\
        \Delta x_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}} g_t \\
        u_t &= \rho u_{t-1} + (1 - \rho) \Delta x_t^2 \\
        \theta_t &= \theta_{t-1} - \gamma \Delta x_t

    Args:
        params: parameters or parameter groups.
        lr: coefficient :math:`\gamma` scaling the delta (default 1.0).
        rho: decay :math:`\rho` of the running averages (default 0.9).
        eps: :math:`\epsilon` for numerical stability (default 1e-6).
        weight_decay: :math:`\lambda` (default 0).
        maximize: maximize the objective (default False).

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.Adadelta([w])
        >>> (w * w).sum().backward()
        >>> opt.step()
    """

    def __init__(self, params: Iterable, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay, "maximize": maximize,
                        "capturable": capturable, "foreach": foreach, "differentiable": differentiable}
        super().__init__(params, defaults)

    def _init_state(self, param, group) -> dict[str, Any]:
        return {"step": scalar_state(0.0), "square_avg": zeros_state(param), "acc_delta": zeros_state(param)}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        rho, eps, weight_decay = group["rho"], group["eps"], group["weight_decay"]
        square_avg, acc_delta = state["square_avg"]._data, state["acc_delta"]._data
        state["step"]._data += 1
        if type(self)._update is Adadelta._update and one_pass_arrays(param, grad, square_avg, acc_delta):
            from ..kernels.optim import adadelta_update  # numba loads on first use, not at `import ember`

            scalar = param.dtype.type  # (the numpy path's scalars meet float32 arrays in float32 too)
            adadelta_update(param.size, param.reshape(-1), np.ascontiguousarray(grad).reshape(-1),
                            square_avg.reshape(-1), acc_delta.reshape(-1), scalar(rho), scalar(1 - rho),
                            scalar(eps), scalar(weight_decay), scalar(-to_float(group["lr"])))
            return
        if weight_decay != 0:
            grad = grad + weight_decay * param
        square_avg *= rho
        square_avg += (1 - rho) * grad * grad
        std = np.sqrt(square_avg + eps)
        delta = np.sqrt(acc_delta + eps)
        delta /= std
        delta *= grad
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        delta *= -to_float(group["lr"])
        param += delta
