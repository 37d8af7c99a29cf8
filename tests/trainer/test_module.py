"""TrainingModule: self.log semantics, save_hyperparameters, configure_optimizers forms, manual optimization."""

from __future__ import annotations

import ember
import ember.nn.functional as F
import numpy as np
import pytest
from ember import nn
from ember.trainer import Trainer, TrainingModule
from ember.trainer.optimization import parse_optimizers

from .models import Classifier, loader, read_csv, trainer_kwargs


def _rows(tmp_path, version=0):
    return read_csv(tmp_path / "lightning_logs" / f"version_{version}" / "metrics.csv")


# -- self.log ----------------------------------------------------------------------------------------
class Logs(Classifier):
    """Logs with every combination of on_step / on_epoch / reduce_fx and a known batch_size."""

    def training_step(self, batch, batch_idx):
        self.log("default", float(batch_idx))                      # on_step only
        self.log("both", float(batch_idx), on_step=True, on_epoch=True)
        self.log("weighted", float(batch_idx), on_step=False, on_epoch=True, batch_size=batch_idx + 1)
        self.log("total", 1.0, on_step=False, on_epoch=True, reduce_fx="sum")
        self.log("biggest", float(batch_idx), on_step=False, on_epoch=True, reduce_fx=max)
        self.log("hidden", 5.0, logger=False)
        self.log("bar", 2.0, prog_bar=True)
        return super().training_step(batch, batch_idx)

    def on_train_epoch_end(self):
        self.log("epoch_hook", 7.0)                                 # in an epoch hook: on_epoch

    def validation_step(self, batch, batch_idx):
        self.log("val_default", float(batch_idx))                  # on_epoch only, mean over the run


def test_log_names_defaults_reductions_and_rows(tmp_path):
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1, limit_train_batches=4, limit_val_batches=2))
    trainer.fit(Logs(), loader(), loader())
    rows = _rows(tmp_path)
    header = list(rows[0])
    assert header[:2] == ["epoch", "step"]
    assert not [h for h in header if h.endswith(("_step", "_epoch"))]  # names are kept
    assert "hidden" not in header and "hidden" in trainer.callback_metrics
    step_rows = [r for r in rows if r["default"]]
    assert [(r["step"], r["default"], r["both"]) for r in step_rows] == [
        ("0", "0.0", "0.0"), ("1", "1.0", "1.0"), ("2", "2.0", "2.0"), ("3", "3.0", "3.0")]
    (val_row,) = [r for r in rows if r["val_default"]]
    assert (val_row["epoch"], val_row["step"], val_row["val_default"]) == ("0", "4", "0.5")
    (epoch_row,) = [r for r in rows if r["weighted"]]
    assert epoch_row["step"] == "4" and epoch_row["default"] == ""
    assert float(epoch_row["both"]) == 1.5                                        # mean of 0..3
    assert float(epoch_row["weighted"]) == pytest.approx((0 * 1 + 1 * 2 + 2 * 3 + 3 * 4) / 10)
    assert float(epoch_row["total"]) == 4.0 and float(epoch_row["biggest"]) == 3.0
    assert float(epoch_row["epoch_hook"]) == 7.0
    assert trainer.callback_metrics["both"] == 1.5                                # epoch value replaced step value
    assert trainer.progress_bar_metrics == {"bar": 2.0, "train_loss": trainer.callback_metrics["train_loss"]}


def test_mean_is_weighted_by_the_inferred_batch_size(tmp_path):
    class Sizes(Classifier):
        def validation_step(self, batch, batch_idx):
            self.log("size", float(len(batch[0])))

    trainer = Trainer(**trainer_kwargs(tmp_path))
    (result,) = trainer.validate(Sizes(), loader(batch_size=100), verbose=False)  # batches of 100 and 28
    assert result["size"] == pytest.approx((100 * 100 + 28 * 28) / 128)


def test_log_errors(tmp_path):
    class Vector(Classifier):
        def validation_step(self, batch, batch_idx):
            self.log("v", ember.ones(3))

    class StepInEpochHook(Classifier):
        def on_train_epoch_end(self):
            self.log("x", 1.0, on_step=True)

    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=1))
    with pytest.raises(ValueError, match=r"self.log\('v', value\): value must be a scalar.*\(3,\)"):
        trainer.validate(Vector(), loader())
    with pytest.raises(ValueError, match="outside a batch"):
        trainer.fit(StepInEpochHook(), loader())
    with pytest.raises(RuntimeError, match="needs the module to be run by a Trainer"):
        Classifier().log("x", 1.0)


