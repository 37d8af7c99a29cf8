"""The rest of Lightning's surface: on_validation_model_zero_grad, configure_sharded_model, the module's own
``*_dataloader`` hooks, toggled_optimizer, remove_ignored_hparams, strict_loading, the module's dtype / rank
properties; the Trainer's ckpt_path, evaluating, is_last_batch, received_sigterm, model,
distributed_sampler_kwargs, print and ``plugins``; arguments that only pick hardware fail clearly; the
DataModule's from_datasets, load_from_checkpoint and on_exception."""

from __future__ import annotations

import os
import signal
import warnings

import ember
import ember.nn.functional as F
import numpy as np
import pytest
from ember import nn
from ember.trainer import DataModule, Trainer, TrainingModule
from ember.data import RandomSampler, SequentialSampler
from ember.trainer.callbacks import Callback

from .models import Classifier, RecordingClassifier, blobs, loader, trainer_kwargs, weights


def _quiet(tmp_path, **kwargs):
    return Trainer(**trainer_kwargs(tmp_path, logger=False, enable_checkpointing=False, **kwargs))


# -- on_validation_model_zero_grad ---------------------------------------------------------------------------
class ZeroGradRecorder(RecordingClassifier):
    """Records on_validation_model_zero_grad and the eval-mode hook, and whether gradients exist at validation."""

    def on_validation_model_zero_grad(self):
        self.calls.append("m:on_validation_model_zero_grad")
        super().on_validation_model_zero_grad()

    def on_validation_model_eval(self):
        self.calls.append("m:on_validation_model_eval")
        super().on_validation_model_eval()

    def on_validation_start(self):
        grads = [p.grad for p in self.parameters()]
        self.calls.append(("grads at validation", all(g is None for g in grads)))


def test_on_validation_model_zero_grad_releases_the_gradients_before_validation_in_lightnings_order(tmp_path):
    calls = []
    model = ZeroGradRecorder(calls)
    trainer = _quiet(tmp_path, max_epochs=1, limit_train_batches=2, limit_val_batches=1)
    trainer.fit(model, loader(), loader())
    names = [c if isinstance(c, str) else c[0] for c in calls]
    end = len(names) - 1 - names[::-1].index("m:on_train_batch_end")
    assert names[end:end + 4] == ["m:on_train_batch_end", "m:on_validation_model_zero_grad",
                                  "m:on_validation_model_eval", "grads at validation"]
    assert ("grads at validation", True) in calls  # (after a training step every parameter had a gradient)


def test_validation_inside_an_accumulation_window_keeps_its_gradients(tmp_path):
    calls = []
    model = ZeroGradRecorder(calls)
    trainer = _quiet(tmp_path, max_epochs=1, limit_train_batches=4, limit_val_batches=1, accumulate_grad_batches=2,
                     val_check_interval=1)
    trainer.fit(model, loader(), loader())
    at_validation = [c[1] for c in calls if isinstance(c, tuple)]
    # validations after batches 0..3: the window of two batches is open after 0 and 2, closed after 1 and 3
    assert at_validation == [False, True, False, True]
    assert calls.count("m:on_validation_model_zero_grad") == 2


# -- configure_sharded_model ---------------------------------------------------------------------------------
class ShardedClassifier(Classifier):
    """Builds its head in the deprecated configure_sharded_model."""

    def __init__(self):
        super().__init__()
        self.order = []
        self.head = None

    def setup(self, stage):
        self.order.append("setup")

    def configure_sharded_model(self):
        self.order.append("configure_sharded_model")
        if self.head is None:
            self.head = nn.Linear(3, 3)

    def configure_optimizers(self):
        self.order.append("configure_optimizers")
        return ember.optim.SGD(self.parameters(), lr=0.1)


def test_configure_sharded_model_runs_after_setup_with_a_deprecation_warning(tmp_path):
    model = ShardedClassifier()
    with pytest.warns(DeprecationWarning, match="configure_sharded_model"):
        _quiet(tmp_path, max_steps=1).fit(model, loader())
    assert model.order == ["setup", "configure_sharded_model", "configure_optimizers"]
    assert "head.weight" in model.state_dict()


