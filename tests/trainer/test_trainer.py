"""Every Trainer argument has an effect a user can see; the fit/validate/test/predict entry points; errors."""

from __future__ import annotations

import os
import time

import ember
import ember.nn.functional as F
import numpy as np
import pytest
from ember.trainer import Trainer
from ember.trainer.callbacks import Callback, EarlyStopping, ModelCheckpoint, ProgressBar

from .models import Classifier, blobs, loader, trainer_kwargs, weights


class Counter(Callback):
    """Counts training batches per epoch, validation runs and validation batches."""

    def __init__(self):
        self.train_batches: dict[int, int] = {}
        self.val_runs: list[tuple[int, int]] = []   # (epoch, global_step) of each validation
        self.val_batches = 0
        self.sanity_batches = 0
        self.batches_seen: list = []

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self.train_batches[trainer.current_epoch] = self.train_batches.get(trainer.current_epoch, 0) + 1
        self.batches_seen.append(np.array(batch[1]._data))

    def on_validation_batch_end(self, trainer, module, outputs, batch, batch_idx, dataloader_idx=0):
        if trainer.sanity_checking:
            self.sanity_batches += 1
        else:
            self.val_batches += 1

    def on_validation_end(self, trainer, module):
        if not trainer.sanity_checking:
            self.val_runs.append((trainer.current_epoch, trainer.global_step))


def fit(tmp_path, model=None, train=None, val=None, **kwargs):
    counter = Counter()
    callbacks = kwargs.pop("callbacks", [])
    trainer = Trainer(**trainer_kwargs(tmp_path, **kwargs), callbacks=[counter, *callbacks])
    trainer.fit(model or Classifier(), train or loader(), val)
    return trainer, counter


# -- how long training runs -------------------------------------------------------------------------
def test_max_epochs_and_max_steps(tmp_path):
    trainer, counter = fit(tmp_path, max_epochs=2)
    assert counter.train_batches == {0: 8, 1: 8} and trainer.global_step == 16 and trainer.current_epoch == 2
    trainer, counter = fit(tmp_path, max_steps=11)
    assert trainer.global_step == 11 and counter.train_batches == {0: 8, 1: 3}
    assert trainer.estimated_stepping_batches == 11
    trainer, _ = fit(tmp_path, max_epochs=3, accumulate_grad_batches=3)
    assert trainer.estimated_stepping_batches == trainer.global_step == 9  # 3 steps per epoch of 8 batches



class OneCycle(Classifier):
    """Sizes OneCycleLR from ``trainer.estimated_stepping_batches`` in configure_optimizers (Lightning's idiom);
    its data comes from its own ``train_dataloader``, whose calls it counts."""

    def __init__(self):
        super().__init__()
        self.loader_calls = 0

    def train_dataloader(self):
        self.loader_calls += 1
        return loader()

    def configure_optimizers(self):
        optimizer = ember.optim.SGD(self.parameters(), lr=0.1)
        total_steps = self.trainer.estimated_stepping_batches
        scheduler = ember.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.5, total_steps=total_steps)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def test_estimated_stepping_batches_in_configure_optimizers_loads_the_training_data(tmp_path):
    model = OneCycle()
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=3, accumulate_grad_batches=2, logger=False,
                                       enable_checkpointing=False))
    trainer.fit(model)
    assert trainer.lr_scheduler_configs[0].scheduler.total_steps == trainer.global_step == 12  # 3 x 8 / 2
    assert model.loader_calls == 1  # the loader built for the estimate is the one fit trains on
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=2, logger=False, enable_checkpointing=False))
    trainer.fit(model, loader(blobs(64)))  # a second fit, with other data: estimated from that data
    assert trainer.lr_scheduler_configs[0].scheduler.total_steps == trainer.global_step == 8

def test_min_epochs_overrides_an_early_stop(tmp_path):
    class StopNow(Callback):
        def on_train_epoch_end(self, trainer, module):
            trainer.should_stop = True

    _, counter = fit(tmp_path, max_epochs=5, callbacks=[StopNow()])
    assert list(counter.train_batches) == [0]
    _, counter = fit(tmp_path, max_epochs=5, min_epochs=3, callbacks=[StopNow()])
    assert list(counter.train_batches) == [0, 1, 2]


