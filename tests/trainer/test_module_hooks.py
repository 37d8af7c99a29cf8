"""The hooks a Lightning user overrides on the module: optimizer_step (with its closure), optimizer_zero_grad,
backward, configure_gradient_clipping / clip_gradients, lr_scheduler_step, the batch-transfer hooks, steps
without ``batch_idx``; in Lightning's documented order."""

from __future__ import annotations

import ember
import ember.nn.functional as F
import numpy as np
import pytest
from ember.trainer import DataModule, Trainer, TrainingModule

from .models import Classifier, Recorder, loader, trainer_kwargs, weights


def _quiet(tmp_path, **kwargs):
    return Trainer(**trainer_kwargs(tmp_path, logger=False, enable_checkpointing=False, **kwargs))


class HookedClassifier(Classifier):
    """Overrides every optimization hook, recording entry (and the end of optimizer_step) into ``calls``."""

    def __init__(self, calls, **kwargs):
        super().__init__(**kwargs)
        self.calls = calls

    def training_step(self, batch, batch_idx):
        self.calls.append("training_step")
        return super().training_step(batch, batch_idx)

    def on_train_batch_start(self, batch, batch_idx):
        self.calls.append("m:on_train_batch_start")

    def on_train_batch_end(self, outputs, batch, batch_idx):
        self.calls.append("m:on_train_batch_end")

    def on_before_batch_transfer(self, batch, dataloader_idx):
        self.calls.append(("on_before_batch_transfer", dataloader_idx))
        return batch

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        self.calls.append(("transfer_batch_to_device", str(device), dataloader_idx))
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    def on_after_batch_transfer(self, batch, dataloader_idx):
        self.calls.append(("on_after_batch_transfer", dataloader_idx))
        return batch

    def optimizer_step(self, epoch, batch_idx, optimizer, optimizer_closure=None):
        self.calls.append(("optimizer_step", epoch, batch_idx))
        super().optimizer_step(epoch, batch_idx, optimizer, optimizer_closure)
        self.calls.append("optimizer_step:end")

    def optimizer_zero_grad(self, epoch, batch_idx, optimizer):
        self.calls.append(("optimizer_zero_grad", epoch, batch_idx))
        super().optimizer_zero_grad(epoch, batch_idx, optimizer)

    def backward(self, loss, *args, **kwargs):
        self.calls.append("backward")
        super().backward(loss, *args, **kwargs)

    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None):
        self.calls.append(("configure_gradient_clipping", gradient_clip_val, gradient_clip_algorithm))
        super().configure_gradient_clipping(optimizer, gradient_clip_val, gradient_clip_algorithm)

    def lr_scheduler_step(self, scheduler, metric):
        self.calls.append(("lr_scheduler_step", metric))
        super().lr_scheduler_step(scheduler, metric)


def test_automatic_optimization_calls_the_overridden_hooks_in_lightnings_order(tmp_path):
    calls = []
    model = HookedClassifier(calls, scheduler="step")
    trainer = _quiet(tmp_path, max_epochs=1, limit_train_batches=1, gradient_clip_val=0.5)
    trainer.fit(model, loader())
    recorded = [c for c in calls if not (isinstance(c, str) and c.startswith("cb:"))]
    assert recorded == [
        ("on_before_batch_transfer", 0), ("transfer_batch_to_device", "cpu", 0), ("on_after_batch_transfer", 0),
        "m:on_train_batch_start",
        ("optimizer_step", 0, 0), "training_step", ("optimizer_zero_grad", 0, 0), "backward",
        ("configure_gradient_clipping", 0.5, None), "optimizer_step:end",
        ("lr_scheduler_step", None),
        "m:on_train_batch_end",
    ]