def test_overriding_both_configure_model_hooks_is_an_error(tmp_path):
    class Both(ShardedClassifier):
        def configure_model(self):
            pass

    with pytest.raises(RuntimeError, match="Both `Both.configure_model`, and `Both.configure_sharded_model`"):
        _quiet(tmp_path, max_steps=1).fit(Both(), loader())


# -- the module's own data ---------------------------------------------------------------------------------
class SelfFeeding(Classifier):
    """Gives its own training and validation data."""

    def train_dataloader(self):
        return loader()

    def val_dataloader(self):
        return loader(batch_size=32)


def test_the_modules_dataloader_hooks_feed_fit_and_the_defaults_refuse(tmp_path):
    model = SelfFeeding()
    trainer = _quiet(tmp_path, max_epochs=1, limit_train_batches=2)
    trainer.fit(model)
    assert trainer.num_training_batches == 2 and trainer.num_val_batches == [4]
    assert "val_loss" in trainer.callback_metrics
    with pytest.raises(NotImplementedError, match="`test_dataloader` must be implemented by SelfFeeding"):
        model.test_dataloader()
    with pytest.raises(ValueError, match="Trainer.test needs data"):
        trainer.test(model, verbose=False)


def test_fit_without_any_data_names_the_ways_to_give_it(tmp_path):
    with pytest.raises(ValueError, match="define train_dataloader"):
        _quiet(tmp_path, max_steps=1).fit(Classifier())


# -- toggled_optimizer, remove_ignored_hparams --------------------------------------------------------------
class TwoOptimizers(TrainingModule):
    def __init__(self):
        super().__init__()
        self.automatic_optimization = False
        self.generator, self.critic = nn.Linear(2, 2), nn.Linear(2, 1)
        self.seen = []

    def training_step(self, batch, batch_idx):
        opt_g, opt_c = self.optimizers()
        with self.toggled_optimizer(opt_g):
            self.seen.append(([p.requires_grad for p in self.generator.parameters()],
                              [p.requires_grad for p in self.critic.parameters()]))
            loss = self.critic(self.generator(batch[0])).mean()
            opt_g.zero_grad()
            self.manual_backward(loss)
            opt_g.step()
        self.seen.append([p.requires_grad for p in self.critic.parameters()])

    def configure_optimizers(self):
        return (ember.optim.SGD(self.generator.parameters(), lr=0.1),
                ember.optim.SGD(self.critic.parameters(), lr=0.1))


def test_toggled_optimizer_freezes_the_other_parameters_only_inside_the_block(tmp_path):
    model = TwoOptimizers()
    data = ember.data.TensorDataset(ember.randn(4, 2))
    before = weights(model.critic)
    _quiet(tmp_path, max_steps=1).fit(model, ember.data.DataLoader(data, batch_size=4))
    assert model.seen == [([True, True], [False, False]), [True, True]]
    for name, value in weights(model.critic).items():
        np.testing.assert_array_equal(value, before[name])  # the critic got no gradient, so no update


def test_toggled_optimizer_restores_the_flags_when_the_block_raises(tmp_path):
    model = TwoOptimizers()
    trainer = _quiet(tmp_path)
    model.trainer = trainer
    trainer.optimizers = list(model.configure_optimizers())
    with pytest.raises(ValueError, match="inside"), model.toggled_optimizer(trainer.optimizers[0]):
        raise ValueError("inside")
    assert all(p.requires_grad for p in model.parameters())


def test_remove_ignored_hparams_keeps_them_out_of_checkpoints(tmp_path):
    class Base(TrainingModule):
        def __init__(self, width: int = 4, seed: int = 7):
            super().__init__()
            self.save_hyperparameters()

    class Child(Base):
        def __init__(self, width: int = 4, seed: int = 7):
            super().__init__(width, seed)
            self.remove_ignored_hparams(["seed", "absent"])

    child = Child(width=5)
    assert dict(child.hparams) == {"width": 5}
    assert dict(child.hparams_initial) == {"width": 5, "seed": 7}  # (as Lightning: only hparams forgets)


