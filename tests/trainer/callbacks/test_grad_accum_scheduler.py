"""GradientAccumulationScheduler: the accumulation factor changes at the scheduled epochs."""

from __future__ import annotations

import pytest
from ember.trainer import Trainer
from ember.trainer.callbacks import GradientAccumulationScheduler

from ..models import Classifier, loader, trainer_kwargs


def test_schedule_changes_steps_per_epoch(tmp_path):
    scheduler = GradientAccumulationScheduler({1: 2, 2: 4})
    steps = []

    class Steps(Classifier):
        def on_train_epoch_end(self):
            steps.append(self.global_step)

    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=3), callbacks=[scheduler])
    trainer.fit(Steps(), loader())                  # 8 batches per epoch
    assert steps == [8, 12, 14]
    with pytest.raises(ValueError, match="factors ints >= 1"):
        GradientAccumulationScheduler({0: 0})
