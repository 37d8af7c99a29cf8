"""Adamax: Adam with the infinity norm."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ._adam_base import AdamBase


class Adamax(AdamBase):
    r"""Adamax, the infinity-norm variant of Adam: Kingma & Ba, "Adam: A Method for Stochastic
    Optimization" (ICLR 2015), section 7.

    .. math::
        g_t &\leftarrow g_t + \lambda\theta_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        u_t &= \max(\beta_2 u_{t-1}, |g_t| + \epsilon) \\
        \theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t} \frac{m_t}{u_t}

    Args:
        params: parameters or parameter groups.
        lr: learning rate :math:`\gamma` (default 2e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: :math:`\lambda` (default 0).
        maximize: maximize the objective (default False).

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.Adamax([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        tensor([0.9000], requires_grad=True)
    """

    second_moment_name = "exp_inf"

    def __init__(self, params: Iterable, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, capturable: bool = False):
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def _update_second_moment(self, second_moment: np.ndarray, grad: np.ndarray, beta2: float,
                              group: dict[str, Any]) -> None:
        # u_t = max(beta2 u_{t-1}, |g_t| + eps)
        second_moment *= beta2
        norm = np.abs(grad)
        norm += group["eps"]
        np.maximum(second_moment, norm, out=second_moment)

    def _apply(self, param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, second_moment: np.ndarray,
               step: float, lr: float, beta1: float, beta2: float, state: dict, group: dict) -> None:
        clr = lr / (1 - beta1**step)
        update = exp_avg / second_moment
        update *= -clr
        param += update
