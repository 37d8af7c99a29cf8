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


class DictStep(Classifier):
    """Returns its loss in a dict with another key, and records the outputs its on_train_batch_end receives."""

    def __init__(self):
        super().__init__()
        self.outputs = []

    def training_step(self, batch, batch_idx):
        return {"loss": super().training_step(batch, batch_idx), "batch_idx": batch_idx}

    def on_train_batch_end(self, outputs, batch, batch_idx):
        self.outputs.append(outputs)


def test_a_module_or_callback_reading_outputs_gets_lightnings_dict(tmp_path):
    module = DictStep()
    _trainer(tmp_path, max_epochs=1, limit_train_batches=3, enable_checkpointing=True, enable_progress_bar=True,
             callbacks=[ProgressBar(file=io.StringIO())]).fit(module, loader())
    assert [sorted(out) for out in module.outputs] == [["batch_idx", "loss"]] * 3
    assert [out["batch_idx"] for out in module.outputs] == [0, 1, 2]
    assert all(out["loss"].grad_fn is None and not out["loss"].requires_grad for out in module.outputs)

    seen = []

    class Bar(ProgressBar):  # overrides a hook whose default ignores the outputs: this override reads them
        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            seen.append(outputs)
            super().on_train_batch_end(trainer, module, outputs, batch, batch_idx)

    model = Logged()
    _trainer(tmp_path, max_epochs=1, limit_train_batches=2, enable_progress_bar=True,
             callbacks=[Bar(file=io.StringIO())]).fit(model, loader())
    assert [sorted(out) for out in seen] == [["loss"], ["loss"]]
    assert [out["loss"].item() for out in seen] == model.losses and not seen[0]["loss"].requires_grad


def test_optimizer_step_and_on_before_optimizer_step_see_what_lightning_passes_in_its_order(tmp_path):
    calls = []

    class Steps(Classifier):
        def optimizer_step(self, epoch, batch_idx, optimizer, optimizer_closure=None):
            calls.append(("optimizer_step", epoch, batch_idx, type(optimizer).__name__, callable(optimizer_closure)))
            optimizer.step(closure=optimizer_closure)

        def on_before_optimizer_step(self, optimizer):
            grads = all(p.grad is not None for p in self.parameters())
            calls.append(("on_before_optimizer_step", type(optimizer).__name__, grads))

        def configure_gradient_clipping(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None):
            calls.append(("configure_gradient_clipping", type(optimizer).__name__, gradient_clip_val))

    class Early(Callback):
        priority = 10

        def on_before_optimizer_step(self, trainer, module, optimizer):
            calls.append(("callback", type(optimizer).__name__))

    trainer = _trainer(tmp_path, max_epochs=1, limit_train_batches=4, accumulate_grad_batches=2,
                       gradient_clip_val=0.5, callbacks=[Early()])
    trainer.fit(Steps(), loader())
    per_step = [("callback", "SGD"), ("on_before_optimizer_step", "SGD", True), ("configure_gradient_clipping", "SGD", 0.5)]
    assert calls == [("optimizer_step", 0, 1, "ManualOptimizer", True), *per_step,
                     ("optimizer_step", 0, 3, "ManualOptimizer", True), *per_step]
    assert trainer.global_step == 2


class CountingStrategy(ember.trainer.strategies.Strategy):
    """One process, counting the gradient reductions the loop asks for."""

    def __init__(self):
        self.reductions = 0

    def reduce_gradients(self):
        self.reductions += 1


def test_a_strategy_reducing_gradients_is_asked_once_per_optimizer_step(tmp_path):
    strategy = CountingStrategy()
    trainer = _trainer(tmp_path, max_epochs=1, limit_train_batches=5, accumulate_grad_batches=2, strategy=strategy)
    trainer.fit(Classifier(), loader())
    assert trainer.global_step == 3 and strategy.reductions == 3  # batches 2, 4 and the epoch's last, 5

    plain = ember.trainer.strategies.Strategy()  # a method set on the instance (as a timing harness does) is called
    counted = []
    plain.reduce_gradients = lambda: counted.append(1)
    _trainer(tmp_path, max_epochs=1, limit_train_batches=3, strategy=plain).fit(Classifier(), loader())
    assert len(counted) == 3


