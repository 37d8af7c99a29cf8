"""Rprop: resilient backpropagation, sign-based steps with adaptive sizes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .optimizer import Optimizer, full_state, scalar_state, to_float, zeros_state


class Rprop(Optimizer):
    r"""Rprop: Riedmiller & Braun, "A Direct Adaptive Method for Faster Backpropagation Learning:
    The RPROP Algorithm" (ICNN 1993).

    Per coordinate, with :math:`s = \operatorname{sign}(g_t g_{t-1})`:

    .. math::
        \eta_t &= \operatorname{clip}(\eta_{t-1} \cdot \{\eta_+ \text{ if } s > 0;\ \eta_- \text{ if }
            s < 0;\ 1 \text{ otherwise}\}, \Gamma_{\min}, \Gamma_{\max}) \\
        g_t &\leftarrow 0 \text{ where } s < 0 \\
        \theta_t &= \theta_{t-1} - \eta_t \operatorname{sign}(g_t)

    Step sizes start at ``lr``; the stored previous gradient is the (zeroed) :math:`g_t`.

    Args:
        params: parameters or parameter groups.
        lr: initial step size (default 1e-2).
        etas: :math:`(\eta_-, \eta_+)` (default (0.5, 1.2)).
        step_sizes: :math:`(\Gamma_{\min}, \Gamma_{\max})` (default (1e-6, 50)).
        maximize: maximize the objective (default False).

    Example:
        >>> import ember
        >>> w = ember.tensor([1.0], requires_grad=True)
        >>> opt = ember.optim.Rprop([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w
        tensor([0.9000], requires_grad=True)
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {"lr": lr, "etas": etas, "step_sizes": step_sizes, "foreach": foreach, "maximize": maximize,
                        "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def _init_state(self, param, group) -> dict[str, Any]:
        return {"step": scalar_state(0.0), "prev": zeros_state(param),
                "step_size": full_state(param, to_float(group["lr"]))}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        prev, step_size = state["prev"]._data, state["step_size"]._data
        state["step"]._data += 1
        sign = np.sign(grad * prev)
        factor = np.where(sign > 0, etaplus, np.where(sign < 0, etaminus, 1.0)).astype(param.dtype, copy=False)
        step_size *= factor
        np.maximum(step_size, step_size_min, out=step_size)  # clip, as ufuncs (which meta arrays skip)
        np.minimum(step_size, step_size_max, out=step_size)
        grad = np.where(sign < 0, 0, grad).astype(param.dtype, copy=False)
        param -= np.sign(grad) * step_size
        prev[...] = grad
