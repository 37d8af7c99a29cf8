"""The evaluation loop: what the hooks see at the end of a validation / test epoch."""

from __future__ import annotations

import pytest
from ember.trainer import Trainer

from .models import Classifier, loader, trainer_kwargs


class ReadsEpochMetrics(Classifier):
    """Reads the epoch's reduced values in on_validation_epoch_end / on_test_epoch_end, as Lightning programs do."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def test_step(self, batch, batch_idx):
        return self.validation_step(batch, batch_idx)

    def on_validation_epoch_end(self):
        if not self.trainer.sanity_checking:
            self.seen.append(("validate", self.trainer.callback_metrics["val_loss"]))

    def on_test_epoch_end(self):
        self.seen.append(("test", self.trainer.callback_metrics["val_loss"]))


def test_the_epochs_reduced_values_are_in_callback_metrics_at_its_end_hook(tmp_path):
    model = ReadsEpochMetrics()
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=2, limit_train_batches=2, logger=False,
                                       enable_checkpointing=False, num_sanity_val_steps=0))
    trainer.fit(model, loader(), loader())
    after_fit = trainer.callback_metrics["val_loss"]
    results = trainer.test(model, loader(), verbose=False)
    assert [stage for stage, _ in model.seen] == ["validate", "validate", "test"]
    assert model.seen[1][1] == pytest.approx(after_fit)  # the value the epoch ends with, not the last batch's
    assert model.seen[2][1] == pytest.approx(results[0]["val_loss"])
    assert model.seen[0][1] != pytest.approx(model.seen[1][1])  # each epoch's own value