def test_max_time_stops_training(tmp_path):
    class Slow(Classifier):
        def training_step(self, batch, batch_idx):
            time.sleep(0.3)
            return super().training_step(batch, batch_idx)

    trainer, _ = fit(tmp_path, model=Slow(), max_epochs=100, max_time={"seconds": 1})
    assert 1 <= trainer.global_step <= 5  # 0.3 s per step, 1 s budget


# -- how many batches --------------------------------------------------------------------------------
def test_limit_batches_int_and_fraction(tmp_path):
    trainer, counter = fit(tmp_path, max_epochs=1, val=loader(), limit_train_batches=3, limit_val_batches=0.5)
    assert counter.train_batches == {0: 3} and counter.val_batches == 4
    trainer = Trainer(**trainer_kwargs(tmp_path, limit_test_batches=2, limit_predict_batches=1))
    counter = Counter()
    assert len(trainer.predict(Classifier(), loader())) == 1

    class CountTest(Classifier):
        def test_step(self, batch, batch_idx):
            self.log("n", 1.0, reduce_fx="sum")

    assert trainer.test(CountTest(), loader(), verbose=False) == [{"n": 2.0}]


def test_val_check_interval_and_check_val_every_n_epoch(tmp_path):
    _, counter = fit(tmp_path, max_epochs=2, val=loader(), val_check_interval=0.25)
    assert counter.val_runs == [(0, 2), (0, 4), (0, 6), (0, 8), (1, 10), (1, 12), (1, 14), (1, 16)]
    _, counter = fit(tmp_path, max_epochs=2, val=loader(), val_check_interval=3)
    assert counter.val_runs == [(0, 3), (0, 6), (1, 11), (1, 14)]
    _, counter = fit(tmp_path, max_epochs=2, val=loader(), val_check_interval=5, check_val_every_n_epoch=None)
    assert counter.val_runs == [(0, 5), (1, 10), (1, 15)]
    _, counter = fit(tmp_path, max_epochs=4, val=loader(), check_val_every_n_epoch=2)
    assert counter.val_runs == [(1, 16), (3, 32)]


def test_val_check_interval_longer_than_an_epoch_is_an_error_not_silence(tmp_path):
    # counted within each epoch, an interval of 20 batches never arrives in 8-batch epochs
    with pytest.raises(ValueError, match=r"`val_check_interval` \(20\) must be less than or equal to the number "
                                         r"of the training batches \(8\).*check_val_every_n_epoch=None"):
        fit(tmp_path, max_epochs=3, val=loader(), val_check_interval=20)
    _, counter = fit(tmp_path, max_epochs=3, val=loader(), val_check_interval=20, check_val_every_n_epoch=None)
    assert counter.val_runs == [(2, 20)]


def test_num_sanity_val_steps(tmp_path):
    _, counter = fit(tmp_path, max_epochs=1, val=loader(), num_sanity_val_steps=2)
    assert counter.sanity_batches == 2
    _, counter = fit(tmp_path, max_epochs=1, val=loader(), num_sanity_val_steps=-1)
    assert counter.sanity_batches == 8
    _, counter = fit(tmp_path, max_epochs=1, val=loader(), num_sanity_val_steps=0)
    assert counter.sanity_batches == 0


def test_sanity_check_catches_a_broken_validation_step_before_training(tmp_path):
    class Broken(Classifier):
        def validation_step(self, batch, batch_idx):
            raise ValueError("bug in validation_step")

    counter = Counter()
    trainer = Trainer(**trainer_kwargs(tmp_path, num_sanity_val_steps=1), callbacks=[counter])
    with pytest.raises(ValueError, match="bug in validation_step"):
        trainer.fit(Broken(), loader(), loader())
    assert counter.train_batches == {}


def test_overfit_batches_reuses_the_same_unshuffled_batches(tmp_path):
    _, counter = fit(tmp_path, train=loader(shuffle=True), max_epochs=3, overfit_batches=2)
    assert counter.train_batches == {0: 2, 1: 2, 2: 2}
    seen = counter.batches_seen
    np.testing.assert_array_equal(seen[0], seen[2])
    np.testing.assert_array_equal(seen[1], seen[5])
    np.testing.assert_array_equal(seen[0], np.asarray(blobs()[0:16][1]._data))  # in dataset order