def test_logged_numbers_become_float_tensors_whatever_their_type(tmp_path):
    class Kinds(Classifier):
        def training_step(self, batch, batch_idx):
            self.log("int_tensor", ember.tensor(3))
            self.log("bool_tensor", ember.tensor(True))
            self.log("float64_tensor", ember.tensor(0.25, dtype=ember.float64))
            self.log("numpy", np.float32(1.5))
            self.log("int", 7)
            return super().training_step(batch, batch_idx)

    trainer = _trainer(tmp_path, max_epochs=1, limit_train_batches=2)
    trainer.fit(Kinds(), loader())
    values = {k: trainer.callback_metrics[k] for k in ("int_tensor", "bool_tensor", "float64_tensor", "numpy", "int")}
    assert {k: v.item() for k, v in values.items()} == {"int_tensor": 3.0, "bool_tensor": 1.0, "float64_tensor": 0.25,
                                                        "numpy": 1.5, "int": 7.0}
    # as Lightning's callback_metrics: 0-d floating tensors (Ember's are of the default dtype)
    assert all(isinstance(v, ember.Tensor) and v.shape == () and v.dtype == ember.float32 for v in values.values())


class Batches:
    """An iterable of batches without len() that counts the batches taken and whether its iterator was closed;
    it raises at batch ``fail_at``."""

    def __init__(self, fail_at=None):
        self.taken, self.closed, self.fail_at = 0, False, fail_at
        self.data = [(ember.tensor(x), ember.tensor(y)) for x, y in loader()]

    def __iter__(self):
        outer = self

        class Iterator:
            def __next__(self):
                if outer.taken == outer.fail_at:
                    raise OSError(f"batch {outer.taken} is unreadable")
                if outer.taken >= len(outer.data):
                    raise StopIteration
                outer.taken += 1
                return outer.data[outer.taken - 1]

            def close(self):
                outer.closed = True

        return Iterator()


def test_the_loop_fetches_no_batch_past_its_limit_and_closes_a_failed_loader_at_once(tmp_path):
    data = Batches()
    trainer = _trainer(tmp_path, max_steps=3, limit_train_batches=3)
    trainer.fit(Classifier(), data)
    assert data.taken == 3 and trainer.global_step == 3 and not data.closed

    data = Batches()  # no len() and no limit: one batch is fetched ahead, to know the last (Lightning's prefetch)
    trainer = _trainer(tmp_path, max_steps=3)
    trainer.fit(Classifier(), data)
    assert data.taken == 4 and trainer.global_step == 3 and not data.closed

    data = Batches()  # no len(): the epoch ends when the loader does
    _trainer(tmp_path, max_epochs=1).fit(Classifier(), data)
    assert data.taken == len(data.data) and not data.closed

    data = Batches(fail_at=2)
    with pytest.raises(OSError, match="batch 2 is unreadable"):
        _trainer(tmp_path, max_epochs=1).fit(Classifier(), data)
    assert data.closed  # (while the traceback still holds the loop's frame)


def test_stopping_or_saving_in_on_train_batch_end_takes_effect_at_that_steps_boundary(tmp_path):
    class StopAt2(Callback):
        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            if batch_idx == 1:
                trainer.save_checkpoint(os.path.join(str(tmp_path), "mid.ckpt"))
                assert not os.path.exists(os.path.join(str(tmp_path), "mid.ckpt"))  # (written at the boundary)
                trainer.should_stop = True

        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            assert os.path.exists(os.path.join(str(tmp_path), "mid.ckpt")) == (batch_idx > 1)

    trainer = _trainer(tmp_path, max_epochs=3, callbacks=[StopAt2()])
    trainer.fit(Classifier(), loader())
    assert trainer.global_step == 2 and trainer.current_epoch == 1
    assert ember.load(os.path.join(str(tmp_path), "mid.ckpt"))["global_step"] == 2


