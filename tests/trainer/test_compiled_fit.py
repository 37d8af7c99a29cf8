"""Compiled modules in the Trainer: ``fit(ember.compile(module))`` and ``module.compile()`` as in Lightning,
checkpoints with the module's own keys, and exact resume / determinism of compiled runs."""

from __future__ import annotations

import copy
import os
import signal
import warnings

import ember
import ember.nn.functional as F
import numpy as np
import pytest
from ember import nn
from ember.trainer import Trainer, TrainingModule, seed_everything
from ember.trainer.callbacks import Callback, ModelCheckpoint
from ember.trainer.compile import from_compiled, to_uncompiled

from .models import NoisyDataset, loader, trainer_kwargs, weights


class SiluNet(TrainingModule):
    """An MLP whose SiLU is written out (``h * sigmoid(h)``): compiled, that is one fused numba kernel."""

    def __init__(self, lr: float = 0.1):
        super().__init__()
        self.save_hyperparameters()
        self.fc1, self.fc2 = nn.Linear(4, 16), nn.Linear(16, 3)

    def forward(self, x):
        h = self.fc1(x)
        return self.fc2(h * ember.sigmoid(h))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", F.cross_entropy(self(x), y))

    def test_step(self, batch, batch_idx):
        x, y = batch
        self.log("test_acc", (self(x).argmax(1) == y).float().mean())

    def configure_optimizers(self):
        optimizer = ember.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.9)
        return [optimizer], [ember.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)]


class InterruptAt(Callback):
    """Sends this process SIGTERM after training step ``step`` (the Trainer saves last.ckpt and stops)."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGTERM)


def compile_module(module, how: str):
    if how == "ember.compile":
        return ember.compile(module)
    if how == "module.compile":
        module.compile()
        return module
    return module  # "eager"


def fit(root, how: str = "ember.compile", ckpt_path=None, interrupt: int | None = None, max_epochs: int = 3,
        net=None):
    seed_everything(5)
    module = (net or SiluNet)()
    callbacks = [ModelCheckpoint(save_last=True)] + ([InterruptAt(interrupt)] if interrupt is not None else [])
    trainer = Trainer(**trainer_kwargs(root, max_epochs=max_epochs, num_sanity_val_steps=1), callbacks=callbacks)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # an eager fallback of the capture would fail the run
        trainer.fit(compile_module(module, how), loader(NoisyDataset(), shuffle=True), loader(NoisyDataset(32)),
                    ckpt_path=ckpt_path)
    return trainer, module


def compiled_graphs(module) -> list:
    """The graphs the module's compiled forward holds (None where it fell back to eager)."""
    forward = module.__dict__.get("forward")
    assert forward is not None and type(forward).__name__ == "CompiledForward", "the module is not compiled"
    return list(forward.compiled.cache.values())


@pytest.mark.parametrize("how", ["ember.compile", "module.compile"])
def test_fit_of_a_compiled_module_runs_compiled_and_matches_eager(tmp_path, how):
    trainer, module = fit(tmp_path / "compiled", how)
    assert trainer.module is module and isinstance(module, SiluNet)  # the Trainer unwrapped the OptimizedModule
    graphs = compiled_graphs(module)
    assert len(graphs) == 2 and all(g is not None and g.kernels for g in graphs)  # training and evaluation
    assert trainer.global_step == 18
    _, eager = fit(tmp_path / "eager", "eager")
    expected, got = weights(eager), weights(module)
    assert list(got) == list(expected) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=0, atol=1e-5, err_msg=key)


@pytest.mark.parametrize("how", ["ember.compile", "module.compile"])
def test_compiled_runs_repeat_and_resume_bit_for_bit(tmp_path, how):
    _, straight = fit(tmp_path / "straight", how)
    _, again = fit(tmp_path / "again", how)
    root = tmp_path / "interrupted"
    for step, ckpt_path in [(4, None), (11, "last")]:  # mid-epoch 0, then mid-epoch 1 of the resumed run
        trainer, _ = fit(root, how, ckpt_path=ckpt_path, interrupt=step)
        assert trainer.interrupted and trainer.global_step == step
    trainer, resumed = fit(root, how, ckpt_path="last")
    assert trainer.global_step == 18 and not trainer.interrupted
    assert all(g is not None for g in compiled_graphs(resumed))
    expected = weights(straight)
    for key in expected:
        np.testing.assert_array_equal(weights(again)[key], expected[key], err_msg=key)
        np.testing.assert_array_equal(weights(resumed)[key], expected[key], err_msg=key)


class NormDropNet(SiluNet):
    """SiluNet with batch norm (running statistics: buffers the compiled graph updates) and dropout (random
    masks drawn from Ember's generator) in training mode."""

    def __init__(self, lr: float = 0.1):
        super().__init__(lr)
        self.norm, self.drop = nn.BatchNorm1d(16), nn.Dropout(0.3)

    def forward(self, x):
        h = self.norm(self.fc1(x))
        return self.fc2(self.drop(h * ember.sigmoid(h)))


