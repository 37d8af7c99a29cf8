"""NAdam: Adam with Nesterov momentum."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ._adam_base import AdamBase
from .optimizer import scalar_state


class NAdam(AdamBase):
    r"""NAdam: Dozat, "Incorporating Nesterov Momentum into Adam" (ICLR 2016 workshop).

    .. math::
        g_t &\leftarrow g_t + \lambda\theta_{t-1} \quad\text{(or } \theta_{t-1} \leftarrow
            \theta_{t-1}(1 - \gamma\lambda) \text{ when decoupled, as NAdamW)} \\
        \mu_t &= \beta_1 (1 - \tfrac12 \cdot 0.96^{t\psi}), \qquad
            \mu_{t+1} = \beta_1 (1 - \tfrac12 \cdot 0.96^{(t+1)\psi}) \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \theta_t &= \theta_{t-1} - \gamma \Big( \frac{(1 - \mu_t) g_t}{1 - \prod_{i \le t}\mu_i}
            + \frac{\mu_{t+1} m_t}{1 - \prod_{i \le t+1}\mu_i} \Big) \Big/
            \Big(\sqrt{v_t / (1 - \beta_2^t)} + \epsilon\Big)

    Args:
        params: parameters or parameter groups.
        lr: learning rate :math:`\gamma` (default 2e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` (default 1e-8).
        weight_decay: :math:`\lambda` (default 0).
        momentum_decay: :math:`\psi` (default 4e-3).
        decoupled_weight_decay: AdamW-style weight decay (default False).
        maximize: maximize the objective (default False).

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.NAdam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
    """

    def __init__(self, params: Iterable, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False):
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay, "decoupled_weight_decay": decoupled_weight_decay,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _check_options(self, defaults: dict[str, Any]) -> None:
        super()._check_options(defaults)
        if not 0.0 <= defaults["momentum_decay"]:
            raise ValueError(f"Invalid momentum_decay value: {defaults['momentum_decay']}")

    def _init_state(self, param, group) -> dict[str, Any]:
        state = super()._init_state(param, group)
        return {"step": state.pop("step"), "mu_product": scalar_state(1.0), **state}  # PyTorch's key order

    def _apply(self, param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, second_moment: np.ndarray,
               step: float, lr: float, beta1: float, beta2: float, state: dict, group: dict) -> None:
        momentum_decay = group["momentum_decay"]
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        state["mu_product"]._data *= mu  # kept in the scalar dtype, like PyTorch
        mu_product = state["mu_product"].item()
        denom = np.sqrt(second_moment / (1 - beta2**step))
        denom += group["eps"]
        mu_product_next = mu_product * mu_next
        param += (-lr * (1.0 - mu) / (1.0 - mu_product)) * (grad / denom)
        param += ((-lr * mu_next) / (1.0 - mu_product_next)) * (exp_avg / denom)
