"""Adam, and AdamW through ``decoupled_weight_decay``."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ._adam_base import AdamBase
from .optimizer import fresh, one_pass_arrays, to_float


class Adam(AdamBase):
    r"""Adam: Kingma & Ba, "Adam: A Method for Stochastic Optimization" (ICLR 2015).

    With :math:`g_t` the gradient (negated when ``maximize``):

    .. math::
        g_t &\leftarrow g_t + \lambda\theta_{t-1} \quad\text{(or } \theta_{t-1} \leftarrow
            \theta_{t-1}(1 - \gamma\lambda) \text{ when decoupled)} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \hat v_t &= \max(\hat v_{t-1}, v_t) \text{ if amsgrad else } v_t \\
        \theta_t &= \theta_{t-1} - \frac{\gamma}{1 - \beta_1^t}
            \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    AMSGrad: Reddi et al., "On the Convergence of Adam and Beyond" (ICLR 2018).

    Args:
        params: parameters or parameter groups.
        lr: learning rate :math:`\gamma` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` added to the denominator (default 1e-8).
        weight_decay: :math:`\lambda` (default 0).
        amsgrad: use the AMSGrad variant (default False).
        maximize: maximize the objective (default False).
        decoupled_weight_decay: decay the weights directly, as AdamW (default False).

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.Adam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        tensor([0.9000], requires_grad=True)
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None, decoupled_weight_decay: bool = False):
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "amsgrad": amsgrad,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable, "fused": fused, "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        if not _fusable(self, param, grad, state):
            return super()._update(param, grad, state, group)
        from ..kernels.optim import adam_update  # numba loads on first use, not at `import ember`

        # the scalars as PyTorch forms them (in double), then in the parameter's precision
        lr, weight_decay, eps = to_float(group["lr"]), group["weight_decay"], group["eps"]
        beta1, beta2 = (to_float(b) for b in group["betas"])
        state["step"]._data += 1
        step = state["step"].item()
        decoupled = weight_decay != 0 and group.get("decoupled_weight_decay", False)
        amsgrad = bool(group.get("amsgrad", False))
        second_moment = state["exp_avg_sq"]._data
        scalar = param.dtype.type
        adam_update(param.size, param.reshape(-1), np.ascontiguousarray(grad).reshape(-1),
                    state["exp_avg"]._data.reshape(-1), second_moment.reshape(-1),
                    (state["max_exp_avg_sq"]._data if amsgrad else second_moment).reshape(-1),
                    scalar(1 - beta1), scalar(1 - (1 - beta1)), scalar(beta2), scalar(1 - beta2),
                    scalar(1 - lr * weight_decay if decoupled else 1.0),
                    scalar(0.0 if decoupled else weight_decay), scalar(lr / (1 - beta1**step)),
                    scalar((1 - beta2**step) ** 0.5), scalar(eps), amsgrad)

    def _apply(self, param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, second_moment: np.ndarray,
               step: float, lr: float, beta1: float, beta2: float, state: dict, group: dict) -> None:
        step_size = lr / (1 - beta1**step)
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        denom = np.sqrt(second_moment, out=fresh(second_moment))
        denom /= bias_correction2_sqrt
        denom += group["eps"]
        np.divide(exp_avg, denom, out=denom)
        denom *= -step_size
        param += denom


def _fusable(optimizer: Adam, param: np.ndarray, grad: np.ndarray, state: dict) -> bool:
    """Whether ``ember.kernels.optim.adam_update`` can take this update: Adam's own rule (not a subclass's)
    on arrays ``one_pass_arrays`` accepts."""
    cls = type(optimizer)
    if cls._apply is not Adam._apply or cls._update_second_moment is not AdamBase._update_second_moment:
        return False
    return one_pass_arrays(param, grad, *(v._data for k, v in state.items() if k != "step"))
