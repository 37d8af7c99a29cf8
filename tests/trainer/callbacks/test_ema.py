"""EMA: validation uses the averaged weights and training ends with them."""

from __future__ import annotations

import numpy as np
from ember.trainer import Trainer
from ember.trainer.callbacks import EMA, Callback

from ..models import Classifier, loader, trainer_kwargs, weights


def test_ema_weights_follow_the_recursion(tmp_path):
    history = []
    validated_with = []

    class Track(Callback):
        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            history.append(weights(module)["net.0.weight"])

        def on_validation_batch_start(self, trainer, module, batch, batch_idx, dataloader_idx=0):
            validated_with.append(weights(module)["net.0.weight"])

    ema = EMA(decay=0.5)
    model = Classifier()
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=4, limit_val_batches=1),
                      callbacks=[Track(), ema])
    trainer.fit(model, loader(), loader())
    expected = history[0]
    for w in history[1:]:
        expected = 0.5 * expected + 0.5 * w
    np.testing.assert_allclose(weights(model)["net.0.weight"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(validated_with[0], expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(history[-1], expected)
    assert "average_model" in ema.state_dict()
