"""Adafactor: Adam-like steps with factored second moments (row and column statistics)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, lerp_, scalar_state, to_float


class Adafactor(Optimizer):
    r"""Adafactor: Shazeer & Stern, "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost"
    (ICML 2018), in PyTorch's formulation (no first moment).

    .. math::
        \hat\beta_{2,t} &= 1 - t^{c}, \qquad \rho_t = \min(\gamma, 1/\sqrt t), \qquad
            \alpha_t = \max(\epsilon_2, \mathrm{RMS}(\theta_{t-1})) \rho_t \\
        \theta_{t-1} &\leftarrow \theta_{t-1}(1 - \gamma\lambda) \\
        R_t &= \hat\beta_{2,t} R_{t-1} + (1 - \hat\beta_{2,t}) \operatorname{mean}_{\text{cols}}(g_t^2),
            \quad C_t \text{ likewise over rows} \quad (\text{for } \ge 2\text{-d parameters}) \\
        \hat V_t &= R_t C_t / \operatorname{mean}(R_t) \quad (\text{else } \hat V_t = \hat\beta_{2,t}
            \hat V_{t-1} + (1 - \hat\beta_{2,t}) g_t^2) \\
        U_t &= g_t / \sqrt{\max(\hat V_t, \epsilon_1^2)}, \qquad
            \theta_t = \theta_{t-1} - \frac{\alpha_t}{\max(1, \mathrm{RMS}(U_t) / d)} U_t

    Args:
        params: parameters or parameter groups.
        lr: relative step size :math:`\gamma` (default 1e-2).
        beta2_decay: decay exponent :math:`c` (default -0.8).
        eps: :math:`(\epsilon_1, \epsilon_2)`; :math:`\epsilon_1` ``None`` means the dtype's epsilon
            (default (None, 1e-3)).
        d: clipping threshold (default 1.0).
        weight_decay: :math:`\lambda` (default 0).
        maximize: maximize the objective (default False).

    Example:
        >>> import ember
        >>> w = ember.ones(2, 3, requires_grad=True)
        >>> opt = ember.optim.Adafactor([w])
        >>> (w * w).sum().backward()
        >>> opt.step()
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0, weight_decay: float = 0.0, *,
                 foreach: bool | None = None, maximize: bool = False):
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = {"lr": lr, "beta2_decay": beta2_decay, "eps": eps, "d": d, "weight_decay": weight_decay,
                        "foreach": foreach, "maximize": maximize}
        super().__init__(params, defaults)

    def _init_state(self, param, group) -> dict[str, Any]:
        if param._data.dtype.kind == "c":
            raise RuntimeError("Adafactor does not support complex parameters")
        state: dict[str, Any] = {"step": scalar_state(0.0)}
        shape = param._data.shape
        if param._data.ndim > 1:
            state["row_var"] = Tensor._wrap(np.zeros(shape[:-1] + (1,), dtype=param._data.dtype))
            state["col_var"] = Tensor._wrap(np.zeros(shape[:-2] + (1,) + shape[-1:], dtype=param._data.dtype))
        else:
            state["variance"] = Tensor._wrap(np.zeros_like(param._data))
        return state

    def _prepare_group(self, group: dict) -> None:
        self._eps1 = group["eps"][0]  # PyTorch fixes eps1 from the first parameter of the group

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        lr, weight_decay, d = to_float(group["lr"]), group["weight_decay"], group["d"]
        eps2 = group["eps"][1]
        if self._eps1 is None:
            self._eps1 = float(np.finfo(param.dtype).eps)
        eps1 = self._eps1
        state["step"]._data += 1
        step = state["step"].item()
        one_minus_beta2_t = step ** group["beta2_decay"]
        rho_t = min(lr, 1 / (step**0.5))
        alpha = max(eps2, float(np.linalg.norm(param.reshape(-1))) / (param.size**0.5)) * rho_t
        if weight_decay != 0:
            param *= 1 - lr * weight_decay
        if grad.ndim > 1:
            row_var, col_var = state["row_var"]._data, state["col_var"]._data
            squared = grad * grad
            lerp_(row_var, squared.sum(axis=-1, keepdims=True) / grad.shape[-1], one_minus_beta2_t)
            lerp_(col_var, squared.sum(axis=-2, keepdims=True) / grad.shape[-2], one_minus_beta2_t)
            var_estimate = row_var @ col_var
            var_estimate /= np.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
        else:
            variance = state["variance"]._data
            lerp_(variance, grad * grad, one_minus_beta2_t)
            var_estimate = variance.copy()
        np.maximum(var_estimate, eps1 * eps1, out=var_estimate)
        update = 1.0 / np.sqrt(var_estimate)
        update *= grad
        denom = max(1.0, float(np.linalg.norm(update.reshape(-1))) / ((update.size**0.5) * d))
        update *= -alpha / denom
        param += update
