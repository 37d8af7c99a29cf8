"""``LearningRateFinder``: the learning-rate range test (Smith, "Cyclical Learning Rates", 2017)."""

from __future__ import annotations

import copy
import math

import ember
import numpy as np

from ..optimization import parse_optimizers
from .base import Callback


class LearningRateFinder(Callback):
    """Before training, runs ``num_training_steps`` steps with the learning rate rising from
    ``min_lr`` to ``max_lr`` (exponentially or linearly), records the smoothed loss, suggests the
    rate where the loss falls fastest, then puts the weights, optimizer and random states back.
    With ``update_attr=True`` the suggestion is written to the module's ``attr_name`` (default: the
    first of ``lr``, ``learning_rate`` found on the module or its ``hparams``) and the optimizers are
    configured again.

    Attributes:
        optimal_lr: after fitting starts, an object with ``results`` (``{"lr": [...], "loss": [...]}``)
            and ``suggestion()``.

    Example:
        >>> from ember.trainer.callbacks import LearningRateFinder
        >>> finder = LearningRateFinder(min_lr=1e-5, max_lr=1.0, num_training_steps=50)
    """

    priority = 200

    def __init__(self, min_lr: float = 1e-8, max_lr: float = 1.0, num_training_steps: int = 100,
                 mode: str = "exponential", early_stop_threshold: float | None = 4.0, update_attr: bool = True,
                 attr_name: str = ""):
        if mode not in ("exponential", "linear"):
            raise ValueError(f"LearningRateFinder: mode must be 'exponential' or 'linear', got {mode!r}")
        self.min_lr, self.max_lr, self.num_training_steps = min_lr, max_lr, num_training_steps
        self.mode, self.early_stop_threshold = mode, early_stop_threshold
        self.update_attr, self.attr_name = update_attr, attr_name
        self.optimal_lr: _LRFinderResult | None = None

    def on_fit_start(self, trainer, module) -> None:
        if trainer.state.global_step > 0:  # a resumed run has found its rate already
            return
        self.lr_find(trainer, module)

    def _lr_at(self, i: int) -> float:
        t = i / max(1, self.num_training_steps - 1)
        if self.mode == "exponential":
            return self.min_lr * (self.max_lr / self.min_lr) ** t
        return self.min_lr + (self.max_lr - self.min_lr) * t

    def lr_find(self, trainer, module) -> _LRFinderResult:
        if not module.automatic_optimization:
            raise RuntimeError("LearningRateFinder works with automatic optimization only")
        optimizer = trainer.optimizers[0]
        weights = {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}
        optimizer_state = copy.deepcopy(optimizer.state_dict())
        lrs, losses = [], []
        average, best, beta = 0.0, math.inf, 0.98
        metrics = trainer.metric_store
        with ember.fork_rng(), metrics.silenced():
            module.train()
            batches = iter(trainer.train_dataloader)
            for i in range(self.num_training_steps):
                try:
                    batch = next(batches)
                except StopIteration:
                    batches = iter(trainer.train_dataloader)
                    batch = next(batches)
                lr = self._lr_at(i)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                metrics.start_batch(batch)
                output = module.training_step(batch, i)
                metrics.end_batch()
                loss = output["loss"] if isinstance(output, dict) else output
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                value = loss.item()
                average = beta * average + (1 - beta) * value
                smoothed = average / (1 - beta ** (i + 1))
                lrs.append(lr)
                losses.append(smoothed)
                if not math.isfinite(smoothed):
                    break
                best = min(best, smoothed)
                if self.early_stop_threshold is not None and i > 0 and smoothed > self.early_stop_threshold * best:
                    break
        module.load_state_dict(weights)
        optimizer.load_state_dict(optimizer_state)
        self.optimal_lr = result = _LRFinderResult({"lr": lrs, "loss": losses})
        suggestion = result.suggestion()
        if self.update_attr and suggestion is not None:
            self._set_lr(module, suggestion)
            trainer.optimizers, trainer.lr_scheduler_configs = parse_optimizers(module.configure_optimizers())
        return result

    def _set_lr(self, module, lr: float) -> None:
        names = [self.attr_name] if self.attr_name else ["lr", "learning_rate"]
        for name in names:
            if name in module.__dict__:
                setattr(module, name, lr)
                if name in module.hparams:
                    module.hparams[name] = lr
                return
            if name in module.hparams:
                module.hparams[name] = lr
                return
        raise AttributeError(f"LearningRateFinder: {type(module).__name__} has no attribute or hyperparameter named "
                             f"{' or '.join(repr(n) for n in names)} to update; set attr_name or update_attr=False")


class _LRFinderResult:
    def __init__(self, results: dict[str, list[float]]):
        self.results = results

    def suggestion(self, skip_begin: int = 10, skip_end: int = 1) -> float | None:
        """The rate where the smoothed loss decreases fastest."""
        lrs = np.asarray(self.results["lr"])
        losses = np.asarray(self.results["loss"])
        end = len(losses) - skip_end
        if end - skip_begin < 2:
            skip_begin, end = 0, len(losses)
        lrs, losses = lrs[skip_begin:end], losses[skip_begin:end]
        finite = np.isfinite(losses)
        lrs, losses = lrs[finite], losses[finite]
        if len(losses) < 2:
            return None
        return float(lrs[int(np.gradient(losses).argmin())])

    def __repr__(self) -> str:
        return f"LRFinder(suggestion={self.suggestion()})"