def test_callback_hooks_interleave_with_the_module_hooks_in_lightnings_order(tmp_path):
    calls = []
    model = HookedClassifier(calls)
    trainer = _quiet(tmp_path, max_epochs=1, limit_train_batches=1, callbacks=[Recorder(calls)])
    trainer.fit(model, loader())
    start = calls.index(("on_before_batch_transfer", 0))
    names = [c if isinstance(c, str) else c[0] for c in calls[start:]]
    names = names[: names.index("m:on_train_batch_end") + 1]
    assert names == [
        "on_before_batch_transfer", "transfer_batch_to_device", "on_after_batch_transfer",
        "cb:on_train_batch_start", "m:on_train_batch_start",
        "optimizer_step", "training_step", "cb:on_before_zero_grad", "optimizer_zero_grad",
        "cb:on_before_backward", "backward", "cb:on_after_backward",
        "cb:on_before_optimizer_step", "configure_gradient_clipping", "optimizer_step:end",
        "cb:on_train_batch_end", "m:on_train_batch_end",
    ]


def test_with_accumulation_only_the_stepping_batch_goes_through_optimizer_step(tmp_path):
    calls = []
    trainer = _quiet(tmp_path, max_epochs=1, limit_train_batches=4, accumulate_grad_batches=2)
    trainer.fit(HookedClassifier(calls), loader())
    steps = [c for c in calls if isinstance(c, tuple) and c[0] in ("optimizer_step", "optimizer_zero_grad")]
    assert steps == [("optimizer_zero_grad", 0, 0), ("optimizer_step", 0, 1),
                     ("optimizer_zero_grad", 0, 2), ("optimizer_step", 0, 3)]
    assert trainer.global_step == 2


class WarmUp(Classifier):
    """Lightning's documented warm-up: scale the learning rate, and skip the first steps entirely."""

    skip = 2

    def optimizer_step(self, epoch, batch_idx, optimizer, optimizer_closure=None):
        if batch_idx < self.skip:
            optimizer_closure()  # forward and backward, no update
            return
        for group in optimizer.param_groups:
            group["lr"] = 0.0 if batch_idx == self.skip else self.hparams.lr
        optimizer.step(closure=optimizer_closure)


def test_optimizer_step_override_can_skip_or_change_the_update(tmp_path):
    model = WarmUp()
    before = weights(model)
    trainer = _quiet(tmp_path, max_epochs=1, limit_train_batches=3)
    trainer.fit(model, loader())
    after = weights(model)
    assert all(np.array_equal(before[k], after[k]) for k in before)  # skipped twice, then lr 0
    assert trainer.global_step == 1  # the steps that were skipped are not optimizer steps (as in Lightning)
    trainer = _quiet(tmp_path, max_epochs=1, limit_train_batches=4)
    trainer.fit(model, loader())
    assert any(not np.array_equal(after[k], v) for k, v in weights(model).items())


def test_optimizer_step_that_never_runs_the_closure_is_an_error(tmp_path):
    class Forgetful(Classifier):
        def optimizer_step(self, epoch, batch_idx, optimizer, optimizer_closure=None):
            pass

    with pytest.raises(RuntimeError, match="optimizer_closure"):
        _quiet(tmp_path, max_epochs=1, limit_train_batches=1).fit(Forgetful(), loader())


def test_backward_override_is_what_computes_the_gradients(tmp_path):
    class NoBackward(Classifier):
        def backward(self, loss, *args, **kwargs):
            (loss * 0.0).backward()

    model = NoBackward()
    model.configure_optimizers = lambda: ember.optim.SGD(model.parameters(), lr=0.5)  # (no momentum, no decay)
    before = weights(model)
    _quiet(tmp_path, max_epochs=1, limit_train_batches=2).fit(model, loader())
    assert all(np.array_equal(before[k], v) for k, v in weights(model).items())


def test_optimizer_zero_grad_override_decides_when_gradients_are_cleared(tmp_path):
    seen = []

    class Accumulating(Classifier):
        def optimizer_zero_grad(self, epoch, batch_idx, optimizer):
            pass  # never cleared: gradients add up across batches

        def on_after_backward(self):
            seen.append(float(np.abs(self.net[0].weight.grad.numpy()).sum()))

    model = Accumulating()
    model.configure_optimizers = lambda: ember.optim.SGD(model.parameters(), lr=0.0)
    _quiet(tmp_path, max_epochs=2).fit(model, loader(batch_size=128))
    assert seen[1] == pytest.approx(2 * seen[0], rel=1e-5)  # the same batch twice (lr 0): twice the gradient


