"""``configure_optimizers`` return forms, scheduler configs and stepping, the loss check, gradient clipping,
manual-optimization wrappers."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ember
from ember.nn import utils

_CONFIG_KEYS = {"scheduler", "interval", "frequency", "monitor", "strict", "name", "reduce_on_plateau", "opt_idx"}


@dataclass
class LRSchedulerConfig:
    """Lightning's scheduler configuration: step ``scheduler`` every ``frequency`` epochs or steps
    (``interval``); ``monitor`` names the metric a ``ReduceLROnPlateau`` is stepped with."""

    scheduler: Any
    name: str | None = None
    interval: str = "epoch"
    frequency: int = 1
    reduce_on_plateau: bool = False
    monitor: str | None = None
    strict: bool = True


def _is_optimizer(obj) -> bool:
    return hasattr(obj, "param_groups") and hasattr(obj, "step") and hasattr(obj, "zero_grad")


def _is_plateau(scheduler) -> bool:
    return type(scheduler).__name__ == "ReduceLROnPlateau"


def _scheduler_config(item, monitor: str | None = None) -> LRSchedulerConfig:
    if isinstance(item, dict):
        unknown = set(item) - _CONFIG_KEYS
        if unknown:
            raise ValueError(f"configure_optimizers: unknown lr_scheduler keys {sorted(unknown)}; "
                             f"allowed: {sorted(_CONFIG_KEYS)}")
        if "scheduler" not in item:
            raise ValueError('configure_optimizers: an lr_scheduler dict needs a "scheduler" key')
        config = LRSchedulerConfig(
            scheduler=item["scheduler"], name=item.get("name"), interval=item.get("interval", "epoch"),
            frequency=int(item.get("frequency", 1)), monitor=item.get("monitor", monitor),
            strict=bool(item.get("strict", True)),
        )
    else:
        config = LRSchedulerConfig(scheduler=item, monitor=monitor)
    if config.interval not in ("epoch", "step"):
        raise ValueError(f'configure_optimizers: lr_scheduler "interval" must be "epoch" or "step", got {config.interval!r}')
    config.reduce_on_plateau = _is_plateau(config.scheduler)
    if config.reduce_on_plateau and config.monitor is None:
        raise ValueError(
            "configure_optimizers: a ReduceLROnPlateau scheduler needs a metric to monitor, e.g. "
            '{"optimizer": opt, "lr_scheduler": {"scheduler": plateau, "monitor": "val_loss"}}'
        )
    return config


def parse_optimizers(returned: Any) -> tuple[list, list[LRSchedulerConfig]]:
    """Splits whatever ``configure_optimizers`` returned into (optimizers, scheduler configs)."""
    if returned is None:
        return [], []
    if _is_optimizer(returned):
        return [returned], []
    if isinstance(returned, dict):
        return _parse_dicts([returned])
    if isinstance(returned, (list, tuple)):
        if (len(returned) == 2 and isinstance(returned[0], (list, tuple))
                and all(_is_optimizer(o) for o in returned[0])):
            schedulers = returned[1] if isinstance(returned[1], (list, tuple)) else [returned[1]]
            return list(returned[0]), [_scheduler_config(s) for s in schedulers]
        if all(isinstance(item, dict) for item in returned):
            return _parse_dicts(list(returned))
        if all(_is_optimizer(o) for o in returned):
            return list(returned), []
    raise TypeError(
        "configure_optimizers returned something the Trainer does not understand: "
        f"{type(returned).__name__}. Return an optimizer, a list of optimizers, ([optimizers], [schedulers]), "
        'or a dict {"optimizer": ..., "lr_scheduler": ...} (or a list of such dicts).'
    )


def _parse_dicts(items: list[dict]) -> tuple[list, list[LRSchedulerConfig]]:
    optimizers, configs = [], []
    for item in items:
        unknown = set(item) - {"optimizer", "lr_scheduler", "monitor", "frequency"}
        if unknown or "optimizer" not in item:
            raise ValueError(
                f"configure_optimizers: a dict must have an 'optimizer' key and may have 'lr_scheduler', 'monitor'; "
                f"got keys {sorted(item)}"
            )
        optimizers.append(item["optimizer"])
        if item.get("lr_scheduler") is not None:
            configs.append(_scheduler_config(item["lr_scheduler"], item.get("monitor")))
    return optimizers, configs


def plain_loss(output, detect_anomaly: bool = False):
    """The loss of a ``training_step`` ``output`` when ``checked_loss`` would pass it without a look at its
    value (a one-element Tensor that requires grad, or a dict holding one under ``"loss"``; not under
    ``detect_anomaly``); None otherwise."""
    loss = output.get("loss") if isinstance(output, dict) else output
    if isinstance(loss, ember.Tensor) and loss.numel() == 1 and loss.requires_grad and not detect_anomaly:
        return loss
    return None


def checked_loss(output, where: str, detect_anomaly: bool = False):
    """The loss of a ``training_step`` ``output`` (a scalar Tensor, or a dict with a ``"loss"`` one) in
    automatic optimization; a clear error, naming ``where``, for anything that cannot be backpropagated."""
    loss = plain_loss(output, detect_anomaly)
    if loss is not None:
        return loss
    loss = output.get("loss") if isinstance(output, dict) else output
    if output is None:
        raise RuntimeError(f"{where} returned None; with automatic optimization it must return the loss "
                           "(a scalar Tensor) or a dict with a 'loss' key. Did you forget `return loss`?")
    if not isinstance(loss, ember.Tensor):
        keys = f" (keys: {sorted(output)})" if isinstance(output, dict) else ""
        raise TypeError(f"{where} must return a scalar Tensor loss or a dict with a 'loss' Tensor; "
                        f"got {type(loss).__name__}{keys}")
    if loss.numel() != 1:
        raise ValueError(f"{where} returned a loss of shape {tuple(loss.shape)}; it must be a scalar "
                         "(reduce it, e.g. loss.mean())")
    if not loss.requires_grad:
        raise RuntimeError(f"{where} returned a loss that does not require grad: it was computed under "
                           "no_grad/inference_mode, from detached tensors, or from parameters with "
                           "requires_grad=False, so no gradient can flow to the parameters")
    if detect_anomaly and not math.isfinite(loss.item()):
        raise FloatingPointError(f"{where} returned a non-finite loss ({loss.item()}); "
                                 "detect_anomaly=True stops at the first NaN/inf loss")
    return loss


def step_schedulers(configs: list, interval: str, counter: int, trainer, module) -> None:
    """Steps the schedulers of ``interval`` (``"step"`` or ``"epoch"``) due at ``counter`` (the global
    step, or the number of epochs done), through ``module.lr_scheduler_step``; ``ReduceLROnPlateau``
    gets its monitored value from ``trainer.callback_metrics`` (read only then: reading makes tensors)."""
    for config in configs:
        if config.interval != interval or counter % config.frequency != 0:
            continue
        metric = None
        if config.reduce_on_plateau:
            callback_metrics = trainer.callback_metrics
            metric = callback_metrics.get(config.monitor)
            if metric is None:
                if config.strict:
                    raise RuntimeError(
                        f"ReduceLROnPlateau conditioned on metric {config.monitor!r}, which is not available. "
                        f"Logged metrics: {sorted(callback_metrics)}"
                    )
                continue
        module.lr_scheduler_step(config.scheduler, metric)


def clip_gradients(optimizer, gradient_clip_val: float | None, gradient_clip_algorithm: str = "norm") -> None:
    """Clips the gradients of ``optimizer``'s parameters with ``ember.nn.utils``."""
    if gradient_clip_val is None or gradient_clip_val <= 0:
        return
    params = [p for group in getattr(optimizer, "optimizer", optimizer).param_groups for p in group["params"]]
    if gradient_clip_algorithm == "norm":
        utils.clip_grad_norm_(params, gradient_clip_val)
    elif gradient_clip_algorithm == "value":
        utils.clip_grad_value_(params, gradient_clip_val)
    else:
        raise ValueError(f'gradient_clip_algorithm must be "norm" or "value", got {gradient_clip_algorithm!r}')


