"""``DeviceStatsMonitor``: CPU statistics logged under Lightning's names."""

from __future__ import annotations

import pytest
from ember.trainer import Trainer
from ember.trainer.callbacks import DeviceStatsMonitor
from ember.trainer.loggers import CSVLogger

from ..models import Classifier, loader, read_csv, trainer_kwargs


def test_device_stats_are_logged_at_the_batch_hooks(tmp_path):
    logger = CSVLogger(str(tmp_path))
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=4, log_every_n_steps=2,
                                       logger=logger, enable_checkpointing=False), callbacks=[DeviceStatsMonitor()])
    trainer.fit(Classifier(), loader())
    rows = read_csv(logger.log_dir + "/metrics.csv")
    for hook in ("on_train_batch_start", "on_train_batch_end"):
        logged = [row for row in rows if row.get(f"DeviceStatsMonitor.{hook}/cpu_percent")]
        assert [int(row["step"]) for row in logged] == [1, 3]  # every log_every_n_steps batches
        for name in ("cpu_percent", "cpu_vm_percent", "cpu_swap_percent"):
            values = [float(row[f"DeviceStatsMonitor.{hook}/{name}"]) for row in logged]
            assert all(0.0 <= v <= 100.0 for v in values), (hook, name, values)
        assert all(float(row[f"DeviceStatsMonitor.{hook}/cpu_vm_percent"]) > 0 for row in logged)


def test_device_stats_monitor_needs_a_logger(tmp_path):
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, logger=False, enable_checkpointing=False),
                      callbacks=[DeviceStatsMonitor()])
    with pytest.raises(ValueError, match="logger=False"):
        trainer.fit(Classifier(), loader())


def test_cpu_stats_false_logs_nothing(tmp_path):
    logger = CSVLogger(str(tmp_path))
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=2, logger=logger,
                                       enable_checkpointing=False), callbacks=[DeviceStatsMonitor(cpu_stats=False)])
    trainer.fit(Classifier(), loader())
    assert not any("DeviceStatsMonitor" in key for row in read_csv(logger.log_dir + "/metrics.csv") for key in row)