# -- strict_loading ------------------------------------------------------------------------------------------
class WithExtraHead(Classifier):
    def __init__(self):
        super().__init__()
        self.extra = nn.Linear(3, 2)


def test_strict_loading_false_loads_a_checkpoint_of_a_smaller_module(tmp_path):
    trainer = _quiet(tmp_path, max_steps=2)
    original = Classifier()
    trainer.fit(original, loader())
    path = os.path.join(tmp_path, "small.ckpt")
    trainer.save_checkpoint(path)
    bigger = WithExtraHead()
    assert bigger.strict_loading
    with pytest.raises(RuntimeError, match=r"missing keys .*extra\.weight"):
        _quiet(tmp_path).validate(bigger, loader(), ckpt_path=path, verbose=False)
    bigger.strict_loading = False
    _quiet(tmp_path).validate(bigger, loader(), ckpt_path=path, verbose=False)
    loaded, saved = weights(bigger), weights(original)
    for name in saved:
        np.testing.assert_array_equal(loaded[name], saved[name])


# -- the module's properties ---------------------------------------------------------------------------------
def test_module_dtype_follows_its_parameters_and_the_trainers_precision(tmp_path):
    seen = []

    class Probe(Classifier):
        def training_step(self, batch, batch_idx):
            seen.append(self.dtype)
            return super().training_step(batch, batch_idx)

    model = Probe()
    assert model.dtype == ember.float32
    assert model.double().dtype == ember.float64 and model.float().dtype == ember.float32
    _quiet(tmp_path, max_steps=1, precision="64").fit(model, loader())
    assert seen == [ember.float64]
    assert TrainingModule().dtype == ember.get_default_dtype()  # (no parameters)


def test_module_ranks_gpu_flag_and_checkpoint_key(tmp_path):
    model = Classifier(hidden=8)
    assert (model.global_rank, model.local_rank, model.on_gpu) == (0, 0, False)
    trainer = _quiet(tmp_path, max_steps=1)
    trainer.fit(model, loader())
    assert (model.global_rank, model.local_rank) == (trainer.global_rank, trainer.local_rank) == (0, 0)
    path = os.path.join(tmp_path, "k.ckpt")
    trainer.save_checkpoint(path)
    assert ember.load(path)[Classifier.CHECKPOINT_HYPER_PARAMS_KEY]["hidden"] == 8


# -- the Trainer's properties --------------------------------------------------------------------------------
class StateProbe(Callback):
    def __init__(self):
        self.evaluating, self.last, self.sigterm = {}, [], []

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self.evaluating["train"] = trainer.evaluating

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self.last.append(trainer.is_last_batch)

    def on_sanity_check_start(self, trainer, module):
        self.evaluating["sanity_check"] = trainer.evaluating

    def on_validation_start(self, trainer, module):
        self.evaluating.setdefault("validate", trainer.evaluating)

    def on_test_start(self, trainer, module):
        self.evaluating["test"] = trainer.evaluating

    def on_predict_start(self, trainer, module):
        self.evaluating["predict"] = trainer.evaluating


def test_evaluating_and_is_last_batch(tmp_path):
    probe = StateProbe()
    trainer = _quiet(tmp_path, max_epochs=2, limit_train_batches=3, limit_val_batches=1, num_sanity_val_steps=1,
                     callbacks=[probe])
    model = RecordingClassifier()
    trainer.fit(model, loader(), loader())
    trainer.test(model, loader(), verbose=False)
    trainer.predict(model, loader())
    assert probe.evaluating == {"sanity_check": True, "train": False, "validate": True, "test": True,
                                "predict": False}
    assert probe.last == [False, False, True] * 2
    assert not trainer.is_last_batch and not trainer.evaluating  # (outside a run)