def test_an_optimizer_that_reevaluates_the_closure_runs_the_step_each_time_and_outputs_the_last(tmp_path):
    class Quasi(DictStep):  # LBFGS calls the closure several times in one optimizer step
        def __init__(self):
            super().__init__()
            self.evaluations, self.before_step = [], 0

        def training_step(self, batch, batch_idx):
            out = super().training_step(batch, batch_idx)
            self.evaluations.append((batch_idx, out["loss"].item()))
            return out

        def on_before_optimizer_step(self, optimizer):
            self.before_step += 1

        def configure_optimizers(self):
            return ember.optim.LBFGS(self.parameters(), lr=0.5, max_iter=3)

    module = Quasi()
    trainer = _trainer(tmp_path, max_epochs=1, limit_train_batches=2)
    trainer.fit(module, loader())
    assert trainer.global_step == 2 and [i for i, _ in module.evaluations] == [0, 0, 0, 1, 1, 1]
    assert module.before_step == 6  # (after each evaluation, as Lightning wraps the closure)
    assert module.evaluations[2][1] < module.evaluations[0][1]  # the step learns from its evaluations
    assert [out["loss"].item() for out in module.outputs] == [module.evaluations[2][1], module.evaluations[5][1]]


def test_hooks_set_on_the_module_or_a_callback_instance_are_called_with_lightnings_arguments(tmp_path):
    calls = []
    module, callback = Classifier(), Callback()  # neither class overrides these hooks: the instances do
    module.on_before_zero_grad = lambda optimizer: calls.append(("module zero_grad", type(optimizer).__name__))
    module.on_train_batch_end = lambda outputs, batch, batch_idx: calls.append(("module", sorted(outputs), batch_idx))
    callback.on_train_batch_end = lambda trainer, module_, outputs, batch, batch_idx: calls.append(
        ("callback", trainer.global_step, module_ is module, batch_idx))
    callback.on_train_epoch_end = lambda trainer, module_: calls.append(("callback epoch end", trainer.current_epoch))
    _trainer(tmp_path, max_epochs=1, limit_train_batches=2, callbacks=[callback]).fit(module, loader())
    per_batch = [[("module zero_grad", "SGD"), ("callback", i + 1, True, i), ("module", ["loss"], i)] for i in range(2)]
    assert calls == per_batch[0] + per_batch[1] + [("callback epoch end", 0)]


class RecordingSGD(ember.optim.SGD):
    """Records the closure each step gets and what it returned."""

    def __init__(self, params, lr):
        super().__init__(params, lr=lr)
        self.closures, self.losses = [], []

    def step(self, closure=None):
        self.closures.append(closure)
        loss = closure()
        self.losses.append(loss)
        super().step()
        return loss


def test_the_optimizer_gets_the_loop_closure_itself_when_nothing_runs_before_the_update(tmp_path):
    class Recorded(Classifier):
        def configure_optimizers(self):
            return RecordingSGD(self.parameters(), lr=0.1)

    class BeforeStep(Recorded):
        def on_before_optimizer_step(self, optimizer):  # something between the closure and the update
            self.before = getattr(self, "before", 0) + 1

    weights, runs = [], []
    for cls in (Recorded, BeforeStep):
        ember.manual_seed(0)
        module = cls()
        trainer = _trainer(tmp_path, max_epochs=1, limit_train_batches=3)
        trainer.fit(module, loader())
        optimizer = trainer.optimizers[0]
        runs.append([closure == trainer.fit_loop.closure for closure in optimizer.closures])
        assert len(optimizer.losses) == 3 and all(loss.requires_grad and loss.numel() == 1 for loss in optimizer.losses)
        assert trainer.global_step == 3
        weights.append([p.detach().numpy().copy() for p in module.parameters()])
    assert runs == [[True] * 3, [False] * 3] and module.before == 3
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)
