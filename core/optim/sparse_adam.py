"""SparseAdam: Adam for sparse gradients, updating only the rows a gradient holds."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .._sparse_tensor import COO
from ..tensor import Tensor
from .optimizer import Optimizer, to_float, zeros_state


class SparseAdam(Optimizer):
    r"""Adam restricted to the entries of a sparse gradient (``Embedding(sparse=True)``), PyTorch's "lazy"
    variant: only the moments and parameter rows the gradient holds are touched in a step.

    For the coalesced gradient :math:`g_t` (negated when ``maximize``) at entries :math:`I`:

    .. math::
        m_I &\leftarrow \beta_1 m_I + (1 - \beta_1) g_t, \qquad v_I \leftarrow \beta_2 v_I + (1 - \beta_2) g_t^2 \\
        \theta_I &\leftarrow \theta_I - \gamma \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t}
            \frac{m_I}{\sqrt{v_I} + \epsilon}

    (:math:`t` counts the steps this parameter got a gradient.) Adam: Kingma & Ba, "Adam: A Method for
    Stochastic Optimization" (ICLR 2015).

    Args:
        params: parameters or parameter groups (dense tensors whose gradients are sparse).
        lr: learning rate :math:`\gamma` (default 1e-3).
        betas: :math:`(\beta_1, \beta_2)` (default (0.9, 0.999)).
        eps: :math:`\epsilon` added to the denominator (default 1e-8).
        maximize: maximize the objective instead of minimizing it (default False).

    Example:
        >>> import ember
        >>> emb = ember.nn.Embedding(10, 3, sparse=True)
        >>> opt = ember.optim.SparseAdam(emb.parameters(), lr=0.1)
        >>> emb(ember.tensor([1, 4])).sum().backward()
        >>> opt.step()
    """

    _sparse_grads = True

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, maximize: bool = False):
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "maximize": maximize})
        sparse_params = [[g, i] for g, group in enumerate(self.param_groups)
                         for i, p in enumerate(group["params"]) if p.is_sparse]
        if sparse_params:
            raise ValueError(f"Sparse params at indices {sparse_params}: SparseAdam requires dense parameter "
                             "tensors")

    def _init_state(self, param: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "exp_avg": zeros_state(param), "exp_avg_sq": zeros_state(param)}

    def _update(self, param: np.ndarray, grad, state: dict, group: dict) -> None:
        if not isinstance(grad, COO):
            raise RuntimeError("SparseAdam does not support dense gradients, please consider Adam instead")
        grad = grad.coalesce()
        if grad.nnz == 0:
            return
        beta1, beta2 = (to_float(b) for b in group["betas"])
        state["step"] += 1
        rows = tuple(grad.indices)
        exp_avg, exp_avg_sq = state["exp_avg"]._data, state["exp_avg_sq"]._data
        old_exp_avg, old_exp_avg_sq = exp_avg[rows], exp_avg_sq[rows]
        exp_avg_update = (grad.values - old_exp_avg) * (1 - beta1)
        exp_avg[rows] += exp_avg_update
        exp_avg_sq_update = (grad.values ** 2 - old_exp_avg_sq) * (1 - beta2)
        exp_avg_sq[rows] += exp_avg_sq_update
        numer = exp_avg_update + old_exp_avg
        denom = np.sqrt(exp_avg_sq_update + old_exp_avg_sq) + group["eps"]
        step = state["step"]
        step_size = to_float(group["lr"]) * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
        param[rows] += (-step_size * (numer / denom)).astype(param.dtype, copy=False)
