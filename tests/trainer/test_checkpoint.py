"""Checkpoints: exact resume after interruptions, contents, atomic files, mismatched models."""

from __future__ import annotations

import os
import pathlib
import signal

import ember
import numpy as np
import pytest
from ember.trainer import Trainer, seed_everything
from ember.trainer.callbacks import EMA, Callback, EarlyStopping, LearningRateMonitor, ModelCheckpoint

from .models import Classifier, NoisyDataset, loader, trainer_kwargs, weights

ROOT = pathlib.Path(__file__).resolve().parents[2]  # the repository (for the subprocess)


class Interrupt(Callback):
    """Sends this process a signal at one chosen point of the run."""

    def __init__(self, when: str, at: int, sig=signal.SIGTERM):
        self.when, self.at, self.sig = when, at, sig
        self.fired = False

    def _fire(self):
        if not self.fired:
            self.fired = True
            os.kill(os.getpid(), self.sig)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if self.when == "step" and trainer.global_step == self.at:
            self._fire()

    def on_train_epoch_end(self, trainer, module):
        if self.when == "epoch_end" and trainer.current_epoch == self.at:
            self._fire()

    def on_validation_end(self, trainer, module):
        if self.when == "validation" and trainer.global_step == self.at and not trainer.sanity_checking:
            self._fire()


def _run(root, ckpt_path=None, interrupt=None):
    seed_everything(7)
    model = Classifier(dropout=0.3, scheduler="step")
    train = loader(NoisyDataset(), batch_size=16, shuffle=True, num_workers=2)   # 6 batches per epoch
    val = loader(NoisyDataset(48), batch_size=16)
    callbacks = [ModelCheckpoint(monitor="val_loss", save_top_k=2, save_last=True),
                 EarlyStopping(monitor="val_loss", patience=50), EMA(decay=0.8),
                 LearningRateMonitor(logging_interval="epoch")]
    if interrupt is not None:
        callbacks.append(interrupt)
    trainer = Trainer(**trainer_kwargs(root, max_epochs=4, val_check_interval=0.5, num_sanity_val_steps=1),
                      callbacks=callbacks)
    trainer.fit(model, train, val, ckpt_path=ckpt_path)
    return trainer, model


def _csv(root):
    with open(os.path.join(root, "lightning_logs", "version_0", "metrics.csv")) as f:
        return f.read()


def test_exact_resume_after_interruptions_mid_epoch_at_epoch_end_and_after_validation(tmp_path):
    reference, reference_model = _run(tmp_path / "straight")
    assert reference.global_step == 24 and not reference.interrupted

    root = tmp_path / "interrupted"
    points = [Interrupt("step", 4), Interrupt("epoch_end", 1), Interrupt("validation", 15, signal.SIGINT)]
    for i, interrupt in enumerate(points):
        trainer, _ = _run(root, ckpt_path="last" if i else None, interrupt=interrupt)
        assert interrupt.fired and trainer.interrupted
        assert trainer.global_step < 24
    trainer, model = _run(root, ckpt_path="last")
    assert trainer.global_step == 24 and not trainer.interrupted

    expected, got = weights(reference_model), weights(model)
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)  # bit-identical
    assert _csv(root) == _csv(tmp_path / "straight")
    assert not os.path.exists(root / "lightning_logs" / "version_1")  # the resumed runs kept the run folder
    ours, theirs = trainer.checkpoint_callback, reference.checkpoint_callback
    assert sorted(os.path.basename(p) for p in ours.best_k_models) == \
        sorted(os.path.basename(p) for p in theirs.best_k_models)
    assert ours.best_model_score == theirs.best_model_score


def test_checkpoint_holds_everything(tmp_path):
    trainer, _ = _run(tmp_path, interrupt=Interrupt("step", 3))
    checkpoint = ember.load(str(tmp_path / "lightning_logs" / "version_0" / "checkpoints" / "last.ckpt"))
    for key in ("state_dict", "optimizer_states", "lr_schedulers", "trainer_state", "callbacks", "rng_states",
                "loops", "hyper_parameters", "metrics", "loggers", "recipe", "epoch", "global_step"):
        assert key in checkpoint, key
    assert checkpoint["trainer_state"]["global_step"] == 3 and checkpoint["trainer_state"]["batch_idx"] == 3
    assert checkpoint["hyper_parameters"] == {"hidden": 16, "lr": 0.1, "dropout": 0.3, "scheduler": "step"}
    assert set(checkpoint["rng_states"]) == {"ember", "numpy", "python"}
    assert any(key.startswith("ModelCheckpoint") for key in checkpoint["callbacks"])
    assert checkpoint["loops"]["train_dataloader"]["seed"] == trainer.train_dataloader.state_dict()["seed"]