def test_batch_norm_and_dropout_compile_and_resume_bit_for_bit(tmp_path):
    _, straight = fit(tmp_path / "straight", net=NormDropNet)
    assert len(compiled_graphs(straight)) == 2 and all(g is not None for g in compiled_graphs(straight))
    fit(tmp_path / "interrupted", interrupt=8, net=NormDropNet)
    _, resumed = fit(tmp_path / "interrupted", ckpt_path="last", net=NormDropNet)
    _, eager = fit(tmp_path / "eager", "eager", net=NormDropNet)
    expected = weights(straight)
    assert "norm.running_mean" in expected
    for key in expected:
        np.testing.assert_array_equal(weights(resumed)[key], expected[key], err_msg=key)
        np.testing.assert_allclose(weights(eager)[key], expected[key], rtol=0, atol=1e-5, err_msg=key)


def test_checkpoints_move_between_compiled_and_eager_runs(tmp_path):
    fit(tmp_path / "compiled", max_epochs=1)
    path = tmp_path / "compiled" / "lightning_logs" / "version_0" / "checkpoints" / "last.ckpt"
    checkpoint = ember.load(str(path))
    assert list(checkpoint["state_dict"]) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]  # no _orig_mod.
    eager = SiluNet()
    eager.load_state_dict(checkpoint["state_dict"])
    x = ember.randn(5, 4)
    compiled = ember.compile(SiluNet())
    compiled.load_state_dict(checkpoint["state_dict"])
    assert ember.allclose(compiled(x), eager(x), atol=1e-6)
    # a compiled run resumes an eager run's checkpoint (and goes on as the eager run does, within 1e-5)
    fit(tmp_path / "eager", "eager", interrupt=7)
    _, straight = fit(tmp_path / "straight", "eager")
    eager_last = tmp_path / "eager" / "lightning_logs" / "version_0" / "checkpoints" / "last.ckpt"
    trainer, resumed = fit(tmp_path / "eager", "ember.compile", ckpt_path=str(eager_last))
    assert trainer.global_step == 18 and all(g is not None for g in compiled_graphs(resumed))
    for key, value in weights(straight).items():
        np.testing.assert_allclose(weights(resumed)[key], value, rtol=0, atol=1e-5, err_msg=key)


def test_validate_test_and_predict_take_a_compiled_module(tmp_path):
    seed_everything(0)
    module = SiluNet()
    compiled = ember.compile(module)
    trainer = Trainer(**trainer_kwargs(tmp_path, logger=False))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        (validated,) = trainer.validate(compiled, loader(), verbose=False)
        (tested,) = trainer.test(compiled, loader(), verbose=False)
        predictions = trainer.predict(compiled, loader(batch_size=32))
    assert trainer.module is module and "val_loss" in validated and "test_acc" in tested
    assert len(compiled_graphs(module)) == 2  # batches of 16 (validate, test) and of 32 (predict)
    eager = to_uncompiled(module)
    assert eager is module and "forward" not in module.__dict__
    (again,) = Trainer(**trainer_kwargs(tmp_path, logger=False)).validate(module, loader(), verbose=False)
    assert abs(again["val_loss"] - validated["val_loss"]) < 1e-5
    assert len(predictions) == 4 and predictions[0].shape == (32, 3)


def test_from_compiled_and_errors():
    module = SiluNet()
    assert from_compiled(ember.compile(module)) is module
    assert compiled_graphs(module) == []  # compiled on its first call
    with pytest.raises(ValueError, match="compiled TrainingModule; got a compiled Linear"):
        from_compiled(ember.compile(nn.Linear(2, 2)))
    with pytest.raises(TypeError, match="TrainingModule, got Linear"):
        Trainer(logger=False).fit(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="compiled TrainingModule; got a compiled Linear"):
        Trainer(logger=False).fit(ember.compile(nn.Linear(2, 2)))
    with pytest.raises(ValueError, match="OptimizedModule or a compiled TrainingModule"):
        to_uncompiled(SiluNet())


def test_module_compile_compiles_in_place():
    seed_everything(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
    x = ember.randn(3, 4, requires_grad=True)
    expected = model(x)
    assert model.compile() is None  # (torch's nn.Module.compile returns None)
    got = model(x)
    assert type(model) is nn.Sequential and list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert len(model.forward.compiled.cache) == 1 and ember.allclose(got, expected, atol=1e-6)
    got.sum().backward()
    assert x.grad is not None and model[0].weight.grad is not None
    twin = copy.deepcopy(model)  # (EMA and SWA copy the module): compiled too, on its own tensors
    assert ember.allclose(twin(x), expected, atol=1e-6) and len(twin.forward.compiled.cache) == 1
    model.compile(disable=True)
    assert "forward" not in model.__dict__


class Branchy(TrainingModule):
    """A forward the capture cannot take (a branch on a tensor's value)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x) if x.sum().item() > 0 else -self.fc(x)


def test_a_graph_break_falls_back_to_eager_through_every_entry():
    x = ember.ones(3, 4)
    module = Branchy()
    expected = module(x)
    optimized = ember.compile(module)
    assert from_compiled(optimized) is module
    with pytest.warns(RuntimeWarning, match="eager"):
        assert ember.equal(module(x), expected)
    assert ember.equal(optimized(x), expected) and ember.equal(module.forward(x), expected)  # (no endless recursion)
    assert compiled_graphs(module) == [None]
    other = Branchy()
    other.compile()
    with pytest.warns(RuntimeWarning, match="eager"):
        assert ember.equal(ember.compile(other)(x), other.forward.__wrapped__(x))
