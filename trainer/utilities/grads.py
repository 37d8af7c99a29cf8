"""``grad_norm``: the norms of a module's gradients, to log (Lightning's ``lightning.pytorch.utilities.grad_norm``)."""

from __future__ import annotations

import ember
from ember import nn


def grad_norm(module: nn.Module, norm_type: float | str, group_separator: str = "/") -> dict[str, ember.Tensor]:
    """The ``norm_type`` norm of each parameter's gradient, ``grad_<p>_norm/<name>``, and of all of them together,
    ``grad_<p>_norm_total`` (parameters without a gradient are left out).

    Args:
        module: the module whose ``named_parameters`` are measured.
        norm_type: the order of the norm (a positive number, or ``"inf"``).
        group_separator: between the norm's name and the parameter's (loggers may group by it).

    Example:
        >>> # in a TrainingModule:
        >>> # def on_before_optimizer_step(self, optimizer):
        >>> #     self.log_dict(grad_norm(self.layer, norm_type=2))
    """
    norm_type = float(norm_type)
    if norm_type <= 0:
        raise ValueError(f"`norm_type` must be a positive number or 'inf' (infinity norm). Got {norm_type}")
    norms = {f"grad_{norm_type}_norm{group_separator}{name}": p.grad.detach().norm(norm_type)
             for name, p in module.named_parameters() if p.grad is not None}
    if norms:
        norms[f"grad_{norm_type}_norm_total"] = ember.stack(list(norms.values())).norm(norm_type)
    return norms
