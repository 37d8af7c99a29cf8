"""Weight averaging: ``AveragedModel`` (SWA and EMA), ``SWALR`` and ``update_bn``, after
``torch.optim.swa_utils``.

SWA: Izmailov et al., "Averaging Weights Leads to Wider Optima and Better Generalization" (UAI 2018).
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..autograd.grad_mode import no_grad
from ..nn.modules.module import Module
from ..nn.modules.normalization import _BatchNorm
from ..tensor import Tensor
from ._lr_scheduler_base import LRScheduler, _format_param
from .optimizer import Optimizer, lerp_

__all__ = [
    "SWALR",
    "AveragedModel",
    "get_ema_avg_fn",
    "get_ema_multi_avg_fn",
    "get_swa_avg_fn",
    "get_swa_multi_avg_fn",
    "update_bn",
]


def _count(n_averaged) -> float:
    return float(n_averaged.item() if isinstance(n_averaged, Tensor) else n_averaged)


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """In-place exponential moving average of lists of tensors: ``ema = decay * ema + (1 - decay) * p``."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")

    def ema_update(ema_params: list[Tensor], current_params: list[Tensor], _num_averaged) -> None:
        for ema, current in zip(ema_params, current_params):
            if ema._data.dtype.kind in "fc":
                lerp_(ema._data, current._data, 1 - decay)
            else:
                ema._data[...] = ema._data * decay + current._data * (1 - decay)

    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """In-place running mean of lists of tensors: ``avg += (p - avg) / (n + 1)``."""

    def swa_update(averaged_params: list[Tensor], current_params: list[Tensor], num_averaged) -> None:
        n = _count(num_averaged)
        for averaged, current in zip(averaged_params, current_params):
            if averaged._data.dtype.kind in "fc":
                lerp_(averaged._data, current._data, 1 / (n + 1))
            else:
                averaged._data[...] = averaged._data + (current._data - averaged._data) / (n + 1)

    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """Per-tensor EMA: returns ``decay * ema + (1 - decay) * p``."""
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged):
        return Tensor._wrap(decay * ema_param._data + (1 - decay) * current_param._data)

    return ema_update


def get_swa_avg_fn() -> Callable:
    """Per-tensor running mean: returns ``avg + (p - avg) / (n + 1)``."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged):
        return Tensor._wrap(averaged_param._data + (current_param._data - averaged_param._data)
                            / (_count(num_averaged) + 1))

    return swa_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters are the running average (SWA, the default) or an
    exponential moving average (``multi_avg_fn=get_ema_multi_avg_fn(decay)``) of ``model``'s.

    Call ``update_parameters(model)`` after optimizer steps; the first call copies the weights.
    With ``use_buffers=True`` buffers (e.g. BatchNorm statistics) are averaged too; otherwise they
    are copied from ``model`` at each update.

    Args:
        model: the model to average.
        device: accepted for PyTorch compatibility (CPU only).
        avg_fn: ``avg_fn(averaged, current, n_averaged) -> new averaged`` per tensor.
        multi_avg_fn: ``multi_avg_fn(averaged_list, current_list, n_averaged)`` updating in place.
        use_buffers: average buffers as well as parameters.

    Example:
        >>> import ember
        >>> from ember.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
        >>> model = ember.nn.Linear(2, 1)
        >>> ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
        >>> ema.update_parameters(model)
    """

    def __init__(self, model: Module, device=None, avg_fn: Callable | None = None,
                 multi_avg_fn: Callable | None = None, use_buffers: bool = False):
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = copy.deepcopy(model)
        self.register_buffer("n_averaged", Tensor._wrap(np.array(0, dtype=np.int64)))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Folds ``model``'s current weights into the average."""
        if self.use_buffers:
            averaged = list(itertools.chain(self.module.parameters(), self.module.buffers()))
            current = list(itertools.chain(model.parameters(), model.buffers()))
        else:
            averaged, current = list(self.module.parameters()), list(model.parameters())
        averaged = [p.detach() for p in averaged]
        current = [p.detach() for p in current]
        n = int(self.n_averaged.item())
        if n == 0:
            for a, c in zip(averaged, current):
                a._data[...] = c._data
        else:
            if self.avg_fn is None:
                (self.multi_avg_fn or get_swa_multi_avg_fn())(averaged, current, self.n_averaged)
            else:
                for a, c in zip(averaged, current):
                    a._data[...] = self.avg_fn(a, c, self.n_averaged)._data
        for a in averaged:
            a._vc[0] += 1
        if not self.use_buffers:
            for b_avg, b_model in zip(self.module.buffers(), model.buffers()):
                b_avg._data[...] = b_model._data
        self.n_averaged._data += 1


def update_bn(loader: Iterable[Any], model: Module, device=None) -> None:
    """Recomputes the BatchNorm running statistics of ``model`` with one pass over ``loader``.

    Each BatchNorm layer's statistics are reset and re-estimated as a cumulative average
    (``momentum=None``) over the batches; a batch that is a list or tuple contributes its first item.

    Example:
        >>> import ember
        >>> model = ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.BatchNorm1d(4))
        >>> ember.optim.swa_utils.update_bn([ember.randn(8, 3) for _ in range(2)], model)
    """
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)


class SWALR(LRScheduler):
    """Anneals each group's rate to a fixed ``swa_lr`` over ``anneal_epochs`` epochs (cosine or linear),
    then holds it, for the SWA phase of training.

    Example:
        >>> import ember
        >>> opt = ember.optim.SGD([ember.zeros(1, requires_grad=True)], lr=0.5)
        >>> sched = ember.optim.swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=5)
    """

    def __init__(self, optimizer: Optimizer, swa_lr: float | list[float], anneal_epochs: int = 10,
                 anneal_strategy: str = "cos", last_epoch: int = -1):
        for lr, group in zip(_format_param("swa_lr", optimizer, swa_lr), optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._anneal_strategy = anneal_strategy
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def anneal_func(self, t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2 if self._anneal_strategy == "cos" else t

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[float]:
        self._warn_if_called_outside_step()
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        groups = self.optimizer.param_groups
        prev_lrs = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in groups]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(groups, prev_lrs)]
