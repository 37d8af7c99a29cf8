"""EarlyStopping: stops when it should (patience, thresholds, non-finite) and restores the best weights."""

from __future__ import annotations

import numpy as np
import pytest
from ember.trainer import Trainer
from ember.trainer.callbacks import Callback, EarlyStopping

from ..models import loader, trainer_kwargs, weights
from .scripted import Scripted


class Snapshots(Callback):
    def __init__(self):
        self.by_epoch = {}

    def on_train_epoch_end(self, trainer, module):
        self.by_epoch[trainer.current_epoch] = weights(module)


def _fit(tmp_path, stopper, scores, max_epochs=10):
    snapshots = Snapshots()
    model = Scripted(list(scores) + [0.0] * 20)
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=max_epochs, limit_train_batches=2, limit_val_batches=1),
                      callbacks=[snapshots, stopper])
    trainer.fit(model, loader(), loader())
    return trainer, model, snapshots


def test_stops_after_patience_checks_without_improvement(tmp_path):
    stopper = EarlyStopping("score", patience=2)
    trainer, _, _ = _fit(tmp_path, stopper, [5, 4, 4.5, 4.2, 3, 2])
    assert trainer.current_epoch == 4 and stopper.stopped_epoch == 3 and stopper.best_score == 4
    stopper = EarlyStopping("score", patience=2, min_delta=0.5)
    trainer, _, _ = _fit(tmp_path, stopper, [5, 4.8, 4.6, 4.4])  # improvements smaller than min_delta
    assert stopper.stopped_epoch == 2


def test_thresholds_and_non_finite(tmp_path):
    stopper = EarlyStopping("score", mode="max", stopping_threshold=0.9, patience=100)
    _fit(tmp_path, stopper, [0.5, 0.8, 0.95, 0.99])
    assert stopper.stopped_epoch == 2 and "Stopping threshold reached" in stopper.stopping_reason_message
    stopper = EarlyStopping("score", divergence_threshold=10.0, patience=100)
    _fit(tmp_path, stopper, [5, 8, 12, 1])
    assert stopper.stopped_epoch == 2 and "Divergence" in stopper.stopping_reason_message
    stopper = EarlyStopping("score", patience=100)
    _fit(tmp_path, stopper, [5, float("nan"), 1])
    assert stopper.stopped_epoch == 1 and "not finite" in stopper.stopping_reason_message


def test_restore_best_weights(tmp_path):
    stopper = EarlyStopping("score", patience=2, restore_best_weights=True)
    _, model, snapshots = _fit(tmp_path, stopper, [5, 3, 4, 4.5, 4.2])
    assert stopper.stopped_epoch == 3
    for key, value in snapshots.by_epoch[1].items():                     # the best epoch
        np.testing.assert_array_equal(weights(model)[key], value)
    assert not np.array_equal(snapshots.by_epoch[3]["net.0.weight"], snapshots.by_epoch[1]["net.0.weight"])
    stopper = EarlyStopping("score", patience=2)
    _, model, snapshots = _fit(tmp_path, stopper, [5, 3, 4, 4.5, 4.2])
    np.testing.assert_array_equal(weights(model)["net.0.weight"], snapshots.by_epoch[3]["net.0.weight"])


def test_state_survives_a_checkpoint(tmp_path):
    stopper = EarlyStopping("score", patience=3, restore_best_weights=True)
    _fit(tmp_path, stopper, [5, 3, 4], max_epochs=3)
    state = stopper.state_dict()
    again = EarlyStopping("score", patience=3, restore_best_weights=True)
    again.load_state_dict(state)
    assert (again.wait_count, again.best_score) == (1, 3.0)
    assert set(again.best_weights) == set(state["best_weights"])
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping("score", mode="lowest")
