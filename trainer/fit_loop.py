"""The fit loop: epochs of training batches, with validation and step boundaries between them.

Lightning's ``trainer.fit_loop``: ``run`` is a ``while`` over epochs around a ``for`` over batches. What
the loop must remember to resume is in ``trainer.state``; the checkpoints and interrupts of a step
boundary are the Trainer's (``Trainer._step_boundary``).
"""

from __future__ import annotations

import math

import ember

from . import data as data_utils
from .hooks import profiled, reads_batch_outputs
from .module import _transfers_as_is
from .optimization import checked_loss, plain_loss, step_schedulers
from .profilers import PassThroughProfiler
from .strategies import Strategy
from .utilities.signature_utils import is_param_in_hook_signature


class FitLoop:
    """Trains ``trainer.module`` with ``trainer``'s loaders, optimizers, schedules and limits.

    The limits are the loop's, as in Lightning (``trainer.max_epochs`` reads ``fit_loop.max_epochs``): setting
    ``trainer.fit_loop.max_epochs = 5`` and calling ``fit`` again trains on up to epoch 5.

    Attributes:
        max_epochs: stop after this many epochs (-1: no limit).
        min_epochs: train at least this many epochs even if a callback asks to stop.
        max_steps: stop after this many optimizer steps (-1: no limit).
        min_steps: train at least this many steps even if a callback asks to stop.
    """

    def __init__(self, trainer, max_epochs: int = 1000, min_epochs: int = 0, max_steps: int = -1, min_steps: int = 0):
        self.trainer = trainer
        self.max_epochs, self.min_epochs = max_epochs, min_epochs
        self.max_steps, self.min_steps = max_steps, min_steps
        self._model = None  # the module the steps below were taken from (``_prepare_for``)
        self._hooks = None  # the run's hook table they were read with
        self._profiler = None  # the run's profiler; None for the pass-through one, whose contexts are skipped
        self._validates = False  # ``trainer.enable_validation``, read at the start of each epoch and validation
        self._batch = self._batch_idx = self._steps = self._ran = None  # the closure's batch, and what it returned

    def _prepare_for(self, model) -> None:
        """The module's steps as every batch calls them: its methods, each timed by the run's profiler as
        ``[LightningModule]<class>.<method>``. Under the pass-through profiler they are the methods
        themselves, so a step enters no profiler context at all. Also read once per run: whether anyone
        reads ``on_train_batch_end``'s ``outputs``, whether the strategy reduces gradients and whether anything
        runs between the closure and the update besides clipping."""
        trainer = self.trainer
        profiler = trainer.profiler
        profiler = None if isinstance(profiler, PassThroughProfiler) else profiler
        name = type(model).__name__

        def timed(method: str):
            fn = getattr(model, method)
            return fn if profiler is None else profiled(fn, profiler, f"[LightningModule]{name}.{method}")

        self._profiler = profiler
        self._training_step = timed("training_step")
        self._takes_batch_idx = _takes_batch_idx(model.training_step)
        self._optimizer_zero_grad = timed("optimizer_zero_grad")
        self._backward = timed("backward")
        self._optimizer_step = timed("optimizer_step")
        self._transfers_as_is = _transfers_as_is(model)  # (no batch-transfer hook overridden: none is called)
        self._builds_outputs = reads_batch_outputs(model, trainer.callbacks)
        strategy = trainer.strategy  # (one process: Strategy's reduce_gradients does nothing and is not called)
        plain = (type(strategy).reduce_gradients is Strategy.reduce_gradients
                 and "reduce_gradients" not in getattr(strategy, "__dict__", ()))
        self._reduce_gradients = None if plain else strategy.reduce_gradients
        self._model, self._hooks = model, trainer._call.table
        # (with no clipping value, Trainer._before_optimizer_step would do nothing: see automatic_step)
        self._nothing_before_update = not self._hooks["on_before_optimizer_step"] and trainer._default_clipping

    def run(self, model) -> None:
        """Epochs of batches. Each batch ends at a *step boundary* (checkpoints are written there);
        each epoch ends with its end-of-epoch work and another boundary."""
        trainer = self.trainer
        state = trainer.state
        profiler = trainer.profiler
        interrupts, one_process = trainer._interrupts, trainer.strategy.world_size == 1
        self._prepare_for(model)
        while not self.done():
            trainer._reload_fit_loaders_if_due("train")
            loader = trainer.train_dataloader
            state.stage = "train"
            model.train()
            if state.batch_idx == 0 or trainer.num_training_batches != math.inf:  # (a loader without len() resumed
                state.epoch_batches = trainer.num_training_batches  # inside an epoch keeps the restored count)
            if state.batch_idx == 0:  # (a resumed run may start inside an epoch)
                trainer.metric_store.reset_stage("train")
            trainer.call("on_train_epoch_start")
            if data_utils.is_positionable(loader):
                data_utils.position_loader(loader, state.epoch, state.batch_idx)
            trainer._defer_checkpoints = True
            self._validates = trainer.enable_validation
            with profiler.profile("run_training_epoch"), data_utils.batches(
                    loader, state.batch_idx, state.epoch_batches,
                    None if isinstance(profiler, PassThroughProfiler) else profiler,
                    "[_TrainingEpochLoop].train_dataloader_next") as batches:
                if state.epoch_batches == math.inf:  # a loader without len(): one batch ahead, to know the last
                    batches = _one_ahead(batches, state)
                for batch_idx, batch in batches:
                    trainer._is_last_batch = batch_idx + 1 >= state.epoch_batches
                    if self.train_batch(model, batch, batch_idx) == -1:
                        state.epoch_batches = state.batch_idx  # on_train_batch_start returned -1: the epoch ends
                        break
                    if self._validates and self.should_validate(batch_idx):
                        self.run_validation(model)
                    # (the step boundary and the epoch's end, called only when there is something to do)
                    if trainer._pending_checkpoint_ops or interrupts.requested or not one_process:
                        trainer._step_boundary()
                    if (state.should_stop or 0 <= self.max_steps <= state.global_step) and self.epoch_should_end():
                        break
            if state.batch_idx == 0 and state.epoch_batches > 0:
                raise RuntimeError("the training data loader yielded no batches")
            trainer._is_last_batch = False
            if state.epoch_batches == math.inf and not self.epoch_should_end():  # a loader without len():
                state.epoch_batches = state.batch_idx                               # its end is known now
                if self.should_validate(state.batch_idx - 1):
                    self.run_validation(model)
                    trainer._step_boundary()
            self.train_epoch_end()
            trainer._step_boundary()

    def train_batch(self, model, batch, batch_idx: int) -> int | None:
        """One training batch; returns -1, without training on it, when ``on_train_batch_start`` returned -1
        (Lightning's way to end the epoch early)."""
        trainer = self.trainer
        state, metrics, call = trainer.state, trainer._metrics, trainer._call
        hooks = call.table  # (a hook nobody defines is not dispatched: see hooks.py)
        if self._model is not model or self._hooks is not hooks:
            self._prepare_for(model)
        if trainer.precision == "64":
            batch = data_utils.to_dtype(batch, ember.float64)
        if not self._transfers_as_is:
            batch = model._apply_batch_transfer_handler(batch, dataloader_idx=0)
        metrics.start_batch(batch)
        step_at_start = state.global_step
        if hooks["on_train_batch_start"] and call("on_train_batch_start", batch, batch_idx) == -1:
            metrics.end_batch()
            return -1
        step = self.automatic_step if model.automatic_optimization else self.training_step
        if self._profiler is None:
            outputs = step(model, batch, batch_idx)
        else:
            with self._profiler.profile("run_training_batch"):
                outputs = step(model, batch, batch_idx)
        for hook in hooks["on_train_batch_end"]:  # (the table's callables, in order: call's loop, inline)
            hook(outputs, batch, batch_idx)
        metrics.end_batch()
        state.batch_idx += 1
        state.total_batch_idx += 1
        if metrics.step_values:
            every = trainer.log_every_n_steps
            if every and state.total_batch_idx % every == 0:
                trainer.log_metrics(metrics.pop_step_metrics(), step_at_start)
            else:
                metrics.step_values.clear()

    def training_step(self, model, batch, batch_idx: int):
        """``model.training_step(batch[, batch_idx])``: ``batch_idx`` only if the step takes it (as in Lightning)."""
        if self._model is not model:
            self._prepare_for(model)
        if self._takes_batch_idx:
            return self._training_step(batch, batch_idx)
        return self._training_step(batch)

    def automatic_step(self, model, batch, batch_idx: int) -> dict | None:
        """Lightning's automatic optimization. Inside an accumulation window the closure runs alone; at its
        end ``model.optimizer_step(epoch, batch_idx, optimizer, closure)`` runs it through
        ``optimizer.step(closure=...)``, which then calls ``on_before_optimizer_step`` and
        ``configure_gradient_clipping`` before updating. The closure is ``closure`` below.

        Returns the outputs ``on_train_batch_end`` receives, ``{"loss": loss.detach(), **other keys}``; None
        when no participant of that hook reads them (``hooks.reads_batch_outputs``)."""
        trainer = self.trainer
        state = trainer.state
        steps = (batch_idx + 1) % trainer.accumulate_grad_batches == 0 or batch_idx + 1 == state.epoch_batches
        self._batch, self._batch_idx, self._steps, self._ran = batch, batch_idx, steps, None
        if steps:
            optimizer = trainer._manual_optimizers[0]
            # nothing to run between the closure and the update (Trainer._before_optimizer_step would call no hook
            # and clip nothing): the optimizer gets the closure itself; the clipping value is read at every step
            optimizer._nothing_after_closure = self._nothing_before_update and not trainer.gradient_clip_val
            try:
                self._optimizer_step(state.epoch, batch_idx, optimizer, self.closure)
            finally:
                optimizer._nothing_after_closure = False
            if self._ran is None:
                raise RuntimeError(
                    f"{type(model).__name__}.optimizer_step did not run `optimizer_closure` (epoch {state.epoch}, "
                    f"batch_idx {batch_idx}). Call `optimizer.step(closure=optimizer_closure)`, or "
                    "`optimizer_closure()` to skip the update: the closure runs training_step and backward")
            if trainer.lr_scheduler_configs:
                step_schedulers(trainer.lr_scheduler_configs, "step", state.global_step, trainer,
                                trainer.module)
        else:
            self.closure()
        output, loss = self._ran
        self._batch = self._ran = None  # (nothing of the step is kept past it)
        if not self._builds_outputs:
            return None
        if output is loss:
            return {"loss": loss.detach()}
        return {**output, "loss": loss.detach()}

    def closure(self):
        """The closure ``optimizer_step`` receives (a bound method, one object per run rather than a function
        made at each step), for the batch ``automatic_step`` is on: training_step → (first batch of a window)
        on_before_zero_grad, optimizer_zero_grad → on_before_backward, backward, on_after_backward. Returns the
        loss; it may be called more than once (LBFGS re-evaluates it)."""
        trainer = self.trainer
        state, call = trainer.state, trainer._call
        hooks = call.table
        batch, batch_idx = self._batch, self._batch_idx
        accumulate, detect_anomaly = trainer.accumulate_grad_batches, trainer.detect_anomaly
        output = self._training_step(batch, batch_idx) if self._takes_batch_idx else self._training_step(batch)
        loss = plain_loss(output, detect_anomaly)
        if loss is None:  # (checked_loss raises, naming the step; its message is made only then)
            loss = checked_loss(output, f"training_step (epoch {state.epoch}, batch_idx {batch_idx})", detect_anomaly)
        if batch_idx % accumulate == 0:
            optimizer = trainer._optimizers[0]
            if hooks["on_before_zero_grad"]:
                call("on_before_zero_grad", optimizer)
            self._optimizer_zero_grad(state.epoch, batch_idx, optimizer)
        scaled = loss / accumulate if accumulate > 1 else loss
        if hooks["on_before_backward"]:
            call("on_before_backward", scaled)
        if detect_anomaly:
            with ember.autograd.detect_anomaly():
                self._backward(scaled)
        else:
            self._backward(scaled)
        if self._steps and self._reduce_gradients is not None:
            self._reduce_gradients()  # DDP: average over the ranks, once per optimizer step
        if hooks["on_after_backward"]:
            call("on_after_backward")
        self._ran = output, loss
        return loss

    def should_validate(self, batch_idx: int) -> bool:
        trainer = self.trainer
        if not self._validates:
            return False
        interval, every_n_epochs = trainer.val_check_interval, trainer.check_val_every_n_epoch
        if isinstance(interval, int) and not isinstance(interval, bool) and every_n_epochs is None:
            return trainer.state.total_batch_idx % interval == 0
        if every_n_epochs is not None and (trainer.state.epoch + 1) % every_n_epochs != 0:
            return False
        if interval is None or (isinstance(interval, float) and interval == 1.0):  # (int 1: every batch)
            return batch_idx + 1 == trainer.state.epoch_batches
        if isinstance(interval, float):
            every = max(1, int(trainer.state.epoch_batches * interval))
        else:
            every = interval
        return (batch_idx + 1) % every == 0

    def run_validation(self, model) -> None:
        trainer = self.trainer
        state = trainer.state
        # the gradients of an unfinished accumulation window are still needed: Lightning keeps them
        if not state.inside_accumulation_window(trainer.accumulate_grad_batches):
            action = f"[LightningModule]{type(model).__name__}.on_validation_model_zero_grad"
            with trainer.profiler.profile(action):
                model.on_validation_model_zero_grad()
        trainer._reload_fit_loaders_if_due("val")
        self._validates = trainer.enable_validation  # (the reloaded loaders may have no batches)
        trainer._evaluation.run("validate", trainer.val_dataloaders, trainer.num_val_batches)
        trainer._validation_has_run = True
        trainer.state.stage = "train"
        model.train()

    def epoch_should_end(self) -> bool:
        trainer = self.trainer
        state = trainer.state
        if 0 <= self.max_steps <= state.global_step:
            return True
        return state.should_stop and self.minimums_reached()

    def minimums_reached(self) -> bool:
        trainer = self.trainer
        return trainer.state.epoch + 1 >= self.min_epochs and trainer.state.global_step >= self.min_steps

    def done(self) -> bool:
        trainer = self.trainer
        state = trainer.state
        if 0 <= self.max_steps <= state.global_step:
            return True
        if self.max_epochs != -1 and state.epoch >= self.max_epochs:
            return True
        if state.should_stop:
            if state.epoch >= self.min_epochs and state.global_step >= self.min_steps:
                return True
            state.should_stop = False
        return False

    def train_epoch_end(self) -> None:
        trainer = self.trainer
        state, metrics = trainer.state, trainer.metric_store
        _, row = metrics.reduce_stage("train")  # reduced values are in callback_metrics for the hooks
        trainer.call("on_train_epoch_end")
        row.update(metrics.reduce_stage("train")[1])  # values logged in on_train_epoch_end
        if row:
            trainer.log_metrics(row, state.global_step)
        if trainer.module.automatic_optimization:  # in manual optimization the user steps schedulers
            step_schedulers(trainer.lr_scheduler_configs, "epoch", state.epoch + 1, trainer,
                            trainer.module)
        state.epoch += 1
        state.batch_idx = 0


def _one_ahead(batches, state):
    """The ``(batch_idx, batch)`` pairs of ``batches``, each yielded once the next one has been fetched (Lightning's
    prefetch of one batch): when the loader has no length, its last batch is known as it is trained on, so
    ``trainer.is_last_batch`` is True then and ``state.epoch_batches`` becomes the epoch's count (the optimizer steps,
    and validation runs, at that batch as with a sized loader). The epoch's position is still ``state.batch_idx``:
    the batch fetched ahead is not counted, and a resumed run positions the loader there."""
    pending = next(batches, None)
    while pending is not None:
        following = next(batches, None)
        if following is None:
            state.epoch_batches = pending[0] + 1
        yield pending
        pending = following


_TAKES_BATCH_IDX: dict = {}


def _takes_batch_idx(step) -> bool:
    """Whether a ``training_step`` takes ``batch_idx`` (Lightning's rule), remembered per function: the
    signature is read once, not at every step."""
    key = getattr(step, "__func__", step)
    found = _TAKES_BATCH_IDX.get(key)
    if found is None:
        found = _TAKES_BATCH_IDX[key] = is_param_in_hook_signature(step, "batch_idx", min_args=2)
    return found
