"""``EMA``: keep an exponential moving average of the weights; validate with it and end training with it."""

from __future__ import annotations

from typing import Any

from ._averaging import averaged_copy, copy_weights, swap_weights
from .base import Callback


class EMA(Callback):
    """Exponential moving average of the module's weights (``ember.optim.swa_utils.AveragedModel``
    with ``get_ema_multi_avg_fn(decay)``), updated after every ``every_n_steps`` optimizer steps
    from ``start_step`` on. Validation runs with the averaged weights (``validate_with_ema``), and
    when training ends the module keeps the averaged weights. The average is saved in checkpoints,
    so a resumed run continues it exactly.

    Example:
        >>> from ember.trainer.callbacks import EMA
        >>> ema = EMA(decay=0.999)
    """

    def __init__(self, decay: float = 0.999, every_n_steps: int = 1, start_step: int = 0, use_buffers: bool = True,
                 validate_with_ema: bool = True):
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"EMA: decay must be in [0, 1], got {decay}")
        self.decay, self.every_n_steps, self.start_step = decay, every_n_steps, start_step
        self.use_buffers, self.validate_with_ema = use_buffers, validate_with_ema
        self.average_model = None
        self._pending_state: dict | None = None
        self._last_step = -1
        self._swapped = False

    def setup(self, trainer, module, stage: str) -> None:
        if stage == "fit" and self.average_model is None:
            # lazy: swa_utils loads only for this callback
            from ember.optim.swa_utils import get_ema_multi_avg_fn

            self.average_model = averaged_copy(module, multi_avg_fn=get_ema_multi_avg_fn(self.decay),
                                               use_buffers=self.use_buffers)
            if self._pending_state is not None:
                self.average_model.load_state_dict(self._pending_state)
                self._pending_state = None

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        step = trainer.global_step
        if step != self._last_step and step > self.start_step and step % self.every_n_steps == 0:
            self.average_model.update_parameters(module)
            self._last_step = step

    def on_validation_epoch_start(self, trainer, module) -> None:
        if self.validate_with_ema and self._active(trainer):
            swap_weights(module, self.average_model.module, self.use_buffers)
            self._swapped = True

    def on_validation_epoch_end(self, trainer, module) -> None:
        if self._swapped:
            swap_weights(module, self.average_model.module, self.use_buffers)
            self._swapped = False

    def on_train_end(self, trainer, module) -> None:
        if self._active(trainer):
            copy_weights(self.average_model.module, module, self.use_buffers)

    def _active(self, trainer) -> bool:
        return (trainer.state.fn == "fit" and self.average_model is not None
                and int(self.average_model.n_averaged.item()) > 0)

    def state_dict(self) -> dict[str, Any]:
        state = {"last_step": self._last_step}
        if self.average_model is not None:
            state["average_model"] = self.average_model.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._last_step = int(state.get("last_step", -1))
        if "average_model" in state:
            if self.average_model is not None:
                self.average_model.load_state_dict(state["average_model"])
            else:
                self._pending_state = state["average_model"]
