"""The fit loop's per-step path: what it skips to stay cheap (hooks nobody defines, the pass-through profiler,
the identity batch-transfer hooks, clipping with nothing to clip) and what it must still do."""

from __future__ import annotations

import io
import os

import ember
import numpy as np
import pytest
from ember.trainer import DataModule, Trainer
from ember.trainer.callbacks import Callback, ProgressBar
from ember.trainer.profilers import PassThroughProfiler, Profiler

from .models import Classifier, blobs, loader, read_csv, trainer_kwargs

STEP_HOOKS = ("on_train_batch_start", "on_before_zero_grad", "on_before_backward", "on_after_backward",
              "on_before_optimizer_step", "on_train_batch_end")


def _trainer(tmp_path, **kwargs) -> Trainer:
    return Trainer(**trainer_kwargs(tmp_path, **{"logger": False, "enable_checkpointing": False, **kwargs}))


class CountingPassThrough(PassThroughProfiler):
    """The default profiler, counting how often the loops ask it for a context."""

    def __init__(self):
        super().__init__()
        self.entered = 0

    def profile(self, action_name):
        self.entered += 1
        return super().profile(action_name)


def test_the_pass_through_profiler_is_not_entered_for_each_batch(tmp_path):
    counts = []
    for batches in (2, 6):
        profiler = CountingPassThrough()
        _trainer(tmp_path, max_epochs=1, limit_train_batches=batches, profiler=profiler).fit(Classifier(), loader())
        counts.append(profiler.entered)
    assert counts[0] == counts[1]  # per epoch and per run only: a batch costs no profiler context


class Recording(Profiler):
    def __init__(self):
        super().__init__()
        self.events = []

    def start(self, action_name):
        self.events.append(("start", action_name))

    def stop(self, action_name):
        self.events.append(("stop", action_name))

    def summary(self):
        return ""


def test_a_profiler_times_each_step_of_every_batch_nested_in_lightnings_order(tmp_path):
    profiler = Recording()
    _trainer(tmp_path, max_epochs=1, limit_train_batches=3, profiler=profiler).fit(Classifier(), loader())
    steps = ("training_step", "optimizer_zero_grad", "backward", "optimizer_step")
    names = {f"[LightningModule]Classifier.{step}" for step in steps} | {"run_training_batch"}
    timed = [(kind, name) for kind, name in profiler.events if name in names]
    assert len(timed) == 3 * 2 * len(names)
    first = [f"{kind} {name.rpartition('.')[2]}" for kind, name in timed[: 2 * len(names)]]
    assert first == ["start run_training_batch", "start optimizer_step", "start training_step", "stop training_step",
                     "start optimizer_zero_grad", "stop optimizer_zero_grad", "start backward", "stop backward",
                     "stop optimizer_step", "stop run_training_batch"]


def _hook_recorder(name: str, calls: list, label: str, priority: int, hooks=STEP_HOOKS):
    def make(hook):
        def record(self, trainer, module, *args):
            calls.append((label, hook))
        return record

    return type(name, (Callback,), {"priority": priority, **{hook: make(hook) for hook in hooks}})()


def test_callbacks_defining_only_some_step_hooks_are_called_each_batch_in_priority_order(tmp_path):
    calls = []
    late = _hook_recorder("Late", calls, "late", -10, ("on_before_backward", "on_train_batch_end"))
    early = _hook_recorder("Early", calls, "early", 10, ("on_after_backward", "on_before_backward"))
    only = _hook_recorder("Only", calls, "only", 0, ("on_before_optimizer_step",))
    _trainer(tmp_path, max_epochs=1, limit_train_batches=3, callbacks=[late, only, early]).fit(Classifier(), loader())
    per_batch = [("early", "on_before_backward"), ("late", "on_before_backward"), ("early", "on_after_backward"),
                 ("only", "on_before_optimizer_step"), ("late", "on_train_batch_end")]
    assert calls == per_batch * 3