def test_fast_dev_run(tmp_path):
    trainer, counter = fit(tmp_path, val=loader(), fast_dev_run=True, max_epochs=10)
    assert counter.train_batches == {0: 1} and counter.val_batches == 1
    assert trainer.loggers == [] and trainer.checkpoint_callback is None
    assert not os.path.exists(tmp_path / "lightning_logs")


# -- optimization ------------------------------------------------------------------------------------
class MeanLoss(Classifier):
    """No dropout, no BatchNorm, mean loss: 4 batches of 8 accumulate to one batch of 32."""

    def configure_optimizers(self):
        return ember.optim.SGD(self.parameters(), lr=0.5)


def test_accumulating_4_batches_of_8_equals_one_batch_of_32(tmp_path):
    ember.manual_seed(1)
    a = MeanLoss()
    b = MeanLoss()
    b.load_state_dict(a.state_dict())
    fit(tmp_path, model=a, train=loader(batch_size=8), max_steps=3, accumulate_grad_batches=4)
    fit(tmp_path, model=b, train=loader(batch_size=32), max_steps=3)
    for key, value in weights(b).items():
        np.testing.assert_allclose(weights(a)[key], value, rtol=1e-5, atol=1e-6)
    assert not np.allclose(weights(a)["net.0.weight"], weights(MeanLoss())["net.0.weight"])


