"""ModelCheckpoint: exactly the top-k files with the right names, last, step-based saving, resume state."""

from __future__ import annotations

import os

import ember
import pytest
from ember.trainer import Trainer
from ember.trainer.callbacks import ModelCheckpoint

from ..models import Classifier, loader, trainer_kwargs
from .scripted import Scripted


def _fit(tmp_path, checkpoint, scores=(5, 3, 4, 1, 2), **kwargs):
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=len(scores), limit_train_batches=2, limit_val_batches=1,
                                       **kwargs), callbacks=[checkpoint])
    trainer.fit(Scripted(scores), loader(), loader())
    return trainer


def test_top_k_min_keeps_exactly_k_files_and_last(tmp_path):
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ck", monitor="score", save_top_k=2, save_last=True,
                                 filename="{epoch}-{score:.2f}")
    _fit(tmp_path, checkpoint)
    assert sorted(os.listdir(tmp_path / "ck")) == ["epoch=3-score=1.00.ckpt", "epoch=4-score=2.00.ckpt", "last.ckpt"]
    assert checkpoint.best_model_path == str(tmp_path / "ck" / "epoch=3-score=1.00.ckpt")
    assert checkpoint.best_model_score == 1.0 and checkpoint.kth_value == 2.0
    assert ember.load(checkpoint.last_model_path)["trainer_state"]["epoch"] == 5  # written after the last epoch
    assert ember.load(checkpoint.best_model_path)["epoch"] == 4


def test_top_k_max_and_keep_all(tmp_path):
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "max", monitor="score", mode="max", save_top_k=3)
    _fit(tmp_path, checkpoint)
    assert sorted(os.listdir(tmp_path / "max")) == ["epoch=0-step=2.ckpt", "epoch=1-step=4.ckpt", "epoch=2-step=6.ckpt"]
    everything = ModelCheckpoint(dirpath=tmp_path / "all", save_top_k=-1)
    _fit(tmp_path, everything, scores=(1, 2, 3))
    assert len(os.listdir(tmp_path / "all")) == 3
    latest = ModelCheckpoint(dirpath=tmp_path / "latest")   # no monitor, top 1: the latest only
    _fit(tmp_path, latest, scores=(1, 2, 3))
    assert os.listdir(tmp_path / "latest") == ["epoch=2-step=6.ckpt"]


def test_every_n_train_steps_and_every_n_epochs(tmp_path):
    steps = ModelCheckpoint(dirpath=tmp_path / "steps", every_n_train_steps=3, save_top_k=-1)
    _fit(tmp_path, steps, scores=(1, 2, 3, 4))
    assert sorted(os.listdir(tmp_path / "steps")) == ["epoch=1-step=3.ckpt", "epoch=2-step=6.ckpt"]
    epochs = ModelCheckpoint(dirpath=tmp_path / "epochs", every_n_epochs=2, save_top_k=-1)
    _fit(tmp_path, epochs, scores=(1, 2, 3, 4))
    assert sorted(os.listdir(tmp_path / "epochs")) == ["epoch=1-step=4.ckpt", "epoch=3-step=8.ckpt"]


def test_saves_after_each_validation_when_it_runs_several_times_per_epoch(tmp_path):
    class PerRun(Classifier):
        def validation_step(self, batch, batch_idx):
            self.log("gs", float(self.global_step))

    checkpoint = ModelCheckpoint(dirpath=tmp_path / "v", monitor="gs", mode="max", save_top_k=-1,
                                 filename="{step}-{gs:.0f}")
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=4, limit_val_batches=1,
                                       val_check_interval=0.5), callbacks=[checkpoint])
    trainer.fit(PerRun(), loader(), loader())
    assert sorted(os.listdir(tmp_path / "v")) == ["step=2-gs=2.ckpt", "step=4-gs=4.ckpt"]


def test_resumed_callback_keeps_its_ranking(tmp_path):
    first = ModelCheckpoint(dirpath=tmp_path / "ck", monitor="score", save_top_k=1, save_last=True)
    _fit(tmp_path, first, scores=(3, 1))
    second = ModelCheckpoint(dirpath=tmp_path / "ck", monitor="score", save_top_k=1, save_last=True)
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=4, limit_train_batches=2, limit_val_batches=1),
                      callbacks=[second])
    trainer.fit(Scripted((3, 1, 2, 4)), loader(), loader(), ckpt_path="last")
    assert second.best_model_score == 1.0
    assert sorted(os.listdir(tmp_path / "ck")) == ["epoch=1-step=4.ckpt", "last.ckpt"]


