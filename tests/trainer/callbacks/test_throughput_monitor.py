"""ThroughputMonitor (Lightning's): totals and per-second rates of each stage, logged under the stage's name."""

from __future__ import annotations

import pytest
from ember.trainer import Trainer
from ember.trainer.callbacks import ThroughputMonitor
from ember.trainer.callbacks.throughput_monitor import Throughput

from ..models import Classifier, loader, read_csv, trainer_kwargs


def _samples(batch):
    return batch[0].shape[0]


def test_training_and_validation_throughput_are_logged(tmp_path):
    monitor = ThroughputMonitor(batch_size_fn=_samples, length_fn=lambda batch: 4 * batch[0].shape[0],
                                window_size=2)
    model = Classifier()
    model.flops_per_batch = 1000
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=4, limit_val_batches=2,
                                       enable_checkpointing=False), callbacks=[monitor])
    trainer.fit(model, loader(), loader())
    logged = trainer.logged_metrics
    assert logged["train/batches"] == 4 and logged["train/samples"] == 64 and logged["train/lengths"] == 256
    rate = logged["train/device/samples_per_sec"]
    assert rate > 0 and rate == pytest.approx(16 * logged["train/device/batches_per_sec"])
    assert logged["train/device/items_per_sec"] == pytest.approx(4 * rate)
    assert logged["train/device/flops_per_sec"] == pytest.approx(1000 * logged["train/device/batches_per_sec"])
    assert logged["validate/batches"] == 2 and logged["validate/samples"] == 32
    rows = read_csv(trainer.logger.log_dir + "/metrics.csv")
    assert [int(float(r["train/batches"])) for r in rows if r.get("train/batches")] == [1, 2, 3, 4]


def test_training_logs_follow_log_every_n_steps_and_test_has_its_own_totals(tmp_path):
    monitor = ThroughputMonitor(batch_size_fn=_samples, window_size=2)
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=4, log_every_n_steps=2,
                                       enable_checkpointing=False), callbacks=[monitor])
    model = Classifier()
    trainer.fit(model, loader())
    rows = read_csv(trainer.logger.log_dir + "/metrics.csv")
    assert [int(float(r["train/batches"])) for r in rows if r.get("train/batches")] == [2, 4]
    trainer.test(model, loader(batch_size=32), verbose=False)
    assert trainer.logged_metrics["test/samples"] == 128 and trainer.logged_metrics["test/batches"] == 4


def test_rates_need_a_full_window():
    throughput = Throughput(window_size=3)
    throughput.update(time=1.0, batches=1, samples=8)
    throughput.update(time=2.0, batches=2, samples=16)
    assert "device/samples_per_sec" not in throughput.compute()
    throughput.update(time=3.0, batches=3, samples=24)
    assert throughput.compute()["device/samples_per_sec"] == pytest.approx(8.0)
    two = Throughput(world_size=2, window_size=2)
    two.update(time=0.0, batches=1, samples=4)
    two.update(time=0.5, batches=2, samples=8)
    assert two.compute()["samples_per_sec"] == pytest.approx(16.0)
    with pytest.raises(ValueError, match="window_size"):
        Throughput(window_size=1)
