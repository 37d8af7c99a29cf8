"""``BasePredictionWriter``: write_on_batch_end / write_on_epoch_end by write_interval."""

from __future__ import annotations

import os

import ember
import numpy as np
import pytest
from ember.trainer import Trainer
from ember.trainer.callbacks import BasePredictionWriter

from ..models import Classifier, loader, trainer_kwargs


class Writer(BasePredictionWriter):
    def __init__(self, folder, write_interval):
        super().__init__(write_interval)
        self.folder = folder
        self.calls = []

    def write_on_batch_end(self, trainer, module, prediction, batch_indices, batch, batch_idx, dataloader_idx):
        self.calls.append(("batch", batch_idx, batch_indices))
        ember.save(prediction, os.path.join(self.folder, f"batch-{dataloader_idx}-{batch_idx}.ember"))

    def write_on_epoch_end(self, trainer, module, predictions, batch_indices):
        self.calls.append(("epoch", len(predictions), batch_indices))
        ember.save(ember.cat(predictions), os.path.join(self.folder, "all.ember"))


class Predicting(Classifier):
    def predict_step(self, batch, batch_idx, dataloader_idx=0):
        return self(batch[0]).argmax(1)


@pytest.mark.parametrize("interval", ["batch", "epoch", "batch_and_epoch"])
def test_prediction_writer_writes_at_its_interval(tmp_path, interval):
    writer = Writer(str(tmp_path), interval)
    trainer = Trainer(**trainer_kwargs(tmp_path, logger=False, enable_checkpointing=False), callbacks=[writer])
    model = Predicting()
    returned = trainer.predict(model, loader(batch_size=50))
    files = sorted(f for f in os.listdir(tmp_path) if f.endswith(".ember"))
    on_batch = interval in ("batch", "batch_and_epoch")
    on_epoch = interval in ("epoch", "batch_and_epoch")
    assert (files.count("all.ember") == 1) == on_epoch
    assert [f for f in files if f.startswith("batch-")] == (
        ["batch-0-0.ember", "batch-0-1.ember", "batch-0-2.ember"] if on_batch else [])
    if on_batch:
        assert writer.calls[0] == ("batch", 0, list(range(50)))
        assert writer.calls[2] == ("batch", 2, list(range(100, 128)))
    if on_epoch:
        assert writer.calls[-1] == ("epoch", 3, [[list(range(50)), list(range(50, 100)), list(range(100, 128))]])
        written = ember.load(os.path.join(tmp_path, "all.ember"))
        np.testing.assert_array_equal(np.asarray(written), np.asarray(ember.cat(returned)))


def test_write_interval_is_checked():
    with pytest.raises(ValueError, match="write_interval"):
        Writer(".", "step")