# -- hyperparameters ---------------------------------------------------------------------------------
def test_save_hyperparameters_skips_submodules_and_ignored_args(tmp_path):
    class WithBackbone(TrainingModule):
        def __init__(self, backbone, width: int = 3, name: str = "x", secret: str = "s", **extra):
            super().__init__()
            self.save_hyperparameters(ignore="secret")
            self.backbone = backbone

        def configure_optimizers(self):
            return ember.optim.SGD(self.parameters(), lr=0.1)

    model = WithBackbone(nn.Linear(2, 2), width=5, tag=1)
    assert model.hparams == {"width": 5, "name": "x", "tag": 1}
    assert model.hparams.width == 5
    path = str(tmp_path / "m.ckpt")
    model.trainer = Trainer(**trainer_kwargs(tmp_path))
    model.trainer.module = model
    model.trainer.save_checkpoint(path)
    with pytest.raises(TypeError, match=r"needs \['backbone'\].*load_from_checkpoint\(path, backbone=\.\.\.\)"):
        WithBackbone.load_from_checkpoint(path)
    restored = WithBackbone.load_from_checkpoint(path, backbone=nn.Linear(2, 2))
    assert restored.hparams == {"width": 5, "name": "x", "tag": 1}
    np.testing.assert_array_equal(restored.backbone.weight._data, model.backbone.weight._data)


def test_save_hyperparameters_selected_names():
    class Some(TrainingModule):
        def __init__(self, a: int = 1, b: int = 2):
            super().__init__()
            self.save_hyperparameters("b")

    assert Some(a=5, b=6).hparams == {"b": 6}


# -- configure_optimizers ----------------------------------------------------------------------------
def test_configure_optimizers_return_forms():
    p = [ember.zeros(2, requires_grad=True)]
    a, b = ember.optim.SGD(p, lr=1.0), ember.optim.Adam(p)
    step = ember.optim.lr_scheduler.StepLR(a, 1)
    plateau = ember.optim.lr_scheduler.ReduceLROnPlateau(b)
    assert parse_optimizers(a) == ([a], [])
    assert parse_optimizers([a, b]) == ([a, b], [])
    optimizers, configs = parse_optimizers(([a], [step]))
    assert optimizers == [a] and configs[0].scheduler is step and configs[0].interval == "epoch"
    optimizers, configs = parse_optimizers({"optimizer": a, "lr_scheduler": step})
    assert optimizers == [a] and configs[0].scheduler is step
    _, configs = parse_optimizers({"optimizer": b, "lr_scheduler": {"scheduler": plateau, "monitor": "val_loss",
                                                                   "interval": "step", "frequency": 2}})
    assert (configs[0].monitor, configs[0].interval, configs[0].frequency, configs[0].reduce_on_plateau) == \
        ("val_loss", "step", 2, True)
    optimizers, configs = parse_optimizers([{"optimizer": a, "lr_scheduler": step}, {"optimizer": b}])
    assert optimizers == [a, b] and len(configs) == 1
    with pytest.raises(ValueError, match="ReduceLROnPlateau scheduler needs a metric to monitor"):
        parse_optimizers({"optimizer": b, "lr_scheduler": plateau})
    with pytest.raises(TypeError, match="does not understand"):
        parse_optimizers("sgd")


@pytest.mark.parametrize("interval, expected", [("epoch", 0.1 * 0.5 ** 2), ("step", 0.1 * 0.5 ** 16)])
def test_scheduler_interval(tmp_path, interval, expected):
    class Scheduled(Classifier):
        def configure_optimizers(self):
            opt = ember.optim.SGD(self.parameters(), lr=0.1)
            sched = ember.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": interval}}

    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=2))
    trainer.fit(Scheduled(), loader())
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(expected)