def test_clip_gradients_defaults_to_the_trainers_settings_and_rejects_a_different_value(tmp_path):
    norms = []

    class Clipped(Classifier):
        def configure_gradient_clipping(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None):
            self.clip_gradients(optimizer)
            norms.append(sum(float((p.grad.numpy() ** 2).sum()) for p in self.parameters()) ** 0.5)

    _quiet(tmp_path, max_epochs=1, limit_train_batches=2, gradient_clip_val=1e-3).fit(Clipped(), loader())
    assert norms and max(norms) <= 1e-3 * 1.001

    class Conflicting(Classifier):
        def configure_gradient_clipping(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None):
            self.clip_gradients(optimizer, gradient_clip_val=2.0)

    with pytest.raises(ValueError, match="gradient_clip_val"):
        _quiet(tmp_path, max_epochs=1, limit_train_batches=1, gradient_clip_val=1.0).fit(Conflicting(), loader())


class Halving(Classifier):
    """Its batches pass through transfer_batch_to_device, which returns them halved."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        x, y = batch
        return x * 0.5, y

    def on_after_batch_transfer(self, batch, dataloader_idx):
        x, y = batch
        return x + 100.0, y

    def training_step(self, batch, batch_idx):
        self.seen.append(float(batch[0].numpy().min()))
        return super().training_step(batch, batch_idx)

    def validation_step(self, batch, batch_idx):
        self.seen.append(float(batch[0].numpy().min()))

    def predict_step(self, batch, batch_idx, dataloader_idx=0):
        return batch[0]


def test_transfer_hooks_run_for_every_stage_and_their_results_are_used(tmp_path):
    model = Halving()
    data = loader(batch_size=128)
    raw = float(next(iter(data))[0].numpy().min())
    trainer = _quiet(tmp_path, max_epochs=1)
    trainer.fit(model, data, data)
    assert model.seen == [pytest.approx(raw * 0.5 + 100.0)] * 2
    predicted = trainer.predict(model, data)[0]
    assert float(predicted.numpy().min()) == pytest.approx(raw * 0.5 + 100.0)


def test_datamodule_transfer_hooks_take_precedence_over_the_modules(tmp_path):
    class Data(DataModule):
        def train_dataloader(self):
            return loader(batch_size=128)

        def on_before_batch_transfer(self, batch, dataloader_idx):
            x, y = batch
            return x * 0.0 - 7.0, y

    model = Halving()
    _quiet(tmp_path, max_epochs=1).fit(model, datamodule=Data())
    assert model.seen == [pytest.approx(-7.0 * 0.5 + 100.0)]


class NoIndex(Classifier):
    """Steps written without batch_idx, as Lightning allows."""

    def training_step(self, batch):
        x, y = batch
        return F.cross_entropy(self(x), y)

    def validation_step(self, batch):
        x, y = batch
        self.log("val_loss", F.cross_entropy(self(x), y))

    def test_step(self, batch):
        x, y = batch
        self.log("test_loss", F.cross_entropy(self(x), y))

    def predict_step(self, batch):
        return self(batch[0]).argmax(1)


def test_steps_without_batch_idx(tmp_path):
    model = NoIndex()
    trainer = _quiet(tmp_path, max_epochs=2, limit_train_batches=3)
    trainer.fit(model, loader(), loader())
    assert trainer.global_step == 6 and "val_loss" in trainer.callback_metrics
    assert "test_loss" in trainer.test(model, loader(), verbose=False)[0]
    assert len(trainer.predict(model, loader(batch_size=200))[0]) == 128


def test_manual_optimization_training_step_without_batch_idx(tmp_path):
    class Manual(Classifier):
        def __init__(self):
            super().__init__()
            self.automatic_optimization = False

        def training_step(self, batch):
            optimizer = self.optimizers()
            optimizer.zero_grad()
            x, y = batch
            self.manual_backward(F.cross_entropy(self(x), y))
            optimizer.step()

    trainer = _quiet(tmp_path, max_epochs=1, limit_train_batches=2)
    trainer.fit(Manual(), loader())
    assert trainer.global_step == 2


class Blobs(DataModule):
    def train_dataloader(self):
        return loader()

    def val_dataloader(self):
        return loader()

    def test_dataloader(self):
        return loader()


def test_a_datamodule_in_the_second_position_is_detected(tmp_path):
    model = Classifier()
    trainer = _quiet(tmp_path, max_epochs=1, limit_train_batches=2)
    trainer.fit(model, Blobs())
    assert trainer.global_step == 2 and "val_loss" in trainer.callback_metrics
    assert isinstance(trainer.datamodule, Blobs)
    assert "test_acc" in trainer.test(model, Blobs(), verbose=False)[0]
    assert "val_acc" in trainer.validate(model, Blobs(), verbose=False)[0]
    with pytest.raises(ValueError, match="datamodule"):
        trainer.fit(model, Blobs(), datamodule=Blobs())
    with pytest.raises(ValueError, match="datamodule"):
        trainer.fit(model, loader(), datamodule=Blobs())


def test_configure_model_runs_after_setup_and_before_configure_optimizers(tmp_path):
    calls = []

    class Lazy(Classifier):
        def setup(self, stage):
            calls.append(("setup", stage))

        def configure_model(self):
            calls.append("configure_model")
            if not hasattr(self, "extra"):
                self.extra = ember.nn.Linear(3, 3)  # a layer made late, as Lightning allows

        def configure_optimizers(self):
            calls.append("configure_optimizers")
            return ember.optim.SGD(self.parameters(), lr=0.1)

    model = Lazy()
    _quiet(tmp_path, max_epochs=1, limit_train_batches=1).fit(model, loader())
    assert calls == [("setup", "fit"), "configure_model", "configure_optimizers"]
    assert any(p is model.extra.weight for p in model.trainer.optimizers[0].param_groups[0]["params"])
    calls.clear()
    _quiet(tmp_path).test(model, loader(), verbose=False)
    assert calls == [("setup", "test"), "configure_model"]


def test_model_eval_and_model_train_hooks_decide_the_evaluation_mode(tmp_path):
    modes = []

    class MonteCarlo(Classifier):
        """Keeps dropout on while validating (Lightning's documented use of on_validation_model_eval)."""

        def __init__(self):
            super().__init__(dropout=0.5)

        def on_validation_model_eval(self):
            modes.append("eval hook")
            self.train()

        def on_validation_model_train(self):
            modes.append("train hook")
            self.train()

        def validation_step(self, batch, batch_idx):
            modes.append(self.training)

        def on_test_model_eval(self):
            modes.append("test eval hook")
            self.eval()

        def test_step(self, batch, batch_idx):
            modes.append(self.training)

    model = MonteCarlo()
    _quiet(tmp_path, max_epochs=1, limit_train_batches=1).fit(model, loader(batch_size=128), loader(batch_size=128))
    assert modes == ["eval hook", True, "train hook"]
    modes.clear()
    _quiet(tmp_path).test(model, loader(batch_size=128), verbose=False)
    assert modes == ["test eval hook", False]


def test_on_train_batch_start_returning_minus_one_skips_the_rest_of_the_epoch(tmp_path):
    seen = []

    class Short(Classifier):
        def on_train_batch_start(self, batch, batch_idx):
            seen.append((self.current_epoch, batch_idx))
            return -1 if batch_idx == 2 else None

    trainer = _quiet(tmp_path, max_epochs=2, limit_train_batches=5)
    trainer.fit(Short(), loader())
    assert seen == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert trainer.global_step == 4 and trainer.current_epoch == 2


def test_module_device_is_a_device_object_as_lightnings():
    module = TrainingModule()
    assert isinstance(module.device, ember.device) and module.device.type == "cpu"
    assert ember.zeros(2, device=module.device).device == module.device
