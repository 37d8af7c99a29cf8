"""OnExceptionCheckpoint: an exception during fit leaves a checkpoint behind."""

from __future__ import annotations

import os

import ember
import pytest
from ember.trainer import Trainer
from ember.trainer.callbacks import OnExceptionCheckpoint

from ..models import Classifier, loader, trainer_kwargs


def test_saves_on_exception(tmp_path):
    class Crash(Classifier):
        def training_step(self, batch, batch_idx):
            if self.global_step == 3:
                raise RuntimeError("out of memory, say")
            return super().training_step(batch, batch_idx)

    rescue = OnExceptionCheckpoint(dirpath=tmp_path / "rescue")
    with pytest.raises(RuntimeError, match="out of memory"):
        Trainer(**trainer_kwargs(tmp_path, max_epochs=1), callbacks=[rescue]).fit(Crash(), loader())
    assert os.listdir(tmp_path / "rescue") == ["on_exception.ckpt"]
    assert ember.load(rescue.ckpt_path)["global_step"] == 3
