"""``AdamBase``: the bookkeeping the Adam family (Adam, AdamW, RAdam, NAdam, Adamax) shares.

Each step of a family member counts the step, applies L2 or decoupled weight decay, moves the
first moment :math:`m_t` towards the gradient and updates the second moment (:math:`v_t`, or
:math:`u_t` for Adamax), with AMSGrad's running maximum where the optimizer offers it. What is left
is each optimizer's own rule, ``_apply``, written in its own file beside its docstring
(as tinygrad builds Adam from LAMB). ``maximize`` is the base ``Optimizer``'s (it negates the gradient).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, lerp_, scalar_state, to_float, zeros_state


class AdamBase(Optimizer):
    """Base of optimizers keeping Adam's moments; a subclass writes ``_apply``.

    The state of a parameter is ``step``, ``exp_avg`` and ``second_moment_name`` (``exp_avg_sq``),
    plus ``max_exp_avg_sq`` when the group sets ``amsgrad``.
    """

    second_moment_name = "exp_avg_sq"

    def __init__(self, params, defaults: dict[str, Any]):
        self._check_options(defaults)
        super().__init__(params, defaults)

    def _check_options(self, defaults: dict[str, Any]) -> None:
        """Raises ``ValueError`` naming the first invalid option (subclasses add their own)."""
        lr, eps, betas, weight_decay = defaults["lr"], defaults["eps"], defaults["betas"], defaults["weight_decay"]
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")

    def _init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = {"step": scalar_state(0.0), "exp_avg": zeros_state(param),
                 self.second_moment_name: zeros_state(param)}
        if group.get("amsgrad", False):
            state["max_exp_avg_sq"] = zeros_state(param)
        return state

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        lr, weight_decay = to_float(group["lr"]), group["weight_decay"]
        beta1, beta2 = (to_float(b) for b in group["betas"])
        state["step"]._data += 1
        step = state["step"].item()
        if weight_decay != 0:
            if group.get("decoupled_weight_decay", False):
                param *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param
        lerp_(state["exp_avg"]._data, grad, 1 - beta1)
        second_moment = state[self.second_moment_name]._data
        self._update_second_moment(second_moment, grad, beta2, group)
        if group.get("amsgrad", False):
            max_second_moment = state["max_exp_avg_sq"]._data
            np.maximum(max_second_moment, second_moment, out=max_second_moment)
            second_moment = max_second_moment
        self._apply(param, grad, state["exp_avg"]._data, second_moment, step, lr, beta1, beta2, state, group)

    def _update_second_moment(self, second_moment: np.ndarray, grad: np.ndarray, beta2: float,
                              group: dict[str, Any]) -> None:
        """:math:`v_t = \\beta_2 v_{t-1} + (1 - \\beta_2) g_t^2`, in place."""
        second_moment *= beta2
        second_moment += (1 - beta2) * grad * grad

    def _apply(self, param: np.ndarray, grad: np.ndarray, exp_avg: np.ndarray, second_moment: np.ndarray,
               step: float, lr: float, beta1: float, beta2: float, state: dict, group: dict) -> None:
        """Updates ``param`` in place from the updated moments (``second_moment`` is AMSGrad's maximum
        when ``amsgrad``); ``grad`` has the L2 weight decay added."""
        raise NotImplementedError
