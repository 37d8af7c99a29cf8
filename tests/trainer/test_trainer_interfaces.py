"""The explicit interfaces the trainer package's pieces use instead of private Trainer / Logger fields:
``Trainer.call`` (hook dispatch), ``Trainer.manual_optimizers``, ``ManualOptimizer(optimizer, call, state)``
and the settable ``VersionedLogger.version``."""

from __future__ import annotations

import ember
from ember import nn
from ember.trainer import Trainer
from ember.trainer.callbacks import Callback
from ember.trainer.loggers import CSVLogger
from ember.trainer.optimization import ManualOptimizer
from ember.trainer.state import TrainerState

from .models import Classifier, loader


def _trainer(tmp_path, **kwargs):
    options = {"max_epochs": 1, "default_root_dir": str(tmp_path), "logger": False, "enable_checkpointing": False,
               "enable_progress_bar": False, "enable_model_summary": False}
    return Trainer(**{**options, **kwargs})


def test_manual_optimizer_runs_the_given_hook_and_advances_the_given_state():
    layer = nn.Linear(2, 1)
    optimizer = ember.optim.SGD(layer.parameters(), lr=0.1)
    calls, state = [], TrainerState()
    wrapped = ManualOptimizer(optimizer, call=lambda name, *args: calls.append((name, args)), state=state)
    layer(ember.ones(3, 2)).sum().backward()
    before = layer.weight.detach().numpy().copy()
    wrapped.step()
    assert calls == [("on_before_optimizer_step", (optimizer,))]
    assert state.global_step == 1
    assert (layer.weight.detach().numpy() != before).all()


class _Seen(Callback):
    def __init__(self):
        self.seen = []

    def on_before_backward(self, trainer, module, loss):
        self.seen.append(("before_backward", float(loss.item())))

    def on_save_checkpoint(self, trainer, module, checkpoint):
        self.seen.append(("save", checkpoint["global_step"]))


def test_trainer_call_dispatches_to_the_run_callbacks_and_manual_optimizers_are_public(tmp_path):
    seen = _Seen()
    trainer = _trainer(tmp_path, callbacks=[seen], max_steps=2)
    model = Classifier()
    trainer.fit(model, loader(batch_size=8))
    seen.seen.clear()
    trainer.call("on_before_backward", ember.tensor(2.0))
    assert seen.seen == [("before_backward", 2.0)]
    assert [m.optimizer for m in trainer.manual_optimizers] == trainer.optimizers
    assert all(isinstance(m, ManualOptimizer) for m in trainer.manual_optimizers)


def test_versioned_logger_version_is_settable(tmp_path):
    logger = CSVLogger(str(tmp_path), name="runs")
    assert logger.version == 0
    logger.version = 7
    assert logger.version == 7
    assert logger.log_dir.endswith("version_7")