def test_received_sigterm_turns_true_when_sigterm_arrives_during_fit(tmp_path):
    class SendSigterm(Callback):
        def __init__(self):
            self.seen = []

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            self.seen.append(trainer.received_sigterm)
            os.kill(os.getpid(), signal.SIGTERM)
            self.seen.append(trainer.received_sigterm)

    probe = SendSigterm()
    trainer = Trainer(**trainer_kwargs(tmp_path, logger=False, max_epochs=3, callbacks=[probe]))
    trainer.fit(Classifier(), loader())
    assert probe.seen == [False, True]  # (and the run stopped at the end of that step)
    assert trainer.global_step == 1 and trainer.state.interrupted


def test_ckpt_path_reports_the_loaded_file_and_can_be_set_for_later_runs(tmp_path):
    trainer = _quiet(tmp_path, max_steps=3)
    model = Classifier()
    trainer.fit(model, loader())
    assert trainer.ckpt_path is None
    path = os.path.join(tmp_path, "fitted.ckpt")
    trainer.save_checkpoint(path)
    fitted = weights(model)

    fresh, evaluator = Classifier(), _quiet(tmp_path)
    evaluator.ckpt_path = path  # every later run loads it
    evaluator.validate(fresh, loader(), verbose=False)
    assert evaluator.ckpt_path == path
    for name, value in weights(fresh).items():
        np.testing.assert_array_equal(value, fitted[name])

    other = os.path.join(tmp_path, "other.ckpt")
    trainer2 = _quiet(tmp_path, max_steps=1)
    trainer2.fit(Classifier(), loader())
    trainer2.save_checkpoint(other)
    with pytest.warns(UserWarning, match="The latter will be loaded"):
        evaluator.validate(fresh, loader(), ckpt_path=other, verbose=False)
    assert evaluator.ckpt_path == other
    evaluator.validate(fresh, loader(), verbose=False)  # the set path is forgotten: nothing is loaded
    assert evaluator.ckpt_path is None


def test_model_print_and_distributed_sampler_kwargs_in_one_process(tmp_path, capsys):
    trainer = _quiet(tmp_path, max_steps=1)
    model = Classifier()
    trainer.fit(model, loader())
    assert trainer.model is model is trainer.lightning_module
    assert trainer.distributed_sampler_kwargs is None
    trainer.print("hello", 3, sep="-")
    assert capsys.readouterr().out == "hello-3\n"


# -- arguments ------------------------------------------------------------------------------------------------
def test_plugins_none_or_empty_is_accepted_and_a_plugin_is_refused_with_the_ember_setting(tmp_path):
    class MixedPrecision:
        pass

    for plugins in (None, []):
        trainer = _quiet(tmp_path, max_steps=1, plugins=plugins)
        trainer.fit(Classifier(), loader())
        assert trainer.global_step == 1
    with pytest.raises(ValueError, match=r"plugins=\[MixedPrecision\].*precision='32' \| '64'"):
        _quiet(tmp_path, plugins=[MixedPrecision()])