class Ones(Classifier):
    """Records the smallest input value of every training batch."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def training_step(self, batch, batch_idx):
        self.seen.append(float(batch[0].numpy().min()))
        return super().training_step(batch, batch_idx)


class Blobs(DataModule):
    def train_dataloader(self):
        return loader()

    def on_before_batch_transfer(self, batch, dataloader_idx):
        return _to_ones(batch, dataloader_idx)


def _to_ones(batch, dataloader_idx):
    x, y = batch
    return ember.ones_like(x), y


def test_batch_transfer_hooks_of_the_module_instance_or_the_data_module_are_called(tmp_path):
    model = Ones()
    model.on_after_batch_transfer = _to_ones  # an instance attribute, not a method of the class
    _trainer(tmp_path, max_epochs=1, limit_train_batches=3).fit(model, loader())
    assert model.seen == [1.0, 1.0, 1.0]

    model, data = Ones(), Blobs()  # the same module class, with a data module that overrides a hook
    _trainer(tmp_path, max_epochs=1, limit_train_batches=2).fit(model, datamodule=data)
    assert model.seen == [1.0, 1.0]

    model = Ones()  # neither overrides a hook: the batches arrive as the loader made them
    _trainer(tmp_path, max_epochs=1, limit_train_batches=2).fit(model, loader())
    x = blobs()[:32][0].numpy()
    assert model.seen == [float(x[:16].min()), float(x[16:32].min())]


class Logged(Classifier):
    """Logs its loss on the progress bar and remembers each value as a float."""

    def __init__(self):
        super().__init__()
        self.losses = []

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = ember.nn.functional.cross_entropy(self(x), y)
        self.losses.append(loss.item())
        self.log("train_loss", loss, prog_bar=True)
        return loss


def test_a_logged_step_value_reaches_the_logger_and_the_progress_bar_unchanged(tmp_path):
    out = io.StringIO()
    model = Logged()
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=6, log_every_n_steps=2,
                                       enable_progress_bar=True, enable_checkpointing=False),
                      callbacks=[ProgressBar(file=out, print_interval=0.0)])
    trainer.fit(model, loader())
    rows = [row for row in read_csv(os.path.join(trainer.logger.log_dir, "metrics.csv")) if row["train_loss"]]
    assert [int(row["step"]) for row in rows] == [1, 3, 5]  # every 2nd batch, at the step it started
    assert [float(row["train_loss"]) for row in rows] == pytest.approx([model.losses[i] for i in (1, 3, 5)],
                                                                       rel=1e-6)
    assert trainer.progress_bar_metrics["train_loss"] == model.losses[-1]
    assert trainer.callback_metrics["train_loss"] == model.losses[-1]
    lines = out.getvalue().splitlines()
    assert len(lines) == 7 and all(f"train_loss={loss:.4g}" in line for loss, line in zip(model.losses, lines))


def test_logging_a_tensor_of_several_values_names_the_key(tmp_path):
    class Wide(Classifier):
        def training_step(self, batch, batch_idx):
            self.log("wide", ember.zeros(2))
            return super().training_step(batch, batch_idx)

    with pytest.raises(ValueError, match=r"self.log\('wide', value\): value must be a scalar.*\(2,\)"):
        _trainer(tmp_path, max_epochs=1, limit_train_batches=1).fit(Wide(), loader())


def test_a_wrong_loss_is_reported_with_its_epoch_and_batch(tmp_path):
    class LateNone(Classifier):
        def training_step(self, batch, batch_idx):
            loss = super().training_step(batch, batch_idx)
            return None if batch_idx == 2 else loss

    with pytest.raises(RuntimeError, match=r"training_step \(epoch 0, batch_idx 2\) returned None"):
        _trainer(tmp_path, max_epochs=1, limit_train_batches=4).fit(LateNone(), loader())


def _grad_norm(module) -> float:
    return float(np.sqrt(sum(float((p.grad.numpy() ** 2).sum()) for p in module.parameters() if p.grad is not None)))


class NormAfterStep(Classifier):
    """Records the gradients' norm each optimizer step saw."""

    def __init__(self):
        super().__init__()
        self.norms = []

    def optimizer_step(self, epoch, batch_idx, optimizer, optimizer_closure=None):
        super().optimizer_step(epoch, batch_idx, optimizer, optimizer_closure)
        self.norms.append(_grad_norm(self))


