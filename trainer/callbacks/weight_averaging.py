"""``WeightAveraging`` and ``EMAWeightAveraging``: Lightning's generic averaged-weights callbacks."""

from __future__ import annotations

from typing import Any

from ..utilities.rank_zero import rank_zero_info, rank_zero_warn
from ._averaging import averaged_copy, copy_weights, swap_weights
from .base import Callback


class WeightAveraging(Callback):
    """Keeps an ``ember.optim.swa_utils.AveragedModel`` of the module, updated after optimizer steps (and epochs)
    that ``should_update`` accepts; validation runs with the averaged weights, and the module ends training with
    them. Without ``avg_fn`` / ``multi_avg_fn`` the average is the equal-weight one (SWA).

    A checkpoint holds the averaged weights as its ``state_dict`` (so ``load_from_checkpoint`` gives the
    averaged model) and the weights being trained under ``current_model_state``; resuming restores both.

    Args:
        device: where the average lives; the CPU (Ember's only device) when None.
        use_buffers: average the buffers too (False: only the parameters; recompute batch-norm statistics
            with ``ember.optim.swa_utils.update_bn``).
        **kwargs: passed on to ``AveragedModel`` (``avg_fn``, ``multi_avg_fn``).

    Example:
        >>> from ember.optim.swa_utils import get_ema_avg_fn
        >>> from ember.trainer.callbacks import WeightAveraging
        >>> class LateEMA(WeightAveraging):
        ...     def __init__(self):
        ...         super().__init__(avg_fn=get_ema_avg_fn(0.99))
        ...     def should_update(self, step_idx=None, epoch_idx=None):
        ...         return step_idx is not None and step_idx >= 100
    """

    def __init__(self, device: Any = None, use_buffers: bool = True, **kwargs: Any) -> None:
        if device not in (None, "cpu") and str(device) != "cpu":
            raise ValueError(f"{type(self).__name__}(device={device!r}): Ember computes on the CPU only")
        self._device = device
        self._use_buffers = use_buffers
        self._kwargs = kwargs
        self._average_model = None
        self._latest_update_step = 0  # optimizer steps at the last update: the first update follows step 1
        self._latest_update_epoch = -1  # so that should_update(epoch_idx=0) can update after the first epoch

    def should_update(self, step_idx: int | None = None, epoch_idx: int | None = None) -> bool:
        """Whether to update the average after optimizer step ``step_idx`` (zero-based) or at the end of epoch
        ``epoch_idx`` (one of them is None). Default: after every optimizer step."""
        return step_idx is not None

    def setup(self, trainer, module, stage: str) -> None:
        if stage == "fit":
            self._average_model = averaged_copy(module, device=self._device, use_buffers=self._use_buffers,
                                                **self._kwargs)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        step_idx = trainer.global_step - 1
        if trainer.global_step > self._latest_update_step and self.should_update(step_idx=step_idx):
            self._average_model.update_parameters(module)
            self._latest_update_step = trainer.global_step

    def on_train_epoch_end(self, trainer, module) -> None:
        epoch = trainer.current_epoch
        if epoch > self._latest_update_epoch and self.should_update(epoch_idx=epoch):
            self._average_model.update_parameters(module)
            self._latest_update_epoch = epoch

    def on_train_end(self, trainer, module) -> None:
        copy_weights(self._average_model.module, module, buffers=self._use_buffers)

    def on_validation_epoch_start(self, trainer, module) -> None:
        if self._average_model is not None:
            swap_weights(module, self._average_model.module, buffers=self._use_buffers)

    def on_validation_epoch_end(self, trainer, module) -> None:
        if self._average_model is not None:
            swap_weights(module, self._average_model.module, buffers=self._use_buffers)

    def state_dict(self) -> dict[str, Any]:
        return {"latest_update_step": self._latest_update_step, "latest_update_epoch": self._latest_update_epoch}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._latest_update_step = int(state_dict["latest_update_step"])
        self._latest_update_epoch = int(state_dict.get("latest_update_epoch", -1))

    def on_save_checkpoint(self, trainer, module, checkpoint: dict) -> None:
        """The averaged weights become the checkpoint's ``state_dict``; the trained ones ``current_model_state``;
        the average's own state (``n_averaged``) ``averaging_state``."""
        if self._average_model is None:
            rank_zero_info(f"{type(self).__name__}: a checkpoint saved outside fit holds no averaging state")
            return
        average = self._average_model.state_dict()
        checkpoint["current_model_state"] = checkpoint["state_dict"]
        checkpoint["state_dict"] = {k[len("module."):]: v for k, v in average.items() if k.startswith("module.")}
        checkpoint["averaging_state"] = {k: v for k, v in average.items() if not k.startswith("module.")}

    def on_load_checkpoint(self, trainer, module, checkpoint: dict) -> None:
        if self._average_model is None:
            rank_zero_warn(f"{type(self).__name__}: a checkpoint loaded outside fit; the averaging state is not "
                           "restored (for testing or predicting with the averaged weights this is what you want)")
        elif "current_model_state" in checkpoint and "averaging_state" in checkpoint:
            average = {"module." + k: v for k, v in checkpoint["state_dict"].items()}
            average.update(checkpoint["averaging_state"])
            self._average_model.load_state_dict(average)
            module.load_state_dict(checkpoint["current_model_state"])  # (the trainer loaded the average into it)
        else:
            rank_zero_warn(f"The checkpoint was not created with {type(self).__name__}. Both the current and the "
                           "average model will be initialized with state_dict.")
            self._average_model.module.load_state_dict(checkpoint["state_dict"], strict=False)


class EMAWeightAveraging(WeightAveraging):
    """``WeightAveraging`` with an exponential moving average: ``average = decay * average + (1 - decay) *
    weights`` after every ``update_every_n_steps``-th optimizer step from ``update_starting_at_step`` on, and
    after every epoch from ``update_starting_at_epoch`` on (when given).

    Example:
        >>> from ember.trainer.callbacks import EMAWeightAveraging
        >>> ema = EMAWeightAveraging(decay=0.999, update_starting_at_step=100)
    """

    def __init__(self, device: Any = None, use_buffers: bool = True, decay: float = 0.999,
                 update_every_n_steps: int = 1, update_starting_at_step: int | None = None,
                 update_starting_at_epoch: int | None = None, **kwargs: Any):
        from ember.optim.swa_utils import get_ema_avg_fn  # lazy: swa_utils loads only for this callback

        super().__init__(device=device, use_buffers=use_buffers, **kwargs, avg_fn=get_ema_avg_fn(decay=decay))
        self.update_every_n_steps = update_every_n_steps
        self.update_starting_at_step = update_starting_at_step
        self.update_starting_at_epoch = update_starting_at_epoch

    def should_update(self, step_idx: int | None = None, epoch_idx: int | None = None) -> bool:
        if step_idx is not None:
            started = self.update_starting_at_step is None or step_idx >= self.update_starting_at_step
            if started and self.update_every_n_steps > 0 and step_idx % self.update_every_n_steps == 0:
                return True
        return (epoch_idx is not None and self.update_starting_at_epoch is not None
                and epoch_idx >= self.update_starting_at_epoch)