@pytest.mark.parametrize("algorithm", ["norm", "value"])
def test_gradient_clipping_matches_nn_utils(tmp_path, algorithm):
    from ember.nn import utils

    seen = {}

    class Capture(Callback):
        def on_before_optimizer_step(self, trainer, module, optimizer):
            seen["before"] = [np.array(p.grad._data) for p in module.parameters()]

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            seen["after"] = [np.array(p.grad._data) for p in module.parameters()]

    fit(tmp_path, model=MeanLoss(), max_steps=1, gradient_clip_val=0.05, gradient_clip_algorithm=algorithm,
        callbacks=[Capture()])
    grads = [ember.tensor(g) for g in seen["before"]]
    params = [ember.zeros(g.shape, requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = g
    if algorithm == "norm":
        utils.clip_grad_norm_(params, 0.05)
    else:
        utils.clip_grad_value_(params, 0.05)
    for p, got in zip(params, seen["after"]):
        np.testing.assert_allclose(got, p.grad._data, rtol=1e-6)
    assert any(not np.allclose(a, b) for a, b in zip(seen["before"], seen["after"]))  # clipping did something


def test_precision_64_trains_in_float64(tmp_path):
    dtypes = []

    class Check(Classifier):
        def training_step(self, batch, batch_idx):
            dtypes.append((batch[0].dtype, self.net[0].weight.dtype))
            return super().training_step(batch, batch_idx)

    fit(tmp_path, model=Check(), max_steps=1, precision="64")
    assert dtypes == [(ember.float64, ember.float64)]
    assert ember.get_default_dtype() == ember.float32  # put back afterwards


def test_inference_mode(tmp_path):
    modes = []

    class Check(Classifier):
        def validation_step(self, batch, batch_idx):
            modes.append((ember.is_inference_mode_enabled(), ember.is_grad_enabled()))

    Trainer(**trainer_kwargs(tmp_path, inference_mode=True)).validate(Check(), loader(batch_size=128), verbose=False)
    Trainer(**trainer_kwargs(tmp_path, inference_mode=False)).validate(Check(), loader(batch_size=128), verbose=False)
    assert modes == [(True, False), (False, False)]


def test_deterministic_requires_reproducible_loaders(tmp_path):
    batches = [(x._data, y._data) for x, y in loader()]
    batches = [(ember.tensor(x), ember.tensor(y)) for x, y in batches]
    fit(tmp_path, train=batches, max_epochs=1)  # a plain list is fine by default
    with pytest.raises(ValueError, match="deterministic=True.*train_dataloaders is a list"):
        fit(tmp_path, train=batches, max_epochs=1, deterministic=True)
    fit(tmp_path, max_epochs=1, deterministic=True)


def test_detect_anomaly_stops_at_a_nan_loss(tmp_path):
    class Diverges(Classifier):
        def training_step(self, batch, batch_idx):
            loss = super().training_step(batch, batch_idx)
            return loss * float("nan") if batch_idx == 2 else loss

    fit(tmp_path, model=Diverges(), max_epochs=1)  # without detect_anomaly the NaN passes silently
    with pytest.raises(FloatingPointError, match=r"batch_idx 2.*non-finite loss \(nan\)"):
        fit(tmp_path, model=Diverges(), max_epochs=1, detect_anomaly=True)


# -- callbacks, loggers, output ----------------------------------------------------------------------
def test_callbacks_and_default_callbacks(tmp_path):
    trainer = Trainer(default_root_dir=str(tmp_path))
    kinds = [type(cb).__name__ for cb in trainer.callbacks]
    assert kinds == ["ModelCheckpoint", "ProgressBar", "ModelSummary"]
    trainer = Trainer(default_root_dir=str(tmp_path), enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, callbacks=EarlyStopping("val_loss"))
    assert [type(cb).__name__ for cb in trainer.callbacks] == ["EarlyStopping"]
    with pytest.raises(ValueError, match="enable_checkpointing=False"):
        Trainer(enable_checkpointing=False, callbacks=[ModelCheckpoint()])
    with pytest.raises(ValueError, match="enable_progress_bar=False"):
        Trainer(enable_progress_bar=False, callbacks=[ProgressBar()])


def test_enable_model_summary(tmp_path, capsys):
    fit(tmp_path, max_steps=1, enable_model_summary=True)
    assert "Total params" in capsys.readouterr().out
    fit(tmp_path, max_steps=1, enable_model_summary=False)
    assert "Total params" not in capsys.readouterr().out


def test_enable_progress_bar(tmp_path, capsys):
    fit(tmp_path, max_epochs=1, enable_progress_bar=True)
    assert "Epoch 0: 8/8 batches" in capsys.readouterr().err
    fit(tmp_path, max_epochs=1, enable_progress_bar=False)
    assert "Epoch" not in capsys.readouterr().err


def test_default_root_dir_and_logger(tmp_path):
    fit(tmp_path / "a", max_epochs=1)
    assert os.path.exists(tmp_path / "a" / "lightning_logs" / "version_0" / "metrics.csv")
    assert os.listdir(tmp_path / "a" / "lightning_logs" / "version_0" / "checkpoints") == ["epoch=0-step=8.ckpt"]
    fit(tmp_path / "a", max_epochs=1)
    assert os.path.exists(tmp_path / "a" / "lightning_logs" / "version_1" / "metrics.csv")
    fit(tmp_path / "b", max_epochs=1, logger=False)
    assert os.listdir(tmp_path / "b") == ["checkpoints"]
    fit(tmp_path / "c", max_epochs=1, enable_checkpointing=False)
    assert sorted(os.listdir(tmp_path / "c" / "lightning_logs" / "version_0")) == ["hparams.yaml", "metrics.csv"]


def test_log_every_n_steps(tmp_path):
    from .models import read_csv

    fit(tmp_path, max_epochs=1, log_every_n_steps=3)
    rows = read_csv(tmp_path / "lightning_logs" / "version_0" / "metrics.csv")
    assert [r["step"] for r in rows if r["train_loss"]] == ["2", "5"]


# -- entry points ------------------------------------------------------------------------------------
def test_fit_validate_test_predict_with_a_datamodule(tmp_path):
    from ember.trainer import DataModule

    class Blobs(DataModule):
        def __init__(self, batch_size: int = 16):
            super().__init__()
            self.save_hyperparameters()
            self.stages = []

        def setup(self, stage):
            self.stages.append(stage)
            self.data = blobs(256)

        def teardown(self, stage):
            self.stages.append("teardown " + stage)

        def train_dataloader(self):
            return loader(self.data, self.hparams.batch_size, shuffle=True)

        def val_dataloader(self):
            return loader(self.data, 64)

        test_dataloader = predict_dataloader = val_dataloader

    data = Blobs()
    model = Classifier(lr=0.2)
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=4))
    before = trainer.validate(model, datamodule=data, verbose=False)[0]["val_acc"]
    trainer.fit(model, datamodule=data)
    (result,) = trainer.test(model, datamodule=data, verbose=False)
    assert result["test_acc"] > 0.9 > before          # the model really learned
    predictions = trainer.predict(model, datamodule=data)
    assert len(predictions) == 4 and predictions[0].shape == (64, 3)
    assert data.stages == ["validate", "teardown validate", "fit", "teardown fit", "test", "teardown test",
                           "predict", "teardown predict"]
    with open(tmp_path / "lightning_logs" / "version_0" / "hparams.yaml") as f:
        assert f.read() == "hidden: 16\nlr: 0.2\ndropout: 0.0\nscheduler: null\nbatch_size: 16\n"