def test_a_clipping_value_set_during_fit_clips_the_next_steps(tmp_path):
    class ClipFromBatch2(Callback):
        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            if batch_idx == 2:
                trainer.gradient_clip_val = 1e-3

    model = NormAfterStep()
    _trainer(tmp_path, max_epochs=1, limit_train_batches=4, callbacks=[ClipFromBatch2()]).fit(model, loader())
    assert min(model.norms[:2]) > 1e-2
    assert max(model.norms[2:]) == pytest.approx(1e-3, rel=1e-3)


def test_an_overridden_clip_gradients_is_called_each_step_without_a_clipping_value(tmp_path):
    class OwnClipping(NormAfterStep):
        def clip_gradients(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None):
            self.calls = getattr(self, "calls", 0) + 1
            super().clip_gradients(optimizer, 1e-3, "norm")

    model = OwnClipping()
    _trainer(tmp_path, max_epochs=1, limit_train_batches=3).fit(model, loader())
    assert model.calls == 3 and max(model.norms) == pytest.approx(1e-3, rel=1e-3)


def test_the_closure_given_to_optimizer_step_returns_the_loss_training_step_returned(tmp_path):
    class Returned(Classifier):
        def __init__(self):
            super().__init__()
            self.pairs = []

        def training_step(self, batch, batch_idx):
            self.loss = super().training_step(batch, batch_idx)
            return self.loss

        def optimizer_step(self, epoch, batch_idx, optimizer, optimizer_closure=None):
            self.pairs.append((optimizer.step(closure=optimizer_closure), self.loss))

    module = Returned()
    _trainer(tmp_path, max_epochs=1, limit_train_batches=3).fit(module, loader())
    assert len(module.pairs) == 3 and all(returned is loss for returned, loss in module.pairs)


def test_step_methods_set_on_the_module_instance_are_called_each_step(tmp_path):
    module, calls = Classifier(), []

    def backward(loss, *args, **kwargs):
        calls.append("backward")
        loss.backward()

    def optimizer_zero_grad(epoch, batch_idx, optimizer):
        calls.append("optimizer_zero_grad")
        optimizer.zero_grad()

    def optimizer_step(epoch, batch_idx, optimizer, optimizer_closure=None):
        calls.append("optimizer_step")
        optimizer.step(closure=optimizer_closure)

    module.backward, module.optimizer_zero_grad, module.optimizer_step = backward, optimizer_zero_grad, optimizer_step
    trainer = _trainer(tmp_path, max_epochs=1, limit_train_batches=2)
    trainer.fit(module, loader())
    assert calls == ["optimizer_step", "optimizer_zero_grad", "backward"] * 2 and trainer.global_step == 2


def test_the_default_steps_train_as_the_overridden_ones_with_the_same_body(tmp_path):
    class Spelled(Classifier):  # TrainingModule's defaults written out: the loop's shortcut must match them
        def backward(self, loss, *args, **kwargs):
            loss.backward(*args, **kwargs)

        def optimizer_zero_grad(self, epoch, batch_idx, optimizer):
            optimizer.zero_grad()

        def optimizer_step(self, epoch, batch_idx, optimizer, optimizer_closure=None):
            optimizer.step(closure=optimizer_closure)

    weights = []
    for cls in (Classifier, Spelled):
        ember.manual_seed(0)
        module = cls()
        _trainer(tmp_path, max_epochs=2, accumulate_grad_batches=2).fit(module, loader())
        weights.append([p.detach().numpy().copy() for p in module.parameters()])
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)