def test_second_ctrl_c_aborts(tmp_path):
    class DoubleInterrupt(Callback):
        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            if trainer.global_step == 2:
                os.kill(os.getpid(), signal.SIGINT)
                os.kill(os.getpid(), signal.SIGINT)

    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1), callbacks=[DoubleInterrupt()])
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(Classifier(), loader())
    assert not os.path.exists(tmp_path / "lightning_logs" / "version_0" / "checkpoints" / "last.ckpt")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers are put back


def test_checkpoint_from_a_different_model_names_the_keys(tmp_path):
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1))
    trainer.fit(Classifier(hidden=8), loader())
    path = trainer.checkpoint_callback.best_model_path
    with pytest.raises(RuntimeError, match=r"net\.0\.weight: checkpoint \(8, 4\) vs model \(16, 4\)"):
        Trainer(**trainer_kwargs(tmp_path, max_epochs=2)).fit(Classifier(hidden=16), loader(), ckpt_path=path)

    class Other(Classifier):
        def __init__(self):
            super().__init__(hidden=8)
            self.extra = ember.nn.Linear(2, 2)

    with pytest.raises(RuntimeError, match=r"missing keys .*extra\.weight"):
        Trainer(**trainer_kwargs(tmp_path)).validate(Other(), loader(), ckpt_path=path)


def test_load_from_checkpoint_rebuilds_the_module(tmp_path):
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=2))
    model = Classifier(hidden=8, lr=0.05)
    trainer.fit(model, loader())
    restored = Classifier.load_from_checkpoint(trainer.checkpoint_callback.best_model_path)
    assert restored.hparams == {"hidden": 8, "lr": 0.05, "dropout": 0.0, "scheduler": None}
    for key, value in weights(model).items():
        np.testing.assert_array_equal(weights(restored)[key], value)
    overridden = Classifier.load_from_checkpoint(trainer.checkpoint_callback.best_model_path, lr=0.5)
    assert overridden.hparams.lr == 0.5


def test_weights_only_checkpoint_cannot_resume(tmp_path):
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1), callbacks=[ModelCheckpoint(save_weights_only=True)])
    trainer.fit(Classifier(), loader())
    checkpoint = ember.load(trainer.checkpoint_callback.best_model_path)
    assert "optimizer_states" not in checkpoint and "state_dict" in checkpoint
    with pytest.raises(ValueError, match="weights only"):
        Trainer(**trainer_kwargs(tmp_path, max_epochs=2)).fit(
            Classifier(), loader(), ckpt_path=trainer.checkpoint_callback.best_model_path)


def test_module_and_datamodule_state_travel_in_the_checkpoint(tmp_path):
    from ember.trainer import DataModule

    class Stateful(Classifier):
        def on_save_checkpoint(self, checkpoint):
            checkpoint["vocab"] = ["a", "b"]

        def on_load_checkpoint(self, checkpoint):
            self.vocab = checkpoint["vocab"]

    class Data(DataModule):
        def __init__(self):
            super().__init__()
            self.seen = 0

        def train_dataloader(self):
            self.seen += 1
            return loader()

        def state_dict(self):
            return {"seen": self.seen}

        def load_state_dict(self, state):
            self.seen = 100 + state["seen"]

    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1))
    trainer.fit(Stateful(), datamodule=Data())
    path = trainer.checkpoint_callback.best_model_path
    checkpoint = ember.load(path)
    assert checkpoint["vocab"] == ["a", "b"] and checkpoint["datamodule"] == {"seen": 1}
    model, data = Stateful(), Data()
    Trainer(**trainer_kwargs(tmp_path, max_epochs=2)).fit(model, datamodule=data, ckpt_path=path)
    assert model.vocab == ["a", "b"] and data.seen == 102


