"""``BatchSizeFinder``: power / binsearch trials on real training steps, the run's state restored afterwards."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.trainer import DataModule, Trainer
from ember.trainer.callbacks import BatchSizeFinder

from ..models import Classifier, blobs, loader, trainer_kwargs, weights


class Limited(Classifier):
    """Runs out of memory above ``limit`` samples per batch."""

    def __init__(self, limit: int, batch_size: int = 2):
        super().__init__()
        self.limit = limit
        self.batch_size = batch_size
        self.sizes = []

    def training_step(self, batch, batch_idx):
        self.sizes.append(len(batch[0]))
        if len(batch[0]) > self.limit:
            raise MemoryError("Unable to allocate the activations")
        return super().training_step(batch, batch_idx)

    def train_dataloader(self):
        return loader(blobs(256), batch_size=self.batch_size, shuffle=True)


def _fit(tmp_path, model, callbacks=(), **kwargs):
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=3, logger=False,
                                       enable_checkpointing=False, **kwargs), callbacks=list(callbacks))
    trainer.fit(model)
    return trainer


@pytest.mark.parametrize(("mode", "limit", "expected"), [("power", 40, 32), ("binsearch", 40, 40),
                                                         ("power", 1000, 256)])
def test_batch_size_finder_finds_the_largest_size_that_fits(tmp_path, mode, limit, expected):
    finder = BatchSizeFinder(mode=mode, steps_per_trial=1)
    model = Limited(limit)
    trainer = _fit(tmp_path, model, [finder])
    assert finder.optimal_batch_size == expected and model.batch_size == expected
    assert model.sizes[-1] == expected  # training ran with it
    assert trainer.global_step == min(3, 256 // expected)


def test_batch_size_finder_restores_the_run_exactly(tmp_path):
    model = Limited(40)
    ref = Limited(40, batch_size=32)
    ref.load_state_dict(model.state_dict())
    ember.manual_seed(0)
    _fit(tmp_path, model, [BatchSizeFinder(steps_per_trial=2)])
    ember.manual_seed(0)
    _fit(tmp_path, ref)
    a, b = weights(model), weights(ref)
    assert all(np.array_equal(a[k], b[k]) for k in a)  # as if the trials never happened


def test_batch_size_finder_on_a_datamodule_attribute(tmp_path):
    class Data(DataModule):
        def __init__(self):
            super().__init__()
            self.batch_size = 4

        def train_dataloader(self):
            return loader(blobs(64), batch_size=self.batch_size)

    data = Data()
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, logger=False, enable_checkpointing=False),
                      callbacks=[BatchSizeFinder(steps_per_trial=1, max_trials=3)])
    trainer.fit(Classifier(), datamodule=data)
    assert data.batch_size == 8  # init_val 2, then 4, 8: three trials


def test_batch_size_finder_rejects_loaders_passed_to_fit(tmp_path):
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, logger=False, enable_checkpointing=False),
                      callbacks=[BatchSizeFinder()])
    with pytest.raises(ValueError, match="passed directly"):
        trainer.fit(Limited(8), loader())