def test_format_checkpoint_name():
    checkpoint = ModelCheckpoint(dirpath="d", filename="{epoch:02d}-{val/loss:.3f}")
    assert checkpoint.format_checkpoint_name({"epoch": 3, "val/loss": 0.12345}) == os.path.join(
        "d", "epoch=03-val_loss=0.123.ckpt")
    assert ModelCheckpoint(dirpath="d", filename="{epoch}", auto_insert_metric_name=False) \
        .format_checkpoint_name({"epoch": 3}) == os.path.join("d", "3.ckpt")
    with pytest.raises(ValueError, match="needs a monitor"):
        ModelCheckpoint(save_top_k=3)


def test_train_time_interval(tmp_path):
    from datetime import timedelta

    checkpoint = ModelCheckpoint(dirpath=tmp_path / "t", train_time_interval=timedelta(seconds=0), save_top_k=-1)
    trainer = Trainer(**trainer_kwargs(tmp_path, max_steps=3), callbacks=[checkpoint])
    trainer.fit(Classifier(), loader())
    assert sorted(os.listdir(tmp_path / "t")) == ["epoch=0-step=1.ckpt", "epoch=0-step=2.ckpt", "epoch=0-step=3.ckpt"]
    slow = ModelCheckpoint(dirpath=tmp_path / "slow", train_time_interval=timedelta(hours=1), save_top_k=-1)
    Trainer(**trainer_kwargs(tmp_path, max_steps=3), callbacks=[slow]).fit(Classifier(), loader())
    assert not os.path.exists(tmp_path / "slow")


def test_scores_are_tensors_as_lightnings_and_stay_so_after_a_resume(tmp_path):
    """Ported code calls ``checkpoint.best_model_score.item()``: the scores are 0-d tensors, as in Lightning."""
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ck", monitor="score", save_top_k=2)
    _fit(tmp_path, checkpoint)
    assert isinstance(checkpoint.best_model_score, ember.Tensor) and checkpoint.best_model_score.item() == 1.0
    assert isinstance(checkpoint.kth_value, ember.Tensor) and checkpoint.kth_value.item() == 2.0
    assert isinstance(checkpoint.current_score, ember.Tensor) and checkpoint.current_score.item() == 2.0
    assert {path: score.item() for path, score in checkpoint.best_k_models.items()} == {
        str(tmp_path / "ck" / "epoch=3-step=8.ckpt"): 1.0, str(tmp_path / "ck" / "epoch=4-step=10.ckpt"): 2.0}
    resumed = ModelCheckpoint(dirpath=tmp_path / "ck", monitor="score", save_top_k=2)
    resumed.load_state_dict(checkpoint.state_dict())
    assert isinstance(resumed.best_model_score, ember.Tensor) and resumed.best_model_score.item() == 1.0
    assert resumed.best_model_path == checkpoint.best_model_path
    assert {path: score.item() for path, score in resumed.best_k_models.items()} == {
        path: score.item() for path, score in checkpoint.best_k_models.items()}


def test_every_n_train_steps_saves_nothing_before_the_first_optimizer_step(tmp_path):
    """With gradient accumulation the first batches end at global step 0: Lightning saves no checkpoint there."""
    steps = ModelCheckpoint(dirpath=tmp_path / "steps", every_n_train_steps=2, save_top_k=-1, filename="{step}")
    _fit(tmp_path, steps, scores=(1, 2), accumulate_grad_batches=2)  # 2 batches an epoch: one step each
    assert sorted(os.listdir(tmp_path / "steps")) == ["step=2.ckpt"]


def test_a_last_checkpoint_name_with_a_metric_replaces_the_previous_file(tmp_path):
    """``CHECKPOINT_NAME_LAST = "{epoch}-last"`` (Lightning's way to keep the epoch in the name): one file,
    the latest, as in Lightning; the other checkpoints stay."""

    class EpochLast(ModelCheckpoint):
        CHECKPOINT_NAME_LAST = "{epoch}-last"

    checkpoint = EpochLast(dirpath=tmp_path / "ck", monitor="score", save_last=True, filename="{epoch}")
    _fit(tmp_path, checkpoint, scores=(3, 1, 2))
    assert sorted(os.listdir(tmp_path / "ck")) == ["2-last.ckpt", "epoch=1.ckpt"]
    assert checkpoint.last_model_path == str(tmp_path / "ck" / "2-last.ckpt")