class ManualOptimizer:
    """Lightning's ``LightningOptimizer``: what ``self.optimizers()`` returns and what ``optimizer_step``
    receives. ``step(closure)`` runs the closure (forward and backward), then ``on_before_optimizer_step``
    and, in automatic optimization, gradient clipping, then the wrapped optimizer's update, and advances
    the global step (as in Lightning).

    Args:
        optimizer: the wrapped optimizer.
        call: the hook dispatcher, ``call(hook_name, *args)``, which runs ``on_before_optimizer_step`` after the
            closure when ``after_closure`` is None.
        state: the ``TrainerState`` whose ``global_step`` each ``step()`` advances.
        after_closure: called with the optimizer after the closure, in place of ``call``: the Trainer passes
            its ``_before_optimizer_step``, which runs that hook (when something defines it) and then, in
            automatic optimization, gradient clipping.
    """

    def __init__(self, optimizer, call: Callable[..., None], state, after_closure: Callable | None = None):
        self.optimizer = optimizer
        self._call = call
        self._state = state
        self._after_closure = after_closure
        self._takes_closure = _takes_closure(optimizer)
        self._closure = None
        # True while the fit loop's optimizer_step runs and neither the hook nor clipping is due after the closure
        # (nobody defines on_before_optimizer_step, no clipping value, the default clipping hooks): the closure
        # then goes to the optimizer as it is, without a wrapper to call nothing
        self._nothing_after_closure = False

    def step(self, closure=None, **kwargs):
        if self._nothing_after_closure:
            if self._takes_closure:
                out = self.optimizer.step(closure, **kwargs)
            else:
                if closure is not None:
                    closure()
                out = self.optimizer.step(**kwargs)
            self._state.global_step += 1
            return out
        self._closure = closure  # (run by _closure_then_hooks: one bound method per step, no function made)
        if self._takes_closure:
            out = self.optimizer.step(self._closure_then_hooks, **kwargs)
        else:
            self._closure_then_hooks()
            out = self.optimizer.step(**kwargs)
        self._closure = None
        self._state.global_step += 1
        return out

    def _closure_then_hooks(self):
        """What the wrapped optimizer runs as its closure: ``step``'s closure, then ``after_closure`` (or the hook)."""
        result = self._closure() if self._closure is not None else None
        if self._after_closure is None:
            self._call("on_before_optimizer_step", self.optimizer)
        else:
            self._after_closure(self.optimizer)
        return result

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def __getattr__(self, name: str):
        return getattr(self.optimizer, name)

    def __repr__(self) -> str:
        return f"ManualOptimizer({self.optimizer!r})"


def _takes_closure(optimizer) -> bool:
    try:
        return "closure" in inspect.signature(optimizer.step).parameters
    except (TypeError, ValueError):
        return False
