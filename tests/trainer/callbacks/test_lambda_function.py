"""``LambdaCallback``: functions as hooks."""

from __future__ import annotations

import pytest
from ember.trainer import Trainer
from ember.trainer.callbacks import LambdaCallback

from ..models import Classifier, loader, trainer_kwargs


def test_lambda_callback_runs_its_functions_at_their_hooks(tmp_path):
    seen = []
    callback = LambdaCallback(
        on_train_epoch_end=lambda trainer, module: seen.append(("epoch_end", trainer.current_epoch)),
        on_train_batch_end=lambda trainer, module, outputs, batch, batch_idx: seen.append(("batch", batch_idx)),
        setup=lambda trainer, module, stage: seen.append(("setup", stage)),
    )
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=2, limit_train_batches=2, logger=False,
                                       enable_checkpointing=False), callbacks=[callback])
    trainer.fit(Classifier(), loader())
    assert seen == [("setup", "fit"), ("batch", 0), ("batch", 1), ("epoch_end", 0),
                    ("batch", 0), ("batch", 1), ("epoch_end", 1)]
    other = LambdaCallback(on_fit_start=lambda trainer, module: None)
    assert not hasattr(type(other), "on_train_epoch_end") or "on_train_epoch_end" not in vars(type(other))


def test_lambda_callback_rejects_unknown_hooks():
    with pytest.raises(TypeError, match="on_train_epoch_ending"):
        LambdaCallback(on_train_epoch_ending=lambda trainer, module: None)
