"""The public Trainer surface a callback uses instead of private fields: ``enable_validation``,
``validation_has_run``, ``log_metrics``, ``metric_store`` and the ``optimizers`` setter."""

from __future__ import annotations

import csv
import os

import ember
from ember.trainer import Trainer, TrainingModule
from ember.trainer.callbacks import Callback

from .models import Classifier, loader


def _trainer(tmp_path, **kwargs):
    options = {"max_epochs": 1, "default_root_dir": str(tmp_path), "logger": False, "enable_checkpointing": False,
               "enable_progress_bar": False, "enable_model_summary": False}
    return Trainer(**{**options, **kwargs})


class _Recorder(Callback):
    """Records what ``enable_validation`` and ``validation_has_run`` say at each hook."""

    def __init__(self):
        self.seen = []

    def _record(self, hook, trainer):
        self.seen.append((hook, trainer.enable_validation, trainer.validation_has_run))

    def on_train_start(self, trainer, module):
        self._record("train_start", trainer)

    def on_validation_end(self, trainer, module):
        self._record("sanity_end" if trainer.sanity_checking else "val_end", trainer)

    def on_train_end(self, trainer, module):
        self._record("train_end", trainer)


def test_callbacks_see_whether_and_when_validation_runs(tmp_path):
    recorder = _Recorder()
    _trainer(tmp_path, callbacks=[recorder], limit_train_batches=2).fit(Classifier(), loader(), loader())
    assert recorder.seen == [
        ("sanity_end", True, False),  # the sanity check is not "validation has run"
        ("train_start", True, False),
        ("val_end", True, False),  # set once the validation loop has finished
        ("train_end", True, True),
    ]


def test_enable_validation_is_false_without_validation_batches_or_step(tmp_path):
    class NoValidation(Classifier):
        validation_step = TrainingModule.validation_step  # the default: no validation

    for model, kwargs in ((Classifier(), {"limit_val_batches": 0}), (NoValidation(), {})):
        recorder = _Recorder()
        _trainer(tmp_path, callbacks=[recorder], limit_train_batches=2, **kwargs).fit(model, loader(), loader())
        assert [seen for seen in recorder.seen if seen[0] != "sanity_end"] == [
            ("train_start", False, False), ("train_end", False, False)]


def test_log_metrics_writes_a_row_with_the_epoch_to_every_logger(tmp_path):
    class Writes(Callback):
        def on_train_epoch_end(self, trainer, module):
            trainer.log_metrics({"custom": 2.5}, step=trainer.global_step)

    trainer = _trainer(tmp_path, callbacks=[Writes()], logger=True, limit_train_batches=2, max_epochs=2)
    trainer.fit(Classifier(), loader())
    assert trainer.logged_metrics["custom"] == 2.5
    with open(os.path.join(trainer.logger.log_dir, "metrics.csv")) as f:
        rows = [row for row in csv.DictReader(f) if row.get("custom")]
    assert [(row["epoch"], row["step"], row["custom"]) for row in rows] == [("0", "2", "2.5"), ("1", "4", "2.5")]


def test_setting_optimizers_rewraps_them_for_manual_optimization(tmp_path):
    class Manual(Classifier):
        def __init__(self):
            super().__init__()
            self.automatic_optimization = False
            self.stepped = []

        def training_step(self, batch, batch_idx):
            optimizer = self.optimizers()
            self.stepped.append(optimizer.optimizer)
            optimizer.zero_grad()
            x, y = batch
            self.manual_backward(ember.nn.functional.cross_entropy(self(x), y))
            optimizer.step()

    class SwapOptimizer(Callback):
        def on_train_start(self, trainer, module):
            self.replacement = ember.optim.Adam(module.parameters(), lr=1e-3)
            trainer.optimizers = [self.replacement]

    swap = SwapOptimizer()
    model = Manual()
    trainer = _trainer(tmp_path, callbacks=[swap], limit_train_batches=2)
    trainer.fit(model, loader())
    assert trainer.optimizers == [swap.replacement]
    assert model.stepped == [swap.replacement, swap.replacement]
    assert trainer.global_step == 2  # the new optimizer's steps count, through its ManualOptimizer wrapper


def test_metric_store_silenced_keeps_self_log_out_of_the_metrics(tmp_path):
    class TrialStep(Callback):
        def on_train_start(self, trainer, module):
            x, y = next(iter(trainer.train_dataloader))
            with trainer.metric_store.silenced():
                trainer.metric_store.start_batch((x, y))
                module.training_step((x, y), 0)  # logs train_loss: silenced, not recorded
                trainer.metric_store.end_batch()
            self.metrics_after_trial = dict(trainer.callback_metrics)

    trial = TrialStep()
    trainer = _trainer(tmp_path, callbacks=[trial], limit_train_batches=1, num_sanity_val_steps=0)
    trainer.fit(Classifier(), loader())
    assert trial.metrics_after_trial == {}
    assert "train_loss" in trainer.callback_metrics  # the real steps still log
