"""Timer: measures stages, stops at its duration, keeps counting after a resume."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from ember.trainer import Trainer
from ember.trainer.callbacks import Timer
from ember.trainer.callbacks.timer import parse_duration

from ..models import Classifier, loader, trainer_kwargs


def test_parse_duration():
    assert parse_duration("01:02:03:04") == timedelta(days=1, hours=2, minutes=3, seconds=4)
    assert parse_duration({"minutes": 2}) == timedelta(minutes=2)
    with pytest.raises(ValueError, match="DD:HH:MM:SS"):
        parse_duration("10 minutes")


def test_measures_and_stops(tmp_path):
    class Slow(Classifier):
        def training_step(self, batch, batch_idx):
            time.sleep(0.05)
            return super().training_step(batch, batch_idx)

    timer = Timer(duration={"seconds": 0.3}, verbose=False)
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=100), callbacks=[timer])
    trainer.fit(Slow(), loader(), loader())
    assert 1 <= trainer.global_step < 100 * 8  # stopped by the timer, long before max_epochs
    assert timer.time_elapsed("train") >= 0.3 and timer.time_elapsed("validate") >= 0.0
    assert timer.time_remaining() <= 0
    resumed = Timer(duration={"seconds": 10})
    resumed.load_state_dict(timer.state_dict())
    assert resumed.time_elapsed("train") == pytest.approx(timer.time_elapsed("train"))