@pytest.mark.parametrize("kwargs, match", [
    ({"accelerator": "gpu"}, "Ember trains on the CPU"),
    ({"accelerator": "mps"}, "Ember trains on the CPU"),
    ({"precision": "16-mixed"}, "precision must be"),
    ({"strategy": "fsdp"}, "strategy must be one of"),
    ({"devices": [0, 1]}, "devices must be a positive int"),
])
def test_arguments_that_only_pick_hardware_fail_clearly(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        _quiet(tmp_path, **kwargs)


def test_training_step_returning_its_loss_still_learns_with_every_new_hook_in_place(tmp_path):
    """A module overriding the hooks above trains as a plain one: the loss drops."""
    losses = []

    class Everything(SelfFeeding):
        def on_validation_model_zero_grad(self):
            super().on_validation_model_zero_grad()

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = F.cross_entropy(self(x), y)
            losses.append(float(loss))
            return loss

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (and none of the new hooks warns when it is not the deprecated one)
        _quiet(tmp_path, max_epochs=4).fit(Everything(lr=0.2))
    assert np.mean(losses[-4:]) < 0.6 * np.mean(losses[:4])


# -- the DataModule's surface ----------------------------------------------------------------------------------
class Sized(DataModule):
    def __init__(self, batch_size: int = 4, flavour: str = "plain"):
        super().__init__()
        self.save_hyperparameters()


def test_from_datasets_builds_the_loaders_and_passes_batch_size_to_init(tmp_path):
    train, val = blobs(48), [blobs(32, seed=1), blobs(16, seed=2)]
    dm = Sized.from_datasets(train, val, batch_size=16, flavour="given")
    assert dict(dm.hparams) == {"batch_size": 16, "flavour": "given"}
    loaders = dm.val_dataloader()
    assert isinstance(loaders, list) and [len(v) for v in loaders] == [2, 1]
    assert isinstance(dm.train_dataloader().sampler, RandomSampler)  # the training loader shuffles
    assert all(isinstance(v.sampler, SequentialSampler) for v in loaders)
    with pytest.raises(NotImplementedError, match="test_dataloader"):
        dm.test_dataloader()

    class TwoValidationSets(Classifier):
        def validation_step(self, batch, batch_idx, dataloader_idx=0):
            return super().validation_step(batch, batch_idx)

    trainer = _quiet(tmp_path, max_epochs=1)
    trainer.fit(TwoValidationSets(), dm)
    assert trainer.num_training_batches == 3 and trainer.num_val_batches == [2, 1]
    plain = DataModule.from_datasets(train, batch_size=8)  # (its __init__ takes neither: loaders only)
    assert len(plain.train_dataloader()) == 6


def test_datamodule_load_from_checkpoint_rebuilds_it_from_its_saved_hyperparameters(tmp_path):
    trainer = _quiet(tmp_path, max_steps=1)
    dm = Sized.from_datasets(blobs(32), batch_size=8, flavour="saved")
    trainer.fit(Classifier(), dm)
    path = os.path.join(tmp_path, "dm.ckpt")
    trainer.save_checkpoint(path)
    again = Sized.load_from_checkpoint(path)
    assert dict(again.hparams) == {"batch_size": 8, "flavour": "saved"}
    assert dict(Sized.load_from_checkpoint(path, batch_size=2).hparams)["batch_size"] == 2
    assert ember.load(path)[Sized.CHECKPOINT_HYPER_PARAMS_KEY]["flavour"] == "saved"
    assert DataModule.name is None


def test_datamodule_on_exception_sees_the_error_of_a_failed_run(tmp_path):
    seen = []

    class Watching(DataModule):
        def train_dataloader(self):
            return loader()

        def on_exception(self, exception):
            seen.append(exception)

    class Failing(Classifier):
        def training_step(self, batch, batch_idx):
            raise ArithmeticError("step 0 failed")

    with pytest.raises(ArithmeticError, match="step 0 failed"):
        _quiet(tmp_path, max_steps=1).fit(Failing(), Watching())
    assert len(seen) == 1 and isinstance(seen[0], ArithmeticError)


def test_init_module_builds_parameters_in_the_trainers_precision(tmp_path):
    trainer = _quiet(tmp_path, max_steps=2, precision="64")
    with trainer.init_module(empty_init=True):
        model = Classifier()
    assert {p.dtype for p in model.parameters()} == {ember.float64}
    assert ember.get_default_dtype() == ember.float32
    with pytest.raises(KeyError), trainer.init_module():
        raise KeyError("inside")
    assert ember.get_default_dtype() == ember.float32  # (restored when the block raises, too)
    trainer.fit(model, loader())
    assert trainer.global_step == 2 and model.dtype == ember.float64
    with _quiet(tmp_path).init_module():
        assert Classifier().dtype == ember.float32
