"""RAdam: Adam with a rectified adaptive learning rate."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ._adam_base import AdamBase


class RAdam(AdamBase):
    r"""RAdam: Liu et al., "On the Variance of the Adaptive Learning Rate and Beyond" (ICLR 2020).

    .. math::
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \rho_\infty &= 2 / (1 - \beta_2) - 1, \qquad
            \rho_t = \rho_\infty - 2 t \beta_2^t / (1 - \beta_2^t) \\
        \theta_t &= \theta_{t-1} - \gamma \frac{m_t}{1 - \beta_1^t} \cdot
            \begin{cases} r_t \sqrt{1 - \beta_2^t} / (\sqrt{v_t} + \epsilon) & \rho_t > 5 \\
            1 & \text{otherwise} \end{cases} \\
        r_t &= \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\rho_\infty}{(\rho_\infty - 4)(\rho_\infty - 2)\rho_t}}

    with L2 weight decay added to :math:`g_t`, or decoupled (RAdamW) when ``decoupled_weight_decay``.

    Args:
        params: parameters or parameter groups.
        lr: learning rate :math:`\gamma` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: :math:`\lambda` (default 0).
        decoupled_weight_decay: AdamW-style weight decay (default False).
        maximize: maximize the objective (default False).

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.RAdam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        tensor([0.8000], requires_grad=True)
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False):
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable, "decoupled_weight_decay": decoupled_weight_decay,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _apply(self, param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, second_moment: np.ndarray,
               step: float, lr: float, beta1: float, beta2: float, state: dict, group: dict) -> None:
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        update = exp_avg / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        update *= lr
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive = np.sqrt(second_moment)
            adaptive += group["eps"]
            np.divide(bias_correction2**0.5, adaptive, out=adaptive)
            update *= adaptive
            update *= rect
        param -= update
