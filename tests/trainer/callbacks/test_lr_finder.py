"""LearningRateFinder: sweeps the rate, suggests one, leaves the weights as they were, updates the module."""

from __future__ import annotations

import itertools

import numpy as np
from ember.trainer import Trainer
from ember.trainer.callbacks import Callback, LearningRateFinder

from ..models import Classifier, loader, trainer_kwargs, weights


def test_sweep_suggestion_and_restore(tmp_path):
    start = {}

    class AtTrainStart(Callback):
        def on_train_start(self, trainer, module):
            start["weights"] = weights(module)
            start["lr"] = trainer.optimizers[0].param_groups[0]["lr"]

    model = Classifier(lr=1e-6)
    initial = weights(model)
    finder = LearningRateFinder(min_lr=1e-4, max_lr=10.0, num_training_steps=40)
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=2), callbacks=[finder, AtTrainStart()])
    trainer.fit(model, loader())
    lrs = finder.optimal_lr.results["lr"]
    assert lrs[0] == 1e-4 and all(b > a for a, b in itertools.pairwise(lrs))
    suggestion = finder.optimal_lr.suggestion()
    assert 1e-3 < suggestion < 10.0
    assert model.hparams.lr == suggestion == start["lr"]          # the optimizer was configured again
    for key, value in initial.items():
        np.testing.assert_array_equal(start["weights"][key], value)  # the sweep left no trace
