"""``StochasticWeightAveraging``: average the weights of the last epochs (Izmailov et al., 2018)."""

from __future__ import annotations

from typing import Any

from ember import nn
from ember.optim.swa_utils import update_bn

from ._averaging import averaged_copy, copy_weights
from .base import Callback


class StochasticWeightAveraging(Callback):
    """From epoch ``swa_epoch_start`` (an int, or a fraction of ``max_epochs``) on, replaces the
    learning-rate schedule with ``SWALR`` (annealing to ``swa_lrs`` over ``annealing_epochs``) and
    averages the weights at the end of every epoch. When training ends the module takes the averaged
    weights and BatchNorm statistics are recomputed with ``update_bn`` over the training data.

    Example:
        >>> from ember.trainer.callbacks import StochasticWeightAveraging
        >>> swa = StochasticWeightAveraging(swa_lrs=1e-2, swa_epoch_start=0.75)
    """

    def __init__(self, swa_lrs: float | list[float], swa_epoch_start: float = 0.8, annealing_epochs: int = 10,
                 annealing_strategy: str = "cos", avg_fn=None, device=None):
        if isinstance(swa_epoch_start, float) and not 0 < swa_epoch_start <= 1:
            raise ValueError(f"StochasticWeightAveraging: a float swa_epoch_start must be in (0, 1], got {swa_epoch_start}")
        if annealing_strategy not in ("cos", "linear"):
            raise ValueError(f"StochasticWeightAveraging: annealing_strategy must be 'cos' or 'linear', got "
                             f"{annealing_strategy!r}")
        self.swa_lrs, self.swa_epoch_start = swa_lrs, swa_epoch_start
        self.annealing_epochs, self.annealing_strategy, self.avg_fn = annealing_epochs, annealing_strategy, avg_fn
        self.average_model = None
        self.swa_start = 0
        self.swa_end = 0
        self._swalr = None
        self._pending: dict | None = None

    def setup(self, trainer, module, stage: str) -> None:
        if stage != "fit":
            return
        if trainer.max_epochs == -1:
            raise ValueError("StochasticWeightAveraging needs Trainer(max_epochs=...)")
        start = self.swa_epoch_start
        self.swa_start = int(start * (trainer.max_epochs - 1)) if isinstance(start, float) else int(start)
        self.swa_end = trainer.max_epochs - 1
        if self.average_model is None:
            self.average_model = averaged_copy(module, avg_fn=self.avg_fn)
            if self._pending and "average_model" in self._pending:
                self.average_model.load_state_dict(self._pending["average_model"])

    def on_train_epoch_start(self, trainer, module) -> None:
        if trainer.current_epoch >= self.swa_start and self._swalr is None:
            from ember.optim.swa_utils import SWALR  # lazy: swa_utils loads only for this callback
            # lazy: swa_utils loads only for this callback
            from ember.trainer.optimization import LRSchedulerConfig

            optimizer = trainer.optimizers[0]
            self._swalr = SWALR(optimizer, swa_lr=self.swa_lrs, anneal_epochs=self.annealing_epochs,
                                anneal_strategy=self.annealing_strategy)
            if self._pending and self._pending.get("swalr") is not None:
                self._swalr.load_state_dict(self._pending["swalr"])
            trainer.lr_scheduler_configs = [LRSchedulerConfig(self._swalr, interval="epoch")]

    def on_train_epoch_end(self, trainer, module) -> None:
        if self.swa_start <= trainer.current_epoch <= self.swa_end:
            self.average_model.update_parameters(module)

    def on_train_end(self, trainer, module) -> None:
        if self.average_model is None or int(self.average_model.n_averaged.item()) == 0:
            return
        copy_weights(self.average_model.module, module, buffers=False)
        if any(isinstance(m, nn.modules.normalization._BatchNorm) for m in module.modules()):
            update_bn(trainer.train_dataloader, module)

    def state_dict(self) -> dict[str, Any]:
        return {"average_model": None if self.average_model is None else self.average_model.state_dict(),
                "swalr": None if self._swalr is None else self._swalr.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._pending = state
        if self.average_model is not None and state.get("average_model") is not None:
            self.average_model.load_state_dict(state["average_model"])