def test_test_after_fit_uses_the_best_checkpoint(tmp_path):
    model = Classifier(lr=0.2)
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=3),
                      callbacks=[ModelCheckpoint(monitor="val_acc", mode="max")])
    trainer.fit(model, loader(), loader())
    best = trainer.checkpoint_callback.best_model_path
    trainer.test(dataloaders=loader(), verbose=False)                       # model=None: the best checkpoint
    np.testing.assert_array_equal(weights(model)["net.0.weight"], ember.load(best)["state_dict"]["net.0.weight"]._data)


def test_several_validation_loaders_keep_apart(tmp_path):
    class TwoLoaders(Classifier):
        def validation_step(self, batch, batch_idx, dataloader_idx=0):
            super().validation_step(batch, batch_idx)

    trainer = Trainer(**trainer_kwargs(tmp_path))
    with pytest.raises(TypeError, match="dataloader_idx=0"):
        trainer.validate(Classifier(), [loader(), loader()])
    results = trainer.validate(TwoLoaders(), [loader(batch_size=64), loader(batch_size=32)], verbose=False)
    assert list(results[0]) == ["val_loss/dataloader_idx_0", "val_acc/dataloader_idx_0"]
    assert list(results[1]) == ["val_loss/dataloader_idx_1", "val_acc/dataloader_idx_1"]
    assert results[0]["val_loss/dataloader_idx_0"] == pytest.approx(results[1]["val_loss/dataloader_idx_1"])


# -- errors ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("returned, error, message", [
    (lambda loss: None, RuntimeError, "returned None.*forget `return loss`"),
    (lambda loss: loss.expand(3), ValueError, r"loss of shape \(3,\).*must be a scalar"),
    (lambda loss: loss.detach(), RuntimeError, "does not require grad"),
    (lambda loss: {"los": loss}, TypeError, r"keys: \['los'\]"),
])
def test_training_step_return_errors(tmp_path, returned, error, message):
    class Bad(Classifier):
        def training_step(self, batch, batch_idx):
            return returned(F.cross_entropy(self(batch[0]), batch[1]))

    with pytest.raises(error, match=message):
        fit(tmp_path, model=Bad(), max_epochs=1)


def test_monitoring_an_unlogged_metric_lists_the_logged_ones(tmp_path):
    with pytest.raises(RuntimeError, match=r"monitor='val_accuracy'.*\['train_acc', 'train_loss', 'val_acc', "
                                           r"'val_loss'\]"):
        fit(tmp_path, val=loader(), max_epochs=1, callbacks=[ModelCheckpoint(monitor="val_accuracy")])
    with pytest.raises(RuntimeError, match=r"'val_accuracy', which is not available.*'val_acc'"):
        fit(tmp_path, val=loader(), max_epochs=1, callbacks=[EarlyStopping(monitor="val_accuracy")])


def test_a_loader_without_len_trains_and_validates_each_epoch(tmp_path):
    class Stream:
        def __iter__(self):
            return iter(loader())

    _, counter = fit(tmp_path, train=Stream(), val=loader(), max_epochs=2)
    assert counter.train_batches == {0: 8, 1: 8} and counter.val_runs == [(0, 8), (1, 16)]


class _FailsAtSample5(ember.data.Dataset):
    def __len__(self):
        return 64

    def __getitem__(self, i):
        if i == 5:
            raise ValueError("sample 5 is damaged")
        return blobs(64)[i]


def test_a_batch_that_fails_to_load_in_a_worker_stops_the_workers_before_fit_raises(tmp_path):
    """The exception (kept here, as a CLI or notebook keeps it) must not keep the worker processes alive."""
    import multiprocessing

    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1))
    with pytest.raises(ValueError, match="sample 5 is damaged") as info:
        trainer.fit(Classifier(), loader(_FailsAtSample5(), batch_size=4, num_workers=2))
    assert info.value is not None
    deadline = time.monotonic() + 5
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert multiprocessing.active_children() == []
