"""LearningRateMonitor: logs each optimizer's rate under Lightning's names."""

from __future__ import annotations

import ember
import pytest
from ember.trainer import Trainer
from ember.trainer.callbacks import LearningRateMonitor

from ..models import Classifier, loader, read_csv, trainer_kwargs


class TwoGroups(Classifier):
    def configure_optimizers(self):
        optimizer = ember.optim.SGD([{"params": self.net[0].parameters(), "lr": 0.1},
                                     {"params": self.net[3].parameters(), "lr": 0.01}], momentum=0.9)
        return [optimizer], [ember.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)]


def test_logs_every_param_group_per_epoch(tmp_path):
    monitor = LearningRateMonitor(log_momentum=True)
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=3, limit_train_batches=2), callbacks=[monitor])
    trainer.fit(TwoGroups(), loader())
    assert monitor.lrs["lr-SGD/pg1"] == pytest.approx([0.1, 0.05, 0.025])
    assert monitor.lrs["lr-SGD/pg2"] == pytest.approx([0.01, 0.005, 0.0025])
    assert monitor.lrs["lr-SGD/pg1-momentum"] == [0.9, 0.9, 0.9]
    rows = [r for r in read_csv(tmp_path / "lightning_logs" / "version_0" / "metrics.csv") if r["lr-SGD/pg1"]]
    assert [(r["epoch"], r["step"]) for r in rows] == [("0", "0"), ("1", "2"), ("2", "4")]
    assert trainer.callback_metrics["lr-SGD/pg1"] == pytest.approx(0.025)  # (Lightning's: for other callbacks)


def test_a_monitored_learning_rate_can_stop_training(tmp_path):
    from ember.trainer.callbacks import EarlyStopping

    stop = EarlyStopping(monitor="lr-SGD/pg1", stopping_threshold=0.03, mode="min", check_on_train_epoch_end=True)
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=10, limit_train_batches=2),
                      callbacks=[LearningRateMonitor(), stop])
    trainer.fit(TwoGroups(), loader())
    assert trainer.current_epoch == 3  # the rate logged at epoch 2's start (0.025) is below the threshold


def test_step_interval_and_no_logger(tmp_path):
    monitor = LearningRateMonitor(logging_interval="step")
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=3), callbacks=[monitor])
    trainer.fit(Classifier(), loader())
    assert monitor.lrs == {"lr-SGD": [0.1, 0.1, 0.1]}
    with pytest.raises(RuntimeError, match="no logger"):
        Trainer(**trainer_kwargs(tmp_path, logger=False), callbacks=[LearningRateMonitor()]).fit(Classifier(), loader())
