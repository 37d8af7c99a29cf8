"""Averaged stochastic gradient descent."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, scalar_state, to_float, zeros_state


class ASGD(Optimizer):
    r"""Averaged SGD: Polyak & Juditsky, "Acceleration of Stochastic Approximation by Averaging"
    (SIAM J. Control Optim. 1992).

    .. math::
        g_t &\leftarrow g_t + \lambda\theta_{t-1} \\
        \theta_t &= \theta_{t-1}(1 - \lambda_d \eta_{t-1}) - \eta_{t-1} g_t \\
        a_t &= a_{t-1} + \mu_{t-1}(\theta_t - a_{t-1}) \quad (a_t = \theta_t \text{ while } \mu = 1) \\
        \eta_t &= \gamma / (1 + \lambda_d \gamma t)^\alpha, \qquad \mu_t = 1 / \max(1, t - t_0)

    The averaged parameters :math:`a_t` are in ``optimizer.state[p]["ax"]``.

    Args:
        params: parameters or parameter groups.
        lr: learning rate :math:`\gamma` (default 1e-2).
        lambd: decay term :math:`\lambda_d` (default 1e-4).
        alpha: power :math:`\alpha` of the eta update (default 0.75).
        t0: step :math:`t_0` at which averaging starts (default 1e6).
        weight_decay: :math:`\lambda` (default 0).
        maximize: maximize the objective (default False).

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.ASGD([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0, "weight_decay": weight_decay, "foreach": foreach,
                        "maximize": maximize, "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def _init_state(self, param, group) -> dict[str, Any]:
        return {"step": scalar_state(0.0), "eta": scalar_state(to_float(group["lr"])),
                "mu": scalar_state(1.0), "ax": zeros_state(param)}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        lr, lambd, alpha, t0 = to_float(group["lr"]), group["lambd"], group["alpha"], group["t0"]
        state["step"]._data += 1
        step = state["step"].item()
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        eta = state["eta"].item()
        param *= 1 - lambd * eta
        param -= eta * grad
        ax, mu = state["ax"]._data, state["mu"].item()
        if mu != 1:
            ax += (param - ax) * mu
        else:
            ax[...] = param
        state["eta"]._data[...] = lr / ((1 + lambd * lr * step) ** alpha)
        state["mu"]._data[...] = 1 / max(1, step - t0)
