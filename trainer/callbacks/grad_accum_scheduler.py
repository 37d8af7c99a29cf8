"""``GradientAccumulationScheduler``: change ``accumulate_grad_batches`` at given epochs."""

from __future__ import annotations

from .base import Callback


class GradientAccumulationScheduler(Callback):
    """``scheduling={epoch: factor}``: from each listed epoch on, accumulate ``factor`` batches per
    optimizer step (epochs before the first key use 1).

    Example:
        >>> from ember.trainer.callbacks import GradientAccumulationScheduler
        >>> accumulate = GradientAccumulationScheduler(scheduling={0: 8, 4: 4, 8: 1})
    """

    priority = 50

    def __init__(self, scheduling: dict[int, int]):
        if not scheduling:
            raise TypeError("GradientAccumulationScheduler: scheduling must be a non-empty dict {epoch: factor}")
        for epoch, factor in scheduling.items():
            if not isinstance(epoch, int) or epoch < 0 or not isinstance(factor, int) or factor < 1:
                raise ValueError(f"GradientAccumulationScheduler: epochs must be ints >= 0 and factors ints >= 1, "
                                 f"got {epoch!r}: {factor!r}")
        self.scheduling = dict(sorted(scheduling.items()))

    def get_accumulate_grad_batches(self, epoch: int) -> int:
        factor = 1
        for start, value in self.scheduling.items():
            if epoch >= start:
                factor = value
        return factor

    def on_train_start(self, trainer, module) -> None:
        if not module.automatic_optimization:
            raise RuntimeError("GradientAccumulationScheduler does not work with manual optimization")

    def on_train_epoch_start(self, trainer, module) -> None:
        trainer.accumulate_grad_batches = self.get_accumulate_grad_batches(trainer.current_epoch)
