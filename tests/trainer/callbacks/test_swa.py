"""StochasticWeightAveraging: the module ends with the average of the weights of the SWA epochs."""

from __future__ import annotations

import numpy as np
from ember.trainer import Trainer
from ember.trainer.callbacks import Callback, StochasticWeightAveraging

from ..models import Classifier, loader, trainer_kwargs, weights


def test_final_weights_are_the_average_of_the_swa_epochs(tmp_path):
    snapshots = []

    class Snap(Callback):
        def on_train_epoch_end(self, trainer, module):
            snapshots.append(weights(module))

    lrs = []

    class Lr(Callback):
        def on_train_epoch_start(self, trainer, module):
            lrs.append(trainer.optimizers[0].param_groups[0]["lr"])

    swa = StochasticWeightAveraging(swa_lrs=0.01, swa_epoch_start=2, annealing_epochs=1)
    model = Classifier()
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=4, limit_train_batches=3), callbacks=[Snap(), swa, Lr()])
    trainer.fit(model, loader())
    expected = np.mean([s["net.0.weight"] for s in snapshots[2:]], axis=0)
    np.testing.assert_allclose(weights(model)["net.0.weight"], expected, rtol=1e-5, atol=1e-6)
    assert lrs[:2] == [0.1, 0.1] and lrs[3] == 0.01          # SWALR took over the learning rate


def test_swa_resumes_exactly(tmp_path):
    import os
    import signal

    from ember.trainer import seed_everything

    class StopAt(Callback):
        def __init__(self, step):
            self.step = step

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            if trainer.global_step == self.step:
                os.kill(os.getpid(), signal.SIGTERM)

    def run(root, ckpt_path=None, stop=None):
        seed_everything(3)
        model = Classifier(dropout=0.2, scheduler="epoch")
        callbacks = [StochasticWeightAveraging(swa_lrs=0.02, swa_epoch_start=1, annealing_epochs=2)]
        trainer = Trainer(**trainer_kwargs(root, max_epochs=4, limit_train_batches=4),
                          callbacks=callbacks + ([stop] if stop else []))
        trainer.fit(model, loader(shuffle=True), ckpt_path=ckpt_path)
        return model

    straight = run(tmp_path / "a")
    run(tmp_path / "b", stop=StopAt(10))            # inside epoch 2, after SWA took over
    resumed = run(tmp_path / "b", ckpt_path="last")
    for key, value in weights(straight).items():
        np.testing.assert_array_equal(weights(resumed)[key], value)
