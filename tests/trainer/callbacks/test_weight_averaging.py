"""WeightAveraging / EMAWeightAveraging (Lightning's): the average follows its recursion on the steps
``should_update`` accepts, validation uses it, training ends with it, checkpoints hold it as their weights, and a
run resumes exactly."""

from __future__ import annotations

import os
import signal

import ember
import numpy as np
import pytest
from ember.trainer import Trainer, seed_everything
from ember.trainer.callbacks import Callback, Checkpoint, EMAWeightAveraging, ModelCheckpoint, WeightAveraging

from ..models import Classifier, loader, trainer_kwargs, weights


class Track(Callback):
    """Records the trained weights after every batch and the weights validation sees."""

    def __init__(self):
        self.trained, self.validated = [], []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self.trained.append(weights(module)["net.0.weight"])

    def on_validation_batch_start(self, trainer, module, batch, batch_idx, dataloader_idx=0):
        self.validated.append(weights(module)["net.0.weight"])


def _fit(tmp_path, averaging, batches=4, **kwargs):
    track, model = Track(), Classifier()
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=batches, limit_val_batches=1,
                                       enable_checkpointing=False, logger=False, **kwargs),
                      callbacks=[track, averaging])
    trainer.fit(model, loader(), loader())
    return model, track


def test_ema_weight_averaging_follows_the_recursion_validates_and_ends_with_the_average(tmp_path):
    model, track = _fit(tmp_path, EMAWeightAveraging(decay=0.5))
    expected = track.trained[0]  # (the first update copies the weights, as torch's AveragedModel does)
    for trained in track.trained[1:]:
        expected = 0.5 * expected + 0.5 * trained
    np.testing.assert_allclose(weights(model)["net.0.weight"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(track.validated[0], expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(track.trained[-1], expected)


def test_ema_updates_start_at_the_step_asked_for_and_every_nth_step(tmp_path):
    ema = EMAWeightAveraging(decay=0.5, update_starting_at_step=1, update_every_n_steps=2)
    # (as Lightning: the step index itself is a multiple of n, not the steps since the start)
    assert [ema.should_update(step_idx=i) for i in range(6)] == [False, False, True, False, True, False]
    assert not ema.should_update(epoch_idx=3)
    assert EMAWeightAveraging(update_starting_at_epoch=1).should_update(epoch_idx=1)
    model, track = _fit(tmp_path, EMAWeightAveraging(decay=0.5, update_starting_at_step=2), batches=4)
    expected = 0.5 * track.trained[2] + 0.5 * track.trained[3]  # steps 0 and 1 left out
    np.testing.assert_allclose(weights(model)["net.0.weight"], expected, rtol=1e-5, atol=1e-6)


def test_weight_averaging_defaults_to_the_equal_weight_average_and_should_update_decides(tmp_path):
    class EveryOtherStep(WeightAveraging):
        def should_update(self, step_idx=None, epoch_idx=None):
            return step_idx is not None and step_idx % 2 == 1

    model, track = _fit(tmp_path, EveryOtherStep(), batches=4)
    np.testing.assert_allclose(weights(model)["net.0.weight"], (track.trained[1] + track.trained[3]) / 2,
                               rtol=1e-5, atol=1e-6)


def test_a_checkpoint_holds_the_average_as_its_weights_and_the_trained_ones_beside(tmp_path):
    averaging = EMAWeightAveraging(decay=0.5)
    track, model = Track(), Classifier()
    checkpoints = ModelCheckpoint(dirpath=tmp_path / "ckpts", every_n_train_steps=3, save_top_k=-1)
    trainer = Trainer(**trainer_kwargs(tmp_path, max_steps=3, logger=False), callbacks=[track, averaging, checkpoints])
    trainer.fit(model, loader())
    saved = ember.load(str(tmp_path / "ckpts" / os.listdir(tmp_path / "ckpts")[0]))
    np.testing.assert_allclose(saved["state_dict"]["net.0.weight"].numpy(), weights(model)["net.0.weight"],
                               rtol=1e-6)  # the average, which the module ended with
    np.testing.assert_array_equal(saved["current_model_state"]["net.0.weight"].numpy(), track.trained[-1])
    assert int(saved["averaging_state"]["n_averaged"].item()) == 3
    assert isinstance(checkpoints, Checkpoint)


def test_weight_averaging_resumes_exactly(tmp_path):
    class StopAt(Callback):
        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            if trainer.global_step == 5:
                os.kill(os.getpid(), signal.SIGTERM)

    def run(root, ckpt_path=None, stop=None):
        seed_everything(5)
        model = Classifier(dropout=0.2)
        callbacks = [EMAWeightAveraging(decay=0.7, update_starting_at_step=2)] + ([stop] if stop else [])
        trainer = Trainer(**trainer_kwargs(root, max_epochs=2, limit_train_batches=4), callbacks=callbacks)
        trainer.fit(model, loader(shuffle=True), ckpt_path=ckpt_path)
        return model

    straight = run(tmp_path / "a")
    run(tmp_path / "b", stop=StopAt())  # inside epoch 1, after the average started
    resumed = run(tmp_path / "b", ckpt_path="last")
    for key, value in weights(straight).items():
        np.testing.assert_array_equal(weights(resumed)[key], value)


def test_weight_averaging_on_another_device_is_refused():
    with pytest.raises(ValueError, match="CPU only"):
        WeightAveraging(device="cuda")