def test_ckpt_path_best_and_explicit_file(tmp_path):
    scores = iter([3.0, 1.0, 2.0])

    class Scored(Classifier):
        def on_validation_epoch_end(self):
            self.log("score", next(scores))

    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=3, limit_val_batches=1),
                      callbacks=[ModelCheckpoint(monitor="score", save_top_k=3)])
    trainer.fit(Scored(), loader(), loader())
    assert os.path.basename(trainer.checkpoint_callback.best_model_path) == "epoch=1-step=16.ckpt"
    results = trainer.validate(Classifier(), loader(), ckpt_path="best", verbose=False)
    best_weights = ember.load(trainer.checkpoint_callback.best_model_path)["state_dict"]
    assert results[0]["val_loss"] == trainer.validate(_with(best_weights), loader(), verbose=False)[0]["val_loss"]
    with pytest.raises(FileNotFoundError, match="nope.ckpt"):
        Trainer(**trainer_kwargs(tmp_path)).fit(Classifier(), loader(), ckpt_path=str(tmp_path / "nope.ckpt"))
    with pytest.raises(ValueError, match="ckpt_path='best' needs a ModelCheckpoint"):
        Trainer(**trainer_kwargs(tmp_path)).validate(Classifier(), loader(), ckpt_path="best")


def _with(state_dict):
    model = Classifier()
    model.load_state_dict(state_dict)
    return model


def test_configure_callbacks_joins_the_trainer_callbacks(tmp_path):
    class WithCallbacks(Classifier):
        def configure_callbacks(self):
            return [EarlyStopping(monitor="val_loss", patience=1)]

    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1))
    trainer.fit(WithCallbacks(), loader(), loader())
    assert trainer.early_stopping_callback is not None and trainer.early_stopping_callback.patience == 1


def test_sigterm_from_outside_exits_cleanly_with_a_checkpoint(tmp_path):
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from ember.trainer import Trainer
        from tests.trainer.models import Classifier, loader, trainer_kwargs

        class Slow(Classifier):
            def training_step(self, batch, batch_idx):
                if self.global_step == 2:
                    print("ready", flush=True)
                time.sleep(0.05)
                return super().training_step(batch, batch_idx)

        trainer = Trainer(**trainer_kwargs({str(tmp_path)!r}, max_epochs=1000))
        trainer.fit(Slow(), loader())
        print("interrupted" if trainer.interrupted else "finished", trainer.global_step, flush=True)
    """))
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "ready"
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "SIGTERM: saved" in out and out.splitlines()[-1].startswith("interrupted")
    step = int(out.splitlines()[-1].split()[1])
    checkpoint = ember.load(str(tmp_path / "lightning_logs" / "version_0" / "checkpoints" / "last.ckpt"))
    assert checkpoint["global_step"] == step >= 3


def test_exact_resume_from_inside_an_accumulation_window(tmp_path):
    """An interrupt between the batches of one optimizer step: the gradients summed so far are in the checkpoint."""
    def run(root, ckpt_path=None, interrupt=None):
        seed_everything(3)
        model = Classifier(dropout=0.0)
        trainer = Trainer(**trainer_kwargs(root, max_epochs=2), accumulate_grad_batches=3,
                          callbacks=[interrupt] if interrupt is not None else [])
        trainer.fit(model, loader(NoisyDataset(), batch_size=16, shuffle=True), ckpt_path=ckpt_path)
        return trainer, model

    reference, reference_model = run(tmp_path / "straight")
    root = tmp_path / "interrupted"
    class MidWindow(Interrupt):  # after the first batch of the second window (batches 3, 4, 5)
        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            if batch_idx == 3:
                self._fire()

    interrupt = MidWindow("step", 0)
    trainer, _ = run(root, interrupt=interrupt)
    assert interrupt.fired and trainer.interrupted and trainer.state.batch_idx % 3 == 1
    checkpoint = ember.load(str(root / "lightning_logs" / "version_0" / "checkpoints" / "last.ckpt"))
    assert set(checkpoint["accumulated_grads"]) == set(weights(reference_model))
    trainer, model = run(root, ckpt_path="last")
    assert trainer.global_step == reference.global_step
    expected, got = weights(reference_model), weights(model)
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