def test_reduce_on_plateau_uses_the_monitored_metric(tmp_path):
    class Plateau(Classifier):
        def validation_step(self, batch, batch_idx):
            self.log("flat", 1.0)

        def configure_optimizers(self):
            opt = ember.optim.SGD(self.parameters(), lr=0.1)
            sched = ember.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "monitor": "flat"}}

    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=3, limit_train_batches=2))
    trainer.fit(Plateau(), loader(), loader())
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 2)


# -- manual optimization -----------------------------------------------------------------------------
class GAN(TrainingModule):
    """Learns to produce samples of N(3, 0.5) from N(0, 1) noise with an affine generator."""

    def __init__(self):
        super().__init__()
        self.automatic_optimization = False
        self.generator = nn.Linear(1, 1)
        self.discriminator = nn.Sequential(nn.Linear(1, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))

    def training_step(self, batch, batch_idx):
        (real,) = batch
        g_opt, d_opt = self.optimizers()
        n = real.shape[0]
        ones, zeros = ember.ones(n, 1), ember.zeros(n, 1)
        fake = self.generator(ember.randn(n, 1))

        self.toggle_optimizer(d_opt)
        d_loss = (F.binary_cross_entropy_with_logits(self.discriminator(real), ones)
                  + F.binary_cross_entropy_with_logits(self.discriminator(fake.detach()), zeros))
        d_opt.zero_grad()
        self.manual_backward(d_loss)
        d_opt.step()
        self.untoggle_optimizer(d_opt)

        self.toggle_optimizer(g_opt)
        g_loss = F.binary_cross_entropy_with_logits(self.discriminator(fake), ones)
        g_opt.zero_grad()
        self.manual_backward(g_loss)
        g_opt.step()
        self.untoggle_optimizer(g_opt)
        self.log_dict({"d_loss": d_loss, "g_loss": g_loss}, prog_bar=True)

    def configure_optimizers(self):
        return [ember.optim.Adam(self.generator.parameters(), lr=0.05, betas=(0.5, 0.999)),
                ember.optim.Adam(self.discriminator.parameters(), lr=0.05, betas=(0.5, 0.999))]


def test_gan_with_two_optimizers_trains_in_manual_mode(tmp_path):
    from ember.data import DataLoader, TensorDataset

    real = TensorDataset(3.0 + 0.5 * ember.randn(512, 1))
    model = GAN()
    before = float(model.generator(ember.randn(1000, 1)).mean().item())
    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=6))
    trainer.fit(model, DataLoader(real, batch_size=32, shuffle=True))
    assert trainer.global_step == 2 * 6 * 16            # every optimizer.step() counts, as in Lightning
    with ember.no_grad():
        samples = model.generator(ember.randn(2000, 1))
    assert abs(before - 3.0) > 1.5
    assert abs(float(samples.mean().item()) - 3.0) < 0.5
    assert {"d_loss", "g_loss"} <= set(trainer.callback_metrics)


def test_manual_optimization_leaves_schedulers_to_the_user(tmp_path):
    class Manual(Classifier):
        def __init__(self):
            super().__init__(scheduler="epoch")
            self.automatic_optimization = False

        def training_step(self, batch, batch_idx):
            optimizer = self.optimizers()
            optimizer.zero_grad()
            self.manual_backward(F.cross_entropy(self(batch[0]), batch[1]))
            optimizer.step()

        def on_train_epoch_end(self):
            if self.current_epoch == 1:
                self.lr_schedulers().step()

    trainer = Trainer(**trainer_kwargs(tmp_path, max_epochs=3, limit_train_batches=2))
    trainer.fit(Manual(), loader())
    assert trainer.global_step == 6
    assert trainer.optimizers[0].param_groups[0]["lr"] == pytest.approx(0.1 * 0.9)


def test_manual_optimization_rejects_automatic_only_arguments(tmp_path):
    with pytest.raises(ValueError, match="accumulate_grad_batches is not supported with manual"):
        Trainer(**trainer_kwargs(tmp_path, accumulate_grad_batches=2)).fit(GAN(), loader())
    with pytest.raises(ValueError, match="automatic optimization needs exactly one optimizer"):
        class TwoAuto(GAN):
            def __init__(self):
                super().__init__()
                self.automatic_optimization = True

        Trainer(**trainer_kwargs(tmp_path)).fit(TwoAuto(), loader())
